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
/* <<longformer: interface>> */
int tp_longformer_save(const tp_longformer *m, const char *path,
                       tp_error *error);
tp_longformer *tp_longformer_load(const char *path, tp_error *error);
/* <<longformer: interface>> */
enum { TP_LONGFORMER_NOISE = 12, TP_LONGFORMER_CLASSES = 4,
       TP_LONGFORMER_VOCAB = 1 + TP_LONGFORMER_NOISE + TP_LONGFORMER_CLASSES };

void tp_longformer_documents(tp_rng *rng, int batch, int length,
                             int markers, int *tokens, int *labels);

#endif
