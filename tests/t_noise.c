/* Generated from book/370-noise.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

/* <<t-noise: helpers>> */
static tp_bert *small_bert(int layers)
{
    tp_bert *m = tp_bert_new((tp_bert_config){tp_needle_vocabulary(3), 32,
                                              layers, 2, 16, 3});
    tp_rng rng = tp_rng_seeded(7, 1);
    tp_bert_init(m, &rng);
    enlarge_weights(&m->params, &rng);  /* differences well above rounding */
    return m;
}

static float largest_difference(const float *a, const float *b, long n)
{
    float d = 0.0f;
    for (long i = 0; i < n; i++)
        d = fmaxf(d, fabsf(a[i] - b[i]));
    return d;
}

/* <<t-noise: padding>> */
static void padding_is_counted(void)
{
    const int lengths[4] = {3, 1, 2, 5};
    tp_padding_cost c = tp_padding_waste(lengths, 4, 2);
    ok(c.real_tokens == 11 && c.computed_tokens == 16 && c.real_pairs == 39
           && c.computed_pairs == 68,
       "padding in order, by two: 11 of 16 positions, 39 of 68 pairs");
}

static void padding_changes_an_unmasked_answer(void)
{
    tp_bert *m = small_bert(2);
    tp_arena *a = tp_arena_new("test");
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    tp_rng rng = tp_rng_seeded(7, 2);
    int tokens[24];
    unsigned char padding[24];
    tp_needle_example(12, 3, 2, &rng, tokens);
    for (int t = 0; t < 24; t++)
        padding[t] = t >= 12;
    for (int t = 12; t < 24; t++)
        tokens[t] = TP_WORD_PAD;
    tp_tensor *alone = tp_bert_classify(&g, m, &(tp_bert_input){
                                            tokens, NULL, NULL, 1, 12});
    tp_tensor *blind = tp_bert_classify(&g, m, &(tp_bert_input){
                                            tokens, NULL, NULL, 1, 24});
    tp_tensor *masked = tp_bert_classify(&g, m, &(tp_bert_input){
                                             tokens, NULL, padding, 1, 24});
    float moved = largest_difference(alone->data, blind->data, 3);
    float kept = largest_difference(alone->data, masked->data, 3);
    ok(moved > 1e-2f, "12 pad tokens move the unmasked logits (by %.3g)",
       moved);
    ok(kept < 1e-5f, "with the key-padding mask they do not (%.2g)", kept);
    tp_arena_free(a);
    tp_bert_free(m);
}

/* <<t-noise: packing>> */
static void sequences_are_packed_in_order(void)
{
    const int lengths[5] = {3, 4, 2, 5, 1};
    int row[5], offset[5];
    int rows = tp_pack_lengths(lengths, 5, 8, row, offset);
    ok(rows == 2 && row[0] == 0 && offset[0] == 0 && row[1] == 0
           && offset[1] == 3 && row[2] == 1 && offset[2] == 0
           && row[3] == 1 && offset[3] == 2 && row[4] == 0 && offset[4] == 7,
       "first fit: 3, 4 and 1 share a row; 2 and 5 the next");
}

static void a_packed_row_is_each_sequence_alone(void)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){32, 16, 2, 2, 16,
                                           TP_POSITIONS_LEARNED});
    tp_rng rng = tp_rng_seeded(7, 3);
    tp_gpt_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    const int lengths[4] = {5, 3, 7, 9};
    int row[4], offset[4], tokens[32], segments[32];
    int rows = tp_pack_lengths(lengths, 4, 16, row, offset);
    for (int t = 0; t < 32; t++)
        tokens[t] = (int)tp_rng_below(&rng, 32), segments[t] = -1;
    for (int s = 0; s < 4; s++)
        for (int t = 0; t < lengths[s]; t++)
            segments[row[s] * 16 + offset[s] + t] = s;
    tp_arena *a = tp_arena_new("test");
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    tp_tensor *packed = tp_gpt_forward_packed(&g, m, tokens, segments, rows,
                                              16);
    float worst = 0.0f;
    for (int s = 0; s < 4; s++) {
        const int *mine = tokens + row[s] * 16 + offset[s];
        tp_tensor *alone = tp_gpt_forward(&g, m, mine, 1, lengths[s]);
        worst = fmaxf(worst, largest_difference(
                                 alone->data, packed->data
                                                  + (row[s] * 16 + offset[s])
                                                        * 32,
                                 (long)lengths[s] * 32));
    }
    ok(rows == 2 && worst < 1e-4f,
       "a packed row gives every sequence its logits alone (%.2g)", worst);
    tp_arena_free(a);
    tp_gpt_free(m);
}

