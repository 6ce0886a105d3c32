/* Generated from book/240-xl.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/check.h"
#include "tp/matmul.h"
#include "tp/ops.h"
#include "tp/xl.h"

/* <<xl: the table of distances>> */
tp_tensor *tp_xl_relative_table(tp_arena *arena, int keys, int width)
{
    tp_tensor *forwards = tp_sinusoids(arena, keys, width);
    tp_tensor *table = tp_tensor_empty(arena, tp_shape2(keys, width),
                                       TP_NO_GRAD);
    for (int m = 0; m < keys; m++)
        memcpy(table->data + (long)m * width,
               forwards->data + (long)(keys - 1 - m) * width,
               (size_t)width * sizeof *table->data);
    return table;
}
/* <<xl: the position scores>> */
static void shift_rows(const float *full, float *out, int length, int keys)
{
    for (int i = 0; i < length; i++) {
        int reach = keys - length + i;  /* the last key query i sees */
        float *row = out + (long)i * keys;
        memcpy(row, full + (long)i * keys + (length - 1 - i),
               (size_t)(reach + 1) * sizeof *row);
        memset(row + reach + 1, 0, (size_t)(keys - reach - 1) * sizeof *row);
    }
}
/* <<xl: the position scores>> */
static void unshift_rows(const float *dout, float *dfull, int length,
                         int keys)
{
    memset(dfull, 0, (size_t)length * keys * sizeof *dfull);
    for (int i = 0; i < length; i++) {
        int reach = keys - length + i;
        memcpy(dfull + (long)i * keys + (length - 1 - i),
               dout + (long)i * keys, (size_t)(reach + 1) * sizeof *dfull);
    }
}
/* <<xl: the position scores>> */
static void check_position_inputs(const tp_tensor *qv, const tp_tensor *r)
{
    tp_check(qv->shape.ndim == 4 && r->shape.ndim == 4 && r->shape.dim[0] == 1
                 && r->shape.dim[1] == qv->shape.dim[1]
                 && r->shape.dim[3] == qv->shape.dim[3]
                 && r->shape.dim[2] >= qv->shape.dim[2],
             "tp_xl_position_scores: queries %s and a table %s do not fit "
             "([B, H, L, d] and [1, H, K, d], K >= L)",
             tp_shape_str(qv->shape).text, tp_shape_str(r->shape).text);
}

typedef struct position_saved {
    float scale;
    tp_tensor *full;  /* [L, K]: one head's product, scratch */
} position_saved;
/* <<xl: the position scores>> */
static void position_backward(tp_node *node);

tp_tensor *tp_xl_position_scores(tp_graph *g, tp_tensor *qv, tp_tensor *r,
                                 float scale)
{
    check_position_inputs(qv, r);
    int batch = qv->shape.dim[0], heads = qv->shape.dim[1];
    int length = qv->shape.dim[2], keys = r->shape.dim[2];
    bool grad = tp_needs_grad(g, 2, (tp_tensor *[]){qv, r});
    tp_tensor *out = tp_tensor_empty(g->arena,
                                     tp_shape4(batch, heads, length, keys),
                                     grad ? TP_WITH_GRAD : TP_NO_GRAD);
    position_saved *s = tp_arena_alloc(g->arena, sizeof *s);
    s->scale = scale;
    s->full = tp_tensor_empty(g->arena, tp_shape2(length, keys), TP_NO_GRAD);
    for (int b = 0; b < batch; b++)
        for (int h = 0; h < heads; h++) {
            tp_tensor qh = tp_head(qv, b, h), rh = tp_head(r, 0, h);
            tp_tensor rt = tp_transposed_view(rh), oh = tp_head(out, b, h);
            tp_gemm(s->full, &qh, &rt, scale, 0.0f);
            shift_rows(s->full->data, oh.data, length, keys);
        }
    if (grad)
        tp_record(g, "xl_position_scores", position_backward, out, 2,
                  (tp_tensor *[]){qv, r})->saved = s;
    return out;
}
/* <<xl: the position scores>> */
static void position_backward(tp_node *node)
{
    const position_saved *s = node->saved;
    tp_tensor *qv = node->input[0], *r = node->input[1], *out = node->output;
    int batch = qv->shape.dim[0], heads = qv->shape.dim[1];
    int length = qv->shape.dim[2], keys = r->shape.dim[2];
    tp_tensor *dfull = s->full, dft = tp_transposed_view(*s->full);
    for (int b = 0; b < batch; b++)
        for (int h = 0; h < heads; h++) {
            tp_tensor dout = tp_head_grad(out, b, h);
            unshift_rows(dout.data, dfull->data, length, keys);
            tp_tensor qh = tp_head(qv, b, h), rh = tp_head(r, 0, h);
            if (qv->grad != NULL) {
                tp_tensor dq = tp_head_grad(qv, b, h);
                tp_gemm(&dq, dfull, &rh, s->scale, 1.0f);
            }
            if (r->grad != NULL) {
                tp_tensor dr = tp_head_grad(r, 0, h);
                tp_gemm(&dr, &dft, &qh, s->scale, 1.0f);
            }
        }
}
/* <<xl: a layer's attention>> */
static const int swap_heads[4] = {0, 2, 1, 3};

