/* Generated from book/375-interpretability.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "tap.h"
#include "tp.h"

static tp_arena *arena;

/* <<t-interpret: helpers>> */
static tp_gpt *small_gpt(bool attention_only, uint64_t seed)
{
    tp_gpt_config c = {16, 12, 2, 2, 16, TP_POSITIONS_LEARNED};
    tp_gpt *m = attention_only ? tp_gpt_attention_only(c) : tp_gpt_new(c);
    tp_rng rng = tp_rng_seeded(seed, 7);
    tp_gpt_init(m, &rng);
    for (int i = 0; i < m->params.count; i++)  /* weights that matter */
        if (m->params.items[i].tensor->shape.ndim == 2)
            tp_fill_normal(m->params.items[i].tensor, &rng, 0.0f, 0.3f);
    return m;
}

static float largest_difference(const tp_tensor *a, const tp_tensor *b)
{
    return tp_max_abs_diff(a, b);
}

/* <<t-interpret: the task and the scores>> */
static tp_tensor *two_heads(int t, int period)
{
    tp_tensor *map = tp_tensor_new(arena, tp_shape4(1, 2, t, t), TP_NO_GRAD);
    for (int i = 0; i < t; i++) {
        *tp_at4(map, 0, 0, i, i > 0 ? i - 1 : 0) = 1.0f;
        for (int j = 0; j <= i; j++)
            *tp_at4(map, 0, 1, i, j) = i < period ? 1.0f / (i + 1) : 0.0f;
        if (i >= period)
            *tp_at4(map, 0, 1, i, i - period + 1) = 1.0f;
    }
    return map;
}

static void task_and_scores(void)
{
    int tokens[3 * 20];
    tp_rng rng = tp_rng_seeded(375, 1);
    tp_repeated_tokens(10, 7, 20, 3, &rng, tokens);
    bool periodic = true, in_range = true;
    for (int i = 0; i < 3 * 20; i++) {
        in_range &= tokens[i] >= 0 && tokens[i] < 10;
        periodic &= i % 20 < 7 || tokens[i] == tokens[i - 7];
    }
    ok(periodic && in_range, "repeated tokens repeat with their period");
    tp_tensor *map = two_heads(8, 4);
    near(tp_previous_token_score(map, 0), 1.0, 1e-12,
         "a previous-token head written by hand scores 1");
    near(tp_induction_score(map, 1, 4), 1.0, 1e-12,
         "an induction head written by hand scores 1");
    near(tp_previous_token_score(map, 1), (1.0 / 2 + 1.0 / 3 + 1.0 / 4) / 7,
         1e-7, "the induction head's previous-token score, by hand");
    near(tp_induction_score(map, 0, 4), 0.0, 1e-12,
         "the previous-token head's induction score, by hand");
}

/* <<t-interpret: edits>> */
static void zero_head_rows(tp_gpt *m, int layer, int head)
{
    int c = m->config.n_embd, d = c / m->config.n_head;
    float *w = m->blocks[layer].c_proj_w->data;
    memset(w + (long)head * d * c, 0, (size_t)d * c * sizeof *w);
}

