/* Generated from book/990-hidden-tests.nw; edit the book, not this file. */
/* The hidden tests of exercises gpt.kv-cache and gpt.top-k-top-p. */
#include <math.h>

#include "tap.h"
#include "tp.h"

/* <<hidden gpt: the cache of a model with grouped heads and RoPE>> */
static void cache_with_grouped_heads_and_rope(void)
{
    enum { LENGTH = 9, VOCAB = 11 };
    tp_gpt_config config = {VOCAB, LENGTH, 2, 4, 16, TP_POSITIONS_ROPE};
    tp_gpt *m = tp_gpt_new_modern(config, (tp_gpt_modern){.kv_heads = 2});
    tp_rng rng = tp_rng_seeded(2027, 17);
    tp_gpt_init(m, &rng);
    for (int i = 0; i < m->params.count; i++) {
        tp_tensor *w = m->params.items[i].tensor;
        for (long j = 0; j < tp_tensor_count(w); j++)
            w->data[j] += 0.3f * tp_rng_normal(&rng);  /* far from zero */
    }
    static const int tokens[LENGTH] = {2, 7, 1, 8, 2, 8, 1, 8, 3};
    tp_arena *arena = tp_arena_new("hidden"), *scratch = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *full = tp_gpt_forward(&g, m, tokens, 1, LENGTH);
    tp_gpt_cache *cache = tp_gpt_cache_new(m, LENGTH);
    double worst = 0.0;
    for (int t = 0; t < LENGTH; t++) {
        const float *step = tp_gpt_step(m, cache, tokens[t], scratch);
        for (int v = 0; v < VOCAB; v++)
            worst = fmax(worst, fabs(step[v] - full->data[t * VOCAB + v]));
        tp_arena_reset(scratch);
    }
    near(worst, 0.0, 1e-4, "grouped heads, RoPE, a full cache: every step's "
         "logits are the full pass's");
    tp_gpt_cache_free(cache);
    tp_arena_free(scratch), tp_arena_free(arena);
    tp_gpt_free(m);
}

/* <<hidden gpt: frequencies of sampled tokens>> */
static void frequencies(const char *what, float top_p, int top_k,
                        const double expected[4])
{
    const float logits[4] = {(float)log(0.5), (float)log(0.3),
                             (float)log(0.15), (float)log(0.05)};
    int counts[4] = {0};
    tp_rng rng = tp_rng_seeded(2027, 19);
    for (int i = 0; i < 20000; i++)
        counts[tp_gpt_sample_token(logits, 4, 1.0f, top_k, top_p, &rng)]++;
    double worst = 0.0;
    for (int k = 0; k < 4; k++)
        worst = fmax(worst, fabs(counts[k] / 20000.0 - expected[k]));
    near(worst, 0.0, 0.015, "%s: each token drawn as often as the rule says",
         what);
}

int main(void)
{
    if (exercise_tests("gpt.kv-cache"))
        cache_with_grouped_heads_and_rope();
    if (exercise_tests("gpt.top-k-top-p")) {
        frequencies("top-p 0.7", 0.7f, 0, (const double[]){5.0 / 8, 3.0 / 8, 0, 0});
        frequencies("top-k 3", 1.0f, 3,
                    (const double[]){0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0});
    }
    return done_testing();
}
