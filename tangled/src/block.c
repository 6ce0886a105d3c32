/* Generated from book/208-vanilla.nw; edit the book, not this file. */
#include <limits.h>
#include <math.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/block.h"
#include "tp/ops.h"
#include "tp/smoothing.h"

/* <<block: making a block>> */
typedef struct maker {
    tp_params *params;
    tp_arena *arena;
    const char *prefix;
} maker;

static tp_tensor *make(const maker *m, const char *name, int rows, int cols)
{
    char full[64];
    int n = snprintf(full, sizeof full, "%s%s", m->prefix, name);
    tp_check(n < (int)sizeof full, "the parameter name %s%s is too long",
             m->prefix, name);
    return tp_param_new(m->params, m->arena, full,
                        cols > 0 ? tp_shape2(rows, cols) : tp_shape1(rows));
}
/* <<block: making a block>> */
static void make_block(tp_block *b, tp_params *params, tp_arena *arena,
                       const char *prefix, int width, int hidden, bool cross,
                       const tp_block_variant *v)
{
    const maker m = {params, arena, prefix};
    int c = width, kv_width = v->kv_width > 0 ? v->kv_width : width;
    *b = (tp_block){0};
    b->ln_1_w = make(&m, "ln_1.weight", c, 0);
    if (!v->rms_norm)
        b->ln_1_b = make(&m, "ln_1.bias", c, 0);
    b->c_attn_w = make(&m, "attn.c_attn.weight", c, c + 2 * kv_width);
    b->c_attn_b = make(&m, "attn.c_attn.bias", c + 2 * kv_width, 0);
    b->c_proj_w = make(&m, "attn.c_proj.weight", c, c);
    b->c_proj_b = make(&m, "attn.c_proj.bias", c, 0);
    if (cross) {
        /* <<block: make the cross-attention>> */
        b->ln_x_w = make(&m, "ln_cross_attn.weight", c, 0);
        b->ln_x_b = make(&m, "ln_cross_attn.bias", c, 0);
        b->q_attn_w = make(&m, "crossattention.q_attn.weight", c, c);
        b->q_attn_b = make(&m, "crossattention.q_attn.bias", c, 0);
        b->kv_attn_w = make(&m, "crossattention.c_attn.weight", c, 2 * c);
        b->kv_attn_b = make(&m, "crossattention.c_attn.bias", 2 * c, 0);
        b->x_proj_w = make(&m, "crossattention.c_proj.weight", c, c);
        b->x_proj_b = make(&m, "crossattention.c_proj.bias", c, 0);
    }
    b->ln_2_w = make(&m, "ln_2.weight", c, 0);
    if (!v->rms_norm)
        b->ln_2_b = make(&m, "ln_2.bias", c, 0);
    if (v->no_mlp)
        return;
    if (v->swiglu)
        b->mlp_gate_w = make(&m, "mlp.c_gate.weight", c, hidden);
    b->c_fc_w = make(&m, "mlp.c_fc.weight", c, hidden);
    b->c_fc_b = make(&m, "mlp.c_fc.bias", hidden, 0);
    b->mlp_proj_w = make(&m, "mlp.c_proj.weight", hidden, c);
    b->mlp_proj_b = make(&m, "mlp.c_proj.bias", c, 0);
}
/* <<block: making a block>> */
void tp_block_make(tp_block *b, tp_params *params, tp_arena *arena,
                   const char *prefix, int width, int hidden, bool cross)
{
    make_block(b, params, arena, prefix, width, hidden, cross,
               &(tp_block_variant){0});
}

void tp_block_make_variant(tp_block *b, tp_params *params, tp_arena *arena,
                           const char *prefix, int width, int hidden,
                           const tp_block_variant *variant)
{
    tp_check(variant->kv_width >= 0 && variant->kv_width <= width,
             "tp_block_make_variant: keys and values of width %d for "
             "queries of width %d", variant->kv_width, width);
    make_block(b, params, arena, prefix, width, hidden, false, variant);
}
/* <<block: making a block>> */
void tp_init_gpt2(const tp_params *params, tp_rng *rng, int layers)
{
    float residual = 0.02f / sqrtf(2.0f * (float)layers);
    for (int i = 0; i < params->count; i++) {
        const tp_param *p = &params->items[i];
        bool projection = strstr(p->name, "c_proj.weight") != NULL;
        if (strstr(p->name, "ln_") != NULL && strstr(p->name, ".weight"))
            tp_fill(p->tensor, 1.0f);
        else if (p->tensor->shape.ndim == 1)
            tp_fill(p->tensor, 0.0f);
        else
            tp_fill_normal(p->tensor, rng, 0.0f,
                           projection ? residual : 0.02f);
    }
}