/* <<t-noise: pruning>> */
static void classify_both(tp_bert *m, const tp_bert_input *in, int layer,
                          double keep, float *full, float *pruned)
{
    tp_arena *a = tp_arena_new("test");
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    long n = (long)in->batch * m->config.n_classes;
    memcpy(full, tp_bert_classify(&g, m, in)->data, (size_t)n * sizeof *full);
    memcpy(pruned, tp_bert_classify_pruned(&g, m, in, layer, keep)->data,
           (size_t)n * sizeof *pruned);
    tp_arena_free(a);
}

static void needles(int batch, int length, int *tokens, unsigned char *pad)
{
    tp_rng rng = tp_rng_seeded(7, 4);
    for (int b = 0; b < batch; b++) {
        int real = length - 3 * b;  /* rows of 20, 17, 14 tokens */
        tp_needle_example(real, 3, 2, &rng, tokens + b * length);
        for (int t = 0; t < length; t++) {
            pad[b * length + t] = t >= real;
            if (t >= real)
                tokens[b * length + t] = TP_WORD_PAD;
        }
    }
}

static void keeping_everything_is_the_classifier(void)
{
    tp_bert *m = small_bert(3);
    int tokens[60];
    unsigned char pad[60];
    needles(3, 20, tokens, pad);
    float full[9], pruned[9];
    classify_both(m, &(tp_bert_input){tokens, NULL, pad, 3, 20}, 1, 1.0,
                  full, pruned);
    ok(largest_difference(full, pruned, 9) < 1e-5f,
       "keeping every token is the classifier itself");
    tp_bert_free(m);
}
/* <<t-noise: pruning>> */
static void the_least_attended_are_dropped(void)
{
    const float received[8] = {0.1f, 3.0f, 0.5f, 2.0f, 0.2f, 9.0f, 1.0f,
                               4.0f};
    const unsigned char pad[8] = {0, 0, 0, 0, 0, 1, 0, 0};
    int rows[8];
    tp_tokens_to_keep(received, pad, 2, 4, 2, rows);
    bool ordered = true;  /* every kept at least every dropped, by hand */
    ok(rows[0] == 0 && rows[1] == 1 && rows[2] == 4 && rows[3] == 7,
       "[CLS] always, then the most attended; padding last, however "
       "attended");
    tp_bert *m = small_bert(3);
    int tokens[60];
    unsigned char p[60];
    needles(3, 20, tokens, p);
    tp_arena *a = tp_arena_new("test");
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    tp_tensor *w[3] = {NULL, NULL, NULL};
    tp_bert_encode(&g, m, &(tp_bert_input){tokens, NULL, p, 3, 20}, w);
    float score[60];
    int kept[30];
    tp_attention_received(w[1], p, score);
    tp_tokens_to_keep(score, p, 3, 20, 10, kept);
    for (int b = 0; b < 3; b++) {
        bool in[20] = {false};
        for (int j = 0; j < 10; j++)
            in[kept[b * 10 + j] - b * 20] = true;
        for (int i = 1; i < 20; i++)
            for (int j = 1; j < 20; j++)
                if (in[i] && !in[j] && !p[b * 20 + i] && !p[b * 20 + j])
                    ordered = ordered && score[b * 20 + i] >= score[b * 20 + j];
        ordered = ordered && in[0];
    }
    ok(ordered, "in a BERT, no dropped token received more than a kept one");
    tp_arena_free(a);
    tp_bert_free(m);
}
/* <<t-noise: pruning>> */
static void masked_reference(tp_bert *m, const tp_bert_input *in, int layer,
                             double keep, float *logits)
{
    tp_arena *a = tp_arena_new("reference");
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    int b = in->batch, t = in->length, kept = tp_pruning_kept(t, keep);
    tp_tensor **w = tp_arena_zeroed(a, (size_t)m->config.n_layer, sizeof *w);
    tp_tensor *x = tp_bert_encode(&g, m, in, w);  /* for the weights */
    float *score = tp_arena_alloc(a, (size_t)b * t * sizeof *score);
    int *rows = tp_arena_alloc(a, (size_t)b * kept * sizeof *rows);
    tp_attention_received(w[layer - 1], in->padding, score);
    tp_tokens_to_keep(score, in->padding, b, t, kept, rows);
    unsigned char *dropped = tp_arena_alloc(a, (size_t)b * t);
    memset(dropped, 1, (size_t)b * t);
    for (long i = 0; i < (long)b * kept; i++)
        dropped[rows[i]] = in->padding != NULL && in->padding[rows[i]];
    tp_bert first = *m;
    first.config.n_layer = layer;
    x = tp_bert_encode(&g, &first, in, NULL);
    tp_block_options o = {.heads = m->config.n_head, .post_ln = true,
                          .activation = tp_gelu, .self.key_padding = dropped};
    for (int i = layer; i < m->config.n_layer; i++)
        x = tp_block_forward(&g, &m->blocks[i], x, NULL, &o);
    for (int s = 0; s < b; s++) {
        const float *cls = x->data + (long)s * t * m->config.n_embd;
        for (int k = 0; k < m->config.n_classes; k++) {
            float sum = m->head_b->data[k];
            for (int c = 0; c < m->config.n_embd; c++)
                sum += cls[c] * m->head_w->data[c * m->config.n_classes + k];
            logits[s * m->config.n_classes + k] = sum;
        }
    }
    tp_arena_free(a);
}

