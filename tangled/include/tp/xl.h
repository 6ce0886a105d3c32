/* Generated from book/240-xl.nw; edit the book, not this file. */
#ifndef TP_XL_H
#define TP_XL_H

#include "tp/gpt.h"

/* <<xl: relative attention>> */
tp_tensor *tp_xl_relative_table(tp_arena *arena, int keys, int width);
tp_tensor *tp_xl_position_scores(tp_graph *g, tp_tensor *qv, tp_tensor *r,
                                 float scale);
tp_tensor *tp_xl_attention(tp_graph *g, tp_tensor *qkv, int length,
                           int heads, tp_tensor *r, tp_tensor *u,
                           tp_tensor *v, tp_tensor **weights);
/* <<xl: the model>> */
typedef struct tp_xl {
    tp_gpt *gpt;       /* embedding, blocks, final norm; no positions */
    tp_tensor *u, *v;  /* [H, d], shared by the layers */
    tp_tensor **w_kr;  /* per layer: [C, C] */
    tp_arena *arena;   /* holds the table of distances, */
    tp_tensor *table;  /* made once for the longest K read so far */
    tp_tensor **weights;  /* or NULL; per layer: receives [B, H, L, K] */
} tp_xl;

tp_xl *tp_xl_new(tp_gpt_config config);
void tp_xl_init(tp_xl *m, tp_rng *rng);
void tp_xl_free(tp_xl *m);
/* <<xl: the memory and the forward pass>> */
typedef struct tp_xl_memory {
    tp_arena *arena;
    int batch, capacity, length;
    tp_tensor **h;  /* per layer: [batch, capacity, C]; rows < length used */
} tp_xl_memory;

tp_xl_memory *tp_xl_memory_new(const tp_xl *m, int batch, int capacity);
void tp_xl_memory_clear(tp_xl_memory *memory);
void tp_xl_memory_free(tp_xl_memory *memory);
tp_tensor *tp_xl_forward(tp_graph *g, tp_xl *m, tp_xl_memory *memory,
                         const int *tokens, int batch, int length);
tp_tensor *tp_xl_loss(tp_graph *g, tp_xl *m, tp_xl_memory *memory,
                      const int *tokens, const int *targets, int batch,
                      int length);
/* <<xl: checkpoints>> */
tp_xl *tp_xl_load(const char *path, tp_error *error);

#endif
