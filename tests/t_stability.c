/* Generated from book/350-instability.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

/* <<t-stability: helpers>> */
static tp_gpt *small_gpt(int layers, int width, bool post_ln, bool qk_norm,
                         uint64_t seed)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){.vocab_size = 16,
                                           .n_positions = 12,
                                           .n_layer = layers, .n_head = 2,
                                           .n_embd = width});
    m->post_ln = post_ln;
    if (qk_norm)
        tp_gpt_add_qk_norm(m);
    tp_rng rng = tp_rng_seeded(seed, 0);
    tp_gpt_init(m, &rng);
    return m;
}

static const int tokens[2 * 6] = {1, 5, 2, 7, 3, 0, 9, 9, 4, 1, 15, 8};
static const int targets[2 * 6] = {5, 2, 7, 3, 0, 11, 9, 4, 1, 15, 8, 2};

static tp_tensor *small_loss(tp_graph *g, tp_tensor *const in[], void *m)
{
    (void)in;
    return tp_gpt_loss(g, m, tokens, targets, 2, 6);
}

/* <<t-stability: post-LN and QK-LayerNorm>> */
static float largest_change(tp_gpt *m, float factor)
{
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    int n = 2 * 6 * 16;
    float before[2 * 6 * 16];
    memcpy(before, tp_gpt_forward(&g, m, tokens, 2, 6)->data, sizeof before);
    for (int l = 0; l < m->config.n_layer; l++) {
        tp_tensor *w = m->blocks[l].c_attn_w;  /* [C, 3C]: q, k, v */
        int c = m->config.n_embd;
        for (int r = 0; r < c; r++)
            for (int j = 0; j < 2 * c; j++)
                w->data[(long)r * 3 * c + j] *= factor;
        for (int j = 0; j < 2 * c; j++)
            m->blocks[l].c_attn_b->data[j] *= factor;
    }
    const float *after = tp_gpt_forward(&g, m, tokens, 2, 6)->data;
    float worst = 0;
    for (int i = 0; i < n; i++)
        worst = fmaxf(worst, fabsf(after[i] - before[i]));
    tp_arena_free(arena);
    return worst;
}
/* <<t-stability: post-LN and QK-LayerNorm>> */
static void post_ln_and_qk_norm(void)
{
    tp_gpt *m = small_gpt(2, 8, true, true, 3);
    tp_rng rng = tp_rng_seeded(4, 0);
    enlarge_weights(&m->params, &rng);
    check_model_gradients(small_loss, &m->params, m,
                          "a post-LN GPT with QK-LayerNorm");
    ok(largest_change(m, 10.0f) < 1e-4f,
       "with QK-LayerNorm, queries and keys ten times larger change no logit");
    tp_gpt_free(m);
    m = small_gpt(2, 8, true, false, 3);
    enlarge_weights(&m->params, &rng);
    ok(largest_change(m, 10.0f) > 0.1f, "without it, they do");
    tp_gpt_free(m);
}

/* <<t-stability: initialisation>> */
static double deviation_of(const tp_params *params, const char *part)
{
    double sum = 0, squares = 0;
    long n = 0;
    for (int i = 0; i < params->count; i++)
        if (strstr(params->items[i].name, part) != NULL) {
            const tp_tensor *t = params->items[i].tensor;
            for (long j = 0; j < tp_tensor_count(t); j++, n++)
                sum += t->data[j], squares += (double)t->data[j] * t->data[j];
        }
    return sqrt(squares / n - (sum / n) * (sum / n));
}

static void initialisation(void)
{
    tp_gpt *m = small_gpt(4, 64, false, false, 5);
    near(deviation_of(&m->params, "c_proj.weight"), 0.02 / sqrt(8.0),
         0.01 * 0.02 / sqrt(8.0), "GPT-2 draws the residual projections "
         "with deviation 0.02 / sqrt(2L)");
    tp_scale_weights(&m->params, "c_proj.weight", sqrtf(8.0f));
    near(deviation_of(&m->params, "c_proj.weight"), 0.02, 0.01 * 0.02,
         "multiplied by sqrt(2L), with deviation 0.02");
    near(deviation_of(&m->params, "c_fc.weight"), 0.02, 0.01 * 0.02,
         "as the other matrices");
    tp_gpt_free(m);
}

/* <<t-stability: diagnostics>> */
static void layer_norms(tp_gpt *m, double *norms)
{
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_zero_grad(&m->params);
    tp_backward(&g, tp_gpt_loss(&g, m, tokens, targets, 2, 6));
    tp_layer_grad_norms(&m->params, m->config.n_layer, norms);
    tp_arena_free(arena);
}

static double outside_blocks(const tp_params *params)
{
    double sum = 0;
    for (int i = 0; i < params->count; i++)
        if (strncmp(params->items[i].name, "h.", 2) != 0) {
            const tp_tensor *t = params->items[i].tensor;
            for (long j = 0; j < tp_tensor_count(t); j++)
                sum += (double)t->grad[j] * t->grad[j];
        }
    return sum;
}
/* <<t-stability: diagnostics>> */
static double spread(const double *norms, int n)
{
    double lo = norms[0], hi = norms[0];
    for (int i = 1; i < n; i++)
        lo = fmin(lo, norms[i]), hi = fmax(hi, norms[i]);
    return hi / lo;
}

