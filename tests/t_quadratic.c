/* Generated from book/305-quadratic.nw; edit the book, not this file. */
#include <string.h>

#include "gradients.h"

static tp_arena *arena;
static tp_rng rng;

static tp_tensor *random_tensor(tp_shape shape)
{
    return tp_tensor_normal(arena, shape, TP_WITH_GRAD, &rng);
}

/* <<t-quadratic: tiled attention>> */
typedef struct configuration {
    const char *name;
    int batch, heads, kv_heads, tq, tk, d, dv;
    tp_attention_options options;
} configuration;

static unsigned char padding[2 * 77];
static int width = 5;

static bool window(int query, int key, void *context)
{
    return abs(query - key) <= *(const int *)context;
}
/* <<t-quadratic: tiled attention>> */
static const configuration configurations[] = {
    {"one query, one key", 1, 1, 1, 1, 1, 8, 8, {0}},
    {"tile multiples", 2, 2, 2, 128, 128, 16, 16, {0}},
    {"odd sizes, grouped heads", 1, 4, 2, 100, 93, 32, 24, {0}},
    {"causal", 2, 1, 1, 130, 130, 64, 64, {.causal = true}},
    {"causal, fewer queries than keys", 1, 2, 2, 70, 200, 16, 16,
     {.causal = true}},
    {"padding, one sequence all padding", 2, 2, 2, 77, 77, 8, 8,
     {.key_padding = padding}},
    {"a local window", 1, 1, 1, 150, 150, 8, 8,
     {.pattern = window, .pattern_context = &width}},
};
/* <<t-quadratic: tiled attention>> */
typedef struct outcome {
    tp_tensor *out, *dq, *dk, *dv;
} outcome;

static tp_tensor *gradient_copy(const tp_tensor *x)
{
    tp_tensor g = tp_grad_of(x), *copy = tp_tensor_empty(arena, x->shape,
                                                         TP_NO_GRAD);
    tp_copy(copy, &g);
    tp_fill(&g, 0.0f);
    return copy;
}
/* <<t-quadratic: tiled attention>> */
static outcome run(const configuration *c, bool tiled, tp_tensor *const in[3],
                   const tp_tensor *seed)
{
    tp_graph g = tp_graph_on(arena);
    tp_tensor *out = tiled ? tp_attention_tiled(&g, in[0], in[1], in[2],
                                                &c->options)
                           : tp_attention(&g, in[0], in[1], in[2], &c->options);
    tp_backward_from(&g, out, seed);
    return (outcome){out, gradient_copy(in[0]), gradient_copy(in[1]),
                     gradient_copy(in[2])};
}
/* <<t-quadratic: tiled attention>> */
static tp_tensor *tiled_forward(tp_graph *g, tp_tensor *const in[],
                                void *context)
{
    const configuration *c = context;
    return tp_attention_tiled(g, in[0], in[1], in[2], &c->options);
}

static void tiled_equals_naive(void)
{
    for (int i = 77; i < 2 * 77; i++)
        padding[i] = 1;
    padding[70] = padding[76] = 1;
    for (size_t i = 0; i < sizeof configurations / sizeof configurations[0];
         i++) {
        const configuration *c = &configurations[i];
        /* <<t-quadratic: compare one configuration>> */
        tp_tensor *in[3] = {
            random_tensor(tp_shape4(c->batch, c->heads, c->tq, c->d)),
            random_tensor(tp_shape4(c->batch, c->kv_heads, c->tk, c->d)),
            random_tensor(tp_shape4(c->batch, c->kv_heads, c->tk, c->dv))};
        tp_tensor *seed = random_tensor(tp_shape4(c->batch, c->heads, c->tq, c->dv));
        outcome naive = run(c, false, in, seed), tiled = run(c, true, in, seed);
        near(tp_max_abs_diff(tiled.out, naive.out), 0, 1e-5,
             "%s: tiled attention's output equals naive attention's", c->name);
        float dq = tp_max_abs_diff(tiled.dq, naive.dq);
        float dk = tp_max_abs_diff(tiled.dk, naive.dk);
        float dv = tp_max_abs_diff(tiled.dv, naive.dv);
        near(fmaxf(dq, fmaxf(dk, dv)), 0, 1e-5,
             "%s: so do its gradients (q %.1g, k %.1g, v %.1g)", c->name, dq, dk, dv);
        if (c->tq * c->tk <= 80 * 80)
            check_gradients(tiled_forward, in, 3, (void *)c, c->name);
    }
}

/* <<t-quadratic: memory>> */
enum { NAIVE, TILED, LINEAR };
static const char *const method_names[] = {"naive", "tiled", "linear"};

