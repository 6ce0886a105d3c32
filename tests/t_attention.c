/* Generated from book/160-attention.nw; edit the book, not this file. */
#include "gradients.h"

static tp_arena *arena;
static tp_rng rng;

/* <<t-attention: the reference>> */
static bool reference_sees(const tp_attention_options *o, int b, int i, int j,
                           int tq, int tk)
{
    bool future = o->causal && j - (tk - tq) > i;
    bool padding = o->key_padding && o->key_padding[b * tk + j];
    bool outside = (o->allowed && !o->allowed[i * tk + j])
                   || (o->pattern && !o->pattern(i, j, o->pattern_context));
    return !future && !padding && !outside;
}
/* <<t-attention: the reference>> */
static void reference(const tp_tensor *q, const tp_tensor *k,
                      const tp_tensor *v, const tp_attention_options *o,
                      tp_tensor *out)
{
    int B = q->shape.dim[0], H = q->shape.dim[1], tq = q->shape.dim[2];
    int d = q->shape.dim[3], hkv = k->shape.dim[1], tk = k->shape.dim[2];
    int dv = v->shape.dim[3];
    double scale = 1.0 / sqrt(d), w[64];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < tq; i++) {
                int kv = h / (H / hkv);
                /* <<t-attention: the weights of query i>> */
                double max = -INFINITY, total = 0;
                for (int j = 0; j < tk; j++) {
                    double s = 0;
                    for (int e = 0; e < d; e++)
                        s += (double)*tp_at4(q, b, h, i, e) * *tp_at4(k, b, kv, j, e);
                    s *= scale;
                    if (o->bias)
                        s += o->bias->shape.ndim == 3 ? *tp_at3(o->bias, h, i, j)
                                                      : *tp_at4(o->bias, b, h, i, j);
                    w[j] = reference_sees(o, b, i, j, tq, tk) ? s : -INFINITY;
                    max = fmax(max, w[j]);
                }
                for (int j = 0; j < tk; j++)
                    total += w[j] = max == -INFINITY ? 0 : exp(w[j] - max);
                for (int j = 0; j < tk; j++)
                    w[j] = total > 0 ? w[j] / total : 0;
                for (int e = 0; e < dv; e++) {
                    double sum = 0;
                    for (int j = 0; j < tk; j++)
                        sum += w[j] * *tp_at4(v, b, kv, j, e);
                    *tp_at4(out, b, h, i, e) = (float)sum;
                }
            }
}

/* <<t-attention: configurations>> */
typedef struct configuration {
    const char *name;
    int batch, heads, kv_heads, tq, tk, d, dv;
    tp_attention_options options;
    int bias_rank;  /* 0: none, 3: [H, Tq, Tk], 4: [B, H, Tq, Tk] */
} configuration;

static const unsigned char padding[2 * 5] = {0, 0, 0, 1, 1, 0, 0, 0, 0, 1};
static const unsigned char strided[4 * 5] = {
    1, 0, 1, 0, 1,  0, 1, 0, 1, 0,  1, 1, 1, 0, 1,  0, 1, 0, 1, 1};

static bool local_window(int i, int j, void *context)
{
    int width = *(const int *)context;
    return abs(i - j) <= width;
}

static int window = 1;
/* <<t-attention: configurations>> */
static const configuration configurations[] = {
    {"plain", 2, 2, 2, 4, 5, 3, 2, {0}, 0},
    {"causal", 2, 2, 2, 5, 5, 3, 3, {.causal = true}, 0},
    {"causal, 2 queries after 5 keys", 2, 2, 2, 2, 5, 3, 3,
     {.causal = true}, 0},
    {"key padding", 2, 2, 2, 4, 5, 3, 2, {.key_padding = padding}, 0},
    {"a shared bias", 2, 2, 2, 4, 5, 3, 2, {0}, 3},
    {"a bias per sequence", 2, 2, 2, 4, 5, 3, 2, {0}, 4},
    {"a strided mask", 2, 2, 2, 4, 5, 3, 2, {.allowed = strided}, 0},
    {"a local window", 2, 2, 2, 4, 5, 3, 2,
     {.pattern = local_window, .pattern_context = &window}, 0},
    {"4 query heads on 2 key-value heads", 2, 4, 2, 4, 5, 3, 2, {0}, 0},
    {"everything at once", 2, 4, 2, 4, 5, 3, 2,
     {.causal = true, .key_padding = padding, .allowed = strided,
      .pattern = local_window, .pattern_context = &window}, 3},
};
enum { CONFIGURATIONS = sizeof configurations / sizeof configurations[0] };

/* <<t-attention: forward and backward of every configuration>> */
static tp_tensor *attention_forward(tp_graph *g, tp_tensor *const in[],
                                    void *context)
{
    tp_attention_options o = ((const configuration *)context)->options;
    o.bias = in[3];
    return tp_attention(g, in[0], in[1], in[2], &o);
}

