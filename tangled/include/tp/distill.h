/* Generated from book/320-decoding.nw; edit the book, not this file. */
#ifndef TP_DISTILL_H
#define TP_DISTILL_H

#include "tp/ops.h"

/* <<distill: interface>> */
tp_tensor *tp_distill_divergence(tp_graph *g, tp_tensor *logits,
                                 const tp_tensor *teacher, float temperature);
tp_tensor *tp_distill_loss(tp_graph *g, tp_tensor *logits,
                           const tp_tensor *teacher, const int *targets,
                           float temperature, float weight);

#endif