static void pruning_is_masking_the_dropped_keys(void)
{
    tp_bert *m = small_bert(3);
    int tokens[60];
    unsigned char pad[60];
    needles(3, 20, tokens, pad);
    tp_bert_input in = {tokens, NULL, pad, 3, 20};
    float full[9], pruned[9], reference[9];
    for (int layer = 1; layer <= 2; layer++) {
        classify_both(m, &in, layer, 0.4, full, pruned);
        masked_reference(m, &in, layer, 0.4, reference);
        float d = largest_difference(pruned, reference, 9);
        ok(d < 1e-4f, "keeping 40%% after layer %d is masking the dropped "
           "keys (%.2g)", layer, d);
    }
    note("and it is not the full classifier: %.3g apart",
         largest_difference(full, pruned, 9));
    tp_bert_free(m);
}
/* <<t-noise: pruning>> */
static void bad_requests_are_refused(void)
{
    tp_error error;
    static const struct {
        int layer;
        double keep;
        const char *says;
    } bad[5] = {{2, 0.0, "--keep must be a share in (0, 1], not 0"},
                {2, -0.5, "--keep must be a share in (0, 1], not -0.5"},
                {2, 1.5, "--keep must be a share in (0, 1], not 1.5"},
                {0, 0.5, "--layer must be 1 to 3 (pruning after a layer of a "
                         "model of 4), not 0"},
                {4, 0.5, "--layer must be 1 to 3 (pruning after a layer of a "
                         "model of 4), not 4"}};
    for (int i = 0; i < 5; i++) {
        int status = tp_pruning_check(4, bad[i].layer, bad[i].keep, &error);
        ok(status != 0 && strcmp(error.message, bad[i].says) == 0,
           "refused: %s", bad[i].says);
    }
    ok(tp_pruning_check(4, 3, NAN, &error) != 0, "a share of NaN is refused");
    ok(tp_pruning_check(4, 3, 1.0, &error) == 0
           && tp_pruning_kept(64, 0.5) == 32 && tp_pruning_kept(7, 0.5) == 4
           && tp_pruning_kept(10, 0.01) == 1,
       "the last layer but one and every token are allowed; the count is "
       "rounded up, at least 1");
}

static void the_needle_is_there(void)
{
    tp_rng rng = tp_rng_seeded(7, 5);
    bool right = true;
    for (int e = 0; e < 50; e++) {
        int tokens[16], count[3] = {0, 0, 0};
        int label = tp_needle_example(16, 3, 3, &rng, tokens);
        for (int t = 1; t < 16; t++) {
            if (tokens[t] >= TP_WORD_SPECIALS
                && tokens[t] < TP_WORD_SPECIALS + 3)
                count[tokens[t] - TP_WORD_SPECIALS]++;
            right = right && tokens[t] >= TP_WORD_SPECIALS
                    && tokens[t] < tp_needle_vocabulary(3);
        }
        right = right && tokens[0] == TP_WORD_CLS && count[label] == 3
                && count[0] + count[1] + count[2] == 3;
    }
    ok(right, "[CLS], then exactly three words of the class in filler");
}

