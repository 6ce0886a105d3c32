/* Generated from book/390-deployment.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "models.h"
#include "program.h"

/* One line: no newline before the last character. */
static int one_line(const char *output)
{
    const char *newline = strchr(output, '\n');
    return output[0] != '\0' && (newline == NULL || newline[1] == '\0');
}

static int exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0;
}

/* <<t-deploy-command: the exported graph>> */
static tp_gpt *tiny_gpt(tp_position_kind positions, const char *path)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){256, 16, 2, 2, 32, positions});
    tp_rng rng = tp_rng_seeded(390, 8);
    tp_gpt_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    tp_error error;
    tp_check(tp_gpt_save(m, path, NULL, 0, NULL, &error) == 0, "%s",
             error.message);
    return m;
}

/* Runs the script; the logits it printed, or NULL with *why set. */
static float *python_logits(const char *runtime, const char *onnx,
                            const int *tokens, int n, int count,
                            const char **why)
{
    static const char *const pythons[2] = {"/usr/bin/python3", "python3"};
    static char reason[256];
    reason[0] = '\0';  /* the first Python's reason is the one given */
    for (int p = 0; p < 2; p++) {
        char line[1024];
        int at = snprintf(line, sizeof line, "%s tests/onnx_run.py %s %s",
                          pythons[p], runtime, onnx);
        for (int i = 0; i < n; i++)
            at += snprintf(line + at, sizeof line - (size_t)at, " %d", tokens[i]);
        snprintf(line + at, sizeof line - (size_t)at, " 2>&1");
        /* <<t-deploy-command: read what the script printed>> */
        FILE *f = popen(line, "r");
        char first[256] = "";
        if (f == NULL || fgets(first, sizeof first, f) == NULL) {
            if (f != NULL) pclose(f);
            if (reason[0] == '\0')
                snprintf(reason, sizeof reason, "%s printed nothing", pythons[p]);
            continue;
        }
        float *logits = malloc((size_t)count * sizeof *logits);
        int read = 0;
        while (read < count && fscanf(f, "%f", &logits[read]) == 1)
            read++;
        int status = pclose(f);
        if (strncmp(first, "checked", 7) == 0 && read == count && status == 0)
            return logits;
        free(logits);
        first[strcspn(first, "\n")] = '\0';
        if (reason[0] == '\0')
            snprintf(reason, sizeof reason, "%s: %s", pythons[p], first);
    }
    *why = reason;
    return NULL;
}
/* <<t-deploy-command: the exported graph>> */
static double largest_difference(const float *a, const float *b, int n)
{
    double most = 0;
    for (int i = 0; i < n; i++)
        most = fmax(most, fabs((double)a[i] - b[i]));
    return most;
}

static void exported_graph(void)
{
    tp_gpt *m = tiny_gpt(TP_POSITIONS_LEARNED, "/tmp/tp-t-deploy.safetensors");
    struct tap_outcome out = tp("gpt export --model /tmp/tp-t-deploy.safetensors"
                                " --onnx /tmp/tp-t-deploy.onnx --length 8");
    ok(out.status == 0 && strstr(out.output, "2 layers"),
       "tp gpt export writes the GPT as ONNX");
    const int tokens[8] = {84, 104, 101, 32, 98, 111, 111, 107};
    tp_arena *arena = tp_arena_new("t-deploy");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    const float *want = tp_gpt_forward(&g, m, tokens, 1, 8)->data;
    static const char *const runtimes[2] = {"numpy", "onnxruntime"};
    for (int r = 0; r < 2; r++) {
        const char *why = NULL;
        float *got = python_logits(runtimes[r], "/tmp/tp-t-deploy.onnx", tokens,
                                   8, 8 * 256, &why);
        if (got == NULL) {
            skip(1, why);
            continue;
        }
        double most = largest_difference(got, want, 8 * 256);
        ok(most < 1e-4, "the ONNX checker accepts the file, and %s's logits "
           "equal tp's within 1e-4 (largest difference %.2g)", runtimes[r], most);
        free(got);
    }
    tp_arena_free(arena);
    tp_gpt_free(m);
}

