/* Generated from book/355-oversmoothing.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-oversmoothing-command: checks>> */
    struct tap_outcome run = tp("oversmoothing compare --layers 3 --width 16 "
                                "--heads 2 --context 8 --batch 2 --steps 3 "
                                "--tsv /tmp/tp-oversmoothing.tsv");
    ok(run.status == 0 && strstr(run.output, "attention+skip")
           && strstr(run.output, "# loss temperature")
           && access("/tmp/tp-oversmoothing.tsv", R_OK) == 0,
       "tp oversmoothing compare measures both stacks and every remedy");
    unlink("/tmp/tp-oversmoothing.tsv");
    struct tap_outcome heads = tp("oversmoothing compare --width 30 --heads 4");
    ok(heads.status == 1 && strstr(heads.output, "--heads 4 does not divide"),
       "heads that do not divide the width are refused");
    struct tap_outcome depth = tp("oversmoothing compare --layers 0");
    ok(depth.status == 2 && strstr(depth.output, "--layers must be an integer"),
       "depth 0 is refused");
    struct tap_outcome drop = tp("oversmoothing compare --drop-head 1");
    ok(drop.status == 1 && strstr(drop.output, "--drop-head must be below 1"),
       "a DropHead probability of 1 is refused");
    struct tap_outcome cold = tp("oversmoothing compare --temperature 0");
    ok(cold.status == 1 && strstr(cold.output, "--temperature above 0"),
       "a temperature of 0 is refused");
    return done_testing();
}