static tp_tensor *random_tensor(tp_shape shape)
{
    return tp_tensor_normal(arena, shape, TP_WITH_GRAD, &rng);
}
/* <<t-attention: forward and backward of every configuration>> */
static void every_configuration(void)
{
    for (int c = 0; c < CONFIGURATIONS; c++) {
        const configuration *f = &configurations[c];
        tp_tensor *q = random_tensor(tp_shape4(f->batch, f->heads, f->tq, f->d));
        tp_tensor *k = random_tensor(tp_shape4(f->batch, f->kv_heads, f->tk,
                                               f->d));
        tp_tensor *v = random_tensor(tp_shape4(f->batch, f->kv_heads, f->tk,
                                               f->dv));
        tp_tensor *bias = f->bias_rank == 0 ? NULL
                          : f->bias_rank == 3
                              ? random_tensor(tp_shape3(f->heads, f->tq, f->tk))
                              : random_tensor(tp_shape4(f->batch, f->heads,
                                                        f->tq, f->tk));
        /* <<t-attention: compare one configuration>> */
        tp_attention_options o = f->options;
        o.bias = bias;
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_tensor *out = tp_attention(&g, q, k, v, &o);
        tp_tensor *expected = tp_tensor_new(arena, out->shape, TP_NO_GRAD);
        reference(q, k, v, &o, expected);
        near(tp_max_abs_diff(out, expected), 0, 1e-5,
             "%s: the output matches the definition", f->name);
        check_gradients(attention_forward, (tp_tensor *[]){q, k, v, bias}, 4,
                        (void *)f, f->name);
    }
}

/* <<t-attention: properties>> */
static void weights_are_probabilities(void)
{
    tp_tensor *q = random_tensor(tp_shape4(2, 2, 5, 3));
    tp_tensor *k = random_tensor(tp_shape4(2, 2, 5, 3));
    tp_tensor *weights = NULL;
    tp_attention_options o = {.causal = true, .key_padding = padding,
                              .weights = &weights};
    tp_graph g = tp_graph_on(arena);
    tp_attention(&g, q, k, k, &o);
    double worst_sum = 0, masked = 0;
    for (int b = 0; b < 2; b++)
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < 5; i++) {
                double sum = 0;
                for (int j = 0; j < 5; j++) {
                    float w = *tp_at4(weights, b, h, i, j);
                    sum += w;
                    if (j > i || padding[b * 5 + j])
                        masked += fabs(w);
                }
                worst_sum = fmax(worst_sum, fabs(sum - 1));
            }
    near(worst_sum, 0, 1e-6, "each query's weights sum to 1");
    ok(masked == 0, "masked pairs have a weight of exactly 0");
}
/* <<t-attention: properties>> */
static void nothing_to_see(void)
{
    static const unsigned char all_padding[3] = {1, 1, 1};
    tp_tensor *q = random_tensor(tp_shape4(1, 1, 2, 3));
    tp_tensor *k = random_tensor(tp_shape4(1, 1, 3, 3));
    tp_attention_options o = {.key_padding = all_padding};
    tp_graph g = tp_graph_on(arena);
    tp_tensor *out = tp_attention(&g, q, k, k, &o);
    tp_backward(&g, tp_sum(&g, out));
    double total = 0;
    for (int i = 0; i < 6; i++)
        total += fabs(out->data[i]) + fabs(q->grad[i]);
    ok(total == 0, "a query that may see no key gives zeros, and no NaN");
}
/* <<t-attention: properties>> */
static void heads_from_a_view(void)
{
    tp_tensor *x = random_tensor(tp_shape4(2, 5, 3, 4));  /* [B, T, H, d] */
    const int order[] = {0, 2, 1, 3};
    tp_tensor *view = tp_permute(arena, x, order);        /* [B, H, T, d] */
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *copy = tp_contiguous(&g, view);
    tp_attention_options o = {.causal = true};
    near(tp_max_abs_diff(tp_attention(&g, view, view, view, &o),
                         tp_attention(&g, copy, copy, copy, &o)),
         0, 1e-6, "heads read through a permuted view need no copy");
}
/* <<t-attention: properties>> */
static void keys_have_no_order(void)
{
    tp_tensor *q = random_tensor(tp_shape4(1, 2, 4, 3));
    tp_tensor *k = random_tensor(tp_shape4(1, 2, 6, 3));
    tp_tensor *v = random_tensor(tp_shape4(1, 2, 6, 2));
    tp_tensor *k2 = tp_tensor_new(arena, k->shape, TP_NO_GRAD);
    tp_tensor *v2 = tp_tensor_new(arena, v->shape, TP_NO_GRAD);
    static const int shuffle[6] = {4, 0, 5, 2, 1, 3};
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 6; j++) {
            for (int e = 0; e < 3; e++)
                *tp_at4(k2, 0, h, j, e) = *tp_at4(k, 0, h, shuffle[j], e);
            for (int e = 0; e < 2; e++)
                *tp_at4(v2, 0, h, j, e) = *tp_at4(v, 0, h, shuffle[j], e);
        }
    tp_graph g = tp_graph_on(arena);
    near(tp_max_abs_diff(tp_attention(&g, q, k, v, NULL),
                         tp_attention(&g, q, k2, v2, NULL)),
         0, 1e-6, "shuffling the keys and values leaves the output unchanged");
}

