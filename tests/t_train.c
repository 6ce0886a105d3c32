/* Generated from book/165-training.nw; edit the book, not this file. */
#include <string.h>

#include "tap.h"
#include "tp.h"

/* <<t-train: parameters>> */
static int duplicate_name(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_params params = {0};
    tp_param_new(&params, arena, "w", tp_shape2(2, 2));
    tp_param_new(&params, arena, "w", tp_shape2(2, 2));
    return 0;
}

static void parameters(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_params params = {0};
    tp_param_new(&params, arena, "h.0.attn.c_attn.weight", tp_shape2(4, 12));
    tp_param_new(&params, arena, "h.0.attn.c_attn.bias", tp_shape1(12));
    is(tp_params_count(&params), 60, "4x12 weights and 12 biases are 60 numbers");
    ok(tp_params_find(&params, "h.0.attn.c_attn.weight")->decay
           && !tp_params_find(&params, "h.0.attn.c_attn.bias")->decay,
       "matrices decay, vectors do not");
    ok(tp_params_find(&params, "wte.weight") == NULL,
       "a name that is not there is not found");
    dies_with(duplicate_name, "two parameters are named \"w\"",
              "parameter names are unique");
    tp_params_free(&params);
    tp_arena_free(arena);
}

/* <<t-train: optimisers>> */
static void set_grad(tp_tensor *t, float g0, float g1)
{
    t->grad[0] = g0;
    t->grad[1] = g1;
}

static void sgd(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_params params = {0};
    tp_tensor *w = tp_param_new(&params, arena, "w", tp_shape2(1, 2));
    tp_fill(w, 1.0f);
    tp_optimizer *opt = tp_optimizer_new(&params, (tp_optimizer_config){
        .kind = TP_SGD, .momentum = 0.9f});
    for (int step = 0; step < 2; step++) {
        set_grad(w, 2.0f, 2.0f);
        tp_optimizer_step(opt, 0.1f);
    }
    near(w->data[0], 0.42, 1e-6, "SGD with momentum: 1 -> 0.8 -> 0.42");
    tp_optimizer_free(opt);
    tp_params_free(&params);
    tp_arena_free(arena);
}
/* <<t-train: optimisers>> */
static void adam_first_step(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_params params = {0};
    tp_tensor *w = tp_param_new(&params, arena, "w", tp_shape2(1, 2));
    tp_optimizer *opt = tp_optimizer_new(&params, (tp_optimizer_config){
        .kind = TP_ADAM, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f});
    set_grad(w, 3.0f, -0.001f);
    tp_optimizer_step(opt, 0.01f);
    near(w->data[0], -0.01, 1e-6, "Adam moves a gradient of 3 by the rate");
    near(w->data[1], 0.01, 1e-5, "and a gradient of -0.001 by the rate too");
    tp_optimizer_free(opt);
    tp_params_free(&params);
    tp_arena_free(arena);
}
/* <<t-train: optimisers>> */
static void decay(tp_optimizer_kind kind, float *matrix, float *vector)
{
    tp_arena *arena = tp_arena_new("test");
    tp_params params = {0};
    tp_tensor *w = tp_param_new(&params, arena, "w", tp_shape2(1, 2));
    tp_tensor *b = tp_param_new(&params, arena, "b", tp_shape1(2));
    tp_fill(w, 1.0f);
    tp_fill(b, 1.0f);
    tp_optimizer *opt = tp_optimizer_new(&params, (tp_optimizer_config){
        .kind = kind, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
        .weight_decay = 0.1f});
    for (int step = 0; step < 3; step++)
        tp_optimizer_step(opt, 0.01f);  /* the gradients stay zero */
    *matrix = w->data[0], *vector = b->data[0];
    tp_optimizer_free(opt);
    tp_params_free(&params);
    tp_arena_free(arena);
}
/* <<t-train: optimisers>> */
static void optimisers(void)
{
    sgd();
    adam_first_step();
    float matrix, vector;
    decay(TP_ADAMW, &matrix, &vector);
    near(matrix, pow(1 - 0.001, 3), 1e-7,
         "AdamW shrinks a matrix by (1 - rate x decay) per step");
    ok(vector == 1.0f, "and leaves a vector alone");
    decay(TP_ADAM, &matrix, &vector);
    near(matrix, 0.97, 1e-4, "Adam's coupled decay moves it by the rate");
}

