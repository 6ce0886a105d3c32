/* Generated from book/224-gpt.nw; edit the book, not this file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tp/exercise.h"
#include "tp/gpt.h"

/* <<gpt: making the model>> */
tp_gpt_config tp_gpt_t(void)
{
    return (tp_gpt_config){.vocab_size = 256, .n_positions = 128,
                           .n_layer = 4, .n_head = 4, .n_embd = 256};
}
/* <<gpt: making the model>> */
tp_gpt *tp_gpt_new(tp_gpt_config config)
{
    return tp_gpt_new_modern(config, (tp_gpt_modern){0});
}

tp_gpt *tp_gpt_new_modern(tp_gpt_config config, tp_gpt_modern modern)
{
    int kv_heads = modern.kv_heads > 0 ? modern.kv_heads : config.n_head;
    tp_check(config.vocab_size > 0 && config.n_positions > 0
                 && config.n_layer > 0 && config.n_head > 0
                 && config.n_embd % config.n_head == 0,
             "a GPT needs positive sizes and heads that divide the width "
             "(%d heads, width %d)", config.n_head, config.n_embd);
    tp_check(kv_heads >= 1 && kv_heads <= config.n_head
                 && config.n_head % kv_heads == 0,
             "a GPT's key-value heads must divide its heads (%d of %d)",
             kv_heads, config.n_head);
    tp_gpt *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->config = config;
    m->modern = modern;
    m->modern.kv_heads = kv_heads;
    m->arena = tp_arena_new("GPT parameters");
    m->blocks = calloc((size_t)config.n_layer, sizeof *m->blocks);
    tp_check(m->blocks != NULL, "out of memory");
    int c = config.n_embd;
    m->wte = tp_param_new(&m->params, m->arena, "wte.weight",
                          tp_shape2(config.vocab_size, c));
    if (config.positions == TP_POSITIONS_LEARNED)
        m->wpe = tp_param_new(&m->params, m->arena, "wpe.weight",
                              tp_shape2(config.n_positions, c));
    for (int i = 0; i < config.n_layer; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "h.%d.", i);
        tp_block_variant v = {kv_heads * (c / config.n_head),
                              modern.rms_norm, modern.swiglu, modern.no_mlp};
        tp_block_make_variant(&m->blocks[i], &m->params, m->arena, prefix, c,
                              modern.swiglu ? 8 * c / 3 : 4 * c, &v);
    }
    m->ln_f_w = tp_param_new(&m->params, m->arena, "ln_f.weight", tp_shape1(c));
    if (!modern.rms_norm)
        m->ln_f_b = tp_param_new(&m->params, m->arena, "ln_f.bias",
                                 tp_shape1(c));
    tp_position_encoding_make(&m->encoding, config.positions, &m->params,
                              m->arena, config.n_layer, config.n_head, c);
    return m;
}

void tp_gpt_free(tp_gpt *m)
{
    if (m == NULL)
        return;
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
    free(m->blocks);
    free(m);
}
/* <<gpt: making the model>> */
void tp_gpt_init(tp_gpt *m, tp_rng *rng)
{
    tp_init_gpt2(&m->params, rng, m->config.n_layer);
}

/* <<gpt: checkpointed blocks>> */
typedef struct block_call {
    const tp_block *b;
    tp_block_options o;
    tp_position_layer layer;  /* o's positions context, kept with it */
} block_call;

static tp_tensor *run_block(tp_graph *g, void *context, tp_tensor *x)
{
    block_call *call = context;
    return tp_block_forward(g, call->b, x, NULL, &call->o);
}

static tp_tensor *checkpointed_block(tp_graph *g, tp_gpt *m, int i,
                                     tp_tensor *x, const tp_block_options *o)
{
    tp_check(o->depth == NULL || o->depth->drop_head == 0,
             "checkpointed blocks cannot replay DropHead's random draws");
    block_call *call = tp_arena_alloc(g->arena, sizeof *call);
    *call = (block_call){&m->blocks[i], *o, {&m->encoding, i}};
    call->o.positions_context = &call->layer;  /* the loop's is gone */
    return tp_checkpoint(g, run_block, call, x, m->checkpoint);
}

