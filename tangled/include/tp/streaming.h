/* Generated from book/360-streaming.nw; edit the book, not this file. */
#ifndef TP_STREAMING_H
#define TP_STREAMING_H

#include "tp/gpt.h"

/* <<streaming: the cache of sinks and a window>> */
typedef struct tp_stream_cache {
    const tp_position_encoding *encoding;  /* the model's rotary angles */
    int layers;
    int sinks, window;  /* S first tokens kept for ever, W latest */
    int length;         /* tokens held now: at most S + W */
    long seen;          /* tokens read since the stream began */
    tp_arena *arena;
    tp_tensor **k, **v; /* per layer [1, H_kv, S + W, d]; keys unrotated */
} tp_stream_cache;

tp_stream_cache *tp_stream_cache_new(const tp_gpt *m, int sinks, int window);
void tp_stream_cache_free(tp_stream_cache *c);
size_t tp_stream_cache_bytes(const tp_stream_cache *c);
const float *tp_stream_extend(tp_gpt *m, tp_stream_cache *c,
                              const int *tokens, int n, tp_arena *scratch);
const float *tp_stream_step(tp_gpt *m, tp_stream_cache *c, int token,
                            tp_arena *scratch);
/* <<streaming: chunk attention>> */
bool tp_chunk_allows(int query, int key, void *chunk);
tp_tensor *tp_chunk_attention(tp_graph *g, tp_tensor *q, tp_tensor *k,
                              tp_tensor *v, int chunk);

#endif
