/* Generated from book/310-order.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "gradients.h"
#include "models.h"
#include "tap.h"
#include "tp.h"

/* <<t-positions: helpers>> */
static tp_gpt *gpt_of(tp_position_kind kind, int vocab, int positions,
                      int layers, uint64_t seed)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){.vocab_size = vocab,
                                           .n_positions = positions,
                                           .n_layer = layers, .n_head = 2,
                                           .n_embd = 8, .positions = kind});
    tp_rng rng = tp_rng_seeded(seed, 0);
    tp_gpt_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    return m;
}

static tp_gpt *tiny_gpt(tp_position_kind kind, int vocab, int positions,
                        uint64_t seed)
{
    return gpt_of(kind, vocab, positions, 2, seed);
}

static double largest_difference(const float *a, const float *b, long n)
{
    double worst = 0.0;
    for (long i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst;
}

/* <<t-positions: order is invisible without positions>> */
static tp_tensor *block_on(tp_graph *g, const tp_block *b, const float *rows,
                           const tp_position_layer *rope)
{
    tp_tensor *x = tp_tensor_from(g->arena, tp_shape3(1, 8, 8), rows);
    tp_block_options o = {.heads = 2};
    if (rope != NULL)
        o.positions = tp_position_attend, o.positions_context = rope;
    return tp_block_forward(g, b, x, NULL, &o);
}

static double permutation_error(const tp_block *b, const float *rows,
                                const tp_position_layer *rope, tp_arena *a)
{
    static const int order[8] = {3, 7, 0, 5, 1, 6, 2, 4};
    float shuffled[64];
    for (int t = 0; t < 8; t++)
        memcpy(shuffled + 8 * t, rows + 8 * order[t], 8 * sizeof(float));
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    tp_tensor *y = block_on(&g, b, rows, rope);
    tp_tensor *z = block_on(&g, b, shuffled, rope);
    double worst = 0.0;
    for (int t = 0; t < 8; t++)
        worst = fmax(worst, largest_difference(z->data + 8 * t,
                                               y->data + 8 * order[t], 8));
    return worst;
}
/* <<t-positions: order is invisible without positions>> */
static void block_is_equivariant(void)
{
    tp_arena *a = tp_arena_new("test");
    tp_params params = {0};
    tp_block b;
    tp_block_make(&b, &params, a, "", 8, 32, false);
    tp_rng rng = tp_rng_seeded(11, 0);
    tp_init_gpt2(&params, &rng, 1);
    enlarge_weights(&params, &rng);
    float rows[64];
    for (int i = 0; i < 64; i++)
        rows[i] = tp_rng_normal(&rng);
    tp_position_encoding rope;
    tp_position_encoding_make(&rope, TP_POSITIONS_ROPE, &params, a, 1, 2, 8);
    tp_position_layer layer = {&rope, 0};
    near(permutation_error(&b, rows, NULL, a), 0, 1e-5,
         "a block without positions is permutation equivariant");
    ok(permutation_error(&b, rows, &layer, a) > 1e-3,
       "and with RoPE it is not");
    tp_params_free(&params);
    tp_arena_free(a);
}
/* <<t-positions: order is invisible without positions>> */
static double sentences_differ(tp_position_kind kind, int layers)
{
    const char *a = "dog bites man.", *b = "man bites dog.";
    int n = (int)strlen(a), x[16], y[16];
    for (int t = 0; t < n; t++)
        x[t] = (unsigned char)a[t], y[t] = (unsigned char)b[t];
    tp_gpt *m = gpt_of(kind, 256, 16, layers, 12);
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    const float *la = tp_gpt_forward(&g, m, x, 1, n)->data + (n - 1) * 256;
    const float *lb = tp_gpt_forward(&g, m, y, 1, n)->data + (n - 1) * 256;
    double d = largest_difference(la, lb, 256);
    tp_arena_free(arena);
    tp_gpt_free(m);
    return d;
}

static void order_is_invisible(void)
{
    block_is_equivariant();
    near(sentences_differ(TP_POSITIONS_NONE, 1), 0, 1e-5,
         "one layer without positions: dog bites man. = man bites dog.");
    ok(sentences_differ(TP_POSITIONS_LEARNED, 1) > 1e-3,
       "with learned positions the two differ");
    ok(sentences_differ(TP_POSITIONS_NONE, 2) > 1e-3,
       "and so they do with two causal layers and no positions");
}

/* <<t-positions: RoPE depends only on the distance>> */
static void rotated(tp_arena *a, const tp_rope *r, const float *v, int at,
                    float *out)
{
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    tp_tensor *x = tp_tensor_from(a, tp_shape4(1, 1, 1, 2 * r->pairs), v);
    memcpy(out, tp_rope_apply(&g, x, at, r)->data,
           2 * (size_t)r->pairs * sizeof *out);
}

static double dot(const float *a, const float *b, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}
/* <<t-positions: RoPE depends only on the distance>> */
static void rope_depends_on_distance(void)
{
    tp_arena *a = tp_arena_new("test");
    tp_rope r;
    tp_rope_init(&r, a, 16);
    tp_rng rng = tp_rng_seeded(21, 0);
    double worst = 0.0, length = 0.0, identity = 0.0;
    for (int trial = 0; trial < 200; trial++) {
        float q[16], k[16], q1[16], k1[16], q2[16], k2[16];
        for (int c = 0; c < 16; c++)
            q[c] = tp_rng_normal(&rng), k[c] = tp_rng_normal(&rng);
        int i = (int)tp_rng_below(&rng, 2000), j = (int)tp_rng_below(&rng, 2000);
        int s = (int)tp_rng_below(&rng, 2000);
        rotated(a, &r, q, i, q1), rotated(a, &r, k, j, k1);
        rotated(a, &r, q, i + s, q2), rotated(a, &r, k, j + s, k2);
        worst = fmax(worst, fabs(dot(q1, k1, 16) - dot(q2, k2, 16)));
        length = fmax(length, fabs(sqrt(dot(q1, q1, 16)) - sqrt(dot(q, q, 16))));
        rotated(a, &r, q, 0, q1);
        identity = fmax(identity, largest_difference(q, q1, 16));
    }
    near(worst, 0, 1e-3, "RoPE: the score depends only on j - i (200 random "
         "pairs and shifts)");
    near(length, 0, 1e-5, "RoPE keeps the length of every vector");
    near(identity, 0, 0, "RoPE at position 0 is the identity");
    tp_arena_free(a);
}

/* <<t-positions: ALiBi's slopes and bias>> */
static void alibi_formula(void)
{
    float eight[8], six[6];
    tp_alibi_slopes(8, eight);
    tp_alibi_slopes(6, six);
    static const float expected_six[6] = {1.0f / 4, 1.0f / 16, 1.0f / 64,
                                          1.0f / 256, 1.0f / 2, 1.0f / 8};
    bool powers = true;
    for (int h = 0; h < 8; h++)
        powers = powers && eight[h] == ldexpf(1.0f, -(h + 1));
    ok(powers, "ALiBi's slopes for 8 heads: 1/2, 1/4, ..., 1/256");
    ok(memcmp(six, expected_six, sizeof six) == 0,
       "for 6 heads: those of 4, then every other one of 8");
    tp_arena *a = tp_arena_new("test");
    tp_tensor *bias = tp_alibi_bias(a, 6, 5, 3, 8);
    double worst = 0.0;
    for (int h = 0; h < 6; h++)
        for (int r = 0; r < 3; r++)
            for (int j = 0; j < 8; j++)
                worst = fmax(worst, fabs(*tp_at3(bias, h, r, j)
                                         + six[h] * (5 + r - j)));
    near(worst, 0, 0, "ALiBi's bias is -m_h (i - j) at every entry");
    tp_arena_free(a);
}

/* <<t-positions: T5's buckets and bias>> */
static void t5_buckets(void)
{
    static const int n[8] = {0, 1, 15, 16, 32, 64, 128, 5000};
    static const int bucket[8] = {0, 1, 15, 16, 21, 26, 31, 31};
    bool right = true;
    for (int i = 0; i < 8; i++)
        right = right && tp_t5_bucket(-n[i], false, 32, 128) == bucket[i];
    ok(right, "T5's buckets of distances 0, 1, 15, 16, 32, 64, 128, 5000");
    ok(tp_t5_bucket(3, false, 32, 128) == 0
           && tp_t5_bucket(3, true, 32, 128) == 16 + 3
           && tp_t5_bucket(-3, true, 32, 128) == 3
           && tp_t5_bucket(-20, true, 32, 128) == 8 + 2,
       "keys after the query: bucket 0 causal, the second half both ways");
    /* <<t-positions: T5's bias reads the table>> */
    tp_arena *a = tp_arena_new("test");
    tp_rng rng = tp_rng_seeded(31, 0);
    tp_tensor *table = tp_tensor_normal(a, tp_shape2(32, 3), TP_NO_GRAD, &rng);
    tp_graph g = tp_graph_on(a);
    tp_tensor *bias = tp_t5_bias(&g, table, 40, 4, 50);
    double worst = 0.0;
    for (int h = 0; h < 3; h++)
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 50; j++) {
                int b = tp_t5_bucket(j - (40 + r), false, 32, 128);
                worst = fmax(worst, fabs(*tp_at3(bias, h, r, j)
                                         - *tp_at2(table, b, h)));
            }
    near(worst, 0, 0, "T5's bias is the table's entry of each bucket and head");
    tp_arena_free(a);
}

