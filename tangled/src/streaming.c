/* Generated from book/360-streaming.nw; edit the book, not this file. */
#include <stdlib.h>
#include <string.h>

#include "tp/streaming.h"

/* <<streaming: the cache>> */
tp_stream_cache *tp_stream_cache_new(const tp_gpt *m, int sinks, int window)
{
    tp_check(m->config.positions == TP_POSITIONS_ROPE,
             "a streaming cache needs rotary positions, not %s",
             tp_position_name(m->config.positions));
    tp_check(sinks >= 0 && window >= 1
                 && sinks + window <= m->config.n_positions,
             "a streaming cache of %d sinks and a window of %d for a model "
             "of %d positions", sinks, window, m->config.n_positions);
    tp_stream_cache *c = calloc(1, sizeof *c);
    tp_check(c != NULL, "out of memory");
    int layers = m->config.n_layer, h = m->modern.kv_heads;
    int d = m->config.n_embd / m->config.n_head;
    *c = (tp_stream_cache){&m->encoding, layers, sinks, window, 0, 0,
                           tp_arena_new("stream cache"), NULL, NULL};
    c->k = tp_arena_zeroed(c->arena, (size_t)layers, sizeof *c->k);
    c->v = tp_arena_zeroed(c->arena, (size_t)layers, sizeof *c->v);
    /* <<stream cache: a key and a value tensor per layer>> */
    for (int l = 0; l < layers; l++) {
        tp_shape shape = tp_shape4(1, h, sinks + window, d);
        c->k[l] = tp_tensor_new(c->arena, shape, TP_NO_GRAD);
        c->v[l] = tp_tensor_new(c->arena, shape, TP_NO_GRAD);
    }
    return c;
}
/* <<streaming: the cache>> */
size_t tp_stream_cache_bytes(const tp_stream_cache *c)
{
    size_t bytes = 0;
    for (int l = 0; l < c->layers; l++)
        bytes += 2 * (size_t)tp_tensor_count(c->k[l]) * sizeof(float);
    return bytes;
}

void tp_stream_cache_free(tp_stream_cache *c)
{
    if (c != NULL) {
        tp_arena_free(c->arena);
        free(c);
    }
}
/* <<streaming: attending from the cache>> */
static tp_tensor *stream_attend(void *store, tp_graph *g, int layer, int at,
                                tp_tensor *q, tp_tensor *k, tp_tensor *v)
{
    tp_stream_cache *c = store;
    int n = q->shape.dim[2];
    tp_copy(tp_slice(g->arena, c->k[layer], 2, at, n), k);
    tp_copy(tp_slice(g->arena, c->v[layer], 2, at, n), v);
    tp_tensor *keys = tp_position_rotate(
        g, c->encoding, tp_slice(g->arena, c->k[layer], 2, 0, at + n), 0);
    tp_tensor *values = tp_slice(g->arena, c->v[layer], 2, 0, at + n);
    tp_attention_options causal = {.causal = true};
    return tp_attention(g, tp_position_rotate(g, c->encoding, q, at), keys,
                        values, &causal);
}
/* <<streaming: reading the stream>> */
const float *tp_stream_extend(tp_gpt *m, tp_stream_cache *c,
                              const int *tokens, int n, tp_arena *scratch)
{
    tp_check(n >= 1 && c->length + n <= c->sinks + c->window,
             "tp_stream_extend: %d tokens into a cache holding %d of %d",
             n, c->length, c->sinks + c->window);
    const float *logits = tp_gpt_extend_with(m, stream_attend, c, c->length,
                                             tokens, n, scratch);
    c->length += n;
    c->seen += n;
    return logits;
}
/* <<streaming: reading the stream>> */
static void evict_oldest_of_window(tp_stream_cache *c)
{
    int s = c->sinks, kept = c->window - 1;
    for (int l = 0; l < c->layers; l++)
        for (int h = 0; h < c->k[l]->shape.dim[1]; h++) {
            tp_tensor *pair[2] = {c->k[l], c->v[l]};
            for (int i = 0; i < 2; i++) {
                float *row = pair[i]->data + h * pair[i]->stride[1];
                long d = pair[i]->stride[2];
                memmove(row + s * d, row + (s + 1) * d,
                        (size_t)kept * (size_t)d * sizeof *row);
            }
        }
    c->length--;
}

const float *tp_stream_step(tp_gpt *m, tp_stream_cache *c, int token,
                            tp_arena *scratch)
{
    if (c->length == c->sinks + c->window)
        evict_oldest_of_window(c);
    return tp_stream_extend(m, c, &token, 1, scratch);
}
/* <<streaming: chunks>> */
bool tp_chunk_allows(int query, int key, void *chunk)
{
    int l = *(const int *)chunk;
    return key <= query && key / l >= query / l - 1;
}
/* <<streaming: chunks>> */
tp_tensor *tp_chunk_attention(tp_graph *g, tp_tensor *q, tp_tensor *k,
                              tp_tensor *v, int chunk)
{
    tp_attention_dims n = tp_attention_check("tp_chunk_attention", q, k, v);
    tp_check(n.tq == n.tk && chunk >= 1,
             "tp_chunk_attention: %d queries, %d keys, chunks of %d", n.tq,
             n.tk, chunk);
    tp_check(!tp_needs_grad(g, 3, (tp_tensor *[]){q, k, v}),
             "tp_chunk_attention: a forward pass, for reading streams");
    tp_tensor *out = tp_tensor_new(g->arena, tp_shape4(n.batch, n.heads,
                                                       n.tq, n.dv),
                                   TP_NO_GRAD);
    /* <<chunks: attend each chunk to itself and the one before>> */
    tp_attention_options causal = {.causal = true};
    for (int first = 0; first < n.tq; first += chunk) {
        int rows = first + chunk <= n.tq ? chunk : n.tq - first;
        int from = first >= chunk ? first - chunk : 0;
        int keys = first + rows - from;
        tp_tensor *o = tp_attention(g, tp_slice(g->arena, q, 2, first, rows),
                                    tp_slice(g->arena, k, 2, from, keys),
                                    tp_slice(g->arena, v, 2, from, keys),
                                    &causal);
        tp_copy(tp_slice(g->arena, out, 2, first, rows), o);
    }
    return out;
}
