/* Generated from book/355-oversmoothing.nw; edit the book, not this file. */
#ifndef TP_SMOOTHING_H
#define TP_SMOOTHING_H

#include "tp/autodiff.h"
#include "tp/gpt.h"
#include "tp/random.h"

/* <<smoothing: measures>> */
double tp_mean_cosine(const tp_tensor *x);
double tp_rank_residual(const tp_tensor *x);
double tp_effective_rank(const tp_tensor *x);
void tp_symmetric_eigenvalues(double *a, int n, double *values);

/* <<smoothing: remedies>> */
tp_tensor *tp_drop_heads(tp_graph *g, tp_tensor *heads, float p, tp_rng *rng);
tp_tensor *tp_pure_attention(tp_graph *g, tp_tensor *x, tp_tensor *w,
                             int heads, bool skip);
void tp_gpt_add_rezero(tp_gpt *m);

#endif