/* <<gpt: the forward pass>> */
typedef struct mlp_call {
    tp_gpt *m;
    int layer;
} mlp_call;

static tp_tensor *layer_mlp(tp_graph *g, tp_tensor *x, const void *context)
{
    const mlp_call *call = context;
    return call->m->mlp(g, x, call->layer, call->m->mlp_context);
}

static tp_tensor *no_mlp(tp_graph *g, tp_tensor *x, const void *context)
{
    (void)context;
    return tp_scale(g, x, 0.0f);  /* attention only: the MLP adds nothing */
}

static const mlp_call *layer_call(tp_graph *g, tp_gpt *m, int layer)
{
    mlp_call *call = tp_arena_alloc(g->arena, sizeof *call);
    *call = (mlp_call){m, layer};
    return call;
}

static tp_tensor *forward_embedded(tp_graph *g, tp_gpt *m, tp_tensor *x,
                                   tp_tensor **weights);

static tp_tensor *forward(tp_graph *g, tp_gpt *m, const int *tokens,
                          int batch, int length, tp_tensor **weights)
{
    tp_check(length >= 1 && (length <= m->config.n_positions
                             || m->config.positions != TP_POSITIONS_LEARNED),
             "tp_gpt_forward: %d tokens, but the model has %d positions",
             length, m->config.n_positions);
    tp_tensor *x = tp_embedding(g, m->wte, tokens, tp_shape2(batch, length));
    return forward_embedded(g, m, x, weights);
}

static tp_tensor *forward_embedded(tp_graph *g, tp_gpt *m, tp_tensor *x,
                                   tp_tensor **weights)
{
    x = tp_position_embed(g, &m->encoding, m->wpe, x, 0);
    tp_block_options o = {.heads = m->config.n_head, .self.causal = true,
                          .attend = m->attention,
                          .positions = tp_position_attend};
    o.post_ln = m->post_ln;
    o.kv_heads = m->modern.kv_heads;
    o.mlp = m->mlp != NULL ? layer_mlp : m->modern.no_mlp ? no_mlp : NULL;
    o.linear = m->adapters, o.linear_context = m->adapters_context;
    for (int i = 0; i < m->config.n_layer; i++) {
        o.depth = m->depth != NULL ? &m->depth[i] : NULL;
        o.mlp_context = m->mlp != NULL ? layer_call(g, m, i) : NULL;
        o.self.weights = weights != NULL ? &weights[i] : NULL;
        tp_position_layer layer = {&m->encoding, i};
        o.positions_context = &layer;
        x = m->checkpoint != NULL ? checkpointed_block(g, m, i, x, &o)
                                  : tp_block_forward(g, &m->blocks[i], x,
                                                     NULL, &o);
    }
    x = tp_block_norm(g, x, m->ln_f_w, m->ln_f_b);
    return tp_matmul(g, x, tp_transpose(g->arena, m->wte, 0, 1));
}

tp_tensor *tp_gpt_forward(tp_graph *g, tp_gpt *m, const int *tokens,
                          int batch, int length)
{
    return forward(g, m, tokens, batch, length, NULL);
}

tp_tensor *tp_gpt_forward_embedded(tp_graph *g, tp_gpt *m, tp_tensor *x)
{
    tp_check(x->shape.ndim == 3 && x->shape.dim[2] == m->config.n_embd
                 && (x->shape.dim[1] <= m->config.n_positions
                     || m->config.positions != TP_POSITIONS_LEARNED),
             "tp_gpt_forward_embedded: token embeddings %s for width %d and "
             "%d positions", tp_shape_str(x->shape).text, m->config.n_embd,
             m->config.n_positions);
    return forward_embedded(g, m, x, NULL);
}

tp_tensor **tp_gpt_attention_maps(tp_gpt *m, const int *tokens, int length,
                                  tp_arena *arena)
{
    tp_tensor **weights = tp_arena_zeroed(arena, (size_t)m->config.n_layer,
                                          sizeof *weights);
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    forward(&g, m, tokens, 1, length, weights);
    return weights;
}

