/* Generated from book/990-hidden-tests.nw; edit the book, not this file. */
/* The hidden tests of exercise positions.rope-rotate. */
#include <math.h>

#include "tap.h"
#include "tp.h"

enum { WIDTH = 12, AT = 37 };

int main(void)
{
    tp_arena *arena = tp_arena_new("hidden");
    tp_rng rng = tp_rng_seeded(2027, 13);
    if (exercise_tests("positions.rope-rotate")) {
        tp_rope r;
        tp_rope_init(&r, arena, WIDTH);
        tp_tensor *x = tp_tensor_normal(arena, tp_shape4(1, 1, 1, WIDTH),
                                        TP_WITH_GRAD, &rng);
        tp_tensor *u = tp_tensor_normal(arena, tp_shape4(1, 1, 1, WIDTH),
                                        TP_NO_GRAD, &rng);
        tp_graph g = tp_graph_on(arena);
        tp_tensor *y = tp_rope_apply(&g, x, AT, &r);
        double forward = 0.0, backward = 0.0;
        for (int p = 0; p < WIDTH / 2; p++) {
            double angle = (double)AT * r.theta[p], c = r.mscale * cos(angle),
                   s = r.mscale * sin(angle);
            double x0 = x->data[2 * p], x1 = x->data[2 * p + 1];
            forward = fmax(forward, fabs(y->data[2 * p] - (c * x0 - s * x1)));
            forward = fmax(forward, fabs(y->data[2 * p + 1] - (s * x0 + c * x1)));
        }
        near(forward, 0.0, 1e-5, "each rotated coordinate is the formula's");
        tp_backward(&g, tp_sum(&g, tp_mul(&g, y, u)));
        for (int p = 0; p < WIDTH / 2; p++) {
            double angle = (double)AT * r.theta[p], c = r.mscale * cos(angle),
                   s = r.mscale * sin(angle);
            double u0 = u->data[2 * p], u1 = u->data[2 * p + 1];
            backward = fmax(backward, fabs(x->grad[2 * p] - (c * u0 + s * u1)));
            backward = fmax(backward,
                            fabs(x->grad[2 * p + 1] - (-s * u0 + c * u1)));
        }
        near(backward, 0.0, 1e-5, "the gradient is the transposed rotation");
    }
    tp_arena_free(arena);
    return done_testing();
}
