# Generated from book/910-course.nw; edit the book, not this file.
# common.sh: what every script of the course shares; each sources it.
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
# copy_build FROM TO PART...: the PARTs of the build directory FROM
# (objects, archives, generated files) into TO, with their times, so that
# make compiles again only what changed. Of tests/ only the objects: the
# test programs are linked again, against the copy's library.
copy_build() {
    local from=$1 to=$2 part
    shift 2
    mkdir -p "$to"
    for part in "$@"; do
        if [[ $part == tests ]]; then
            mkdir -p "$to/tests"
            find "$from/tests" -maxdepth 1 \( -name '*.o' -o -name '*.d' \) \
                -exec cp -a -t "$to/tests" {} +
        elif [[ -e $from/$part ]]; then
            cp -a "$from/$part" "$to/"
        fi
    done
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
