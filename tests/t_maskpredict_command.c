/* Generated from book/320-decoding.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    struct tap_outcome run = tp("decoding maskpredict --steps 2 --batch 4 "
                                "--layers 1 --heads 2 --width 8 --test 5 "
                                "--threads 1 --tsv /tmp/tp-maskpredict.tsv");
    ok(run.status == 0 && strstr(run.output, "autoregressive")
           && strstr(run.output, "T 10  length predicted")
           && access("/tmp/tp-maskpredict.tsv", R_OK) == 0,
       "tp decoding maskpredict trains, decodes and writes its table");
    unlink("/tmp/tp-maskpredict.tsv");
    struct tap_outcome heads = tp("decoding maskpredict --width 10 --heads 4");
    ok(heads.status == 2 && strstr(heads.output, "--width 10 must be a "
                                   "multiple of twice --heads 4"),
       "a width the heads do not divide is refused");
    struct tap_outcome nowhere = tp("decoding maskpredict --tsv "
                                    "/nonexistent/tp/table.tsv");
    ok(nowhere.status == 1 && strstr(nowhere.output, "cannot write "
                                     "/nonexistent/tp/table.tsv"),
       "a table that cannot be written is refused before training");
    return done_testing();
}
