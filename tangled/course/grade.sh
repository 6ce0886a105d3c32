#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# grade.sh N SUBMISSION OUT: grade a copy of assignment N's handout.
# Writes OUT/report.txt and OUT/results.json (Gradescope's format).
set -euo pipefail
# <<course: the shared helpers>>
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
(($# == 3)) || die "usage: grade.sh N SUBMISSION OUT"
number=$1 submission=$2 out=$3
chapters=$(assignment_chapters "$number")
[[ -d $submission ]] || die "$submission: no such directory"
mkdir -p "$out" || die "$out: cannot create the directory"
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read -r -a flags <<<"$(grader_flags)"
# <<grade: copy the book and take the solutions>>
make -s BUILD=build/grade-base "${flags[@]}" test-programs > "$work/base.log" 2>&1 \
    || { cat "$work/base.log" >&2; die "the instructor's book does not build"; }
tree=$work/tree
mkdir "$tree"
repository_files | tar --null -T - -cf - | tar -xf - -C "$tree"
copy_build build/grade-base "$tree/build/grade-base" \
    flags lib program gen tests cuda libtp.a libtp-program.a
: > "$work/ignored"
: > "$work/suspicious"
own=$(assignment_exercises "$number" | tr '\n' ' ')
exercises() {  # exercises MODE FILE...
    local mode=$1; shift
    awk -v mode="$mode" -v only="$own" -f "$course/exercises.awk" "$@"
}
# put FILE CHAPTER: FILE in the tree as CHAPTER, unless it holds the same
# bytes already: a chapter left as it was keeps its time, and nothing made
# from it (the book's text in the corpus) is made again.
put() { cmp -s "$1" "$tree/$2" || cp "$1" "$tree/$2"; }
for chapter in $chapters; do
    exercises handout "$chapter" "$chapter" > "$work/handout.nw"
    if [[ -f $submission/$chapter ]]; then
        exercises splice "$submission/$chapter" "$work/handout.nw" \
            > "$work/spliced.nw"
        put "$work/spliced.nw" "$chapter"
        diff <(exercises blank "$work/handout.nw") \
             <(exercises blank "$submission/$chapter") \
            | sed "s|^|$chapter: |" >> "$work/ignored" || true
        # <<grade: list what a solution has no use for>>
        exercises show "$submission/$chapter" \
            | grep -nE '(^|[^a-z_])(printf|puts|fputs|fwrite|write|exit|_exit|abort|fopen|open|system|popen|fork|exec[lv]p?|getenv|setenv|asm|__asm__|__attribute__)[ (]|^[ \t]*#' \
            | sed "s|^|$chapter, solution line |" >> "$work/suspicious" || true
    else
        put "$work/handout.nw" "$chapter"
        echo "$chapter: not in the submission; its exercises are graded as stubs" \
            >> "$work/ignored"
    fi
done
for t in "$submission"/tests/*.c "$submission"/tests/*.h; do
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
rm -f $tests
{ make tangle && make -k -j2 BUILD=$obj "${flags[@]}" $tests; } \
    > "$work/build.log" 2>&1 || true
# <<grade: run every check>>
checks=()
for id in $(assignment_exercises "$number"); do
    while read -r test visibility points seconds; do
        log=$work/$id.$test
        status=0
        if [[ -x $obj/tests/$test ]]; then
            ( ulimit -t $((seconds + 1)); ulimit -f 20000
              TP_EXERCISE=$id TAP_TIME_LIMIT=$seconds OMP_NUM_THREADS=1 \
                  OPENBLAS_NUM_THREADS=1 timeout -k 2 $((2 * seconds + 5)) \
                  "$obj/tests/$test" < /dev/null ) > "$log.out" 2> "$log.err" \
                || status=$?
        else
            status=127
            : > "$log.out"
            { echo "$test does not build:"
              grep -E 'error|undefined reference' "$work/build.log" | head -n 20
            } > "$log.err"
        fi
        score=$(awk -v status="$status" -v points="$points" \
            -f "$course/tap-score.awk" "$log.out")
        { cat "$log.out"; sed 's/^/(stderr) /' "$log.err"; } \
            | bash "$course/where.sh" > "$log.where"
        checks+=("$id"$'\t'"$test"$'\t'"$visibility"$'\t'"$score"$'\t'"$points"$'\t'"$status")
    done < <(exercise_checks "$id")
done
cd "$root"
printf '%s\n' "${checks[@]}" > "$work/checks"
# <<grade: write the results>>
{
    echo "Assignment $number: $(assignment_title "$number")"
    awk -F'\t' '{ s += $4; m += $5 } END { printf "Score: %g of %g\n\n", s, m }' \
        "$work/checks"
    while IFS=$'\t' read -r id test visibility score points status; do
        echo "== $id, $test ($visibility): $score of $points"
        if ((status == 124 || status == 137 || status == 152)) \
            || grep -qF "past its time limit" "$work/$id.$test.out"; then
            echo "(stopped: past its time limit)"
        fi
        sed 's/^/    /' "$work/$id.$test.where" | head -n 60
    done < "$work/checks"
    if [[ -s $work/suspicious ]]; then
        echo; echo "== For a person to read: calls a solution has no use for"
        sed 's/^/    /' "$work/suspicious" | head -n 50
    fi
    if [[ -s $work/ignored ]]; then
        echo; echo "== Changes outside the solution regions (not graded):"
        sed 's/^/    /' "$work/ignored" | head -n 200
    fi
} > "$out/report.txt"
bash "$course/results-json.sh" "$work" > "$out/results.json"
echo "grade: $(sed -n 2p "$out/report.txt") ($out/report.txt)"