/* <<t-train: schedule and clipping>> */
static void schedule(void)
{
    static const long steps[] = {0, 4, 9, 10, 60, 110, 200};
    static const double expected[] = {0.1, 0.5, 1.0, 1.0, 0.55, 0.1, 0.1};
    for (int i = 0; i < 7; i++)
        near(tp_lr_warmup_cosine(steps[i], 10, 110, 1.0f, 0.1f), expected[i],
             1e-6, "warm-up 10, cosine to step 110: step %ld has rate %g",
             steps[i], expected[i]);
}

static void clipping(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_params params = {0};
    tp_tensor *w = tp_param_new(&params, arena, "w", tp_shape2(1, 2));
    set_grad(w, 3.0f, 4.0f);
    near(tp_clip_grad_norm(&params, 10.0), 5.0, 1e-6,
         "the norm of (3, 4) is 5");
    ok(w->grad[0] == 3.0f, "a norm under the limit is left alone");
    tp_clip_grad_norm(&params, 1.0);
    ok(fabsf(w->grad[0] - 0.6f) < 1e-6f && fabsf(w->grad[1] - 0.8f) < 1e-6f,
       "clipping (3, 4) to norm 1 gives (0.6, 0.8)");
    /* <<t-train: the passes over many slices>> */
    tp_tensor *big = tp_param_new(&params, arena, "big", tp_shape2(300, 333));
    long n = tp_tensor_count(big);
    long double squares = 0.36L + 0.64L;
    for (long i = 0; i < n; i++) {
        big->grad[i] = (float)(i % 7) - 3.0f;
        squares += (long double)big->grad[i] * big->grad[i];
    }
    int threads = tp_threads();
    tp_set_threads(1);
    double one_thread = tp_grad_norm(&params);
    tp_set_threads(2);
    double two_threads = tp_grad_norm(&params);
    tp_set_threads(threads);
    near(one_thread, sqrtl(squares), 1e-9 * sqrtl(squares),
         "the norm of %ld gradients in slices", n + 2);
    ok(one_thread == two_threads, "is the same with one thread and with two");
    tp_clip_grad_norm(&params, 1.0);
    near(tp_grad_norm(&params), 1.0, 1e-6, "clipping reaches every slice");
    tp_zero_grad(&params);
    int zero = 1;
    for (long i = 0; i < n; i++)
        zero &= big->grad[i] == 0.0f;
    ok(zero && w->grad[0] == 0.0f, "and so does zeroing");
    tp_params_free(&params);
    tp_arena_free(arena);
}

/* <<t-train: the loop>> */
typedef struct regression {
    tp_tensor *x, *y, *w;
    long nan_at;  /* the step whose loss becomes NaN, or -1 */
} regression;

static tp_tensor *squared_error(tp_graph *g, long step, void *context)
{
    regression *r = context;
    tp_tensor *diff = tp_add(g, tp_matmul(g, r->x, r->w),
                             tp_scale(g, r->y, -1.0f));
    tp_tensor *loss = tp_mean(g, tp_mul(g, diff, diff));
    if (step == r->nan_at)
        loss->data[0] = NAN;
    return loss;
}
/* <<t-train: the loop>> */
static regression make_regression(tp_arena *arena, tp_params *params)
{
    tp_rng rng = tp_rng_seeded(8, 8);
    regression r = {.nan_at = -1};
    r.x = tp_tensor_new(arena, tp_shape2(64, 4), TP_NO_GRAD);
    tp_tensor *truth = tp_tensor_new(arena, tp_shape2(4, 2), TP_NO_GRAD);
    tp_fill_normal(r.x, &rng, 0.0f, 1.0f);
    tp_fill_normal(truth, &rng, 0.0f, 1.0f);
    r.y = tp_tensor_new(arena, tp_shape2(64, 2), TP_NO_GRAD);
    tp_gemm(r.y, r.x, truth, 1.0f, 0.0f);
    r.w = tp_param_new(params, arena, "w", tp_shape2(4, 2));
    return r;
}