tp_tensor *tp_gpt_loss(tp_graph *g, tp_gpt *m, const int *tokens,
                       const int *targets, int batch, int length)
{
    return tp_cross_entropy(g, tp_gpt_forward(g, m, tokens, batch, length),
                            targets, -1);
}

/* <<gpt: decoding with a cache>> */
tp_gpt_cache *tp_gpt_cache_new(const tp_gpt *m, int capacity)
{
    tp_check(capacity >= 1 && (capacity <= m->config.n_positions
                               || m->config.positions != TP_POSITIONS_LEARNED),
             "a cache of %d positions for a model of %d", capacity,
             m->config.n_positions);
    tp_gpt_cache *c = calloc(1, sizeof *c);
    tp_check(c != NULL, "out of memory");
    int layers = m->config.n_layer, h = m->modern.kv_heads;
    int d = m->config.n_embd / m->config.n_head;
    c->arena = tp_arena_new("KV cache");
    c->k = tp_arena_zeroed(c->arena, (size_t)layers, sizeof *c->k);
    c->v = tp_arena_zeroed(c->arena, (size_t)layers, sizeof *c->v);
    for (int l = 0; l < layers; l++) {
        c->k[l] = tp_tensor_new(c->arena, tp_shape4(1, h, capacity, d),
                                TP_NO_GRAD);
        c->v[l] = tp_tensor_new(c->arena, tp_shape4(1, h, capacity, d),
                                TP_NO_GRAD);
    }
    c->capacity = capacity;
    return c;
}

void tp_gpt_cache_free(tp_gpt_cache *cache)
{
    if (cache != NULL) {
        tp_arena_free(cache->arena);
        free(cache);
    }
}
/* <<gpt: decoding with a cache>> */
static tp_tensor *decode_linear(tp_graph *g, const tp_gpt *m, tp_tensor *x,
                                tp_tensor *w, tp_tensor *b)
{
    return m->linear != NULL ? m->linear(g, x, w, b, m->linear_context)
                             : tp_linear(g, x, w, b);
}

