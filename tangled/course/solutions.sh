#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# solutions.sh OUT.tex: the course's solutions and hidden tests, as LaTeX.
set -euo pipefail
# <<course: the shared helpers>>
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
(($# == 1)) || die "usage: solutions.sh OUT.tex"
out=$1
{
    echo '\documentclass[10pt]{article}'
    echo '\usepackage[T1]{fontenc}\usepackage{lmodern}\usepackage{verbatim}'
    echo '\usepackage[margin=2cm]{geometry}'
    echo '\title{The course: solutions and hidden tests}\date{}'
    echo '\begin{document}\maketitle'
    for number in $(awk '$1 == "assignment" { print $2 }' "$manifest"); do
        echo "\\section*{Assignment $number: $(assignment_title "$number")}"
        awk -v n="$number" '$1 == "goal" && $2 == n { $1 = $2 = ""; print }' \
            "$manifest"
        hidden=
        for id in $(assignment_exercises "$number"); do
            echo "\\subsection*{\\texttt{$id}, in \\texttt{$(exercise_chapter "$id")}}"
            echo '\begin{verbatim}'
            awk -v mode=show -v only="$id" -f "$course/exercises.awk" \
                "$(exercise_chapter "$id")" | sed '/^== /d'
            echo '\end{verbatim}'
            hidden="$hidden $(exercise_checks "$id" \
                | awk '$2 == "hidden" { print "tests/" $1 ".c" }')"
        done
        for file in $(tr ' ' '\n' <<<"$hidden" | sort -u); do
            echo "\\subsection*{Hidden tests: \\texttt{$(sed 's/_/\\_/g' <<<"$file")}}"
            echo '\begin{verbatim}'
            cat "$file"
            echo '\end{verbatim}'
        done
    done
    echo '\end{document}'
} > "$out.new"
mv "$out.new" "$out"