/* <<t-positions: Shaw's scores>> */
static void shaw_scores(void)
{
    tp_arena *a = tp_arena_new("test");
    tp_rng rng = tp_rng_seeded(41, 0);
    int k = TP_RELATIVE_CLIP;
    tp_tensor *q = tp_tensor_normal(a, tp_shape4(2, 2, 3, 4), TP_NO_GRAD, &rng);
    tp_tensor *table = tp_tensor_normal(a, tp_shape2(2 * k + 1, 4), TP_NO_GRAD,
                                        &rng);
    tp_graph g = tp_graph_on(a);
    tp_tensor *s = tp_relative_scores(&g, q, table, 30, 60, 0.5f);
    double worst = 0.0;
    for (int b = 0; b < 2; b++)
        for (int h = 0; h < 2; h++)
            for (int r = 0; r < 3; r++)
                for (int j = 0; j < 60; j++) {
                    int d = j - (30 + r);
                    d = d > k ? k : d < -k ? -k : d;
                    double want = 0.5 * dot(tp_at4(q, b, h, r, 0),
                                            tp_at2(table, d + k, 0), 4);
                    worst = fmax(worst, fabs(*tp_at4(s, b, h, r, j) - want));
                }
    near(worst, 0, 1e-6, "Shaw's scores are q_i . a_clip(j-i) times the scale");
    tp_arena_free(a);
}

