/* Generated from book/320-decoding.nw; edit the book, not this file. */
#include <stdlib.h>
#include <string.h>

#include "tp/maskpredict.h"
#include "tp/ops.h"

/* <<maskpredict: making the model>> */
tp_maskpredict *tp_maskpredict_new(tp_vanilla_config task)
{
    tp_maskpredict *p = calloc(1, sizeof *p);
    tp_check(p != NULL, "out of memory");
    tp_vanilla_config c = task;
    p->length_token = c.source_vocab++;
    p->mask = c.target_vocab++;
    p->max_length = c.n_positions;
    p->m = tp_vanilla_new(c);
    p->m->decoder_sees_all = true;
    p->length_w = tp_param_new(&p->m->params, p->m->arena, "length.weight",
                               tp_shape2(c.n_embd, p->max_length + 1));
    return p;
}
/* <<maskpredict: making the model>> */
void tp_maskpredict_init(tp_maskpredict *p, tp_rng *rng)
{
    tp_vanilla_init(p->m, rng);
}

void tp_maskpredict_free(tp_maskpredict *p)
{
    if (p == NULL)
        return;
    tp_vanilla_free(p->m);
    free(p);
}

/* <<maskpredict: reading the source>> */
static tp_tensor *encode(tp_graph *g, tp_maskpredict *p, const tp_source *s,
                         tp_source *with_length)
{
    int b = s->batch, n = s->length + 1;
    int *tokens = tp_arena_alloc(g->arena, (size_t)b * (size_t)n * sizeof *tokens);
    unsigned char *padding = tp_arena_alloc(g->arena, (size_t)b * (size_t)n);
    for (int r = 0; r < b; r++) {
        tokens[(long)r * n] = p->length_token;
        padding[(long)r * n] = 0;
        for (int j = 1; j < n; j++) {
            long from = (long)r * s->length + j - 1;
            tokens[(long)r * n + j] = s->tokens[from];
            padding[(long)r * n + j] = s->padding != NULL && s->padding[from];
        }
    }
    *with_length = (tp_source){tokens, padding, b, n};
    return tp_vanilla_encode(g, p->m, with_length);
}
/* <<maskpredict: reading the source>> */
static tp_tensor *length_logits(tp_graph *g, tp_maskpredict *p,
                                tp_tensor *memory)
{
    return tp_matmul(g, memory, p->length_w);
}

/* <<maskpredict: training>> */
static int tokens_in_row(const int *row, int length)
{
    int n = 0;
    while (n < length && row[n] != TP_PAD)
        n++;
    return n;
}

void tp_maskpredict_mask(tp_rng *rng, int mask, const int *target, int batch,
                         int length, int *input)
{
    int *order = malloc((size_t)length * sizeof *order);
    tp_check(order != NULL, "out of memory");
    for (int r = 0; r < batch; r++) {
        const int *row = target + (long)r * length;
        int *out = input + (long)r * length;
        int n = tokens_in_row(row, length);
        tp_check(n >= 1, "tp_maskpredict_mask: row %d has no tokens", r);
        memcpy(out, row, (size_t)length * sizeof *out);
        for (int j = 0; j < n; j++)
            order[j] = j;
        int k = 1 + (int)tp_rng_below(rng, (uint32_t)n);
        for (int j = 0; j < k; j++) {
            int pick = j + (int)tp_rng_below(rng, (uint32_t)(n - j));
            int chosen = order[pick];
            order[pick] = order[j], order[j] = chosen;
            out[chosen] = mask;
        }
    }
    free(order);
}
/* <<maskpredict: training>> */
tp_tensor *tp_maskpredict_loss(tp_graph *g, tp_maskpredict *p,
                               const tp_source *s, const int *input,
                               const int *target, int length,
                               float smoothing)
{
    int b = s->batch, n = s->length + 1;
    int *labels = tp_arena_alloc(g->arena, (size_t)b * (size_t)length * sizeof *labels);
    int *lengths = tp_arena_alloc(g->arena, (size_t)b * (size_t)n * sizeof *lengths);
    memset(lengths, 0, (size_t)b * (size_t)n * sizeof *lengths);
    for (long i = 0; i < (long)b * length; i++)
        labels[i] = input[i] == p->mask ? target[i] : TP_PAD;
    for (int r = 0; r < b; r++) {
        int tokens = tokens_in_row(target + (long)r * length, length);
        tp_check(tokens >= 1 && tokens <= p->max_length, "tp_maskpredict_loss:"
                 " a target of %d tokens, at most %d", tokens, p->max_length);
        lengths[(long)r * n] = tokens;
    }
    /* <<maskpredict loss: the two cross-entropies>> */
    tp_source with;
    tp_tensor *memory = encode(g, p, s, &with);
    tp_tensor *logits = tp_vanilla_decode(g, p->m, memory, &with, input, length,
                                          NULL);
    tp_tensor *words = tp_cross_entropy_smoothed(g, logits, labels, TP_PAD,
                                                 smoothing);
    tp_tensor *length_loss = tp_cross_entropy(g, length_logits(g, p, memory),
                                              lengths, 0);
    return tp_add(g, words, length_loss);
}