/* <<block: heads>> */
static tp_tensor *head_view(tp_graph *g, tp_tensor *packed, int offset,
                            int heads, int d)
{
    int b = packed->shape.dim[0], t = packed->shape.dim[1];
    int all = packed->shape.dim[2];
    tp_tensor *view = tp_arena_alloc(g->arena, sizeof *view);
    *view = *packed;
    view->shape = tp_shape4(b, heads, t, d);
    view->stride[0] = (long)t * all, view->stride[1] = d;
    view->stride[2] = all, view->stride[3] = 1;
    view->data += offset;
    if (view->grad != NULL)
        view->grad += offset;
    return view;
}

tp_tensor *tp_split_heads(tp_graph *g, tp_tensor *packed, int which,
                          int parts, int heads)
{
    const tp_shape s = packed->shape;
    tp_check(s.ndim == 3 && tp_tensor_is_contiguous(packed) && parts >= 1
                 && which >= 0 && which < parts
                 && s.dim[2] % (parts * heads) == 0,
             "tp_split_heads: part %d of %d, %d heads, of a %s tensor",
             which, parts, heads, tp_shape_str(s).text);
    int c = s.dim[2] / parts;
    return head_view(g, packed, which * c, heads, c / heads);
}
/* <<block: heads>> */
void tp_split_qkv(tp_graph *g, tp_tensor *qkv, int heads, int kv_heads,
                  tp_tensor *views[3])
{
    const tp_shape s = qkv->shape;
    int d = kv_heads >= 1 && heads % kv_heads == 0
                    && s.dim[2] % (heads + 2 * kv_heads) == 0
                ? s.dim[2] / (heads + 2 * kv_heads) : 0;
    tp_check(s.ndim == 3 && tp_tensor_is_contiguous(qkv) && d > 0,
             "tp_split_qkv: %d query heads and %d key-value heads of a %s "
             "tensor", heads, kv_heads, tp_shape_str(s).text);
    views[0] = head_view(g, qkv, 0, heads, d);
    views[1] = head_view(g, qkv, heads * d, kv_heads, d);
    views[2] = head_view(g, qkv, (heads + kv_heads) * d, kv_heads, d);
}
/* <<block: heads>> */
tp_tensor *tp_merge_heads(tp_graph *g, tp_tensor *o)
{
    static const int back[4] = {0, 2, 1, 3};
    int b = o->shape.dim[0], h = o->shape.dim[1], t = o->shape.dim[2];
    tp_tensor *rows = tp_contiguous(g, tp_permute(g->arena, o, back));
    return tp_reshape(g->arena, rows, tp_shape3(b, t, h * o->shape.dim[3]));
}

/* <<block: the deep-stack options at work>> */
static void deep_queries_and_keys(tp_graph *g, const tp_block_depth *depth,
                                  tp_tensor **q, tp_tensor **k,
                                  tp_attention_options *self)
{
    if (depth->q_gain != NULL) {
        *q = tp_layernorm(g, tp_contiguous(g, *q), depth->q_gain, NULL, 1e-5f);
        *k = tp_layernorm(g, tp_contiguous(g, *k), depth->k_gain, NULL, 1e-5f);
    }
    if (depth->temperature > 0 && depth->temperature != 1) {
        float scale = self->scale > 0 ? self->scale
                                      : 1.0f / sqrtf((float)(*q)->shape.dim[3]);
        self->scale = scale / depth->temperature;
    }
}
/* <<block: the deep-stack options at work>> */
static tp_tensor *gated(tp_graph *g, tp_tensor *f, tp_tensor *gain)
{
    tp_tensor *column = tp_reshape(g->arena, f,
                                   tp_shape2((int)tp_tensor_count(f), 1));
    return tp_reshape(g->arena, tp_mul(g, column, gain), f->shape);
}

