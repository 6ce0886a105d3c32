/* Generated from book/264-reformer.nw; edit the book, not this file. */
#include <string.h>

#include "gradients.h"
#include "models.h"

static tp_arena *arena;
static tp_rng rng;

static tp_tensor *random_tensor(tp_shape shape)
{
    return tp_tensor_normal(arena, shape, TP_WITH_GRAD, &rng);
}

/* <<t-reformer: LSH against dense attention>> */
static bool not_self(int query, int key, void *causal)
{
    return key != query || (*(bool *)causal && query == 0);
}

static double lsh_error(int t, const tp_lsh_options *o)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *qk = random_tensor(tp_shape4(2, 2, t, 8));
    tp_tensor *v = random_tensor(tp_shape4(2, 2, t, 5));
    tp_tensor *k = tp_tensor_empty(arena, qk->shape, TP_NO_GRAD);
    for (long row = 0; row < tp_tensor_count(qk) / 8; row++) {
        double sum = 0.0;
        for (int e = 0; e < 8; e++)
            sum += (double)qk->data[row * 8 + e] * qk->data[row * 8 + e];
        for (int e = 0; e < 8; e++)
            k->data[row * 8 + e] = qk->data[row * 8 + e] / (float)sqrt(sum);
    }
    bool causal = o->causal;
    tp_attention_options dense = {.causal = causal, .pattern = not_self,
                                  .pattern_context = &causal};
    return tp_max_abs_diff(tp_lsh_attention(&g, qk, v, o),
                           tp_attention(&g, qk, k, v, &dense));
}

static void lsh_equals_dense(void)
{
    tp_lsh_options o = {.buckets = 1, .rounds = 1, .chunk = 24, .seed = 1};
    near(lsh_error(24, &o), 0, 1e-5, "one bucket, one round, one chunk: "
         "LSH attention equals dense shared-QK attention");
    o.rounds = 3;
    near(lsh_error(24, &o), 0, 1e-5, "and with three rounds: log N_ij "
         "removes the duplicates");
    o.causal = true;
    near(lsh_error(24, &o), 0, 1e-5, "and causal, the first position "
         "attending itself");
    o = (tp_lsh_options){.buckets = 8, .rounds = 2, .chunk = 32, .seed = 2};
    near(lsh_error(32, &o), 0, 1e-5, "eight buckets, a chunk of all 32 "
         "positions: still dense attention");
}
/* <<t-reformer: recall against rounds>> */
static double mean_recall(const tp_tensor *x, int rounds)
{
    double sum = 0.0;
    for (int seed = 1; seed <= 4; seed++) {
        tp_lsh_options o = {.buckets = 16, .rounds = rounds, .chunk = 16,
                            .seed = (uint64_t)seed};
        sum += tp_lsh_recall(arena, x, &o, 4) / 4;
    }
    return sum;
}

static void recall_grows(void)
{
    tp_tensor *x = tp_tensor_normal(arena, tp_shape2(256, 32), TP_NO_GRAD, &rng);
    double recall[4];
    for (int i = 0; i < 4; i++)
        recall[i] = mean_recall(x, 1 << i);
    ok(recall[1] > recall[0] + 0.05 && recall[2] > recall[1] + 0.05
           && recall[3] > recall[2] + 0.05,
       "recall of the 4 best keys grows with the rounds: %.3f, %.3f, %.3f, "
       "%.3f for 1, 2, 4, 8 (each asserted 0.05 above the last)",
       recall[0], recall[1], recall[2], recall[3]);
    ok(recall[0] > 1.25 / 8, "one round finds %.3f of the best keys, "
       "more than chance (1/8) by a quarter", recall[0]);
}
/* <<t-reformer: LSH gradients>> */
static tp_tensor *lsh_forward(tp_graph *g, tp_tensor *const in[], void *o)
{
    return tp_lsh_attention(g, in[0], in[1], o);
}

