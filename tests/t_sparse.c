/* Generated from book/248-sparse.nw; edit the book, not this file. */
#include <string.h>

#include "gradients.h"
#include "models.h"

static tp_arena *arena;
static tp_rng rng;

/* <<t-sparse: two steps reach every earlier position>> */
static unsigned char *pattern_matrix(const tp_sparse_config *config, int n,
                                     int heads)
{
    unsigned char *u = tp_arena_zeroed(arena, (size_t)n * n, 1);
    for (int h = 0; h < 2; h++) {
        tp_sparse_pattern p = {n, config->stride, config->summary,
                               (tp_sparse_head)(2 * config->kind + h)};
        for (int i = 0; i < n && (heads >> h & 1); i++)
            for (int j = 0; j < n; j++)
                u[(long)i * n + j] |= tp_sparse_allows(i, j, &p);
    }
    return u;
}
/* <<t-sparse: two steps reach every earlier position>> */
static bool reaches_all(const unsigned char *u, int n, bool *acausal)
{
    bool all = true;
    *acausal = false;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            bool two = false;
            for (int k = 0; k < n && !two; k++)
                two = u[(long)i * n + k] && u[(long)k * n + j];
            all = all && (j > i || two);
            *acausal = *acausal || (j > i && two);
        }
    return all;
}
/* <<t-sparse: two steps reach every earlier position>> */
static void two_steps(void)
{
    static const int cases[][3] = {{64, 8, 2}, {100, 10, 3}, {97, 7, 1},
                                   {200, 14, 5}, {256, 16, 4}};
    static const char *const kinds[2] = {"strided", "fixed"};
    for (int kind = 0; kind < 2; kind++)
        for (int x = 0; x < 5; x++) {
            int n = cases[x][0];
            tp_sparse_config config = {(tp_sparse_kind)kind, cases[x][1],
                                       cases[x][2], 8};
            bool acausal, alone[2];
            bool both = reaches_all(pattern_matrix(&config, n, 3), n,
                                    &acausal);
            alone[0] = reaches_all(pattern_matrix(&config, n, 1), n,
                                   &acausal);
            alone[1] = reaches_all(pattern_matrix(&config, n, 2), n,
                                   &acausal);
            ok(both && !acausal && !alone[0] && !alone[1],
               "%s, N = %d, l = %d, c = %d: both heads reach every earlier "
               "position in two steps, and no later one; each alone does "
               "not", kinds[kind], n, config.stride, config.summary);
        }
}
/* <<t-sparse: the layouts hold the patterns>> */
typedef struct block_check {
    bool listed, full, any, all;  /* all: every causal pair allowed */
} block_check;

static block_check check_block(const tp_block_layout *l,
                               tp_sparse_pattern *p, int row, int col)
{
    block_check x = {false, false, false, true};
    for (int e = l->row_first[row]; e < l->row_first[row + 1]; e++)
        if (l->row_key[e] == col)
            x.listed = true, x.full = !l->row_partial[e];
    int b = l->block;
    for (int i = row * b; i < (row + 1) * b && i < p->length; i++)
        for (int j = col * b; j < (col + 1) * b && j < p->length; j++) {
            bool a = tp_sparse_allows(i, j, p);
            x.any = x.any || a;
            x.all = x.all && (j > i || a);
        }
    return x;
}
/* <<t-sparse: the layouts hold the patterns>> */
static void layouts_hold_patterns(void)
{
    static const int cases[][4] = {{64, 8, 2, 8}, {100, 10, 3, 16},
                                   {130, 16, 4, 4}, {97, 7, 7, 5}};
    for (int head = 0; head < 4; head++) {
        bool holds = true;
        for (int x = 0; x < 4; x++) {
            tp_sparse_pattern p = {cases[x][0], cases[x][1], cases[x][2],
                                   (tp_sparse_head)head};
            const tp_block_layout *l = tp_sparse_layout(arena, &p,
                                                        cases[x][3]);
            for (int row = 0; row < l->query_blocks; row++)
                for (int col = 0; col < l->key_blocks; col++) {
                    block_check k = check_block(l, &p, row, col);
                    holds = holds && (k.listed || !k.any)
                            && (!k.full || k.all)
                            && (!k.listed || k.any || row == col);
                }
        }
        ok(holds, "head pattern %d: its layouts list every allowed pair, "
           "full blocks only where all are allowed, no block for nothing",
           head);
    }
}
/* <<t-sparse: equal to dense attention>> */
typedef struct outcome {
    tp_tensor *out, *grad[3];
} outcome;

