/* Generated from book/360-streaming.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

/* <<t-streaming: helpers>> */
enum { VOCAB = 32, CONTEXT = 16 };

static tp_gpt *tiny_rope_gpt(int layers, uint64_t seed)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){VOCAB, CONTEXT, layers, 2, 16,
                                           TP_POSITIONS_ROPE});
    tp_rng rng = tp_rng_seeded(seed, 1);
    tp_gpt_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    return m;
}

static const float *forward_row(tp_gpt *m, const int *tokens, int n, int row,
                                tp_arena *arena)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *logits = tp_gpt_forward(&g, m, tokens, 1, n);
    return logits->data + (long)row * VOCAB;
}

static double row_diff(const float *a, const float *b)
{
    double worst = 0;
    for (int i = 0; i < VOCAB; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst;
}

static void random_tokens(int *tokens, int n, uint64_t seed)
{
    tp_rng rng = tp_rng_seeded(seed, 2);
    for (int i = 0; i < n; i++)
        tokens[i] = (int)tp_rng_below(&rng, VOCAB);
}
/* <<t-streaming: delta attention equals recomputation>> */
static void delta_equals_recomputation(void)
{
    tp_gpt *m = tiny_rope_gpt(2, 7);
    int tokens[CONTEXT];
    random_tokens(tokens, CONTEXT, 3);
    tp_stream_cache *c = tp_stream_cache_new(m, 0, CONTEXT);
    tp_arena *scratch = tp_arena_new("delta"), *full = tp_arena_new("full");
    const float *whole = forward_row(m, tokens, CONTEXT, 0, full);
    double worst = 0;
    for (int at = 0, step = 0; at < CONTEXT; step++) {
        int n = (int[]){1, 3, 5}[step % 3];
        n = at + n <= CONTEXT ? n : CONTEXT - at;
        tp_arena_reset(scratch);
        const float *rows = tp_stream_extend(m, c, tokens + at, n, scratch);
        for (int i = 0; i < n; i++)
            worst = fmax(worst, row_diff(rows + (long)i * VOCAB,
                                         whole + (long)(at + i) * VOCAB));
        at += n;
    }
    ok(worst < 1e-4, "delta attention, 1, 3 and 5 new tokens at a time, "
       "equals the forward pass over the prefix (worst %.2g)", worst);
    tp_arena_free(scratch), tp_arena_free(full);
    tp_stream_cache_free(c), tp_gpt_free(m);
}
/* <<t-streaming: one layer, the cache equals a forward pass over what it holds>> */
static int held_tokens(const int *stream, int t, int s, int w, int *held)
{
    if (t + 1 <= s + w) {
        for (int i = 0; i <= t; i++)
            held[i] = stream[i];
        return t + 1;
    }
    for (int i = 0; i < s; i++)
        held[i] = stream[i];
    for (int i = 0; i < w; i++)
        held[s + i] = stream[t - w + 1 + i];
    return s + w;
}

static void one_layer_cache_equals_forward(int s, int w)
{
    enum { LONG = 3 * CONTEXT };
    tp_gpt *m = tiny_rope_gpt(1, 11);
    int stream[LONG], held[CONTEXT];
    random_tokens(stream, LONG, 5);
    tp_stream_cache *c = tp_stream_cache_new(m, s, w);
    tp_arena *scratch = tp_arena_new("step"), *full = tp_arena_new("full");
    double worst = 0;
    for (int t = 0; t < LONG; t++) {
        tp_arena_reset(scratch), tp_arena_reset(full);
        const float *step = tp_stream_step(m, c, stream[t], scratch);
        int n = held_tokens(stream, t, s, w, held);
        worst = fmax(worst, row_diff(step, forward_row(m, held, n, n - 1,
                                                        full)));
    }
    ok(worst < 1e-4, "one layer, %d sinks and a window of %d: every step of "
       "a stream of %d equals a forward pass over the tokens it holds "
       "(worst %.2g)", s, w, LONG, worst);
    tp_arena_free(scratch), tp_arena_free(full);
    tp_stream_cache_free(c), tp_gpt_free(m);
}
/* <<t-streaming: two layers, it does not>> */
static void deeper_cache_keeps_the_past(void)
{
    enum { LONG = 2 * CONTEXT, S = 2, W = 5 };
    tp_gpt *m = tiny_rope_gpt(2, 13);
    int stream[LONG], held[CONTEXT];
    random_tokens(stream, LONG, 9);
    tp_stream_cache *c = tp_stream_cache_new(m, S, W);
    tp_arena *scratch = tp_arena_new("step"), *full = tp_arena_new("full");
    double before = 0, after = 0;
    for (int t = 0; t < LONG; t++) {
        tp_arena_reset(scratch), tp_arena_reset(full);
        const float *step = tp_stream_step(m, c, stream[t], scratch);
        int n = held_tokens(stream, t, S, W, held);
        double diff = row_diff(step, forward_row(m, held, n, n - 1, full));
        *(t + 1 <= S + W ? &before : &after) = fmax(
            *(t + 1 <= S + W ? &before : &after), diff);
    }
    ok(before < 1e-4 && after > 1e-3,
       "two layers: equal to recomputation until the first eviction (%.2g), "
       "then not: the window's keys remember evicted tokens (%.2g)", before,
       after);
    tp_arena_free(scratch), tp_arena_free(full);
    tp_stream_cache_free(c), tp_gpt_free(m);
}
/* <<t-streaming: memory stays constant>> */
static void memory_stays_constant(void)
{
    tp_gpt *m = tiny_rope_gpt(2, 17);
    tp_stream_cache *c = tp_stream_cache_new(m, 4, 8);
    tp_arena *scratch = tp_arena_new("step");
    size_t bytes = tp_stream_cache_bytes(c);
    size_t expected = 2 * 2 * (size_t)(4 + 8) * 16 * sizeof(float);
    for (int t = 0; t < 10 * CONTEXT; t++) {
        tp_arena_reset(scratch);
        tp_stream_step(m, c, t % VOCAB, scratch);
    }
    ok(bytes == expected && tp_stream_cache_bytes(c) == bytes
           && c->length == 12 && c->seen == 10 * CONTEXT,
       "after %d tokens the cache holds 12 and %zu bytes, as at the start",
       10 * CONTEXT, bytes);
    tp_arena_free(scratch);
    tp_stream_cache_free(c), tp_gpt_free(m);
}
/* <<t-streaming: chunk attention equals masked dense attention>> */
static void chunk_attention_equals_dense(int chunk)
{
    enum { T = 23 };
    tp_arena *arena = tp_arena_new("chunks");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng rng = tp_rng_seeded(21, (uint64_t)chunk);
    tp_tensor *x[3];
    for (int i = 0; i < 3; i++) {
        x[i] = tp_tensor_new(arena, tp_shape4(2, 3, T, 8), TP_NO_GRAD);
        tp_fill_normal(x[i], &rng, 0.0f, 1.0f);
    }
    tp_attention_options masked = {.pattern = tp_chunk_allows,
                                    .pattern_context = &chunk};
    tp_tensor *dense = tp_attention(&g, x[0], x[1], x[2], &masked);
    tp_tensor *chunked = tp_chunk_attention(&g, x[0], x[1], x[2], chunk);
    float diff = tp_max_abs_diff(chunked, dense);
    ok(diff < 1e-5, "chunk attention, T = %d in chunks of %d, equals dense "
       "attention with the chunk mask (%.2g)", T, chunk, diff);
    tp_arena_free(arena);
}

int main(void)
{
    delta_equals_recomputation();
    one_layer_cache_equals_forward(2, 5);
    one_layer_cache_equals_forward(0, 6);
    deeper_cache_keeps_the_past();
    memory_stays_constant();
    chunk_attention_equals_dense(5);
    chunk_attention_equals_dense(1);
    chunk_attention_equals_dense(40);
    return done_testing();
}
