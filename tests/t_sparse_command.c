/* Generated from book/248-sparse.nw; edit the book, not this file. */
#include "command.h"

static bool one_line(const char *text)
{
    return strchr(text, '\n') == strrchr(text, '\n');
}

int main(void)
{
    find_program();
    /* <<t-sparse-command: compare, train and sample>> */
    struct tap_outcome compare = tp("sparse compare --min 256 --max 256 "
                                    "--tsv /tmp/tp-sparse-time.tsv");
    ok(compare.status == 0 && strstr(compare.output, "dns/str")
           && access("/tmp/tp-sparse-time.tsv", R_OK) == 0,
       "tp sparse compare times the three attentions and writes its table");
    unlink("/tmp/tp-sparse-time.tsv");
    struct tap_outcome train = tp("sparse train --steps 1 --batch 1 --width 8 "
                                  "--heads 2 --layers 1 --eval-images 1 "
                                  "--attention strided --save /tmp/tp-sparse");
    ok(train.status == 0 && strstr(train.output, "strided step     1")
           && access("/tmp/tp-sparse-strided.safetensors", R_OK) == 0,
       "tp sparse train trains one attention and saves it");
    struct tap_outcome sample = tp("sparse sample --load "
                                   "/tmp/tp-sparse-strided.safetensors --count 1");
    ok(sample.status == 0 && strchr(sample.output, '\n') != NULL,
       "tp sparse sample draws a picture from the saved model");
    struct tap_outcome maps = tp("sparse attention --load "
                                 "/tmp/tp-sparse-strided.safetensors --tsv "
                                 "/tmp/tp-sparse-attention.tsv");
    ok(maps.status == 0 && access("/tmp/tp-sparse-attention.tsv", R_OK) == 0,
       "tp sparse attention writes the saved model's weights for one pixel");
    unlink("/tmp/tp-sparse-attention.tsv");
    unlink("/tmp/tp-sparse-strided.safetensors");
    /* <<t-sparse-command: bad options>> */
    static const char *const bad[][2] = {
        {"sparse compare --stride 0", "--stride 0: a stride of 0"},
        {"sparse compare --min 256 --stride 300", "--stride 300: a stride of 300"},
        {"sparse train --heads 3", "--heads 3: the heads split in two halves"},
        {"sparse train --attention local", "--attention local: not dense"},
        {"sparse sample --load /nonexistent.st", "/nonexistent.st"},
    };
    for (int i = 0; i < 5; i++) {
        struct tap_outcome o = tp(bad[i][0]);
        ok(o.status == 1 && strstr(o.output, bad[i][1]) && one_line(o.output),
           "tp %s: a one-line error naming it", bad[i][0]);
    }
    return done_testing();
}
