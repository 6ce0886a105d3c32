/* Generated from book/248-sparse.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/check.h"
#include "tp/data.h"
#include "tp/sparse.h"

/* <<sparse: the patterns>> */
int tp_sparse_check(const tp_sparse_pattern *p, tp_error *error)
{
    if (p->length < 1)
        return tp_error_set(error, "a sequence of %d tokens", p->length);
    if (p->stride < 1 || p->stride > p->length)
        return tp_error_set(error, "a stride of %d; it must lie in 1..%d, "
                            "the sequence's length", p->stride, p->length);
    if (p->head == TP_SPARSE_SUMMARY
        && (p->summary < 1 || p->summary > p->stride))
        return tp_error_set(error, "a summary of %d positions; it must lie "
                            "in 1..%d, the stride", p->summary, p->stride);
    return 0;
}
/* <<sparse: the patterns>> */
bool tp_sparse_allows(int i, int j, void *pattern)
{
    const tp_sparse_pattern *p = pattern;
    int l = p->stride;
    if (j > i)
        return false;
    switch (p->head) {
    case TP_SPARSE_PREVIOUS: return i - j <= l;
    case TP_SPARSE_COLUMN: return (i - j) % l == 0;
    case TP_SPARSE_WITHIN: return j / l == i / l;
    default: return j % l >= l - p->summary;
    }
}
/* <<sparse: the patterns>> */
static void check_pattern(const char *op, const tp_sparse_pattern *p)
{
    tp_error error = {{0}};
    tp_check(tp_sparse_check(p, &error) == 0, "%s: %s", op, error.message);
}
/* <<sparse: the layouts>> */
typedef struct sparse_rule {
    const tp_sparse_pattern *p;
    int block;
} sparse_rule;

static int first_summary_from(const tp_sparse_pattern *p, int j)
{
    int l = p->stride, t = l - p->summary;
    return j % l >= t ? j : j / l * l + t;
}
/* <<sparse: the layouts>> */
static bool touches(const tp_sparse_pattern *p, int i0, int i1, int j0,
                    int j1)
{
    int l = p->stride;
    switch (p->head) {
    case TP_SPARSE_PREVIOUS: return i0 - j1 <= l;
    case TP_SPARSE_COLUMN: {
        int lo = i0 - j1 > 0 ? i0 - j1 : 0, hi = i1 - j0;
        return (lo + l - 1) / l * l <= hi;
    }
    case TP_SPARSE_WITHIN: return j0 / l <= i1 / l && i0 / l <= j1 / l;
    default:
        return first_summary_from(p, j0) <= (j1 < i1 ? j1 : i1);
    }
}
/* <<sparse: the layouts>> */
static bool covers(const tp_sparse_pattern *p, int i0, int i1, int j0,
                   int j1)
{
    int l = p->stride;
    switch (p->head) {
    case TP_SPARSE_PREVIOUS: return i1 - j0 <= l;
    case TP_SPARSE_COLUMN: return l == 1;
    case TP_SPARSE_WITHIN:
        return i0 / l == i1 / l && j0 / l == j1 / l && i0 / l == j0 / l;
    default:
        return j0 / l == j1 / l && j0 % l >= l - p->summary;
    }
}
/* <<sparse: the layouts>> */
static tp_block_kind sparse_block(int row, int col, void *context)
{
    const sparse_rule *x = context;
    int n = x->p->length - 1;
    int i0 = row * x->block, i1 = (row + 1) * x->block - 1;
    int j0 = col * x->block, j1 = (col + 1) * x->block - 1;
    i1 = i1 < n ? i1 : n;
    j1 = j1 < n ? j1 : n;
    if (j0 > i1)
        return TP_BLOCK_EMPTY;  /* after every query: causal */
    if (covers(x->p, i0, i1, j0, j1))
        return TP_BLOCK_FULL;
    bool diagonal = row == col;
    return touches(x->p, i0, i1, j0, j1) || diagonal ? TP_BLOCK_PARTIAL
                                                      : TP_BLOCK_EMPTY;
}

tp_block_layout *tp_sparse_layout(tp_arena *arena,
                                  const tp_sparse_pattern *p, int block)
{
    check_pattern("tp_sparse_layout", p);
    sparse_rule rule = {p, block};
    return tp_block_layout_new(arena, p->length, p->length, block,
                               sparse_block, &rule);
}
/* <<sparse: attention>> */
static tp_tensor *transposed(tp_graph *g, tp_tensor *x, int rows, int cols)
{
    const tp_shape s = x->shape;
    tp_tensor *grid = tp_reshape(g->arena, tp_contiguous(g, x),
                                 tp_shape4(s.dim[0] * s.dim[1], rows, cols,
                                           s.dim[3]));
    tp_tensor *t = tp_contiguous(g, tp_transpose(g->arena, grid, 1, 2));
    return tp_reshape(g->arena, t, s);
}
/* <<sparse: attention>> */
static tp_sparse_pattern *kept(tp_graph *g, tp_sparse_pattern p)
{
    tp_sparse_pattern *copy = tp_arena_alloc(g->arena, sizeof *copy);
    *copy = p;
    return copy;
}

