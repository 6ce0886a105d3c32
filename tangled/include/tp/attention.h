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

/* <<attention: pieces for other attention operators>> */
typedef struct tp_attention_dims {
    int batch, heads, kv_heads, tq, tk, d, dv;
} tp_attention_dims;

tp_attention_dims tp_attention_check(const char *op, const tp_tensor *q,
                                     const tp_tensor *k, const tp_tensor *v);
tp_tensor tp_head(const tp_tensor *t, int b, int h);
tp_tensor tp_head_grad(const tp_tensor *t, int b, int h);
tp_tensor tp_transposed_view(tp_tensor m);
bool tp_attention_allows(const tp_attention_options *o, int b, int i, int j,
                         int tq, int tk);

#endif
