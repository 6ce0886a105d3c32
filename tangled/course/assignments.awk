# Generated from book/910-course.nw; edit the book, not this file.
# assignments.awk MANIFEST: the course's assignments as a LaTeX list.
function latex(text) { gsub(/_/, "\\_", text); return text }
function label_of(chapter,    line, label) {
    while ((getline line < chapter) > 0)
        if (match(line, /\\label\{ch:[^}]*\}/)) {
            label = substr(line, RSTART + 7, RLENGTH - 8); break
        }
    close(chapter)
    return label
}
$1 == "assignment" { n = $2; order[++count] = n; hours[n] = $3
                     $1 = $2 = $3 = ""; sub(/^ +/, ""); title[n] = $0 }
$1 == "goal" { n = $2; $1 = $2 = ""; sub(/^ +/, ""); goal[n] = $0 }
$1 == "exercise" { of[$3] = $2; chapter[$3] = $4; ids[$2] = ids[$2] " " $3 }
$1 == "needs" { needs[$2] = needs[$2] ", \\texttt{" latex($3) "}" }
$1 == "check" { points[$2, $4] += $5; total[of[$2]] += $5 }
END {
    print "\\begin{description}"
    for (i = 1; i <= count; i++) {
        n = order[i]
        printf "\\item[%s. %s] (about %s hours, %s points) %s\\\\\n", n,
               title[n], hours[n], total[n], goal[n]
        split(substr(ids[n], 2), list, " ")
        for (j = 1; j in list; j++)
            printf "\\texttt{%s}, Chapter~\\ref{%s}: %s visible and %s hidden points%s.\n",
                   latex(list[j]), label_of(chapter[list[j]]),
                   points[list[j], "visible"] + 0, points[list[j], "hidden"] + 0,
                   list[j] in needs ? "; its tests use the solution of " \
                       substr(needs[list[j]], 3) : ""
    }
    print "\\end{description}"
}
