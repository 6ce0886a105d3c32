/* Generated from book/390-deployment.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tp.h"

/* <<t-deploy: percentiles>> */
static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double sorted_percentile(const double *values, int n, double p)
{
    double *x = malloc((size_t)n * sizeof *x);
    memcpy(x, values, (size_t)n * sizeof *x);
    qsort(x, (size_t)n, sizeof *x, by_value);
    double h = (n - 1) * p / 100;
    int k = (int)floor(h);
    double q = k + 1 < n ? x[k] + (h - k) * (x[k + 1] - x[k]) : x[k];
    free(x);
    return q;
}

static void percentiles(void)
{
    static const int sizes[] = {1, 2, 3, 10, 101, 1000};
    static const double ps[] = {0, 1, 25, 50, 90, 99, 99.9, 100};
    tp_rng rng = tp_rng_seeded(390, 1);
    int wrong = 0, cases = 0;
    for (int s = 0; s < 6; s++)
        for (int kind = 0; kind < 4; kind++) {
            int n = sizes[s];
            double *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
            for (int i = 0; i < n; i++)
                x[i] = kind == 0   ? tp_rng_uniform(&rng)
                       : kind == 1 ? (double)tp_rng_below(&rng, 8)
                       : kind == 2 ? i
                                   : n - i;
            for (int j = 0; j < 8; j++, cases++) {
                memcpy(y, x, (size_t)n * sizeof *y);
                double got = tp_percentile(y, n, ps[j]);
                double want = sorted_percentile(x, n, ps[j]);
                if (got != want) {
                    diag("n %d kind %d p %g: %.17g, sorted %.17g", n, kind,
                         ps[j], got, want);
                    wrong++;
                }
            }
            free(x);
            free(y);
        }
    ok(wrong == 0, "tp_percentile equals the sort-based definition in all %d "
       "cases (ties, sorted, reversed, n = 1, p = 0 and 100)", cases);
}

/* <<t-deploy: streaming>> */
typedef struct collected {
    int tokens[64], count, stop_after;
} collected;

static bool collect(int token, void *context)
{
    collected *c = context;
    c->tokens[c->count++] = token;
    return c->stop_after == 0 || c->count < c->stop_after;
}

static tp_gpt *small_model(void)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){16, 24, 2, 2, 16,
                                           TP_POSITIONS_LEARNED});
    tp_rng rng = tp_rng_seeded(390, 2);
    tp_gpt_init(m, &rng);
    return m;
}

/* The loop of tp gpt sample, without the text. */
static int sampled_loop(tp_gpt *m, const int *prompt, int n, int tokens,
                        int *out)
{
    tp_gpt_cache *cache = tp_gpt_cache_new(m, m->config.n_positions);
    tp_arena *scratch = tp_arena_new("reference");
    tp_rng rng = tp_rng_seeded(7, 3);
    const float *logits = NULL;
    float next[16];
    for (int i = 0; i < n; i++) {
        tp_arena_reset(scratch);
        logits = tp_gpt_step(m, cache, prompt[i], scratch);
    }
    int made = 0;
    for (; made < tokens && cache->length < m->config.n_positions; made++) {
        memcpy(next, logits, sizeof next);
        tp_arena_reset(scratch);
        out[made] = tp_gpt_sample_token(next, 16, 0.8f, 0, 1.0f, &rng);
        logits = tp_gpt_step(m, cache, out[made], scratch);
    }
    tp_arena_free(scratch);
    tp_gpt_cache_free(cache);
    return made;
}

