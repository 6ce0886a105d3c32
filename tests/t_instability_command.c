/* Generated from book/350-instability.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-instability-command: checks>> */
    static const char *const small = "--layers 2 --width 16 --heads 2 --context 16 "
                                     "--batch 2";
    char line[400];
    snprintf(line, sizeof line, "instability compare %s --steps 12 --warmup 3 "
             "--log-every 4 --only bare,all --tsv /tmp/tp-instability.tsv", small);
    struct tap_outcome compare = tp(line);
    ok(compare.status == 0 && strstr(compare.output, "# bare ")
           && strstr(compare.output, "# all ") && !strstr(compare.output, "# GPT-2")
           && access("/tmp/tp-instability.tsv", R_OK) == 0,
       "tp instability compare trains the recipes asked for and writes its table");
    snprintf(line, sizeof line, "instability grid %s --steps 4 --warmup 2 "
             "--rates 1e-3,1e-2 --only bare,pre-LN --tsv /tmp/tp-instability.tsv",
             small);
    struct tap_outcome grid = tp(line);
    ok(grid.status == 0 && strstr(grid.output, "# pre-LN           1e-02"),
       "tp instability grid trains each recipe at each rate");
    ok(strstr(grid.output, "; validation loss on 8 batches"),
       "by default a run is judged on eight batches of the validation text");
    ok(strstr(grid.output, "# peak learning rates 0.001, 0.01, warm-up 2")
           && !strstr(grid.output, "peak learning rate 0.01"),
       "its header names the rates of --rates, not the default of --lr");
    snprintf(line, sizeof line, "instability grid %s --steps 4 --warmup 2 "
             "--rates 1e-2 --only pre-LN+warm-up+scaled-init --seeds 2 --seed 5 "
             "--validation 3",
             small);
    struct tap_outcome seeds = tp(line);
    ok(strstr(seeds.output, "; validation loss on 3 batches"),
       "--validation sets the batches a verdict is judged on, and says so");
    ok(seeds.status == 0 && strstr(seeds.output, "1e-02     5 ")
           && strstr(seeds.output, "1e-02     6 ")
           && strstr(seeds.output, "of 2 seeds trained"),
       "with --seeds 2 it runs each recipe from two seeds, and counts them");
    snprintf(line, sizeof line, "instability gradients %s --steps 2", small);
    struct tap_outcome gradients = tp(line);
    ok(gradients.status == 0 && strstr(gradients.output, "pre-LN  step    2"),
       "tp instability gradients measures before and after the first steps");
    unlink("/tmp/tp-instability.tsv");
    /* <<t-instability-command: bad settings>> */
    struct tap_outcome longer = tp("instability compare --steps 10 --warmup 20");
    ok(longer.status == 1 && strstr(longer.output, "--warmup 20 is longer than "
                                                    "the run (10 steps)"),
       "a warm-up longer than the run is refused");
    struct tap_outcome clip = tp("instability compare --clip -1");
    ok(clip.status == 2 && strstr(clip.output, "--clip must be a number from 0"),
       "a negative clipping norm is refused");
    struct tap_outcome depth = tp("instability grid --layers 0");
    ok(depth.status == 2 && strstr(depth.output, "--layers must be an integer "
                                                  "from 1"),
       "depth 0 is refused");
    struct tap_outcome no_seeds = tp("instability grid --seeds 0");
    ok(no_seeds.status == 2 && strstr(no_seeds.output, "--seeds must be an "
                                                        "integer from 1"),
       "no seeds at all is refused");
    struct tap_outcome nothing = tp("instability compare --only nonsense");
    ok(nothing.status == 1 && strstr(nothing.output, "--only names no recipe"),
       "a list that names no recipe is refused");
    struct tap_outcome rates = tp("instability grid --rates 1e-3,two");
    ok(rates.status == 1 && strstr(rates.output, "--rates must be up to 8 "
                                                 "numbers"),
       "a rate that is not a number is refused");
    struct tap_outcome heads = tp("instability gradients --width 30 --heads 4");
    ok(heads.status == 1 && strstr(heads.output, "--heads 4 does not divide"),
       "heads that do not divide the width are refused");
    return done_testing();
}
