/* Generated from book/990-hidden-tests.nw; edit the book, not this file. */
/* The hidden tests of exercise quadratic.online-softmax. */
#include <math.h>

#include "tap.h"
#include "tp.h"

static tp_arena *arena;
static tp_rng rng;

static void compare(const char *what, int tq, int tk, int d, float size,
                    bool growing)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *q = tp_tensor_normal(arena, tp_shape4(1, 2, tq, d), TP_NO_GRAD, &rng);
    tp_tensor *k = tp_tensor_normal(arena, tp_shape4(1, 2, tk, d), TP_NO_GRAD, &rng);
    tp_tensor *v = tp_tensor_normal(arena, tp_shape4(1, 2, tk, d), TP_NO_GRAD, &rng);
    for (long i = 0; i < (long)2 * tq * d; i++)
        q->data[i] *= size;
    for (long i = 0; growing && i < (long)2 * tk * d; i++)
        k->data[i] = fabsf(k->data[i]) * (float)(i % ((long)tk * d) / d) / tk;
    tp_attention_options options = {.scale = 1.0f};
    tp_tensor *tiled = tp_attention_tiled(&g, q, k, v, &options);
    tp_tensor *naive = tp_attention(&g, q, k, v, &options);
    float worst = tp_max_abs_diff(tiled, naive);
    if (!ok(isfinite(worst) && worst <= 1e-4f,
            "%s: the tiled output equals the naive one", what))
        diag("largest difference %g", worst);
}

int main(void)
{
    arena = tp_arena_new("hidden");
    rng = tp_rng_seeded(2027, 5);
    if (exercise_tests("quadratic.online-softmax")) {
        compare("scores near 200", 40, 300, 16, 14.0f, false);
        compare("the largest scores in the last tile", 33, 520, 8, 3.0f, true);
        compare("one query, a thousand keys", 1, 1000, 32, 1.0f, false);
    }
    tp_arena_free(arena);
    return done_testing();
}