static void lsh_against_differences(void)
{
    tp_tensor *in[2] = {random_tensor(tp_shape4(1, 2, 12, 4)),
                        random_tensor(tp_shape4(1, 2, 12, 3))};
    tp_lsh_options o = {.buckets = 1, .rounds = 2, .chunk = 3, .seed = 5};
    check_gradients(lsh_forward, in, 2, &o, "LSH attention, chunks of 3");
    o.causal = true;
    check_gradients(lsh_forward, in, 2, &o, "causal LSH attention, chunks of 3");
}
/* <<t-reformer: LSH gradients>> */
static unsigned char *selected_pairs(const tp_tensor *qk,
                                     const tp_lsh_options *o)
{
    tp_tensor head = tp_head(qk, 0, 0);
    tp_lsh_plan p = tp_lsh_plan_make(arena, &head, o);
    int t = p.t;
    unsigned char *allowed = tp_arena_zeroed(arena, (size_t)t * t, 1);
    for (int i = 0; i < t; i++) {
        int others = 0;
        for (int j = 0; j < t; j++) {
            allowed[i * t + j] = j != i && (!o->causal || j < i)
                                 && tp_lsh_shared_rounds(&p, i, j) > 0;
            others += allowed[i * t + j];
        }
        allowed[i * t + i] = others == 0;
    }
    return allowed;
}
/* <<t-reformer: LSH gradients>> */
static void gradients_of(tp_tensor *qk, tp_tensor *v, tp_tensor *w,
                         const tp_lsh_options *o,
                         const unsigned char *allowed, float *into)
{
    long nq = tp_tensor_count(qk), nv = tp_tensor_count(v);
    int d = qk->shape.dim[3];
    memset(qk->grad, 0, (size_t)nq * sizeof(float));
    memset(v->grad, 0, (size_t)nv * sizeof(float));
    tp_graph g = tp_graph_on(arena);
    tp_tensor *out;
    if (o != NULL)
        out = tp_lsh_attention(&g, qk, v, o);
    else {
        tp_tensor *gain = tp_tensor_empty(arena, tp_shape1(d), TP_NO_GRAD);
        tp_fill(gain, 1.0f / sqrtf((float)d));
        tp_tensor *k = tp_rmsnorm(&g, qk, gain, 1e-12f);
        out = tp_attention(&g, qk, k, v,
                           &(tp_attention_options){.allowed = allowed});
    }
    tp_backward(&g, tp_sum(&g, tp_mul(&g, out, w)));
    memcpy(into, qk->grad, (size_t)nq * sizeof *into);
    memcpy(into + nq, v->grad, (size_t)nv * sizeof *into);
}
/* <<t-reformer: LSH gradients>> */
static void lsh_against_dense(bool causal)
{
    tp_tensor *qk = random_tensor(tp_shape4(1, 1, 32, 8));
    tp_tensor *v = random_tensor(tp_shape4(1, 1, 32, 5));
    tp_tensor *w = tp_tensor_normal(arena, v->shape, TP_NO_GRAD, &rng);
    tp_lsh_options o = {.buckets = 4, .rounds = 2, .chunk = 4,
                        .causal = causal, .seed = 9};
    const unsigned char *allowed = selected_pairs(qk, &o);
    long n = tp_tensor_count(qk) + tp_tensor_count(v);
    float *lsh = tp_arena_alloc(arena, (size_t)n * sizeof *lsh);
    float *dense = tp_arena_alloc(arena, (size_t)n * sizeof *dense);
    gradients_of(qk, v, w, &o, NULL, lsh);
    gradients_of(qk, v, w, NULL, allowed, dense);
    double worst = 0.0;
    for (long i = 0; i < n; i++)
        worst = fmax(worst, fabs(lsh[i] - dense[i]));
    near(worst, 0, 1e-4, "%s LSH attention, 4 buckets, 2 rounds: gradients "
         "of qk and v as dense attention over the selected pairs",
         causal ? "causal" : "bidirectional");
}

static void lsh_gradients(void)
{
    lsh_against_differences();
    lsh_against_dense(false);
    lsh_against_dense(true);
}
/* <<t-reformer: a stack of layers>> */
enum { LAYERS = 3, HALF = 8 };

typedef struct stack {
    tp_params params;
    tp_block blocks[8];
    tp_reformer_layer layer[8];
    tp_reversible_layer rev[8];
    int n;
    tp_arena *recompute, *scratch;
    tp_tensor *x, *weights;
    bool stored;
} stack;