/* <<t-positions: relative encodings are translation invariant>> */
static void score_row(tp_arena *a, const tp_position_encoding *e,
                      const float *q, const float *k, int i, float *row)
{
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    int tk = i + 1, d = 4;
    tp_tensor *qt = tp_tensor_empty(a, tp_shape4(1, 2, 1, d), TP_NO_GRAD);
    tp_tensor *kt = tp_tensor_empty(a, tp_shape4(1, 2, tk, d), TP_NO_GRAD);
    for (int h = 0; h < 2; h++) {
        memcpy(tp_at4(qt, 0, h, 0, 0), q, d * sizeof *q);
        for (int j = 0; j < tk; j++)
            memcpy(tp_at4(kt, 0, h, j, 0), k, d * sizeof *k);
    }
    qt = tp_position_rotate(&g, e, qt, i);
    kt = tp_position_rotate(&g, e, kt, 0);
    tp_tensor *bias = tp_position_bias(&g, e, 0, qt, i, tk);
    /* <<t-positions: the scores of head 1>> */
    for (int j = 0; j < tk; j++) {
        row[j] = (float)dot(tp_at4(qt, 0, 1, 0, 0), tp_at4(kt, 0, 1, j, 0), d) / 2;
        if (bias != NULL)
            row[j] += bias->shape.ndim == 4 ? *tp_at4(bias, 0, 1, 0, j)
                                            : *tp_at3(bias, 1, 0, j);
    }
}
/* <<t-positions: relative encodings are translation invariant>> */
static void translation_invariance(void)
{
    static const tp_position_kind kinds[4] = {
        TP_POSITIONS_RELATIVE, TP_POSITIONS_T5, TP_POSITIONS_ROPE,
        TP_POSITIONS_ALIBI};
    tp_rng rng = tp_rng_seeded(51, 0);
    float q[4], k[4], row[300], shifted[300];
    for (int c = 0; c < 4; c++)
        q[c] = tp_rng_normal(&rng), k[c] = tp_rng_normal(&rng);
    for (int n = 0; n < 4; n++) {
        tp_arena *a = tp_arena_new("test");
        tp_params params = {0};
        tp_position_encoding e;
        tp_position_encoding_make(&e, kinds[n], &params, a, 1, 2, 8);
        for (int p = 0; p < params.count; p++)
            tp_fill_normal(params.items[p].tensor, &rng, 0.0f, 1.0f);
        score_row(a, &e, q, k, 40, row);
        score_row(a, &e, q, k, 40 + 237, shifted);
        near(largest_difference(row, shifted + 237, 41), 0, 1e-4,
             "%s: scores are the same shifted by 237 positions",
             tp_position_name(kinds[n]));
        tp_params_free(&params);
        tp_arena_free(a);
    }
}

