/* Generated from book/272-longformer.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/check.h"
#include "tp/longformer.h"
#include "tp/ops.h"

/* <<longformer: the pattern>> */
int tp_longformer_check(const tp_longformer_pattern *p, tp_error *error)
{
    if (p->length < 1)
        return tp_error_set(error, "a sequence of %d tokens", p->length);
    if (p->window < 1)
        return tp_error_set(error, "a window of %d tokens; it must see at "
                            "least one", p->window);
    if (p->dilation < 1)
        return tp_error_set(error, "a dilation of %d; it must be at least "
                            "1", p->dilation);
    if (p->causal && p->globals > 0)
        return tp_error_set(error, "global tokens in a causal pattern");
    for (int k = 0; k < p->globals; k++)
        if (p->global[k] < 0 || p->global[k] >= p->length
            || (k > 0 && p->global[k] <= p->global[k - 1]))
            return tp_error_set(error, "global token %d at position %d: "
                                "positions must increase within [0, %d)",
                                k, p->global[k], p->length);
    return 0;
}
/* <<longformer: the pattern>> */
static void check_pattern(const char *op, const tp_longformer_pattern *p)
{
    tp_error error = {{0}};
    tp_check(tp_longformer_check(p, &error) == 0, "%s: %s", op,
             error.message);
}

static bool is_global(const tp_longformer_pattern *p, int i)
{
    for (int k = 0; k < p->globals && p->global[k] <= i; k++)
        if (p->global[k] == i)
            return true;
    return false;
}
/* <<longformer: the pattern>> */
bool tp_longformer_allows(int i, int j, void *pattern)
{
    const tp_longformer_pattern *p = pattern;
    if (is_global(p, j) || (p->global_rows && is_global(p, i)))
        return true;
    int gap = j - i, reach = p->window / 2 * p->dilation;
    if (p->causal && gap > 0)
        return false;
    return gap % p->dilation == 0 && abs(gap) <= reach;
}
/* <<longformer: the layout>> */
typedef struct longformer_rule {
    const tp_longformer_pattern *p;
    int block;
} longformer_rule;