/* <<t-deploy-command: refusals>> */
static void refusals(void)
{
    struct tap_outcome missing = tp("gpt export --model "
                                    "/tmp/tp-t-deploy.safetensors --onnx "
                                    "/tmp/no-such-tp-dir/x.onnx");
    ok(missing.status == 1 && one_line(missing.output)
           && strstr(missing.output, "cannot write")
           && !exists("/tmp/no-such-tp-dir"),
       "an output in a missing directory: one line, nothing made");
    struct tap_outcome none = tp("gpt export --model "
                                 "/tmp/tp-t-deploy.safetensors");
    struct tap_outcome longer = tp("gpt export --model "
                                   "/tmp/tp-t-deploy.safetensors --onnx "
                                   "/tmp/tp-t-deploy-long.onnx --length 17");
    ok(none.status == 1 && one_line(none.output) && longer.status == 1
           && one_line(longer.output) && !exists("/tmp/tp-t-deploy-long.onnx"),
       "no --onnx, and a length past the 16 positions: one line each, no file");
    tp_gpt_free(tiny_gpt(TP_POSITIONS_ROPE, "/tmp/tp-t-deploy-rope.safetensors"));
    struct tap_outcome rope = tp("gpt export --model "
                                 "/tmp/tp-t-deploy-rope.safetensors --onnx "
                                 "/tmp/tp-t-deploy-rope.onnx");
    ok(rope.status == 1 && one_line(rope.output)
           && strstr(rope.output, "learned positions")
           && !exists("/tmp/tp-t-deploy-rope.onnx"),
       "a model with rotary positions is refused in one line, no file");
    unlink("/tmp/tp-t-deploy-rope.safetensors");
    struct tap_outcome scheme = tp("gpt sample --model "
                                   "/tmp/tp-t-deploy.safetensors --stream "
                                   "--quant int3");
    ok(scheme.status != 0 && one_line(scheme.output),
       "an unknown scheme is refused in one line");
}

/* <<t-deploy-command: streaming and latency>> */
static void streaming_and_latency(void)
{
    struct tap_outcome plain = tp("gpt sample --model "
                                  "/tmp/tp-t-deploy.safetensors --tokens 10 "
                                  "--prompt ab --seed 4");
    struct tap_outcome streamed = tp("gpt sample --model "
                                     "/tmp/tp-t-deploy.safetensors --tokens 10 "
                                     "--prompt ab --seed 4 --stream");
    ok(plain.status == 0 && streamed.status == 0
           && strcmp(plain.output, streamed.output) == 0,
       "tp gpt sample --stream writes the same text");
    struct tap_outcome bench = tp("bench latency --width 64 --layers 1 "
                                  "--prompts 3 --prompt 4 --tokens 5 "
                                  "--threads 1 --tsv /tmp/tp-t-latency.tsv");
    table t;
    tp_error error;
    int ordered = bench.status == 0
                  && read_table("/tmp/tp-t-latency.tsv", &t, &error) == 0
                  && t.rows == 3;
    for (int r = 0; ordered && r < 3; r++)
        ordered = t.value[r][1] <= t.value[r][2] && t.value[r][2] <= t.value[r][3]
                  && t.value[r][4] <= t.value[r][5]
                  && t.value[r][5] <= t.value[r][6] && t.value[r][4] > 0;
    ok(ordered, "tp bench latency: a row per scheme, p50 <= p90 <= p99 of t0 "
       "and of the gaps");
    unlink("/tmp/tp-t-latency.tsv");
    struct tap_outcome odd = tp("bench latency --width 100");
    ok(odd.status == 1 && one_line(odd.output),
       "a width that is not a multiple of 64 is refused in one line");
    struct tap_outcome budget = tp("deploy budget");
    int rows = 0;
    for (const char *at = budget.output; (at = strchr(at, '\n')) != NULL; at++)
        rows++;
    ok(budget.status == 0 && rows == 13, "tp deploy budget: 12 rows and a header");
}

int main(void)
{
    find_program();
    exported_graph();
    refusals();
    streaming_and_latency();
    unlink("/tmp/tp-t-deploy.safetensors");
    unlink("/tmp/tp-t-deploy.onnx");
    return done_testing();
}