static void ablation_is_surgery(bool attention_only)
{
    tp_gpt *m = small_gpt(attention_only, 3);
    int tokens[2 * 12];
    tp_rng rng = tp_rng_seeded(375, 2);
    tp_repeated_tokens(16, 5, 12, 2, &rng, tokens);
    tp_head_edit edits[2] = {{1, 1, NULL}, {0, 0, NULL}};
    tp_tensor *ablated = tp_gpt_edited_logits(m, tokens, 2, 12, edits, 2,
                                              NULL, arena);
    tp_tensor *plain = tp_gpt_edited_logits(m, tokens, 2, 12, NULL, 0, NULL,
                                            arena);
    zero_head_rows(m, 1, 1);
    zero_head_rows(m, 0, 0);
    tp_tensor *surgery = tp_gpt_edited_logits(m, tokens, 2, 12, NULL, 0, NULL,
                                              arena);
    ok(largest_difference(ablated, surgery) < 1e-5
           && largest_difference(ablated, plain) > 1e-3,
       "%s: ablating two heads is zeroing their rows of the projection "
       "(%.2g apart; %.2g from the plain model)",
       attention_only ? "attention only" : "with MLPs",
       (double)largest_difference(ablated, surgery),
       (double)largest_difference(ablated, plain));
    tp_gpt_free(m);
}
/* <<t-interpret: edits>> */
static void patching_identities(void)
{
    tp_gpt *m = small_gpt(true, 4);
    int tokens[2 * 12];
    tp_rng rng = tp_rng_seeded(375, 3);
    tp_repeated_tokens(16, 4, 12, 2, &rng, tokens);
    tp_tensor *heads[2];
    tp_tensor *plain = tp_gpt_edited_logits(m, tokens, 2, 12, NULL, 0, heads,
                                            arena);
    tp_head_edit self = {0, 1, heads[0]};
    tp_tensor *same = tp_gpt_edited_logits(m, tokens, 2, 12, &self, 1, NULL,
                                           arena);
    ok(largest_difference(plain, same) == 0,
       "patching a head with its own output changes nothing");
    tp_tensor *zeros = tp_tensor_new(arena, heads[0]->shape, TP_NO_GRAD);
    tp_head_edit patched = {0, 1, zeros}, ablated = {0, 1, NULL};
    tp_tensor *a = tp_gpt_edited_logits(m, tokens, 2, 12, &patched, 1, NULL,
                                        arena);
    tp_tensor *b = tp_gpt_edited_logits(m, tokens, 2, 12, &ablated, 1, NULL,
                                        arena);
    ok(largest_difference(a, b) == 0, "patching a head with zeros ablates it");
    ok(m->depth == NULL, "the model is left without per-layer options");
    tp_gpt_free(m);
}

static void edits(void)
{
    ablation_is_surgery(true);
    ablation_is_surgery(false);
    patching_identities();
}

/* <<t-interpret: attributions>> */
static double f_scaled(tp_gpt *m, const int *tokens, int length, int position,
                       int target, float alpha)
{
    int c = m->config.n_embd;
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *x = tp_tensor_new(arena, tp_shape3(1, length, c), TP_NO_GRAD);
    for (int t = 0; t < length; t++)
        for (int i = 0; i < c; i++)
            x->data[t * c + i] = alpha * m->wte->data[tokens[t] * c + i];
    tp_tensor *z = tp_gpt_forward_embedded(&g, m, x);
    const float *row = z->data + (long)position * m->config.vocab_size;
    double top = row[0], sum = 0.0;
    for (int j = 1; j < m->config.vocab_size; j++)
        top = fmax(top, row[j]);
    for (int j = 0; j < m->config.vocab_size; j++)
        sum += exp(row[j] - top);
    return row[target] - top - log(sum);
}
/* <<t-interpret: attributions>> */
static double completeness_error(tp_gpt *m, const int *tokens, int steps)
{
    float a[10];
    double baseline, f = tp_integrated_gradients(m, tokens, 10, 6, 3, steps,
                                                 a, &baseline);
    double total = 0.0;
    for (int t = 0; t < 10; t++)
        total += a[t];
    return fabs(total - (f - baseline)) / fabs(f - baseline);
}

static void attributions(void)
{
    tp_gpt *m = small_gpt(false, 5);
    int tokens[10] = {1, 5, 2, 7, 5, 9, 2, 4, 11, 0};
    double e8 = completeness_error(m, tokens, 8),
           e64 = completeness_error(m, tokens, 64);
    ok(e64 < 0.01 && e64 < e8, "integrated gradients are complete: %.2g%% "
       "off at 8 steps, %.2g%% at 64", 100 * e8, 100 * e64);
    float a[10], ig[10];
    double f = tp_gradient_times_input(m, tokens, 10, 6, 3, a), baseline;
    tp_integrated_gradients(m, tokens, 10, 6, 3, 4, ig, &baseline);
    double total = 0.0, h = 1e-2;
    for (int t = 0; t < 10; t++)
        total += a[t];
    double numeric = (f_scaled(m, tokens, 10, 6, 3, 1 + h)
                      - f_scaled(m, tokens, 10, 6, 3, 1 - h)) / (2 * h);
    ok(fabs(total - numeric) < 1e-2 * fmax(1.0, fabs(numeric))
           && fabs(f - f_scaled(m, tokens, 10, 6, 3, 1)) < 1e-5,
       "gradient times input adds up to d f(a x)/d a at a = 1 (%.5f, "
       "central differences %.5f)", total, numeric);
    ok(a[7] == 0 && a[9] == 0 && ig[7] == 0 && ig[9] == 0,
       "tokens after the predicted position get exactly nothing");
    tp_gpt_free(m);
}

