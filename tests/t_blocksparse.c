/* Generated from book/272-longformer.nw; edit the book, not this file. */
#include <string.h>

#include "gradients.h"

static tp_arena *arena;
static tp_rng rng;

static tp_tensor *random_tensor(tp_shape shape)
{
    return tp_tensor_normal(arena, shape, TP_WITH_GRAD, &rng);
}

/* <<t-blocksparse: the equivalent dense mask>> */
typedef struct dense_mask {
    const tp_block_layout *layout;
    tp_attention_pattern *inner;  /* the pattern inside partial blocks */
    void *inner_context;
} dense_mask;

static bool in_layout(int i, int j, void *context)
{
    const dense_mask *m = context;
    const tp_block_layout *l = m->layout;
    int r = i / l->block, c = j / l->block;
    for (int e = l->row_first[r]; e < l->row_first[r + 1]; e++)
        if (l->row_key[e] == c)
            return !l->row_partial[e] || m->inner(i, j, m->inner_context);
    return false;
}
/* <<t-blocksparse: layouts to test>> */
static bool checkerboard(int i, int j, void *context)
{
    (void)context;
    return (i + j) % 3 != 0;
}

static tp_block_kind random_blocks(int r, int c, void *context)
{
    (void)context;
    unsigned h = (unsigned)(r * 7919 + c * 104729) * 2654435761u;
    if (r % 3 == 1)
        return TP_BLOCK_EMPTY;
    return (tp_block_kind)((h >> 13) % 3);
}

static tp_block_kind causal_band(int r, int c, void *context)
{
    (void)context;
    return c <= r && c >= r - 1 ? TP_BLOCK_FULL : TP_BLOCK_EMPTY;
}

static tp_block_kind nothing(int r, int c, void *context)
{
    (void)r, (void)c, (void)context;
    return TP_BLOCK_EMPTY;
}
/* <<t-blocksparse: layouts to test>> */
typedef struct configuration {
    const char *name;
    int batch, heads, kv_heads, tq, tk, d, dv, block;
    tp_block_rule *rule;
    tp_attention_options options;
} configuration;

static unsigned char padding[2 * 77];

static const configuration configurations[] = {
    {"random blocks, empty rows, odd sizes, grouped heads", 2, 4, 2, 100,
     93, 16, 12, 16, random_blocks, {.pattern = checkerboard}},
    {"a causal band", 1, 2, 2, 130, 130, 32, 32, 32, causal_band,
     {.causal = true}},
    {"padding, one sequence all padding", 2, 2, 1, 77, 77, 8, 8, 16,
     random_blocks, {.key_padding = padding, .pattern = checkerboard}},
    {"a scale of its own, blocks of one token", 1, 1, 1, 9, 11, 4, 4, 1,
     random_blocks, {.scale = 0.3f, .pattern = checkerboard}},
    {"nothing listed", 1, 1, 1, 40, 40, 8, 8, 16, nothing, {0}},
};
/* <<t-blocksparse: equal to dense attention>> */
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
/* <<t-blocksparse: equal to dense attention>> */
typedef struct call {
    const tp_block_layout *layout;
    tp_attention_options options;  /* of the sparse call */
    tp_attention_options dense;    /* the equivalent dense mask */
} call;

static tp_tensor *attend(tp_graph *g, tp_tensor *const in[], const call *c,
                         bool sparse)
{
    return sparse ? tp_attention_block_sparse(g, in[0], in[1], in[2],
                                              c->layout, &c->options)
                  : tp_attention(g, in[0], in[1], in[2], &c->dense);
}

static tp_tensor *sparse_forward(tp_graph *g, tp_tensor *const in[],
                                 void *context)
{
    return attend(g, in, context, true);
}
/* <<t-blocksparse: equal to dense attention>> */
static outcome run(const call *c, bool sparse, tp_tensor *const in[3],
                   const tp_tensor *seed)
{
    tp_graph g = tp_graph_on(arena);
    tp_tensor *out = attend(&g, in, c, sparse);
    tp_backward_from(&g, out, seed);
    return (outcome){out, gradient_copy(in[0]), gradient_copy(in[1]),
                     gradient_copy(in[2])};
}

