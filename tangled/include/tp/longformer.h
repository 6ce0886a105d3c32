/* Generated from book/272-longformer.nw; edit the book, not this file. */
#ifndef TP_LONGFORMER_H
#define TP_LONGFORMER_H

#include <stdint.h>

#include "tp/blocksparse.h"
#include "tp/block.h"

/* <<longformer: interface>> */
typedef struct tp_longformer_pattern {
    int length;          /* T */
    int window;          /* w >= 1: floor(w/2) positions on each side */
    int dilation;        /* delta >= 1: the stride inside the window */
    bool causal;         /* the window's left half only */
    int globals;         /* |G| */
    const int *global;   /* G: increasing positions in [0, T) */
    bool global_rows;    /* the variant: G's rows see every key here */
} tp_longformer_pattern;

int tp_longformer_check(const tp_longformer_pattern *p, tp_error *error);
bool tp_longformer_allows(int i, int j, void *pattern);
tp_block_layout *tp_longformer_layout(tp_arena *arena,
                                      const tp_longformer_pattern *p,
                                      int block);
/* <<longformer: interface>> */
tp_tensor *tp_longformer_attention(tp_graph *g, tp_tensor *const local[3],
                                   tp_tensor *const global[3],
                                   const tp_longformer_pattern *p,
                                   const tp_block_layout *layout,
                                   const unsigned char *key_padding);
/* <<longformer: interface>> */
typedef struct tp_longformer_config {
    int vocab, length, layers, heads, width, classes;
    int window, block;
} tp_longformer_config;

typedef struct tp_longformer {
    tp_longformer_config config;
    tp_params params;
    tp_arena *arena;
    tp_tensor *wte, *wpe, *ln_f_w, *ln_f_b, *head_w, *head_b;
    tp_block *blocks;
    tp_tensor **g_attn_w, **g_attn_b;  /* [layers]: the global projections */
} tp_longformer;

tp_longformer *tp_longformer_new(const tp_longformer_config *c, uint64_t seed);
void tp_longformer_free(tp_longformer *m);
tp_tensor *tp_longformer_logits(tp_graph *g, const tp_longformer *m,
                                const int *tokens, int batch, bool global,
                                const tp_block_layout *layout);

#endif
