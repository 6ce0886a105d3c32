/* Generated from book/320-decoding.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

/* <<t-decoding: models>> */
static tp_gpt *model(int layers, int width, uint64_t seed)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){.vocab_size = 16,
                                           .n_positions = 64,
                                           .n_layer = layers, .n_head = 2,
                                           .n_embd = width});
    tp_rng rng = tp_rng_seeded(seed, 0);
    tp_gpt_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    return m;
}

static const int prompt[5] = {3, 1, 4, 1, 5};

/* <<t-decoding: several tokens at once>> */
static double worst_against_steps(tp_gpt *m, const int *tokens, int n,
                                  const float *rows, tp_gpt_cache *reference,
                                  tp_arena *scratch)
{
    double worst = 0.0;
    for (int t = 0; t < n; t++) {
        const float *step = tp_gpt_step(m, reference, tokens[t], scratch);
        for (int v = 0; v < 16; v++)
            worst = fmax(worst, fabs(step[v] - rows[t * 16 + v]));
        tp_arena_reset(scratch);
    }
    return worst;
}
/* <<t-decoding: several tokens at once>> */
static void several_tokens_at_once(void)
{
    tp_gpt *m = model(2, 16, 1);
    static const int tokens[12] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8};
    tp_arena *a = tp_arena_new("extend"), *b = tp_arena_new("step");
    tp_gpt_cache *cache = tp_gpt_cache_new(m, 64);
    tp_gpt_cache *reference = tp_gpt_cache_new(m, 64);
    double worst = 0.0;
    for (int start = 0; start < 12; start += 4)  /* three passes of 4 */
        worst = fmax(worst, worst_against_steps(
                                m, tokens + start, 4,
                                tp_gpt_extend(m, cache, tokens + start, 4, a),
                                reference, b));
    near(worst, 0, 1e-5, "a pass of several tokens gives the logits of "
         "single steps");
    /* <<t-decoding: forget and overwrite>> */
    static const int other[3] = {7, 7, 2};
    cache->length = 9, reference->length = 9;
    tp_arena_reset(a);
    worst = worst_against_steps(m, other, 3, tp_gpt_extend(m, cache, other, 3, a),
                                reference, b);
    near(worst, 0, 1e-5, "after forgetting positions, new tokens take their "
         "place");
    tp_gpt_cache_free(cache), tp_gpt_cache_free(reference);
    tp_arena_free(a), tp_arena_free(b);
    tp_gpt_free(m);
}

/* <<t-decoding: with and without the cache>> */
static void reference_greedy(tp_gpt *m, int n, int *out)
{
    tp_gpt_cache *cache = tp_gpt_cache_new(m, 5 + n);
    tp_arena *scratch = tp_arena_new("reference");
    const float *logits = NULL;
    for (int i = 0; i < 5; i++) {
        tp_arena_reset(scratch);
        logits = tp_gpt_step(m, cache, prompt[i], scratch);
    }
    for (int i = 0; i < n; i++) {
        out[i] = tp_gpt_sample_token(logits, 16, 0.0f, 0, 1.0f, NULL);
        tp_arena_reset(scratch);
        if (i + 1 < n)
            logits = tp_gpt_step(m, cache, out[i], scratch);
    }
    tp_arena_free(scratch);
    tp_gpt_cache_free(cache);
}
/* <<t-decoding: with and without the cache>> */
static void with_and_without_the_cache(void)
{
    tp_gpt *m = model(2, 16, 2);
    int expected[40], cached[40], uncached[40], a[40], b[40];
    tp_error error;
    tp_rng rng = tp_rng_seeded(1, 1);
    reference_greedy(m, 40, expected);
    tp_gpt_generate(m, prompt, 5, 40, 0.0f, true, &rng, cached, NULL, &error);
    tp_gpt_generate(m, prompt, 5, 40, 0.0f, false, &rng, uncached, NULL, &error);
    ok(memcmp(cached, expected, sizeof expected) == 0
           && memcmp(uncached, expected, sizeof expected) == 0,
       "greedy decoding with and without the cache writes the GPT chapter's "
       "tokens");
    rng = tp_rng_seeded(2, 1);
    tp_gpt_generate(m, prompt, 5, 40, 1.0f, true, &rng, a, NULL, &error);
    rng = tp_rng_seeded(2, 1);
    tp_gpt_generate(m, prompt, 5, 40, 1.0f, true, &rng, b, NULL, &error);
    ok(memcmp(a, b, sizeof a) == 0 && memcmp(a, expected, sizeof a) != 0,
       "sampling with a seed is repeatable, and is not greedy decoding");
    tp_gpt_free(m);
}

