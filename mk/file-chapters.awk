# file-chapters.awk: which chapter each generated file comes from.
# Input: noweb markup of every chapter (one markup run, book order).
# Variable shared_list: the chunks that several chapters may extend (the
# registries), as for check-chunks.awk.
# Prints one line per file under tangled/ or tests/: the file, a tab, the
# chapter whose root chunk makes it. Fails, naming the file and the chunk,
# when a file takes code from a chapter other than its own through any
# chunk that is not a registry: a file belongs to one chapter.
BEGIN {
    while ((getline line < shared_list) > 0)
        if (line !~ /^#/ && line != "") shared[line] = 1
}
/^@file / { file = substr($0, 7); next }
/^@defn / {
    name = substr($0, 7)
    if (!((name, file) in defined_in)) {
        defined_in[name, file] = 1
        chapters[name] = chapters[name] " " file
    }
    next
}
/^@use / && name != "" { uses[name] = uses[name] "\n" substr($0, 6); next }
/^@end code/ { name = "" }
END {
    for (root in chapters) {
        if (root !~ /^(tangled|tests)\//) continue
        own = chapters[root]; sub(/^ /, "", own)
        if (own ~ / /) {
            complain(root " is defined in several chapters:" chapters[root])
            continue
        }
        print root "\t" own
        delete seen
        check(root, own, root)
    }
    exit errors > 0
}
function check(chunk, own, root,    n, list, i) {
    if (chunk in seen) return
    seen[chunk] = 1
    if (chunk in shared) return
    if (chapters[chunk] != " " own)
        complain(root " (" own ") takes <<" chunk ">> from" chapters[chunk])
    n = split(uses[chunk], list, "\n")
    for (i = 1; i <= n; i++)
        if (list[i] != "") check(list[i], own, root)
}
function complain(message) {
    print "file-chapters: " message > "/dev/stderr"
    errors++
}
