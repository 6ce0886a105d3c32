/* Generated from book/340-compute.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-compute-command: checks>> */
    struct tap_outcome flops = tp("compute flops --steps 1 --width 64 --layers 1 "
                                  "--tsv /tmp/tp-compute-flops.tsv");
    ok(flops.status == 0 && strstr(flops.output, "training")
           && strstr(flops.output, "GPT-3: 6 N D")
           && access("/tmp/tp-compute-flops.tsv", R_OK) == 0,
       "tp compute flops counts, times, prices GPT-3 and writes its table");
    struct tap_outcome bench = tp("bench quant --width 64 --layers 1 --tokens 2 "
                                  "--rounds 1 --threads 2 "
                                  "--tsv /tmp/tp-bench-quant.tsv");
    ok(bench.status == 0 && strstr(bench.output, "int4   2 thread(s)")
           && access("/tmp/tp-bench-quant.tsv", R_OK) == 0,
       "tp bench quant decodes in three schemes on one thread and two");
    struct tap_outcome fusion = tp("compute fusion --width 64 --layers 1 "
                                   "--tokens 2 --rounds 1 --threads 2 "
                                   "--tsv /tmp/tp-compute-fusion.tsv");
    struct tap_outcome odd = tp("compute fusion --width 96");
    ok(fusion.status == 0 && strstr(fusion.output, "int8   2 thread(s)")
           && strstr(fusion.output, "fused/unfused")
           && access("/tmp/tp-compute-fusion.tsv", R_OK) == 0
           && odd.status == 1 && strstr(odd.output, "multiple of 64"),
       "tp compute fusion decodes unfused and fused on one thread and two; a "
       "width not a multiple of 64 is refused in one line");
    unlink("/tmp/tp-compute-flops.tsv");
    unlink("/tmp/tp-bench-quant.tsv");
    unlink("/tmp/tp-compute-fusion.tsv");
    /* <<t-compute-command: checks>> */
    struct tap_outcome trained = tp("gpt train --steps 2 --batch 2 --context 16 "
                                    "--layers 1 --heads 1 --width 32 --out "
                                    "/tmp/tp-compute.safetensors");
    struct tap_outcome q8 = tp("gpt quantise /tmp/tp-compute.safetensors "
                               "/tmp/tp-compute-int8.safetensors");
    struct tap_outcome q4 = tp("gpt quantise --scheme int4 "
                               "/tmp/tp-compute.safetensors "
                               "/tmp/tp-compute-int4.safetensors");
    ok(trained.status == 0 && q8.status == 0 && q4.status == 0
           && strstr(q4.output, "int4; decoding reads"),
       "tp gpt quantise writes int8 and int4 checkpoints");
    struct tap_outcome sampled = tp("gpt sample --model /tmp/tp-compute.safetensors"
                                    " --quant int4 --tokens 5 --prompt ab");
    ok(sampled.status == 0 && strncmp(sampled.output, "ab", 2) == 0,
       "tp gpt sample --quant int4 writes");
    struct tap_outcome loss = tp("compute loss --model /tmp/tp-compute.safetensors"
                                 " --windows 2 /tmp/tp-compute-int4.safetensors");
    ok(loss.status == 0 && strstr(loss.output, "int8  validation loss")
           && strstr(loss.output, "int4  validation loss")
           && strstr(loss.output, "int4.safetensors validation loss"),
       "tp compute loss measures the three schemes and a quantised file");
    /* <<t-compute-command: checks>> */
    struct tap_outcome two = tp("gpt train --steps 1 --batch 2 --context 16 "
                                "--layers 2 --heads 1 --width 32 --out "
                                "/tmp/tp-frontier-2.safetensors");
    struct tap_outcome front = tp("compute frontier --windows 2 --tsv "
                                  "/tmp/tp-frontier.tsv "
                                  "/tmp/tp-compute.safetensors "
                                  "/tmp/tp-frontier-2.safetensors");
    ok(two.status == 0 && front.status == 0
           && strstr(front.output, "tp-compute.safetensors")
           && strstr(front.output, "frontier-2.safetensors")
           && strstr(front.output, " *\n")
           && access("/tmp/tp-frontier.tsv", R_OK) == 0,
       "tp compute frontier measures each model, marks the frontier and "
       "writes its table");
    /* <<t-compute-command: checks>> */
    unlink("/tmp/tp-frontier.tsv");
    struct tap_outcome unread = tp("compute frontier --tsv /tmp/tp-frontier.tsv "
                                   "/tmp/tp-frontier-none.safetensors "
                                   "/tmp/tp-frontier-2.safetensors");
    struct tap_outcome none = tp("compute frontier");
    ok(unread.status == 1 && strstr(unread.output, "frontier-none")
           && strchr(unread.output, '\n') == strrchr(unread.output, '\n')
           && access("/tmp/tp-frontier.tsv", F_OK) != 0
           && none.status == 1 && strstr(none.output, "name the GPT"),
       "tp compute frontier refuses a missing model and no model in one line, "
       "and writes no table");
    unlink("/tmp/tp-frontier-2.safetensors");
    /* <<t-compute-command: checks>> */
    struct tap_outcome scheme = tp("gpt quantise --scheme int3 "
                                   "/tmp/tp-compute.safetensors /tmp/x");
    struct tap_outcome missing = tp("gpt quantise /tmp/tp-compute.safetensors");
    struct tap_outcome quant = tp("gpt sample --model /tmp/tp-compute.safetensors"
                                  " --quant fp16");
    struct tap_outcome not_gpt = tp("compute loss --model "
                                    "/tmp/tp-compute-int8.safetensors");
    ok(scheme.status == 1 && strstr(scheme.output, "unknown quantisation")
           && missing.status == 1 && quant.status == 1
           && strstr(quant.output, "\"fp16\"") && not_gpt.status == 1,
       "a bad scheme, a missing operand, a quantised file where a GPT is "
       "wanted: one-line errors");
    unlink("/tmp/tp-compute.safetensors");
    unlink("/tmp/tp-compute-int8.safetensors");
    unlink("/tmp/tp-compute-int4.safetensors");
    return done_testing();
}
