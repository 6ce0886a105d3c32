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
    /* <<t-switch-command: training and sampling>> */
    struct tap_outcome trained = tp("switch train --steps 4 --eval-every 2 "
                                    "--layers 1 --width 16 --heads 2 "
                                    "--context 16 --batch 2 --save-every 0 "
                                    "--out /tmp/tp-switch-run.safetensors");
    ok(trained.status == 0 && strstr(trained.output, "step 4: validation loss")
           && strstr(trained.output, "# load of layer 0:")
           && access("/tmp/tp-switch-run.safetensors", R_OK) == 0,
       "tp switch train trains, reports the load and saves the run");
    struct tap_outcome resumed = tp("switch train --steps 6 --eval-every 2 "
                                    "--batch 2 --save-every 0 "
                                    "--resume /tmp/tp-switch-run.safetensors "
                                    "--out /tmp/tp-switch-run.safetensors");
    ok(resumed.status == 0 && strstr(resumed.output, "step 6: validation loss")
           && !strstr(resumed.output, "step 2: validation loss"),
       "a resumed run continues at its step");
    struct tap_outcome other = tp("switch train --steps 8 --experts 8 "
                                  "--resume /tmp/tp-switch-run.safetensors "
                                  "--out /tmp/tp-switch-other.safetensors");
    ok(other.status == 1 && strstr(other.output, "--experts 8, but the run"),
       "a resumed run with another number of experts is refused");
    struct tap_outcome sampled = tp("switch sample --tokens 20 --prompt Ab "
                                    "--model /tmp/tp-switch-run.safetensors");
    ok(sampled.status == 0 && strncmp(sampled.output, "Ab", 2) == 0
           && strlen(sampled.output) >= 22,
       "tp switch sample continues the prompt");
    struct tap_outcome by_gpt = tp("gpt sample --tokens 4 "
                                   "--model /tmp/tp-switch-run.safetensors");
    ok(by_gpt.status == 1 && strstr(by_gpt.output, "mlp is \"switch\""),
       "GPT's sampler refuses a Switch GPT, in one line");
    unlink("/tmp/tp-switch-run.safetensors");
    return done_testing();
}
