/* Generated from book/208-vanilla.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-vanilla-command: checks>> */
    struct tap_outcome train = tp("translate train --steps 4 --batch 4 "
                                  "--layers 1 --heads 2 --width 16 "
                                  "--eval-every 2 --out /tmp/tp-translate.safetensors");
    ok(train.status == 0 && strstr(train.output, "step 2: held-out exact match"),
       "tp translate train reports held-out accuracy");
    struct tap_outcome run = tp("translate run --model /tmp/tp-translate.safetensors "
                                "--beam 2 --test 5 --attention "
                                "/tmp/tp-translate.tsv 407 12");
    ok(run.status == 0 && strstr(run.output, "held-out exact match, beam")
           && strstr(run.output, "407\t") && strstr(run.output, "\n12\t")
           && access("/tmp/tp-translate.tsv", R_OK) == 0,
       "tp translate run translates, measures and writes the cross-attention");
    struct tap_outcome big = tp("translate run --model /tmp/tp-translate.safetensors "
                                "1000000000");
    ok(big.status == 2 && strstr(big.output, "not a number from 0 to 999999999"),
       "a number of ten digits is refused");
    unlink("/tmp/tp-translate.safetensors");
    unlink("/tmp/tp-translate.tsv");
    return done_testing();
}
