/* Generated from book/320-decoding.nw; edit the book, not this file. */
#ifndef TP_DECODING_H
#define TP_DECODING_H

#include <stdbool.h>

#include "tp/gpt.h"

/* <<decoding: interface>> */
int tp_gpt_generate(tp_gpt *m, const int *prompt, int n_prompt, int n_new,
              float temperature, bool cached, tp_rng *rng, int *out,
              double *seconds, tp_error *error);
/* <<decoding: interface>> */
typedef struct tp_speculation {
    long rounds;    /* passes of the target after the prompt */
    long proposed;  /* tokens the draft proposed */
    long accepted;  /* of them, the ones the target kept */
} tp_speculation;

int tp_speculative_decode(tp_gpt *target, tp_gpt *draft, const int *prompt,
                          int n_prompt, int n_new, int k, float temperature,
                          tp_rng *rng, int *out, tp_speculation *stats,
                          tp_error *error);
/* <<decoding: interface>> */
double tp_speculative_residual(double *p, const double *q, int vocab);

#endif
