#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# grade-all.sh N SUBMISSIONS OUT: grade every directory of SUBMISSIONS;
# OUT/NAME/ holds each report, OUT/grades.csv the table.
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
(($# == 3)) || die "usage: grade-all.sh N SUBMISSIONS OUT"
number=$1 submissions=$2 out=$3
assignment_chapters "$number" > /dev/null
[[ -d $submissions ]] || die "$submissions: no such directory"
mkdir -p "$out"
exercises=$(assignment_exercises "$number")
echo "submission,score,max_score,$(tr '\n' ',' <<<"$exercises" | sed 's/,$//')" \
    > "$out/grades.csv.new"
count=$(find "$submissions" -mindepth 1 -maxdepth 1 -type d | wc -l)
done_count=0
for dir in "$submissions"/*/; do
    [[ -d $dir ]] || continue
    name=$(basename "$dir")
    done_count=$((done_count + 1))
    echo "[$done_count/$count] $name" >&2
    rm -rf "${out:?}/$name" && mkdir -p "$out/$name"
    bash "$course/grade.sh" "$number" "$dir" "$out/$name" > "$out/$name/grade.log" 2>&1 \
        || { echo "grade-all: $name could not be graded ($out/$name/grade.log)" >&2
             continue; }
    /usr/bin/python3 - "$out/$name/results.json" "$name" $exercises \
        >> "$out/grades.csv.new" <<'EOF' \
        || echo "grade-all: $name: its results.json could not be read" >&2
import csv, json, sys
results, name, exercises = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3:]
per = {e: 0.0 for e in exercises}
most = 0.0
for test in results["tests"]:
    per[test["name"].split(" ")[0]] += test["score"]
    most += test["max_score"]
csv.writer(sys.stdout).writerow([name, results["score"], most] +
                                [per[e] for e in exercises])
EOF
done
mv "$out/grades.csv.new" "$out/grades.csv"
echo "grade-all: $out/grades.csv ($done_count submissions)"
