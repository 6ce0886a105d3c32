/* Generated from book/140-autodiff.nw; edit the book, not this file. */
#ifndef TP_TEST_GRADIENTS_H
#define TP_TEST_GRADIENTS_H

#include "tap.h"
#include "tp.h"

/* One test point: the gradients of forward() at inputs match central
   differences to a relative error of 1e-2. */
static inline void check_gradients(tp_forward_fn *forward,
                                   tp_tensor *const inputs[], int n,
                                   void *context, const char *what)
{
    tp_gradcheck_result r = tp_gradcheck(forward, inputs, n, context);
    if (!ok(r.error <= 1e-2, "%s: gradients match central differences",
            what))
        diag("input %d, element %ld: analytic %g, numeric %g, error %g",
             r.input, r.element, r.analytic, r.numeric, r.error);
    else
        note("largest relative error %.2g", r.error);
}

#endif
