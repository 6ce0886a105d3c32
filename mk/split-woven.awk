# split-woven.awk: route the output of one noweave run over the whole book
# into the three parts of a LaTeX book, by chapter file number:
#   book/000-099-*.nw  front matter  -> front.tex
#   book/100-899-*.nw  main matter   -> main.tex
#   book/900-999-*.nw  appendices    -> back.tex
# Variable dir: where to write. Input: woven LaTeX with every \nwfilename
# at the start of a line.
BEGIN { out = dir "/front.tex"; printf "" > (dir "/front.tex")
        printf "" > (dir "/main.tex"); printf "" > (dir "/back.tex") }
/^\\nwfilename\{/ {
    match($0, /[0-9][0-9][0-9]-/)
    number = substr($0, RSTART, 3) + 0
    out = dir "/" (number < 100 ? "front" : number < 900 ? "main" : "back") ".tex"
}
{ print > out }
