/* Generated from book/208-vanilla.nw; edit the book, not this file. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/ops.h"
#include "tp/vanilla.h"

/* <<vanilla: making the model>> */
static bool valid(const tp_vanilla_config *c)
{
    return c->source_vocab > 0 && c->target_vocab > TP_EOS
           && c->n_positions > 0 && c->n_layer > 0 && c->n_head > 0
           && c->n_embd > 0 && c->n_embd % (2 * c->n_head) == 0
           && c->n_inner > 0;
}

tp_vanilla *tp_vanilla_new(tp_vanilla_config c)
{
    tp_check(valid(&c), "a vanilla Transformer needs positive sizes, more "
             "than 3 target ids, and an even head size (%d heads, width %d)",
             c.n_head, c.n_embd);
    tp_vanilla *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->config = c;
    m->arena = tp_arena_new("vanilla parameters");
    m->encoder = tp_arena_zeroed(m->arena, (size_t)c.n_layer, sizeof(tp_block));
    m->decoder = tp_arena_zeroed(m->arena, (size_t)c.n_layer, sizeof(tp_block));
    m->source_wte = tp_param_new(&m->params, m->arena, "encoder.wte.weight",
                                 tp_shape2(c.source_vocab, c.n_embd));
    m->target_wte = tp_param_new(&m->params, m->arena, "decoder.wte.weight",
                                 tp_shape2(c.target_vocab, c.n_embd));
    for (int i = 0; i < c.n_layer; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "encoder.h.%d.", i);
        tp_block_make(&m->encoder[i], &m->params, m->arena, prefix, c.n_embd,
                      c.n_inner, false);
        snprintf(prefix, sizeof prefix, "decoder.h.%d.", i);
        tp_block_make(&m->decoder[i], &m->params, m->arena, prefix, c.n_embd,
                      c.n_inner, true);
    }
    /* <<vanilla: the final normalisations of pre-LN>> */
    if (!c.post_ln) {
        int w = c.n_embd;
        m->ln_e_w = tp_param_new(&m->params, m->arena, "encoder.ln_f.weight",
                                 tp_shape1(w));
        m->ln_e_b = tp_param_new(&m->params, m->arena, "encoder.ln_f.bias",
                                 tp_shape1(w));
        m->ln_d_w = tp_param_new(&m->params, m->arena, "decoder.ln_f.weight",
                                 tp_shape1(w));
        m->ln_d_b = tp_param_new(&m->params, m->arena, "decoder.ln_f.bias",
                                 tp_shape1(w));
    }
    m->sinusoids = tp_sinusoids(m->arena, c.n_positions, c.n_embd);
    m->activation = tp_relu;
    return m;
}
/* <<vanilla: making the model>> */
void tp_vanilla_init(tp_vanilla *m, tp_rng *rng)
{
    tp_init_gpt2(&m->params, rng, 3 * m->config.n_layer);
}

void tp_vanilla_free(tp_vanilla *m)
{
    if (m == NULL)
        return;
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
    free(m);
}

/* <<vanilla: the forward pass>> */
static tp_tensor *embed(tp_graph *g, tp_vanilla *m, tp_tensor *table,
                        const int *ids, int batch, int length)
{
    tp_check(length >= 1 && length <= m->config.n_positions,
             "the vanilla Transformer: %d tokens, but %d positions", length,
             m->config.n_positions);
    tp_tensor *x = tp_embedding(g, table, ids, tp_shape2(batch, length));
    return tp_add(g, tp_scale(g, x, sqrtf((float)m->config.n_embd)),
                  tp_slice(g->arena, m->sinusoids, 0, 0, length));
}

static tp_block_options options(const tp_vanilla *m)
{
    return (tp_block_options){.heads = m->config.n_head,
                              .post_ln = m->config.post_ln != 0,
                              .activation = m->activation};
}
/* <<vanilla: the forward pass>> */
static const unsigned char *target_padding(tp_graph *g, const int *target,
                                           int batch, int length)
{
    long n = (long)batch * length;
    unsigned char *padding = tp_arena_alloc(g->arena, (size_t)n);
    for (long i = 0; i < n; i++)
        padding[i] = target[i] == TP_PAD;
    return padding;
}
/* <<vanilla: the forward pass>> */
tp_tensor *tp_vanilla_encode(tp_graph *g, tp_vanilla *m, const tp_source *s)
{
    tp_tensor *x = embed(g, m, m->source_wte, s->tokens, s->batch, s->length);
    tp_block_options o = options(m);
    o.self.key_padding = s->padding;
    for (int i = 0; i < m->config.n_layer; i++)
        x = tp_block_forward(g, &m->encoder[i], x, NULL, &o);
    if (!m->config.post_ln)
        x = tp_layernorm(g, x, m->ln_e_w, m->ln_e_b, 1e-5f);
    return x;
}