static void stack_make(stack *s, int n, const tp_lsh_options *lsh, int chunks)
{
    *s = (stack){.n = n, .recompute = tp_arena_new("recompute"),
                 .scratch = tp_arena_new("chunks")};
    for (int i = 0; i < n; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "h.%d.", i);
        tp_block_make(&s->blocks[i], &s->params, arena, prefix, HALF,
                      4 * HALF, false);
        s->layer[i] = (tp_reformer_layer){&s->blocks[i], 2, lsh, chunks,
                                          s->scratch};
        s->rev[i] = (tp_reversible_layer){tp_reformer_attention,
                                          tp_reformer_feed_forward,
                                          &s->layer[i], &s->layer[i]};
    }
    tp_rng init = tp_rng_seeded(7, 7);
    tp_init_gpt2(&s->params, &init, n);
    enlarge_weights(&s->params, &init);
    s->x = random_tensor(tp_shape3(2, 12, 2 * HALF));
    s->weights = tp_tensor_normal(arena, s->x->shape, TP_NO_GRAD, &rng);
}

static void stack_free(stack *s)
{
    tp_params_free(&s->params);
    tp_arena_free(s->recompute), tp_arena_free(s->scratch);
}
/* <<t-reformer: a stack of layers>> */
static tp_tensor *stack_run(tp_graph *g, stack *s)
{
    return s->stored ? tp_reversible_stored(g, s->rev, s->n, s->x)
                     : tp_reversible(g, s->rev, s->n, s->x, s->recompute);
}

static tp_tensor *stack_loss(tp_graph *g, tp_tensor *const in[], void *s)
{
    (void)in;
    stack *st = s;
    return tp_sum(g, tp_mul(g, stack_run(g, st), st->weights));
}

/* Every gradient of a backward pass, in one array: x's, then the parameters'. */
static float *stack_gradients(stack *s, tp_arena *step, bool spoil)
{
    tp_zero_grad(&s->params);
    memset(s->x->grad, 0, (size_t)tp_tensor_count(s->x) * sizeof(float));
    tp_graph g = tp_graph_on(step);
    tp_tensor *loss = stack_loss(&g, NULL, s);
    float *saved = NULL;
    long count = tp_tensor_count(s->x);
    if (spoil) {  /* the input's data, gone: the backward pass must rebuild it */
        saved = malloc((size_t)count * sizeof *saved);
        memcpy(saved, s->x->data, (size_t)count * sizeof *saved);
        for (long i = 0; i < count; i++)
            s->x->data[i] = NAN;
    }
    tp_backward(&g, loss);
    if (spoil)
        memcpy(s->x->data, saved, (size_t)count * sizeof *saved), free(saved);
    long total = count + tp_params_count(&s->params), at = count;
    float *all = tp_arena_alloc(arena, (size_t)total * sizeof *all);
    memcpy(all, s->x->grad, (size_t)count * sizeof *all);
    for (int i = 0; i < s->params.count; i++) {
        tp_tensor *p = s->params.items[i].tensor;
        memcpy(all + at, p->grad, (size_t)tp_tensor_count(p) * sizeof *all);
        at += tp_tensor_count(p);
    }
    tp_graph_reset(&g);
    return all;
}
/* <<t-reformer: reversible against stored>> */
static double largest_difference(const float *a, const float *b, long n)
{
    double worst = 0.0;
    for (long i = 0; i < n; i++)
        worst = fmax(worst, isnan(a[i] - b[i]) ? INFINITY : fabs(a[i] - b[i]));
    return worst;
}

