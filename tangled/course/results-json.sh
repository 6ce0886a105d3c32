#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# results-json.sh WORK: the grader's results as Gradescope's results.json.
set -euo pipefail
work=$1
escape() {
    head -c 20000 | iconv -f UTF-8 -t UTF-8 -c | LC_ALL=C awk '
        BEGIN { for (i = 1; i < 32; i++) code[sprintf("%c", i)] = sprintf("\\u%04x", i)
                code["\n"] = "\\n"; code["\t"] = "\\t" }
        { line = $0; out = ""
          for (i = 1; i <= length(line); i++) {
              c = substr(line, i, 1)
              if (c == "\\" || c == "\"") out = out "\\" c
              else if (c in code) out = out code[c]
              else out = out c }
          printf "%s\\n", out }'
}
total=$(awk -F'\t' '{ s += $4 } END { printf "%g", s }' "$work/checks")
printf '{\n  "score": %s,\n  "output": "%s",\n  "tests": [' "$total" \
    "$(cat "$work/suspicious" "$work/ignored" | escape)"
separator=
while IFS=$'\t' read -r id test visibility score points status; do
    shown=$([[ $visibility == hidden ]] && echo after_published || echo visible)
    printf '%s\n    {"name": "%s (%s)", "score": %s, "max_score": %s, "visibility": "%s", "output": "%s"}' \
        "$separator" "$id" "$test" "$score" "$points" "$shown" \
        "$(escape < "$work/$id.$test.where")"
    separator=,
done < "$work/checks"
printf '\n  ]\n}\n'
