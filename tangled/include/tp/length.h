/* Generated from book/345-length.nw; edit the book, not this file. */
#ifndef TP_LENGTH_H
#define TP_LENGTH_H

#include "tp/positions.h"

/* <<length: scaling RoPE>> */
typedef enum tp_rope_scaling {
    TP_ROPE_PLAIN, TP_ROPE_INTERPOLATION, TP_ROPE_NTK, TP_ROPE_YARN,
    TP_ROPE_SCALINGS
} tp_rope_scaling;

const char *tp_rope_scaling_name(tp_rope_scaling method);
int tp_rope_scaling_parse(const char *name, tp_rope_scaling *method,
                          tp_error *error);
int tp_rope_scale(tp_rope *r, tp_rope_scaling method, double factor,
                  int trained, tp_error *error);

#endif
