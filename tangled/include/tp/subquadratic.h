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

#endif
