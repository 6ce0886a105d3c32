/* Generated from book/355-oversmoothing.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "gradients.h"
#include "models.h"

static tp_arena *arena;
static tp_rng rng;

/* <<t-smoothing: helpers>> */
static tp_tensor *random_tensor(tp_shape shape)
{
    tp_tensor *t = tp_tensor_new(arena, shape, TP_WITH_GRAD);
    tp_fill_normal(t, &rng, 0.0f, 1.0f);
    return t;
}

/* <<t-smoothing: the measures>> */
static double cosine_by_identity(const tp_tensor *x)
{
    int t = x->shape.dim[0], c = x->shape.dim[1];
    double sum[64] = {0};
    for (int i = 0; i < t; i++) {
        double n = 0;
        for (int j = 0; j < c; j++)
            n += (double)x->data[i * c + j] * x->data[i * c + j];
        for (int j = 0; j < c; j++)
            sum[j] += x->data[i * c + j] / sqrt(n);
    }
    double squares = 0;
    for (int j = 0; j < c; j++)
        squares += sum[j] * sum[j];
    return (squares - t) / (t * (t - 1.0));
}
/* <<t-smoothing: the measures>> */
static void measures(void)
{
    tp_tensor *x = random_tensor(tp_shape2(9, 64));
    near(tp_mean_cosine(x), cosine_by_identity(x), 1e-9,
         "the mean cosine agrees with |sum of unit rows|^2 = T + 2 sum cos");
    tp_tensor *same = tp_tensor_new(arena, tp_shape3(2, 5, 4), TP_NO_GRAD);
    for (int i = 0; i < 40; i++)
        same->data[i] = (float)(i % 4 + 1);
    near(tp_mean_cosine(same), 1.0, 1e-9, "rows all alike: cosine 1");
    near(tp_rank_residual(same), 0.0, 1e-9, "residual 0");
    near(tp_effective_rank(same), 1.0, 1e-6, "effective rank 1");
    tp_tensor *eye = tp_tensor_new(arena, tp_shape2(6, 8), TP_NO_GRAD);
    for (int i = 0; i < 6; i++)
        eye->data[i * 8 + i] = 2.0f;
    near(tp_mean_cosine(eye), 0.0, 1e-12, "orthogonal rows: cosine 0");
    near(tp_effective_rank(eye), 6.0, 1e-6, "6 orthogonal rows: rank 6");
    float three_one[4] = {3, 0, 0, 1};
    near(tp_effective_rank(tp_tensor_from(arena, tp_shape2(2, 2), three_one)),
         1.7548, 1e-4, "rows of lengths 3 and 1 at right angles: 1.7548");
    /* <<t-smoothing: eigenvalues>> */
    double a[16 * 16], trace = 0, squares = 0, values[16];
    tp_tensor *m = random_tensor(tp_shape2(16, 16));
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            a[i * 16 + j] = (double)m->data[i * 16 + j] + m->data[j * 16 + i];
            trace += i == j ? a[i * 16 + j] : 0.0;
            squares += a[i * 16 + j] * a[i * 16 + j];
        }
    tp_symmetric_eigenvalues(a, 16, values);
    double sum = 0, sum_squares = 0;
    for (int i = 0; i < 16; i++)
        sum += values[i], sum_squares += values[i] * values[i];
    near(sum, trace, 1e-9 * squares, "the eigenvalues add up to the trace");
    near(sum_squares, squares, 1e-9 * squares,
         "and their squares to the squared Frobenius norm");
    double two[4] = {2, 1, 1, 2}, pair[2];
    tp_symmetric_eigenvalues(two, 2, pair);
    ok(fabs(fmin(pair[0], pair[1]) - 1) < 1e-12
           && fabs(fmax(pair[0], pair[1]) - 3) < 1e-12,
       "[[2 1] [1 2]] has eigenvalues 1 and 3");
}

