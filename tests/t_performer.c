/* Generated from book/256-performer.nw; edit the book, not this file. */
#include <string.h>

#include "gradients.h"
#include "models.h"

static tp_arena *arena;
static tp_rng rng;

static tp_tensor *random_tensor(tp_shape shape, float deviation)
{
    tp_tensor *t = tp_tensor_normal(arena, shape, TP_WITH_GRAD, &rng);
    for (long i = 0, n = tp_tensor_count(t); i < n; i++)
        t->data[i] *= deviation;
    return t;
}

/* <<t-performer: the directions>> */
static void directions(void)
{
    int m = 20, d = 8;
    tp_tensor *w = tp_performer_projection(arena, m, d, 7, TP_FEATURES_ORTHOGONAL);
    double worst = 0.0, shortest = INFINITY, longest = 0.0;
    for (int a = 0; a < m; a++) {
        double self = 0.0;
        for (int c = 0; c < d; c++)
            self += (double)w->data[a * d + c] * w->data[a * d + c];
        shortest = fmin(shortest, sqrt(self)), longest = fmax(longest, sqrt(self));
        for (int b = a + 1; b < m && b / d == a / d; b++) {
            double dot = 0.0;
            for (int c = 0; c < d; c++)
                dot += (double)w->data[a * d + c] * w->data[b * d + c];
            worst = fmax(worst, fabs(dot) / self);
        }
    }
    ok(worst < 1e-5, "orthogonal directions: rows of a block orthogonal "
       "(worst cosine-like ratio %.1g)", worst);
    ok(longest - shortest > 0.1, "orthogonal directions: lengths drawn, "
       "not all equal (%.2f to %.2f)", shortest, longest);
    tp_tensor *again = tp_performer_projection(arena, m, d, 7,
                                               TP_FEATURES_ORTHOGONAL);
    ok(memcmp(w->data, again->data, (size_t)m * d * sizeof *w->data) == 0,
       "the same seed draws the same directions");
}
/* <<t-performer: the kernel is unbiased>> */
enum { KERNEL_T = 6, KERNEL_D = 8, KERNEL_M = 16 };

static void kernel_estimate(const tp_tensor *qf, const tp_tensor *kf,
                            double *into)
{
    for (int i = 0; i < KERNEL_T; i++)
        for (int j = 0; j < KERNEL_T; j++) {
            double dot = 0.0;
            for (int r = 0; r < KERNEL_M; r++)
                dot += (double)qf->data[i * KERNEL_M + r] * kf->data[j * KERNEL_M + r];
            into[i * KERNEL_T + j] += dot;
        }
}

static double kernel_error(tp_tensor *q, tp_tensor *k, int draws,
                           uint64_t first_seed, tp_feature_draw draw)
{
    double mean[KERNEL_T * KERNEL_T] = {0}, error = 0.0, size = 0.0;
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    for (int s = 0; s < draws; s++) {
        tp_tensor *w = tp_performer_projection(arena, KERNEL_M, KERNEL_D,
                                               first_seed + s, draw);
        kernel_estimate(tp_favor_features(&g, q, w, TP_FAVOR_UNSHIFTED),
                        tp_favor_features(&g, k, w, TP_FAVOR_UNSHIFTED), mean);
    }
    for (int i = 0; i < KERNEL_T; i++)
        for (int j = 0; j < KERNEL_T; j++) {
            double dot = 0.0;
            for (int c = 0; c < KERNEL_D; c++)
                dot += (double)q->data[i * KERNEL_D + c] * k->data[j * KERNEL_D + c];
            double exact = exp(dot / sqrt(KERNEL_D));
            double e = mean[i * KERNEL_T + j] / draws - exact;
            error += e * e, size += exact * exact;
        }
    return sqrt(error / size);
}