static tp_tensor *decode_mlp(tp_graph *g, const tp_gpt *m,
                             const tp_block *b, tp_tensor *x)
{
    if (m->linear == NULL)
        return tp_block_mlp(g, b, x, NULL);
    tp_check(b->mlp_gate_w == NULL, "a replaced linear layer in SwiGLU");
    tp_tensor *h = tp_gelu_tanh(g, decode_linear(g, m, x, b->c_fc_w,
                                                 b->c_fc_b));
    return decode_linear(g, m, h, b->mlp_proj_w, b->mlp_proj_b);
}
/* <<gpt: decoding with a cache>> */
static tp_tensor *cached_attention(tp_graph *g, tp_gpt *m, int layer,
                                   tp_gpt_cache *c, tp_tensor *x)
{
    const tp_block *b = &m->blocks[layer];
    tp_tensor *qkv = decode_linear(g, m, x, b->c_attn_w, b->c_attn_b);
    tp_tensor *views[3];
    int t = c->length;
    tp_split_qkv(g, qkv, m->config.n_head, m->modern.kv_heads, views);
    tp_tensor *q = views[0], *k = views[1], *v = views[2];
    q = tp_position_rotate(g, &m->encoding, q, t);
    k = tp_position_rotate(g, &m->encoding, k, t);
    /* <<solution: gpt.kv-cache>> */
    tp_tensor kt = *c->k[layer], vt = *c->v[layer];
    kt.data += (long)t * kt.stride[2], vt.data += (long)t * vt.stride[2];
    kt.shape.dim[2] = vt.shape.dim[2] = 1;
    tp_copy(&kt, k);
    tp_copy(&vt, v);
    tp_tensor *keys = tp_slice(g->arena, c->k[layer], 2, 0, t + 1);
    tp_tensor *values = tp_slice(g->arena, c->v[layer], 2, 0, t + 1);
    tp_attention_options o_positions = {
        .bias = tp_position_bias(g, &m->encoding, layer, q, t, t + 1)};
    tp_tensor *o = tp_attention(g, q, keys, values, &o_positions);
    return decode_linear(g, m, tp_merge_heads(g, o), b->c_proj_w,
                         b->c_proj_b);
}
/* <<gpt: decoding with a cache>> */
const float *tp_gpt_step(tp_gpt *m, tp_gpt_cache *c, int token,
                         tp_arena *scratch)
{
    tp_check(c->length < c->capacity, "the KV cache is full (%d positions)",
             c->capacity);
    tp_check(!m->post_ln && m->depth == NULL && !m->modern.no_mlp
                 && m->adapters == NULL,
             "tp_gpt_step: the cache decodes pre-LN blocks without depth "
             "options, experts or adapters only (merge adapters first)");
    tp_graph g = tp_graph_on(scratch);
    tp_set_grad(&g, false);
    tp_tensor *x = tp_embedding(&g, m->wte, &token, tp_shape2(1, 1));
    x = tp_position_embed(&g, &m->encoding, m->wpe, x, c->length);
    for (int l = 0; l < m->config.n_layer; l++) {
        const tp_block *b = &m->blocks[l];
        x = tp_add(&g, x, cached_attention(&g, m, l, c, tp_block_norm(
                                &g, x, b->ln_1_w, b->ln_1_b)));
        x = tp_add(&g, x, decode_mlp(&g, m, b, tp_block_norm(
                                &g, x, b->ln_2_w, b->ln_2_b)));
    }
    c->length++;
    x = tp_block_norm(&g, x, m->ln_f_w, m->ln_f_b);
    return tp_matmul(&g, x, tp_transpose(g.arena, m->wte, 0, 1))->data;
}
/* <<gpt: decoding with a cache>> */
static tp_tensor *extend_attention(tp_graph *g, const tp_gpt *m, int layer,
                                   tp_kv_attend *attend, void *store, int at,
                                   tp_tensor *x)
{
    const tp_block *b = &m->blocks[layer];
    tp_tensor *qkv = decode_linear(g, m, x, b->c_attn_w, b->c_attn_b);
    tp_tensor *views[3];
    tp_split_qkv(g, qkv, m->config.n_head, m->modern.kv_heads, views);
    tp_tensor *o = attend(store, g, layer, at, views[0], views[1], views[2]);
    return decode_linear(g, m, tp_merge_heads(g, o), b->c_proj_w,
                         b->c_proj_b);
}
/* <<gpt: decoding with a cache>> */
const float *tp_gpt_extend_with(tp_gpt *m, tp_kv_attend *attend, void *store,
                                int at, const int *tokens, int n,
                                tp_arena *scratch)
{
    tp_check(n >= 1 && at >= 0 && at + n <= m->config.n_positions,
             "tp_gpt_extend: %d tokens at position %d, but the model has %d "
             "positions", n, at, m->config.n_positions);
    tp_position_kind kind = m->config.positions;
    tp_check((kind == TP_POSITIONS_LEARNED || kind == TP_POSITIONS_ROPE)
                 && !m->post_ln && m->depth == NULL && !m->modern.no_mlp
                 && m->adapters == NULL,
             "tp_gpt_extend: only for GPT-2's block with learned or rotary "
             "positions, not %s positions", tp_position_name(kind));
    tp_graph g = tp_graph_on(scratch);
    tp_set_grad(&g, false);
    tp_tensor *x = tp_position_embed(&g, &m->encoding, m->wpe,
                                     tp_embedding(&g, m->wte, tokens,
                                                  tp_shape2(1, n)), at);
    /* <<gpt extend: the blocks and the head>> */
    for (int l = 0; l < m->config.n_layer; l++) {
        const tp_block *b = &m->blocks[l];
        x = tp_add(&g, x, extend_attention(&g, m, l, attend, store, at,
                                           tp_block_norm(&g, x, b->ln_1_w,
                                                         b->ln_1_b)));
        x = tp_add(&g, x, decode_mlp(&g, m, b, tp_block_norm(
                                &g, x, b->ln_2_w, b->ln_2_b)));
    }
    x = tp_block_norm(&g, x, m->ln_f_w, m->ln_f_b);
    return tp_matmul(&g, x, tp_transpose(g.arena, m->wte, 0, 1))->data;
}
/* <<gpt: decoding with a cache>> */
static tp_tensor *cache_attend(void *store, tp_graph *g, int layer, int at,
                               tp_tensor *q, tp_tensor *k, tp_tensor *v)
{
    tp_gpt_cache *c = store;
    int n = q->shape.dim[2];
    tp_tensor kt = *tp_slice(g->arena, c->k[layer], 2, at, n);
    tp_tensor vt = *tp_slice(g->arena, c->v[layer], 2, at, n);
    tp_copy(&kt, k);
    tp_copy(&vt, v);
    tp_attention_options causal = {.causal = true};
    return tp_attention(g, q, tp_slice(g->arena, c->k[layer], 2, 0, at + n),
                        tp_slice(g->arena, c->v[layer], 2, 0, at + n), &causal);
}

