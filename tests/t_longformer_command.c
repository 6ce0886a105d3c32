/* Generated from book/272-longformer.nw; edit the book, not this file. */
#include "command.h"

static bool one_line(const char *text)
{
    return strchr(text, '\n') == strrchr(text, '\n');
}

int main(void)
{
    find_program();
    /* <<t-longformer-command: compare, train and eval>> */
    struct tap_outcome compare = tp("longformer compare --min 256 --max 512 "
                                    "--window 32 --block 32 --dense-max 512 "
                                    "--tsv /tmp/tp-longformer-time.tsv");
    ok(compare.status == 0 && strstr(compare.output, "tiled/win")
           && access("/tmp/tp-longformer-time.tsv", R_OK) == 0,
       "tp longformer compare times the four methods and writes its table");
    unlink("/tmp/tp-longformer-time.tsv");
    struct tap_outcome train = tp("longformer train --steps 2 --length 64 "
                                  "--batch 2 --width 8 --heads 2 --layers 1 "
                                  "--window 8 --block 8 --eval-docs 4 "
                                  "--eval-every 1 --save /tmp/tp-longformer.st");
    ok(train.status == 0 && strstr(train.output, "window  step     2")
           && strstr(train.output, "# accuracy after 2 steps"),
       "tp longformer train trains with and without the global token");
    struct tap_outcome eval = tp("longformer eval --load /tmp/tp-longformer.st "
                                 "--eval-docs 4");
    ok(eval.status == 0 && strstr(eval.output, "accuracy on 4 documents"),
       "tp longformer eval evaluates the saved classifier");
    unlink("/tmp/tp-longformer.st");
    /* <<t-longformer-command: bad options>> */
    struct tap_outcome window = tp("longformer compare --window 0");
    ok(window.status == 1 && strstr(window.output, "--window")
           && one_line(window.output), "a window of 0: a one-line error");
    struct tap_outcome global = tp("longformer compare --min 256 --global 300");
    ok(global.status == 1 && strstr(global.output, "--global 300 is outside")
           && one_line(global.output),
       "a global token outside the sequence: a one-line error");
    struct tap_outcome missing = tp("longformer eval --load /nonexistent.st");
    ok(missing.status == 1 && strstr(missing.output, "/nonexistent.st")
           && one_line(missing.output), "a missing checkpoint: a one-line error");
    return done_testing();
}
