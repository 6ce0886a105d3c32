# check-chunks.awk: chunk hygiene for the whole book.
# Input: noweb markup of every chapter (one markup run, book order).
# Variable shared_list: a file naming, one per line, the chunks that several
# chapters may extend (lines starting with # are comments).
# Fails, naming the chunk, when
#   * a chunk is used but never defined;
#   * a chunk is defined but never used and is not a file under tangled/ or
#     tests/ (a root that no file wants is almost always a misspelled use);
#   * a chapter-local chunk name is defined in two chapters (noweb would
#     silently merge them);
#   * an exercise's <<solution: ID>> has no <<stub: ID>> in its chapter, or
#     a <<stub: ID>> no solution (a stub is the one chunk never used: a
#     handout puts it in the place of the solution).
BEGIN {
    while ((getline line < shared_list) > 0)
        if (line !~ /^#/ && line != "") shared[line] = 1
}
/^@file / { file = substr($0, 7); next }
/^@defn / {
    name = substr($0, 7)
    if (!(name in files_of)) { files_of[name] = file; order[++n] = name }
    else if (index(" " files_of[name] " ", " " file " ") == 0)
        files_of[name] = files_of[name] " " file
    next
}
/^@use / {
    name = substr($0, 6)
    if (!(name in used_in)) used_in[name] = file
    next
}
END {
    for (name in used_in)
        if (!(name in files_of))
            complain("chunk <<" name ">> is used in " used_in[name] \
                     " but never defined")
    for (i = 1; i <= n; i++) {
        name = order[i]
        root = (name ~ /^(tangled|tests)\//)
        if (name ~ /^stub: /) {
            solution = "solution: " substr(name, 7)
            if (files_of[solution] != files_of[name])
                complain("chunk <<" name ">> (" files_of[name] ") is the" \
                         " stub of no <<" solution ">> of its chapter")
            continue
        }
        if (name ~ /^solution: / && files_of["stub: " substr(name, 11)] \
            != files_of[name])
            complain("chunk <<" name ">> (" files_of[name] ") has no" \
                     " <<stub: " substr(name, 11) ">> in its chapter")
        if (!(name in used_in) && !root)
            complain("chunk <<" name ">> (" files_of[name] ") is defined" \
                     " but never used: a misspelled use? Only files under" \
                     " tangled/ or tests/ may be roots")
        if (files_of[name] ~ / / && !root && !(name in shared))
            complain("chunk <<" name ">> is defined in several chapters (" \
                     files_of[name] "): prefix chapter-local names with the" \
                     " chapter's name, or list the name in " shared_list)
    }
    exit errors > 0
}
function complain(message) {
    print "check-chunks: " message > "/dev/stderr"
    errors++
}
