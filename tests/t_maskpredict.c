/* Generated from book/320-decoding.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

static const tp_vanilla_config tiny_task = {
    .source_vocab = 6, .target_vocab = 10, .n_positions = 12, .n_layer = 2,
    .n_head = 2, .n_embd = 8, .n_inner = 16, .post_ln = 1};

static tp_maskpredict *tiny_cmlm(uint64_t seed)
{
    tp_maskpredict *p = tp_maskpredict_new(tiny_task);
    tp_rng rng = tp_rng_seeded(seed, 0);
    tp_maskpredict_init(p, &rng);
    enlarge_weights(&p->m->params, &rng);
    return p;
}

/* <<t-maskpredict: the decoder sees the future>> */
static bool rows_equal(const float *a, const float *b, int row, int v)
{
    return memcmp(a + (long)row * v, b + (long)row * v,
                  (size_t)v * sizeof *a) == 0;
}

static void decoder_sees_the_future(void)
{
    tp_maskpredict *p = tiny_cmlm(5);
    static const int source[5] = {1, 2, 3, 4, 5};
    int a[8] = {3, 4, 5, 6, 7, 8, TP_PAD, TP_PAD}, b[8];
    memcpy(b, a, sizeof a);
    b[4] = 9;
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_source s = {.tokens = source, .batch = 1, .length = 5};
    tp_tensor *memory = tp_vanilla_encode(&g, p->m, &s);
    int v = p->m->config.target_vocab;
    /* <<t-maskpredict: the logits with the mask off and on>> */
    tp_tensor *la = tp_vanilla_decode(&g, p->m, memory, &s, a, 6, NULL);
    tp_tensor *lb = tp_vanilla_decode(&g, p->m, memory, &s, b, 6, NULL);
    tp_tensor *padded = tp_vanilla_decode(&g, p->m, memory, &s, a, 8, NULL);
    bool all_differ = true;
    for (int row = 0; row < 4; row++)
        all_differ = all_differ && !rows_equal(la->data, lb->data, row, v);
    ok(all_differ, "without the causal mask, token 4 changes rows 0 to 3");
    double worst = 0;
    for (long i = 0; i < 6L * v; i++)
        worst = fmax(worst, fabs(la->data[i] - padded->data[i]));
    near(worst, 0, 1e-5, "two padding tokens after the target change none of its "
         "rows");
    p->m->decoder_sees_all = false;
    la = tp_vanilla_decode(&g, p->m, memory, &s, a, 6, NULL);
    lb = tp_vanilla_decode(&g, p->m, memory, &s, b, 6, NULL);
    bool none_differ = true;
    for (int row = 0; row < 4; row++)
        none_differ = none_differ && rows_equal(la->data, lb->data, row, v);
    ok(none_differ, "with the causal mask, token 4 changes none of rows 0 to 3");
    tp_arena_free(arena);
    tp_maskpredict_free(p);
}

/* <<t-maskpredict: the loss counts masked positions only>> */
static float loss_of(tp_maskpredict *p, const int *input, const int *target)
{
    static const int source[2 * 4] = {1, 2, 3, 0, 4, 5, 0, 0};
    static const unsigned char padding[2 * 4] = {0, 0, 0, 1, 0, 0, 1, 1};
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_source s = {source, padding, 2, 4};
    float loss = tp_maskpredict_loss(&g, p, &s, input, target, 6, 0.1f)->data[0];
    tp_arena_free(arena);
    return loss;
}
/* <<t-maskpredict: the loss counts masked positions only>> */
static void loss_counts_masked_positions_only(void)
{
    tp_maskpredict *p = tiny_cmlm(6);
    int m = p->mask;
    int target[2 * 6] = {3, 4, 5, 6, TP_PAD, TP_PAD, 7, 8, 9, 3, 4, 5};
    int input[2 * 6] = {3, m, 5, m, TP_PAD, TP_PAD, m, 8, 9, m, m, 5};
    float before = loss_of(p, input, target);
    int visible[2 * 6], hidden[2 * 6];
    memcpy(visible, target, sizeof target);
    memcpy(hidden, target, sizeof target);
    visible[2] = 9, visible[7] = 3;  /* visible positions of each row */
    hidden[1] = 9;                   /* a masked one */
    ok(loss_of(p, input, visible) == before,
       "changing visible targets leaves the loss unchanged (%g)", before);
    ok(loss_of(p, input, hidden) != before,
       "changing a masked target changes the loss");
    tp_maskpredict_free(p);
}