/* <<t-positions: gradients>> */
static tp_tensor *rope_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    tp_tensor *view = tp_slice(g->arena, in[0], 3, 2, 4);  /* strided */
    tp_tensor *y = tp_rope_apply(g, view, 7, c);
    return tp_sum(g, tp_mul(g, y, y));
}

static tp_tensor *relative_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)c;
    tp_tensor *s = tp_relative_scores(g, in[0], in[1], 3, 40, 0.5f);
    return tp_sum(g, tp_mul(g, s, s));
}

static tp_tensor *t5_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)c;
    tp_tensor *b = tp_t5_bias(g, in[0], 2, 3, 200);
    return tp_sum(g, tp_mul(g, b, b));
}
/* <<t-positions: gradients>> */
static const int grad_tokens[2 * 6] = {1, 5, 2, 7, 3, 0, 9, 9, 4, 1, 15, 8};
static const int grad_targets[2 * 6] = {5, 2, 7, 3, 0, 11, 9, 4, 1, 15, 8, 2};

static tp_tensor *gpt_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)in;
    return tp_gpt_loss(g, c, grad_tokens, grad_targets, 2, 6);
}

static void model_gradients(void)
{
    for (int kind = TP_POSITIONS_SINUSOIDAL; kind <= TP_POSITIONS_ALIBI;
         kind++) {
        tp_gpt *m = gpt_of((tp_position_kind)kind, 16, 12, 1, 61);
        char what[64];
        snprintf(what, sizeof what, "GPT with %s positions",
                 tp_position_name((tp_position_kind)kind));
        check_model_gradients(gpt_loss, &m->params, m, what);
        tp_gpt_free(m);
    }
}
/* <<t-positions: gradients>> */
static void gradients(void)
{
    tp_arena *a = tp_arena_new("test");
    tp_rng rng = tp_rng_seeded(71, 0);
    tp_rope r;
    tp_rope_init(&r, a, 4);
    r.mscale = 1.3f;
    tp_tensor *x = tp_tensor_normal(a, tp_shape4(2, 2, 3, 8), TP_WITH_GRAD, &rng);
    check_gradients(rope_loss, (tp_tensor *[]){x}, 1, &r, "RoPE");
    tp_tensor *q = tp_tensor_normal(a, tp_shape4(1, 2, 3, 4), TP_WITH_GRAD, &rng);
    tp_tensor *table = tp_tensor_normal(a, tp_shape2(2 * TP_RELATIVE_CLIP + 1, 4),
                                        TP_WITH_GRAD, &rng);
    check_gradients(relative_loss, (tp_tensor *[]){q, table}, 2, NULL,
                    "Shaw's relative scores");
    tp_tensor *buckets = tp_tensor_normal(a, tp_shape2(32, 3), TP_WITH_GRAD,
                                          &rng);
    check_gradients(t5_loss, (tp_tensor *[]){buckets}, 1, NULL, "T5's bias");
    tp_arena_free(a);
    model_gradients();
}

/* <<t-positions: GPT with each encoding>> */
static double cache_error(tp_position_kind kind, int n)
{
    static const int tokens[16] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7,
                                   9, 3};
    tp_gpt *m = tiny_gpt(kind, 16, 12, 81);
    tp_arena *arena = tp_arena_new("test"), *scratch = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *full = tp_gpt_forward(&g, m, tokens, 1, n);
    tp_gpt_cache *cache = tp_gpt_cache_new(m, n);
    double worst = 0.0;
    for (int t = 0; t < n; t++) {
        const float *step = tp_gpt_step(m, cache, tokens[t], scratch);
        worst = fmax(worst, largest_difference(step, full->data + t * 16, 16));
        tp_arena_reset(scratch);
    }
    tp_gpt_cache_free(cache);
    tp_arena_free(scratch), tp_arena_free(arena);
    tp_gpt_free(m);
    return worst;
}
/* <<t-positions: GPT with each encoding>> */
static int learned_past_its_table(void)
{
    static const int tokens[13] = {0};
    tp_gpt *m = tiny_gpt(TP_POSITIONS_LEARNED, 16, 12, 1);
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_gpt_forward(&g, m, tokens, 1, 13);
    return 0;
}

