/* Generated from book/345-length.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

/* <<t-length: helpers>> */
static tp_rope rope_of(tp_arena *a, int d, tp_rope_scaling method,
                       double factor, int trained)
{
    tp_rope r;
    tp_rope_init(&r, a, d);
    tp_error error;
    if (tp_rope_scale(&r, method, factor, trained, &error) != 0)
        bail_out("%s", error.message);
    return r;
}

static float rotated_first(tp_arena *a, const tp_rope *r, int at, int which)
{
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    tp_tensor *x = tp_tensor_new(a, tp_shape4(1, 1, 1, 2 * r->pairs),
                                 TP_NO_GRAD);
    tp_fill(x, 1.0f);
    return tp_rope_apply(&g, x, at, r)->data[which];
}

/* <<t-length: the methods>> */
static void factor_one_changes_nothing(void)
{
    tp_arena *a = tp_arena_new("test");
    tp_rope plain;
    tp_rope_init(&plain, a, 64);
    bool same = true;
    for (int m = 0; m < TP_ROPE_SCALINGS; m++) {
        tp_rope r = rope_of(a, 64, (tp_rope_scaling)m, 1.0, 128);
        same = same && r.mscale == 1.0f
               && memcmp(r.theta, plain.theta, 32 * sizeof(double)) == 0;
    }
    ok(same, "at a factor of 1 every method is the trained rotation");
    tp_arena_free(a);
}

static void interpolation_squeezes_positions(void)
{
    tp_arena *a = tp_arena_new("test");
    tp_rope plain = rope_of(a, 16, TP_ROPE_PLAIN, 1.0, 128);
    tp_rope pi = rope_of(a, 16, TP_ROPE_INTERPOLATION, 4.0, 128);
    double worst = 0.0;
    for (int i = 0; i < 500; i += 7)
        for (int c = 0; c < 16; c++)
            worst = fmax(worst, fabs(rotated_first(a, &pi, 4 * i, c)
                                     - rotated_first(a, &plain, i, c)));
    near(worst, 0, 1e-4, "interpolation by 4 rotates position 4i as the "
         "trained model rotates i");
    tp_arena_free(a);
}
/* <<t-length: the methods>> */
static void ntk_keeps_the_fastest_pair(void)
{
    tp_arena *a = tp_arena_new("test");
    tp_rope plain = rope_of(a, 64, TP_ROPE_PLAIN, 1.0, 128);
    tp_rope ntk = rope_of(a, 64, TP_ROPE_NTK, 8.0, 128);
    bool slower = true;
    for (int p = 1; p < 32; p++)
        slower = slower && ntk.theta[p] / plain.theta[p]
                               < ntk.theta[p - 1] / plain.theta[p - 1];
    ok(ntk.theta[0] == plain.theta[0]
           && fabs(ntk.theta[31] * 8.0 / plain.theta[31] - 1.0) < 1e-5
           && slower,
       "NTK-aware: the fastest pair kept, the slowest divided by s, "
       "slower and slower between");
    tp_arena_free(a);
}
/* <<t-length: the methods>> */
static void yarn_by_turns(void)
{
    tp_arena *a = tp_arena_new("test");
    tp_rope plain = rope_of(a, 64, TP_ROPE_PLAIN, 1.0, 4096);
    tp_rope yarn = rope_of(a, 64, TP_ROPE_YARN, 8.0, 4096);
    int kept = 0, divided = 0, ramped = 0;
    bool right = true;
    for (int p = 0; p < 32; p++) {
        double turns = 4096 * plain.theta[p] / (2 * 3.14159265358979);
        double ratio = yarn.theta[p] / plain.theta[p];
        if (turns >= 32)
            kept++, right = right && ratio == 1.0;
        else if (turns <= 1)
            divided++, right = right && fabs(ratio * 8 - 1) < 1e-5;
        else
            ramped++, right = right && ratio > 1.0 / 8 && ratio < 1.0;
    }
    ok(right && kept > 0 && divided > 0 && ramped > 0,
       "YaRN: %d pairs kept, %d divided by s, %d ramped between", kept,
       divided, ramped);
    near(yarn.mscale, 0.1 * log(8.0) + 1.0, 1e-6,
         "YaRN multiplies queries and keys by 0.1 ln s + 1");
    tp_arena_free(a);
}

/* <<t-length: bad input>> */
static void bad_input(void)
{
    tp_arena *a = tp_arena_new("test");
    tp_rope r;
    tp_rope_init(&r, a, 8);
    double before[4];
    memcpy(before, r.theta, sizeof before);
    static const double bad[3] = {0.0, -2.0, NAN};
    bool refused = true;
    tp_error error = {""};
    for (int i = 0; i < 3; i++)
        refused = refused && tp_rope_scale(&r, TP_ROPE_YARN, bad[i], 128,
                                           &error) != 0
                  && strstr(error.message, "must be a positive number");
    ok(refused && memcmp(before, r.theta, sizeof before) == 0
           && r.mscale == 1.0f,
       "factors 0, -2 and NaN are refused, the rotation unchanged: %s",
       error.message);
    tp_rope_scaling method;
    ok(tp_rope_scaling_parse("yarn", &method, &error) == 0
           && method == TP_ROPE_YARN
           && tp_rope_scaling_parse("linear", &method, &error) != 0
           && strstr(error.message, "unknown RoPE scaling 'linear'"),
       "the methods are read by name: %s", error.message);
    tp_arena_free(a);
}

/* <<t-length: a scaled model decodes as it computes>> */
static void scaled_cache_agrees(void)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){.vocab_size = 16,
                                           .n_positions = 12, .n_layer = 2,
                                           .n_head = 2, .n_embd = 16,
                                           .positions = TP_POSITIONS_ROPE});
    tp_rng rng = tp_rng_seeded(5, 0);
    tp_gpt_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    tp_error error;
    tp_rope_scale(&m->encoding.rope, TP_ROPE_YARN, 2.0, 12, &error);
    int tokens[24];
    for (int t = 0; t < 24; t++)
        tokens[t] = (int)tp_rng_below(&rng, 16);
    /* <<t-length: compare the cache with the forward pass>> */
    tp_arena *arena = tp_arena_new("test"), *scratch = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *full = tp_gpt_forward(&g, m, tokens, 1, 24);
    tp_gpt_cache *cache = tp_gpt_cache_new(m, 24);
    double worst = 0.0;
    for (int t = 0; t < 24; t++) {
        const float *step = tp_gpt_step(m, cache, tokens[t], scratch);
        for (int v = 0; v < 16; v++)
            worst = fmax(worst, fabs(step[v] - full->data[t * 16 + v]));
        tp_arena_reset(scratch);
    }
    near(worst, 0, 1e-5, "YaRN-scaled RoPE: the cache's logits equal the full "
         "forward pass's, 24 tokens");
    tp_gpt_cache_free(cache);
    tp_arena_free(scratch), tp_arena_free(arena);
    tp_gpt_free(m);
}

int main(void)
{
    factor_one_changes_nothing();
    interpolation_squeezes_positions();
    ntk_keeps_the_fastest_pair();
    yarn_by_turns();
    bad_input();
    scaled_cache_agrees();
    return done_testing();
}