/* <<t-interpret: rollout>> */
static tp_tensor *random_weights(int batch, int heads, int t, bool causal,
                                 tp_rng *rng)
{
    tp_tensor *map = tp_tensor_new(arena, tp_shape4(batch, heads, t, t),
                                   TP_NO_GRAD);
    for (int b = 0; b < batch; b++)
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < t; i++) {
                int last = causal ? i : t - 1;
                double sum = 0.0;
                for (int j = 0; j <= last; j++)
                    sum += *tp_at4(map, b, h, i, j) = tp_rng_uniform(rng);
                for (int j = 0; j <= last; j++)
                    *tp_at4(map, b, h, i, j) /= (float)sum;
            }
    return map;
}

static double mixed(tp_tensor *map, int b, int i, int j)
{
    int h = map->shape.dim[1];
    double mean = 0.0;
    for (int head = 0; head < h; head++)
        mean += *tp_at4(map, b, head, i, j) / h;
    return 0.5 * mean + (i == j ? 0.5 : 0.0);
}
/* <<t-interpret: rollout>> */
static void rollout(void)
{
    enum { T = 6 };
    tp_rng rng = tp_rng_seeded(375, 4);
    tp_tensor *maps[3] = {random_weights(1, 2, T, true, &rng),
                          random_weights(1, 2, T, true, &rng),
                          random_weights(1, 2, T, true, &rng)};
    float one[T * T], three[T * T];
    tp_attention_rollout(maps, 1, 0, one);
    tp_attention_rollout(maps, 3, 0, three);
    double off_one = 0.0, off_three = 0.0, off_rows = 0.0;
    for (int i = 0; i < T; i++) {
        double row = 0.0;
        for (int j = 0; j < T; j++) {
            double direct = 0.0;
            for (int a = 0; a < T; a++)
                for (int b = 0; b < T; b++)
                    direct += mixed(maps[2], 0, i, a)
                              * mixed(maps[1], 0, a, b)
                              * mixed(maps[0], 0, b, j);
            off_three = fmax(off_three, fabs(three[i * T + j] - direct));
            off_one = fmax(off_one,
                           fabs(one[i * T + j] - mixed(maps[0], 0, i, j)));
            row += three[i * T + j];
        }
        off_rows = fmax(off_rows, fabs(row - 1.0));
    }
    ok(off_one < 1e-7, "the rollout of one layer is (A + I) / 2");
    ok(off_three < 1e-6, "the rollout of three layers is the product, "
       "entry by entry (%.2g)", off_three);
    ok(off_rows < 1e-6, "the rollout's rows add up to one");
}
/* <<t-interpret: rollout>> */
static void rollout_of_an_encoder(void)
{
    enum { T = 5 };
    tp_tensor *same[2] = {tp_tensor_new(arena, tp_shape4(2, 3, T, T),
                                        TP_NO_GRAD), NULL};
    for (int b = 0; b < 2; b++)
        for (int h = 0; h < 3; h++)
            for (int i = 0; i < T; i++)
                *tp_at4(same[0], b, h, i, i) = 1.0f;
    same[1] = same[0];
    float r[T * T];
    tp_attention_rollout(same, 2, 1, r);
    double off_identity = 0.0;
    for (int ij = 0; ij < T * T; ij++)
        off_identity = fmax(off_identity, fabs(r[ij] - (ij / T == ij % T)));
    ok(off_identity == 0.0, "the rollout of identity weights is the "
       "identity");
    /* <<t-interpret: the rollout of one sequence of a bidirectional batch>> */
    tp_rng rng = tp_rng_seeded(375, 9);
    tp_tensor *maps[2] = {random_weights(2, 2, T, false, &rng),
                          random_weights(2, 2, T, false, &rng)};
    tp_attention_rollout(maps, 2, 1, r);
    double off = 0.0, off_rows = 0.0;
    for (int i = 0; i < T; i++) {
        double row = 0.0;
        for (int j = 0; j < T; j++) {
            double direct = 0.0;
            for (int k = 0; k < T; k++)
                direct += mixed(maps[1], 1, i, k) * mixed(maps[0], 1, k, j);
            off = fmax(off, fabs(r[i * T + j] - direct));
            row += r[i * T + j];
        }
        off_rows = fmax(off_rows, fabs(row - 1.0));
    }
    ok(off < 1e-6 && off_rows < 1e-6, "bidirectional weights: the rollout of "
       "sequence 1 of 2 is its own product (%.2g), rows add up to one", off);
}
/* <<t-interpret: rollout>> */
static void vit_rollout_of(tp_vit *m, const float *images, int batch,
                           int which, float *r)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *weights[2];
    tp_vit_forward(&g, m, images, batch, weights);
    tp_attention_rollout(weights, m->config.n_layer, which, r);
}

