/* Generated from book/320-decoding.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-decoding-command: checks>> */
    struct tap_outcome target = tp("gpt train --steps 3 --batch 2 --context 48 "
                                   "--layers 2 --heads 2 --width 16 --out "
                                   "/tmp/tp-decoding-target.safetensors");
    struct tap_outcome draft = tp("gpt train --steps 3 --batch 2 --context 48 "
                                  "--layers 1 --heads 2 --width 8 --out "
                                  "/tmp/tp-decoding-draft.safetensors");
    ok(target.status == 0 && draft.status == 0, "a target and a draft train");
    struct tap_outcome plain = tp("gpt sample --model "
                                  "/tmp/tp-decoding-target.safetensors --prompt "
                                  "abc --tokens 30 --temperature 0");
    struct tap_outcome fast = tp("decoding speculative --target "
                                 "/tmp/tp-decoding-target.safetensors --draft "
                                 "/tmp/tp-decoding-draft.safetensors --prompt abc "
                                 "--tokens 30 --k 3");
    ok(plain.status == 0 && fast.status == 0
           && strstr(fast.output, plain.output) != NULL
           && strstr(fast.output, "proposals kept"),
       "tp decoding speculative writes what tp gpt sample writes at temperature 0");
    /* <<t-decoding-command: bad input>> */
    tp_gpt *other = tp_gpt_new((tp_gpt_config){100, 48, 1, 2, 8,
                                               TP_POSITIONS_LEARNED});
    tp_error error;
    tp_gpt *rotary = tp_gpt_new((tp_gpt_config){256, 48, 1, 2, 8,
                                                TP_POSITIONS_ROPE});
    tp_gpt_save(rotary, "/tmp/tp-decoding-rope.safetensors", NULL, 0, NULL,
                &error);
    tp_gpt_free(rotary);
    struct tap_outcome rope = tp("decoding speculative --target "
                                 "/tmp/tp-decoding-rope.safetensors --draft "
                                 "/tmp/tp-decoding-draft.safetensors");
    ok(rope.status == 1 && strstr(rope.output, "only with learned positions"),
       "a model with other positions is refused, not read wrongly");
    unlink("/tmp/tp-decoding-rope.safetensors");
    tp_gpt_save(other, "/tmp/tp-decoding-other.safetensors", NULL, 0, NULL,
                &error);
    tp_gpt_free(other);
    struct tap_outcome vocab = tp("decoding speculative --target "
                                  "/tmp/tp-decoding-target.safetensors --draft "
                                  "/tmp/tp-decoding-other.safetensors");
    ok(vocab.status == 1
           && strstr(vocab.output, "the draft /tmp/tp-decoding-other.safetensors "
                     "has 100 tokens but the target "
                     "/tmp/tp-decoding-target.safetensors has 256"),
       "a draft of another vocabulary is refused, naming both files");
    struct tap_outcome zero = tp("decoding speculative --draft x --k 0");
    ok(zero.status == 2 && strstr(zero.output, "--k must be an integer from 1"),
       "k = 0 is refused, naming the option");
    struct tap_outcome none = tp("decoding speculative");
    ok(none.status == 2 && strstr(none.output, "--draft names the draft model"),
       "a missing draft is refused");
    unlink("/tmp/tp-decoding-other.safetensors");
    /* <<t-decoding-command: the comparison>> */
    struct tap_outcome compare = tp("decoding compare --target "
                                    "/tmp/tp-decoding-target.safetensors --tokens "
                                    "24 --rounds 1 --threads 1 --tsv "
                                    "/tmp/tp-decoding.tsv "
                                    "/tmp/tp-decoding-draft.safetensors");
    ok(compare.status == 0 && strstr(compare.output, "nocache")
           && strstr(compare.output, "k 8") && !strstr(compare.output, "differs")
           && access("/tmp/tp-decoding.tsv", R_OK) == 0,
       "tp decoding compare measures, finds every greedy output identical, and "
       "writes its table");
    unlink("/tmp/tp-decoding.tsv");
    unlink("/tmp/tp-decoding-target.safetensors");
    unlink("/tmp/tp-decoding-draft.safetensors");
    return done_testing();
}
