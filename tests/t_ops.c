/* Generated from book/150-operators.nw; edit the book, not this file. */
#include "gradients.h"
#include "tp/fastexp.h"

static tp_arena *arena;
static tp_rng rng;

/* <<t-ops: helpers>> */
static tp_tensor *random_tensor(tp_shape shape, tp_grad_mode grad)
{
    return tp_tensor_normal(arena, shape, grad, &rng);
}

static tp_graph forward_graph(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    return g;
}

#define FORWARD(name, call)                                            \
    static tp_tensor *name(tp_graph *g, tp_tensor *const in[], void *c) \
    {                                                                  \
        (void)c;                                                       \
        return call;                                                   \
    }

/* <<t-ops: arithmetic>> */
FORWARD(add_forward, tp_add(g, in[0], in[1]))
FORWARD(mul_forward, tp_mul(g, in[0], in[1]))
FORWARD(scale_forward, tp_scale(g, in[0], -2.5f))
FORWARD(mean_forward, tp_mean(g, in[0]))
FORWARD(linear_forward, tp_linear(g, in[0], in[1], in[2]))

static void arithmetic(void)
{
    tp_graph g = forward_graph();
    tp_tensor *a = random_tensor(tp_shape3(2, 3, 4), TP_WITH_GRAD);
    tp_tensor *bias = random_tensor(tp_shape1(4), TP_WITH_GRAD);
    tp_tensor *gain = random_tensor(tp_shape2(3, 4), TP_WITH_GRAD);
    tp_tensor *y = tp_add(&g, a, bias), *z = tp_mul(&g, a, gain);
    ok(*tp_at3(y, 1, 2, 3) == *tp_at3(a, 1, 2, 3) + *tp_at1(bias, 3)
           && *tp_at3(z, 1, 2, 3) == *tp_at3(a, 1, 2, 3) * *tp_at2(gain, 2, 3),
       "a [4] bias and a [3, 4] gain broadcast over [2, 3, 4]");
    check_gradients(add_forward, (tp_tensor *[]){a, bias}, 2, NULL,
                    "add with a broadcast bias");
    check_gradients(mul_forward, (tp_tensor *[]){a, gain}, 2, NULL,
                    "mul with a broadcast gain");
    check_gradients(scale_forward, (tp_tensor *[]){a}, 1, NULL, "scale");
    check_gradients(mean_forward, (tp_tensor *[]){a}, 1, NULL, "mean");
    tp_tensor *w = random_tensor(tp_shape2(4, 5), TP_WITH_GRAD);
    tp_tensor *b = random_tensor(tp_shape1(5), TP_WITH_GRAD);
    check_gradients(linear_forward, (tp_tensor *[]){a, w, b}, 3, NULL,
                    "linear on [2, 3, 4]");
    /* <<t-ops: the linear layer's bias, fused>> */
    tp_tensor *affine = tp_linear(&g, a, w, b);
    double worst = 0.0;
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < 3; t++)
            for (int j = 0; j < 5; j++) {
                double sum = *tp_at1(b, j);
                for (int k = 0; k < 4; k++)
                    sum += (double)*tp_at3(a, i, t, k) * *tp_at2(w, k, j);
                worst = fmax(worst, fabs(sum - *tp_at3(affine, i, t, j)));
            }
    ok(worst < 1e-5, "tp_linear is x W + b (worst difference %.1g)", worst);
    tp_tensor *a_fixed = random_tensor(tp_shape3(2, 3, 4), TP_NO_GRAD);
    tp_tensor *w_fixed = random_tensor(tp_shape2(4, 5), TP_NO_GRAD);
    tp_tensor *b_fixed = random_tensor(tp_shape1(5), TP_NO_GRAD);
    check_gradients(linear_forward, (tp_tensor *[]){a_fixed, w_fixed, b}, 3,
                    NULL, "linear where only the bias learns");
    check_gradients(linear_forward, (tp_tensor *[]){a, w, b_fixed}, 3, NULL,
                    "linear with a fixed bias");
}
/* <<t-ops: arithmetic>> */
static tp_tensor *residual_of(tp_graph *g, tp_tensor *const in[], bool fused)
{
    tp_tensor *f = tp_linear(g, in[1], in[2], in[3]);
    return fused ? tp_residual(g, in[0], f) : tp_add(g, in[0], f);
}

