/* Generated from book/232-vit.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-vit-command: checks>> */
    struct tap_outcome uneven = tp("vit train --steps 1 --patch 3 --width 8 "
                                   "--heads 2 --layers 1 --out /tmp/tp-vit3.safetensors");
    ok(uneven.status == 2 && strstr(uneven.output, "--patch 3 divide images of 16"),
       "a patch that does not divide the image is refused");
    struct tap_outcome vit = tp("vit train --steps 4 --batch 4 --layers 1 "
                                "--heads 2 --width 8 --eval-every 2 "
                                "--out /tmp/tp-vit.safetensors");
    struct tap_outcome eval = tp("vit eval --model /tmp/tp-vit.safetensors "
                                 "--attention /tmp/tp-vit.tsv");
    ok(vit.status == 0 && strstr(vit.output, "step 2: test accuracy")
           && eval.status == 0 && strstr(eval.output, "test accuracy on shapes")
           && access("/tmp/tp-vit.tsv", R_OK) == 0,
       "tp vit train and tp vit eval on the shapes");
    /* <<t-command: a digits file in sklearn's format>> */
    FILE *csv = popen("gzip -c > /tmp/tp-digits.csv.gz", "w");
    for (int i = 0; csv != NULL && i < 1797; i++) {
        for (int j = 0; j < 64; j++)
            fprintf(csv, "%d.0,", (i * 7 + j * 3) % 17);
        fprintf(csv, "%d.0\n", i % 10);
    }
    bool written = csv != NULL && pclose(csv) == 0;
    struct tap_outcome digits = tp("vit train --data digits --digits "
                                   "/tmp/tp-digits.csv.gz --steps 2 --width 8 "
                                   "--layers 1 --out /tmp/tp-vit.safetensors");
    ok(written && digits.status == 0
           && strstr(digits.output, "16 patches of 4 pixels")
           && strstr(digits.output, "of 359)"),
       "a digits file trains on 16 patches of 2x2, tested on 359 images");
    unlink("/tmp/tp-digits.csv.gz");
    struct tap_outcome no_digits = tp("vit train --data digits --digits /nonexistent");
    ok(no_digits.status == 1 && strstr(no_digits.output, "apt-get install python3-sklearn"),
       "without the digits, tp vit train --data digits says where to get them");
    unlink("/tmp/tp-vit.safetensors");
    unlink("/tmp/tp-vit.tsv");
    return done_testing();
}
