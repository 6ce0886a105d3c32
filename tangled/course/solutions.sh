#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# solutions.sh OUT.tex: the course's solutions and hidden tests, as LaTeX.
set -euo pipefail
# <<course: shell helpers>>
course=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
manifest=$course/manifest
die() { echo "${0##*/}: $*" >&2; exit 1; }
assignment_title() {
    awk -v n="$1" '$1 == "assignment" && $2 == n {
        $1 = $2 = $3 = ""; sub(/^ +/, ""); print }' "$manifest"
}
assignment_chapters() {
    local found
    found=$(awk -v n="$1" '$1 == "exercise" && $2 == n { print $4 }' \
        "$manifest" | sort -u)
    [[ -n $found ]] || die "no assignment '$1' in the course (there are:" \
        "$(awk '$1 == "assignment" { printf " %s", $2 }' "$manifest"))"
    echo "$found"
}
assignment_exercises() {
    awk -v n="$1" '$1 == "exercise" && $2 == n { print $3 }' "$manifest"
}
exercise_checks() {
    awk -v id="$1" '$1 == "check" && $2 == id { print $3, $4, $5, $6 }' \
        "$manifest"
}
# The repository's files, separated by NUL characters: those git tracks,
# or, in a copy without git (Gradescope's), every file.
repository_files() {
    if git rev-parse --git-dir > /dev/null 2>&1; then
        git ls-files -z --cached | while IFS= read -r -d '' f; do
            if [[ -e $f ]]; then printf '%s\0' "$f"; fi
        done
    else
        find . -type f ! -path './build/*' -printf '%P\0'
    fi
}
grader_flags() {
    awk '$1 == "flags" { $1 = ""; sub(/^ +/, ""); print }' "$manifest"
}
needs_of() {
    awk -v id="$1" '$1 == "needs" && $2 == id { print $3 }' "$manifest"
}
exercise_chapter() {
    local found
    found=$(awk -v id="$1" '$1 == "exercise" && $3 == id { print $4 }' \
        "$manifest")
    [[ -n $found ]] || die "no exercise '$1' in the course (there are:" \
        "$(awk '$1 == "exercise" { printf " %s", $3 }' "$manifest"))"
    echo "$found"
}
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