static size_t training_peak(int method, int n)
{
    tp_tensor *q = random_tensor(tp_shape4(1, 1, n, 64));
    tp_tensor *k = random_tensor(tp_shape4(1, 1, n, 64));
    tp_tensor *v = random_tensor(tp_shape4(1, 1, n, 64));
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_tensor *out = method == NAIVE   ? tp_attention(&g, q, k, v, NULL)
                     : method == TILED ? tp_attention_tiled(&g, q, k, v, NULL)
                                       : tp_linear_attention(&g, q, k, v, NULL);
    tp_backward_from(&g, out, q);
    size_t peak = tp_arena_peak(step);
    tp_arena_free(step);
    return peak;
}
/* <<t-quadratic: memory>> */
static void memory_grows_as_claimed(void)
{
    for (int method = NAIVE; method <= LINEAR; method++) {
        double ratio = (double)training_peak(method, 1024)
                       / (double)training_peak(method, 512);
        bool quadratic = method == NAIVE;
        ok(quadratic ? ratio > 3.0 : ratio < 2.5,
           "%s attention: twice the length, %.2f times the memory (%s)",
           method_names[method], ratio, quadratic ? "quadratic" : "linear");
    }
}

/* <<t-quadratic: threads>> */
typedef struct tiled_run {
    outcome result;
    size_t peak;
} tiled_run;

static tiled_run tiled_on(int threads, const configuration *c,
                          tp_tensor *const in[3], const tp_tensor *seed)
{
    tp_set_threads(threads);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_tensor *out = tp_attention_tiled(&g, in[0], in[1], in[2], &c->options);
    tp_backward_from(&g, out, seed);
    tiled_run r = {{tp_tensor_empty(arena, out->shape, TP_NO_GRAD),
                    gradient_copy(in[0]), gradient_copy(in[1]),
                    gradient_copy(in[2])}, tp_arena_peak(step)};
    tp_copy(r.result.out, out);
    tp_arena_free(step);
    return r;
}
/* <<t-quadratic: threads>> */
static bool same_bits(const tp_tensor *a, const tp_tensor *b)
{
    return memcmp(a->data, b->data, tp_tensor_count(a) * sizeof(float)) == 0;
}

static void threads_change_nothing(void)
{
    const configuration *c = &configurations[3];  /* causal */
    tp_tensor *in[3] = {random_tensor(tp_shape4(2, 1, 300, 64)),
                        random_tensor(tp_shape4(2, 1, 300, 64)),
                        random_tensor(tp_shape4(2, 1, 300, 64))};
    tp_tensor *seed = random_tensor(tp_shape4(2, 1, 300, 64));
    int all = tp_threads();
    tiled_run one = tiled_on(1, c, in, seed), two = tiled_on(2, c, in, seed);
    tp_set_threads(all);
    ok(same_bits(one.result.out, two.result.out)
           && same_bits(one.result.dq, two.result.dq)
           && same_bits(one.result.dk, two.result.dk)
           && same_bits(one.result.dv, two.result.dv),
       "tiled attention: output and gradients identical on 1 and 2 threads");
    ok(one.peak == two.peak, "tiled attention: the same peak memory on 1 and 2 "
       "threads (%zu and %zu bytes)", one.peak, two.peak);
}

/* <<t-quadratic: Linformer>> */
static tp_tensor *linformer_forward(tp_graph *g, tp_tensor *const in[],
                                    void *context)
{
    (void)context;
    return tp_linformer(g, in[0], in[1], in[2], in[3], in[4]);
}

static tp_tensor *identity(int n)
{
    tp_tensor *e = tp_tensor_new(arena, tp_shape2(n, n), TP_NO_GRAD);
    for (int i = 0; i < n; i++)
        *tp_at2(e, i, i) = 1.0f;
    return e;
}
/* <<t-quadratic: Linformer>> */
static void linformer(void)
{
    tp_tensor *q = random_tensor(tp_shape4(2, 3, 20, 8));
    tp_tensor *k = random_tensor(tp_shape4(2, 3, 20, 8));
    tp_tensor *v = random_tensor(tp_shape4(2, 3, 20, 6));
    tp_graph g = tp_graph_on(arena);
    tp_tensor *exact = tp_attention(&g, q, k, v, NULL);
    tp_tensor *projected = tp_linformer(&g, q, k, v, identity(20), identity(20));
    near(tp_max_abs_diff(projected, exact), 0, 1e-6,
         "Linformer with identity projections is exact attention");
    tp_tensor *in[5] = {random_tensor(tp_shape4(1, 2, 6, 4)),
                        random_tensor(tp_shape4(1, 2, 6, 4)),
                        random_tensor(tp_shape4(1, 2, 6, 3)),
                        random_tensor(tp_shape2(6, 3)),
                        random_tensor(tp_shape2(6, 3))};
    check_gradients(linformer_forward, in, 5, NULL, "Linformer, r = 3");
}

/* <<t-quadratic: linear attention>> */
static double phi(double x, bool relu)
{
    return relu ? fmax(x, 0.0) : x > 0 ? x + 1.0 : exp(x);
}