/* <<t-decoding: greedy speculative decoding>> */
static void greedy_speculation(void)
{
    tp_gpt *target = model(2, 16, 3), *draft = model(1, 8, 4);
    int expected[48], out[48];
    reference_greedy(target, 48, expected);
    static const int ks[5] = {1, 2, 3, 5, 8};
    for (int i = 0; i < 5; i++) {
        tp_speculation stats;
        tp_error error;
        tp_speculative_decode(target, draft, prompt, 5, 48, ks[i], 0.0f, NULL,
                              out, &stats, &error);
        ok(memcmp(out, expected, sizeof out) == 0,
           "greedy speculative decoding with k = %d writes the target's "
           "tokens", ks[i]);
        note("k = %d: %ld of %ld proposals kept in %ld rounds", ks[i],
             stats.accepted, stats.proposed, stats.rounds);
    }
    /* <<t-decoding: the target as its own draft>> */
    tp_speculation stats;
    tp_error error;
    tp_speculative_decode(target, target, prompt, 5, 48, 4, 0.0f, NULL, out,
                          &stats, &error);
    ok(memcmp(out, expected, sizeof out) == 0 && stats.accepted == stats.proposed
           && stats.rounds == 10,
       "the target as its own draft keeps every proposal: 48 tokens in 10 "
       "rounds of 4 + 1");
    tp_gpt_free(target), tp_gpt_free(draft);
}

/* <<t-decoding: the sampled distribution>> */
static void target_distribution(tp_gpt *m, double *p)
{
    tp_arena *arena = tp_arena_new("p");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    const float *last = tp_gpt_forward(&g, m, prompt, 1, 5)->data + 4 * 16;
    double top = last[0], total = 0.0;
    for (int v = 1; v < 16; v++)
        top = fmax(top, last[v]);
    for (int v = 0; v < 16; v++)
        total += p[v] = exp(last[v] - top);
    for (int v = 0; v < 16; v++)
        p[v] /= total;
    tp_arena_free(arena);
}
/* <<t-decoding: the sampled distribution>> */
static double chi_square(const long *count, const double *p, long n,
                         int *cells)
{
    double chi = 0.0, pooled_expected = 0.0;
    long pooled = 0;
    *cells = 0;
    for (int v = 0; v < 16; v++) {
        double expected = (double)n * p[v];
        if (expected >= 5.0) {
            chi += (count[v] - expected) * (count[v] - expected) / expected;
            ++*cells;
        } else {
            pooled += count[v], pooled_expected += expected;
        }
    }
    if (pooled_expected > 0.0) {
        chi += (pooled - pooled_expected) * (pooled - pooled_expected)
               / pooled_expected;
        ++*cells;
    }
    return chi;
}

