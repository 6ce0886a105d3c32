/* Generated from book/990-hidden-tests.nw; edit the book, not this file. */
/* The hidden tests of exercises ops.layernorm-backward and ops.gelu-derivative. */
#include "gradients.h"

static tp_arena *arena;
static tp_rng rng;

static tp_tensor *layernorm_twice(tp_graph *g, tp_tensor *const in[],
                                  void *context)
{
    (void)context;
    tp_tensor *once = tp_layernorm(g, in[0], in[1], in[2], 1e-5f);
    tp_tensor *again = tp_layernorm(g, in[0], in[1], NULL, 1e-5f);
    return tp_mul(g, once, again);
}

static void check_rows_of(int c, float offset, float gain_sign)
{
    tp_tensor *x = tp_tensor_normal(arena, tp_shape2(3, c), TP_WITH_GRAD, &rng);
    tp_tensor *gain = tp_tensor_normal(arena, tp_shape1(c), TP_WITH_GRAD, &rng);
    tp_tensor *bias = tp_tensor_normal(arena, tp_shape1(c), TP_WITH_GRAD, &rng);
    for (int i = 0; i < 3 * c; i++)
        x->data[i] = offset + x->data[i];
    for (int j = 0; j < c; j++)
        gain->data[j] = gain_sign * (0.5f + fabsf(gain->data[j]));
    char what[64];
    snprintf(what, sizeof what, "rows of %d near %g, gain of sign %+g", c,
             offset, gain_sign);
    check_gradients(layernorm_twice, (tp_tensor *[]){x, gain, bias}, 3, NULL,
                    what);
}

static void row_of_one(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_tensor *x = tp_tensor_new(arena, tp_shape2(4, 1), TP_WITH_GRAD);
    tp_tensor *gain = tp_tensor_new(arena, tp_shape1(1), TP_WITH_GRAD);
    for (int i = 0; i < 4; i++)
        x->data[i] = (float)(i * i) - 3.0f;
    gain->data[0] = 2.0f;
    tp_tensor *y = tp_layernorm(&g, x, gain, NULL, 1e-5f);
    tp_backward(&g, tp_sum(&g, y));
    float largest = 0.0f;
    for (int i = 0; i < 4; i++)
        largest = fmaxf(largest, fabsf(x->grad[i]));
    near(largest, 0.0f, 1e-6, "a row of one element has no input gradient");
}

/* <<hidden ops: the tests>> */
static void gelu_derivative_everywhere(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_tensor *x = tp_tensor_new(arena, tp_shape1(241), TP_WITH_GRAD);
    for (int i = 0; i < 241; i++)
        x->data[i] = -12.0f + 0.1f * (float)i;
    tp_backward(&g, tp_sum(&g, tp_gelu(&g, x)));
    double worst = 0.0;
    for (int i = 0; i < 241; i++) {
        double v = x->data[i], cdf = 0.5 * (1.0 + erf(v / sqrt(2.0)));
        double expected = cdf + v * exp(-0.5 * v * v) / sqrt(2.0 * 3.14159265358979323846);
        worst = fmax(worst, fabs(x->grad[i] - expected));
    }
    near(worst, 0.0, 1e-5, "GELU's derivative is its formula on [-12, 12]");
}

int main(void)
{
    arena = tp_arena_new("hidden");
    rng = tp_rng_seeded(2027, 3);
    if (exercise_tests("ops.layernorm-backward")) {
        check_rows_of(5, 0.0f, 1.0f);
        check_rows_of(5, 30.0f, -1.0f);
        check_rows_of(16, -4.0f, -1.0f);
        row_of_one();
    }
    if (exercise_tests("ops.gelu-derivative"))
        gelu_derivative_everywhere();
    tp_arena_free(arena);
    return done_testing();
}