/* <<t-maskpredict: the training mask>> */
static void training_mask(void)
{
    int target[8] = {3, 4, 5, 6, 7, TP_PAD, TP_PAD, TP_PAD}, input[8];
    int counts[6] = {0}, draws = 2000;
    bool within = true;
    tp_rng rng = tp_rng_seeded(11, 0);
    for (int d = 0; d < draws; d++) {
        tp_maskpredict_mask(&rng, 99, target, 1, 8, input);
        int masked = 0;
        for (int i = 0; i < 8; i++) {
            masked += input[i] == 99;
            within = within && (input[i] == target[i]
                                || (input[i] == 99 && i < 5));
        }
        within = within && masked >= 1 && masked <= 5;
        counts[masked < 6 ? masked : 0]++;
    }
    ok(within, "every draw masks 1 to 5 tokens and keeps the rest");
    bool uniform = true;
    for (int k = 1; k <= 5; k++)
        uniform = uniform && counts[k] > 0.15 * draws && counts[k] < 0.25 * draws;
    ok(uniform, "each count is drawn about a fifth of the time (%d %d %d %d %d)",
       counts[1], counts[2], counts[3], counts[4], counts[5]);
}

/* <<t-maskpredict: the least confident>> */
static int by_value(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static void least_confident(void)
{
    enum { L = 17 };
    float confidence[L], sorted[L];
    tp_rng rng = tp_rng_seeded(12, 0);
    for (int i = 0; i < L; i++)
        sorted[i] = confidence[i] = -5.0f * tp_rng_uniform(&rng);
    qsort(sorted, L, sizeof *sorted, by_value);
    bool same = true;
    for (int n = 0; n <= L; n++) {
        unsigned char chosen[L];
        tp_maskpredict_least_confident(confidence, L, n, chosen);
        for (int i = 0; i < L; i++)
            same = same && chosen[i] == (n > 0 && confidence[i] <= sorted[n - 1]);
    }
    ok(same, "re-masking chooses exactly the n least confident, n = 0 to %d", L);
}

/* <<t-maskpredict: one pass is one parallel argmax>> */
static int argmax_except(const float *row, int v, int except)
{
    int best = except == 0 ? 1 : 0;
    for (int j = 0; j < v; j++)
        if (j != except && row[j] > row[best])
            best = j;
    return best;
}

static void one_pass(void)
{
    tp_maskpredict *p = tiny_cmlm(7);
    static const int source[4] = {5, 1, 4, 2};
    int with_length[5] = {p->length_token, 5, 1, 4, 2}, masks[6], expected[6];
    for (int i = 0; i < 6; i++)
        masks[i] = p->mask;
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_source s = {.tokens = with_length, .batch = 1, .length = 5};
    tp_tensor *memory = tp_vanilla_encode(&g, p->m, &s);
    tp_tensor *logits = tp_vanilla_decode(&g, p->m, memory, &s, masks, 6, NULL);
    int v = p->m->config.target_vocab;
    for (int i = 0; i < 6; i++)
        expected[i] = argmax_except(logits->data + (long)i * v, v, p->mask);
    /* <<t-maskpredict: compare the pass and the length>> */
    int out[12];
    int n = tp_maskpredict_decode(p, source, 4, 6, 1, out);
    ok(n == 6 && memcmp(out, expected, sizeof expected) == 0,
       "T = 1 is one parallel argmax over N masks");
    tp_tensor *lengths = tp_matmul(&g, memory, p->length_w);
    float masked_zero = lengths->data[0];
    lengths->data[0] = -1e30f;  /* length 0 is never chosen */
    int likely = argmax_except(lengths->data, p->max_length + 1, -1);
    lengths->data[0] = masked_zero;
    ok(tp_maskpredict_decode(p, source, 4, 0, 1, out) == likely,
       "without a length, the classifier's most likely one (%d)", likely);
    bool no_mask = true;
    for (int t = 1; t <= 10; t++) {
        int k = tp_maskpredict_decode(p, source, 4, 9, t, out);
        for (int i = 0; i < k; i++)
            no_mask = no_mask && out[i] != p->mask && out[i] >= 0 && out[i] < v;
    }
    ok(no_mask, "decoding in 1 to 10 passes leaves no [MASK]");
    tp_arena_free(arena);
    tp_maskpredict_free(p);
}

/* <<t-maskpredict: gradients>> */
static tp_tensor *tiny_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)in;
    tp_maskpredict *p = c;
    static const int source[2 * 3] = {1, 2, 0, 3, 4, 5};
    static const unsigned char padding[2 * 3] = {0, 0, 1, 0, 0, 0};
    int m = p->mask;
    const int target[2 * 4] = {3, 4, TP_PAD, TP_PAD, 5, 6, 7, 8};
    const int input[2 * 4] = {m, 4, TP_PAD, TP_PAD, 5, m, m, 8};
    tp_source s = {source, padding, 2, 3};
    return tp_maskpredict_loss(g, p, &s, input, target, 4, 0.1f);
}

static void gradients(void)
{
    tp_maskpredict *p = tiny_cmlm(3);
    p->m->activation = tp_gelu;  /* smooth, for central differences */
    check_model_gradients(tiny_loss, &p->m->params, p, "mask-predict's loss");
    tp_maskpredict_free(p);
}

int main(void)
{
    decoder_sees_the_future();
    loss_counts_masked_positions_only();
    training_mask();
    least_confident();
    one_pass();
    gradients();
    return done_testing();
}