static void compare_stacks(const tp_lsh_options *lsh, int chunks,
                           const char *what)
{
    stack s;
    stack_make(&s, LAYERS, lsh, chunks);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_set_grad(&g, false);
    tp_tensor *y = stack_run(&g, &s);
    s.stored = true;
    near(tp_max_abs_diff(y, stack_run(&g, &s)), 0, 1e-5,
         "%s: reversible and stored outputs agree", what);
    tp_graph_reset(&g);
    long n = tp_tensor_count(s.x) + tp_params_count(&s.params);
    float *stored = stack_gradients(&s, step, false);
    s.stored = false;
    float *rebuilt = stack_gradients(&s, step, true);
    near(largest_difference(stored, rebuilt, n), 0, 1e-4, "%s: every "
         "gradient (input and %ld parameters) as with stored activations, "
         "the input spoilt before the backward pass", what,
         tp_params_count(&s.params));
    tp_arena_free(step);
    stack_free(&s);
}
/* <<t-reformer: reversible against stored>> */
static void reversible_equals_stored(void)
{
    compare_stacks(NULL, 1, "dense attention");
    tp_lsh_options lsh = {.buckets = 4, .rounds = 2, .chunk = 4,
                          .causal = true, .seed = 3};
    compare_stacks(&lsh, 3, "LSH attention, chunked feed-forward");
    tp_lsh_options stable = {.buckets = 1, .rounds = 2, .chunk = 4,
                             .causal = true, .seed = 3};
    stack s;
    stack_make(&s, 2, &stable, 3);
    /* Central differences of step 1e-2 err by about h^2/6 times the third
       derivative: through two layers of softmax and GELU that reaches
       1e-4 on some weights, 1% of the checker's floor of 1e-2 (1.1% with
       Clang's rounding), so this check allows 2%; a wrong gradient is off
       by its own size. */
    tp_tensor *inputs[64];
    for (int i = 0; i < s.params.count; i++)
        inputs[i] = s.params.items[i].tensor;
    tp_gradcheck_result r = tp_gradcheck(stack_loss, inputs, s.params.count,
                                         &s);
    if (!ok(r.error <= 2e-2, "two reversible LSH layers, chunked "
            "feed-forward: gradients match central differences"))
        diag("%s, element %ld: analytic %g, numeric %g",
             s.params.items[r.input].name, r.element, r.analytic, r.numeric);
    stack_free(&s);
}
/* <<t-reformer: memory against depth>> */
static size_t step_peak(stack *s)
{
    tp_arena *step = tp_arena_new("step");
    tp_arena_reset_peak(s->recompute), tp_arena_reset_peak(s->scratch);
    tp_graph g = tp_graph_on(step);
    tp_backward(&g, stack_loss(&g, NULL, s));
    size_t peak = tp_arena_peak(step) + tp_arena_peak(s->recompute)
                  + tp_arena_peak(s->scratch);
    tp_arena_free(step);
    return peak;
}

static void memory_flat(void)
{
    size_t peak[2][2];
    for (int stored = 0; stored < 2; stored++)
        for (int deep = 0; deep < 2; deep++) {
            stack s;
            stack_make(&s, deep ? 8 : 2, NULL, 1);
            s.stored = stored;
            peak[stored][deep] = step_peak(&s);
            stack_free(&s);
        }
    ok(peak[0][1] <= 1.02 * peak[0][0], "reversible: 8 layers peak at %zu "
       "bytes, 2 layers at %zu", peak[0][1], peak[0][0]);
    ok(peak[1][1] > 3 * peak[1][0], "stored: 8 layers peak at %zu bytes, "
       "2 layers at %zu", peak[1][1], peak[1][0]);
}
/* <<t-reformer: chunked feed-forward>> */
static tp_tensor *feed_forward_loss(tp_graph *g, tp_tensor *const in[],
                                    void *layer)
{
    return tp_sum(g, tp_mul(g, tp_reformer_feed_forward(g, layer, in[0]),
                            in[1]));
}

