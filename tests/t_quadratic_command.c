/* Generated from book/305-quadratic.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-quadratic-command: checks>> */
    struct tap_outcome scaling = tp("bench attention --max 512 --tsv "
                                    "/tmp/tp-attention-scaling.tsv");
    ok(scaling.status == 0 && strstr(scaling.output, "tiled / naive")
           && strstr(scaling.output, "Linformer r=16")
           && access("/tmp/tp-attention-scaling.tsv", R_OK) == 0,
       "tp bench attention measures, compares and writes its table");
    unlink("/tmp/tp-attention-scaling.tsv");
    return done_testing();
}