static bool same_bits(const float *a, const float *b, long n)
{
    return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

/* The sum and the gradients of its four inputs, zeroed first. */
static tp_tensor *residual_run(tp_tensor *const in[], tp_tensor *c,
                               bool fused)
{
    for (int i = 0; i < 4; i++) {
        tp_tensor grad = tp_grad_of(in[i]);
        tp_fill(&grad, 0.0f);
    }
    tp_graph g = tp_graph_on(arena);
    tp_tensor *y = residual_of(&g, in, fused);
    tp_backward(&g, tp_sum(&g, tp_mul(&g, y, c)));
    return y;
}

FORWARD(residual_forward, residual_of(g, in, true))

static void residual(void)
{
    tp_tensor *in[4] = {random_tensor(tp_shape3(2, 3, 5), TP_WITH_GRAD),
                        random_tensor(tp_shape3(2, 3, 4), TP_WITH_GRAD),
                        random_tensor(tp_shape2(4, 5), TP_WITH_GRAD),
                        random_tensor(tp_shape1(5), TP_WITH_GRAD)};
    tp_tensor *c = random_tensor(tp_shape3(2, 3, 5), TP_NO_GRAD);
    float *grads[4];
    tp_tensor *added = residual_run(in, c, false);
    for (int i = 0; i < 4; i++) {
        long n = tp_tensor_count(in[i]);
        grads[i] = tp_arena_alloc(arena, (size_t)n * sizeof(float));
        memcpy(grads[i], in[i]->grad, (size_t)n * sizeof(float));
    }
    tp_tensor *fused = residual_run(in, c, true);
    bool same = same_bits(added->data, fused->data, 30);
    for (int i = 0; i < 4; i++)
        same = same && same_bits(grads[i], in[i]->grad,
                                 tp_tensor_count(in[i]));
    ok(same, "x + linear(h) by tp_residual equals tp_add's, values and the "
       "four gradients, to the bit");
    /* <<t-ops: the residual sum in place, and not>> */
    tp_graph g = tp_graph_on(arena);
    tp_tensor *f = tp_linear(&g, in[1], in[2], in[3]);
    ok(tp_residual(&g, in[0], f) == f, "after a linear layer the sum is in place");
    tp_tensor *scaled = tp_scale(&g, f, 2.0f);
    tp_tensor *y = tp_residual(&g, in[0], scaled);
    ok(y != scaled && y->data[7] == in[0]->data[7] + scaled->data[7],
       "after another operator it is a new tensor, x + f");
    check_gradients(residual_forward, in, 4, NULL, "residual after linear");
}

/* <<t-ops: activations>> */
static double phi(double x) { return 0.5 * (1.0 + erf(x / sqrt(2.0))); }

static double reference_activation(int which, double x)
{
    switch (which) {
    case 0: return x > 0 ? x : 0;
    case 1: return x * phi(x);
    case 2: return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846)
                                       * (x + 0.044715 * x * x * x)));
    default: return x / (1 + exp(-x));
    }
}

typedef tp_tensor *activation_fn(tp_graph *g, tp_tensor *x);
static activation_fn *const activation_ops[] = {tp_relu, tp_gelu,
                                                tp_gelu_tanh, tp_silu};
static const char *const activation_names[] = {"ReLU", "GELU",
                                               "GELU (tanh)", "SiLU"};

static tp_tensor *activation_forward(tp_graph *g, tp_tensor *const in[],
                                     void *c)
{
    return activation_ops[*(int *)c](g, in[0]);
}