/* <<t-smoothing: DropHead>> */
static bool head_is(const tp_tensor *y, const tp_tensor *x, int b, int h,
                    float factor)
{
    long per = (long)x->shape.dim[2] * x->shape.dim[3];
    long at = ((long)b * x->shape.dim[1] + h) * per;
    for (long i = 0; i < per; i++)
        if (y->data[at + i] != factor * x->data[at + i])
            return false;
    return true;
}

static tp_tensor *drop_forward(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)c;
    tp_rng draws = tp_rng_seeded(7, 7);  /* the same heads at every call */
    return tp_sum(g, tp_mul(g, tp_drop_heads(g, in[0], 0.5f, &draws), in[1]));
}
/* <<t-smoothing: DropHead>> */
static void drop_head(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *x = random_tensor(tp_shape4(2, 4, 3, 5));
    tp_rng draws = tp_rng_seeded(1, 1);
    tp_tensor *y = tp_drop_heads(&g, x, 0.0f, &draws);
    ok(memcmp(x->data, y->data, 120 * sizeof(float)) == 0,
       "DropHead with p = 0 changes nothing");
    bool each = true;
    double mean[120] = {0};
    for (int draw = 0; draw < 4000; draw++) {
        y = tp_drop_heads(&g, x, 0.5f, &draws);
        for (int b = 0; b < 2; b++) {
            int kept = 0;
            for (int h = 0; h < 4; h++)
                kept += !head_is(y, x, b, h, 0.0f);
            for (int h = 0; h < 4; h++)
                each &= head_is(y, x, b, h, 0.0f)
                        || head_is(y, x, b, h, 4.0f / (float)kept);
        }
        for (int i = 0; i < 120; i++)
            mean[i] += y->data[i] / 4000.0;
    }
    ok(each, "each head is dropped or multiplied by H / heads kept");
    double worst = 0;
    for (int i = 0; i < 120; i++)
        worst = fmax(worst, fabs(mean[i] - x->data[i]) / fabs(x->data[i]));
    ok(worst < 5 * 0.03, "the mean of 4,000 draws is the input (worst "
       "relative difference %.3f)", worst);
    tp_tensor *in[2] = {random_tensor(tp_shape4(2, 3, 2, 2)),
                        random_tensor(tp_shape4(2, 3, 2, 2))};
    check_gradients(drop_forward, in, 2, NULL, "DropHead");
}

/* <<t-smoothing: pure attention collapses>> */
static double residual_after(int layers, bool skip)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng weights = tp_rng_seeded(12, 0);
    tp_rng tokens = tp_rng_seeded(12, 1);
    tp_tensor *x = tp_tensor_new(arena, tp_shape3(1, 16, 32), TP_NO_GRAD);
    tp_fill_normal(x, &tokens, 0.0f, 1.0f);
    for (int l = 0; l < layers; l++) {
        tp_tensor *w = tp_tensor_new(arena, tp_shape2(32, 96), TP_NO_GRAD);
        tp_fill_normal(w, &weights, 0.0f, 1.0f / sqrtf(32.0f));
        x = tp_pure_attention(&g, x, w, 4, skip);
    }
    return tp_rank_residual(x);
}

static void pure_attention_collapses(void)
{
    double start = residual_after(0, false);
    double without = residual_after(12, false), with = residual_after(12, true);
    ok(without < 1e-3 * start, "12 layers of pure attention: residual %.2g, "
       "from %.2f", without, start);
    ok(with > 0.1, "with skip connections: %.2f", with);
}

/* <<t-smoothing: the block's options>> */
static tp_tensor *run_block(tp_block *b, tp_tensor *x, tp_block_depth *depth,
                            float scale)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_block_options o = {.heads = 2, .self.causal = true,
                          .self.scale = scale, .depth = depth};
    return tp_block_forward(&g, b, x, NULL, &o);
}

