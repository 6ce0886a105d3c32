/* Generated from book/264-reformer.nw; edit the book, not this file. */
#ifndef TP_REFORMER_H
#define TP_REFORMER_H

#include <stdint.h>

#include "tp/block.h"
#include "tp/gpt.h"

/* <<reformer: interface>> */
typedef struct tp_lsh_options {
    int buckets;    /* n_b: a power of two; 1 puts every position in one */
    int rounds;     /* n_r: independent hashings, at least 1 */
    int chunk;      /* m: positions per chunk, at least 1 */
    bool causal;    /* no position attends to a later one */
    uint64_t seed;  /* of the random rotations */
} tp_lsh_options;

#define TP_LSH_SELF 1e5  /* subtracted from a position's own score */

tp_tensor *tp_lsh_attention(tp_graph *g, tp_tensor *qk, tp_tensor *v,
                            const tp_lsh_options *o);
/* <<reformer: interface>> */
typedef struct tp_lsh_plan {
    int t, rounds, chunk;
    int *bucket;  /* [rounds][t]: the bucket of each position */
    int *order;   /* [rounds][t]: positions sorted by (bucket, position) */
    int *slot;    /* [rounds][t]: where each position is in order */
} tp_lsh_plan;

tp_lsh_plan tp_lsh_plan_make(tp_arena *arena, const tp_tensor *x,
                             const tp_lsh_options *o);
int tp_lsh_shared_rounds(const tp_lsh_plan *p, int i, int j);
double tp_lsh_recall(tp_arena *arena, const tp_tensor *x,
                     const tp_lsh_options *o, int top);
/* <<reformer: interface>> */
typedef struct tp_reversible_layer {
    tp_segment *F, *G;
    void *F_context, *G_context;
} tp_reversible_layer;

tp_tensor *tp_reversible(tp_graph *g, const tp_reversible_layer *layers,
                         int n, tp_tensor *x, tp_arena *recompute);
tp_tensor *tp_reversible_stored(tp_graph *g,
                                const tp_reversible_layer *layers, int n,
                                tp_tensor *x);
/* <<reformer: interface>> */
tp_tensor *tp_chunked(tp_graph *g, tp_segment *f, void *context,
                      tp_tensor *x, int chunks, tp_arena *scratch);
/* <<reformer: interface>> */
typedef struct tp_reformer_layer {
    const tp_block *block;
    int heads;
    const tp_lsh_options *lsh;  /* NULL: dense causal attention */
    int ff_chunks;              /* 1: the MLP over all positions at once */
    tp_arena *ff_scratch;       /* the chunks' arena when ff_chunks > 1 */
} tp_reformer_layer;

tp_tensor *tp_reformer_attention(tp_graph *g, void *layer, tp_tensor *x);
tp_tensor *tp_reformer_feed_forward(tp_graph *g, void *layer, tp_tensor *x);
/* <<reformer: interface>> */
typedef struct tp_reformer_lm {
    tp_gpt *gpt;               /* the parameters, a GPT's */
    tp_lsh_options *lsh;       /* [n_layer]: each layer's LSH attention */
    tp_reformer_layer *layer;  /* [n_layer] */
    tp_reversible_layer *rev;  /* [n_layer]: F attention, G feed-forward */
    tp_arena *recompute, *ff_scratch;
} tp_reformer_lm;

tp_reformer_lm *tp_reformer_lm_new(tp_gpt_config config,
                                   const tp_lsh_options *lsh, int ff_chunks);
void tp_reformer_lm_free(tp_reformer_lm *m);
tp_tensor *tp_reformer_lm_forward(tp_graph *g, tp_reformer_lm *m,
                                  const int *tokens, int batch, int length);
tp_tensor *tp_reformer_lm_loss(tp_graph *g, void *m, const int *tokens,
                               const int *targets, int batch, int length);

#endif