FORWARD(swiglu_forward, tp_swiglu(g, in[0], in[1]))
/* <<t-ops: activations>> */
static void activations(void)
{
    tp_graph g = forward_graph();
    tp_tensor *x = tp_tensor_new(arena, tp_shape1(81), TP_NO_GRAD);
    for (int i = 0; i < 81; i++)
        x->data[i] = -4.0f + 0.1f * (float)i;
    tp_tensor *away = random_tensor(tp_shape2(3, 5), TP_WITH_GRAD);
    for (int i = 0; i < 15; i++)
        away->data[i] += away->data[i] >= 0 ? 0.1f : -0.1f;
    for (int which = 0; which < 4; which++) {
        tp_tensor *y = activation_ops[which](&g, x);
        double worst = 0;
        for (int i = 0; i < 81; i++)
            worst = fmax(worst, fabs(y->data[i]
                                     - reference_activation(which, x->data[i])));
        near(worst, 0, 1e-5, "%s matches its formula on [-4, 4]",
             activation_names[which]);
        if (which != 1)  /* GELU's gradient: an exercise, checked apart */
            check_gradients(activation_forward, (tp_tensor *[]){away}, 1,
                            &which, activation_names[which]);
    }
    tp_tensor *value = random_tensor(tp_shape2(3, 5), TP_WITH_GRAD);
    check_gradients(swiglu_forward, (tp_tensor *[]){away, value}, 2, NULL,
                    "SwiGLU");
}
/* <<t-ops: activations>> */
static void gelu_gradient(void)
{
    int gelu_index = 1;
    tp_tensor *x = random_tensor(tp_shape2(4, 6), TP_WITH_GRAD);
    for (int i = 0; i < 24; i++)
        x->data[i] = 2.0f * x->data[i] + (x->data[i] >= 0 ? 0.1f : -0.1f);
    check_gradients(activation_forward, (tp_tensor *[]){x}, 1, &gelu_index,
                    "GELU");
}

/* <<t-ops: normalisation>> */
FORWARD(layernorm_forward, tp_layernorm(g, in[0], in[1], in[2], 1e-5f))
FORWARD(rmsnorm_forward, tp_rmsnorm(g, in[0], in[1], 1e-5f))

static void row_moments(const float *x, int c, double *mean, double *var,
                        double *square)
{
    double s = 0, s2 = 0;
    for (int j = 0; j < c; j++)
        s += x[j], s2 += (double)x[j] * x[j];
    *mean = s / c, *square = s2 / c, *var = s2 / c - *mean * *mean;
}
/* <<t-ops: normalisation>> */
static void normalisation(void)
{
    tp_graph g = forward_graph();
    tp_tensor *x = random_tensor(tp_shape2(4, 64), TP_WITH_GRAD);
    for (int i = 0; i < 4 * 64; i++)
        x->data[i] = 1000.0f + 10.0f * x->data[i];
    tp_tensor *one = tp_tensor_new(arena, tp_shape1(64), TP_NO_GRAD);
    tp_fill(one, 1.0f);
    tp_tensor *y = tp_layernorm(&g, x, one, NULL, 1e-5f);
    tp_tensor *z = tp_rmsnorm(&g, x, one, 1e-5f);
    double mean, var, square, worst_ln = 0, worst_rms = 0;
    for (int r = 0; r < 4; r++) {
        row_moments(y->data + r * 64, 64, &mean, &var, &square);
        worst_ln = fmax(worst_ln, fmax(fabs(mean), fabs(var - 1)));
        row_moments(z->data + r * 64, 64, &mean, &var, &square);
        worst_rms = fmax(worst_rms, fabs(square - 1));
    }
    near(worst_ln, 0, 1e-4, "layer-normalised rows have mean 0, variance 1");
    near(worst_rms, 0, 1e-4, "RMS-normalised rows have mean square 1");
}
/* <<t-ops: normalisation>> */
static void normalisation_gradients(void)
{
    /* <<t-ops: gradients of the normalisations>> */
    tp_tensor *small = random_tensor(tp_shape3(2, 3, 8), TP_WITH_GRAD);
    tp_tensor *gain = random_tensor(tp_shape1(8), TP_WITH_GRAD);
    tp_tensor *bias = random_tensor(tp_shape1(8), TP_WITH_GRAD);
    check_gradients(layernorm_forward, (tp_tensor *[]){small, gain, bias}, 3,
                    NULL, "LayerNorm");
    check_gradients(rmsnorm_forward, (tp_tensor *[]){small, gain}, 2, NULL,
                    "RMSNorm");
}

/* <<t-ops: softmax and the loss>> */
FORWARD(softmax_forward, tp_softmax(g, in[0]))
FORWARD(log_softmax_forward, tp_log_softmax(g, in[0]))

static const int targets[6] = {3, 0, -1, 4, 4, 1};

static double row_log_sum_exp(const tp_tensor *x, int r)
{
    double sum = 0;
    for (int j = 0; j < 5; j++)
        sum += exp(x->data[r * 5 + j]);
    return log(sum);
}

FORWARD(cross_entropy_forward, tp_cross_entropy(g, in[0], targets, -1))
FORWARD(smoothed_forward,
        tp_cross_entropy_smoothed(g, in[0], targets, -1, 0.25f))
