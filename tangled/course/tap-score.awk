# Generated from book/910-course.nw; edit the book, not this file.
# tap-score.awk -v status=S -v points=P OUTPUT: P if OUTPUT is a test
# program's complete, passing TAP run that exited with status S = 0 and
# ran at least one check that was not skipped; else 0.
/^1\.\.[0-9]+/ { plans++; planned = substr($1, 4) + 0 }
/^ok [0-9]+/ { if ($2 != ran + 1) disorder = 1; ran++ }
/^ok [0-9]+ # skip/ { skipped++ }
/^not ok [0-9]+/ { if ($3 != ran + 1) disorder = 1; ran++; failed++ }
/^Bail out!/ { bailed = 1 }
END {
    good = status == 0 && plans == 1 && planned == ran && ran > skipped \
        && !failed && !bailed && !disorder
    print good ? points : 0
}
