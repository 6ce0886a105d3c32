/* Generated from book/256-performer.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    struct tap_outcome compare = tp("performer compare --draws 1 --max 256 "
                                    "--features 32 --error-tsv "
                                    "/tmp/tp-performer-error.tsv");
    ok(compare.status == 0 && strstr(compare.output, "speed-up")
           && strstr(compare.output, "  1.0   512")
           && access("/tmp/tp-performer-error.tsv", R_OK) == 0,
       "tp performer compare measures the error and the time, writes its table");
    unlink("/tmp/tp-performer-error.tsv");
    struct tap_outcome train = tp("performer train --steps 2 --eval-every 1 "
                                  "--context 32 --width 16 --layers 1 --heads 2");
    ok(train.status == 0 && strstr(train.output, "performer step     2")
           && strstr(train.output, "# validation after 2 steps"),
       "tp performer train trains with both attentions");
    struct tap_outcome bad = tp("performer compare --features 0");
    ok(bad.status != 0 && strstr(bad.output, "--features must be")
           && strchr(bad.output, '\n') == strrchr(bad.output, '\n'),
       "m not positive: a one-line error");
    return done_testing();
}
