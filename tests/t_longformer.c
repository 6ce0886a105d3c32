/* Generated from book/272-longformer.nw; edit the book, not this file. */
#include <string.h>

#include "gradients.h"
#include "models.h"

static tp_arena *arena;
static tp_rng rng;

static tp_tensor *random_tensor(tp_shape shape)
{
    return tp_tensor_normal(arena, shape, TP_WITH_GRAD, &rng);
}

static tp_tensor *gradient_copy(const tp_tensor *x)
{
    tp_tensor g = tp_grad_of(x), *copy = tp_tensor_empty(arena, x->shape,
                                                         TP_NO_GRAD);
    tp_copy(copy, &g);
    tp_fill(&g, 0.0f);
    return copy;
}

/* <<t-longformer: the patterns equal dense attention>> */
static const int globals[3] = {0, 150, 299};

static const tp_longformer_pattern patterns[] = {
    {300, 40, 1, false, 0, NULL, false},
    {300, 10, 3, false, 0, NULL, false},
    {300, 20, 1, false, 3, globals, true},
    {300, 40, 1, true, 0, NULL, false},
};
static const char *const pattern_names[] = {
    "a window of 40", "a window of 10 dilated by 3",
    "a window of 20 and three global tokens (shared projections)",
    "a causal window of 40"};
/* <<t-longformer: the patterns equal dense attention>> */
static tp_tensor *run(tp_tensor *const in[3], const tp_tensor *seed,
                      const tp_longformer_pattern *p,
                      const tp_block_layout *layout, tp_tensor *grads[3])
{
    tp_graph g = tp_graph_on(arena);
    tp_attention_options o = {.causal = p->causal,
                              .pattern = tp_longformer_allows,
                              .pattern_context = (void *)p};
    tp_tensor *out = layout ? tp_attention_block_sparse(&g, in[0], in[1],
                                                        in[2], layout, &o)
                            : tp_attention(&g, in[0], in[1], in[2], &o);
    tp_backward_from(&g, out, seed);
    for (int i = 0; i < 3; i++)
        grads[i] = gradient_copy(in[i]);
    return out;
}
/* <<t-longformer: the patterns equal dense attention>> */
static void patterns_equal_dense(void)
{
    for (int i = 0; i < 4; i++) {
        const tp_longformer_pattern *p = &patterns[i];
        tp_tensor *in[3], *seed = random_tensor(tp_shape4(1, 2, 300, 16));
        for (int j = 0; j < 3; j++)
            in[j] = random_tensor(tp_shape4(1, 2, 300, 16));
        tp_block_layout *l = tp_longformer_layout(arena, p, 32);
        tp_tensor *dense_grads[3], *sparse_grads[3];
        tp_tensor *dense = run(in, seed, p, NULL, dense_grads);
        tp_tensor *sparse = run(in, seed, p, l, sparse_grads);
        float worst = 0.0f;
        for (int j = 0; j < 3; j++)
            worst = fmaxf(worst, tp_max_abs_diff(dense_grads[j], sparse_grads[j]));
        near(tp_max_abs_diff(sparse, dense), 0, 1e-5, "%s: equals dense "
             "attention with its mask", pattern_names[i]);
        near(worst, 0, 1e-5, "%s: so do the gradients", pattern_names[i]);
    }
}
/* <<t-longformer: the layout's blocks>> */
static void count_row(const tp_block_layout *l, int r, int counts[2])
{
    counts[0] = counts[1] = 0;
    for (int e = l->row_first[r]; e < l->row_first[r + 1]; e++)
        counts[l->row_partial[e]]++;
}

