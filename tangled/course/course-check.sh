#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# course-check.sh [N...]: check the course's assignments (all by default).
set -euo pipefail
# <<course: the shared helpers>>
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
numbers=${*:-$(awk '$1 == "assignment" { print $2 }' "$manifest")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# <<course-check: helpers>>
fail() { echo "course-check: $*" >&2; exit 1; }
# run DIR ID TEST: run one exercise's checks of a test program in DIR.
run() {
    (cd "$1" && TP_EXERCISE=$2 OMP_NUM_THREADS=1 timeout 300 \
        "build/tests/$3" > "$work/run.log" 2>&1)
}
score_of() {
    awk '/^Score:/ { print $2; exit }' "$1/report.txt"
}
most_of() {
    awk '/^Score:/ { print $4; exit }' "$1/report.txt"
}
# copy_submission DIR COPY: DIR without its build directory, which the
# grader never reads.
copy_submission() {
    mkdir "$2"
    (cd "$1" && tar --exclude=./build -cf - .) | tar -xf - -C "$2"
}
valid_json() {
    /usr/bin/python3 -c 'import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' \
        "$1" "$course/results.schema.json" \
        || fail "$1 does not validate against results.schema.json"
}
# <<course-check: places in tangled files become the chapter's lines>>
for f in tangled/src/ops.c tests/t_ops.c; do
    awk -v f="$f" '{ print f " line " NR }' "$f" | bash "$course/where.sh" \
        > "$work/places"
    bad=$(awk -v f="$f" '
        function trim(t) { gsub(/^[ \t]+|[ \t]+$/, "", t); return t }
        FILENAME == f { text[FNR] = $0; next }
        { split($0, at, ":"); n++
          if (trim(text[n]) == "" \
              || text[n] ~ /^[ \t]*\/\* (<<.*>>|Generated from .*) \*\/$/) next
          chapter_line = ""
          while ((getline line < at[1]) > 0)
              if (++count[at[1]] == at[2] + 0) { chapter_line = line; break }
          close(at[1]); count[at[1]] = 0
          if (trim(chapter_line) != trim(text[n])) print f ":" n " -> " $0 }' \
        "$f" "$work/places")
    [[ -z $bad ]] || fail "where.sh maps lines of $f wrongly: $(head -n 3 <<<"$bad")"
done
echo "   places in tangled files are rewritten as the chapters' lines"
make -s test-programs > /dev/null
for number in $numbers; do
    echo "== assignment $number: $(assignment_title "$number")"
    began=$SECONDS
    # <<course-check: the solutions pass>>
    for id in $(assignment_exercises "$number"); do
        while read -r test visibility points seconds; do
            run . "$id" "$test" \
                || { cat "$work/run.log"; fail "$id: the book's solution fails $test"; }
        done < <(exercise_checks "$id")
    done
    echo "   the book's solutions pass every check"
    # <<course-check: the handout fails only its own exercises>>
    handout=$work/handout-$number
    bash "$course/handout.sh" "$number" "$handout" > /dev/null
    [[ $(git -C "$handout" rev-list --count HEAD) == 1 ]] \
        || fail "handout $number: its history is not one commit"
    copy_build build "$handout/build" \
        flags lib program gen tests cuda libtp.a libtp-program.a
    make -s -k -j2 -C "$handout" $(awk '$1 == "check" && $4 == "visible" {
        print "build/tests/" $3 }' "$manifest" | sort -u) > "$work/build.log" 2>&1 \
        || true
    own=$(assignment_exercises "$number")
    for id in $(awk '$1 == "exercise" { print $3 }' "$manifest"); do
        while read -r test visibility points seconds; do
            [[ $visibility == visible ]] || continue
            [[ -x $handout/build/tests/$test ]] \
                || { tail -n 20 "$work/build.log"
                     fail "handout $number: $test does not build"; }
            if ! grep -qxF "$id" <<<"$own" \
                && grep -qxFf <(needs_of "$id") <<<"$own"; then
                echo "   ($id is not checked: its tests use this assignment's work)"
            elif grep -qxF "$id" <<<"$own"; then
                ! run "$handout" "$id" "$test" \
                    || fail "handout $number: $id passes $test with only its stub"
                grep -qF "exercise $id: not done yet" "$work/run.log" \
                    || fail "handout $number: $test does not stop at $id's stub"
            else
                run "$handout" "$id" "$test" \
                    || fail "handout $number: $id fails $test"
            fi
        done < <(exercise_checks "$id")
    done
    echo "   the handout builds; its exercises fail, the others pass"
    # <<course-check: the grader>>
    bash "$course/grade.sh" "$number" . "$work/book" > /dev/null
    [[ $(score_of "$work/book") == "$(most_of "$work/book")" ]] \
        || { cat "$work/book/report.txt"; fail "the book scores less than full marks"; }
    bash "$course/grade.sh" "$number" "$handout" "$work/untouched" > /dev/null
    [[ $(score_of "$work/untouched") == 0 ]] \
        || { cat "$work/untouched/report.txt"; fail "the untouched handout scores points"; }
    # <<course-check: a submission that edits the tests>>
    cheat=$work/cheat-$number
    copy_submission "$handout" "$cheat"
    for t in "$cheat"/tests/t_*.c; do
        printf '%s\n' '#include "tap.h"' 'int main(void)' \
            '{ todo_start("later"); ok(1, "passes"); todo_end(); return done_testing(); }' \
            > "$t"
    done
    bash "$course/grade.sh" "$number" "$cheat" "$work/cheat" > /dev/null
    [[ $(score_of "$work/cheat") == 0 ]] \
        || { cat "$work/cheat/report.txt"; fail "edited tests score points"; }
    grep -qF "edited (the grader uses its own tests)" "$work/cheat/report.txt" \
        || fail "the report does not list the edited tests"
    # <<course-check: a submission that never returns>>
    endless=$work/endless-$number
    first=$(assignment_exercises "$number" | head -n 1)
    copy_submission "$handout" "$endless"
    first_chapter=$(exercise_chapter "$first")
    awk -v id="$first" '
        index($0, "tp_exercise_missing(\"" id "\");") {
            print "for (volatile int forever = 1; forever;)"
            print "    forever = 1;" }
        { print }' "$handout/$first_chapter" > "$endless/$first_chapter"
    started=$(date +%s)
    bash "$course/grade.sh" "$number" "$endless" "$work/endless" > /dev/null
    took=$(($(date +%s) - started))
    grep -qF "(stopped: past its time limit)" "$work/endless/report.txt" \
        || { cat "$work/endless/report.txt"; fail "the endless loop was not stopped"; }
    echo "   an endless solution of $first was graded in $took s"
    # <<course-check: the autograder's bundle>>
    bash "$course/autograder.sh" "$number" "$work/autograder.zip" > /dev/null
    rm -rf "$work/unzipped" && mkdir "$work/unzipped"
    /usr/bin/python3 -m zipfile -e "$work/autograder.zip" "$work/unzipped"
    for f in setup.sh run_autograder source/tangled/course/grade.sh \
        source/book/910-course.nw source/tests/hidden_ops.c; do
        [[ -f $work/unzipped/$f ]] || fail "the autograder's bundle lacks $f"
    done
    files=$(cd "$work/unzipped/source" && bash -c 'source tangled/course/common.sh; repository_files | tr "\0" "\n" | wc -l')
    ((files > 100)) || fail "without git, the grader finds only $files files"
    echo "   the autograder's bundle holds the book; its grader finds $files files without git"
    for r in book untouched cheat endless; do valid_json "$work/$r/results.json"; done
    echo "   the grader: full marks for the book, none for the handout, none for"
    echo "   edited tests, a loop stopped by its limit; results.json valid"
    # <<course-check: the assignment's pages>>
    pdf=build/transformer-problems.pdf aux=build/tex/transformer-problems.aux
    if [[ -f $pdf && -f $aux && -z $(find book -name '*.nw' -newer "$pdf") ]]; then
        bash "$course/assignment-pdf.sh" "$number" "$pdf" "$aux" "$work/pages.pdf" \
            > /dev/null
        pdftotext "$work/pages.pdf" "$work/pages.txt"
        for chapter in $(assignment_chapters "$number") book/910-course.nw; do
            title=$(sed -n '1s/^\\chapter{\(.*\)}$/\1/p' "$chapter")
            grep -qxF "$title" "$work/pages.txt" \
                || fail "assignment $number's pages lack the chapter \"$title\""
        done
        kept=$(pdfinfo "$work/pages.pdf" | awk '/^Pages:/ { print $2 }')
        all=$(pdfinfo "$pdf" | awk '/^Pages:/ { print $2 }')
        ((kept * 5 < all)) || fail "assignment $number's pages are $kept of $all"
        echo "   its pages: $kept of the book's $all, with each chapter it needs"
    else
        echo "   (its pages are not checked: the book's PDF is older than a chapter)"
    fi
    echo "   assignment $number checked in $((SECONDS - began)) s"
done
echo "course-check: every assignment checked in $SECONDS s"