static void streaming(void)
{
    tp_gpt *m = small_model();
    const int prompt[4] = {3, 1, 4, 1};
    int want[64];
    int n = sampled_loop(m, prompt, 4, 12, want);
    collected c = {0};
    tp_rng rng = tp_rng_seeded(7, 3);
    tp_sampling s = {0.8f, 0, 1.0f};
    int made = tp_gpt_stream(m, prompt, 4, 12, s, &rng, collect, &c);
    ok(made == 12 && n == 12 && c.count == 12
           && memcmp(c.tokens, want, sizeof(int) * 12) == 0,
       "tp_gpt_stream hands over the 12 tokens of the sampling loop, in order");
    collected early = {.stop_after = 3};
    rng = tp_rng_seeded(7, 3);
    made = tp_gpt_stream(m, prompt, 4, 12, s, &rng, collect, &early);
    ok(made == 3 && early.count == 3
           && memcmp(early.tokens, want, sizeof(int) * 3) == 0,
       "a sink that says stop after 3 tokens gets those 3 and no more");
    collected full = {0};
    rng = tp_rng_seeded(7, 3);
    made = tp_gpt_stream(m, prompt, 4, 60, s, &rng, collect, &full);
    n = sampled_loop(m, prompt, 4, 60, want);
    ok(made == 20 && full.count == 20 && n == 20
           && memcmp(full.tokens, want, sizeof(int) * 20) == 0,
       "asked for 60 tokens after 4 in 24 positions, it makes the 20 that fit");
    double times[12];
    made = tp_gpt_token_times(m, prompt, 4, 12, times);
    int ordered = times[0] > 0;
    for (int i = 1; i < made; i++)
        ordered &= times[i] >= times[i - 1];
    ok(made == 12 && ordered, "tp_gpt_token_times: 12 times, positive and in "
       "order");
    tp_gpt_free(m);
}

/* <<t-deploy: budgets>> */
static double tensor_bytes(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char head[8];
    if (f == NULL || fread(head, 1, 8, f) != 8) {
        if (f != NULL) fclose(f);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    double header = 0;
    for (int i = 7; i >= 0; i--)
        header = header * 256 + head[i];
    return (double)size - 8 - header;
}

static int file_matches(tp_gpt *m, int bits, const char *path)
{
    tp_error error;
    int status;
    if (bits == 32)
        status = tp_gpt_save(m, path, NULL, 0, NULL, &error);
    else {
        tp_quant_gpt *q = tp_quant_gpt_new(
            m, bits == 8 ? TP_QUANT_INT8 : TP_QUANT_INT4, &error);
        status = q != NULL ? tp_quant_gpt_save(q, path, &error) : -1;
        tp_quant_gpt_free(q);
    }
    double want = tp_gpt_checkpoint_bytes(m->config, bits);
    double got = status == 0 ? tensor_bytes(path) : -1;
    remove(path);
    if (got != want)
        diag("%d bits, width %d: the file holds %.0f bytes of tensors, the "
             "count says %.0f", bits, m->config.n_embd, got, want);
    return got == want;
}
/* <<t-deploy: budgets>> */
static void budgets(void)
{
    static const tp_gpt_config shapes[2] = {
        {256, 32, 2, 1, 64, TP_POSITIONS_LEARNED},
        {100, 20, 1, 2, 96, TP_POSITIONS_LEARNED}};
    static const int bits[3] = {32, 8, 4};
    int matched = 0;
    for (int s = 0; s < 2; s++) {
        tp_gpt *m = tp_gpt_new(shapes[s]);
        tp_rng rng = tp_rng_seeded(390, 4);
        tp_gpt_init(m, &rng);
        for (int b = 0; b < 3; b++)
            matched += file_matches(m, bits[b],
                                    "/tmp/tp-t-deploy-budget.safetensors");
        tp_gpt_free(m);
    }
    ok(matched == 6, "the counted bytes equal the tensors of real files: 32 "
       "bits, int8 and int4 at two shapes (%d of 6)", matched);
    /* <<t-deploy: the widest model>> */
    tp_gpt_config base = {256, 256, 6, 1, 64, TP_POSITIONS_LEARNED};
    int right = 0, nested = 0;
    for (int mib = 4; mib <= 256; mib *= 4)
        for (int b = 0; b < 3; b++) {
            double budget = mib * 1048576.0;
            int c = tp_gpt_widest(budget, base, bits[b]);
            tp_gpt_config at = base, next = base;
            at.n_embd = c, at.n_head = c / 64;
            next.n_embd = c + 64, next.n_head = c / 64 + 1;
            right += c >= 64 && tp_gpt_checkpoint_bytes(at, bits[b]) <= budget
                     && tp_gpt_checkpoint_bytes(next, bits[b]) > budget;
            nested += b == 0 || c >= tp_gpt_widest(budget, base, bits[b - 1]);
        }
    ok(right == 12 && nested == 12, "tp_gpt_widest: the last width that fits, "
       "for 4 budgets and 3 schemes; fewer bits never fit a narrower model");
    ok(tp_gpt_widest(1000, base, 4) == 0, "a budget too small for any width "
       "gives 0");
}

int main(void)
{
    percentiles();
    streaming();
    budgets();
    return done_testing();
}