static void rollout_of_real_models(void)
{
    enum { SIZE = 8, TOKENS = 1 + 4 };  /* the class token, 4 patches */
    tp_rng rng = tp_rng_seeded(375, 10);
    tp_vit *vit = tp_vit_new((tp_vit_config){SIZE, 4, 5, 2, 2, 8});
    tp_vit_init(vit, &rng);
    float images[3 * SIZE * SIZE], batch[TOKENS * TOKENS],
          alone[TOKENS * TOKENS];
    for (int i = 0; i < 3; i++)
        tp_shape_image(SIZE, &rng, images + i * SIZE * SIZE);
    vit_rollout_of(vit, images, 3, 2, batch);
    vit_rollout_of(vit, images + 2 * SIZE * SIZE, 1, 0, alone);
    double off = 0.0;
    for (int ij = 0; ij < TOKENS * TOKENS; ij++)
        off = fmax(off, fabs(batch[ij] - alone[ij]));
    ok(off < 1e-5, "a ViT's rollout of image 2 of a batch of 3 is that of "
       "the image alone (%.2g)", off);
    tp_vit_free(vit);
    /* <<t-interpret: the row of BERT's CLS>> */
    enum { WORDS = 7 };
    tp_bert *bert = tp_bert_new((tp_bert_config){12, 8, 2, 2, 8, 2});
    tp_bert_init(bert, &rng);
    int tokens[WORDS] = {TP_WORD_CLS, 5, 6, 7, 8, 9, TP_WORD_SEP};
    tp_bert_input in = {tokens, NULL, NULL, 1, WORDS};
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *weights[2];
    tp_bert_encode(&g, bert, &in, weights);
    float r[WORDS * WORDS];
    tp_attention_rollout(weights, 2, 0, r);
    double row = 0.0, least = 1.0;
    for (int j = 0; j < WORDS; j++)
        row += r[j], least = fmin(least, r[j]);
    ok(fabs(row - 1.0) < 1e-6 && least > 0.0, "BERT's [CLS] row of the rollout "
       "adds up to one (%.7f) and reaches every token", row);
    tp_bert_free(bert);
}