static tp_tensor *gradient_copy(const tp_tensor *x)
{
    tp_tensor g = tp_grad_of(x), *copy = tp_tensor_empty(arena, x->shape,
                                                         TP_NO_GRAD);
    tp_copy(copy, &g);
    tp_fill(&g, 0.0f);
    return copy;
}
/* <<t-sparse: equal to dense attention>> */
static tp_tensor *dense_reference(tp_graph *g, tp_tensor *const in[3],
                                  const tp_sparse_config *config,
                                  tp_sparse_pattern p[2])
{
    tp_tensor *out[2];
    int h = in[0]->shape.dim[1] / 2;
    for (int x = 0; x < 2; x++) {
        p[x] = (tp_sparse_pattern){in[0]->shape.dim[2], config->stride,
                                   config->summary,
                                   (tp_sparse_head)(2 * config->kind + x)};
        tp_attention_options o = {.causal = true,
                                  .pattern = tp_sparse_allows,
                                  .pattern_context = &p[x]};
        tp_tensor *part[3];
        for (int y = 0; y < 3; y++)
            part[y] = tp_contiguous(g, tp_slice(g->arena, in[y], 1, x * h, h));
        out[x] = tp_attention(g, part[0], part[1], part[2], &o);
    }
    return tp_concat(g, 2, out, 1);
}
/* <<t-sparse: equal to dense attention>> */
static outcome run(tp_tensor *const in[3], const tp_tensor *seed,
                   const tp_sparse_config *config, bool dense)
{
    tp_graph g = tp_graph_on(arena);
    tp_sparse_pattern p[2];
    outcome r;
    r.out = dense ? dense_reference(&g, in, config, p)
                  : tp_sparse_attention(&g, in[0], in[1], in[2], config);
    tp_backward_from(&g, r.out, seed);
    for (int x = 0; x < 3; x++)
        r.grad[x] = gradient_copy(in[x]);
    return r;
}
/* <<t-sparse: equal to dense attention>> */
static void equal_to_dense(void)
{
    static const int cases[][5] = {{64, 8, 2, 8, 4}, {75, 8, 3, 16, 2},
                                   {256, 0, 0, 0, 2}};
    for (int kind = 0; kind < 2; kind++)
        for (int x = 0; x < 3; x++) {
            int n = cases[x][0], heads = cases[x][4];
            tp_sparse_config config = {(tp_sparse_kind)kind, cases[x][1],
                                  cases[x][2], cases[x][3]};
            if (config.stride == 0)
                config = tp_sparse_default((tp_sparse_kind)kind, n);
            tp_tensor *in[3], *seed = tp_tensor_normal(
                arena, tp_shape4(2, heads, n, 8), TP_NO_GRAD, &rng);
            for (int y = 0; y < 3; y++)
                in[y] = tp_tensor_normal(arena, tp_shape4(2, heads, n, 8),
                                         TP_WITH_GRAD, &rng);
            /* <<t-sparse: compare the two runs>> */
            outcome sparse = run(in, seed, &config, false);
            outcome dense = run(in, seed, &config, true);
            float worst = tp_max_abs_diff(sparse.out, dense.out);
            for (int y = 0; y < 3; y++) {
                float d = tp_max_abs_diff(sparse.grad[y], dense.grad[y]);
                worst = d > worst ? d : worst;
            }
            ok(worst < 1e-5f, "%s, N = %d, l = %d, c = %d, blocks of %d: output and "
               "gradients equal dense attention with the patterns as masks (largest "
               "difference %.2g)", kind ? "fixed" : "strided", n, config.stride,
               config.summary, config.block, (double)worst);
        }
}
/* <<t-sparse: a GPT with it>> */
static const int gpt_tokens[2 * 16] = {4, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 1,
                                       2, 2, 3, 3, 4, 3, 3, 0, 1, 2, 0, 1,
                                       2, 3, 0, 0, 1, 3, 2, 1};

static tp_tensor *gpt_loss(tp_graph *g, tp_tensor *const in[], void *model)
{
    (void)in;
    return tp_gpt_loss(g, model, gpt_tokens, gpt_tokens + 1, 1, 16);
}