tp_tensor *tp_vanilla_decode(tp_graph *g, tp_vanilla *m, tp_tensor *memory,
                             const tp_source *s, const int *target,
                             int length, tp_tensor **cross)
{
    tp_tensor *x = embed(g, m, m->target_wte, target, s->batch, length);
    tp_block_options o = options(m);
    o.self.causal = !m->decoder_sees_all;
    if (m->decoder_sees_all)
        o.self.key_padding = target_padding(g, target, s->batch, length);
    o.cross.key_padding = s->padding;
    for (int i = 0; i < m->config.n_layer; i++) {
        o.cross.weights = cross != NULL ? &cross[i] : NULL;
        x = tp_block_forward(g, &m->decoder[i], x, memory, &o);
    }
    if (!m->config.post_ln)
        x = tp_layernorm(g, x, m->ln_d_w, m->ln_d_b, 1e-5f);
    return tp_matmul(g, x, tp_transpose(g->arena, m->target_wte, 0, 1));
}
/* <<vanilla: the forward pass>> */
tp_tensor *tp_vanilla_loss(tp_graph *g, tp_vanilla *m, const tp_source *s,
                           const int *target, int length, float smoothing)
{
    tp_check(length >= 2, "tp_vanilla_loss: targets of %d tokens", length);
    int n = length - 1;
    int *in = tp_arena_alloc(g->arena, (size_t)s->batch * (size_t)n * sizeof *in);
    int *out = tp_arena_alloc(g->arena, (size_t)s->batch * (size_t)n * sizeof *out);
    for (int b = 0; b < s->batch; b++) {
        memcpy(in + (long)b * n, target + (long)b * length, (size_t)n * sizeof *in);
        memcpy(out + (long)b * n, target + (long)b * length + 1,
               (size_t)n * sizeof *out);
    }
    tp_tensor *memory = tp_vanilla_encode(g, m, s);
    tp_tensor *logits = tp_vanilla_decode(g, m, memory, s, in, n, NULL);
    return tp_cross_entropy_smoothed(g, logits, out, TP_PAD, smoothing);
}

/* <<vanilla: greedy and beam search>> */
static void next_log_probs(tp_vanilla *m, tp_tensor *memory, int rows,
                           const int *prefixes, int length, float *out)
{
    tp_arena *arena = tp_arena_new("decoding step");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    int s = memory->shape.dim[1], c = memory->shape.dim[2];
    int v = m->config.target_vocab;
    tp_tensor *repeated = tp_tensor_new(arena, tp_shape3(rows, s, c),
                                        TP_NO_GRAD);
    for (int r = 0; r < rows; r++)
        memcpy(repeated->data + (long)r * s * c, memory->data,
               (size_t)s * (size_t)c * sizeof(float));
    tp_source source = {.batch = rows, .length = s};
    tp_tensor *logits = tp_log_softmax(&g, tp_vanilla_decode(
        &g, m, repeated, &source, prefixes, length, NULL));
    for (int r = 0; r < rows; r++)
        memcpy(out + (long)r * v,
               logits->data + ((long)r * length + length - 1) * v,
               (size_t)v * sizeof *out);
    tp_arena_free(arena);
}
/* <<vanilla: greedy and beam search>> */
static tp_tensor *memory_of(tp_vanilla *m, tp_graph *g, const int *source,
                            int length)
{
    tp_set_grad(g, false);
    return tp_vanilla_encode(g, m, &(tp_source){.tokens = source, .batch = 1,
                                                .length = length});
}

int tp_vanilla_greedy(tp_vanilla *m, const int *source, int length, int max,
                      int *out)
{
    tp_arena *arena = tp_arena_new("greedy");
    tp_graph g = tp_graph_on(arena);
    tp_tensor *memory = memory_of(m, &g, source, length);
    int v = m->config.target_vocab, limit = m->config.n_positions - 1;
    int *prefix = tp_arena_alloc(arena, (size_t)(limit + 1) * sizeof *prefix);
    float *p = tp_arena_alloc(arena, (size_t)v * sizeof *p);
    int n = 0;
    prefix[0] = TP_BOS;
    while (n < max && n < limit) {
        next_log_probs(m, memory, 1, prefix, n + 1, p);
        int best = 0;
        for (int j = 1; j < v; j++)
            best = p[j] > p[best] ? j : best;
        if (best == TP_EOS)
            break;
        prefix[n + 1] = best, out[n++] = best;
    }
    tp_arena_free(arena);
    return n;
}
/* <<vanilla: greedy and beam search>> */
typedef struct hypothesis {
    double score;
    int token, parent;  /* the last token, and the prefix it extends */
} hypothesis;

