#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# grade.sh N SUBMISSION OUT: grade a copy of assignment N's handout.
# Writes OUT/report.txt and OUT/results.json (Gradescope's format).
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
# The repository's files, as git sees them (committed or not, but not
# ignored), separated by NUL characters.
repository_files() {
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done
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
(($# == 3)) || die "usage: grade.sh N SUBMISSION OUT"
number=$1 submission=$2 out=$3
chapters=$(assignment_chapters "$number")
[[ -d $submission ]] || die "$submission: no such directory"
mkdir -p "$out" || die "$out: cannot create the directory"
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# <<grade: copy the book and take the solutions>>
tree=$work/tree
mkdir "$tree"
repository_files | tar --null -T - -cf - | tar -xf - -C "$tree"
if [[ -d build/grade-base ]]; then
    mkdir -p "$tree/build" && cp -a build/grade-base "$tree/build/"
fi
: > "$work/ignored"
own=$(assignment_exercises "$number" | tr '\n' ' ')
exercises() {  # exercises MODE FILE...
    local mode=$1; shift
    awk -v mode="$mode" -v only="$own" -f "$course/exercises.awk" "$@"
}
for chapter in $chapters; do
    exercises handout "$chapter" "$chapter" > "$work/handout.nw"
    if [[ -f $submission/$chapter ]]; then
        exercises splice "$submission/$chapter" "$work/handout.nw" \
            > "$tree/$chapter"
        diff <(exercises blank "$work/handout.nw") \
             <(exercises blank "$submission/$chapter") \
            | sed "s|^|$chapter: |" >> "$work/ignored" || true
    else
        cp "$work/handout.nw" "$tree/$chapter"
        echo "$chapter: not in the submission; its exercises are graded as stubs" \
            >> "$work/ignored"
    fi
done
for t in "$submission"/tests/*.c; do
    [[ -f $t ]] || continue
    cmp -s "$t" "tests/${t##*/}" \
        || echo "tests/${t##*/}: edited (the grader uses its own tests)" \
            >> "$work/ignored"
done
# <<grade: build>>
cd "$tree"
obj=build/grade-base
tests=$(for id in $(assignment_exercises "$number"); do
            exercise_checks "$id" | awk -v obj=$obj '{ print obj "/tests/" $1 }'
        done | sort -u)
built=1
{ make tangle && make -j2 BUILD=$obj NATIVE=0 WERROR= CUDA=0 $tests; } \
    > "$work/build.log" 2>&1 || built=0
# <<grade: run every check>>
: > "$work/checks"
for id in $(assignment_exercises "$number"); do
    while read -r test visibility points seconds; do
        log=$work/$id.$test.log
        status=127
        if ((built)); then
            status=0
            ( ulimit -t $((seconds + 1))
              TP_EXERCISE=$id TAP_TIME_LIMIT=$seconds OMP_NUM_THREADS=1 \
                  OPENBLAS_NUM_THREADS=1 timeout -k 2 $((2 * seconds + 5)) \
                  "$obj/tests/$test" ) > "$log" 2>&1 || status=$?
        else
            "$course/where.sh" < "$work/build.log" | tail -n 40 > "$log"
        fi
        "$course/where.sh" < "$log" > "$log.where"
        score=$(awk -v status="$status" -v points="$points" \
            -f "$course/tap-score.awk" "$log")
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$test" "$visibility" \
            "$score" "$points" "$status" >> "$work/checks"
    done < <(exercise_checks "$id")
done
cd "$root"
# <<grade: write the results>>
{
    echo "Assignment $number: $(assignment_title "$number")"
    awk -F'\t' '{ s += $4; m += $5 } END { printf "Score: %g of %g\n\n", s, m }' \
        "$work/checks"
    while IFS=$'\t' read -r id test visibility score points status; do
        echo "== $id, $test ($visibility): $score of $points"
        if ((status == 124 || status == 137 || status == 152)) \
            || grep -qF "past its time limit" "$work/$id.$test.log"; then
            echo "(stopped: past its time limit)"
        fi
        sed 's/^/    /' "$work/$id.$test.log.where" | head -n 60
    done < "$work/checks"
    if [[ -s $work/ignored ]]; then
        echo; echo "== Changes outside the solution regions (not graded):"
        sed 's/^/    /' "$work/ignored" | head -n 200
    fi
} > "$out/report.txt"
"$course/results-json.sh" "$work" > "$out/results.json"
echo "grade: $(sed -n 2p "$out/report.txt") ($out/report.txt)"
