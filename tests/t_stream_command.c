/* Generated from book/360-streaming.nw; edit the book, not this file. */
#include "command.h"
#include "program.h"

#define GPT "/tmp/tp-stream-gpt.safetensors"
#define XLM "/tmp/tp-stream-xl.safetensors"
#define TSV "/tmp/tp-stream-perplexity.tsv"
#define COST "/tmp/tp-stream-cost.tsv"
#define TINY "--context 16 --layers 1 --heads 2 --width 8 --batch 2 --steps 2"

/* <<t-stream-command: compare reads and writes>> */
static void compare_reads_and_writes(void)
{
    struct tap_outcome run = tp("stream compare --model " GPT " --xl " XLM
                                " --length 48 --streams 2 --tsv " TSV
                                " --cost-tsv " COST);
    const char *names[] = {"dense-cache", "window", "sinks+window",
                           "recompute-window", "xl"};
    bool all = run.status == 0;
    for (int i = 0; i < 5; i++)
        all = all && strstr(run.output, names[i]) != NULL;
    table t, c;
    tp_error error;
    ok(all && read_table(TSV, &t, &error) == 0
           && read_table(COST, &c, &error) == 0 && t.rows == 6
           && t.cols == 5 && c.rows == 6 && strstr(t.comments, "machine:")
           && strstr(c.comments, "machine:"),
       "tp stream compare reads two streams five ways and writes both "
       "tables, 6 rows of 8 positions, the machine in their header");
    ok(t.value[0][0] == t.value[0][1] && t.value[0][1] == t.value[0][2]
           && c.value[5][6] > c.value[0][6] && c.value[5][8] == c.value[1][8],
       "before any eviction the full cache, the window and the sinks agree; "
       "the full cache grows and the sinks' does not");
    unlink(TSV), unlink(COST);
}
/* <<t-stream-command: refusals>> */
static void refused(const char *options, const char *words)
{
    char line[512];
    snprintf(line, sizeof line, "stream compare --model " GPT " --length 48 "
             "--tsv " TSV " %s", options);
    struct tap_outcome r = tp(line);
    ok(r.status == 1 && strstr(r.output, words) != NULL
           && strchr(r.output, '\n') == strrchr(r.output, '\n')
           && access(TSV, F_OK) != 0,
       "%s: one line, exit 1, nothing written: %s", options, r.output);
}

static void refusals(void)
{
    refused("--window 0", "--window");
    refused("--window 16", "--sinks 4 and --window 16");
    refused("--sinks 17 --window 1", "--sinks 17");
    refused("--length 16", "--length 16");
    refused("--xl " XLM " --memory 49", "--memory 49");
    refused("--xl " GPT, "--xl");
    tp_gpt *learned = tp_gpt_new((tp_gpt_config){256, 16, 1, 1, 8,
                                                 TP_POSITIONS_LEARNED});
    tp_error error;
    tp_gpt_save(learned, "/tmp/tp-stream-learned.safetensors", NULL, 0, NULL,
                &error);
    tp_gpt_free(learned);
    struct tap_outcome r = tp("stream compare --model "
                              "/tmp/tp-stream-learned.safetensors --tsv " TSV);
    ok(r.status == 1 && strstr(r.output, "rotary")
           && strchr(r.output, '\n') == strrchr(r.output, '\n')
           && access(TSV, F_OK) != 0,
       "a GPT with learned positions: one line, exit 1, nothing written: %s",
       r.output);
    unlink("/tmp/tp-stream-learned.safetensors");
}

int main(void)
{
    find_program();
    struct tap_outcome gpt = tp("gpt train --positions rope " TINY
                                " --out " GPT);
    struct tap_outcome xl = tp("xl train --memory 16 " TINY " --out " XLM);
    if (gpt.status != 0 || xl.status != 0)
        bail_out("cannot train the tiny models: %s%s", gpt.output,
                 xl.output);
    compare_reads_and_writes();
    refusals();
    unlink(GPT), unlink(XLM);
    return done_testing();
}