static tp_tensor *plus_per_head(tp_graph *g, tp_tensor *rows, tp_tensor *w)
{
    return tp_permute(g->arena, tp_add(g, rows, w), swap_heads);
}

static void check_xl_inputs(const tp_tensor *qkv, int length, int heads,
                            const tp_tensor *r, const tp_tensor *u)
{
    const tp_shape s = qkv->shape;
    int c = s.ndim == 3 ? s.dim[2] / 3 : 0;
    tp_check(s.ndim == 3 && s.dim[2] == 3 * c && heads >= 1 && c % heads == 0
                 && length >= 1 && length <= s.dim[1] && r->shape.ndim == 2
                 && r->shape.dim[0] == s.dim[1] && r->shape.dim[1] == c
                 && tp_tensor_is_contiguous(r) && u->shape.ndim == 2
                 && u->shape.dim[0] == heads && u->shape.dim[1] == c / heads,
             "tp_xl_attention: qkv %s, %d queries, %d heads, r %s, u %s",
             tp_shape_str(s).text, length, heads,
             tp_shape_str(r->shape).text, tp_shape_str(u->shape).text);
}
/* <<xl: a layer's attention>> */
tp_tensor *tp_xl_attention(tp_graph *g, tp_tensor *qkv, int length,
                           int heads, tp_tensor *r, tp_tensor *u,
                           tp_tensor *v, tp_tensor **weights)
{
    check_xl_inputs(qkv, length, heads, r, u);
    int keys = qkv->shape.dim[1], c = qkv->shape.dim[2] / 3;
    tp_tensor *views[3];
    tp_split_qkv(g, qkv, heads, heads, views);
    tp_tensor *q = tp_slice(g->arena, views[0], 2, keys - length, length);
    tp_tensor *rows = tp_contiguous(g, tp_permute(g->arena, q, swap_heads));
    tp_tensor *r_heads = tp_split_heads(
        g, tp_reshape(g->arena, r, tp_shape3(1, keys, c)), 0, 1, heads);
    float scale = 1.0f / sqrtf((float)(c / heads));
    tp_attention_options o = {
        .causal = true, .weights = weights,
        .bias = tp_xl_position_scores(g, plus_per_head(g, rows, v), r_heads,
                                      scale)};
    return tp_merge_heads(g, tp_attention(g, plus_per_head(g, rows, u),
                                          views[1], views[2], &o));
}
/* <<xl: making the model>> */
static void add_relative_parameters(tp_xl *m)
{
    tp_gpt *gpt = m->gpt;
    m->arena = tp_arena_new("XL distances");
    int c = gpt->config.n_embd, heads = gpt->config.n_head;
    m->u = tp_param_new(&gpt->params, gpt->arena, "r_w_bias",
                        tp_shape2(heads, c / heads));
    m->v = tp_param_new(&gpt->params, gpt->arena, "r_r_bias",
                        tp_shape2(heads, c / heads));
    m->w_kr = calloc((size_t)gpt->config.n_layer, sizeof *m->w_kr);
    tp_check(m->w_kr != NULL, "out of memory");
    for (int n = 0; n < gpt->config.n_layer; n++) {
        char name[48];
        snprintf(name, sizeof name, "h.%d.attn.r_net.weight", n);
        m->w_kr[n] = tp_param_new(&gpt->params, gpt->arena, name,
                                  tp_shape2(c, c));
    }
}
/* <<xl: making the model>> */
tp_xl *tp_xl_new(tp_gpt_config config)
{
    tp_check(config.n_head > 0 && config.n_embd % config.n_head == 0
                 && config.n_embd % 2 == 0,
             "a Transformer-XL needs an even width that its heads divide (%d "
             "heads, width %d)", config.n_head, config.n_embd);
    config.positions = TP_POSITIONS_NONE;
    tp_xl *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->gpt = tp_gpt_new(config);
    add_relative_parameters(m);
    return m;
}

