/* Generated from book/990-hidden-tests.nw; edit the book, not this file. */
/* The hidden tests of exercises size.lora-path and size.lora-merge. */
#include <math.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

static const int tokens[5] = {3, 9, 4, 1, 12};

static tp_gpt *model(void)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){.vocab_size = 13,
                                           .n_positions = 8, .n_layer = 3,
                                           .n_head = 2, .n_embd = 8});
    tp_rng rng = tp_rng_seeded(2027, 31);
    tp_gpt_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    return m;
}

static tp_lora *adapters(tp_gpt *m)
{
    tp_rng rng = tp_rng_seeded(2027, 37);
    tp_lora *l = tp_lora_new(m, 2, 8.0f, &rng);
    enlarge_weights(&l->params, &rng);
    return l;
}

/* W + 4 A B, by the naive product, in each projection of expected
   that is adapted in base, its twin. */
static void by_naive_products(tp_gpt *expected, const tp_gpt *base,
                              const tp_lora *l)
{
    for (int i = 0; i < l->count; i++)
        for (int p = 0; p < base->params.count; p++)
            if (base->params.items[p].tensor == l->adapters[i].w)
                tp_gemm_naive(expected->params.items[p].tensor,
                              l->adapters[i].a, l->adapters[i].b, 4.0f, 1.0f);
}

static double logit_gap(tp_gpt *a, tp_gpt *b)
{
    tp_arena *arena = tp_arena_new("logits");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    const tp_tensor *x = tp_gpt_forward(&g, a, tokens, 1, 5),
                    *y = tp_gpt_forward(&g, b, tokens, 1, 5);
    double worst = 0.0;
    for (long i = 0; i < tp_tensor_count(x); i++)
        worst = fmax(worst, fabs(x->data[i] - y->data[i]));
    tp_arena_free(arena);
    return worst;
}

int main(void)
{
    if (exercise_tests("size.lora-path")) {
        tp_gpt *m = model(), *expected = model();
        tp_lora *l = adapters(m);
        by_naive_products(expected, m, l);
        tp_lora_attach(m, l);
        near(logit_gap(m, expected), 0.0, 1e-4,
             "with alpha 8 and rank 2, the path is scaled by alpha / r = 4");
        tp_lora_free(l);
        tp_gpt_free(m), tp_gpt_free(expected);
    }
    if (exercise_tests("size.lora-merge")) {
        tp_gpt *m = model(), *expected = model();
        tp_lora *l = adapters(m);
        by_naive_products(expected, m, l);
        tp_lora_merge(m, l);
        near(logit_gap(m, expected), 0.0, 1e-4,
             "adapters never attached merge with the scale alpha / r = 4");
        tp_lora_free(l);
        tp_gpt_free(m), tp_gpt_free(expected);
    }
    return done_testing();
}
