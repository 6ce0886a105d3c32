/* Generated from book/224-gpt.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-gpt-command: checks>> */
    struct tap_outcome no_curve = tp("gpt train --steps 1 --batch 1 --context 8 "
                                     "--layers 1 --heads 1 --width 8 --out "
                                     "/tmp/tp-gpt-curve.safetensors --curve "
                                     "/nonexistent/tp/curve.tsv");
    ok(no_curve.status == 1 && strstr(no_curve.output, "cannot write")
           && access("/tmp/tp-gpt-curve.safetensors", F_OK) != 0,
       "a learning curve that cannot be written is refused before training");
    struct tap_outcome gpt = tp("gpt train --steps 4 --batch 2 --context 16 "
                                "--layers 1 --heads 2 --width 16 --eval-every 2 "
                                "--out /tmp/tp-gpt-command.safetensors");
    ok(gpt.status == 0 && strstr(gpt.output, "step 2: validation loss")
           && strstr(gpt.output, "unigram baseline"),
       "tp gpt train reports validation losses and the unigram baseline");
    struct tap_outcome s1 = tp("gpt sample --model /tmp/tp-gpt-command.safetensors "
                               "--prompt abc --tokens 8 --seed 5");
    struct tap_outcome s2 = tp("gpt sample --model /tmp/tp-gpt-command.safetensors "
                               "--prompt abc --tokens 8 --seed 5");
    ok(s1.status == 0 && strncmp(s1.output, "abc", 3) == 0
           && strcmp(s1.output, s2.output) == 0,
       "tp gpt sample continues the prompt, the same way for the same seed");
    struct tap_outcome full = tp("gpt sample --model /tmp/tp-gpt-command.safetensors "
                                 "--prompt abc --tokens 100");
    ok(full.status == 0 && strstr(full.output, "stopped after 13 of 100 tokens"),
       "tp gpt sample says when it stops at the model's last position");
    struct tap_outcome hot = tp("gpt sample --model /tmp/tp-gpt-command.safetensors "
                                "--temperature -1");
    ok(hot.status == 2 && strstr(hot.output, "--temperature must be a number "
                                             "from 0 to 100"),
       "a negative temperature is refused");
    struct tap_outcome wider = tp("gpt train --steps 5 --resume "
                                  "/tmp/tp-gpt-command.safetensors --width 32 "
                                  "--out /tmp/tp-gpt-command.safetensors");
    ok(wider.status == 1 && strstr(wider.output, "--width 32, but the run in")
           && strstr(wider.output, "has 16"),
       "a shape option that disagrees with the resumed run is refused");
    struct tap_outcome longer = tp("gpt train --steps 5 --resume "
                                   "/tmp/tp-gpt-command.safetensors --context 32 "
                                   "--out /tmp/tp-gpt-command.safetensors");
    ok(longer.status == 1 && strstr(longer.output, "has 16 positions"),
       "a resumed run cannot take a context longer than its positions");
    struct tap_outcome resumed = tp("gpt train --steps 5 --batch 2 --resume "
                                    "/tmp/tp-gpt-command.safetensors --out "
                                    "/tmp/tp-gpt-command.safetensors");
    ok(resumed.status == 0 && strstr(resumed.output, "done at step 5"),
       "resumed without --context, a run takes its model's positions");
    /* <<t-gpt-command: nothing lost>> */
    unlink("/tmp/tp-gpt-periodic.safetensors");
    struct tap_outcome killed = tp("gpt train --steps 100000 --batch 1 "
                                   "--context 8 --layers 1 --heads 1 --width 8 "
                                   "--eval-every 100000 --save-every 3 --out "
                                   "/tmp/tp-gpt-periodic.safetensors & "
                                   "until [ -e /tmp/tp-gpt-periodic.safetensors ]"
                                   "; do sleep 0.1; done; kill -KILL $!; "
                                   "wait $!");
    tp_metadata saved = {0};
    tp_error error;
    tp_gpt *periodic = tp_gpt_load("/tmp/tp-gpt-periodic.safetensors", &saved,
                                   &error);
    const char *steps = tp_metadata_get(&saved, "optimizer.steps");
    ok(killed.signal == 0 && killed.status != 0 && periodic != NULL
           && steps != NULL && atol(steps) > 0 && atol(steps) % 3 == 0,
       "a run killed with kill -9 leaves its last periodic save, whole");
    if (periodic != NULL)
        tp_gpt_free(periodic);
    unlink("/tmp/tp-gpt-periodic.safetensors");
    if (system("rm -rf /tmp/tp-gpt-gone && mkdir /tmp/tp-gpt-gone") != 0)
        diag("could not make /tmp/tp-gpt-gone");
    struct tap_outcome gone = tp("gpt train --steps 100000 --batch 1 --context 8 "
                                 "--layers 1 --heads 1 --width 8 --eval-every "
                                 "100000 --save-every 3 --out "
                                 "/tmp/tp-gpt-gone/m.safetensors & until [ -e "
                                 "/tmp/tp-gpt-gone/m.safetensors ]; do sleep 0.1;"
                                 " done; until rm -rf /tmp/tp-gpt-gone "
                                 "2>/dev/null; do :; done; kill -TERM $!; "
                                 "wait $!");
    const char *kept = strstr(gone.output, "the run is kept in ");
    char rescue[256] = "";
    if (kept != NULL)
        sscanf(kept + strlen("the run is kept in "), "%255s", rescue);
    tp_gpt *rescued = rescue[0] ? tp_gpt_load(rescue, NULL, &error) : NULL;
    ok(gone.status == 1 && rescued != NULL,
       "a run whose final save fails is kept elsewhere, and the message says "
       "where");
    if (rescued != NULL)
        tp_gpt_free(rescued);
    if (rescue[0])
        unlink(rescue);
    /* <<t-gpt-command: gpt attention writes rows of weights>> */
    struct tap_outcome maps = tp("gpt attention --model "
                                 "/tmp/tp-gpt-command.safetensors --prompt abcd "
                                 "--tsv /tmp/tp-gpt-attention.tsv");
    FILE *table = fopen("/tmp/tp-gpt-attention.tsv", "r");
    int rows = 0, distributions = 0;
    char row[512];
    while (table != NULL && fgets(row, sizeof row, table) != NULL) {
        int layer, head, query, used;
        if (sscanf(row, "%d.%d.%d%n", &layer, &head, &query, &used) != 3)
            continue;
        double w[4] = {0}, total = 0;
        char *cursor = row + used;
        for (int j = 0; j < 4; j++)
            total += w[j] = strtod(cursor, &cursor);
        rows++;
        distributions += fabs(total - 1) < 1e-4 && (query == 3 || w[3] == 0);
    }
    ok(maps.status == 0 && rows == 8 && distributions == 8,
       "tp gpt attention writes 8 rows, each a causal distribution (%d, %d)",
       rows, distributions);
    if (table != NULL)
        fclose(table);
    unlink("/tmp/tp-gpt-attention.tsv");
    unlink("/tmp/tp-gpt-command.safetensors");
    /* <<t-gpt-command: checks>> */
    struct tap_outcome grouped = tp("gpt train --steps 2 --batch 1 --context 8 "
                                    "--layers 1 --heads 4 --kv-heads 2 --width 8 "
                                    "--norm rms --mlp swiglu "
                                    "--out /tmp/tp-gpt-grouped.safetensors");
    struct tap_outcome grouped_sample = tp("gpt sample --model "
                                           "/tmp/tp-gpt-grouped.safetensors "
                                           "--prompt ab --tokens 4");
    ok(grouped.status == 0 && grouped_sample.status == 0
           && strncmp(grouped_sample.output, "ab", 2) == 0,
       "tp gpt train --kv-heads 2 --norm rms --mlp swiglu trains a model that "
       "samples back");
    unlink("/tmp/tp-gpt-grouped.safetensors");
    struct tap_outcome odd = tp("gpt train --steps 1 --heads 4 --kv-heads 3 "
                                "--width 8");
    ok(odd.status == 2 && strstr(odd.output, "--kv-heads 3 does not divide "
                                             "--heads 4"),
       "--kv-heads that does not divide --heads is refused");
    struct tap_outcome norm = tp("gpt train --steps 1 --norm batch");
    ok(norm.status == 2 && strstr(norm.output, "--norm is layer or rms"),
       "an unknown --norm is refused");
    struct tap_outcome bench = tp("gpt bench --steps 1 --rounds 1");
    ok(bench.status == 0 && strstr(bench.output, "GPT-I decoding")
           && strstr(bench.output, "GEMM floor"),
       "tp gpt bench reports training, the floor and decoding");
    struct tap_outcome lone_tsv = tp("gpt bench --tsv /tmp/tp-gpt-profile.tsv");
    ok(lone_tsv.status == 2 && strstr(lone_tsv.output, "add --profile")
           && access("/tmp/tp-gpt-profile.tsv", F_OK) != 0,
       "tp gpt bench --tsv without --profile is refused, nothing written");
    struct tap_outcome no_dir = tp("gpt bench --profile --tsv "
                                   "/nonexistent/profile.tsv");
    ok(no_dir.status == 1 && strstr(no_dir.output, "cannot write"),
       "tp gpt bench --profile refuses a table it cannot write, before timing");
    return done_testing();
}
