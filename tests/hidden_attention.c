/* Generated from book/990-hidden-tests.nw; edit the book, not this file. */
/* The hidden tests of exercise attention.backward. */
#include "gradients.h"

static tp_arena *arena;
static tp_rng rng;

typedef struct setting {
    int batch, heads, kv_heads, tq, tk, d, dv;
    bool causal, bias, shared_qk;
} setting;

static tp_tensor *attend(tp_graph *g, tp_tensor *const in[], void *context)
{
    const setting *s = context;
    tp_attention_options o = {.causal = s->causal, .bias = in[3]};
    return tp_attention(g, in[0], s->shared_qk ? in[0] : in[1], in[2], &o);
}

static void check(const char *what, setting s)
{
    tp_tensor *q = tp_tensor_normal(arena, tp_shape4(s.batch, s.heads, s.tq, s.d),
                                    TP_WITH_GRAD, &rng);
    tp_tensor *k = tp_tensor_normal(arena, tp_shape4(s.batch, s.kv_heads, s.tk, s.d),
                                    TP_WITH_GRAD, &rng);
    tp_tensor *v = tp_tensor_normal(arena, tp_shape4(s.batch, s.kv_heads, s.tk, s.dv),
                                    TP_WITH_GRAD, &rng);
    tp_tensor *bias = s.bias ? tp_tensor_normal(arena,
                                   tp_shape4(s.batch, s.heads, s.tq, s.tk),
                                   TP_WITH_GRAD, &rng)
                             : NULL;
    check_gradients(attend, (tp_tensor *[]){q, k, v, bias}, 4, &s, what);
}

int main(void)
{
    arena = tp_arena_new("hidden");
    rng = tp_rng_seeded(2027, 7);
    if (exercise_tests("attention.backward")) {
        check("causal, more keys than queries, a bias",
              (setting){1, 2, 2, 5, 9, 4, 4, true, true, false});
        check("grouped heads", (setting){2, 4, 2, 6, 6, 8, 8, false, false, false});
        check("values wider than keys",
              (setting){1, 3, 3, 7, 7, 4, 10, false, false, false});
        check("the same tensor as queries and keys",
              (setting){1, 2, 2, 6, 6, 4, 4, true, false, true});
    }
    tp_arena_free(arena);
    return done_testing();
}