static tp_gpt *sparse_gpt(int positions, tp_attention_op *attention)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){TP_SPARSE_VOCAB, positions, 1, 2,
                                           8, TP_POSITIONS_LEARNED});
    m->attention = attention;
    tp_rng init = tp_rng_seeded(3, 3);
    tp_gpt_init(m, &init);
    enlarge_weights(&m->params, &init);
    return m;
}
/* <<t-sparse: a GPT with it>> */
static void gpt_with_sparse_attention(void)
{
    tp_attention_op *ops[2] = {tp_sparse_strided, tp_sparse_fixed};
    for (int kind = 0; kind < 2; kind++) {
        tp_gpt *m = sparse_gpt(16, ops[kind]);
        if (m->params.count > 0)  /* always; it tells the compiler so */
            check_model_gradients(gpt_loss, &m->params, m, kind == 0
                                  ? "a GPT with strided attention"
                                  : "a GPT with fixed attention");
        tp_gpt_free(m);
    }
}
/* <<t-sparse: a GPT with it>> */
static float decoding_difference(tp_gpt *m, tp_sparse_kind kind, int n,
                                 const int *tokens)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *all = tp_gpt_forward(&g, m, tokens, 1, n);
    tp_gpt_cache *cache = tp_gpt_cache_new(m, n);
    tp_arena *scratch = tp_arena_new("t_sparse decoding");
    float worst = 0.0f;
    for (int i = 0; i < n; i++) {
        tp_arena_reset(scratch);
        const float *logits = tp_sparse_extend(m, cache, kind, tokens + i, 1,
                                               scratch);
        for (int v = 0; v < TP_SPARSE_VOCAB; v++)
            worst = fmaxf(worst, fabsf(logits[v]
                                       - all->data[i * TP_SPARSE_VOCAB + v]));
    }
    tp_arena_free(scratch);
    tp_gpt_cache_free(cache);
    return worst;
}
/* <<t-sparse: a GPT with it>> */
static void decoding_equals_forward(void)
{
    enum { N = 64 };
    tp_attention_op *ops[2] = {tp_sparse_strided, tp_sparse_fixed};
    int tokens[N];
    for (int i = 0; i < N; i++)
        tokens[i] = (int)tp_rng_below(&rng, TP_SPARSE_VOCAB);
    for (int kind = 0; kind < 2; kind++) {
        tp_gpt *m = sparse_gpt(N, ops[kind]);
        float d = decoding_difference(m, (tp_sparse_kind)kind, N, tokens);
        ok(d < 1e-4f, "%s: decoding token by token with the cache gives the "
           "logits of the whole sequence, N = %d (largest difference %.2g)",
           kind ? "fixed" : "strided", N, (double)d);
        tp_gpt_free(m);
    }
}
/* <<t-sparse: the pictures>> */
static void pictures(void)
{
    enum { B = 3 };
    static int inputs[B * TP_SPARSE_PIXELS], targets[B * TP_SPARSE_PIXELS];
    tp_rng r = tp_rng_seeded(248, 2);
    tp_sparse_images(&r, B, inputs, targets);
    bool shifted = true, levels = true, varied = false;
    for (int b = 0; b < B; b++) {
        const int *in = inputs + b * TP_SPARSE_PIXELS;
        const int *out = targets + b * TP_SPARSE_PIXELS;
        shifted = shifted && in[0] == TP_SPARSE_START;
        for (int i = 0; i < TP_SPARSE_PIXELS; i++) {
            levels = levels && out[i] >= 0 && out[i] < TP_SPARSE_LEVELS;
            shifted = shifted && (i == 0 || in[i] == out[i - 1]);
            varied = varied || out[i] != out[0];
        }
    }
    ok(shifted && levels && varied, "pictures: inputs are the start token "
       "and the pixels shifted by one; targets are levels 0..%d, not all "
       "equal", TP_SPARSE_LEVELS - 1);
}
/* <<t-sparse: refusals>> */
static int odd_heads(void)
{
    tp_tensor *x = tp_tensor_normal(arena, tp_shape4(1, 3, 16, 4),
                                    TP_NO_GRAD, &rng);
    tp_graph g = tp_graph_on(arena);
    tp_sparse_config config = tp_sparse_default(TP_SPARSE_STRIDED, 16);
    tp_sparse_attention(&g, x, x, x, &config);
    return 0;
}
/* <<t-sparse: refusals>> */
static void refusals(void)
{
    static const tp_sparse_pattern bad[3] = {
        {100, 0, 1, TP_SPARSE_PREVIOUS}, {100, 101, 1, TP_SPARSE_COLUMN},
        {100, 10, 11, TP_SPARSE_SUMMARY}};
    static const char *const expected[3] = {
        "a stride of 0; it must lie in 1..100, the sequence's length",
        "a stride of 101; it must lie in 1..100, the sequence's length",
        "a summary of 11 positions; it must lie in 1..10, the stride"};
    for (int x = 0; x < 3; x++) {
        tp_error error = {{0}};
        int status = tp_sparse_check(&bad[x], &error);
        ok(status == -1 && strcmp(error.message, expected[x]) == 0,
           "refused: %s", expected[x]);
    }
    dies_with(odd_heads, "the heads must be equal and even",
              "an odd number of heads: refused with a message");
}

int main(void)
{
    arena = tp_arena_new("t_sparse");
    rng = tp_rng_seeded(248, 1);
    two_steps();
    layouts_hold_patterns();
    equal_to_dense();
    gpt_with_sparse_attention();
    decoding_equals_forward();
    pictures();
    refusals();
    tp_arena_free(arena);
    return done_testing();
}