static void compare(const call *c, tp_tensor *const in[3], const char *name)
{
    tp_shape s = in[0]->shape;
    s.dim[3] = in[2]->shape.dim[3];
    tp_tensor *seed = random_tensor(s);
    outcome dense = run(c, false, in, seed), sparse = run(c, true, in, seed);
    near(tp_max_abs_diff(sparse.out, dense.out), 0, 1e-5,
         "%s: block-sparse output equals dense attention's", name);
    float dq = tp_max_abs_diff(sparse.dq, dense.dq);
    float dk = tp_max_abs_diff(sparse.dk, dense.dk);
    float dv = tp_max_abs_diff(sparse.dv, dense.dv);
    near(fmaxf(dq, fmaxf(dk, dv)), 0, 1e-5,
         "%s: so do its gradients (q %.1g, k %.1g, v %.1g)", name, dq, dk, dv);
}
/* <<t-blocksparse: equal to dense attention>> */
static tp_tensor **inputs_for(const configuration *c)
{
    tp_tensor **in = tp_arena_alloc(arena, 3 * sizeof *in);
    in[0] = random_tensor(tp_shape4(c->batch, c->heads, c->tq, c->d));
    in[1] = random_tensor(tp_shape4(c->batch, c->kv_heads, c->tk, c->d));
    in[2] = random_tensor(tp_shape4(c->batch, c->kv_heads, c->tk, c->dv));
    return in;
}

static void equal_to_dense(void)
{
    for (int i = 77; i < 2 * 77; i++)
        padding[i] = 1;
    padding[3] = padding[40] = 1;
    for (size_t i = 0; i < sizeof configurations / sizeof *configurations; i++) {
        const configuration *c = &configurations[i];
        dense_mask m = {tp_block_layout_new(arena, c->tq, c->tk, c->block,
                                            c->rule, NULL),
                        c->options.pattern ? c->options.pattern : checkerboard, NULL};
        call k = {m.layout, c->options, c->options};
        k.dense.pattern = in_layout, k.dense.pattern_context = &m;
        tp_tensor **in = inputs_for(c);
        compare(&k, in, c->name);
        if (c->tq * c->tk <= 40 * 40)
            check_gradients(sparse_forward, in, 3, &k, c->name);
    }
}
/* <<t-blocksparse: equal to dense attention>> */
typedef struct band_of {
    int radius, offset;  /* query i's diagonal key is i + offset */
} band_of;

static bool window(int i, int j, void *context)
{
    const band_of *w = context;
    return abs(i + w->offset - j) <= w->radius;
}

static void derived(const char *name, int tq, int tk, bool causal)
{
    band_of w = {5, tk - tq};
    tp_attention_options o = {.causal = causal, .pattern = window,
                              .pattern_context = &w};
    tp_block_layout *l = tp_block_layout_of(arena, tq, tk, 16, &o);
    configuration c = {name, 1, 2, 2, tq, tk, 8, 8, 16, NULL, o};
    call k = {l, o, o};
    compare(&k, inputs_for(&c), name);
    long listed = l->entries, all = (long)l->query_blocks * l->key_blocks;
    ok(listed < all, "%s: the layout lists %ld of %ld blocks", name, listed,
       all);
}
/* <<t-blocksparse: equal to dense attention>> */
static void pattern_derived_layout(void)
{
    derived("a window, layout from the pattern", 150, 150, false);
    derived("a causal window, fewer queries than keys", 70, 200, true);
    band_of w = {5, 0};
    tp_attention_options o = {.pattern = window, .pattern_context = &w};
    tp_block_layout *l = tp_block_layout_of(arena, 64, 64, 16, &o);
    int kinds[3] = {0};
    for (int r = 0; r < l->query_blocks; r++)
        for (int c = 0; c < l->key_blocks; c++) {
            int e = l->row_first[r];
            while (e < l->row_first[r + 1] && l->row_key[e] != c)
                e++;
            kinds[e == l->row_first[r + 1] ? 0 : l->row_partial[e] ? 2 : 1]++;
        }
    ok(kinds[0] == 6 && kinds[1] == 0 && kinds[2] == 10,
       "radius 5 in blocks of 16: 6 empty, 0 full, 10 partial blocks (%d, "
       "%d, %d)", kinds[0], kinds[1], kinds[2]);
}
/* <<t-blocksparse: threads and memory>> */
static bool same_bits(const tp_tensor *a, const tp_tensor *b)
{
    return memcmp(a->data, b->data, tp_tensor_count(a) * sizeof(float)) == 0;
}

static tp_block_kind band(int r, int c, void *context)
{
    (void)context;
    return abs(r - c) <= 1 ? TP_BLOCK_FULL : TP_BLOCK_EMPTY;
}
/* <<t-blocksparse: threads and memory>> */
static outcome on_threads(int threads, tp_tensor *const in[3],
                          const tp_tensor *seed, const tp_block_layout *l)
{
    tp_set_threads(threads);
    tp_graph g = tp_graph_on(arena);
    tp_tensor *out = tp_attention_block_sparse(&g, in[0], in[1], in[2], l,
                                               NULL);
    tp_backward_from(&g, out, seed);
    return (outcome){out, gradient_copy(in[0]), gradient_copy(in[1]),
                     gradient_copy(in[2])};
}