const float *tp_gpt_extend(tp_gpt *m, tp_gpt_cache *c, const int *tokens,
                           int n, tp_arena *scratch)
{
    tp_check(n >= 1 && c->length + n <= c->capacity,
             "the KV cache holds %d of %d positions: no room for %d more",
             c->length, c->capacity, n);
    tp_check(m->config.positions == TP_POSITIONS_LEARNED,
             "tp_gpt_extend: this cache does not rotate keys (%s positions)",
             tp_position_name(m->config.positions));
    const float *logits = tp_gpt_extend_with(m, cache_attend, c, c->length,
                                             tokens, n, scratch);
    c->length += n;
    return logits;
}

/* <<gpt: sampling>> */
typedef struct candidate {
    int id;
    double p;
} candidate;

static int by_probability(const void *a, const void *b)
{
    double x = ((const candidate *)a)->p, y = ((const candidate *)b)->p;
    if (x != y)
        return x < y ? 1 : -1;
    return ((const candidate *)a)->id - ((const candidate *)b)->id;
}
/* <<gpt: sampling>> */
int tp_gpt_sample_token(const float *logits, int vocab, float temperature,
                        int top_k, float top_p, tp_rng *rng)
{
    int best = 0;
    for (int i = 1; i < vocab; i++)
        best = logits[i] > logits[best] ? i : best;
    if (temperature <= 0.0f)
        return best;
    candidate *c = malloc((size_t)vocab * sizeof *c);
    tp_check(c != NULL, "out of memory");
    double total = 0.0;
    for (int i = 0; i < vocab; i++) {
        c[i] = (candidate){i, exp((logits[i] - logits[best]) / temperature)};
        total += c[i].p;
    }
    qsort(c, (size_t)vocab, sizeof *c, by_probability);
    /* <<solution: gpt.top-k-top-p>> */
    int keep = top_k > 0 && top_k < vocab ? top_k : vocab;
    double mass = 0.0;
    for (int i = 0; i < keep; i++) {
        mass += c[i].p / total;
        if (mass >= top_p) {
            keep = i + 1;
            break;
        }
    }
    double kept = 0.0;
    for (int i = 0; i < keep; i++)
        kept += c[i].p;
    double r = tp_rng_uniform(rng) * kept;
    int chosen = c[keep - 1].id;
    for (int i = 0; i < keep; i++) {
        r -= c[i].p;
        if (r < 0) {
            chosen = c[i].id;
            break;
        }
    }
    free(c);
    return chosen;
}

/* <<gpt: saving and loading>> */
static const char *const config_keys[5] = {"vocab_size", "n_positions",
                                           "n_layer", "n_head", "n_embd"};