/* <<t-ops: softmax and the loss>> */
static void softmax_and_loss(void)
{
    tp_graph g = forward_graph();
    tp_tensor *x = random_tensor(tp_shape2(6, 5), TP_WITH_GRAD);
    x->data[0] = 1000.0f;  /* exp(1000) overflows */
    tp_tensor *p = tp_softmax(&g, x);
    double worst = 0;
    for (int r = 0; r < 6; r++) {
        double sum = 0;
        for (int j = 0; j < 5; j++)
            sum += p->data[r * 5 + j];
        worst = fmax(worst, fabs(sum - 1));
    }
    near(worst, 0, 1e-6, "softmax rows sum to 1, even with a score of 1000");
    ok(p->data[0] == 1.0f, "and the score of 1000 takes all the weight");
    x->data[0] = 0.5f;
    /* <<t-ops: the cross-entropy against its definition>> */
    double expected = 0;
    for (int r = 0; r < 6; r++) {
        if (targets[r] != -1)
            expected += row_log_sum_exp(x, r) - x->data[r * 5 + targets[r]];
    }
    tp_graph record = tp_graph_on(arena);
    tp_tensor *loss = tp_cross_entropy(&record, x, targets, -1);
    near(loss->data[0], expected / 5, 1e-5,
         "the loss is the mean of -log p(target) over the 5 counted rows");
    tp_tensor dx = tp_grad_of(x);
    tp_fill(&dx, 0.0f);
    tp_backward(&record, loss);
    double ignored = 0;
    for (int j = 0; j < 5; j++)
        ignored += fabs(x->grad[2 * 5 + j]);
    ok(ignored == 0, "the ignored row receives no gradient");
    check_gradients(softmax_forward, (tp_tensor *[]){x}, 1, NULL, "softmax");
    check_gradients(log_softmax_forward, (tp_tensor *[]){x}, 1, NULL,
                    "log-softmax");
    check_gradients(cross_entropy_forward, (tp_tensor *[]){x}, 1, NULL,
                    "cross-entropy with an ignored row");
    /* <<t-ops: the smoothed cross-entropy against its definition>> */
    double smoothed = 0;
    for (int r = 0; r < 6; r++) {
        for (int j = 0; j < 5 && targets[r] != -1; j++)
            smoothed -= ((j == targets[r] ? 0.75 : 0.0) + 0.25 / 5)
                        * (x->data[r * 5 + j] - row_log_sum_exp(x, r));
    }
    near(tp_cross_entropy_smoothed(&record, x, targets, -1, 0.25f)->data[0],
         smoothed / 5, 1e-5, "label smoothing: the loss against the smoothed "
         "target (1 - e) e_t + e / V");
    check_gradients(smoothed_forward, (tp_tensor *[]){x}, 1, NULL,
                    "cross-entropy with label smoothing 0.25");
}

/* <<t-ops: the exponential below zero>> */
static void exponential_below_zero(void)
{
    double worst = 0.0;
    for (long i = 0; i <= 1000000; i++) {
        float x = -80.0f * (float)i / 1e6f;
        double e = exp((double)x);
        worst = fmax(worst, fabs(tp_exp_nonpositive(x) - e) / e);
    }
    ok(worst < 3e-7, "e^x on [-80, 0] to %.2g relative (below 3e-7)",
       worst);
    ok(tp_exp_nonpositive(-80.5f) == 0.0f && tp_exp_nonpositive(-1e30f) == 0.0f
           && tp_exp_nonpositive(-INFINITY) == 0.0f,
       "below -80, and at -infinity, e^x is 0");
    ok(isnan(tp_exp_nonpositive(NAN)), "e^NaN is NaN");
}

/* <<t-ops: embedding and dropout>> */
static const int ids[6] = {2, 0, 2, 4, 1, 2};

FORWARD(embedding_forward, tp_embedding(g, in[0], ids, tp_shape2(2, 3)))

