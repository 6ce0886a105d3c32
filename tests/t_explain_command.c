/* Generated from book/375-interpretability.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-explain-command: a small run>> */
    struct tap_outcome run = tp("explain induction --vocab 8 --length 8 "
                                "--min-period 2 --max-period 4 --width 8 "
                                "--steps 20 --batch 2 "
                                "--tsv /tmp/tp-explain.tsv "
                                "--save /tmp/tp-explain.safetensors");
    ok(run.status == 0 && strstr(run.output, "L1.H1")
           && strstr(run.output, "ablating the previous-token head")
           && access("/tmp/tp-explain.tsv", R_OK) == 0,
       "tp explain induction trains, scores, ablates and patches every head");
    const char *uses[3] = {"patch --layer 1 --head 1", "saliency --steps 4",
                           "rollout"};
    for (int i = 0; i < 3; i++) {
        char line[256];
        snprintf(line, sizeof line, "explain %s --model "
                 "/tmp/tp-explain.safetensors", uses[i]);
        struct tap_outcome use = tp(line);
        ok(use.status == 0, "tp explain %s explains the saved model", uses[i]);
    }
    /* <<t-explain-command: a small run>> */
    struct tap_outcome book = tp("gpt train --steps 2 --layers 1 --width 8 "
                                 "--heads 1 --context 8 --batch 1 --save-every 0 "
                                 "--out /tmp/tp-explain-book.safetensors");
    struct tap_outcome probe = tp("explain probe --model "
                                  "/tmp/tp-explain-book.safetensors --windows 6 "
                                  "--property paren");
    ok(book.status == 0 && probe.status == 0 && strstr(probe.output, "paren")
           && strstr(probe.output, "selectivity"),
       "tp explain probe probes every layer for a property, with its control");
    /* <<t-explain-command: a small run>> */
    struct tap_outcome vit = tp("vit train --steps 2 --layers 1 --heads 2 "
                                "--width 8 --batch 4 --eval-every 2 "
                                "--out /tmp/tp-explain-vit.safetensors");
    struct tap_outcome vit_rollout = tp("explain vit --model "
                                        "/tmp/tp-explain-vit.safetensors "
                                        "--images 8 --tsv /tmp/tp-explain.tsv");
    ok(vit.status == 0 && vit_rollout.status == 0
           && strstr(vit_rollout.output, "patches on the shape")
           && access("/tmp/tp-explain.tsv", R_OK) == 0,
       "tp explain vit measures the rollout's share on the shapes");
    struct tap_outcome bert = tp("bert finetune --scratch --steps 2 --layers 1 "
                                 "--heads 2 --width 8 --vocab 64 --length 16 "
                                 "--batch 4 --out "
                                 "/tmp/tp-explain-bert.safetensors");
    struct tap_outcome bert_rollout = tp("explain bert --model "
                                         "/tmp/tp-explain-bert.safetensors "
                                         "--lines 20 --min-count 1");
    ok(bert.status == 0 && bert_rollout.status == 0
           && strstr(bert_rollout.output, "20 held-out lines")
           && strstr(bert_rollout.output, "code lines: the words"),
       "tp explain bert ranks the words of held-out lines by their rollout");
    /* <<t-explain-command: bad settings>> */
    static const char *const bad[][2] = {
        {"explain vit --model /tmp/tp-explain-bert.safetensors",
         "tp explain vit: "},
        {"explain vit", "--model is required"},
        {"explain bert --model /tmp/tp-explain-vit.safetensors",
         "tp explain bert: "},
        {"explain bert", "--model is required"},
        {"explain probe --model /tmp/tp-explain-book.safetensors --property x",
         "--property x: code, paren or position"},
        {"explain probe --model /tmp/tp-explain.safetensors",
         "not the 256 bytes of the book"},
        {"explain patch --model /tmp/tp-explain.safetensors --layer 2",
         "--layer is past the model's last layer"},
        {"explain patch --model /tmp/tp-explain.safetensors --head 2",
         "--head is past the layer's last head"},
        {"explain saliency --model /tmp/tp-explain.safetensors --text hello",
         "a model of 256 tokens"},
        {"explain rollout --model /tmp/tp-explain.tsv", "tp explain rollout: "},
        {"explain rollout", "--model is required"},
        {"explain induction --width 9 --heads 2", "--heads must divide --width"},
        {"explain induction --length 8 --min-period 2 --max-period 5",
         "--max-period is above --length / 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tap_outcome r = tp(bad[i][0]);
        ok(r.status == 1 && strstr(r.output, bad[i][1])
               && strchr(r.output, '\n') == strrchr(r.output, '\n'),
           "tp %s: refused in one line", bad[i][0]);
    }
    unlink("/tmp/tp-explain.safetensors");
    unlink("/tmp/tp-explain-book.safetensors");
    unlink("/tmp/tp-explain-vit.safetensors");
    unlink("/tmp/tp-explain-bert.safetensors");
    unlink("/tmp/tp-explain-bert.vocab");
    unlink("/tmp/tp-explain.tsv");
    return done_testing();
}