static int *config_field(tp_gpt_config *c, int i)
{
    int *fields[5] = {&c->vocab_size, &c->n_positions, &c->n_layer,
                      &c->n_head, &c->n_embd};
    return fields[i];
}
/* <<gpt: saving and loading>> */
int tp_gpt_save(const tp_gpt *m, const char *path, const tp_param *extra,
                int n_extra, const tp_metadata *metadata, tp_error *error)
{
    tp_metadata meta = metadata ? *metadata : (tp_metadata){0};
    tp_gpt_config config = m->config;
    for (int i = 0; i < 5; i++) {
        char value[16];
        snprintf(value, sizeof value, "%d", *config_field(&config, i));
        tp_metadata_set(&meta, config_keys[i], value);
    }
    tp_metadata_set(&meta, "positions", tp_position_name(config.positions));
    char kv[16];
    snprintf(kv, sizeof kv, "%d", m->modern.kv_heads);
    tp_metadata_set(&meta, "n_kv_head", kv);
    tp_metadata_set(&meta, "norm", m->modern.rms_norm ? "rmsnorm" : "layernorm");
    tp_metadata_set(&meta, "mlp", !m->modern.no_mlp ? (m->modern.swiglu
                                                       ? "swiglu" : "gelu")
                                  : m->mlp != NULL ? "none" : "attention-only");
    for (int i = 0; m->mlp_metadata != NULL && i < m->mlp_metadata->count; i++)
        tp_metadata_set(&meta, m->mlp_metadata->entries[i].key,
                        m->mlp_metadata->entries[i].value);
    int n = m->params.count;
    tp_param *all = malloc(((size_t)n + (size_t)n_extra) * sizeof *all);
    tp_check(all != NULL, "out of memory");
    memcpy(all, m->params.items, (size_t)n * sizeof *all);
    if (n_extra > 0)
        memcpy(all + n, extra, (size_t)n_extra * sizeof *all);
    int status = tp_safetensors_save(path, all, n + n_extra, &meta, error);
    free(all);
    return status;
}
/* <<gpt: saving and loading>> */
static int config_from_json(const char *path, tp_metadata *meta,
                            tp_error *error)
{
    char json_path[4096];
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path) + 1 : 0;
    snprintf(json_path, sizeof json_path, "%.*sconfig.json", dir, path);
    tp_corpus text;
    if (tp_corpus_load(json_path, &text, error) != 0)
        return -1;
    cJSON *root = cJSON_ParseWithLength((const char *)text.bytes,
                                        (size_t)text.size);
    tp_corpus_free(&text);
    int status = root != NULL ? 0 : tp_error_set(error, "%s is not JSON",
                                                 json_path);
    for (int i = 0; i < 5 && status == 0; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, config_keys[i]);
        long n = tp_json_whole_number(v, INT_MAX);
        char value[16];
        snprintf(value, sizeof value, "%ld", n);
        if (v != NULL && n < 0)
            status = tp_error_set(error, "%s: %s is not a whole number",
                                  json_path, config_keys[i]);
        else if (v != NULL)
            tp_metadata_set(meta, config_keys[i], value);
    }
    cJSON_Delete(root);
    return status;
}
/* <<gpt: saving and loading>> */
static const long config_limits[5] = {1 << 20, 1 << 20, 1024, 1024, 1 << 16};

static int config_number(const char *path, const tp_metadata *meta, int i,
                         int *value, tp_error *error)
{
    if (tp_metadata_get(meta, config_keys[i]) == NULL)
        return tp_error_set(error, "%s has no GPT configuration (no %s in its "
                            "metadata or its config.json)", path,
                            config_keys[i]);
    long n;
    if (tp_metadata_number(meta, path, config_keys[i], 1, config_limits[i], &n,
                           error) != 0)
        return -1;
    *value = (int)n;
    return 0;
}

static int config_positions(const char *path, const tp_metadata *meta,
                            tp_position_kind *kind, tp_error *error)
{
    const char *name = tp_metadata_get(meta, "positions");
    *kind = TP_POSITIONS_LEARNED;
    if (name != NULL && tp_position_parse(name, kind, error) != 0) {
        char why[sizeof error->message];
        snprintf(why, sizeof why, "%s", error->message);
        return tp_error_set(error, "%s: %s", path, why);
    }
    return 0;
}

/* A checkpoint from before the keys, or GPT-2's own, has GPT-2's block. */
static int config_choice(const char *path, const tp_metadata *meta,
                         const char *key, const char *usual,
                         const char *other, bool *chosen, tp_error *error)
{
    const char *value = tp_metadata_get(meta, key);
    *chosen = value != NULL && strcmp(value, other) == 0;
    if (value != NULL && !*chosen && strcmp(value, usual) != 0)
        return tp_error_set(error, "%s: %s is \"%s\", not %s or %s", path,
                            key, value, usual, other);
    return 0;
}

