/* Generated from book/990-hidden-tests.nw; edit the book, not this file. */
/* The hidden tests of exercises decoding.accept and decoding.residual. */
#include <math.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

static const int prompt[4] = {2, 7, 1, 8};

/* <<hidden decoding: the share of proposals kept>> */
static tp_gpt *small_model(int layers, int width, uint64_t seed, double *p)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){.vocab_size = 12,
                                           .n_positions = 16,
                                           .n_layer = layers, .n_head = 2,
                                           .n_embd = width});
    tp_rng rng = tp_rng_seeded(seed, 3);
    tp_gpt_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    tp_arena *arena = tp_arena_new("p");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    const float *last = tp_gpt_forward(&g, m, prompt, 1, 4)->data + 3 * 12;
    double total = 0.0;
    for (int v = 0; v < 12; v++)
        total += p[v] = exp((double)last[v]);
    for (int v = 0; v < 12; v++)
        p[v] /= total;
    tp_arena_free(arena);
    return m;
}

static void share_kept(void)
{
    double p[12], q[12], alpha = 0.0;
    tp_gpt *target = small_model(2, 16, 41, p), *draft = small_model(1, 8, 42, q);
    for (int v = 0; v < 12; v++)
        alpha += fmin(p[v], q[v]);
    enum { ROUNDS = 4000 };
    tp_rng rng = tp_rng_seeded(2027, 23);
    long kept = 0;
    for (int i = 0; i < ROUNDS; i++) {
        int out[1];
        tp_speculation stats;
        tp_error error;
        tp_speculative_decode(target, draft, prompt, 4, 1, 1, 1.0f, &rng, out,
                              &stats, &error);
        kept += stats.accepted;
    }
    double share = (double)kept / ROUNDS,
           sigma = sqrt(alpha * (1.0 - alpha) / ROUNDS);
    near(share, alpha, 5.0 * sigma,
         "one proposal is kept with probability sum min(p, q) = %.3f "
         "(kept %.3f)", alpha, share);
    tp_gpt_free(target), tp_gpt_free(draft);
}

/* <<hidden decoding: residuals of random distributions>> */
static void random_distribution(tp_rng *rng, double *p, int n, int zeros)
{
    double total = 0.0;
    for (int v = 0; v < n; v++)
        total += p[v] = v < zeros ? 0.0 : tp_rng_uniform(rng);
    for (int v = 0; v < n; v++)
        p[v] /= total;
}

static void random_residuals(void)
{
    tp_rng rng = tp_rng_seeded(2027, 29);
    double worst = 0.0, worst_mass = 0.0;
    for (int trial = 0; trial < 20; trial++) {
        double p[50], q[50], expected[50], mass = 0.0;
        random_distribution(&rng, p, 50, trial % 3 == 0 ? 10 : 0);
        random_distribution(&rng, q, 50, 0);
        for (int v = 0; v < 50; v++)
            mass += expected[v] = fmax(0.0, p[v] - q[v]);
        worst_mass = fmax(worst_mass, fabs(tp_speculative_residual(p, q, 50) - mass));
        for (int v = 0; v < 50; v++)
            worst = fmax(worst, fabs(p[v] - expected[v] / mass));
    }
    near(worst_mass, 0.0, 1e-12, "twenty residuals have the right mass");
    near(worst, 0.0, 1e-12, "and the right entries");
    double p[8], q[8];
    random_distribution(&rng, p, 8, 2);
    for (int v = 0; v < 8; v++)
        q[v] = p[v];
    double mass = tp_speculative_residual(p, q, 8);
    bool zero = true;
    for (int v = 0; v < 8; v++)
        zero = zero && p[v] == 0.0;
    ok(mass == 0.0 && zero, "equal distributions leave mass zero and no residual");
}

int main(void)
{
    if (exercise_tests("decoding.accept"))
        share_kept();
    if (exercise_tests("decoding.residual"))
        random_residuals();
    return done_testing();
}
