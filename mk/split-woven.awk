# split-woven.awk: route the output of one noweave run over the whole book
# into the parts of a LaTeX book, by chapter file number:
#   book/000-099-*.nw  front matter  -> front.tex
#   book/100-899-*.nw  main matter   -> main.tex, and workshop.tex
#   book/900-999-*.nw  appendices    -> back.tex
# A chapter's sections that a reader needs only to run, draw or test (its
# commands, benchmark drivers, figure code and test listings) open with
# \workshop{Title} instead of \section{Title}. Such a section, up to the
# next \section, \chapter or "What to remember", is moved to that chapter's
# chapter of the workshop (workshop.tex, typeset after the parts), and the
# main text keeps a link to it; the workshop links back.
# Variable dir: where to write. Input: woven LaTeX with every \nwfilename
# at the start of a line.
BEGIN {
    out = dir "/front.tex"
    printf "" > (dir "/front.tex"); printf "" > (dir "/main.tex")
    printf "" > (dir "/back.tex"); printf "" > (dir "/workshop.tex")
    workshop = dir "/workshop.tex"
}
/^\\nwfilename\{/ {
    match($0, /[0-9][0-9][0-9]-/)
    number = substr($0, RSTART, 3) + 0
    chapter_file = substr($0, RSTART, 3)
    out = dir "/" (number < 100 ? "front" : number < 900 ? "main" : "back") ".tex"
    title = ""; label = ""; opened = 0; moving = 0; count = 0
}
# The chapter's title and label, for the heading of its workshop chapter.
/\\chapter\{/ && title == "" {
    title = $0; sub(/.*\\chapter\{/, "", title); sub(/\}[^}]*$/, "", title)
}
/\\label\{ch:/ && label == "" {
    label = $0; sub(/.*\\label\{/, "", label); sub(/\}.*$/, "", label)
}
# A section command may follow, on the same line, the end of the code chunk
# before it: the line is split there.
{
    line = $0; head = ""
    if (match(line, /\\nwbegindocs\{[0-9]+\}(\\nwdocspar)?/) \
        && substr(line, RSTART + RLENGTH) ~ /^\\(section|chapter|workshop|begin\{remember\})/) {
        head = substr(line, 1, RSTART + RLENGTH - 1)
        line = substr(line, RSTART + RLENGTH)
    }
    if (head != "") print head > (moving ? workshop : out)
    if (moving && line ~ /^(\\section|\\chapter|\\begin\{remember\})/)
        moving = 0
    if (line ~ /^\\workshop\{/) {
        section = line
        sub(/^\\workshop\{/, "", section); sub(/\}[ \t]*$/, "", section)
        key = chapter_file "-" (++count)
        if (!opened) {
            printf "\\workshopchapter{%s}{%s}\n", title, label > workshop
            opened = 1
        }
        printf "\\workshoplink{%s}{%s}\n", key, section > out
        printf "\\workshopsection{%s}{%s}{%s}\n", key, section, label > workshop
        moving = 1
        next
    }
    print line > (moving ? workshop : out)
}