static tp_tensor *dropout_forward(tp_graph *g, tp_tensor *const in[], void *c)
{
    tp_rng r = tp_rng_seeded(*(int *)c, 0);  /* the same mask every call */
    return tp_dropout(g, in[0], 0.3f, &r);
}
/* <<t-ops: embedding and dropout>> */
static void embedding_and_dropout(void)
{
    tp_graph g = forward_graph();
    tp_tensor *table = random_tensor(tp_shape2(5, 4), TP_WITH_GRAD);
    tp_tensor *e = tp_embedding(&g, table, ids, tp_shape2(2, 3));
    ok(tp_shape_equal(e->shape, tp_shape3(2, 3, 4))
           && *tp_at3(e, 1, 0, 3) == *tp_at2(table, 4, 3)
           && *tp_at3(e, 1, 2, 1) == *tp_at2(table, 2, 1),
       "an embedding of [2, 3] ids is [2, 3, 4] rows of the table");
    check_gradients(embedding_forward, (tp_tensor *[]){table}, 1, NULL,
                    "embedding with a repeated id");
    /* <<t-ops: dropout>> */
    tp_tensor *x = tp_tensor_new(arena, tp_shape1(100000), TP_NO_GRAD);
    tp_fill(x, 1.0f);
    tp_rng r1 = tp_rng_seeded(9, 9), r2 = tp_rng_seeded(9, 9);
    tp_tensor *d1 = tp_dropout(&g, x, 0.3f, &r1), *d2 = tp_dropout(&g, x, 0.3f,
                                                                     &r2);
    long dropped = 0;
    int scaled = 1;
    for (long i = 0; i < 100000; i++) {
        dropped += d1->data[i] == 0.0f;
        scaled &= d1->data[i] == 0.0f || fabsf(d1->data[i] - 1 / 0.7f) < 1e-6f;
    }
    ok(tp_max_abs_diff(d1, d2) == 0.0f, "the same seed drops the same elements");
    near(dropped / 1e5, 0.3, 5 * 1.45e-3, "about 30%% are dropped");
    ok(scaled, "the survivors are scaled by 1/(1 - p)");
    ok(tp_dropout(&g, x, 0.0f, &r1) == x, "p = 0 returns the input itself");
    int seed = 4;
    tp_tensor *small = random_tensor(tp_shape2(4, 6), TP_WITH_GRAD);
    check_gradients(dropout_forward, (tp_tensor *[]){small}, 1, &seed,
                    "dropout with a fixed mask");
}

/* <<t-ops: reshaping and joining>> */
FORWARD(permuted_copy_forward,
        tp_contiguous(g, tp_permute(g->arena, in[0], (const int[]){2, 0, 1})))
FORWARD(concat_forward, tp_concat(g, 3, in, 1))

static void reshaping_and_joining(void)
{
    tp_graph g = forward_graph();
    tp_tensor *x = random_tensor(tp_shape3(2, 3, 4), TP_WITH_GRAD);
    tp_tensor *p = tp_permute(arena, x, (const int[]){2, 0, 1});
    ok(tp_shape_equal(p->shape, tp_shape3(4, 2, 3))
           && *tp_at3(p, 3, 1, 2) == *tp_at3(x, 1, 2, 3),
       "permuting (2, 0, 1) puts element (i, j, k) at (k, i, j)");
    check_gradients(permuted_copy_forward, (tp_tensor *[]){x}, 1, NULL,
                    "a contiguous copy of a permutation");
    tp_tensor *a = random_tensor(tp_shape3(2, 1, 4), TP_WITH_GRAD);
    tp_tensor *b = random_tensor(tp_shape3(2, 2, 4), TP_WITH_GRAD);
    tp_tensor *c = tp_concat(&g, 3, (tp_tensor *[]){a, x, b}, 1);
    ok(tp_shape_equal(c->shape, tp_shape3(2, 6, 4))
           && *tp_at3(c, 1, 0, 2) == *tp_at3(a, 1, 0, 2)
           && *tp_at3(c, 1, 3, 2) == *tp_at3(x, 1, 2, 2)
           && *tp_at3(c, 1, 5, 0) == *tp_at3(b, 1, 1, 0),
       "concatenating [2, 1, 4], [2, 3, 4] and [2, 2, 4] along dimension 1");
    check_gradients(concat_forward, (tp_tensor *[]){a, x, b}, 3, NULL,
                    "concatenation");
}

int main(void)
{
    arena = tp_arena_new("test");
    rng = tp_rng_seeded(11, 0);
    if (general_tests()) {
        arithmetic();
        residual();
        activations();
        normalisation();
        softmax_and_loss();
        exponential_below_zero();
        embedding_and_dropout();
        reshaping_and_joining();
    }
    if (exercise_tests("ops.layernorm-backward"))
        normalisation_gradients();
    if (exercise_tests("ops.gelu-derivative"))
        gelu_gradient();
    tp_arena_free(arena);
    return done_testing();
}
