/* Generated from book/325-local-bias.nw; edit the book, not this file. */
#include "command.h"

static int lines(const char *text)
{
    int count = 0;
    for (; *text != '\0'; text++)
        count += *text == '\n';
    return count;
}

int main(void)
{
    find_program();
    /* <<t-localbias-command: checks>> */
    struct tap_outcome odd = tp("localbias compare --size 18");
    ok(odd.status == 1 && lines(odd.output) == 1
           && strstr(odd.output, "not cut into patches of 4"),
       "an image the patch does not divide: one line, exit 1");
    struct tap_outcome window = tp("localbias compare --window 3");
    ok(window.status == 1 && lines(window.output) == 1
           && strstr(window.output, "not cut into windows of 3"),
       "a grid the window does not divide: one line, exit 1");
    struct tap_outcome frame = tp("localbias waves --frame 5");
    ok(frame.status == 1 && lines(frame.output) == 1,
       "a frame that does not divide the waveform: one line, exit 1");
    /* <<t-localbias-command: checks>> */
    struct tap_outcome run = tp("localbias compare --steps 1 --size 8 --patch 4 "
                                "--window 1 --width 8 --tsv /tmp/tp-lb.tsv "
                                "--shuffle-tsv /tmp/tp-lb-shuffle.tsv");
    ok(run.status == 0 && strstr(run.output, "swin     3000")
           && strstr(run.output, "vit-no-positions")
           && access("/tmp/tp-lb.tsv", R_OK) == 0
           && access("/tmp/tp-lb-shuffle.tsv", R_OK) == 0,
       "tp localbias compare trains every model at every size and writes both "
       "tables");
    unlink("/tmp/tp-lb.tsv"), unlink("/tmp/tp-lb-shuffle.tsv");
    return done_testing();
}