static void layout_blocks(void)
{
    static const int first[1] = {0};
    tp_longformer_pattern p = {16384, 256, 1, false, 0, NULL, false};
    tp_block_layout *l = tp_longformer_layout(arena, &p, 64);
    int counts[2];
    count_row(l, 100, counts);
    ok(counts[0] == 3 && counts[1] == 2, "window 256, blocks of 64: 3 full "
       "and 2 partial blocks in a row (%d, %d)", counts[0], counts[1]);
    ok(l->entries * 50 < 256L * 256, "T = 16384: %ld of %d blocks listed",
       l->entries, 256 * 256);
    p.globals = 1, p.global = first;
    count_row(tp_longformer_layout(arena, &p, 64), 100, counts);
    ok(counts[0] == 3 && counts[1] == 3, "with a global token at 0: one "
       "more partial block (%d, %d)", counts[0], counts[1]);
}
/* <<t-longformer: global attention>> */
static const int two_globals[2] = {0, 9};
static const tp_longformer_pattern small = {20, 4, 1, false, 2, two_globals,
                                            false};

static tp_tensor *global_forward(tp_graph *g, tp_tensor *const in[],
                                 void *context)
{
    const tp_block_layout *l = context;
    return tp_longformer_attention(g, in, in + 3, &small, l, NULL);
}
/* <<t-longformer: global attention>> */
static float row_gap(const tp_tensor *a, int ra, const tp_tensor *b, int rb)
{
    float worst = 0.0f;
    int t = a->shape.dim[2], d = a->shape.dim[3];
    for (int h = 0; h < a->shape.dim[1]; h++)
        for (int e = 0; e < d; e++)
            worst = fmaxf(worst, fabsf(a->data[((long)h * t + ra) * d + e]
                                       - b->data[((long)h * b->shape.dim[2] + rb) * d + e]));
    return worst;
}

static void global_attention(void)
{
    tp_tensor *in[6];
    for (int j = 0; j < 6; j++)
        in[j] = random_tensor(tp_shape4(1, 2, j == 3 ? 2 : 20, 4));
    tp_block_layout *l = tp_longformer_layout(arena, &small, 4);
    tp_graph g = tp_graph_on(arena);
    tp_tensor *out = global_forward(&g, in, l);
    tp_attention_options o = {.pattern = tp_longformer_allows,
                              .pattern_context = (void *)&small};
    tp_tensor *local = tp_attention(&g, in[0], in[1], in[2], &o);
    tp_tensor *global = tp_attention(&g, in[3], in[4], in[5], NULL);
    float local_gap = 0.0f;
    for (int i = 0; i < 20; i++)
        if (i != 0 && i != 9)
            local_gap = fmaxf(local_gap, row_gap(out, i, local, i));
    float global_gap = fmaxf(row_gap(out, 0, global, 0), row_gap(out, 9, global, 1));
    near(local_gap, 0, 1e-5, "the other rows are the window's attention");
    near(global_gap, 0, 1e-5, "the global rows are dense attention from Q_g");
    check_gradients(global_forward, in, 6, l, "Longformer attention with "
                    "global projections");
}
/* <<t-longformer: the model>> */
typedef struct model_call {
    tp_longformer *m;
    const int *tokens;
    bool global;
    const tp_block_layout *layout;
} model_call;

static tp_tensor *model_loss(tp_graph *g, tp_tensor *const in[], void *context)
{
    (void)in;
    const model_call *c = context;
    static const int targets[2] = {1, 2};
    tp_tensor *logits = tp_longformer_logits(g, c->m, c->tokens, 2, c->global,
                                             c->layout);
    return tp_cross_entropy(g, logits, targets, -1);
}
/* <<t-longformer: the model>> */
static tp_tensor *logits_of(model_call *c, const int *tokens)
{
    tp_graph g = tp_graph_on(arena);
    c->tokens = tokens;
    tp_set_grad(&g, false);
    return tp_longformer_logits(&g, c->m, tokens, 2, c->global, c->layout);
}