/* <<t-interpret: a look that changes nothing>> */
static tp_gpt *looking_head(void)
{
    enum { C = 8, SPECIAL = 6 };
    tp_gpt *m = tp_gpt_attention_only((tp_gpt_config){8, 6, 1, 1, C,
                                                      TP_POSITIONS_LEARNED});
    tp_rng rng = tp_rng_seeded(375, 5);
    tp_gpt_init(m, &rng);
    tp_fill_normal(m->wte, &rng, 0.0f, 1.0f);
    tp_fill(m->wpe, 0.0f);
    tp_block *b = &m->blocks[0];
    tp_fill(b->c_attn_w, 0.0f), tp_fill(b->c_attn_b, 0.0f);
    /* <<t-interpret: the query looks for the special token>> */
    const float *e = m->wte->data + SPECIAL * C;
    double mean = 0.0, var = 0.0;
    for (int i = 0; i < C; i++)
        mean += e[i] / C;
    for (int i = 0; i < C; i++)
        var += (e[i] - mean) * (e[i] - mean) / C;
    for (int i = 0; i < C; i++)
        b->c_attn_b->data[i] = 8.0f * (float)((e[i] - mean) / sqrt(var + 1e-5));
    for (int r = 0; r < C; r++)
        b->c_attn_w->data[r * 3 * C + C + r] = 1.0f;  /* keys: the input */
    return m;
}
/* <<t-interpret: a look that changes nothing>> */
static void a_look_that_changes_nothing(void)
{
    tp_gpt *m = looking_head();
    int tokens[6] = {1, 3, 6, 0, 2, 4}, v = 8;
    tp_tensor **maps = tp_gpt_attention_maps(m, tokens, 6, arena);
    float weight = *tp_at4(maps[0], 0, 0, 5, 2);
    tp_tensor *z = tp_gpt_edited_logits(m, tokens, 1, 6, NULL, 0, NULL, arena);
    tp_head_edit ablate = {0, 0, NULL};
    float moved = largest_difference(
        z, tp_gpt_edited_logits(m, tokens, 1, 6, &ablate, 1, NULL, arena));
    for (int other = 0; other < v; other++) {
        int changed[6];
        memcpy(changed, tokens, sizeof changed);
        changed[2] = other;
        tp_tensor *y = tp_gpt_edited_logits(m, changed, 1, 6, NULL, 0, NULL,
                                            arena);
        moved = fmaxf(moved, tp_max_abs_diff(
                                 tp_slice(arena, z, 1, 5, 1),
                                 tp_slice(arena, y, 1, 5, 1)));
    }
    float a[6], ig[6];
    double baseline;
    tp_gradient_times_input(m, tokens, 6, 5, 0, a);
    tp_integrated_gradients(m, tokens, 6, 5, 0, 8, ig, &baseline);
    ok(weight > 0.9 && moved < 1e-6,
       "the head puts %.3f of its weight on a token that changes nothing "
       "(the logits move by %.2g)", (double)weight, (double)moved);
    ok(a[2] == 0 && ig[2] == 0, "and both attributions give it nothing");
    tp_gpt_free(m);
}

/* <<t-interpret: probes>> */
static void hidden_states_make_the_logits(void)
{
    tp_gpt *m = small_gpt(false, 6);
    int tokens[12] = {1, 5, 2, 7, 5, 9, 2, 4, 11, 0, 3, 3};
    tp_tensor **h = tp_gpt_hidden_states(m, tokens, 1, 12, arena);
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *z = tp_matmul(&g, tp_block_norm(&g, h[2], m->ln_f_w,
                                               m->ln_f_b),
                             tp_transpose(arena, m->wte, 0, 1));
    ok(tp_max_abs_diff(z, tp_gpt_forward(&g, m, tokens, 1, 12)) < 1e-5
           && h[0]->data[5 * 16] == m->wte->data[9 * 16],
       "the last hidden state gives the logits; the first is the embedding");
    tp_gpt_free(m);
}
/* <<t-interpret: probes>> */
static void probes(void)
{
    hidden_states_make_the_logits();
    enum { N = 1200, TRAIN = 800 };
    static float x[N * 2];
    static int linear[N], random[N], tokens[N], control[N], ones[N];
    tp_rng rng = tp_rng_seeded(375, 6);
    for (int i = 0; i < N; i++) {
        x[2 * i] = tp_rng_uniform(&rng) - 0.5f;
        x[2 * i + 1] = tp_rng_uniform(&rng) - 0.5f;
        linear[i] = x[2 * i] > 0;
        random[i] = (int)tp_rng_below(&rng, 2);
        tokens[i] = (int)tp_rng_below(&rng, 10);
        ones[i] = 1;
    }
    double a = tp_probe_accuracy(x, linear, N, 2, 2, TRAIN, 200),
           r = tp_probe_accuracy(x, random, N, 2, 2, TRAIN, 200);
    ok(a > 0.95 && r < 0.62, "a probe reads a linear property (%.3f) and "
       "not random labels (%.3f)", a, r);
    /* <<t-interpret: control labels>> */
    tp_control_labels(tokens, linear, N, 10, 1, control);
    bool by_type = true;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < i && by_type; j++)
            by_type = tokens[i] != tokens[j] || control[i] == control[j];
    tp_control_labels(tokens, ones, N, 10, 1, control);
    bool all_ones = true;
    for (int i = 0; i < N; i++)
        all_ones &= control[i] == 1;
    ok(by_type && all_ones, "control labels are a function of the token, "
       "drawn from the labels");
}

int main(void)
{
    arena = tp_arena_new("test");
    task_and_scores();
    edits();
    attributions();
    rollout();
    rollout_of_an_encoder();
    rollout_of_real_models();
    a_look_that_changes_nothing();
    probes();
    tp_arena_free(arena);
    return done_testing();
}