static bool holds_global(const tp_longformer_pattern *p, int from, int to)
{
    for (int k = 0; k < p->globals; k++)
        if (p->global[k] >= from && p->global[k] <= to)
            return true;
    return false;
}
/* <<longformer: the layout>> */
static tp_block_kind longformer_block(int r, int c, void *context)
{
    const longformer_rule *x = context;
    const tp_longformer_pattern *p = x->p;
    int i0 = r * x->block, i1 = (r + 1) * x->block - 1;
    int j0 = c * x->block, j1 = (c + 1) * x->block - 1;
    i1 = i1 < p->length ? i1 : p->length - 1;
    j1 = j1 < p->length ? j1 : p->length - 1;
    int reach = p->window / 2 * p->dilation;
    bool touches = j0 - i1 <= reach && i0 - j1 <= reach
                   && (!p->causal || j0 <= i1);
    bool covers = p->dilation == 1 && j1 - i0 <= reach && i1 - j0 <= reach
                  && (!p->causal || j1 <= i0);
    if (covers)
        return TP_BLOCK_FULL;
    bool global = holds_global(p, j0, j1)
                  || (p->global_rows && holds_global(p, i0, i1));
    return touches || global ? TP_BLOCK_PARTIAL : TP_BLOCK_EMPTY;
}
/* <<longformer: the layout>> */
tp_block_layout *tp_longformer_layout(tp_arena *arena,
                                      const tp_longformer_pattern *p,
                                      int block)
{
    check_pattern("tp_longformer_layout", p);
    longformer_rule rule = {p, block};
    return tp_block_layout_new(arena, p->length, p->length, block,
                               longformer_block, &rule);
}
/* <<longformer: attention>> */
static tp_longformer_pattern *kept(tp_graph *g, const tp_longformer_pattern *p)
{
    tp_longformer_pattern *copy = tp_arena_alloc(g->arena, sizeof *copy);
    *copy = *p;
    if (p->globals > 0) {
        int *global = tp_arena_alloc(g->arena, (size_t)p->globals * sizeof(int));
        memcpy(global, p->global, (size_t)p->globals * sizeof(int));
        copy->global = global;
    }
    return copy;
}
/* <<longformer: attention>> */
static tp_tensor *joined(tp_graph *g, tp_tensor *so_far, tp_tensor *piece)
{
    if (so_far == NULL)
        return piece;
    tp_tensor *parts[2] = {so_far, piece};
    return tp_concat(g, 2, parts, 2);
}
/* <<longformer: attention>> */
static tp_tensor *replace_rows(tp_graph *g, tp_tensor *local,
                               tp_tensor *rows,
                               const tp_longformer_pattern *p)
{
    tp_tensor *out = NULL;
    int from = 0;
    for (int k = 0; k < p->globals; k++) {
        int at = p->global[k];
        if (at > from)
            out = joined(g, out, tp_slice(g->arena, local, 2, from, at - from));
        out = joined(g, out, tp_slice(g->arena, rows, 2, k, 1));
        from = at + 1;
    }
    if (from < p->length)
        out = joined(g, out, tp_slice(g->arena, local, 2, from,
                                      p->length - from));
    return out;
}
/* <<longformer: attention>> */
tp_tensor *tp_longformer_attention(tp_graph *g, tp_tensor *const local[3],
                                   tp_tensor *const global[3],
                                   const tp_longformer_pattern *p,
                                   const tp_block_layout *layout,
                                   const unsigned char *key_padding)
{
    check_pattern("tp_longformer_attention", p);
    tp_attention_options o = {.causal = p->causal, .key_padding = key_padding,
                              .pattern = tp_longformer_allows,
                              .pattern_context = kept(g, p)};
    tp_tensor *out = tp_attention_block_sparse(g, local[0], local[1],
                                               local[2], layout, &o);
    if (global == NULL || p->globals == 0)
        return out;
    tp_attention_options all = {.key_padding = key_padding};
    tp_tensor *rows = tp_attention(g, global[0], global[1], global[2], &all);
    return replace_rows(g, out, rows, p);
}
/* <<longformer: the model>> */
static void make_model(tp_longformer *m, const tp_longformer_config *c)
{
    int v = c->vocab, t = c->length, w = c->width;
    m->wte = tp_param_new(&m->params, m->arena, "wte.weight", tp_shape2(v, w));
    m->wpe = tp_param_new(&m->params, m->arena, "wpe.weight", tp_shape2(t, w));
    m->blocks = tp_arena_zeroed(m->arena, (size_t)c->layers, sizeof *m->blocks);
    m->g_attn_w = tp_arena_zeroed(m->arena, (size_t)c->layers, sizeof(void *));
    m->g_attn_b = tp_arena_zeroed(m->arena, (size_t)c->layers, sizeof(void *));
    for (int l = 0; l < c->layers; l++) {
        char name[64];
        snprintf(name, sizeof name, "h.%d.", l);
        tp_block_make(&m->blocks[l], &m->params, m->arena, name, w, 4 * w, false);
        snprintf(name, sizeof name, "h.%d.g_attn.weight", l);
        m->g_attn_w[l] = tp_param_new(&m->params, m->arena, name,
                                      tp_shape2(w, 3 * w));
        snprintf(name, sizeof name, "h.%d.g_attn.bias", l);
        m->g_attn_b[l] = tp_param_new(&m->params, m->arena, name, tp_shape1(3 * w));
    }
    m->ln_f_w = tp_param_new(&m->params, m->arena, "ln_f.weight", tp_shape1(w));
    m->ln_f_b = tp_param_new(&m->params, m->arena, "ln_f.bias", tp_shape1(w));
    m->head_w = tp_param_new(&m->params, m->arena, "head.weight",
                             tp_shape2(w, c->classes));
    m->head_b = tp_param_new(&m->params, m->arena, "head.bias",
                             tp_shape1(c->classes));
}
/* <<longformer: the model>> */
tp_longformer *tp_longformer_new(const tp_longformer_config *c, uint64_t seed)
{
    tp_check(c->vocab > 0 && c->length > 0 && c->layers > 0 && c->heads > 0
                 && c->width % c->heads == 0 && c->classes > 1,
             "tp_longformer_new: vocabulary %d, length %d, %d layers, %d "
             "heads of width %d, %d classes", c->vocab, c->length, c->layers,
             c->heads, c->width, c->classes);
    tp_longformer *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "tp_longformer_new: out of memory");
    m->config = *c;
    m->arena = tp_arena_new("longformer");
    make_model(m, c);
    tp_rng rng = tp_rng_seeded(seed, 272);
    tp_init_gpt2(&m->params, &rng, c->layers);
    return m;
}