static void reach(tp_longformer *m, bool global)
{
    int tokens[128], changed[128];
    for (int i = 0; i < 128; i++)
        tokens[i] = changed[i] = (int)(tp_rng_next(&rng) % 5);
    changed[40] = (tokens[40] + 1) % 5, changed[64 + 40] = changed[40];
    tp_longformer_pattern p = {64, 4, 1, false, global, (const int[1]){0},
                               false};
    model_call c = {m, tokens, global, tp_longformer_layout(arena, &p, 8)};
    float gap = tp_max_abs_diff(logits_of(&c, tokens), logits_of(&c, changed));
    ok(global ? gap > 1e-4 : gap == 0.0f, "one layer, window 4: token 40 %s "
       "the classification logits %s a global token (%.2g)",
       global ? "changes" : "leaves", global ? "with" : "without", gap);
}
/* <<t-longformer: the model>> */
static void model(void)
{
    tp_longformer_config c = {5, 12, 2, 2, 8, 3, 4, 4};
    tp_longformer *m = tp_longformer_new(&c, 1);
    enlarge_weights(&m->params, &rng);
    static const int tokens[24] = {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1,
                                   4, 3, 2, 1, 0, 4, 3, 2, 1, 0, 4, 3};
    tp_longformer_pattern p = {12, 4, 1, false, 1, (const int[1]){0}, false};
    model_call call = {m, tokens, true, tp_longformer_layout(arena, &p, 4)};
    check_model_gradients(model_loss, &m->params, &call,
                          "Longformer classifier, global token");
    call.global = false;
    check_model_gradients(model_loss, &m->params, &call,
                          "Longformer classifier, window only");
    tp_longformer_free(m);
    tp_longformer_config one = {5, 64, 1, 2, 8, 3, 4, 8};
    m = tp_longformer_new(&one, 2);
    enlarge_weights(&m->params, &rng);
    reach(m, false);
    reach(m, true);
    tp_longformer_free(m);
}
/* <<t-longformer: the model>> */
static void documents(void)
{
    enum { DOCS = 64, T = 256 };
    int tokens[DOCS * T], labels[DOCS], bad = 0;
    tp_longformer_documents(&rng, DOCS, T, 16, tokens, labels);
    for (int b = 0; b < DOCS; b++)
        for (int i = 0; i < T; i++) {
            int t = tokens[b * T + i];
            bool marker = t > TP_LONGFORMER_NOISE;
            bad += i == 0 ? t != 0
                          : t < 1 || t >= TP_LONGFORMER_VOCAB
                                || (marker && (i < T / 2
                                               || t - 1 - TP_LONGFORMER_NOISE != labels[b]));
        }
    ok(bad == 0, "documents: the classification token first, markers in the "
       "second half, naming the label (%d tokens wrong)", bad);
}
/* <<t-longformer: refusals>> */
static void refused(tp_longformer_pattern p, const char *message,
                    const char *what)
{
    tp_error error = {{0}};
    int status = tp_longformer_check(&p, &error);
    ok(status == -1 && strstr(error.message, message) != NULL,
       "%s is refused: %s", what, error.message);
}

static void refusals(void)
{
    const int outside[1] = {300}, backwards[2] = {5, 3};
    refused((tp_longformer_pattern){300, 0, 1, false, 0, NULL, false},
            "a window of 0 tokens", "a window of 0");
    refused((tp_longformer_pattern){300, 8, 0, false, 0, NULL, false},
            "a dilation of 0", "a dilation of 0");
    refused((tp_longformer_pattern){300, 8, 1, false, 1, outside, false},
            "global token 0 at position 300", "a global token past the end");
    refused((tp_longformer_pattern){300, 8, 1, false, 2, backwards, false},
            "global token 1 at position 3", "global tokens out of order");
    refused((tp_longformer_pattern){300, 8, 1, true, 1, outside, false},
            "global tokens in a causal pattern", "global tokens, causal");
}

int main(void)
{
    plan(24);
    arena = tp_arena_new("t_longformer");
    rng = tp_rng_seeded(272, 2);
    patterns_equal_dense();
    layout_blocks();
    global_attention();
    model();
    documents();
    refusals();
    tp_arena_free(arena);
    return done_testing();
}