static void threads_change_nothing(void)
{
    configuration c = {"", 2, 2, 2, 300, 300, 32, 32, 32, NULL, {0}};
    tp_tensor **in = inputs_for(&c);
    tp_tensor *seed = random_tensor(tp_shape4(2, 2, 300, 32));
    tp_block_layout *l = tp_block_layout_new(arena, 300, 300, 32, band, NULL);
    int all = tp_threads();
    outcome one = on_threads(1, in, seed, l), two = on_threads(2, in, seed, l);
    tp_set_threads(all);
    ok(same_bits(one.out, two.out) && same_bits(one.dq, two.dq)
           && same_bits(one.dk, two.dk) && same_bits(one.dv, two.dv),
       "block-sparse attention: output and gradients identical on 1 and 2 "
       "threads");
}
/* <<t-blocksparse: threads and memory>> */
static size_t training_peak(bool sparse, int n)
{
    tp_tensor *q = random_tensor(tp_shape4(1, 1, n, 64));
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_block_layout *l = tp_block_layout_new(step, n, n, 64, band, NULL);
    tp_tensor *out = sparse ? tp_attention_block_sparse(&g, q, q, q, l, NULL)
                            : tp_attention(&g, q, q, q, NULL);
    tp_backward_from(&g, out, q);
    size_t peak = tp_arena_peak(step);
    tp_arena_free(step);
    return peak;
}

static void memory_follows_the_blocks(void)
{
    double sparse = (double)training_peak(true, 2048)
                    / (double)training_peak(true, 1024);
    double dense = (double)training_peak(false, 2048)
                   / (double)training_peak(false, 1024);
    ok(sparse < 2.2, "a band of blocks: twice the length, %.2f times the "
       "memory", sparse);
    ok(dense > 3.0, "dense attention: twice the length, %.2f times the "
       "memory", dense);
}
/* <<t-blocksparse: refusals>> */
static tp_block_kind below_diagonal(int r, int c, void *context)
{
    (void)context;
    return c < r ? TP_BLOCK_FULL : TP_BLOCK_EMPTY;
}

static int missing_diagonal(void)
{
    tp_tensor *x = random_tensor(tp_shape4(1, 1, 40, 8));
    tp_graph g = tp_graph_on(arena);
    tp_attention_options o = {.causal = true};
    tp_attention_block_sparse(&g, x, x, x, tp_block_layout_new(
        arena, 40, 40, 16, below_diagonal, NULL), &o);
    return 0;
}
/* <<t-blocksparse: refusals>> */
static int wrong_lengths(void)
{
    tp_tensor *x = random_tensor(tp_shape4(1, 1, 40, 8));
    tp_graph g = tp_graph_on(arena);
    tp_attention_block_sparse(&g, x, x, x, tp_block_layout_new(
        arena, 41, 40, 16, band, NULL), NULL);
    return 0;
}

static int with_bias(void)
{
    tp_tensor *x = random_tensor(tp_shape4(1, 1, 3, 8));
    tp_graph g = tp_graph_on(arena);
    tp_attention_options o = {.bias = x};
    tp_attention_block_sparse(&g, x, x, x, tp_block_layout_new(
        arena, 3, 3, 16, band, NULL), &o);
    return 0;
}
/* <<t-blocksparse: refusals>> */
static int block_too_large(void)
{
    tp_block_layout_new(arena, 300, 300, TP_BLOCK_MAX + 1, band, NULL);
    return 0;
}

static void refusals(void)
{
    dies_with(missing_diagonal, "causal, but the layout's query block 0 "
              "lacks key block 0, which holds the diagonal",
              "a causal layout without its diagonal block is refused");
    dies_with(wrong_lengths, "the layout covers 41 queries and 40 keys, "
              "the call has 40 and 40", "a layout of other lengths is refused");
    dies_with(with_bias, "takes no bias", "a bias is refused");
    dies_with(block_too_large, "blocks of 129",
              "a block larger than the largest is refused");
}

int main(void)
{
    plan(26);
    arena = tp_arena_new("t_blocksparse");
    rng = tp_rng_seeded(272, 1);
    equal_to_dense();
    pattern_derived_layout();
    threads_change_nothing();
    memory_follows_the_blocks();
    refusals();
    tp_arena_free(arena);
    return done_testing();
}
