#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# exercise.sh ID: tangle, rebuild, and run exercise ID's tests verbosely.
set -uo pipefail
# <<course: the shared helpers>>
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
(($# == 1)) || die "usage: exercise.sh ID"
id=$1
exercise_chapter "$id" > /dev/null
make tangle > /dev/null || die "the tangle failed"
failed=0 ran=0
while read -r test visibility points seconds; do
    [[ -f tests/$test.c ]] || continue  # a hidden test, not in a handout
    make "build/tests/$test" 2>&1 | bash "$course/where.sh" \
        || die "$test does not build (the errors above)"
    ran=$((ran + 1))
    echo "== $test ($visibility, $points points): exercise $id"
    TP_EXERCISE=$id TAP_TIME_LIMIT=$seconds "build/tests/$test" < /dev/null 2>&1 \
        | bash "$course/where.sh" || failed=$((failed + 1))
done < <(exercise_checks "$id")
((ran > 0)) || die "no test of exercise $id is in this copy"
if ((failed == 0)); then echo "exercise $id: every check passed"
else echo "exercise $id: $failed of $ran test programs failed"; exit 1; fi
