#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# autograder.sh N ZIP: the Gradescope autograder of assignment N.
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
# The repository's files, separated by NUL characters: those git tracks,
# or, in a copy without git (Gradescope's), every file.
repository_files() {
    if git rev-parse --git-dir > /dev/null 2>&1; then
        git ls-files -z --cached | while IFS= read -r -d '' f; do
            if [[ -e $f ]]; then printf '%s\0' "$f"; fi
        done
    else
        find . -type f ! -path './build/*' -printf '%P\0'
    fi
}
grader_flags() {
    awk '$1 == "flags" { $1 = ""; sub(/^ +/, ""); print }' "$manifest"
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
(($# == 2)) || die "usage: autograder.sh N ZIP"
number=$1 zip=$2
assignment_chapters "$number" > /dev/null
[[ -d $(dirname "$zip") ]] || die "$(dirname "$zip"): no such directory"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/source"
repository_files | tar --null -T - -cf - | tar -xf - -C "$stage/source"
# <<autograder: setup.sh>>
cat > "$stage/setup.sh" <<'EOF'
#!/usr/bin/env bash
set -e
apt-get update -q
apt-get install -y -q make
cd /autograder/source && make grade-base
EOF
# <<autograder: run_autograder>>
cat > "$stage/run_autograder" <<EOF
#!/usr/bin/env bash
cd /autograder/source
submission=/autograder/submission
chapter=$(assignment_chapters "$number" | head -n 1)
EOF
cat >> "$stage/run_autograder" <<'EOF'
if [[ ! -f $submission/$chapter ]]; then
    for d in "$submission"/*/; do
        [[ -f $d/$chapter ]] && submission=${d%/}
    done
fi
bash tangled/course/grade.sh NUMBER "$submission" /autograder/results \
    > /autograder/results/grade.log 2>&1 \
    || printf '{"score": 0, "output": "%s", "tests": []}\n' \
        "the grader failed: $(tail -n 1 /autograder/results/grade.log | tr -d '"\\')" \
        > /autograder/results/results.json
EOF
sed -i "s/NUMBER/$number/" "$stage/run_autograder"
chmod 755 "$stage/setup.sh" "$stage/run_autograder"
zip=$(cd "$(dirname "$zip")" && pwd)/$(basename "$zip")
rm -f "$zip.new"
(cd "$stage" && /usr/bin/python3 -m zipfile -c "$zip.new" \
    setup.sh run_autograder source)
mv "$zip.new" "$zip"
echo "autograder: $zip (assignment $number)"