static double critical_value(int degrees)
{
    double nu = degrees, z = 3.09, h = 2.0 / (9.0 * nu);
    return nu * pow(1.0 - h + z * sqrt(h), 3.0);
}
/* <<t-decoding: the sampled distribution>> */
static void sampled_distribution(void)
{
    tp_gpt *target = model(2, 16, 5), *draft = model(1, 8, 6);
    enum { N = 6000 };
    double p[16];
    long count[16] = {0}, draft_count[16] = {0};
    target_distribution(target, p);
    tp_rng rng = tp_rng_seeded(11, 1);
    tp_speculation all = {0, 0, 0};
    for (int i = 0; i < N; i++) {
        int out[3], two[1];
        tp_speculation stats;
        tp_error error;
        tp_speculative_decode(target, draft, prompt, 5, 3, 3, 1.0f, &rng, out,
                              &stats, &error);
        count[out[0]]++;
        all.accepted += stats.accepted, all.proposed += stats.proposed;
        tp_gpt_generate(draft, prompt, 5, 1, 1.0f, true, &rng, two, NULL, &error);
        draft_count[two[0]]++;
    }
    /* <<t-decoding: judge the two counts>> */
    int cells, draft_cells;
    double chi = chi_square(count, p, N, &cells);
    double draft_chi = chi_square(draft_count, p, N, &draft_cells);
    ok(chi < critical_value(cells - 1),
       "the first token is distributed as the target's: chi-square %.1f < %.1f "
       "(%d degrees of freedom, significance 0.001)", chi,
       critical_value(cells - 1), cells - 1);
    ok(draft_chi > critical_value(draft_cells - 1),
       "the test has power: the draft's own draws give chi-square %.0f > %.1f",
       draft_chi, critical_value(draft_cells - 1));
    ok(all.accepted > 0 && all.accepted < all.proposed,
       "some proposals were kept, some rejected (%ld of %ld kept)",
       all.accepted, all.proposed);
    tp_gpt_free(target), tp_gpt_free(draft);
}
/* <<t-decoding: the sampled distribution>> */
static void own_draft_sampling(void)
{
    tp_gpt *target = model(2, 16, 5);
    tp_rng rng = tp_rng_seeded(12, 1);
    tp_speculation stats;
    tp_error error;
    int out[24];
    tp_speculative_decode(target, target, prompt, 5, 24, 3, 1.0f, &rng, out,
                          &stats, &error);
    ok(stats.accepted == stats.proposed && stats.rounds == 6,
       "sampling with the target as its own draft keeps every proposal: "
       "%ld of %ld in %ld rounds", stats.accepted, stats.proposed,
       stats.rounds);
    tp_gpt_free(target);
}

/* <<t-decoding: the residual>> */
static void residual_rule(void)
{
    double p[6] = {0.30, 0.05, 0.25, 0.10, 0.20, 0.10};
    const double q[6] = {0.10, 0.25, 0.25, 0.30, 0.05, 0.05};
    double half_l1 = 0.0, worst = 0.0, expected[6];
    for (int v = 0; v < 6; v++)
        half_l1 += 0.5 * fabs(p[v] - q[v]);
    for (int v = 0; v < 6; v++)
        expected[v] = fmax(0.0, p[v] - q[v]) / half_l1;
    double mass = tp_speculative_residual(p, q, 6);
    for (int v = 0; v < 6; v++)
        worst = fmax(worst, fabs(p[v] - expected[v]));
    near(mass, half_l1, 1e-12, "the residual's mass is half the L1 distance");
    near(worst, 0.0, 1e-12, "the residual is max(0, p - q), normalised");
    double apart[4] = {0.5, 0.5, 0.0, 0.0};
    const double other[4] = {0.0, 0.0, 0.25, 0.75};
    near(tp_speculative_residual(apart, other, 4), 1.0, 1e-12,
         "with disjoint supports, the mass is one");
    ok(apart[0] == 0.5 && apart[1] == 0.5 && apart[2] == 0.0 && apart[3] == 0.0,
       "and the residual is p itself");
}

/* <<t-decoding: bad input>> */
static void bad_input(void)
{
    tp_gpt *target = model(2, 16, 7), *draft = model(1, 8, 8);
    tp_gpt *other = tp_gpt_new((tp_gpt_config){20, 64, 1, 2, 8, TP_POSITIONS_LEARNED});
    int out[8] = {0};
    tp_error error;
    ok(tp_speculative_decode(target, other, prompt, 5, 8, 2, 0.0f, NULL, out,
                             NULL, &error) != 0
           && strstr(error.message, "vocabulary of 20 tokens but the target 16"),
       "a draft of another vocabulary is refused: %s", error.message);
    ok(tp_speculative_decode(target, draft, prompt, 5, 8, 0, 0.0f, NULL, out,
                             NULL, &error) != 0
           && strstr(error.message, "at least one token a round, not 0"),
       "k = 0 is refused: %s", error.message);
    ok(tp_speculative_decode(target, draft, prompt, 5, 60, 2, 0.0f, NULL, out,
                             NULL, &error) != 0
           && strstr(error.message, "64 positions of the target"),
       "a continuation past the positions is refused: %s", error.message);
    tp_gpt_free(target), tp_gpt_free(draft), tp_gpt_free(other);
}

int main(void)
{
    if (general_tests()) {
        several_tokens_at_once();
        with_and_without_the_cache();
        greedy_speculation();
        bad_input();
    }
    if (exercise_tests("decoding.accept")) {
        sampled_distribution();
        own_draft_sampling();
    }
    if (exercise_tests("decoding.residual"))
        residual_rule();
    return done_testing();
}