static tp_tensor *attend_pattern(tp_graph *g, tp_tensor *q, tp_tensor *k,
                                 tp_tensor *v, tp_sparse_pattern p,
                                 int block)
{
    tp_sparse_pattern *copy = kept(g, p);
    tp_attention_options o = {.causal = true, .pattern = tp_sparse_allows,
                              .pattern_context = copy};
    return tp_attention_block_sparse(g, q, k, v,
                                     tp_sparse_layout(g->arena, copy, block),
                                     &o);
}
/* <<sparse: attention>> */
static tp_tensor *attend_head(tp_graph *g, tp_tensor *in[3],
                              tp_sparse_pattern p, int block)
{
    int n = p.length, l = p.stride;
    if (p.head != TP_SPARSE_COLUMN || l == 1 || n % l != 0)
        return attend_pattern(g, in[0], in[1], in[2], p, block);
    tp_tensor *t[3];
    for (int x = 0; x < 3; x++)
        t[x] = transposed(g, in[x], n / l, l);
    tp_sparse_pattern within = {n, n / l, 1, TP_SPARSE_WITHIN};
    tp_tensor *o = attend_pattern(g, t[0], t[1], t[2], within, block);
    return transposed(g, o, l, n / l);
}
/* <<sparse: attention>> */
static void check_config(const char *op, const tp_sparse_config *config,
                         const tp_tensor *q, const tp_tensor *k,
                         const tp_tensor *v)
{
    tp_attention_check(op, q, k, v);
    int heads = q->shape.dim[1], n = q->shape.dim[2];
    tp_check(heads % 2 == 0 && k->shape.dim[1] == heads
                 && k->shape.dim[2] == n,
             "%s: %d query heads and %d key heads over %d and %d positions; "
             "the heads must be equal and even, the lengths equal", op,
             heads, k->shape.dim[1], n, k->shape.dim[2]);
    tp_check(config->block >= 1 && config->block <= TP_BLOCK_MAX,
             "%s: blocks of %d tokens, not 1..%d", op, config->block,
             TP_BLOCK_MAX);
    for (int h = 0; h < 2; h++) {
        tp_sparse_pattern p = {n, config->stride, config->summary,
                               (tp_sparse_head)(2 * config->kind + h)};
        check_pattern(op, &p);
    }
}
/* <<sparse: attention>> */
static tp_tensor *half(tp_graph *g, tp_tensor *x, int which)
{
    int h = x->shape.dim[1] / 2;
    return tp_contiguous(g, tp_slice(g->arena, x, 1, which * h, h));
}

tp_tensor *tp_sparse_attention(tp_graph *g, tp_tensor *q, tp_tensor *k,
                               tp_tensor *v, const tp_sparse_config *config)
{
    check_config("tp_sparse_attention", config, q, k, v);
    tp_tensor *out[2];
    for (int h = 0; h < 2; h++) {
        tp_tensor *in[3] = {half(g, q, h), half(g, k, h), half(g, v, h)};
        tp_sparse_pattern p = {q->shape.dim[2], config->stride,
                               config->summary,
                               (tp_sparse_head)(2 * config->kind + h)};
        out[h] = attend_head(g, in, p, config->block);
    }
    return tp_concat(g, 2, out, 1);
}
/* <<sparse: attention>> */
tp_sparse_config tp_sparse_default(tp_sparse_kind kind, int length)
{
    tp_check(length >= 1, "tp_sparse_default: a length of %d", length);
    int l = 1;
    while (2.0 * l * l < length)  /* the least power of two, l^2 >= N/2 */
        l *= 2;
    l = l < length ? l : length;
    return (tp_sparse_config){kind, l, l / 4 > 1 ? l / 4 : 1,
                              l < 32 ? l : 32};
}
/* <<sparse: attention>> */
static tp_tensor *masked_dense(tp_graph *g, tp_tensor *q, tp_tensor *k,
                               tp_tensor *v, const tp_sparse_config *config,
                               const tp_attention_options *o)
{
    tp_tensor *out[2], *weights[2];
    for (int h = 0; h < 2; h++) {
        tp_sparse_pattern p = {q->shape.dim[2], config->stride,
                               config->summary,
                               (tp_sparse_head)(2 * config->kind + h)};
        tp_attention_options masked = {.causal = true,
            .pattern = tp_sparse_allows, .pattern_context = kept(g, p),
            .weights = &weights[h]};
        out[h] = tp_attention(g, half(g, q, h), half(g, k, h), half(g, v, h),
                              &masked);
    }
    *o->weights = tp_concat(g, 2, weights, 1);
    return tp_concat(g, 2, out, 1);
}
/* <<sparse: attention>> */
static tp_tensor *hooked(tp_sparse_kind kind, tp_graph *g, tp_tensor *q,
                         tp_tensor *k, tp_tensor *v,
                         const tp_attention_options *o)
{
    tp_check(o != NULL && o->causal && o->bias == NULL
                 && o->key_padding == NULL && o->allowed == NULL
                 && o->pattern == NULL,
             "the Sparse Transformer's attention is causal, with no bias, "
             "padding or mask of the caller's");
    tp_sparse_config config = tp_sparse_default(kind, q->shape.dim[2]);
    return o->weights != NULL ? masked_dense(g, q, k, v, &config, o)
                              : tp_sparse_attention(g, q, k, v, &config);
}