static int by_score(const void *a, const void *b)
{
    double x = ((const hypothesis *)a)->score, y = ((const hypothesis *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}
/* <<vanilla: greedy and beam search>> */
int tp_vanilla_beam(tp_vanilla *m, const int *source, int length, int width,
                    int max, int *out)
{
    tp_check(width >= 1, "tp_vanilla_beam: a beam of width %d", width);
    tp_arena *arena = tp_arena_new("beam");
    tp_graph g = tp_graph_on(arena);
    tp_tensor *memory = memory_of(m, &g, source, length);
    int v = m->config.target_vocab, limit = m->config.n_positions - 1;
    int steps = max < limit ? max : limit, stride = steps + 1;
    int *alive = tp_arena_zeroed(arena, (size_t)width * stride, sizeof(int));
    int *next = tp_arena_zeroed(arena, (size_t)width * stride, sizeof(int));
    double *scores = tp_arena_zeroed(arena, (size_t)width, sizeof(double));
    float *p = tp_arena_alloc(arena, (size_t)width * v * sizeof *p);
    hypothesis *c = tp_arena_alloc(arena, (size_t)width * v * sizeof *c);
    double best = -DBL_MAX;
    int living = 1, n = 0;
    alive[0] = TP_BOS;
    for (int t = 0; living > 0; t++) {
        if (t == steps) {
            /* <<beam: the prefixes that reach the limit end there>> */
            if (scores[0] > best) {
                best = scores[0], n = steps;
                memcpy(out, alive + 1, (size_t)steps * sizeof *out);
            }
            break;
        }
        /* <<beam: extend every living prefix and keep the best>> */
        next_log_probs(m, memory, living, alive, t + 1, p);
        int candidates = 0;
        for (int r = 0; r < living; r++)
            for (int j = 0; j < v; j++)
                c[candidates++] = (hypothesis){scores[r] + p[(long)r * v + j], j, r};
        qsort(c, (size_t)candidates, sizeof *c, by_score);
        int kept = 0;
        for (int i = 0; i < candidates && kept < width && c[i].score > best; i++) {
            const int *parent = alive + (long)c[i].parent * stride;
            if (c[i].token == TP_EOS) {
                best = c[i].score, n = t;
                memcpy(out, parent + 1, (size_t)t * sizeof *out);
            } else {
                memcpy(next + (long)kept * stride, parent, (size_t)(t + 1) * sizeof(int));
                next[(long)kept * stride + t + 1] = c[i].token;
                scores[kept++] = c[i].score;
            }
        }
        int *swap = alive;
        alive = next, next = swap, living = kept;
    }
    tp_arena_free(arena);
    return n;
}

/* <<vanilla: saving and loading>> */
static int config_fields(tp_vanilla_config *c, tp_config_field *f)
{
    const tp_config_field all[] = {
        {"source_vocab", &c->source_vocab}, {"target_vocab", &c->target_vocab},
        {"n_positions", &c->n_positions}, {"n_layer", &c->n_layer},
        {"n_head", &c->n_head}, {"n_embd", &c->n_embd},
        {"n_inner", &c->n_inner}, {"post_ln", &c->post_ln}};
    memcpy(f, all, sizeof all);
    return (int)(sizeof all / sizeof *all);
}

int tp_vanilla_save(const tp_vanilla *m, const char *path, tp_error *error)
{
    tp_vanilla_config c = m->config;
    tp_config_field f[8];
    return tp_model_save(&m->params, "vanilla", f, config_fields(&c, f), path,
                         error);
}
/* <<vanilla: saving and loading>> */
tp_vanilla *tp_vanilla_load(const char *path, tp_error *error)
{
    tp_vanilla_config c;
    tp_config_field f[8];
    if (tp_model_config(path, "vanilla", f, config_fields(&c, f), error) != 0)
        return NULL;
    if (!valid(&c) || c.n_positions > 65536) {
        tp_error_set(error, "%s: an impossible configuration", path);
        return NULL;
    }
    double width = c.n_embd;  /* the products alone, in both stacks */
    if (tp_model_fits(path, (double)(c.source_vocab + c.target_vocab) * width
                                + c.n_layer * (12 * width * width
                                               + 4 * width * c.n_inner),
                      error) != 0)
        return NULL;
    tp_vanilla *m = tp_vanilla_new(c);
    if (tp_safetensors_load(path, m->params.items, m->params.count, NULL,
                            error) != 0) {
        tp_vanilla_free(m);
        return NULL;
    }
    return m;
}
