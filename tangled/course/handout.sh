#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# handout.sh N DIR: assignment N's handout, in the new directory DIR.
set -euo pipefail
# <<course: the shared helpers>>
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
(($# == 2)) || die "usage: handout.sh N DIR"
number=$1 out=$2
chapters=$(assignment_chapters "$number")
[[ ! -e $out ]] || die "$out exists: a handout goes into a new directory"
[[ -d $(dirname "$out") ]] || die "$(dirname "$out"): no such directory"
partial=$out.partial
rm -rf "$partial"
trap 'rm -rf "$partial"' EXIT
mkdir "$partial"
repository_files | grep -zv -e '^tests/hidden_' -e '^book/990-' \
    | tar --null -T - -cf - | tar -xf - -C "$partial"
own=$(assignment_exercises "$number" | tr '\n' ' ')
for chapter in $chapters; do
    awk -v mode=handout -v only="$own" -f "$course/exercises.awk" \
        "$chapter" "$chapter" > "$partial/$chapter"
done
(cd "$partial" && make tangle > /dev/null && git init -q \
    && git add -A && git -c user.name=course -c user.email=course@localhost \
        -c commit.gpgsign=false commit -q -m "Assignment $number: $(assignment_title "$number")")
mv "$partial" "$out"
trap - EXIT
echo "handout: $out (assignment $number: $(assignment_title "$number"))"
