/* Generated from book/335-memory.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/bench.h"
#include "tp/memory.h"

/* <<memory: counting a training step>> */
tp_step_memory tp_training_memory(tp_gpt *m, tp_arena *step,
                                  const int *tokens, const int *targets,
                                  int batch, int length)
{
    size_t p = (size_t)tp_params_count(&m->params) * sizeof(float);
    tp_step_memory r = {.parameters = p, .gradients = p, .moments = 2 * p};
    tp_arena_reset(step);
    tp_arena_reset_peak(step);
    if (m->checkpoint != NULL)
        tp_arena_reset_peak(m->checkpoint);
    tp_graph g = tp_graph_on(step);
    double start = tp_seconds();
    tp_backward(&g, tp_gpt_loss(&g, m, tokens, targets, batch, length));
    r.seconds = tp_seconds() - start;
    r.activations = tp_arena_peak(step)
                    + (m->checkpoint != NULL ? tp_arena_peak(m->checkpoint)
                                             : 0);
    tp_zero_grad(&m->params);
    return r;
}

/* <<memory: the eight-bit cache>> */
static void quantise(const float *x, int d, signed char *q, float *scale)
{
    float top = 0.0f;
    for (int i = 0; i < d; i++)
        top = fabsf(x[i]) > top ? fabsf(x[i]) : top;
    *scale = top / 127.0f;
    for (int i = 0; i < d; i++)
        q[i] = top > 0.0f ? (signed char)lrintf(x[i] / *scale) : 0;
}
/* <<memory: the eight-bit cache>> */
tp_kv_int8 *tp_kv_int8_new(const tp_gpt *m, int capacity)
{
    tp_check(capacity >= 1 && capacity <= m->config.n_positions,
             "an int8 cache of %d positions for a model of %d", capacity,
             m->config.n_positions);
    tp_kv_int8 *c = calloc(1, sizeof *c);
    tp_check(c != NULL, "out of memory");
    *c = (tp_kv_int8){.layers = m->config.n_layer, .heads = m->config.n_head,
                      .d = m->config.n_embd / m->config.n_head,
                      .capacity = capacity};
    size_t vectors = (size_t)c->layers * c->heads * capacity;
    c->k = malloc(vectors * c->d), c->v = malloc(vectors * c->d);
    c->k_scale = malloc(vectors * sizeof(float));
    c->v_scale = malloc(vectors * sizeof(float));
    tp_check(c->k && c->v && c->k_scale && c->v_scale, "out of memory");
    return c;
}
/* <<memory: the eight-bit cache>> */
void tp_kv_int8_free(tp_kv_int8 *c)
{
    if (c != NULL) {
        free(c->k), free(c->v), free(c->k_scale), free(c->v_scale);
        free(c);
    }
}

size_t tp_kv_int8_bytes(const tp_kv_int8 *c)
{
    size_t vectors = (size_t)c->layers * c->heads * c->capacity;
    return 2 * vectors * ((size_t)c->d + sizeof(float));
}
/* <<memory: the eight-bit cache>> */
static void store_int8(tp_kv_int8 *c, int layer, int at, const tp_tensor *x,
                       signed char *values, float *scales)
{
    int n = x->shape.dim[2];
    for (int h = 0; h < c->heads; h++)
        for (int t = 0; t < n; t++) {
            long vector = ((long)layer * c->heads + h) * c->capacity + at + t;
            const float *row = tp_at4(x, 0, h, t, 0);
            quantise(row, c->d, values + vector * c->d, scales + vector);
        }
}
/* <<memory: the eight-bit cache>> */
static tp_tensor *load_int8(const tp_kv_int8 *c, tp_arena *arena, int layer,
                            int length, const signed char *values,
                            const float *scales)
{
    tp_tensor *x = tp_tensor_empty(arena, tp_shape4(1, c->heads, length, c->d),
                                   TP_NO_GRAD);
    for (int h = 0; h < c->heads; h++)
        for (int t = 0; t < length; t++) {
            long vector = ((long)layer * c->heads + h) * c->capacity + t;
            float *row = tp_at4(x, 0, h, t, 0);
            for (int i = 0; i < c->d; i++)
                row[i] = scales[vector] * values[vector * c->d + i];
        }
    return x;
}
/* <<memory: the eight-bit cache>> */
static tp_tensor *int8_attend(void *store, tp_graph *g, int layer, int at,
                              tp_tensor *q, tp_tensor *k, tp_tensor *v)
{
    tp_kv_int8 *c = store;
    int length = at + q->shape.dim[2];
    store_int8(c, layer, at, k, c->k, c->k_scale);
    store_int8(c, layer, at, v, c->v, c->v_scale);
    tp_attention_options causal = {.causal = true};
    return tp_attention(g, q, load_int8(c, g->arena, layer, length, c->k,
                                        c->k_scale),
                        load_int8(c, g->arena, layer, length, c->v,
                                  c->v_scale), &causal);
}

