/* Generated from book/208-vanilla.nw; edit the book, not this file. */
#ifndef TP_VANILLA_H
#define TP_VANILLA_H

#include "tp/block.h"

/* <<vanilla: the model>> */
typedef struct tp_vanilla_config {
    int source_vocab, target_vocab, n_positions, n_layer, n_head, n_embd,
        n_inner;
    int post_ln;  /* 1: post-LN as in 2017; 0: pre-LN */
} tp_vanilla_config;

enum { TP_PAD = 0, TP_BOS = 1, TP_EOS = 2 };

typedef struct tp_vanilla {
    tp_vanilla_config config;
    tp_arena *arena;
    tp_params params;
    tp_tensor *source_wte, *target_wte, *sinusoids;
    tp_tensor *ln_e_w, *ln_e_b, *ln_d_w, *ln_d_b;  /* pre-LN: the last norms */
    tp_block *encoder, *decoder;
    tp_activation *activation;  /* of the MLPs: tp_relu, as in the paper */
    bool decoder_sees_all;  /* no causal mask in the decoder (Chapter 320) */
} tp_vanilla;

tp_vanilla *tp_vanilla_new(tp_vanilla_config config);
void tp_vanilla_init(tp_vanilla *m, tp_rng *rng);
void tp_vanilla_free(tp_vanilla *m);

/* <<vanilla: running it>> */
typedef struct tp_source {
    const int *tokens;             /* [batch, length] */
    const unsigned char *padding;  /* [batch, length], nonzero: padding; or NULL */
    int batch, length;
} tp_source;

tp_tensor *tp_vanilla_encode(tp_graph *g, tp_vanilla *m, const tp_source *s);
tp_tensor *tp_vanilla_decode(tp_graph *g, tp_vanilla *m, tp_tensor *memory,
                             const tp_source *s, const int *target,
                             int length, tp_tensor **cross);
tp_tensor *tp_vanilla_loss(tp_graph *g, tp_vanilla *m, const tp_source *s,
                           const int *target, int length, float smoothing);

/* <<vanilla: decoding>> */
int tp_vanilla_greedy(tp_vanilla *m, const int *source, int length,
                      int max, int *out);
int tp_vanilla_beam(tp_vanilla *m, const int *source, int length, int width,
                    int max, int *out);

/* <<vanilla: checkpoints>> */
int tp_vanilla_save(const tp_vanilla *m, const char *path, tp_error *error);
tp_vanilla *tp_vanilla_load(const char *path, tp_error *error);

#endif