static bool stop_after_five(const tp_progress *p, void *context)
{
    (void)context;
    return p->step < 4;
}
/* <<t-train: the loop>> */
static void the_loop(void)
{
    tp_arena *arena = tp_arena_new("parameters"), *step = tp_arena_new("step");
    tp_params params = {0};
    regression r = make_regression(arena, &params);
    tp_optimizer_config adam = {.kind = TP_ADAM, .beta1 = 0.9f,
                                .beta2 = 0.999f, .eps = 1e-8f};
    tp_optimizer *opt = tp_optimizer_new(&params, adam);
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = 200, .warmup = 1, .max_lr = 0.05f,
                          .min_lr = 0.05f};
    float losses[200];
    is(tp_train(&g, &params, opt, &o, squared_error, &r, losses, NULL), 0,
       "training a linear regression succeeds");
    ok(losses[199] < 1e-3f * losses[0], "and lowers the loss a thousandfold "
       "(%g to %g)", losses[0], losses[199]);
    tp_optimizer_free(opt);
    /* <<t-train: a NaN stops the loop>> */
    tp_fill(r.w, 0.0f);
    opt = tp_optimizer_new(&params, adam);
    o.steps = 3;
    tp_train(&g, &params, opt, &o, squared_error, &r, NULL, NULL);
    float after_two[8];
    memcpy(after_two, r.w->data, sizeof after_two);
    o.steps = 10;
    r.nan_at = 3;
    tp_error error = {""};
    is(tp_train(&g, &params, opt, &o, squared_error, &r, NULL, &error), -1,
       "a NaN loss stops training with an error");
    is_str(error.message, "the loss became nan at step 3; the parameters are "
           "those of step 2", "which says where");
    ok(memcmp(after_two, r.w->data, sizeof after_two) == 0,
       "and the parameters are untouched by the bad step");
    tp_optimizer_free(opt);
    r.nan_at = -1;
    /* <<t-train: the progress function stops the loop>> */
    opt = tp_optimizer_new(&params, adam);
    o.progress = stop_after_five;
    tp_train(&g, &params, opt, &o, squared_error, &r, NULL, NULL);
    is(tp_optimizer_steps(opt), 5, "a progress function can stop the loop");
    tp_optimizer_free(opt);
    tp_params_free(&params);
    tp_arena_free(step);
    tp_arena_free(arena);
}

/* <<t-train: determinism and resuming>> */
typedef struct classifier {
    tp_params params;
    tp_tensor *embed, *w1, *b1, *w2;
    tp_rng data, dropout;
    tp_arena *arena;
} classifier;

static void classifier_init(classifier *m, uint64_t seed)
{
    *m = (classifier){.arena = tp_arena_new("parameters")};
    tp_rng init = tp_rng_seeded(seed, 1);
    m->embed = tp_param_new(&m->params, m->arena, "embed", tp_shape2(16, 8));
    m->w1 = tp_param_new(&m->params, m->arena, "w1", tp_shape2(8, 32));
    m->b1 = tp_param_new(&m->params, m->arena, "b1", tp_shape1(32));
    m->w2 = tp_param_new(&m->params, m->arena, "w2", tp_shape2(32, 16));
    for (int i = 0; i < m->params.count; i++)
        tp_fill_normal(m->params.items[i].tensor, &init, 0.0f, 0.2f);
    m->data = tp_rng_seeded(seed, 2);
    m->dropout = tp_rng_seeded(seed, 3);
}
/* <<t-train: determinism and resuming>> */
static tp_tensor *classifier_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    classifier *m = context;
    int tokens[32], targets[32];
    for (int i = 0; i < 32; i++) {
        tokens[i] = (int)tp_rng_below(&m->data, 16);
        targets[i] = (tokens[i] * 5 + 3) % 16;
    }
    tp_tensor *h = tp_embedding(g, m->embed, tokens, tp_shape1(32));
    h = tp_gelu(g, tp_linear(g, h, m->w1, m->b1));
    h = tp_dropout(g, h, 0.1f, &m->dropout);
    return tp_cross_entropy(g, tp_matmul(g, h, m->w2), targets, -1);
}
/* <<t-train: determinism and resuming>> */
static bool interrupt(const tp_progress *p, void *context)
{
    return p->step != *(const long *)context;
}

