/* Generated from book/160-attention.nw; edit the book, not this file. */
#ifndef TP_ATTENTION_H
#define TP_ATTENTION_H

#include <stdbool.h>

#include "tp/autodiff.h"

/* <<attention: options>> */
typedef bool tp_attention_pattern(int query, int key, void *context);

typedef struct tp_attention_options {
    bool causal;
    const unsigned char *key_padding;  /* [B, Tk]; nonzero = padding */
    tp_tensor *bias;                   /* [H, Tq, Tk] or [B, H, Tq, Tk] */
    const unsigned char *allowed;      /* [Tq, Tk]; nonzero = may attend */
    tp_attention_pattern *pattern;     /* or a function of (query, key) */
    void *pattern_context;
    tp_tensor **weights;               /* receives [B, H, Tq, Tk] */
    float scale;                       /* 0: 1 / sqrt(d) */
} tp_attention_options;

tp_tensor *tp_attention(tp_graph *g, tp_tensor *q, tp_tensor *k,
                        tp_tensor *v, const tp_attention_options *options);

#endif
