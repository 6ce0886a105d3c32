/* Generated from book/208-vanilla.nw; edit the book, not this file. */
#ifndef TP_TEST_MODELS_H
#define TP_TEST_MODELS_H

#include <stdlib.h>

#include "tap.h"
#include "tp.h"

static inline void enlarge_weights(const tp_params *params, tp_rng *rng)
{
    for (int i = 0; i < params->count; i++) {
        tp_tensor *t = params->items[i].tensor;
        for (long j = 0; j < tp_tensor_count(t); j++)
            t->data[j] += 0.3f * tp_rng_normal(rng);
    }
}
/* Generated from book/208-vanilla.nw; edit the book, not this file. */
static inline void check_model_gradients(tp_forward_fn *forward,
                                         const tp_params *params, void *model,
                                         const char *what)
{
    tp_tensor **inputs = calloc((size_t)params->count, sizeof *inputs);
    for (int i = 0; i < params->count; i++)
        inputs[i] = params->items[i].tensor;
    tp_gradcheck_result r = tp_gradcheck(forward, inputs, params->count, model);
    if (!ok(r.error <= 1e-2, "%s: gradients match central differences", what))
        diag("%s, element %ld: analytic %g, numeric %g",
             params->items[r.input].name, r.element, r.analytic, r.numeric);
    else
        note("largest relative error %.2g", r.error);
    free(inputs);
}

#endif