static int config_modern(const char *path, const tp_metadata *meta,
                         const char *hooked, const tp_gpt_config *config,
                         tp_gpt_modern *modern, tp_error *error)
{
    long n = config->n_head;
    if (tp_metadata_get(meta, "n_kv_head") != NULL
        && tp_metadata_number(meta, path, "n_kv_head", 1, config->n_head, &n,
                              error) != 0)
        return -1;
    if (config->n_head % n != 0)
        return tp_error_set(error, "%s: %ld key-value heads do not divide %d "
                            "heads", path, n, config->n_head);
    modern->kv_heads = (int)n;
    const char *mlp = tp_metadata_get(meta, "mlp");
    if (hooked != NULL && (mlp == NULL || strcmp(mlp, hooked) != 0))
        return tp_error_set(error, "%s: mlp is \"%s\", not %s", path,
                            mlp != NULL ? mlp : "gelu", hooked);
    modern->no_mlp = hooked != NULL
                     || (mlp != NULL && strcmp(mlp, "attention-only") == 0);
    return config_choice(path, meta, "norm", "layernorm", "rmsnorm",
                         &modern->rms_norm, error)
                   || (!modern->no_mlp
                       && config_choice(path, meta, "mlp", "gelu", "swiglu",
                                        &modern->swiglu, error))
               ? -1 : 0;
}

static int check_file_holds(const char *path, const tp_gpt_config *c,
                            tp_error *error)
{
    double width = c->n_embd;
    double table = c->positions == TP_POSITIONS_LEARNED ? c->n_positions : 0;
    double parameters = ((double)c->vocab_size + table + 2) * width
                        + c->n_layer * (12 * width * width + 13 * width);
    struct stat s;
    if (stat(path, &s) != 0 || parameters > (double)s.st_size)
        return tp_error_set(error, "%s: its configuration makes a model of "
                            "%.0f parameters, more than the file can hold",
                            path, parameters);
    return 0;
}
/* <<gpt: saving and loading>> */
static tp_gpt *load_gpt(const char *path, const char *hooked,
                        tp_metadata *metadata, tp_error *error)
{
    tp_metadata meta = {0};
    if (tp_safetensors_load(path, NULL, 0, &meta, error) != 0)
        return NULL;
    if (tp_metadata_get(&meta, "n_embd") == NULL
        && config_from_json(path, &meta, error) != 0)
        return NULL;
    tp_gpt_config config;
    for (int i = 0; i < 5; i++)
        if (config_number(path, &meta, i, config_field(&config, i), error))
            return NULL;
    if (config_positions(path, &meta, &config.positions, error) != 0)
        return NULL;
    if (config.n_embd % config.n_head != 0) {
        tp_error_set(error, "%s: %d heads do not divide the width %d", path,
                     config.n_head, config.n_embd);
        return NULL;
    }
    tp_gpt_modern modern = {0};
    if (config_modern(path, &meta, hooked, &config, &modern, error) != 0)
        return NULL;
    if (check_file_holds(path, &config, error) != 0)
        return NULL;
    tp_gpt *m = tp_gpt_new_modern(config, modern);
    if (tp_safetensors_load(path, m->params.items, m->params.count, NULL,
                            error) != 0) {
        tp_gpt_free(m);
        return NULL;
    }
    if (metadata != NULL)
        *metadata = meta;
    return m;
}

tp_gpt *tp_gpt_load(const char *path, tp_metadata *metadata, tp_error *error)
{
    return load_gpt(path, NULL, metadata, error);
}