void tp_xl_init(tp_xl *m, tp_rng *rng)
{
    tp_init_gpt2(&m->gpt->params, rng, m->gpt->config.n_layer);
}

void tp_xl_free(tp_xl *m)
{
    if (m == NULL)
        return;
    tp_gpt_free(m->gpt);
    tp_arena_free(m->arena);
    free(m->w_kr);
    free(m);
}
/* <<xl: the memory>> */
tp_xl_memory *tp_xl_memory_new(const tp_xl *m, int batch, int capacity)
{
    const tp_gpt_config *c = &m->gpt->config;
    tp_check(batch >= 1 && capacity >= 0, "tp_xl_memory_new: batch %d, "
             "capacity %d", batch, capacity);
    tp_xl_memory *memory = calloc(1, sizeof *memory);
    tp_check(memory != NULL, "out of memory");
    *memory = (tp_xl_memory){tp_arena_new("XL memory"), batch, capacity, 0,
                             NULL};
    memory->h = tp_arena_zeroed(memory->arena, (size_t)c->n_layer,
                                sizeof *memory->h);
    for (int n = 0; n < c->n_layer && capacity > 0; n++)
        memory->h[n] = tp_tensor_new(memory->arena,
                                     tp_shape3(batch, capacity, c->n_embd),
                                     TP_NO_GRAD);
    return memory;
}

void tp_xl_memory_clear(tp_xl_memory *memory)
{
    memory->length = 0;
}

void tp_xl_memory_free(tp_xl_memory *memory)
{
    if (memory == NULL)
        return;
    tp_arena_free(memory->arena);
    free(memory);
}
/* <<xl: the memory>> */
static tp_tensor *remembered(tp_graph *g, const tp_xl_memory *memory, int n)
{
    return tp_slice(g->arena, memory->h[n], 1, 0, memory->length);
}

