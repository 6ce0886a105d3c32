/* Generated from book/335-memory.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

/* <<t-memory: models>> */
static tp_gpt *model(int layers, uint64_t seed)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){.vocab_size = 16,
                                           .n_positions = 32,
                                           .n_layer = layers, .n_head = 2,
                                           .n_embd = 16});
    tp_rng rng = tp_rng_seeded(seed, 0);
    tp_gpt_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    return m;
}

static void some_tokens(int *tokens, int n, uint64_t seed)
{
    tp_rng rng = tp_rng_seeded(seed, 1);
    for (int i = 0; i < n; i++)
        tokens[i] = (int)tp_rng_below(&rng, 16);
}

/* <<t-memory: checkpointing>> */
static float gradients_of(tp_gpt *m, const int *tokens, float **grads)
{
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_zero_grad(&m->params);
    tp_tensor *loss = tp_gpt_loss(&g, m, tokens, tokens + 1, 2, 24);
    tp_backward(&g, loss);
    float value = loss->data[0];
    long total = tp_params_count(&m->params), at = 0;
    *grads = malloc((size_t)total * sizeof **grads);
    for (int i = 0; i < m->params.count; i++) {
        tp_tensor *t = m->params.items[i].tensor;
        memcpy(*grads + at, t->grad, (size_t)tp_tensor_count(t) * sizeof(float));
        at += tp_tensor_count(t);
    }
    tp_arena_free(arena);
    return value;
}
/* <<t-memory: checkpointing>> */
static void checkpointing(void)
{
    tp_gpt *m = model(3, 1);
    int tokens[2 * 24 + 1];
    some_tokens(tokens, 49, 2);
    float *stored, *recomputed;
    float loss = gradients_of(m, tokens, &stored);
    m->checkpoint = tp_arena_new("recompute");
    float again = gradients_of(m, tokens, &recomputed);
    size_t bytes = (size_t)tp_params_count(&m->params) * sizeof(float);
    ok(loss == again && memcmp(stored, recomputed, bytes) == 0,
       "checkpointed blocks give the stored run's loss and gradients, bit "
       "for bit");
    /* <<t-memory: the checkpointed step needs less>> */
    tp_arena *step = tp_arena_new("step");
    tp_step_memory with = tp_training_memory(m, step, tokens, tokens + 1, 2, 24);
    tp_arena *keep = m->checkpoint;
    m->checkpoint = NULL;
    tp_step_memory without = tp_training_memory(m, step, tokens, tokens + 1, 2,
                                                24);
    m->checkpoint = keep;
    tp_arena_free(step);
    ok(with.activations < without.activations,
       "a checkpointed step holds fewer activations (%zu bytes against %zu)",
       with.activations, without.activations);
    ok(with.parameters == bytes && with.gradients == bytes
           && with.moments == 2 * bytes,
       "parameters, gradients and moments are 4P, 4P and 8P bytes");
    tp_arena_free(m->checkpoint);
    free(stored), free(recomputed);
    tp_gpt_free(m);
}