static void unbiased(void)
{
    tp_tensor *q = random_tensor(tp_shape4(1, 1, KERNEL_T, KERNEL_D), 0.5f);
    tp_tensor *k = random_tensor(tp_shape4(1, 1, KERNEL_T, KERNEL_D), 0.5f);
    for (int kind = 0; kind < 2; kind++) {
        const char *name = kind ? "orthogonal" : "independent";
        double few = kernel_error(q, k, 64, 1000, kind);
        double many = kernel_error(q, k, 1024, 5000, kind);
        ok(many < few / 2 && many < 0.03, "%s features: the mean kernel "
           "approaches exp(q.k/sqrt d): error %.4f over 64 draws, %.4f over "
           "1024 (ideal ratio 4, asserted > 2)", name, few, many);
    }
}
/* <<t-performer: orthogonal beats independent>> */
static double relative_distance(const tp_tensor *a, const tp_tensor *b)
{
    double num = 0.0, den = 0.0;
    for (long i = 0, n = tp_tensor_count(a); i < n; i++) {
        double e = (double)a->data[i] - b->data[i];
        num += e * e, den += (double)b->data[i] * b->data[i];
    }
    return sqrt(num / den);
}

static double output_error(tp_tensor *q, tp_tensor *k, tp_tensor *v,
                           int seeds, tp_feature_draw draw)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *exact = tp_attention(&g, q, k, v, NULL);
    double error = 0.0;
    for (int s = 0; s < seeds; s++) {
        tp_tensor *w = tp_performer_projection(arena, 16, 16, 100 + s, draw);
        error += relative_distance(
            tp_performer_attention(&g, q, k, v, w, NULL), exact) / seeds;
    }
    return error;
}

static void orthogonal_helps(void)
{
    enum { SEEDS = 1024 };
    double kernel[2] = {0.0, 0.0}, output[2];
    tp_tensor *q = random_tensor(tp_shape4(1, 1, KERNEL_T, KERNEL_D), 0.5f);
    tp_tensor *k = random_tensor(tp_shape4(1, 1, KERNEL_T, KERNEL_D), 0.5f);
    for (int kind = 0; kind < 2; kind++)
        for (int s = 0; s < SEEDS; s++)
            kernel[kind] += kernel_error(q, k, 1, 9000 + s, kind) / SEEDS;
    ok(kernel[1] < 0.96 * kernel[0], "m = 16, d = 8: orthogonal features "
       "estimate the kernel better than independent ones, mean error %.3f "
       "against %.3f over %d seeds (asserted 4%% lower)", kernel[1],
       kernel[0], SEEDS);
    tp_tensor *qo = random_tensor(tp_shape4(1, 1, 32, 16), 0.5f);
    tp_tensor *ko = random_tensor(tp_shape4(1, 1, 32, 16), 0.5f);
    tp_tensor *vo = random_tensor(tp_shape4(1, 1, 32, 16), 1.0f);
    for (int kind = 0; kind < 2; kind++)
        output[kind] = output_error(qo, ko, vo, SEEDS / 4, kind);
    ok(output[1] < 0.97 * output[0], "m = d = 16: and the attention output, "
       "mean error %.3f against %.3f over %d seeds (asserted 3%% lower)",
       output[1], output[0], SEEDS / 4);
}
/* <<t-performer: the causal form>> */
static double pairwise_error(tp_tensor *q, tp_tensor *k, tp_tensor *v,
                             const tp_tensor *w, bool causal)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *qf = tp_favor_features(&g, q, w, TP_FAVOR_PER_ROW);
    tp_tensor *kf = tp_favor_features(&g, k, w, TP_FAVOR_PER_HEAD);
    tp_tensor *out = tp_performer_attention(&g, q, k, v, w,
                                            &(tp_attention_options){.causal = causal});
    int t = q->shape.dim[2], m = w->shape.dim[0], dv = v->shape.dim[3];
    double worst = 0.0;
    for (int i = 0; i < t; i++)
        for (int e = 0; e < dv; e++) {
            double num = 0.0, den = 1e-6;
            for (int j = 0; j < (causal ? i + 1 : t); j++) {
                double a = 0.0;
                for (int r = 0; r < m; r++)
                    a += (double)qf->data[i * m + r] * kf->data[j * m + r];
                num += a * v->data[j * dv + e], den += a;
            }
            worst = fmax(worst, fabs(num / den - out->data[i * dv + e]));
        }
    return worst;
}