static double tiled_error(void)
{
    static const int tokens[16] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7,
                                   9, 3};
    tp_gpt *m = tiny_gpt(TP_POSITIONS_ROPE, 16, 12, 83);
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *exact = tp_gpt_forward(&g, m, tokens, 1, 16);
    m->attention = tp_attention_tiled;
    tp_tensor *tiled = tp_gpt_forward(&g, m, tokens, 1, 16);
    double d = largest_difference(exact->data, tiled->data, 16 * 16);
    tp_arena_free(arena);
    tp_gpt_free(m);
    return d;
}

static void cache_agrees(void)
{
    for (int kind = 0; kind < TP_POSITION_KINDS; kind++) {
        int n = kind == TP_POSITIONS_LEARNED ? 12 : 16;
        near(cache_error((tp_position_kind)kind, n), 0, 1e-5,
             "%s: the cache's logits equal the full forward pass's, %d tokens",
             tp_position_name((tp_position_kind)kind), n);
    }
    dies_with(learned_past_its_table, "13 tokens, but the model has 12 "
              "positions", "learned positions refuse a 13th token");
    near(tiled_error(), 0, 1e-5, "RoPE through the tiled attention: the "
         "exact attention's logits");
}
/* <<t-positions: GPT with each encoding>> */
static void checkpoints_keep_the_encoding(const char *path)
{
    static const int tokens[6] = {1, 2, 3, 4, 5, 6};
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    bool same = true;
    tp_error error = {""};
    for (int kind = 0; kind < TP_POSITION_KINDS; kind++) {
        tp_gpt *m = tiny_gpt((tp_position_kind)kind, 16, 12, 91);
        tp_gpt *back = tp_gpt_save(m, path, NULL, 0, NULL, &error) == 0
                           ? tp_gpt_load(path, NULL, &error) : NULL;
        same = same && back != NULL && back->config.positions == (tp_position_kind)kind
               && largest_difference(tp_gpt_forward(&g, m, tokens, 1, 6)->data,
                                     tp_gpt_forward(&g, back, tokens, 1, 6)->data,
                                     6 * 16) == 0;
        tp_gpt_free(back), tp_gpt_free(m);
    }
    if (!ok(same, "every encoding is saved and loaded, with the same logits"))
        diag("%s", error.message);
    tp_arena_free(arena);
}
/* <<t-positions: GPT with each encoding>> */
static void old_and_bad_checkpoints(const char *path)
{
    tp_gpt *m = tiny_gpt(TP_POSITIONS_LEARNED, 16, 12, 93);
    tp_metadata meta = {0};
    static const char *const keys[5] = {"vocab_size", "n_positions",
                                        "n_layer", "n_head", "n_embd"};
    static const char *const values[5] = {"16", "12", "2", "2", "8"};
    for (int i = 0; i < 5; i++)
        tp_metadata_set(&meta, keys[i], values[i]);
    tp_error error = {""};
    tp_safetensors_save(path, m->params.items, m->params.count, &meta, &error);
    tp_gpt *old = tp_gpt_load(path, NULL, &error);
    ok(old != NULL && old->config.positions == TP_POSITIONS_LEARNED,
       "a checkpoint that does not name its positions has learned ones");
    tp_metadata_set(&meta, "positions", "spiral");
    tp_safetensors_save(path, m->params.items, m->params.count, &meta, &error);
    ok(tp_gpt_load(path, NULL, &error) == NULL
           && strstr(error.message, "unknown positions 'spiral' (learned, "),
       "an unknown encoding is refused: %s", error.message);
    tp_gpt_free(old), tp_gpt_free(m);
}
/* <<t-positions: GPT with each encoding>> */
static void gpt_with_each_encoding(void)
{
    cache_agrees();
    char path[] = "/tmp/tp-positions-XXXXXX";
    close(mkstemp(path));
    checkpoints_keep_the_encoding(path);
    old_and_bad_checkpoints(path);
    unlink(path);
    tp_error error;
    tp_position_kind kind;
    ok(tp_position_parse("rope", &kind, &error) == 0 && kind == TP_POSITIONS_ROPE
           && tp_position_parse("Rope", &kind, &error) != 0,
       "the words of the encodings are read exactly");
}

int main(void)
{
    if (general_tests())
        order_is_invisible();
    if (exercise_tests("positions.rope-rotate"))
        rope_depends_on_distance();
    if (general_tests()) {
        alibi_formula();
        t5_buckets();
        shaw_scores();
        translation_invariance();
        gradients();
        gpt_with_each_encoding();
    }
    return done_testing();
}
