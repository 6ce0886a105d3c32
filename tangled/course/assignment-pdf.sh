#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# assignment-pdf.sh N BOOK.pdf BOOK.aux OUT.pdf: the book's pages that
# assignment N needs, in the book's order.
set -euo pipefail
# <<course: the shared helpers>>
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
(($# == 4)) || die "usage: assignment-pdf.sh N BOOK.pdf BOOK.aux OUT.pdf"
number=$1 book=$2 aux=$3 out=$4
chapters=$(assignment_chapters "$number")
toc=${aux%.aux}.toc
for f in "$book" "$aux" "$toc"; do
    [[ -f $f ]] || die "$f: no such file (make pdf makes it)"
done
[[ -d $(dirname "$out") ]] || die "$(dirname "$out"): no such directory"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# <<assignment-pdf: where each place of the book lies>>
pdfinfo -dests "$book" \
    | awk 'match($0, /"[^"]*"$/) {
               print substr($0, RSTART + 1, RLENGTH - 2), $1 }' \
    | sort > "$work/places"
pages=$(pdfinfo "$book" | awk '/^Pages:/ { print $2 }')
sed -n 's/^\\contentsline {\(chapter\|part\)}.*{\([^{}]*\)}%$/\2/p' "$toc" \
    | sort | join - "$work/places" | awk '{ print $2 }' | sort -n -u \
    > "$work/starts"
# <<assignment-pdf: the labels of the chapters it needs>>
labels=
for chapter in $chapters book/910-course.nw; do
    label=$(grep -m 1 -o '\\label{ch:[^}]*}' "$chapter" | sed 's/\\label{\(.*\)}/\1/') \
        || die "$chapter has no \\label{ch:...}"
    labels="$labels $label ws-$label"
done
# <<assignment-pdf: each label's pages>>
: > "$work/ranges"
for label in $labels; do
    place=$(awk -v l="\\\\newlabel{$label}" 'index($0, l "{") == 1' "$aux" \
        | sed -n 's/.*{\([^{}]*\)}{}}$/\1/p' | head -n 1)
    if [[ -z $place ]]; then
        [[ $label == ws-* ]] && continue
        die "$aux has no label $label: is it this book's?"
    fi
    first=$(awk -v p="$place" '$1 == p { print $2 }' "$work/places")
    [[ -n $first ]] || die "$book has no place $place: make pdf again"
    last=$(awk -v f="$first" -v n="$pages" '$1 > f { print $1 - 1; found = 1; exit }
        END { if (!found) print n }' "$work/starts")
    echo "$first $last" >> "$work/ranges"
done
# <<assignment-pdf: the pages, joined>>
ranges=$(sort -n -u "$work/ranges" | awk '{ printf "%s%d-%d", sep, $1, $2; sep = "," }')
kept=$(sort -n -u "$work/ranges" | awk '{ n += $2 - $1 + 1 } END { print n }')
qpdf --warning-exit-0 --empty --pages "$book" "$ranges" -- "$out.new"
mv "$out.new" "$out"
echo "assignment-pdf: $out (assignment $number: $kept of the book's $pages pages)"