static void remember(tp_graph *g, tp_xl_memory *memory, int n,
                     const tp_tensor *rows)
{
    int keys = rows->shape.dim[1];
    int kept = keys < memory->capacity ? keys : memory->capacity;
    tp_copy(tp_slice(g->arena, memory->h[n], 1, 0, kept),
            tp_slice(g->arena, rows, 1, keys - kept, kept));
}
/* <<xl: the forward pass>> */
static tp_tensor *distances(tp_graph *g, tp_xl *m, int keys)
{
    int held = m->table != NULL ? m->table->shape.dim[0] : 0;
    if (keys > held)
        m->table = tp_xl_relative_table(m->arena, keys > 2 * held ? keys
                                                                  : 2 * held,
                                        m->gpt->config.n_embd);
    held = m->table->shape.dim[0];
    return tp_slice(g->arena, m->table, 0, held - keys, keys);
}
/* <<xl: the forward pass>> */
static tp_tensor *layer(tp_graph *g, tp_xl *m, int n, tp_tensor *h,
                        tp_tensor *rows)
{
    const tp_block *b = &m->gpt->blocks[n];
    tp_tensor *qkv = tp_linear(g, tp_block_norm(g, rows, b->ln_1_w, b->ln_1_b),
                               b->c_attn_w, b->c_attn_b);
    tp_tensor *r = tp_matmul(g, distances(g, m, rows->shape.dim[1]),
                             m->w_kr[n]);
    tp_tensor *a = tp_xl_attention(g, qkv, h->shape.dim[1],
                                   m->gpt->config.n_head, r, m->u, m->v,
                                   m->weights != NULL ? &m->weights[n] : NULL);
    h = tp_add(g, h, tp_linear(g, a, b->c_proj_w, b->c_proj_b));
    return tp_add(g, h, tp_block_mlp(g, b, tp_block_norm(g, h, b->ln_2_w,
                                                         b->ln_2_b), NULL));
}
/* <<xl: the forward pass>> */
tp_tensor *tp_xl_forward(tp_graph *g, tp_xl *m, tp_xl_memory *memory,
                         const int *tokens, int batch, int length)
{
    const tp_gpt_config *c = &m->gpt->config;
    bool kept = memory != NULL && memory->capacity > 0;
    tp_check(length >= 1 && (memory == NULL || memory->batch == batch),
             "tp_xl_forward: %d streams of %d tokens, a memory of %d",
             batch, length, memory != NULL ? memory->batch : 0);
    tp_tensor *h = tp_embedding(g, m->gpt->wte, tokens,
                                tp_shape2(batch, length));
    for (int n = 0; n < c->n_layer; n++) {
        tp_tensor *rows = h;
        if (kept && memory->length > 0)
            rows = tp_concat(g, 2, (tp_tensor *[]){remembered(g, memory, n), h},
                             1);
        if (kept)
            remember(g, memory, n, rows);
        h = layer(g, m, n, h, rows);
    }
    if (kept)
        memory->length = memory->length + length < memory->capacity
                             ? memory->length + length : memory->capacity;
    h = tp_block_norm(g, h, m->gpt->ln_f_w, m->gpt->ln_f_b);
    return tp_matmul(g, h, tp_transpose(g->arena, m->gpt->wte, 0, 1));
}

tp_tensor *tp_xl_loss(tp_graph *g, tp_xl *m, tp_xl_memory *memory,
                      const int *tokens, const int *targets, int batch,
                      int length)
{
    return tp_cross_entropy(g, tp_xl_forward(g, m, memory, tokens, batch,
                                             length), targets, -1);
}
/* <<xl: saving and loading>> */
tp_xl *tp_xl_load(const char *path, tp_error *error)
{
    tp_gpt *gpt = tp_gpt_load(path, NULL, error);
    if (gpt == NULL)
        return NULL;
    int c = gpt->config.n_embd;
    if (gpt->config.positions != TP_POSITIONS_NONE || c % 2 != 0) {
        if (c % 2 != 0)
            tp_error_set(error, "%s: an odd width %d; a Transformer-XL's is "
                         "even", path, c);
        else
            tp_error_set(error, "%s is a GPT with %s positions, not a "
                         "Transformer-XL", path,
                         tp_position_name(gpt->config.positions));
        tp_gpt_free(gpt);
        return NULL;
    }
    tp_xl *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->gpt = gpt;
    int first = gpt->params.count;
    add_relative_parameters(m);
    if (tp_safetensors_load(path, gpt->params.items + first,
                            gpt->params.count - first, NULL, error) != 0) {
        char why[sizeof error->message];
        snprintf(why, sizeof why, "%s", error->message);
        tp_error_set(error, "%s is not a Transformer-XL (%s)", path, why);
        tp_xl_free(m);
        return NULL;
    }
    return m;
}