static tp_tensor *join(tp_graph *g, tp_tensor *x, tp_tensor *f,
                       const tp_block_options *o)
{
    const tp_block_depth *d = o->depth;
    if (d == NULL)
        return tp_residual(g, x, f);
    if (d->gain != NULL)
        f = gated(g, f, d->gain);
    if (d->no_skip)
        return f;
    if (d->skip != 0 && d->skip != 1)
        x = tp_scale(g, x, d->skip);
    return tp_residual(g, x, f);
}

/* <<block: the three steps>> */
static tp_tensor *project(tp_graph *g, tp_tensor *x, tp_tensor *w,
                          tp_tensor *bias, const tp_block_options *o)
{
    return o->linear != NULL ? o->linear(g, x, w, bias, o->linear_context)
                             : tp_linear(g, x, w, bias);
}

static tp_tensor *self_attention(tp_graph *g, const tp_block *b, tp_tensor *x,
                                 const tp_block_options *o)
{
    tp_tensor *qkv = project(g, x, b->c_attn_w, b->c_attn_b, o), *views[3];
    tp_attention_op *attend = o->attend != NULL ? o->attend : tp_attention;
    tp_split_qkv(g, qkv, o->heads, o->kv_heads > 0 ? o->kv_heads : o->heads,
                 views);
    tp_tensor *q = views[0], *k = views[1];
    tp_attention_options self = o->self;
    if (o->depth != NULL)
        deep_queries_and_keys(g, o->depth, &q, &k, &self);
    if (o->positions != NULL) {
        tp_check(self.bias == NULL, "tp_block_forward: a bias and positions "
                 "that give their own");
        self.bias = o->positions(g, &q, &k, o->positions_context);
    }
    tp_tensor *heads = attend(g, q, k, views[2], &self);
    if (o->depth != NULL && o->depth->drop_head > 0)
        heads = tp_drop_heads(g, heads, o->depth->drop_head, o->depth->rng);
    if (o->depth != NULL && o->depth->heads != NULL)
        heads = o->depth->heads(g, heads, o->depth->heads_context);
    return project(g, tp_merge_heads(g, heads), b->c_proj_w, b->c_proj_b, o);
}

static tp_tensor *cross_attention(tp_graph *g, const tp_block *b,
                                  tp_tensor *x, tp_tensor *memory,
                                  const tp_block_options *o)
{
    tp_tensor *q = tp_linear(g, x, b->q_attn_w, b->q_attn_b);
    tp_tensor *kv = tp_linear(g, memory, b->kv_attn_w, b->kv_attn_b);
    int h = o->heads;
    tp_tensor *heads = tp_attention(g, tp_split_heads(g, q, 0, 1, h),
                                    tp_split_heads(g, kv, 0, 2, h),
                                    tp_split_heads(g, kv, 1, 2, h), &o->cross);
    return tp_linear(g, tp_merge_heads(g, heads), b->x_proj_w, b->x_proj_b);
}

static tp_tensor *block_mlp(tp_graph *g, const tp_block *b, tp_tensor *x,
                            const tp_block_options *o)
{
    tp_tensor *h = project(g, x, b->c_fc_w, b->c_fc_b, o);
    if (b->mlp_gate_w != NULL)
        h = tp_swiglu(g, project(g, x, b->mlp_gate_w, NULL, o), h);
    else
        h = (o->activation != NULL ? o->activation : tp_gelu_tanh)(g, h);
    return project(g, h, b->mlp_proj_w, b->mlp_proj_b, o);
}

tp_tensor *tp_block_mlp(tp_graph *g, const tp_block *b, tp_tensor *x,
                        tp_activation *activation)
{
    return block_mlp(g, b, x, &(tp_block_options){.activation = activation});
}

tp_tensor *tp_block_norm(tp_graph *g, tp_tensor *x, tp_tensor *gain,
                         tp_tensor *bias)
{
    const float eps = 1e-5f;
    return bias != NULL ? tp_layernorm(g, x, gain, bias, eps)
                        : tp_rmsnorm(g, x, gain, eps);
}
/* <<block: the three steps>> */
typedef enum step { SELF_ATTENTION, CROSS_ATTENTION, MLP } step;