tp_tensor *tp_sparse_strided(tp_graph *g, tp_tensor *q, tp_tensor *k,
                             tp_tensor *v, const tp_attention_options *o)
{
    return hooked(TP_SPARSE_STRIDED, g, q, k, v, o);
}

tp_tensor *tp_sparse_fixed(tp_graph *g, tp_tensor *q, tp_tensor *k,
                           tp_tensor *v, const tp_attention_options *o)
{
    return hooked(TP_SPARSE_FIXED, g, q, k, v, o);
}
/* <<sparse: decoding>> */
typedef struct shifted_pattern {
    tp_sparse_pattern p;
    int at;  /* the position of query 0 */
} shifted_pattern;

static bool shifted_allows(int i, int j, void *context)
{
    shifted_pattern *s = context;
    return tp_sparse_allows(i + s->at, j, &s->p);
}

typedef struct sparse_store {
    tp_gpt_cache *cache;
    tp_sparse_config config;
    int length;  /* N: the patterns' length */
} sparse_store;
/* <<sparse: decoding>> */
static tp_tensor *sparse_attend(void *store, tp_graph *g, int layer, int at,
                                tp_tensor *q, tp_tensor *k, tp_tensor *v)
{
    sparse_store *s = store;
    int n = q->shape.dim[2];
    tp_tensor kt = *tp_slice(g->arena, s->cache->k[layer], 2, at, n);
    tp_tensor vt = *tp_slice(g->arena, s->cache->v[layer], 2, at, n);
    tp_copy(&kt, k);
    tp_copy(&vt, v);
    tp_tensor *keys = tp_slice(g->arena, s->cache->k[layer], 2, 0, at + n);
    tp_tensor *values = tp_slice(g->arena, s->cache->v[layer], 2, 0, at + n);
    tp_tensor *out[2];
    for (int h = 0; h < 2; h++) {
        shifted_pattern *p = tp_arena_alloc(g->arena, sizeof *p);
        *p = (shifted_pattern){{s->length, s->config.stride, s->config.summary,
                                (tp_sparse_head)(2 * s->config.kind + h)}, at};
        tp_attention_options o = {.pattern = shifted_allows,
                                  .pattern_context = p};
        out[h] = tp_attention(g, half(g, q, h), half(g, keys, h),
                              half(g, values, h), &o);
    }
    return tp_concat(g, 2, out, 1);
}
/* <<sparse: decoding>> */
const float *tp_sparse_extend(tp_gpt *m, tp_gpt_cache *cache,
                              tp_sparse_kind kind, const int *tokens,
                              int n, tp_arena *scratch)
{
    tp_check(n >= 1 && cache->length + n <= cache->capacity,
             "tp_sparse_extend: the cache holds %d of %d positions: no room "
             "for %d more", cache->length, cache->capacity, n);
    int length = m->config.n_positions;
    sparse_store s = {cache, tp_sparse_default(kind, length), length};
    const float *logits = tp_gpt_extend_with(m, sparse_attend, &s,
                                             cache->length, tokens, n,
                                             scratch);
    cache->length += n;
    return logits;
}
/* <<sparse: the pictures>> */
void tp_sparse_images(tp_rng *rng, int batch, int *inputs, int *targets)
{
    float pixels[TP_SPARSE_PIXELS];
    for (int b = 0; b < batch; b++) {
        int *in = inputs + (long)b * TP_SPARSE_PIXELS;
        int *out = targets + (long)b * TP_SPARSE_PIXELS;
        tp_shape_image(TP_SPARSE_SIDE, rng, pixels);
        for (int i = 0; i < TP_SPARSE_PIXELS; i++) {
            int level = (int)(TP_SPARSE_LEVELS * pixels[i]);
            out[i] = level < TP_SPARSE_LEVELS ? level : TP_SPARSE_LEVELS - 1;
        }
        in[0] = TP_SPARSE_START;
        memcpy(in + 1, out, (TP_SPARSE_PIXELS - 1) * sizeof *in);
    }
}
