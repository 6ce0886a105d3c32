/* Generated from book/256-performer.nw; edit the book, not this file. */
#ifndef TP_PERFORMER_H
#define TP_PERFORMER_H

#include <stdint.h>

#include "tp/attention.h"

/* <<performer: interface>> */
typedef enum tp_feature_draw {
    TP_FEATURES_IID,         /* every entry of W drawn from N(0, 1) */
    TP_FEATURES_ORTHOGONAL,  /* blocks of orthogonal rows, chi norms */
} tp_feature_draw;

tp_tensor *tp_performer_projection(tp_arena *arena, int m, int d,
                                   uint64_t seed, tp_feature_draw draw);
/* <<performer: interface>> */
typedef enum tp_favor_shift {
    TP_FAVOR_UNSHIFTED,  /* exactly phi(x) */
    TP_FAVOR_PER_ROW,    /* each row divided by its largest feature */
    TP_FAVOR_PER_HEAD,   /* each head divided by its largest feature */
} tp_favor_shift;

tp_tensor *tp_favor_features(tp_graph *g, tp_tensor *x, const tp_tensor *w,
                             tp_favor_shift shift);
tp_tensor *tp_performer_attention(tp_graph *g, tp_tensor *q, tp_tensor *k,
                                  tp_tensor *v, const tp_tensor *w,
                                  const tp_attention_options *o);
/* <<performer: interface>> */
enum { TP_PERFORMER_FEATURES = 64 };

tp_tensor *tp_performer_fixed(tp_graph *g, tp_tensor *q, tp_tensor *k,
                              tp_tensor *v, const tp_attention_options *o);

#endif
