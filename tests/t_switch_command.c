/* Generated from book/280-switch.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    struct tap_outcome compare = tp("switch compare --steps 2 --eval-every 1 "
                                    "--layers 1 --width 16 --heads 2 "
                                    "--context 16 --batch 2 "
                                    "--tsv /tmp/tp-switch-compare.tsv");
    ok(compare.status == 0 && strstr(compare.output, "dense\t2\t")
           && strstr(compare.output, "switch\t2\t")
           && strstr(compare.output, "# load of layer 0:")
           && access("/tmp/tp-switch-compare.tsv", R_OK) == 0,
       "tp switch compare trains both models, reports the load and writes "
       "its table");
    unlink("/tmp/tp-switch-compare.tsv");
    struct tap_outcome zero = tp("switch compare --capacity 0");
    ok(zero.status == 2 && strstr(zero.output, "--capacity"),
       "a capacity factor of 0 is refused");
    struct tap_outcome alone = tp("switch compare --experts 1 --top 2");
    ok(alone.status == 2 && strstr(alone.output, "--top 2 needs two experts"),
       "top-2 routing over one expert is refused");
    return done_testing();
}
