/* Generated from book/350-instability.nw; edit the book, not this file. */
#ifndef TP_STABILITY_H
#define TP_STABILITY_H

#include "tp/gpt.h"

tp_block_depth *tp_gpt_depth(tp_gpt *m);
void tp_gpt_add_qk_norm(tp_gpt *m);
void tp_scale_weights(const tp_params *params, const char *part,
                      float factor);
void tp_layer_grad_norms(const tp_params *params, int layers, double *norms);
float *tp_params_snapshot(const tp_params *params);
double tp_update_ratio(const tp_params *params, float *previous);

#endif
