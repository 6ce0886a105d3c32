/* Generated from book/310-order.nw; edit the book, not this file. */
#ifndef TP_POSITIONS_H
#define TP_POSITIONS_H

#include "tp/autodiff.h"
#include "tp/check.h"
#include "tp/train.h"

/* <<positions: the kinds>> */
typedef enum tp_position_kind {
    TP_POSITIONS_LEARNED,     /* a learned vector per position, added */
    TP_POSITIONS_SINUSOIDAL,  /* fixed sinusoids, added */
    TP_POSITIONS_RELATIVE,    /* learned vectors of clipped distances */
    TP_POSITIONS_T5,          /* a learned bias per head and bucket */
    TP_POSITIONS_ROPE,        /* queries and keys rotated */
    TP_POSITIONS_ALIBI,       /* a fixed bias, linear in the distance */
    TP_POSITIONS_NONE,
    TP_POSITION_KINDS
} tp_position_kind;

const char *tp_position_name(tp_position_kind kind);
int tp_position_parse(const char *name, tp_position_kind *kind,
                      tp_error *error);

/* <<positions: rotary embeddings>> */
#define TP_ROPE_BASE 10000.0

typedef struct tp_rope {
    int pairs;      /* d / 2 */
    double *theta;  /* [pairs]: the angle per position of each pair */
    float mscale;   /* the rotated vectors are multiplied by it */
} tp_rope;

void tp_rope_init(tp_rope *r, tp_arena *arena, int d);
tp_tensor *tp_rope_apply(tp_graph *g, tp_tensor *x, int first,
                         const tp_rope *r);

/* <<positions: biases of the scores>> */
enum { TP_RELATIVE_CLIP = 16, TP_T5_BUCKETS = 32, TP_T5_MAX_DISTANCE = 128 };

void tp_alibi_slopes(int heads, float *slopes);
tp_tensor *tp_alibi_bias(tp_arena *arena, int heads, int first, int tq,
                         int tk);
int tp_t5_bucket(int distance, bool bidirectional, int buckets,
                 int max_distance);
tp_tensor *tp_t5_bias(tp_graph *g, tp_tensor *table, int first, int tq,
                      int tk);
tp_tensor *tp_relative_scores(tp_graph *g, tp_tensor *q, tp_tensor *table,
                              int first, int tk, float scale);

/* <<positions: in a model>> */
typedef struct tp_position_encoding {
    tp_position_kind kind;
    int heads;
    tp_tensor **tables;  /* per layer: Shaw's or T5's; NULL otherwise */
    tp_rope rope;        /* RoPE's angles; pairs = 0 otherwise */
} tp_position_encoding;

void tp_position_encoding_make(tp_position_encoding *e, tp_position_kind kind,
                               tp_params *params, tp_arena *arena, int layers,
                               int heads, int width);
tp_tensor *tp_position_embed(tp_graph *g, const tp_position_encoding *e,
                             tp_tensor *learned, tp_tensor *x, int first);
tp_tensor *tp_position_rotate(tp_graph *g, const tp_position_encoding *e,
                              tp_tensor *x, int first);
tp_tensor *tp_position_bias(tp_graph *g, const tp_position_encoding *e,
                            int layer, tp_tensor *q, int first, int tk);
/* <<positions: in a model>> */
typedef struct tp_position_layer {
    const tp_position_encoding *encoding;
    int layer;
} tp_position_layer;

tp_tensor *tp_position_attend(tp_graph *g, tp_tensor **q, tp_tensor **k,
                              const void *layer);

#endif
