/* Generated from book/280-switch.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    struct tap_outcome compare = tp("switch compare --steps 2 --eval-every 1 "
                                    "--layers 1 --width 16 --heads 2 "
                                    "--context 16 --batch 2 "
                                    "--more-experts 2 --wide-width 24 "
                                    "--tsv /tmp/tp-switch-compare.tsv");
    ok(compare.status == 0 && strstr(compare.output, "dense\t2\t")
           && strstr(compare.output, "switch\t2\t")
           && strstr(compare.output, "switch-2\t2\t")
           && strstr(compare.output, "dense-wide\t2\t")
           && strstr(compare.output, "# load of layer 0:")
           && access("/tmp/tp-switch-compare.tsv", R_OK) == 0,
       "tp switch compare trains the four models, reports the load and "
       "writes its table");
    unlink("/tmp/tp-switch-compare.tsv");
    struct tap_outcome zero = tp("switch compare --capacity 0");
    ok(zero.status == 2 && strstr(zero.output, "--capacity"),
       "a capacity factor of 0 is refused");
    struct tap_outcome odd = tp("switch compare --heads 4 --wide-width 30");
    ok(odd.status == 2 && strstr(odd.output, "--wide-width"),
       "a wide width the heads do not divide is refused");
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
           && sampled.length == 2 + 20 + 1,
       "tp switch sample continues the prompt");
    struct tap_outcome by_gpt = tp("gpt sample --tokens 4 "
                                   "--model /tmp/tp-switch-run.safetensors");
    ok(by_gpt.status == 1 && strstr(by_gpt.output, "mlp is \"switch\""),
       "GPT's sampler refuses a Switch GPT, in one line");
    unlink("/tmp/tp-switch-run.safetensors");
    /* <<t-switch-command: the load>> */
    struct tap_outcome load = tp("switch load --steps 2 --eval-every 1 "
                                 "--layers 1 --width 16 --heads 2 --context 16 "
                                 "--batch 2 --tsv /tmp/tp-switch-load.tsv "
                                 "--capacity-tsv /tmp/tp-switch-capacity.tsv");
    char tables[2][8192] = {"", ""};
    const char *paths[2] = {"/tmp/tp-switch-load.tsv",
                            "/tmp/tp-switch-capacity.tsv"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(paths[i], "r");
        if (f != NULL) {
            size_t n = fread(tables[i], 1, sizeof tables[i] - 1, f);
            tables[i][n] = '\0';
            fclose(f);
        }
        unlink(paths[i]);
    }
    ok(load.status == 0 && strstr(tables[0], "\nbalanced\t2\t")
           && strstr(tables[0], "\nunbalanced\t2\t")
           && strstr(tables[1], "\nbalanced\t0.50\t")
           && strstr(tables[1], "\nunbalanced\t3.00\t"),
       "tp switch load trains with and without the balancing loss and writes "
       "both tables");
    return done_testing();
}