static size_t feed_forward_peak(tp_reformer_layer *l, tp_tensor *in[2],
                                float *grad)
{
    tp_arena *step = tp_arena_new("step");
    tp_arena_reset_peak(l->ff_scratch);
    memset(in[0]->grad, 0, (size_t)tp_tensor_count(in[0]) * sizeof(float));
    tp_graph g = tp_graph_on(step);
    tp_backward(&g, feed_forward_loss(&g, in, l));
    memcpy(grad, in[0]->grad, (size_t)tp_tensor_count(in[0]) * sizeof *grad);
    size_t peak = tp_arena_peak(step) + tp_arena_peak(l->ff_scratch);
    tp_arena_free(step);
    return peak;
}
/* <<t-reformer: chunked feed-forward>> */
static void chunked_equals_whole(void)
{
    stack s;
    stack_make(&s, 1, NULL, 1);
    tp_tensor *in[2] = {random_tensor(tp_shape3(2, 64, HALF)), NULL};
    in[1] = tp_tensor_normal(arena, in[0]->shape, TP_NO_GRAD, &rng);
    long n = tp_tensor_count(in[0]);
    float *whole = tp_arena_alloc(arena, (size_t)n * sizeof *whole);
    float *chunked = tp_arena_alloc(arena, (size_t)n * sizeof *chunked);
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *y1 = tp_reformer_feed_forward(&g, &s.layer[0], in[0]);
    size_t one = feed_forward_peak(&s.layer[0], in, whole);
    s.layer[0].ff_chunks = 4;
    tp_tensor *y4 = tp_reformer_feed_forward(&g, &s.layer[0], in[0]);
    size_t four = feed_forward_peak(&s.layer[0], in, chunked);
    near(tp_max_abs_diff(y1, y4), 0, 1e-5, "the feed-forward in 4 chunks "
         "equals it in one piece");
    near(largest_difference(whole, chunked, n), 0, 1e-5, "and so do the "
         "input's gradients");
    ok(four < one, "its step peaks at %zu bytes, against %zu", four, one);
    stack_free(&s);
}
/* <<t-reformer: refusals>> */
static int six_buckets(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_tensor *x = random_tensor(tp_shape4(1, 1, 4, 2));
    tp_lsh_attention(&g, x, x, &(tp_lsh_options){6, 1, 2, false, 1});
    return 0;
}

static int no_rounds(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_tensor *x = random_tensor(tp_shape4(1, 1, 4, 2));
    tp_lsh_attention(&g, x, x, &(tp_lsh_options){4, 0, 2, false, 1});
    return 0;
}

static int odd_channels(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_reversible(&g, NULL, 0, random_tensor(tp_shape3(1, 2, 5)), arena);
    return 0;
}

static void refusals(void)
{
    dies_with(six_buckets, "buckets = 6; it must be a power of two",
              "6 buckets: refused");
    dies_with(no_rounds, "rounds = 0; it must be at least 1",
              "no rounds: refused");
    dies_with(odd_channels, "with C even",
              "5 channels for the reversible split: refused");
}
/* <<t-reformer: the language model>> */
static const int lm_tokens[2 * 8] = {1, 5, 2, 7, 3, 0, 9, 9,
                                     4, 1, 15, 8, 6, 6, 2, 11};
static const int lm_targets[2 * 8] = {5, 2, 7, 3, 0, 9, 9, 12,
                                      1, 15, 8, 6, 6, 2, 11, 3};

static tp_reformer_lm *tiny_lm(tp_lsh_options lsh, int ff_chunks)
{
    tp_reformer_lm *m = tp_reformer_lm_new((tp_gpt_config){16, 8, 2, 2, 8,
                                            TP_POSITIONS_LEARNED}, &lsh,
                                           ff_chunks);
    tp_rng init = tp_rng_seeded(264, 3);
    tp_gpt_init(m->gpt, &init);
    enlarge_weights(&m->gpt->params, &init);
    return m;
}

static tp_tensor *lm_loss(tp_graph *g, tp_tensor *const in[], void *m)
{
    (void)in;
    return tp_reformer_lm_loss(g, m, lm_tokens, lm_targets, 2, 8);
}

static void lm_gradients(void)
{
    tp_reformer_lm *m = tiny_lm((tp_lsh_options){1, 2, 3, true, 5}, 2);
    check_model_gradients(lm_loss, &m->gpt->params, m,
                          "a Reformer language model, one bucket, chunks of 3");
    tp_reformer_lm_free(m);
}
/* <<t-reformer: the language model>> */
/* The largest change of the logits of positions before the last, and of
   the last, when the last token changes. */