tp_gpt *tp_gpt_load_hooked(const char *path, const char *mlp,
                           tp_metadata *metadata, tp_error *error)
{
    return load_gpt(path, mlp, metadata, error);
}
/* <<gpt: saving and loading>> */
static tp_param *moment_tensors(const tp_gpt *m, const tp_optimizer *opt,
                                tp_arena *arena)
{
    int n = m->params.count;
    tp_param *t = tp_arena_zeroed(arena, 2 * (size_t)n, sizeof *t);
    for (int i = 0; i < 2 * n; i++) {
        const tp_param *p = &m->params.items[i % n];
        int length = snprintf(t[i].name, sizeof t[i].name, "optimizer.%c.%s",
                              i < n ? 'm' : 'v', p->name);
        tp_check(length < (int)sizeof t[i].name,
                 "the name %s is too long for its optimiser state", p->name);
        t[i].tensor = tp_tensor_empty(arena, tp_shape1(1), TP_NO_GRAD);
        *t[i].tensor = *p->tensor;
        t[i].tensor->data = tp_optimizer_state(opt, i % n, i / n);
        t[i].tensor->grad = NULL;
    }
    return t;
}
/* <<gpt: saving and loading>> */
int tp_gpt_save_run(const char *path, const tp_gpt *m,
                    const tp_optimizer *opt, const tp_rng *data,
                    tp_error *error)
{
    tp_arena *arena = tp_arena_new("checkpoint");
    tp_metadata meta = {0};
    char text[32];
    snprintf(text, sizeof text, "%ld", tp_optimizer_steps(opt));
    tp_metadata_set(&meta, "optimizer.steps", text);
    snprintf(text, sizeof text, "%llu", (unsigned long long)data->state);
    tp_metadata_set(&meta, "data.rng.state", text);
    snprintf(text, sizeof text, "%llu", (unsigned long long)data->increment);
    tp_metadata_set(&meta, "data.rng.increment", text);
    int status = tp_gpt_save(m, path, moment_tensors(m, opt, arena),
                             2 * m->params.count, &meta, error);
    tp_arena_free(arena);
    return status;
}
/* <<gpt: saving and loading>> */
static int read_u64(const char *text, uint64_t *value)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || errno != 0)
        return -1;
    *value = (uint64_t)n;
    return 0;
}
/* <<gpt: saving and loading>> */
int tp_gpt_load_run(const char *path, const tp_gpt *m, tp_optimizer *opt,
                    tp_rng *data, tp_error *error)
{
    tp_arena *arena = tp_arena_new("checkpoint");
    tp_metadata meta = {0};
    int status = tp_safetensors_load(path, moment_tensors(m, opt, arena),
                                     2 * m->params.count, &meta, error);
    const char *steps = tp_metadata_get(&meta, "optimizer.steps");
    const char *state = tp_metadata_get(&meta, "data.rng.state");
    const char *increment = tp_metadata_get(&meta, "data.rng.increment");
    if (status == 0 && (steps == NULL || state == NULL || increment == NULL))
        status = tp_error_set(error, "%s is a model, not a training run: it "
                              "has no optimiser state", path);
    long done = 0;
    tp_rng saved = {0};
    if (status == 0)
        status = tp_metadata_number(&meta, path, "optimizer.steps", 0,
                                    LONG_MAX, &done, error);
    if (status == 0 && (read_u64(state, &saved.state) != 0
                        || read_u64(increment, &saved.increment) != 0))
        status = tp_error_set(error, "%s: the state of its data generator is "
                              "not two whole numbers", path);
    if (status == 0) {
        tp_optimizer_set_steps(opt, done);
        *data = saved;
    }
    tp_arena_free(arena);
    return status;
}

/* <<gpt: the operators' classes>> */
const char *const tp_gpt_op_class_names[TP_OPS_CLASSES] = {
    "products", "attention", "LayerNorm", "GELU", "residual adds",
    "cross-entropy", "other"};

tp_gpt_op_class tp_gpt_op_class_of(const char *op)
{
    static const struct {
        const char *op;
        tp_gpt_op_class class;
    } known[] = {
        {"matmul", TP_OPS_PRODUCTS}, {"attention", TP_OPS_ATTENTION},
        {"layernorm", TP_OPS_NORMS}, {"rmsnorm", TP_OPS_NORMS},
        {"tp_gelu_tanh", TP_OPS_ACTIVATION}, {"tp_gelu", TP_OPS_ACTIVATION},
        {"tp_silu", TP_OPS_ACTIVATION}, {"tp_relu", TP_OPS_ACTIVATION},
        {"add", TP_OPS_RESIDUALS}, {"residual", TP_OPS_RESIDUALS},
        {"cross_entropy", TP_OPS_LOSS},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(op, known[i].op) == 0)
            return known[i].class;
    return TP_OPS_OTHER;
}