static void properties(void)
{
    weights_are_probabilities();
    nothing_to_see();
    heads_from_a_view();
    keys_have_no_order();
}

/* <<t-attention: causal bands compute the full square's numbers>> */
typedef struct banded_run {
    tp_tensor *out, *weights, *q, *k, *v, *bias;
} banded_run;

static double largest_difference(const float *a, const float *b, long n)
{
    double diff = 0, scale = 0;
    for (long i = 0; i < n; i++) {
        diff = fmax(diff, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return diff / (scale > 0 ? scale : 1);
}

static banded_run run_banded(int tq, int tk, bool with_bias, bool causal,
                             uint64_t seed)
{
    tp_rng r = tp_rng_seeded(seed, 9);
    banded_run x = {
        .q = tp_tensor_normal(arena, tp_shape4(2, 2, tq, 8), TP_WITH_GRAD, &r),
        .k = tp_tensor_normal(arena, tp_shape4(2, 2, tk, 8), TP_WITH_GRAD, &r),
        .v = tp_tensor_normal(arena, tp_shape4(2, 2, tk, 8), TP_WITH_GRAD, &r)};
    if (with_bias)
        x.bias = tp_tensor_normal(arena, tp_shape3(2, tq, tk), TP_WITH_GRAD, &r);
    unsigned char *allowed = tp_arena_alloc(arena, (size_t)tq * tk);
    for (int i = 0; i < tq; i++)
        for (int j = 0; j < tk; j++)
            allowed[i * tk + j] = j <= i + tk - tq;
    tp_attention_options o = {.causal = causal, .bias = x.bias,
                              .allowed = causal ? NULL : allowed,
                              .weights = &x.weights};
    tp_graph g = tp_graph_on(arena);
    x.out = tp_attention(&g, x.q, x.k, x.v, &o);
    tp_tensor *seed_gradient = tp_tensor_normal(arena, x.out->shape,
                                                TP_NO_GRAD, &r);
    tp_backward_from(&g, x.out, seed_gradient);
    return x;
}
/* <<t-attention: causal bands compute the full square's numbers>> */
static void compare_banded(int tq, int tk, bool with_bias, const char *what)
{
    banded_run a = run_banded(tq, tk, with_bias, true, 11);
    banded_run b = run_banded(tq, tk, with_bias, false, 11);
    long n = tp_tensor_count(a.out), p = tp_tensor_count(a.weights);
    long nq = tp_tensor_count(a.q), nk = tp_tensor_count(a.k);
    double worst[6] = {
        largest_difference(a.out->data, b.out->data, n),
        largest_difference(a.weights->data, b.weights->data, p),
        largest_difference(a.q->grad, b.q->grad, nq),
        largest_difference(a.k->grad, b.k->grad, nk),
        largest_difference(a.v->grad, b.v->grad, nk),
        with_bias ? largest_difference(a.bias->grad, b.bias->grad,
                                       tp_tensor_count(a.bias)) : 0};
    double most = 0;
    for (int i = 0; i < 6; i++)
        most = fmax(most, worst[i]);
    if (!ok(most <= 1e-5, "causal bands, %s: outputs, weights and gradients "
            "are the full square's", what))
        diag("relative differences: out %g, weights %g, dq %g, dk %g, dv %g, "
             "dbias %g", worst[0], worst[1], worst[2], worst[3], worst[4],
             worst[5]);
    else
        note("out %g, weights %g, dq %g, dk %g, dv %g, dbias %g", worst[0],
             worst[1], worst[2], worst[3], worst[4], worst[5]);
}

static void causal_bands(void)
{
    compare_banded(100, 100, false, "100 queries");
    compare_banded(40, 100, false, "40 queries after 100 keys");
    compare_banded(70, 70, true, "70 queries with a bias");
}

/* <<t-attention: broken contracts>> */
static int uneven_groups(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_attention(&g, random_tensor(tp_shape4(1, 3, 2, 4)),
                 random_tensor(tp_shape4(1, 2, 2, 4)),
                 random_tensor(tp_shape4(1, 2, 2, 4)), NULL);
    return 0;
}

static int wrong_bias(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_tensor *x = random_tensor(tp_shape4(1, 2, 3, 4));
    tp_attention_options o = {.bias = random_tensor(tp_shape2(3, 3))};
    tp_attention(&g, x, x, x, &o);
    return 0;
}

static void broken_contracts(void)
{
    dies_with(uneven_groups, "do not fit together",
              "3 query heads cannot share 2 key-value heads");
    dies_with(wrong_bias, "the bias is [3, 3], not [2, 3, 3]",
              "a bias of the wrong shape names the shapes it could have");
}

int main(void)
{
    arena = tp_arena_new("test");
    rng = tp_rng_seeded(5, 5);
    if (exercise_tests("attention.backward")) {
        every_configuration();
        causal_bands();
    }
    if (general_tests()) {
        properties();
        broken_contracts();
    }
    tp_arena_free(arena);
    return done_testing();
}
