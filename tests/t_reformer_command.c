/* Generated from book/264-reformer.nw; edit the book, not this file. */
#include "command.h"

static bool one_line(const struct tap_outcome *o, const char *text)
{
    return o->status != 0 && strstr(o->output, text) != NULL
           && strchr(o->output, '\n') == strrchr(o->output, '\n');
}

int main(void)
{
    find_program();
    struct tap_outcome memory = tp("reformer memory --max-layers 2 --context 16 "
                                   "--width 8 --heads 2 --runs 1 --tsv "
                                   "/tmp/tp-reformer-memory.tsv");
    ok(memory.status == 0 && strstr(memory.output, "the peak grew")
           && access("/tmp/tp-reformer-memory.tsv", R_OK) == 0,
       "tp reformer memory measures every stack and writes its table");
    unlink("/tmp/tp-reformer-memory.tsv");
    struct tap_outcome lsh = tp("reformer lsh --max 256 --runs 1 --chunk 32 "
                                "--recall-length 128");
    ok(lsh.status == 0 && strstr(lsh.output, "clustered      8"),
       "tp reformer lsh times both attentions and measures the recall");
    struct tap_outcome odd = tp("reformer memory --width 7");
    ok(one_line(&odd, "--width must be even"), "an odd width: one line");
    struct tap_outcome six = tp("reformer lsh --buckets 6");
    ok(one_line(&six, "--buckets must be a power of two"),
       "6 buckets: one line");
    struct tap_outcome none = tp("reformer lsh --rounds 0");
    ok(one_line(&none, "--rounds must be"), "no rounds: one line");
    /* <<t-reformer-command: training>> */
    struct tap_outcome train = tp("reformer train --steps 2 --eval-every 1 "
                                  "--context 16 --width 32 --layers 1 --heads 2 "
                                  "--buckets 2 --chunk 4 --ff-chunks 2 --tsv "
                                  "/tmp/tp-reformer-train.tsv --cost-tsv "
                                  "/tmp/tp-reformer-cost.tsv");
    ok(train.status == 0 && strstr(train.output, "reformer  step     2")
           && strstr(train.output, "# validation after 2 steps: GPT")
           && access("/tmp/tp-reformer-train.tsv", R_OK) == 0
           && access("/tmp/tp-reformer-cost.tsv", R_OK) == 0,
       "tp reformer train trains GPT and the Reformer and writes both tables");
    unlink("/tmp/tp-reformer-train.tsv"), unlink("/tmp/tp-reformer-cost.tsv");
    struct tap_outcome buckets = tp("reformer train --buckets 6");
    ok(one_line(&buckets, "--buckets must be a power of two"),
       "train with 6 buckets: one line");
    struct tap_outcome rounds = tp("reformer train --rounds 0");
    ok(one_line(&rounds, "--rounds must be"), "train with no rounds: one line");
    struct tap_outcome odd_width = tp("reformer train --width 9");
    ok(one_line(&odd_width, "--width must be even"),
       "train with an odd width: one line");
    struct tap_outcome heads = tp("reformer train --width 20 --heads 4");
    ok(one_line(&heads, "--heads must divide --width / 2"),
       "train with heads that do not divide a half: one line");
    return done_testing();
}