/* <<t-memory: the int8 cache>> */
static void int8_cache(void)
{
    tp_gpt *m = model(2, 3);
    int tokens[20];
    some_tokens(tokens, 20, 4);
    tp_arena *a = tp_arena_new("float"), *b = tp_arena_new("int8");
    tp_gpt_cache *exact = tp_gpt_cache_new(m, 32);
    tp_kv_int8 *small = tp_kv_int8_new(m, 32);
    const float *x = tp_gpt_extend(m, exact, tokens, 20, a);
    const float *y = tp_gpt_extend_int8(m, small, tokens, 20, b);
    double worst = 0.0, largest = 0.0;
    for (int i = 0; i < 20 * 16; i++) {
        worst = fmax(worst, fabs(x[i] - y[i]));
        largest = fmax(largest, fabs(x[i]));
    }
    ok(worst < 0.02 * largest && worst > 0.0,
       "int8 cache logits within 2%% of the largest logit (%.2g of %.2g), "
       "and not identical", worst, largest);
    /* <<t-memory: every element within half a scale>> */
    double excess = 0.0;
    for (int h = 0; h < 2; h++)
        for (int t = 0; t < 20; t++) {
            long vector = (long)h * 32 + t;  /* layer 0 */
            for (int i = 0; i < 8; i++) {
                double exact_k = *tp_at4(exact->k[0], 0, h, t, i);
                double back = small->k_scale[vector] * small->k[vector * 8 + i];
                excess = fmax(excess, fabs(exact_k - back)
                                          - 0.5001 * small->k_scale[vector]);
            }
        }
    ok(excess <= 0.0, "every key of the first layer is within half a scale of "
       "its value");
    ok(tp_kv_int8_bytes(small) == 2 * 2 * 2 * 32 * (8 + 4),
       "the int8 cache holds d + 4 bytes per vector");
    tp_gpt_cache_free(exact), tp_kv_int8_free(small);
    tp_arena_free(a), tp_arena_free(b);
    tp_gpt_free(m);
}

/* <<t-memory: the paged cache>> */
static void paged_cache(void)
{
    tp_gpt *m = model(2, 5);
    int tokens[3][30], lengths[3] = {9, 30, 17};
    tp_kv_pool *pool = tp_kv_pool_new(m, 4, 16);
    tp_kv_sequence *s[3];
    tp_gpt_cache *contiguous[3];
    tp_arena *a = tp_arena_new("paged"), *b = tp_arena_new("contiguous");
    bool same = true;
    tp_error error;
    for (int i = 0; i < 3; i++) {
        some_tokens(tokens[i], 30, 10 + i);
        s[i] = tp_kv_sequence_new(pool);
        contiguous[i] = tp_gpt_cache_new(m, 32);
    }
    /* <<t-memory: write the sequences in turns>> */
    for (int turn = 0; turn < 10; turn++)
        for (int i = 0; i < 3; i++) {
            int at = s[i]->length, n = lengths[i] - at < 3 ? lengths[i] - at : 3;
            if (n <= 0)
                continue;
            const float *x = tp_gpt_extend_paged(m, s[i], tokens[i] + at, n, a,
                                                 &error);
            const float *y = tp_gpt_extend(m, contiguous[i], tokens[i] + at, n, b);
            same = same && x != NULL
                   && memcmp(x, y, (size_t)n * 16 * sizeof(float)) == 0;
            tp_arena_reset(a), tp_arena_reset(b);
        }
    ok(same, "paged attention gives a contiguous cache's logits, bit for bit");
    ok(s[0]->pages == 3 && s[1]->pages == 8 && s[2]->pages == 5
           && pool->n_free == 0,
       "sequences of 9, 30, 17 tokens hold 3, 8, 5 pages of 4: all 16");
    /* <<t-memory: no room, then room again>> */
    tp_kv_sequence *late = tp_kv_sequence_new(pool);
    ok(tp_gpt_extend_paged(m, late, tokens[0], 5, a, &error) == NULL
           && strstr(error.message, "0 free pages of 4 positions; 5 more tokens "
                     "need 2") && late->pages == 0 && late->length == 0,
       "a full pool refuses, and the sequence is left as it was");
    tp_kv_sequence_free(s[1]);
    s[1] = NULL;
    ok(tp_gpt_extend_paged(m, late, tokens[0], 5, a, &error) != NULL
           && late->pages == 2 && pool->n_free == 6,
       "a freed sequence's pages serve the next one");
    tp_kv_sequence_free(late);
    for (int i = 0; i < 3; i++)
        tp_kv_sequence_free(s[i]), tp_gpt_cache_free(contiguous[i]);
    tp_kv_pool_free(pool);
    tp_arena_free(a), tp_arena_free(b);
    tp_gpt_free(m);
}

int main(void)
{
    checkpointing();
    int8_cache();
    paged_cache();
    return done_testing();
}