/* <<maskpredict: decoding>> */
void tp_maskpredict_least_confident(const float *confidence, int length,
                                    int n, unsigned char *chosen)
{
    tp_check(n >= 0 && n <= length, "tp_maskpredict_least_confident: %d of "
             "%d positions", n, length);
    memset(chosen, 0, (size_t)length);
    for (int k = 0; k < n; k++) {
        int least = -1;
        for (int i = 0; i < length; i++)
            if (!chosen[i] && (least < 0 || confidence[i] < confidence[least]))
                least = i;
        chosen[least] = 1;
    }
}
/* <<maskpredict: decoding>> */
static void predict_masked(tp_graph *g, tp_maskpredict *p, tp_tensor *memory,
                           const tp_source *with, int *tokens, int length,
                           const unsigned char *masked, float *confidence)
{
    for (int i = 0; i < length; i++)
        if (masked[i])
            tokens[i] = p->mask;
    tp_tensor *log_p = tp_log_softmax(g, tp_vanilla_decode(
        g, p->m, memory, with, tokens, length, NULL));
    int v = p->m->config.target_vocab;
    for (int i = 0; i < length; i++) {
        if (!masked[i])
            continue;
        const float *row = log_p->data + (long)i * v;
        int best = 0;  /* [MASK] is the last id, never 0 */
        for (int j = 0; j < v; j++)
            if (j != p->mask && row[j] > row[best])
                best = j;
        tokens[i] = best, confidence[i] = row[best];
    }
}
/* <<maskpredict: decoding>> */
static int most_likely_length(tp_graph *g, tp_maskpredict *p,
                              tp_tensor *memory)
{
    const float *row = length_logits(g, p, memory)->data;
    int best = 1;
    for (int j = 2; j <= p->max_length; j++)
        best = row[j] > row[best] ? j : best;
    return best;
}
/* <<maskpredict: decoding>> */
int tp_maskpredict_decode(tp_maskpredict *p, const int *source, int n_source,
                          int length, int iterations, int *out)
{
    tp_check(iterations >= 1 && length >= 0 && length <= p->max_length,
             "tp_maskpredict_decode: %d iterations, length %d of at most %d",
             iterations, length, p->max_length);
    tp_arena *arena = tp_arena_new("mask-predict");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_source with, s = {.tokens = source, .batch = 1, .length = n_source};
    tp_tensor *memory = encode(&g, p, &s, &with);
    if (length == 0)
        length = most_likely_length(&g, p, memory);
    /* <<mask-predict: the passes>> */
    float *confidence = tp_arena_alloc(arena, (size_t)length * sizeof *confidence);
    unsigned char *masked = tp_arena_alloc(arena, (size_t)length);
    memset(masked, 1, (size_t)length);
    for (int t = 0; t < iterations; t++) {
        if (t > 0) {
            int n = length * (iterations - t) / iterations;
            if (n == 0)
                break;
            tp_maskpredict_least_confident(confidence, length, n, masked);
        }
        predict_masked(&g, p, memory, &with, out, length, masked, confidence);
    }
    tp_arena_free(arena);
    return length;
}
