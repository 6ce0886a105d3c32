/* Generated from book/335-memory.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-memory-command: checks>> */
    struct tap_outcome model = tp("gpt train --steps 2 --batch 2 --context 32 "
                                  "--layers 1 --heads 2 --width 16 --out "
                                  "/tmp/tp-memory-model.safetensors");
    struct tap_outcome odd = tp("memory compare --model "
                                "/tmp/tp-memory-model.safetensors --page-size 5");
    ok(model.status == 0 && odd.status == 2
           && strstr(odd.output, "--page-size 5 does not divide the 32 positions "
                     "of /tmp/tp-memory-model.safetensors"),
       "a page size that does not divide the positions is refused");
    struct tap_outcome compare = tp("memory compare --model "
                                    "/tmp/tp-memory-model.safetensors --layers 2 "
                                    "--width 16 --heads 2 --context 16 --batch 2 "
                                    "--rounds 1 --windows 2 --page-size 8 --tsv "
                                    "/tmp/tp-memory.tsv");
    ok(compare.status == 0 && strstr(compare.output, "paged  cache")
           && access("/tmp/tp-memory.tsv", R_OK) == 0,
       "tp memory compare counts, times and writes its table");
    unlink("/tmp/tp-memory-model.safetensors");
    unlink("/tmp/tp-memory.tsv");
    return done_testing();
}
