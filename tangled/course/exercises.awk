# Generated from book/910-course.nw; edit the book, not this file.
# exercises.awk: the exercises of a chapter (noweb source).
#   awk -v mode=handout -f exercises.awk CHAPTER CHAPTER
#   awk -v mode=splice  -f exercises.awk DONOR CHAPTER
#   awk -v mode=blank   -f exercises.awk CHAPTER
#   awk -v mode=list    -f exercises.awk CHAPTER
#   awk -v mode=show    -f exercises.awk CHAPTER
# handout and splice read their first file for the replacement lines.
# With -v only="ID ...", only those exercises' solutions are touched.
function chunk_name(line,    name) {
    if (line !~ /^<<.*>>=[ \t]*$/) return ""
    name = line
    sub(/^<</, "", name)
    sub(/>>=[ \t]*$/, "", name)
    return name
}
function ends_chunk(line) { return line ~ /^@([ \t]|$)/ }
# <<exercises: read the replacement lines>>
{ sub(/\r$/, "") }  # a chapter saved with Windows line ends
BEGIN {
    donor_kind = mode == "handout" ? "stub: " : "solution: "
    chosen_count = split(only, list, " ")
    for (k = 1; k <= chosen_count; k++) chosen[list[k]] = 1
}
function selected(id) { return chosen_count == 0 || (id in chosen) }
(mode == "handout" || mode == "splice") && FILENAME == ARGV[1] && FNR == NR {
    name = chunk_name($0)
    if (name != "") {
        id = index(name, donor_kind) == 1 ? substr(name, length(donor_kind) + 1) : ""
        if (id != "") { donated[id] = donated[id] ""; has[id] = 1 }
        next
    }
    if (ends_chunk($0)) { id = ""; next }
    if (id != "") donated[id] = donated[id] $0 "\n"
    next
}
# <<exercises: write the chapter>>
{
    name = chunk_name($0)
    if (name != "") {
        solution = index(name, "solution: ") == 1 ? substr(name, 11) : ""
        if (mode == "list") { if (solution != "") print solution; next }
        if (!selected(solution)) solution = ""
        if (mode == "show") {
            if (solution != "") print "== " solution
            showing = solution != ""; code = 1; next
        }
        print
        replacing = solution != "" && mode != "splice"
        if (solution != "" && (mode == "handout" || mode == "splice") \
            && (solution in has)) {
            # all of the donor's lines, at the solution's first piece
            if (!(solution in given))
                printf "%s", donated[solution]
            given[solution] = 1
            replacing = 1
        }
        code = 1
        next
    }
    if (mode == "show") {
        if (code && ends_chunk($0)) code = showing = 0
        else if (showing) print
        next
    }
    if (code && ends_chunk($0)) code = replacing = 0
    else if (code) { if (!replacing && mode != "list") print; next }
    if (mode != "splice" && $0 ~ /^\\begin\{answer\}/) answer = 1
    if (!answer && mode != "list") print
    if ($0 ~ /^\\end\{answer\}/) answer = 0
}
