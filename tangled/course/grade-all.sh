#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# grade-all.sh N SUBMISSIONS OUT: grade every directory of SUBMISSIONS;
# OUT/NAME/ holds each report, OUT/grades.csv the table.
set -euo pipefail
# <<course: the shared helpers>>
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
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