/* <<t-noise: gating>> */
static void noise_replaces_fillers(void)
{
    tp_rng rng = tp_rng_seeded(7, 6);
    int filler = TP_WORD_SPECIALS + 3, noise = filler + TP_NEEDLE_FILLERS;
    bool right = true;
    for (int e = 0; e < 50; e++) {
        int tokens[21], before[21], count = 0;
        tp_needle_example(21, 3, 2, &rng, tokens);
        memcpy(before, tokens, sizeof tokens);
        int placed = tp_needle_add_noise(tokens, 21, 3, 0.25, &rng);
        for (int t = 0; t < 21; t++) {
            bool is_noise = tokens[t] >= noise
                            && tokens[t] < noise + TP_NEEDLE_NOISE;
            count += is_noise;
            right = right && (tokens[t] == before[t]
                              || (is_noise && before[t] >= filler
                                  && before[t] < noise));
        }
        right = right && placed == 5 && count == 5
                && tokens[20] < tp_needle_vocabulary(3) + TP_NEEDLE_NOISE;
    }
    ok(right, "a share of 0.25 of 20 positions: 5 noise words, in place of "
       "fillers only");
}

static void an_open_gate_is_no_gate(void)
{
    tp_bert *m = small_bert(2);
    tp_rng rng = tp_rng_seeded(7, 7);
    tp_attention_gates gates = tp_bert_add_gates(m, &rng);
    int tokens[40];
    unsigned char pad[40];
    needles(2, 20, tokens, pad);
    tp_bert_input in = {tokens, NULL, pad, 2, 20};
    tp_arena *a = tp_arena_new("test");
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    float plain[6], drawn[6], open[6];
    memcpy(plain, tp_bert_classify(&g, m, &in)->data, sizeof plain);
    memcpy(drawn, tp_bert_classify_gated(&g, m, &gates, &in, NULL)->data,
           sizeof drawn);
    for (int i = 0; i < 2; i++) {
        memset(gates.w[i]->data, 0, 16 * 16 * sizeof(float));
        for (int c = 0; c < 16; c++)
            gates.b[i]->data[c] = 30.0f;
    }
    memcpy(open, tp_bert_classify_gated(&g, m, &gates, &in, NULL)->data,
           sizeof open);
    float d = largest_difference(plain, open, 6);
    ok(d < 1e-5f, "a gate held open gives BERT's logits (%.2g)", d);
    ok(largest_difference(plain, drawn, 6) > 1e-2f,
       "and a drawn gate does not (%.3g apart)",
       largest_difference(plain, drawn, 6));
    tp_arena_free(a);
    tp_bert_free(m);
}

typedef struct gated_model {
    tp_bert *m;
    tp_attention_gates gates;
} gated_model;

static tp_tensor *gated_loss(tp_graph *g, tp_tensor *const inputs[],
                             void *context)
{
    (void)inputs;  /* the model's own parameters */
    gated_model *gm = context;
    static const int tokens[10] = {TP_WORD_CLS, 6, 9, 30, 10, TP_WORD_CLS, 12,
                                   5, 35, TP_WORD_PAD};
    static const unsigned char pad[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const int labels[2] = {1, 2};
    tp_bert_input in = {tokens, NULL, pad, 2, 5};
    return tp_cross_entropy(g, tp_bert_classify_gated(g, gm->m, &gm->gates,
                                                      &in, NULL),
                            labels, -1);
}

static void the_gated_gradients_are_right(void)
{
    tp_bert *m = tp_bert_new((tp_bert_config){
        tp_needle_vocabulary(3) + TP_NEEDLE_NOISE, 8, 1, 2, 8, 3});
    tp_rng rng = tp_rng_seeded(7, 8);
    tp_bert_init(m, &rng);
    gated_model gm = {m, tp_bert_add_gates(m, &rng)};
    enlarge_weights(&m->params, &rng);
    check_model_gradients(gated_loss, &m->params, &gm, "gated BERT");
    tp_bert_free(m);
}

int main(void)
{
    padding_is_counted();
    padding_changes_an_unmasked_answer();
    sequences_are_packed_in_order();
    a_packed_row_is_each_sequence_alone();
    keeping_everything_is_the_classifier();
    the_least_attended_are_dropped();
    pruning_is_masking_the_dropped_keys();
    bad_requests_are_refused();
    the_needle_is_there();
    noise_replaces_fillers();
    an_open_gate_is_no_gate();
    the_gated_gradients_are_right();
    return done_testing();
}
