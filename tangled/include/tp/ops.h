/* Generated from book/150-operators.nw; edit the book, not this file. */
#ifndef TP_OPS_H
#define TP_OPS_H

#include "tp/autodiff.h"

/* <<ops: arithmetic>> */
tp_tensor *tp_add(tp_graph *g, tp_tensor *a, tp_tensor *b);
tp_tensor *tp_mul(tp_graph *g, tp_tensor *a, tp_tensor *b);
tp_tensor *tp_scale(tp_graph *g, tp_tensor *x, float s);
tp_tensor *tp_mean(tp_graph *g, tp_tensor *x);
tp_tensor *tp_linear(tp_graph *g, tp_tensor *x, tp_tensor *w, tp_tensor *b);
tp_tensor *tp_residual(tp_graph *g, tp_tensor *x, tp_tensor *f);

/* <<ops: activations>> */
tp_tensor *tp_relu(tp_graph *g, tp_tensor *x);
tp_tensor *tp_gelu(tp_graph *g, tp_tensor *x);
tp_tensor *tp_gelu_tanh(tp_graph *g, tp_tensor *x);
tp_tensor *tp_silu(tp_graph *g, tp_tensor *x);
tp_tensor *tp_swiglu(tp_graph *g, tp_tensor *gate, tp_tensor *value);

/* <<ops: normalisation>> */
tp_tensor *tp_layernorm(tp_graph *g, tp_tensor *x, tp_tensor *gain,
                        tp_tensor *bias, float eps);
tp_tensor *tp_rmsnorm(tp_graph *g, tp_tensor *x, tp_tensor *gain, float eps);

/* <<ops: softmax and the loss>> */
tp_tensor *tp_softmax(tp_graph *g, tp_tensor *x);
tp_tensor *tp_log_softmax(tp_graph *g, tp_tensor *x);
tp_tensor *tp_cross_entropy(tp_graph *g, tp_tensor *logits,
                            const int *targets, int ignore);
tp_tensor *tp_cross_entropy_smoothed(tp_graph *g, tp_tensor *logits,
                                     const int *targets, int ignore,
                                     float smoothing);

/* <<ops: embedding and dropout>> */
tp_tensor *tp_embedding(tp_graph *g, tp_tensor *table, const int *ids,
                        tp_shape shape);
tp_tensor *tp_dropout(tp_graph *g, tp_tensor *x, float p, tp_rng *rng);

/* <<ops: reshaping and joining>> */
tp_tensor *tp_permute(tp_arena *arena, const tp_tensor *t, const int order[]);
tp_tensor *tp_contiguous(tp_graph *g, tp_tensor *x);
tp_tensor *tp_concat(tp_graph *g, int n, tp_tensor *const parts[], int d);

#endif