static void change_last(tp_reformer_lm *m, double *earlier, double *last)
{
    int a[8], b[8];
    memcpy(a, lm_tokens, sizeof a), memcpy(b, lm_tokens, sizeof b);
    b[7] = (a[7] + 5) % 16;
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *la = tp_reformer_lm_forward(&g, m, a, 1, 8);
    tp_tensor *lb = tp_reformer_lm_forward(&g, m, b, 1, 8);
    *earlier = 0.0, *last = 0.0;
    for (int i = 0; i < 8 * 16; i++) {
        double change = fabs(la->data[i] - lb->data[i]);
        if (i < 7 * 16)
            *earlier = fmax(*earlier, change);
        else
            *last = fmax(*last, change);
    }
}

static void lm_causality(void)
{
    double earlier, last;
    tp_reformer_lm *m = tiny_lm((tp_lsh_options){1, 2, 3, true, 5}, 2);
    change_last(m, &earlier, &last);
    ok(earlier == 0.0 && last > 1e-2, "one bucket: a later token changes no "
       "earlier logit (%.1g), its own position's (%.2g)", earlier, last);
    tp_reformer_lm_free(m);
    int moved = 0;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        m = tiny_lm((tp_lsh_options){4, 2, 2, true, seed}, 2);
        change_last(m, &earlier, &last);
        moved += earlier > 1e-2;
        tp_reformer_lm_free(m);
    }
    ok(moved >= 1, "4 buckets: with %d of 5 seeds of the rotations a later "
       "token moves earlier logits: hashing couples positions", moved);
}
/* <<t-reformer: the language model>> */
static tp_tensor *dense_shared_qk(tp_graph *g, void *layer, tp_tensor *x)
{
    const tp_reformer_layer *l = layer;
    const tp_block *b = l->block;
    tp_tensor *h = tp_block_norm(g, x, b->ln_1_w, b->ln_1_b), *views[3];
    tp_split_qkv(g, tp_linear(g, h, b->c_attn_w, b->c_attn_b), l->heads,
                 l->heads, views);
    int d = views[0]->shape.dim[3];
    tp_tensor *gain = tp_tensor_empty(g->arena, tp_shape1(d), TP_NO_GRAD);
    tp_fill(gain, 1.0f / sqrtf((float)d));
    tp_tensor *q = tp_contiguous(g, views[0]);
    bool causal = true;
    tp_attention_options o = {.causal = true, .pattern = not_self,
                              .pattern_context = &causal};
    tp_tensor *o_heads = tp_attention(g, q, tp_rmsnorm(g, q, gain, 1e-12f),
                                      views[2], &o);
    return tp_linear(g, tp_merge_heads(g, o_heads), b->c_proj_w, b->c_proj_b);
}

static void lm_one_bucket_is_dense(void)
{
    tp_reformer_lm *m = tiny_lm((tp_lsh_options){1, 1, 8, true, 5}, 1);
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *lsh = tp_reformer_lm_forward(&g, m, lm_tokens, 2, 8);
    for (int l = 0; l < 2; l++)
        m->rev[l].F = dense_shared_qk;
    tp_tensor *dense = tp_reformer_lm_forward(&g, m, lm_tokens, 2, 8);
    near(tp_max_abs_diff(lsh, dense), 0, 1e-4, "one bucket, one round, one "
         "chunk: the Reformer model equals its weights with dense shared-QK "
         "attention");
    tp_reformer_lm_free(m);
}
/* <<t-reformer: the language model>> */
static int bidirectional_lm(void)
{
    tiny_lm((tp_lsh_options){1, 1, 8, false, 5}, 1);
    return 0;
}

static int no_chunks_lm(void)
{
    tiny_lm((tp_lsh_options){1, 1, 8, true, 5}, 0);
    return 0;
}

static void language_model(void)
{
    lm_gradients();
    lm_causality();
    lm_one_bucket_is_dense();
    dies_with(bidirectional_lm, "must be causal",
              "a language model with bidirectional LSH attention: refused");
    dies_with(no_chunks_lm, "ff_chunks = 0",
              "a feed-forward in no chunks: refused");
}

int main(void)
{
    plan(29);
    arena = tp_arena_new("t_reformer");
    rng = tp_rng_seeded(264, 1);
    lsh_equals_dense();
    recall_grows();
    lsh_gradients();
    reversible_equals_stored();
    memory_flat();
    chunked_equals_whole();
    refusals();
    language_model();
    tp_arena_free(arena);
    return done_testing();
}
