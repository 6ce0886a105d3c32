/* Generated from book/208-vanilla.nw; edit the book, not this file. */
#ifndef TP_TEST_MODELS_H
#define TP_TEST_MODELS_H

#include "tp.h"

static inline void enlarge_weights(const tp_params *params, tp_rng *rng)
{
    for (int i = 0; i < params->count; i++) {
        tp_tensor *t = params->items[i].tensor;
        for (long j = 0; j < tp_tensor_count(t); j++)
            t->data[j] += 0.3f * tp_rng_normal(rng);
    }
}

#endif