static tp_tensor *apply(tp_graph *g, const tp_block *b, step which,
                        tp_tensor *x, tp_tensor *memory,
                        const tp_block_options *o)
{
    switch (which) {
    case SELF_ATTENTION: return self_attention(g, b, x, o);
    case CROSS_ATTENTION: return cross_attention(g, b, x, memory, o);
    default:
        return o->mlp != NULL ? o->mlp(g, x, o->mlp_context)
                              : block_mlp(g, b, x, o);
    }
}

static tp_tensor *residual(tp_graph *g, const tp_block *b, step which,
                           tp_tensor *gain, tp_tensor *bias, tp_tensor *x,
                           tp_tensor *memory, const tp_block_options *o)
{
    if (o->post_ln)
        return tp_block_norm(g, join(g, x, apply(g, b, which, x, memory, o), o),
                             gain, bias);
    tp_tensor *normal = tp_block_norm(g, x, gain, bias);
    return join(g, x, apply(g, b, which, normal, memory, o), o);
}
/* <<block: the three steps>> */
tp_tensor *tp_block_forward(tp_graph *g, const tp_block *b, tp_tensor *x,
                            tp_tensor *memory, const tp_block_options *o)
{
    tp_check((memory != NULL) == (b->q_attn_w != NULL),
             "tp_block_forward: a block %s cross-attention given %s memory",
             b->q_attn_w != NULL ? "with" : "without",
             memory != NULL ? "a" : "no");
    x = residual(g, b, SELF_ATTENTION, b->ln_1_w, b->ln_1_b, x, NULL, o);
    if (memory != NULL)
        x = residual(g, b, CROSS_ATTENTION, b->ln_x_w, b->ln_x_b, x, memory,
                     o);
    x = residual(g, b, MLP, b->ln_2_w, b->ln_2_b, x, NULL, o);
    if (o->depth != NULL && o->depth->output != NULL)
        *o->depth->output = x;
    return x;
}

/* <<block: sinusoids>> */
tp_tensor *tp_sinusoids(tp_arena *arena, int positions, int width)
{
    tp_check(positions >= 1 && width >= 2 && width % 2 == 0,
             "tp_sinusoids: %d positions of width %d (an even width)",
             positions, width);
    tp_tensor *t = tp_tensor_new(arena, tp_shape2(positions, width),
                                 TP_NO_GRAD);
    for (int p = 0; p < positions; p++)
        for (int i = 0; i < width / 2; i++) {
            double angle = p / pow(10000.0, 2.0 * i / width);
            t->data[(long)p * width + 2 * i] = (float)sin(angle);
            t->data[(long)p * width + 2 * i + 1] = (float)cos(angle);
        }
    return t;
}

/* <<block: configurations>> */
int tp_model_save(const tp_params *params, const char *kind,
                  const tp_config_field *fields, int n, const char *path,
                  tp_error *error)
{
    tp_metadata meta = {0};
    tp_metadata_set(&meta, "model", kind);
    for (int i = 0; i < n; i++) {
        char value[16];
        snprintf(value, sizeof value, "%d", *fields[i].value);
        tp_metadata_set(&meta, fields[i].key, value);
    }
    return tp_safetensors_save(path, params->items, params->count, &meta,
                               error);
}
/* <<block: configurations>> */
int tp_model_fits(const char *path, double parameters, tp_error *error)
{
    struct stat s;
    if (stat(path, &s) != 0 || 4.0 * parameters > (double)s.st_size)
        return tp_error_set(error, "%s: its configuration makes a model of "
                            "at least %.0f parameters, more than the file "
                            "can hold", path, parameters);
    return 0;
}
/* <<block: configurations>> */
int tp_model_config(const char *path, const char *kind,
                    const tp_config_field *fields, int n, tp_error *error)
{
    tp_metadata meta = {0};
    if (tp_safetensors_load(path, NULL, 0, &meta, error) != 0)
        return -1;
    const char *model = tp_metadata_get(&meta, "model");
    if (model == NULL || strcmp(model, kind) != 0)
        return tp_error_set(error, "%s is not a checkpoint of a %s model (it "
                            "says %s)", path, kind, model ? model : "nothing");
    for (int i = 0; i < n; i++) {
        long n;
        if (tp_metadata_number(&meta, path, fields[i].key, 0, INT_MAX, &n,
                               error) != 0)
            return -1;
        *fields[i].value = (int)n;
    }
    return 0;
}
