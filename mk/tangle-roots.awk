# tangle-roots.awk: write the roots listed in ROOTS (a file, one name a
# line) from noweb's markup, each into OUT/ROOT, as noweb's nt would:
#
#   awk -v roots=LIST -v out=DIR -f tangle-roots.awk MARKUP
#
# One pass over the markup for every root, where nt reads the whole book
# once per root. The rules are nt's: the pieces of a chunk concatenate in
# the order they are defined; a use is replaced by the chunk without its
# last newline, and each further line of it is indented by the column the
# use stands at, in spaces, on lines that hold text (an empty line stays
# empty); a root ends with one newline. An undefined chunk is named on
# standard error and the exit status is 2, as with nt.

# The tokens of each chunk, in order: "t" text, "n" newline, "u" use.
/^@begin code / { in_code = 1; first_nl = 0; next }
/^@end code /   { in_code = 0; next }
!in_code        { next }
/^@defn /       { chunk = substr($0, 7); first_nl = 1; defined[chunk] = 1; next }
/^@nl$/ {
    if (first_nl) { first_nl = 0; next }  # the newline after <<name>>=
    add(chunk, "n", ""); next
}
/^@text /       { add(chunk, "t", substr($0, 7)); next }
/^@use /        { add(chunk, "u", substr($0, 6)); next }

function add(name, kind, value,    k) {
    k = ++count[name]
    kinds[name, k] = kind
    values[name, k] = value
}

# expand NAME at column INDENT into the file; LAST is how many of its
# tokens to write (all, or all but a final newline).
function expand(name, indent, last,    k, kind, value) {
    if (!(name in defined)) {
        print "undefined chunk name: <<" name ">>" > "/dev/stderr"
        status = 2
        return
    }
    for (k = 1; k <= last; k++) {
        kind = kinds[name, k]; value = values[name, k]
        if (kind == "n") {
            printf "\n" > file
            column = indent; line_empty = 1
        } else if (kind == "t") {
            if (value == "") continue
            if (line_empty) printf "%" column "s", "" > file
            printf "%s", value > file
            column += length(value); line_empty = 0
        } else {
            expand(value, column, used_length(value))
        }
    }
}
function used_length(name,    n) {
    n = count[name] + 0
    return n > 0 && kinds[name, n] == "n" ? n - 1 : n
}

END {
    while ((getline root < roots) > 0) {
        file = out "/" root
        column = 0; line_empty = 1
        expand(root, 0, used_length(root))
        printf "\n" > file
        close(file)
    }
    exit status
}
