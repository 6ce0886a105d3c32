/* Generated from book/216-bert.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-bert-command: checks>> */
    struct tap_outcome pre = tp("bert pretrain --steps 4 --batch 4 --length 16 "
                                "--vocab 300 --layers 1 --heads 2 --width 16 "
                                "--eval-every 2 --out /tmp/tp-bert.safetensors");
    ok(pre.status == 0 && strstr(pre.output, "step 2: validation loss")
           && access("/tmp/tp-bert.vocab", R_OK) == 0,
       "tp bert pretrain validates and saves the model and its vocabulary");
    struct tap_outcome fill = tp("bert fill --model /tmp/tp-bert.safetensors "
                                 "--top 3 --attention /tmp/tp-bert.tsv "
                                 "'the [MASK] is [MASK] .'");
    ok(fill.status == 0 && strstr(fill.output, "[MASK] 2:")
           && access("/tmp/tp-bert.tsv", R_OK) == 0,
       "tp bert fill predicts every [MASK] and writes the attention");
    /* <<t-bert-command: fine-tuning and the errors of tp bert>> */
    struct tap_outcome tuned = tp("bert finetune --model /tmp/tp-bert.safetensors "
                                  "--examples 50 --steps 3 --batch 4");
    struct tap_outcome scratch = tp("bert finetune --scratch --length 16 "
                                    "--vocab 300 --layers 1 --heads 2 --width 16 "
                                    "--steps 3 --batch 4");
    ok(tuned.status == 0 && strstr(tuned.output, "50 training lines")
           && strstr(tuned.output, "after pre-training on 50 lines: test accuracy")
           && scratch.status == 0 && strstr(scratch.output, "from scratch"),
       "tp bert finetune from a pre-trained model and from scratch");
    struct tap_outcome no_mask = tp("bert fill --model /tmp/tp-bert.safetensors "
                                    "'nothing to guess'");
    ok(no_mask.status == 2 && strstr(no_mask.output, "no [MASK]"),
       "a text without [MASK] is refused");
    unlink("/tmp/tp-bert.vocab");
    struct tap_outcome no_vocab = tp("bert fill --model /tmp/tp-bert.safetensors "
                                     "'the [MASK]'");
    ok(no_vocab.status == 1 && strstr(no_vocab.output, "tp-bert.vocab"),
       "a model without its vocabulary says which file is missing");
    unlink("/tmp/tp-bert.safetensors");
    unlink("/tmp/tp-bert.vocab");
    unlink("/tmp/tp-bert.tsv");
    return done_testing();
}
