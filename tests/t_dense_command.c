/* Generated from book/380-dense-inputs.nw; edit the book, not this file. */
#include "command.h"
#include "program.h"

int main(void)
{
    find_program();
    /* <<t-dense-command: refusals>> */
    static const char *const bad[4][2] = {
        {"dense video --frames 1", "--frames 1: one frame cannot show a motion"},
        {"dense video --frames 4 --depth 3", "--depth 3 does not divide --frames 4"},
        {"dense video --size 30 --patch 4", "--patch 4 does not divide --size 30"},
        {"dense cost --size 30 --patch 4", "--patch 4 does not divide --size 30"}};
    for (int i = 0; i < 4; i++) {
        struct tap_outcome o = tp(bad[i][0]);
        ok(o.status == 2 && strstr(o.output, bad[i][1])
               && strchr(o.output, '\n') == strrchr(o.output, '\n'),
           "tp %s: one line, %s", bad[i][0], bad[i][1]);
    }
    /* <<t-dense-command: small runs>> */
    struct tap_outcome cost = tp("dense cost --largest 32 --longest 2 --layers 1 "
                                 "--width 8 --heads 2 --runs 1 --tsv "
                                 "/tmp/tp-dense-cost.tsv");
    static table t;
    tp_error error;
    bool read = cost.status == 0
                && read_table("/tmp/tp-dense-cost.tsv", &t, &error) == 0;
    ok(read && t.rows == 5 && strcmp(t.label[4], "video-t2") == 0
           && t.value[3][4] == 128 && t.value[4][4] == 64,
       "tp dense cost: three image rows and two clip rows; 2 frames of 64 "
       "patches are 128 tokens, 64 in tubelets of 2 frames");
    unlink("/tmp/tp-dense-cost.tsv");
    struct tap_outcome stages = tp("dense stages --size 16 --patch 2 --stages 2 "
                                   "--blocks 1 --width 8 --heads 2 --runs 1");
    ok(stages.status == 0 && strstr(stages.output, "stage1       16     16")
           && strstr(stages.output, "vit"),
       "tp dense stages: the second stage has 16 tokens of width 16");
    struct tap_outcome video = tp("dense video --steps 2 --batch 4 --width 8 "
                                  "--heads 2 --layers 1 --eval-every 2");
    ok(video.status == 0 && strstr(video.output, "tubelets, step 2: test")
           && strstr(video.output, "one-frame, step 2: test"),
       "tp dense video trains both models and tests them");
    return done_testing();
}