static double feature_dot(const tp_tensor *q, const tp_tensor *k, bool relu,
                          int b, int h, int i, int j)
{
    double dot = 0.0;
    for (int c = 0; c < q->shape.dim[3]; c++)
        dot += phi(*tp_at4(q, b, h, i, c), relu) * phi(*tp_at4(k, b, h, j, c), relu);
    return dot;
}
/* <<t-quadratic: linear attention>> */
static float pairwise_error(tp_tensor *const in[3], bool relu,
                            bool causal, const tp_tensor *out)
{
    const tp_tensor *q = in[0], *k = in[1], *v = in[2];
    double worst = 0.0;
    const int *n = q->shape.dim;
    for (int b = 0; b < n[0]; b++)
        for (int h = 0; h < n[1]; h++)
            for (int i = 0; i < n[2]; i++)
                for (int e = 0; e < v->shape.dim[3]; e++) {
                    double num = 0.0, den = 1e-6;
                    for (int j = 0; j < (causal ? i + 1 : k->shape.dim[2]); j++) {
                        double w = feature_dot(q, k, relu, b, h, i, j);
                        num += w * *tp_at4(v, b, h, j, e), den += w;
                    }
                    worst = fmax(worst, fabs(num / den - *tp_at4(out, b, h, i, e)));
                }
    return (float)worst;
}
/* <<t-quadratic: linear attention>> */
typedef struct linear_form {
    bool relu, causal;
} linear_form;

static tp_tensor *linear_forward(tp_graph *g, tp_tensor *const in[],
                                 void *context)
{
    const linear_form *f = context;
    tp_attention_options o = {.causal = f->causal};
    return (f->relu ? tp_linear_attention_relu : tp_linear_attention)(
        g, in[0], in[1], in[2], &o);
}

static tp_tensor *away_from_zero(tp_tensor *x)
{
    for (long i = 0, n = tp_tensor_count(x); i < n; i++)
        x->data[i] += x->data[i] < 0 ? -0.1f : 0.1f;
    return x;
}
/* <<t-quadratic: linear attention>> */
static void linear_attention(void)
{
    for (int form = 0; form < 4; form++) {
        linear_form f = {.relu = form & 1, .causal = form & 2};
        const char *name = f.relu ? f.causal ? "causal ReLU" : "ReLU"
                                  : f.causal ? "causal elu+1" : "elu+1";
        int tk = f.causal ? 33 : 47;
        tp_tensor *in[3] = {
            away_from_zero(random_tensor(tp_shape4(2, 2, 33, 8))),
            away_from_zero(random_tensor(tp_shape4(2, 2, tk, 8))),
            random_tensor(tp_shape4(2, 2, tk, 5))};
        tp_graph g = tp_graph_on(arena);
        near(pairwise_error(in, f.relu, f.causal, linear_forward(&g, in, &f)),
             0, 1e-5, "linear attention, %s: equals its formula summed over "
             "every pair%s", name, f.causal ? " j <= i" : "");
        tp_tensor *small[3] = {random_tensor(tp_shape4(1, 2, 9, 4)),
                               random_tensor(tp_shape4(1, 2, 9, 4)),
                               random_tensor(tp_shape4(1, 2, 9, 3))};
        check_gradients(linear_forward, f.relu ? in : small, 3, &f, name);
    }
}
/* <<t-quadratic: linear attention>> */
static void causal_first_output(void)
{
    tp_tensor *q = random_tensor(tp_shape4(1, 1, 5, 4));
    tp_tensor *k = random_tensor(tp_shape4(1, 1, 5, 4));
    tp_tensor *v = random_tensor(tp_shape4(1, 1, 5, 3));
    tp_graph g = tp_graph_on(arena);
    tp_tensor *o = tp_linear_attention(&g, q, k, v,
                                       &(tp_attention_options){.causal = true});
    float worst = 0.0f;
    for (int e = 0; e < 3; e++)
        worst = fmaxf(worst, fabsf(*tp_at4(o, 0, 0, 0, e) - *tp_at4(v, 0, 0, 0, e)));
    near(worst, 0, 1e-5, "causal linear attention: the first output is the "
         "first value");
}

/* <<t-quadratic: broken contracts>> */
static int tiled_with_bias(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_tensor *x = random_tensor(tp_shape4(1, 1, 3, 4));
    tp_attention_options o = {.bias = random_tensor(tp_shape3(1, 3, 3))};
    tp_attention_tiled(&g, x, x, x, &o);
    return 0;
}

static int linformer_wrong_length(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_tensor *x = random_tensor(tp_shape4(1, 1, 3, 4));
    tp_tensor *e = random_tensor(tp_shape2(4, 2));
    tp_linformer(&g, x, x, x, e, e);
    return 0;
}
/* <<t-quadratic: broken contracts>> */
static void broken_contracts(void)
{
    dies_with(tiled_with_bias, "never forms the 3 x 3 scores",
              "tiled attention refuses a bias, and says why");
    dies_with(linformer_wrong_length, "e and f are [Tk, r] = [3, r], not [4, 2]",
              "Linformer's projections must match the number of keys");
}

int main(void)
{
    arena = tp_arena_new("test");
    rng = tp_rng_seeded(7, 7);
    if (exercise_tests("quadratic.online-softmax"))
        tiled_equals_naive();
    if (general_tests()) {
        memory_grows_as_claimed();
        threads_change_nothing();
        linformer();
        linear_attention();
        causal_first_output();
        broken_contracts();
    }
    tp_arena_free(arena);
    return done_testing();
}