static void causal_form(void)
{
    tp_tensor *q = random_tensor(tp_shape4(1, 1, 40, 8), 1.0f);
    tp_tensor *k = random_tensor(tp_shape4(1, 1, 40, 8), 1.0f);
    tp_tensor *v = random_tensor(tp_shape4(1, 1, 40, 5), 1.0f);
    tp_tensor *w = tp_performer_projection(arena, 24, 8, 3, TP_FEATURES_ORTHOGONAL);
    near(pairwise_error(q, k, v, w, true), 0, 1e-5, "causal Performer: the "
         "prefix sums equal the masked quadratic form of the same features");
    near(pairwise_error(q, k, v, w, false), 0, 1e-5, "bidirectional "
         "Performer: equals the quadratic form of the same features");
}
/* <<t-performer: gradients>> */
typedef struct performer_case {
    const tp_tensor *w;
    bool causal;
} performer_case;

static tp_tensor *performer_forward(tp_graph *g, tp_tensor *const in[],
                                    void *context)
{
    const performer_case *c = context;
    return tp_performer_attention(g, in[0], in[1], in[2], c->w,
                                  &(tp_attention_options){.causal = c->causal});
}

static tp_tensor *features_forward(tp_graph *g, tp_tensor *const in[],
                                   void *context)
{
    return tp_favor_features(g, in[0], context, TP_FAVOR_UNSHIFTED);
}

static void gradients(void)
{
    tp_tensor *in[3] = {random_tensor(tp_shape4(1, 2, 7, 4), 1.0f),
                        random_tensor(tp_shape4(1, 2, 7, 4), 1.0f),
                        random_tensor(tp_shape4(1, 2, 7, 3), 1.0f)};
    performer_case c = {tp_performer_projection(arena, 8, 4, 5,
                                                TP_FEATURES_ORTHOGONAL), false};
    check_gradients(performer_forward, in, 3, &c, "bidirectional Performer");
    c.causal = true;
    check_gradients(performer_forward, in, 3, &c, "causal Performer");
    check_gradients(features_forward, in, 1, (void *)c.w, "FAVOR+ features");
}

/* <<t-performer: a GPT with it>> */
static const int gpt_tokens[2 * 6] = {1, 5, 2, 7, 3, 0, 9, 9, 4, 1, 15, 8};
static const int gpt_targets[2 * 6] = {5, 2, 7, 3, 0, 11, 9, 4, 1, 15, 8, 2};

static tp_tensor *gpt_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)in;
    return tp_gpt_loss(g, c, gpt_tokens, gpt_targets, 2, 6);
}

static void gpt_with_performer(void)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){16, 8, 1, 2, 8,
                                           TP_POSITIONS_LEARNED});
    m->attention = tp_performer_fixed;
    tp_rng init = tp_rng_seeded(3, 3);
    tp_gpt_init(m, &init);
    enlarge_weights(&m->params, &init);
    if (m->params.count > 0)  /* always; it tells the compiler so */
        check_model_gradients(gpt_loss, &m->params, m,
                              "a GPT with the Performer");
    int a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {1, 2, 3, 4, 5, 9, 7, 8};
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *la = tp_gpt_forward(&g, m, a, 1, 8);
    tp_tensor *lb = tp_gpt_forward(&g, m, b, 1, 8);
    float before = 0.0f, at = 0.0f;  /* positions 0-4; position 5 */
    for (int i = 0; i < 5 * 16; i++)
        before = fmaxf(before, fabsf(la->data[i] - lb->data[i]));
    for (int i = 5 * 16; i < 6 * 16; i++)
        at = fmaxf(at, fabsf(la->data[i] - lb->data[i]));
    ok(before < 1e-4f && at > 1e-2f, "the Performer GPT is causal to rounding: "
       "changing token 5 moves earlier logits by %.1g, its own by %.2g",
       before, at);
    tp_gpt_free(m);
}

static int no_features(void)
{
    tp_performer_projection(arena, 0, 8, 1, TP_FEATURES_IID);
    return 0;
}

int main(void)
{
    plan(15);
    arena = tp_arena_new("t_performer");
    rng = tp_rng_seeded(19, 1);
    directions();
    unbiased();
    orthogonal_helps();
    causal_form();
    gradients();
    gpt_with_performer();
    dies_with(no_features, "0 features of width 8; both must be positive",
              "m not positive: the projection refuses it, with a message");
    tp_arena_free(arena);
    return done_testing();
}
