/* Generated from book/305-quadratic.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-quadratic-command: checks>> */
    struct tap_outcome scaling = tp("bench attention --max 512 --rank 64 --tsv "
                                    "/tmp/tp-attention-scaling.tsv");
    ok(scaling.status == 0 && strstr(scaling.output, "tiled / naive")
           && strstr(scaling.output, "Linformer    16")
           && access("/tmp/tp-attention-scaling.tsv", R_OK) == 0,
       "tp bench attention measures, compares and writes its table");
    unlink("/tmp/tp-attention-scaling.tsv");
    /* <<t-quadratic-command: checks>> */
    struct tap_outcome compare = tp("quadratic compare --steps 2 --eval-every 1 "
                                    "--context 64 --width 16 --layers 1 --heads 2 "
                                    "--tsv /tmp/tp-quadratic.tsv");
    ok(compare.status == 0 && strstr(compare.output, "linear  step    2")
           && strstr(compare.output, "# peak tiled")
           && access("/tmp/tp-quadratic.tsv", R_OK) == 0,
       "tp quadratic compare trains with each attention and writes its table");
    unlink("/tmp/tp-quadratic.tsv");
    return done_testing();
}
