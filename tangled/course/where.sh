#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# where.sh: copy standard input to standard output, rewriting each place in
# a tangled file ("tests/t_x.c line 12", "tangled/src/x.c:12:5:") as the
# chapter and line it comes from.
set -uo pipefail
nw=/usr/lib/noweb
text=$(head -c 1000000)
files=$(grep -oE '(tangled|tests)/[A-Za-z0-9_./-]+\.(c|h)' <<<"$text" | sort -u)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in $files; do
    [[ -f $f ]] || continue
    "$nw/markup" book/*.nw | "$nw/nt" -L'#line %L "%F"%N' -R"$f" \
        > "$work/lines" 2>/dev/null || continue
    # <<where: a table from the lines of f to the chapter's>>
    awk -v f="$f" -v lined="$work/lines" '
        FILENAME == lined {
            if ($0 ~ /^#line [0-9]+ "/) {
                line = $2; source = $3; gsub(/"/, "", source)
                blank = 0; next
            }
            if (blank) { from[++n] = held; }
            blank = $0 ~ /^[ \t]+$/
            held = source ":" line++
            if (!blank) from[++n] = held
            next
        }
        { generated = $0 ~ /^[ \t]*\/\* (<<.*>>|Generated from .*) \*\/[ \t]*$/
          print f, FNR, from[k + 1] == "" ? f "\034" FNR : from[k + 1]
          if (!generated) k++ }' "$work/lines" "$f" >> "$work/tables"
done
touch "$work/tables"
# <<where: rewrite every place>>
awk -v tables="$work/tables" 'FILENAME == tables { at[$1 " " $2] = $3; next }
     { out = $0
       while (match(out, /(tangled|tests)\/[A-Za-z0-9_.\/-]+\.(c|h)(:[0-9]+| line [0-9]+)/)) {
           place = substr(out, RSTART, RLENGTH)
           file = place; sub(/(:| line ).*/, "", file)
           line = place; sub(/.*(:| line )/, "", line)
           to = (file " " line) in at ? at[file " " line] : file "\034" line
           out = substr(out, 1, RSTART - 1) to substr(out, RSTART + RLENGTH)
       }
       gsub(/\034/, ":", out); print out }' "$work/tables" - <<<"$text"
