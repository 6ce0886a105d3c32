/* Generated from book/370-noise.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/noise.h"

/* <<noise: measuring padding>> */
tp_padding_cost tp_padding_waste(const int *lengths, int count, int batch)
{
    tp_check(batch >= 1, "tp_padding_waste: batches of %d", batch);
    tp_padding_cost c = {0, 0, 0, 0};
    for (int first = 0; first < count; first += batch) {
        int n = count - first < batch ? count - first : batch, longest = 0;
        for (int s = first; s < first + n; s++) {
            tp_check(lengths[s] >= 0, "tp_padding_waste: length %d",
                     lengths[s]);
            longest = lengths[s] > longest ? lengths[s] : longest;
            c.real_tokens += lengths[s];
            c.real_pairs += (double)lengths[s] * lengths[s];
        }
        c.computed_tokens += (double)n * longest;
        c.computed_pairs += (double)n * longest * longest;
    }
    return c;
}

/* <<noise: packed rows>> */
int tp_pack_lengths(const int *lengths, int count, int length, int *row,
                    int *offset)
{
    int rows = 0;
    int *used = malloc((size_t)(count > 0 ? count : 1) * sizeof *used);
    tp_check(used != NULL, "out of memory");
    for (int s = 0; s < count; s++) {
        tp_check(lengths[s] >= 1 && lengths[s] <= length,
                 "tp_pack_lengths: sequence %d has %d tokens, not 1..%d", s,
                 lengths[s], length);
        int r = 0;
        while (r < rows && used[r] + lengths[s] > length)
            r++;  /* the first row with room */
        if (r == rows)
            used[rows++] = 0;
        row[s] = r, offset[s] = used[r];
        used[r] += lengths[s];
    }
    free(used);
    return rows;
}
/* <<noise: packed rows>> */
tp_tensor *tp_segment_mask(tp_arena *arena, const int *segments, int batch,
                           int length, int heads)
{
    tp_tensor *bias = tp_tensor_new(arena, tp_shape4(batch, heads, length,
                                                     length), TP_NO_GRAD);
    long plane = (long)length * length;
    for (int b = 0; b < batch; b++) {
        const int *seg = segments + (long)b * length;
        float *first = bias->data + (long)b * heads * plane;
        for (int i = 0; i < length; i++)
            for (int j = 0; j < length; j++) {
                bool same = seg[i] >= 0 ? seg[i] == seg[j] : i == j;
                first[(long)i * length + j] = same ? 0.0f : -INFINITY;
            }
        for (int h = 1; h < heads; h++)
            memcpy(first + h * plane, first, (size_t)plane * sizeof *first);
    }
    return bias;
}
/* <<noise: packed rows>> */
static int *restarted_positions(tp_arena *arena, const int *segments,
                                int batch, int length)
{
    int *positions = tp_arena_alloc(arena, (size_t)batch * length
                                               * sizeof *positions);
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < length; t++) {
            long at = (long)b * length + t;
            bool restart = t == 0 || segments[at] != segments[at - 1];
            positions[at] = restart ? 0 : positions[at - 1] + 1;
        }
    return positions;
}

tp_tensor *tp_gpt_forward_packed(tp_graph *g, tp_gpt *m, const int *tokens,
                                 const int *segments, int batch, int length)
{
    tp_check(m->config.positions == TP_POSITIONS_LEARNED && m->mlp == NULL
                 && m->depth == NULL && !m->post_ln && m->attention == NULL
                 && m->adapters == NULL && !m->modern.rms_norm
                 && !m->modern.swiglu && !m->modern.no_mlp
                 && length <= m->config.n_positions,
             "tp_gpt_forward_packed: a plain GPT with learned positions and "
             "rows of at most %d tokens, not %d", m->config.n_positions,
             length);
    tp_shape shape = tp_shape2(batch, length);
    int *positions = restarted_positions(g->arena, segments, batch, length);
    tp_tensor *x = tp_add(g, tp_embedding(g, m->wte, tokens, shape),
                          tp_embedding(g, m->wpe, positions, shape));
    tp_block_options o = {.heads = m->config.n_head, .self.causal = true,
                          .kv_heads = m->modern.kv_heads};
    o.self.bias = tp_segment_mask(g->arena, segments, batch, length,
                                  m->config.n_head);
    for (int i = 0; i < m->config.n_layer; i++)
        x = tp_block_forward(g, &m->blocks[i], x, NULL, &o);
    x = tp_block_norm(g, x, m->ln_f_w, m->ln_f_b);
    return tp_matmul(g, x, tp_transpose(g->arena, m->wte, 0, 1));
}

