/* Generated from book/305-quadratic.nw; edit the book, not this file. */
#ifndef TP_SUBQUADRATIC_H
#define TP_SUBQUADRATIC_H

#include "tp/attention.h"

tp_tensor *tp_attention_tiled(tp_graph *g, tp_tensor *q, tp_tensor *k,
                              tp_tensor *v, const tp_attention_options *options);
tp_tensor *tp_linformer(tp_graph *g, tp_tensor *q, tp_tensor *k, tp_tensor *v,
                        tp_tensor *e, tp_tensor *f);
tp_tensor *tp_linear_attention(tp_graph *g, tp_tensor *q, tp_tensor *k,
                               tp_tensor *v, const tp_attention_options *o);
tp_tensor *tp_linear_attention_relu(tp_graph *g, tp_tensor *q, tp_tensor *k,
                                    tp_tensor *v, const tp_attention_options *o);
tp_tensor *tp_linear_attention_of_features(tp_graph *g, tp_tensor *qf,
                                           tp_tensor *kf, tp_tensor *v,
                                           const tp_attention_options *o);

/* <<subquadratic: the tiles' pieces, for other operators>> */
tp_tensor tp_tile_rows(tp_tensor m, int first, int count);
tp_tensor tp_tile_over(float *data, int rows, int cols);
void tp_tile_mask(const tp_attention_options *o, int b, int i0, int j0,
                  tp_tensor *s, tp_attention_dims n);
void tp_tile_online_softmax(tp_tensor *s, float *max, float *sum,
                            tp_tensor *o);
void tp_tile_finish_rows(tp_tensor *o, const float *max, const float *sum,
                         float *lse);
void tp_tile_weights_from_lse(tp_tensor *p, const float *lse);
void tp_tile_row_dots(const tp_tensor *out, tp_tensor *delta);

#endif
