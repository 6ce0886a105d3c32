/* Generated from book/370-noise.nw; edit the book, not this file. */
#ifndef TP_NOISE_H
#define TP_NOISE_H

#include "tp/bert.h"
#include "tp/gpt.h"

/* <<noise: padding>> */
typedef struct tp_padding_cost {
    double real_tokens, computed_tokens;  /* sum l_s; sum B T */
    double real_pairs, computed_pairs;    /* sum l_s^2; sum B T^2 */
} tp_padding_cost;

tp_padding_cost tp_padding_waste(const int *lengths, int count, int batch);

/* <<noise: packing>> */
int tp_pack_lengths(const int *lengths, int count, int length, int *row,
                    int *offset);
tp_tensor *tp_segment_mask(tp_arena *arena, const int *segments, int batch,
                           int length, int heads);
tp_tensor *tp_gpt_forward_packed(tp_graph *g, tp_gpt *m, const int *tokens,
                                 const int *segments, int batch, int length);

/* <<noise: token pruning>> */
void tp_attention_received(const tp_tensor *weights,
                           const unsigned char *padding, float *received);
void tp_tokens_to_keep(const float *received, const unsigned char *padding,
                       int batch, int length, int keep, int *rows);
int tp_pruning_check(int layers, int layer, double keep, tp_error *error);
int tp_pruning_kept(int length, double keep);
tp_tensor *tp_bert_classify_pruned(tp_graph *g, tp_bert *m,
                                   const tp_bert_input *in, int layer,
                                   double keep);

/* <<noise: the task>> */
enum { TP_NEEDLE_FILLERS = 24 };
int tp_needle_vocabulary(int classes);
int tp_needle_example(int length, int classes, int needles, tp_rng *rng,
                      int *tokens);

/* <<noise: gating>> */
enum { TP_NEEDLE_NOISE = 8 };
int tp_needle_add_noise(int *tokens, int length, int classes, double share,
                        tp_rng *rng);

typedef struct tp_attention_gates {
    tp_tensor **w, **b;  /* per layer: W_theta [C, C] and b_theta [C] */
} tp_attention_gates;

tp_attention_gates tp_bert_add_gates(tp_bert *m, tp_rng *rng);
tp_tensor *tp_bert_classify_gated(tp_graph *g, tp_bert *m,
                                  const tp_attention_gates *gates,
                                  const tp_bert_input *in,
                                  tp_tensor **gate_values);

#endif
