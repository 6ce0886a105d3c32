#!/usr/bin/env bash
# Generated from book/910-course.nw; edit the book, not this file.
# autograder.sh N ZIP: the Gradescope autograder of assignment N.
set -euo pipefail
# <<course: the shared helpers>>
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
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