static bool equal(const tp_tensor *a, const tp_tensor *b, float factor)
{
    for (long i = 0; i < tp_tensor_count(a); i++)
        if (a->data[i] != factor * b->data[i])
            return false;
    return true;
}
/* <<t-smoothing: the block's options>> */
static void silenced_branches(tp_block *b, tp_tensor *x)
{
    tp_tensor *ends[4] = {b->c_proj_w, b->c_proj_b, b->mlp_proj_w,
                          b->mlp_proj_b};
    for (int i = 0; i < 4; i++)
        tp_fill(ends[i], 0.0f);
    ok(equal(run_block(b, x, NULL, 0), x, 1.0f),
       "silenced branches: a pre-LN block returns its input");
    tp_block_depth weighted = {.skip = 2.0f};
    ok(equal(run_block(b, x, &weighted, 0), x, 4.0f),
       "with the input weighted by 2 in both sums, 4x");
    tp_block_depth cut = {.no_skip = true};
    ok(equal(run_block(b, x, &cut, 0), x, 0.0f),
       "without skip connections, zero");
}
/* <<t-smoothing: the block's options>> */
static void live_branches(tp_block *b, tp_tensor *x)
{
    tp_tensor *gate = tp_tensor_new(arena, tp_shape1(1), TP_WITH_GRAD);
    tp_block_depth rezero = {.gain = gate};
    ok(equal(run_block(b, x, &rezero, 0), x, 1.0f),
       "live branches behind ReZero's gate at zero: the input");
    tp_tensor *out = NULL;
    tp_block_depth hot = {.temperature = 2.0f, .output = &out};
    tp_tensor *y = run_block(b, x, &hot, 0);
    near(tp_max_abs_diff(y, run_block(b, x, NULL, 1.0f / (2.0f * sqrtf(4.0f)))),
         0, 1e-6, "temperature 2 is the scale 1 / (2 sqrt d)");
    ok(out == y, "the block hands back its output");
}
/* <<t-smoothing: the block's options>> */
static tp_tensor *options_loss(tp_graph *g, tp_tensor *const in[], void *m)
{
    (void)in;
    static const int tokens[6] = {1, 5, 2, 7, 3, 0}, targets[6] = {5, 2, 7,
                                                                   3, 0, 11};
    return tp_gpt_loss(g, m, tokens, targets, 1, 6);
}

static void block_options(void)
{
    tp_params params = {0};
    tp_block b;
    tp_block_make(&b, &params, arena, "h.0.", 8, 32, false);
    tp_init_gpt2(&params, &rng, 1);
    enlarge_weights(&params, &rng);
    tp_tensor *x = random_tensor(tp_shape3(2, 5, 8));
    live_branches(&b, x);
    silenced_branches(&b, x);
    tp_params_free(&params);
    /* <<t-smoothing: a GPT with every option>> */
    tp_gpt *m = tp_gpt_new((tp_gpt_config){16, 8, 2, 2, 8, TP_POSITIONS_LEARNED});
    tp_gpt_add_rezero(m);
    tp_gpt_add_qk_norm(m);
    tp_rng init = tp_rng_seeded(9, 9);
    tp_gpt_init(m, &init);
    enlarge_weights(&m->params, &init);
    for (int l = 0; l < 2; l++)
        m->depth[l].skip = 1.5f, m->depth[l].temperature = 0.7f;
    check_model_gradients(options_loss, &m->params, m,
                          "a GPT with ReZero, QK-LayerNorm, skip 1.5, "
                          "temperature 0.7");
    m->post_ln = true;
    check_model_gradients(options_loss, &m->params, m, "and post-LN");
    tp_gpt_free(m);
}

int main(void)
{
    arena = tp_arena_new("test");
    rng = tp_rng_seeded(355, 0);
    measures();
    drop_head();
    pure_attention_collapses();
    block_options();
    tp_arena_free(arena);
    return done_testing();
}