void tp_longformer_free(tp_longformer *m)
{
    if (m == NULL)
        return;
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
    free(m);
}
/* <<longformer: the model>> */
static tp_tensor *layer(tp_graph *g, const tp_longformer *m, int l,
                        tp_tensor *x, const tp_longformer_pattern *p,
                        const tp_block_layout *layout)
{
    const tp_block *b = &m->blocks[l];
    int heads = m->config.heads;
    tp_tensor *h = tp_block_norm(g, x, b->ln_1_w, b->ln_1_b), *local[3];
    tp_split_qkv(g, tp_linear(g, h, b->c_attn_w, b->c_attn_b), heads, heads,
                 local);
    tp_tensor *global[3] = {NULL}, **given = NULL;
    if (p->globals > 0) {
        tp_split_qkv(g, tp_linear(g, h, m->g_attn_w[l], m->g_attn_b[l]),
                     heads, heads, global);
        global[0] = tp_slice(g->arena, global[0], 2, 0, 1);
        given = global;
    }
    tp_tensor *o = tp_longformer_attention(g, local, given, p, layout, NULL);
    o = tp_linear(g, tp_merge_heads(g, o), b->c_proj_w, b->c_proj_b);
    x = tp_add(g, x, o);
    h = tp_block_norm(g, x, b->ln_2_w, b->ln_2_b);
    return tp_add(g, x, tp_block_mlp(g, b, h, NULL));
}
/* <<longformer: the model>> */
tp_tensor *tp_longformer_logits(tp_graph *g, const tp_longformer *m,
                                const int *tokens, int batch, bool global,
                                const tp_block_layout *layout)
{
    const tp_longformer_config *c = &m->config;
    static const int first[1] = {0};
    tp_longformer_pattern p = {.length = c->length, .window = c->window,
                               .dilation = 1, .globals = global ? 1 : 0,
                               .global = first};
    tp_tensor *x = tp_embedding(g, m->wte, tokens, tp_shape2(batch, c->length));
    x = tp_add(g, x, m->wpe);
    for (int l = 0; l < c->layers; l++)
        x = layer(g, m, l, x, &p, layout);
    x = tp_block_norm(g, x, m->ln_f_w, m->ln_f_b);
    tp_tensor *cls = tp_contiguous(g, tp_slice(g->arena, x, 1, 0, 1));
    cls = tp_reshape(g->arena, cls, tp_shape2(batch, c->width));
    return tp_linear(g, cls, m->head_w, m->head_b);
}
/* <<longformer: the model>> */
static int config_fields(tp_longformer_config *c, tp_config_field *f)
{
    const tp_config_field all[] = {
        {"vocab_size", &c->vocab}, {"n_positions", &c->length},
        {"n_layer", &c->layers}, {"n_head", &c->heads},
        {"n_embd", &c->width}, {"n_classes", &c->classes},
        {"attention_window", &c->window}, {"block", &c->block}};
    memcpy(f, all, sizeof all);
    return (int)(sizeof all / sizeof *all);
}

static bool valid(const tp_longformer_config *c)
{
    return c->vocab > 0 && c->length > 0 && c->layers > 0 && c->heads > 0
           && c->width > 0 && c->width % c->heads == 0 && c->classes > 1
           && c->window > 0 && c->block >= 1 && c->block <= TP_BLOCK_MAX;
}
/* <<longformer: the model>> */
int tp_longformer_save(const tp_longformer *m, const char *path,
                       tp_error *error)
{
    tp_longformer_config c = m->config;
    tp_config_field f[8];
    return tp_model_save(&m->params, "longformer", f, config_fields(&c, f),
                         path, error);
}

tp_longformer *tp_longformer_load(const char *path, tp_error *error)
{
    tp_longformer_config c;
    tp_config_field f[8];
    if (tp_model_config(path, "longformer", f, config_fields(&c, f), error) != 0)
        return NULL;
    if (!valid(&c)) {
        tp_error_set(error, "%s: an impossible configuration", path);
        return NULL;
    }
    double width = c.width;
    if (tp_model_fits(path, ((double)c.vocab + c.length) * width
                                + c.layers * 8.0 * width * width, error) != 0)
        return NULL;
    tp_longformer *m = tp_longformer_new(&c, 1);
    if (tp_safetensors_load(path, m->params.items, m->params.count, NULL,
                            error) != 0) {
        tp_longformer_free(m);
        return NULL;
    }
    return m;
}
/* <<longformer: the model>> */
void tp_longformer_documents(tp_rng *rng, int batch, int length,
                             int markers, int *tokens, int *labels)
{
    tp_check(length >= 4 && markers >= 1, "tp_longformer_documents: %d "
             "tokens, %d markers; at least 4 and 1", length, markers);
    for (int b = 0; b < batch; b++) {
        int *doc = tokens + (long)b * length;
        doc[0] = 0;
        for (int i = 1; i < length; i++)
            doc[i] = 1 + (int)tp_rng_below(rng, TP_LONGFORMER_NOISE);
        labels[b] = (int)tp_rng_below(rng, TP_LONGFORMER_CLASSES);
        for (int k = 0; k < markers; k++) {
            uint32_t half = (uint32_t)(length - length / 2);
            doc[length / 2 + (int)tp_rng_below(rng, half)] =
                1 + TP_LONGFORMER_NOISE + labels[b];
        }
    }
}