/* <<noise: pruning tokens>> */
void tp_attention_received(const tp_tensor *weights,
                           const unsigned char *padding, float *received)
{
    tp_check(weights->shape.ndim == 4, "tp_attention_received: weights %s",
             tp_shape_str(weights->shape).text);
    int batch = weights->shape.dim[0], heads = weights->shape.dim[1];
    int tq = weights->shape.dim[2], tk = weights->shape.dim[3];
    memset(received, 0, (size_t)batch * tk * sizeof *received);
    for (int b = 0; b < batch; b++)
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < tq; i++) {
                if (padding != NULL && padding[(long)b * tq + i])
                    continue;  /* a pad's query says nothing */
                const float *p = weights->data
                                 + (((long)b * heads + h) * tq + i) * tk;
                for (int j = 0; j < tk; j++)
                    received[(long)b * tk + j] += p[j];
            }
}
/* <<noise: pruning tokens>> */
typedef struct scored {
    float score;
    int at;
} scored;

static int by_score(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->at - y->at;  /* ties: the earlier first, for determinism */
}

static int ascending(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

void tp_tokens_to_keep(const float *received, const unsigned char *padding,
                       int batch, int length, int keep, int *rows)
{
    tp_check(keep >= 1 && keep <= length, "tp_tokens_to_keep: %d of %d",
             keep, length);
    scored *s = malloc((size_t)length * sizeof *s);
    tp_check(s != NULL, "out of memory");
    for (int b = 0; b < batch; b++) {
        for (int j = 0; j < length; j++) {
            long at = (long)b * length + j;
            bool pad = padding != NULL && padding[at];
            s[j] = (scored){j == 0 ? INFINITY : pad ? -INFINITY
                                                     : received[at], j};
        }
        qsort(s, (size_t)length, sizeof *s, by_score);
        int *row = rows + (long)b * keep;
        for (int j = 0; j < keep; j++)
            row[j] = s[j].at;
        qsort(row, (size_t)keep, sizeof *row, ascending);
        for (int j = 0; j < keep; j++)
            row[j] += b * length;  /* flat, for the gather */
    }
    free(s);
}
/* <<noise: pruning tokens>> */
int tp_pruning_check(int layers, int layer, double keep, tp_error *error)
{
    if (!(keep > 0.0 && keep <= 1.0))
        return tp_error_set(error, "--keep must be a share in (0, 1], not "
                            "%g", keep);
    if (layer < 1 || layer >= layers)
        return tp_error_set(error, "--layer must be 1 to %d (pruning after "
                            "a layer of a model of %d), not %d", layers - 1,
                            layers, layer);
    return 0;
}

int tp_pruning_kept(int length, double keep)
{
    int n = (int)ceil(keep * length - 1e-9);
    return n < 1 ? 1 : n > length ? length : n;
}
/* <<noise: pruning tokens>> */
static tp_tensor *gather_rows(tp_graph *g, tp_tensor *x, const int *rows,
                              int batch, int keep)
{
    int n = x->shape.dim[0] * x->shape.dim[1], c = x->shape.dim[2];
    return tp_embedding(g, tp_reshape(g->arena, x, tp_shape2(n, c)), rows,
                        tp_shape2(batch, keep));
}

tp_tensor *tp_bert_classify_pruned(tp_graph *g, tp_bert *m,
                                   const tp_bert_input *in, int layer,
                                   double keep)
{
    tp_error error;
    tp_check(tp_pruning_check(m->config.n_layer, layer, keep, &error) == 0,
             "tp_bert_classify_pruned: %s", error.message);
    int b = in->batch, t = in->length, kept = tp_pruning_kept(t, keep);
    tp_bert first = *m;
    first.config.n_layer = layer;
    tp_tensor **weights = tp_arena_zeroed(g->arena, (size_t)layer,
                                          sizeof *weights);
    tp_tensor *x = tp_bert_encode(g, &first, in, weights);
    /* <<noise: keep the most attended tokens>> */
    float *received = tp_arena_alloc(g->arena, (size_t)b * t * sizeof *received);
    int *rows = tp_arena_alloc(g->arena, (size_t)b * kept * sizeof *rows);
    tp_attention_received(weights[layer - 1], in->padding, received);
    tp_tokens_to_keep(received, in->padding, b, t, kept, rows);
    unsigned char *padding = NULL;
    if (in->padding != NULL) {
        padding = tp_arena_alloc(g->arena, (size_t)b * kept);
        for (long i = 0; i < (long)b * kept; i++)
            padding[i] = in->padding[rows[i]];
    }
    x = gather_rows(g, x, rows, b, kept);
    tp_block_options o = {.heads = m->config.n_head, .post_ln = true,
                          .activation = tp_gelu};
    o.self.key_padding = padding;
    for (int i = layer; i < m->config.n_layer; i++)
        x = tp_block_forward(g, &m->blocks[i], x, NULL, &o);
    int *cls = tp_arena_alloc(g->arena, (size_t)b * sizeof *cls);
    for (int s = 0; s < b; s++)
        cls[s] = s * kept;  /* [CLS] is kept, first in its row */
    x = tp_reshape(g->arena, x, tp_shape2(b * kept, m->config.n_embd));
    return tp_linear(g, tp_embedding(g, x, cls, tp_shape1(b)), m->head_w,
                     m->head_b);
}

/* <<noise: a needle in filler>> */
int tp_needle_vocabulary(int classes)
{
    return TP_WORD_SPECIALS + classes + TP_NEEDLE_FILLERS;
}

int tp_needle_example(int length, int classes, int needles, tp_rng *rng,
                      int *tokens)
{
    tp_check(classes >= 2 && needles >= 1 && needles < length,
             "tp_needle_example: %d classes, %d needles in %d tokens",
             classes, needles, length);
    int label = (int)tp_rng_below(rng, (uint32_t)classes);
    tokens[0] = TP_WORD_CLS;
    for (int t = 1; t < length; t++)
        tokens[t] = TP_WORD_SPECIALS + classes
                    + (int)tp_rng_below(rng, TP_NEEDLE_FILLERS);
    for (int placed = 0; placed < needles;) {
        int at = 1 + (int)tp_rng_below(rng, (uint32_t)(length - 1));
        if (tokens[at] != TP_WORD_SPECIALS + label)
            tokens[at] = TP_WORD_SPECIALS + label, placed++;
    }
    return label;
}

/* <<noise: gating attention's output>> */
int tp_needle_add_noise(int *tokens, int length, int classes, double share,
                        tp_rng *rng)
{
    int first_filler = TP_WORD_SPECIALS + classes;
    int first_noise = first_filler + TP_NEEDLE_FILLERS, fillers = 0;
    for (int t = 1; t < length; t++)
        fillers += tokens[t] >= first_filler && tokens[t] < first_noise;
    int count = (int)lround(share * (length - 1));
    tp_check(share >= 0 && share <= 1 && count <= fillers,
             "tp_needle_add_noise: %d noise words, %d fillers", count,
             fillers);
    for (int placed = 0; placed < count;) {
        int at = 1 + (int)tp_rng_below(rng, (uint32_t)(length - 1));
        if (tokens[at] >= first_filler && tokens[at] < first_noise)
            tokens[at] = first_noise
                         + (int)tp_rng_below(rng, TP_NEEDLE_NOISE), placed++;
    }
    return count;
}
/* <<noise: gating attention's output>> */
tp_attention_gates tp_bert_add_gates(tp_bert *m, tp_rng *rng)
{
    int layers = m->config.n_layer, c = m->config.n_embd;
    tp_attention_gates gates = {
        tp_arena_alloc(m->arena, (size_t)layers * sizeof *gates.w),
        tp_arena_alloc(m->arena, (size_t)layers * sizeof *gates.b)};
    for (int i = 0; i < layers; i++) {
        char name[64];
        snprintf(name, sizeof name, "h.%d.attn.gate.weight", i);
        gates.w[i] = tp_param_new(&m->params, m->arena, name,
                                  tp_shape2(c, c));
        snprintf(name, sizeof name, "h.%d.attn.gate.bias", i);
        gates.b[i] = tp_param_new(&m->params, m->arena, name, tp_shape1(c));
        for (long j = 0; j < (long)c * c; j++)
            gates.w[i]->data[j] = 0.02f * tp_rng_normal(rng);
        memset(gates.b[i]->data, 0, (size_t)c * sizeof(float));
    }
    return gates;
}
/* <<noise: gating attention's output>> */
static tp_tensor *sigmoid_by_softmax(tp_graph *g, tp_tensor *z)
{
    long n = tp_tensor_count(z);
    tp_tensor *pair = tp_tensor_new(g->arena, tp_shape2(1, 2), TP_NO_GRAD);
    tp_tensor *first = tp_tensor_new(g->arena, tp_shape2(2, 1), TP_NO_GRAD);
    pair->data[0] = first->data[0] = 1.0f;
    pair->data[1] = first->data[1] = 0.0f;
    tp_tensor *zs = tp_matmul(g, tp_reshape(g->arena, z, tp_shape2(n, 1)),
                              pair);
    return tp_reshape(g->arena, tp_matmul(g, tp_softmax(g, zs), first),
                      z->shape);
}
/* <<noise: gating attention's output>> */
static tp_tensor *gate_the_heads(tp_graph *g, tp_tensor *outputs,
                                 void *context)
{
    static const int by_head[4] = {0, 2, 1, 3};
    tp_tensor *gate = context;
    int b = outputs->shape.dim[0], h = outputs->shape.dim[1];
    int t = outputs->shape.dim[2], d = outputs->shape.dim[3];
    tp_tensor *split = tp_reshape(g->arena, gate, tp_shape4(b, t, h, d));
    return tp_mul(g, outputs, tp_contiguous(g, tp_permute(g->arena, split,
                                                          by_head)));
}

tp_tensor *tp_bert_classify_gated(tp_graph *g, tp_bert *m,
                                  const tp_attention_gates *gates,
                                  const tp_bert_input *in,
                                  tp_tensor **gate_values)
{
    tp_bert embeddings = *m;  /* no layers: the embeddings alone */
    embeddings.config.n_layer = 0;
    tp_tensor *x = tp_bert_encode(g, &embeddings, in, NULL);
    tp_block_depth depth = {.heads = gate_the_heads};
    tp_block_options o = {.heads = m->config.n_head, .post_ln = true,
                          .activation = tp_gelu, .depth = &depth};
    o.self.key_padding = in->padding;
    for (int i = 0; i < m->config.n_layer; i++) {
        tp_tensor *gate = sigmoid_by_softmax(g, tp_linear(g, x, gates->w[i],
                                                          gates->b[i]));
        if (gate_values != NULL)
            gate_values[i] = gate;
        depth.heads_context = gate;
        x = tp_block_forward(g, &m->blocks[i], x, NULL, &o);
    }
    int b = in->batch, *cls = tp_arena_alloc(g->arena, (size_t)b * sizeof *cls);
    for (int s = 0; s < b; s++)
        cls[s] = s * in->length;  /* [CLS], first in every sequence */
    x = tp_reshape(g->arena, x, tp_shape2(b * in->length, m->config.n_embd));
    return tp_linear(g, tp_embedding(g, x, cls, tp_shape1(b)), m->head_w,
                     m->head_b);
}
