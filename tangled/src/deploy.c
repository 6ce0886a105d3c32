/* Generated from book/390-deployment.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp.h"

/* <<deploy: percentiles>> */
static void swap(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* Moves the element of rank k to x[k], the smaller ones before it and
   the larger ones after. */
static void select_rank(double *x, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (x[mid] < x[lo]) swap(&x[mid], &x[lo]);
        if (x[hi] < x[lo]) swap(&x[hi], &x[lo]);
        if (x[hi] < x[mid]) swap(&x[hi], &x[mid]);
        double pivot = x[mid];
        int i = lo, j = hi;
        while (i <= j) {
            while (x[i] < pivot) i++;
            while (x[j] > pivot) j--;
            if (i <= j) swap(&x[i++], &x[j--]);
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return;  /* between j and i: equal to the pivot */
    }
}
/* <<deploy: percentiles>> */
double tp_percentile(double *values, int n, double p)
{
    tp_check(n >= 1 && p >= 0 && p <= 100,
             "tp_percentile: %d values, p = %g", n, p);
    double h = (n - 1) * p / 100;
    int k = (int)floor(h);
    select_rank(values, n, k);
    if (k + 1 >= n || h == k)
        return values[k];
    double above = values[k + 1];
    for (int i = k + 2; i < n; i++)
        above = values[i] < above ? values[i] : above;
    return values[k] + (h - k) * (above - values[k]);
}

/* <<deploy: streaming>> */
int tp_gpt_stream(tp_gpt *m, const int *prompt, int n, int tokens,
                  tp_sampling sampling, tp_rng *rng, tp_token_sink *sink,
                  void *context)
{
    int vocab = m->config.vocab_size, capacity = m->config.n_positions;
    tp_check(n >= 1 && n < capacity, "tp_gpt_stream: a prompt of %d tokens "
             "for a model of %d positions", n, capacity);
    tp_gpt_cache *cache = tp_gpt_cache_new(m, capacity);
    tp_arena *scratch = tp_arena_new("stream");
    float *next = malloc((size_t)vocab * sizeof *next);
    tp_check(next != NULL, "out of memory");
    const float *logits = NULL;
    for (int i = 0; i < n; i++) {
        tp_arena_reset(scratch);
        logits = tp_gpt_step(m, cache, prompt[i], scratch);
    }
    int made = 0;
    while (made < tokens && cache->length < capacity) {
        memcpy(next, logits, (size_t)vocab * sizeof *next);
        tp_arena_reset(scratch);
        int token = tp_gpt_sample_token(next, vocab, sampling.temperature,
                                        sampling.top_k, sampling.top_p, rng);
        made++;
        if (!sink(token, context))
            break;
        logits = tp_gpt_step(m, cache, token, scratch);
    }
    free(next);
    tp_arena_free(scratch);
    tp_gpt_cache_free(cache);
    return made;
}
/* <<deploy: streaming>> */
typedef struct clock_sink {
    double start, *times;
} clock_sink;

static bool record_time(int token, void *context)
{
    (void)token;
    clock_sink *c = context;
    *c->times++ = tp_seconds() - c->start;
    return true;
}

int tp_gpt_token_times(tp_gpt *m, const int *prompt, int n, int tokens,
                       double *times)
{
    clock_sink c = {tp_seconds(), times};
    tp_sampling greedy = {0.0f, 0, 1.0f};
    return tp_gpt_stream(m, prompt, n, tokens, greedy, NULL, record_time, &c);
}

/* <<deploy: budgets>> */
double tp_gpt_checkpoint_bytes(tp_gpt_config config, int bits)
{
    tp_check(bits == 32 || bits == 8 || bits == 4,
             "tp_gpt_checkpoint_bytes: %d bits a weight", bits);
    tp_gpt_modern plain = {0};
    double p = tp_gpt_parameter_count(config, plain);
    double c = config.n_embd, layers = config.n_layer;
    double matrices = 12 * c * c * layers;
    if (bits == 32)
        return 4 * p;
    if (bits == 8)
        return 4 * (p - matrices) + matrices + 4 * 9 * c * layers;
    return 4 * (p - matrices) + matrices / 2 + 4 * matrices / TP_QUANT_BLOCK;
}
/* <<deploy: budgets>> */
int tp_gpt_widest(double budget, tp_gpt_config config, int bits)
{
    int widest = 0;
    for (int c = 64; c <= 1 << 16; c += 64) {
        config.n_embd = c, config.n_head = c / 64;
        if (tp_gpt_checkpoint_bytes(config, bits) > budget)
            break;
        widest = c;
    }
    return widest;
}