static void diagnostics(void)
{
    double post[6], pre[6];
    tp_gpt *m = small_gpt(6, 32, true, false, 6);
    layer_norms(m, post);
    double squares = outside_blocks(&m->params);
    for (int l = 0; l < 6; l++)
        squares += post[l] * post[l];
    near(sqrt(squares), tp_grad_norm(&m->params), 1e-6 * sqrt(squares),
         "the per-layer norms and the rest make up the global norm");
    tp_gpt_free(m);
    m = small_gpt(6, 32, false, false, 6);
    layer_norms(m, pre);
    tp_gpt_free(m);
    ok(spread(post, 6) > 5 * spread(pre, 6),
       "at initialisation, post-LN's per-layer gradient norms spread over a "
       "range (%.1f) over five times pre-LN's (%.2f)", spread(post, 6),
       spread(pre, 6));
    /* <<t-stability: the update ratio>> */
    tp_arena *arena = tp_arena_new("test");
    tp_params params = {0};
    tp_tensor *w = tp_param_new(&params, arena, "w", tp_shape2(2, 2));
    tp_fill(w, 1.0f);
    float *before = tp_params_snapshot(&params);
    tp_fill(w, 1.25f);
    near(tp_update_ratio(&params, before), 0.25, 1e-7,
         "an update from 1 to 1.25 everywhere has ratio 0.25");
    near(tp_update_ratio(&params, before), 0.0, 0,
         "and the snapshot follows the parameters");
    free(before);
    tp_params_free(&params);
    tp_arena_free(arena);
}

/* <<t-stability: the spike detector>> */
typedef struct regression {
    tp_tensor *x, *y, *w;
    long bad;  /* the step whose batch is corrupted */
    long spikes_at[4];
    int spikes;
    float w39[8], w40[8], loss41;
} regression;

static tp_tensor *regression_loss(tp_graph *g, long step, void *context)
{
    regression *r = context;
    tp_tensor *y = step == r->bad ? tp_scale(g, r->y, 30.0f) : r->y;
    tp_tensor *diff = tp_add(g, tp_matmul(g, r->x, r->w), tp_scale(g, y, -1));
    return tp_mean(g, tp_mul(g, diff, diff));
}

static bool watch(const tp_progress *p, void *context)
{
    regression *r = context;
    if (p->spike && r->spikes < 4)
        r->spikes_at[r->spikes++] = p->step;
    if (p->step == 39)
        memcpy(r->w39, r->w->data, sizeof r->w39);
    if (p->step == 40)
        memcpy(r->w40, r->w->data, sizeof r->w40);
    if (p->step == 41)
        r->loss41 = p->loss;
    return true;
}
/* <<t-stability: the spike detector>> */
static regression run_with_bad_batch(bool skip)
{
    tp_arena *arena = tp_arena_new("test"), *step = tp_arena_new("step");
    tp_params params = {0};
    tp_rng rng = tp_rng_seeded(8, 8);
    regression r = {.bad = 40};
    r.x = tp_tensor_new(arena, tp_shape2(64, 4), TP_NO_GRAD);
    r.y = tp_tensor_new(arena, tp_shape2(64, 2), TP_NO_GRAD);
    tp_fill_normal(r.x, &rng, 0.0f, 1.0f);
    tp_fill_normal(r.y, &rng, 0.0f, 1.0f);
    r.w = tp_param_new(&params, arena, "w", tp_shape2(4, 2));
    tp_optimizer *opt = tp_optimizer_new(&params, (tp_optimizer_config){
        .kind = TP_ADAM, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f});
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = 60, .warmup = 1, .max_lr = 0.05f,
                          .min_lr = 0.05f, .spike_factor = 3.0f,
                          .skip_spikes = skip, .progress = watch,
                          .progress_context = &r};
    tp_train(&g, &params, opt, &o, regression_loss, &r, NULL, NULL);
    tp_optimizer_free(opt);
    tp_params_free(&params);
    tp_arena_free(step), tp_arena_free(arena);
    return r;
}
/* <<t-stability: the spike detector>> */
static void spike_detector(void)
{
    regression skipped = run_with_bad_batch(true);
    regression applied = run_with_bad_batch(false);
    ok(skipped.spikes == 1 && skipped.spikes_at[0] == 40
           && applied.spikes == 1 && applied.spikes_at[0] == 40,
       "the detector flags the corrupted batch at step 40, and no other step");
    ok(memcmp(skipped.w39, skipped.w40, sizeof skipped.w39) == 0,
       "skipping it leaves the parameters of step 39, bit for bit");
    ok(memcmp(applied.w39, applied.w40, sizeof applied.w39) != 0
           && applied.loss41 > skipped.loss41,
       "applying it moves them, and the next batch's loss is higher "
       "(%.3f against %.3f)", applied.loss41, skipped.loss41);
}

int main(void)
{
    post_ln_and_qk_norm();
    initialisation();
    diagnostics();
    spike_detector();
    return done_testing();
}