static void train_classifier(uint64_t seed, long interrupted_after,
                             float losses[20])
{
    classifier m;
    classifier_init(&m, seed);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_optimizer *opt = tp_adamw_new(&m.params, 0.95f, 0.1f);
    tp_train_options o = {.steps = 20, .warmup = 5, .max_lr = 0.01f,
                          .min_lr = 0.001f, .clip = 1.0,
                          .progress = interrupt,
                          .progress_context = &interrupted_after};
    tp_train(&g, &m.params, opt, &o, classifier_loss, &m, losses, NULL);
    o.progress = NULL;  /* continue from where the optimiser stopped */
    tp_train(&g, &m.params, opt, &o, classifier_loss, &m, losses, NULL);
    tp_optimizer_free(opt);
    tp_arena_free(step);
    tp_params_free(&m.params);
    tp_arena_free(m.arena);
}
/* <<t-train: determinism and resuming>> */
static void determinism_and_resuming(void)
{
    float first[20], second[20], other[20], resumed[20];
    train_classifier(42, -1, first);
    train_classifier(42, -1, second);
    train_classifier(43, -1, other);
    train_classifier(42, 6, resumed);
    ok(memcmp(first, second, sizeof first) == 0,
       "two runs from the same seed give bit-identical losses");
    ok(memcmp(first, other, sizeof first) != 0, "another seed does not");
    ok(memcmp(first, resumed, sizeof first) == 0,
       "a run interrupted after 7 steps and continued gives the same "
       "losses");
    ok(first[19] < first[0], "and the classifier learns (%.3f to %.3f)",
       first[0], first[19]);
    char line[128];
    tp_progress p = {.step = 119, .steps = 1000, .loss = 2.34567f,
                     .lr = 3e-4f, .tokens_per_second = 9876.4,
                     .seconds_left = 89.0};
    tp_progress_format(&p, line, sizeof line);
    is_str(line, "step 120/1000 | loss 2.3457 | lr 3.00e-04 | 9,876 tok/s | "
           "1:29 left", "the progress line reads as it should");
}

/* <<t-train: the AdamW of the book's models>> */
enum { CLASSIFIER_NUMBERS = 16 * 8 + 8 * 32 + 32 + 32 * 16 };

static void trained_parameters(tp_optimizer_config *literal, float beta2,
                               float decay, float *out)
{
    classifier m;
    classifier_init(&m, 42);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_check(tp_params_count(&m.params) == CLASSIFIER_NUMBERS,
             "the classifier has %ld numbers", tp_params_count(&m.params));
    tp_optimizer *opt = literal != NULL
                            ? tp_optimizer_new(&m.params, *literal)
                            : tp_adamw_new(&m.params, beta2, decay);
    tp_train_options o = {.steps = 5, .warmup = 1, .max_lr = 0.01f,
                          .min_lr = 0.01f, .clip = 1.0};
    tp_train(&g, &m.params, opt, &o, classifier_loss, &m, NULL, NULL);
    for (int i = 0; i < m.params.count; i++) {
        tp_tensor *t = m.params.items[i].tensor;
        memcpy(out, t->data, (size_t)tp_tensor_count(t) * sizeof(float));
        out += tp_tensor_count(t);
    }
    tp_optimizer_free(opt);
    tp_arena_free(step);
    tp_params_free(&m.params);
    tp_arena_free(m.arena);
}
/* <<t-train: the AdamW of the book's models>> */
static void book_adamw(void)
{
    static const float settings[][2] = {
        {0.95f, 0.1f}, {0.95f, 0.01f}, {0.95f, 0.0f}, {0.98f, 0.01f},
        {0.999f, 0.05f}, {0.999f, 0.01f}, {0.999f, 0.0f}};
    static float preset[CLASSIFIER_NUMBERS], literal[CLASSIFIER_NUMBERS];
    for (int i = 0; i < 7; i++) {
        float beta2 = settings[i][0], decay = settings[i][1];
        tp_optimizer_config c = {.kind = TP_ADAMW, .beta1 = 0.9f,
                                 .beta2 = beta2, .eps = 1e-8f,
                                 .weight_decay = decay};
        trained_parameters(NULL, beta2, decay, preset);
        trained_parameters(&c, 0.0f, 0.0f, literal);
        ok(memcmp(preset, literal, sizeof preset) == 0,
           "tp_adamw_new(%g, %g) trains as the literal configuration, "
           "bit for bit", beta2, decay);
    }
    trained_parameters(NULL, 0.95f, 0.0f, literal);
    ok(memcmp(preset, literal, sizeof preset) != 0,
       "and the comparison tells another beta2 apart");
    trained_parameters(NULL, 0.999f, 0.01f, literal);
    ok(memcmp(preset, literal, sizeof preset) != 0, "and another decay");
}

int main(void)
{
    if (general_tests())
        parameters();
    if (exercise_tests("train.adam-update"))
        optimisers();
    if (exercise_tests("train.warmup-cosine"))
        schedule();
    if (general_tests()) {
        clipping();
        the_loop();
        determinism_and_resuming();
        book_adamw();
    }
    return done_testing();
}
