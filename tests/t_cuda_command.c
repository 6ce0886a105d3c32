/* Generated from book/190-cuda.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-cuda-command: checks>> */
    struct tap_outcome listed = tp("bench cuda --list");
    ok(listed.status == 0 && strstr(listed.output, "layernorm-backward")
           && strstr(listed.output, "tensor cores through mma.sync"),
       "tp bench cuda --list names the operations and their versions");
    struct tap_outcome misspelled = tp("bench cuda softmx");
    ok(misspelled.status == 2
           && strstr(misspelled.output, "no operation 'softmx'"),
       "tp bench cuda refuses an operation it does not know");
    struct tap_outcome small = tp("bench cuda softmax --rows 3 --cols 40 "
                                  "--repeat 2");
    ok(small.status == 0 ? strstr(small.output, "a warp per row") != NULL
                         : small.status == 1
                               && strstr(small.output, "no CUDA device") != NULL,
       "tp bench cuda runs, or says that there is no CUDA device");
    return done_testing();
}