const float *tp_gpt_extend_int8(tp_gpt *m, tp_kv_int8 *c, const int *tokens,
                                int n, tp_arena *scratch)
{
    tp_check(n >= 1 && c->length + n <= c->capacity,
             "the int8 cache holds %d of %d positions: no room for %d more",
             c->length, c->capacity, n);
    const float *logits = tp_gpt_extend_with(m, int8_attend, c, c->length,
                                             tokens, n, scratch);
    c->length += n;
    return logits;
}

/* <<memory: the paged cache>> */
tp_kv_pool *tp_kv_pool_new(const tp_gpt *m, int page_size, int pages)
{
    tp_check(page_size >= 1 && pages >= 1, "a pool of %d pages of %d "
             "positions", pages, page_size);
    tp_kv_pool *p = calloc(1, sizeof *p);
    tp_check(p != NULL, "out of memory");
    *p = (tp_kv_pool){.layers = m->config.n_layer, .heads = m->config.n_head,
                      .d = m->config.n_embd / m->config.n_head,
                      .page_size = page_size, .pages = pages, .n_free = pages};
    size_t floats = (size_t)pages * p->layers * p->heads * page_size * p->d;
    p->k = malloc(floats * sizeof(float));
    p->v = malloc(floats * sizeof(float));
    p->free_pages = malloc((size_t)pages * sizeof(int));
    tp_check(p->k && p->v && p->free_pages, "out of memory");
    for (int i = 0; i < pages; i++)
        p->free_pages[i] = pages - 1 - i;  /* page 0 is taken first */
    return p;
}
/* <<memory: the paged cache>> */
void tp_kv_pool_free(tp_kv_pool *p)
{
    if (p != NULL) {
        free(p->k), free(p->v), free(p->free_pages);
        free(p);
    }
}

tp_kv_sequence *tp_kv_sequence_new(tp_kv_pool *pool)
{
    tp_kv_sequence *s = calloc(1, sizeof *s);
    tp_check(s != NULL, "out of memory");
    s->pool = pool;
    s->table = malloc((size_t)pool->pages * sizeof(int));
    tp_check(s->table != NULL, "out of memory");
    return s;
}
/* <<memory: the paged cache>> */
void tp_kv_sequence_free(tp_kv_sequence *s)
{
    if (s == NULL)
        return;
    for (int j = 0; j < s->pages; j++)
        s->pool->free_pages[s->pool->n_free++] = s->table[j];
    free(s->table);
    free(s);
}
/* <<memory: the paged cache>> */
static float *paged_row(const tp_kv_sequence *s, float *base, int layer,
                        int h, int t)
{
    const tp_kv_pool *p = s->pool;
    long page = s->table[t / p->page_size];
    long offset = ((page * p->layers + layer) * p->heads + h) * p->page_size
                  + t % p->page_size;
    return base + offset * p->d;
}
/* <<memory: the paged cache>> */
static void paged_copy(tp_kv_sequence *s, float *base, int layer, int from,
                       int n, tp_tensor *x, bool into_pages)
{
    for (int h = 0; h < s->pool->heads; h++)
        for (int t = 0; t < n; t++) {
            float *page = paged_row(s, base, layer, h, from + t);
            float *row = tp_at4(x, 0, h, t, 0);
            if (into_pages)
                memcpy(page, row, (size_t)s->pool->d * sizeof(float));
            else
                memcpy(row, page, (size_t)s->pool->d * sizeof(float));
        }
}
/* <<memory: the paged cache>> */
static tp_tensor *paged_gather(tp_kv_sequence *s, tp_arena *arena,
                               float *base, int layer, int length)
{
    tp_tensor *x = tp_tensor_empty(
        arena, tp_shape4(1, s->pool->heads, length, s->pool->d), TP_NO_GRAD);
    paged_copy(s, base, layer, 0, length, x, false);
    return x;
}

static tp_tensor *paged_attend(void *store, tp_graph *g, int layer, int at,
                               tp_tensor *q, tp_tensor *k, tp_tensor *v)
{
    tp_kv_sequence *s = store;
    int n = q->shape.dim[2];
    paged_copy(s, s->pool->k, layer, at, n, k, true);
    paged_copy(s, s->pool->v, layer, at, n, v, true);
    tp_attention_options causal = {.causal = true};
    return tp_attention(g, q, paged_gather(s, g->arena, s->pool->k, layer,
                                           at + n),
                        paged_gather(s, g->arena, s->pool->v, layer, at + n),
                        &causal);
}
/* <<memory: the paged cache>> */
const float *tp_gpt_extend_paged(tp_gpt *m, tp_kv_sequence *s,
                                 const int *tokens, int n, tp_arena *scratch,
                                 tp_error *error)
{
    tp_kv_pool *p = s->pool;
    int needed = (s->length + n + p->page_size - 1) / p->page_size - s->pages;
    if (needed > p->n_free) {
        tp_error_set(error, "the pool has %d free pages of %d positions; %d "
                     "more tokens need %d", p->n_free, p->page_size, n, needed);
        return NULL;
    }
    for (int j = 0; j < needed; j++)
        s->table[s->pages++] = p->free_pages[--p->n_free];
    const float *logits = tp_gpt_extend_with(m, paged_attend, s, s->length,
                                             tokens, n, scratch);
    s->length += n;
    return logits;
}
