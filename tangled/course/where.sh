#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# where.sh: copy standard input to standard output, rewriting each place in
# a tangled file ("tests/t_x.c line 12", "tangled/src/x.c:12:5:") as the
# chapter and line it comes from.
set -uo pipefail
nw=/usr/lib/noweb
text=$(cat)
files=$(grep -oE '(tangled|tests)/[A-Za-z0-9_./-]+\.(c|h)' <<<"$text" | sort -u)
tables=$(mktemp)
trap 'rm -f "$tables"' EXIT
for f in $files; do
    [[ -f $f ]] || continue
    "$nw/markup" book/*.nw | awk -v style=c -f mk/chunk-comments.awk \
        | "$nw/nt" -L'#line %L "%F"%N' -R"$f" 2>/dev/null \
        | awk -v f="$f" '/^#line [0-9]+ "/ {
              line = $2; source = $3; gsub(/"/, "", source); next }
          { print f, ++n, source ":" line++ }' >> "$tables"
done
awk -v tables="$tables" 'FILENAME == tables { at[$1 " " $2] = $3; next }
     { out = $0
       while (match(out, /(tangled|tests)\/[A-Za-z0-9_.\/-]+\.(c|h)(:[0-9]+| line [0-9]+)/)) {
           place = substr(out, RSTART, RLENGTH)
           file = place; sub(/(:| line ).*/, "", file)
           line = place; sub(/.*(:| line )/, "", line)
           to = (file " " line) in at ? at[file " " line] : file "\034" line
           out = substr(out, 1, RSTART - 1) to substr(out, RSTART + RLENGTH)
       }
       gsub(/\034/, ":", out); print out }' "$tables" - <<<"$text"
