/* Generated from book/365-size.nw; edit the book, not this file. */
#include <string.h>

#include "command.h"

/* One line: no newline before the last character. */
static int one_line(const char *output)
{
    const char *newline = strchr(output, '\n');
    return output[0] != '\0' && (newline == NULL || newline[1] == '\0');
}

int main(void)
{
    find_program();
    /* <<t-size-command: checks>> */
    const char *base = "gpt train --steps 2 --batch 2 --context 32 --layers 1 "
                       "--heads 2 --width 16 --seed %d --out %s > /dev/null";
    char line[256];
    snprintf(line, sizeof line, base, 1, "/tmp/tp-size-base.safetensors");
    struct tap_outcome trained = tp(line);
    snprintf(line, sizeof line, base, 2, "/tmp/tp-size-other.safetensors");
    struct tap_outcome other = tp(line);
    ok(trained.status == 0 && other.status == 0, "two tiny bases trained");
    struct tap_outcome tuned = tp("size finetune --model "
                                  "/tmp/tp-size-base.safetensors --lora 2 --steps "
                                  "3 --out /tmp/tp-size-adapters.safetensors");
    struct stat s;
    ok(tuned.status == 0 && strstr(tuned.output, "LoRA r=2")
           && stat("/tmp/tp-size-adapters.safetensors", &s) == 0
           && s.st_size < 4096,
       "tp size finetune --lora 2 trains and saves adapters of under 4 kB");
    /* <<t-size-command: loading and refusing>> */
    struct tap_outcome back = tp("size finetune --model "
                                 "/tmp/tp-size-base.safetensors --adapters "
                                 "/tmp/tp-size-adapters.safetensors");
    ok(back.status == 0 && strstr(back.output, "attached")
           && strstr(back.output, "merged"),
       "the adapters load onto their base, attached and merged");
    struct tap_outcome wrong = tp("size finetune --model "
                                  "/tmp/tp-size-other.safetensors --adapters "
                                  "/tmp/tp-size-adapters.safetensors");
    ok(wrong.status == 1 && strstr(wrong.output, "adapters of the base"),
       "and refuse another base");
    struct tap_outcome wide = tp("size finetune --model "
                                 "/tmp/tp-size-base.safetensors --lora 17");
    struct tap_outcome zero = tp("size finetune --model "
                                 "/tmp/tp-size-base.safetensors --lora 0");
    struct tap_outcome both = tp("size finetune --model "
                                 "/tmp/tp-size-base.safetensors --lora 2 --full");
    ok(wide.status == 2 && strstr(wide.output, "more than the width 16")
           && zero.status == 2 && both.status == 2
           && strstr(both.output, "give one of") && one_line(wide.output)
           && one_line(zero.output) && one_line(both.output),
       "a rank above the width, a rank of 0 and two ways at once are refused,"
       " each with one line");
    /* <<t-size-command: pruning>> */
    struct tap_outcome one = tp("size prune --model "
                                "/tmp/tp-size-base.safetensors --sparsity 1");
    struct tap_outcome negative = tp("size prune --model "
                                     "/tmp/tp-size-base.safetensors --sparsity "
                                     "-0.5");
    ok(one.status == 2 && negative.status == 2
           && strstr(one.output, "outside [0, 1)") && one_line(one.output)
           && one_line(negative.output),
       "sparsities outside [0, 1) are refused, each with one line");
    struct tap_outcome pruned = tp("size prune --model "
                                   "/tmp/tp-size-base.safetensors --sparsity 0.75 "
                                   "--steps 2");
    ok(pruned.status == 0 && strstr(pruned.output, "2304 of 3072")
           && strstr(pruned.output, "after 2 steps"),
       "tp size prune zeroes 75%% of the projections and fine-tunes");
    struct tap_outcome four = tp("size qlora --model "
                                 "/tmp/tp-size-base.safetensors --lora 2 "
                                 "--steps 1");
    ok(four.status == 0 && strstr(four.output, "on a nf4  base"),
       "tp size qlora trains adapters on a 32-bit and on an NF4 base");
    unlink("/tmp/tp-size-base.safetensors");
    unlink("/tmp/tp-size-other.safetensors");
    unlink("/tmp/tp-size-adapters.safetensors");
    /* <<t-size-command: checks>> */
    struct tap_outcome share = tp("size share --steps 1 --width 8 --layers 2");
    long count[3] = {0};
    int k = 0;
    for (const char *at = share.output; at != NULL && k < 3;
         at = strchr(at, '\n') != NULL ? strchr(at, '\n') + 1 : NULL) {
        char name[16];
        int layers;
        k += sscanf(at, "%15s L=%d %ld", name, &layers, &count[k]) == 3;
    }
    ok(share.status == 0 && count[1] > 0 && count[1] == count[2]
           && count[0] > count[1],
       "tp size share: the shared model of 2 layers has the parameters of the "
       "unshared one of 1 (%ld), fewer than that of 2 (%ld)", count[1],
       count[0]);
    struct tap_outcome narrow = tp("size share --width 6");
    ok(narrow.status == 1 && strstr(narrow.output, "not a multiple of the 4 "
                                                   "heads")
           && one_line(narrow.output),
       "a width the heads do not divide is refused in one line");
    return done_testing();
}
