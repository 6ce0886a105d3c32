/* Generated from book/370-noise.nw; edit the book, not this file. */
#include "command.h"
#include "program.h"

int main(void)
{
    find_program();
    /* <<t-noise-command: checks>> */
    struct tap_outcome padding = tp("noise padding --batch 4");
    ok(padding.status == 0 && strstr(padding.output, "padding, in order: ")
           && strstr(padding.output, "padding, by length: "),
       "tp noise padding reports the padding in order and sorted");
    static const char *const bad[5][2] = {
        {"--keep 1.5", "--keep must be a share in (0, 1], not 1.5\n"},
        {"--keep -0.2", "--keep must be a share in (0, 1], not -0.2\n"},
        {"--keep half", "--keep must be a number, not 'half'\n"},
        {"--layer 4", "--layer must be 1 to 3 (pruning after a layer of a model "
                      "of 4), not 4\n"},
        {"--layer 0 --layers 2", "--layer must be 1 to 1 (pruning after a layer "
                                 "of a model of 2), not 0\n"}};
    for (int i = 0; i < 5; i++) {
        char line[256];
        snprintf(line, sizeof line, "noise compare %s", bad[i][0]);
        struct tap_outcome o = tp(line);
        ok(o.status == 2 && strstr(o.output, bad[i][1])
               && strchr(o.output, '\n') == strrchr(o.output, '\n'),
           "%s is refused in one line", bad[i][0]);
    }
    /* <<t-noise-command: the comparison>> */
    struct tap_outcome compare = tp("noise compare --steps 2 --lines 16 "
                                    "--rounds 1 --width 8 --heads 2 --layers 2 "
                                    "--layer 1 --batch 2 --rows 2 --tsv-prefix "
                                    "/tmp/tp-noise");
    static table t[4];
    static const char *const part[4] = {"padding", "packing", "mask", "pruning"};
    static const int rows[4] = {6, 2, 2, 4};
    bool written = compare.status == 0;
    for (int i = 0; i < 4; i++) {
        char path[64];
        tp_error error;
        snprintf(path, sizeof path, "/tmp/tp-noise-%s.tsv", part[i]);
        written = written && read_table(path, &t[i], &error) == 0
                  && t[i].rows == rows[i];
        unlink(path);
    }
    ok(written && strcmp(t[1].label[0], "padded") == 0
           && t[1].value[0][0] == t[1].value[1][0],
       "tp noise compare writes its four tables; padded and packed read the "
       "same tokens");struct tap_outcome gating = tp("noise gating --steps 2 --width 8 --heads 2 "
                                   "--layers 1 --length 8 --seeds 1 --tsv "
                                   "/tmp/tp-noise-gating.tsv");
    tp_error error;
    static table g;
    ok(gating.status == 0
           && read_table("/tmp/tp-noise-gating.tsv", &g, &error) == 0
           && g.rows == 3 && g.value[2][0] == 0.5 && g.value[2][1] == 4,
       "tp noise gating writes its three rows; half of 7 positions is 4 noise "
       "words");
    unlink("/tmp/tp-noise-gating.tsv");
    struct tap_outcome heads = tp("noise gating --heads 3 --width 8");
    ok(heads.status == 2 && strstr(heads.output, "--heads 3 must divide "
                                   "--width 8\n")
           && strchr(heads.output, '\n') == strrchr(heads.output, '\n'),
       "tp noise gating refuses heads that do not divide the width, in one "
       "line");
    return done_testing();
}
