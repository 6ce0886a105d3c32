/* Generated from book/305-quadratic.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "tp/check.h"
#include "tp/exercise.h"
#include "tp/matmul.h"
#include "tp/ops.h"
#include "tp/parallel.h"
#include "tp/subquadratic.h"

/* <<subquadratic: tiles>> */
enum { TILE_Q = 64, TILE_K = 64 };
/* <<subquadratic: tiles>> */
static tp_tensor rows_of(tp_tensor m, int first, int count)
{
    m.data += first * m.stride[0];
    if (m.grad != NULL)
        m.grad += first * m.stride[0];
    m.shape.dim[0] = count;
    return m;
}

static tp_tensor tile(float *data, int rows, int cols)
{
    return (tp_tensor){.shape = tp_shape2(rows, cols), .stride = {cols, 1},
                       .data = data};
}

static int imin(int a, int b)
{
    return a < b ? a : b;
}
/* <<subquadratic: tiles>> */
static bool tile_is_open(const tp_attention_options *o, int i0, int j0,
                         int cols, tp_attention_dims n)
{
    if (o->key_padding != NULL || o->allowed != NULL || o->pattern != NULL)
        return false;
    return !o->causal || j0 + cols - 1 <= i0 + n.tk - n.tq;
}

static void mask_tile(const tp_attention_options *o, int b, int i0, int j0,
                      tp_tensor *s, tp_attention_dims n)
{
    for (int i = 0; i < s->shape.dim[0]; i++)
        for (int j = 0; j < s->shape.dim[1]; j++)
            if (!tp_attention_allows(o, b, i0 + i, j0 + j, n.tq, n.tk))
                s->data[i * s->stride[0] + j] = -INFINITY;
}
/* <<subquadratic: tiles>> */
static int keys_seen(const tp_attention_options *o, int i0, int rows,
                     tp_attention_dims n)
{
    return o->causal ? imin(n.tk, i0 + rows + n.tk - n.tq) : n.tk;
}

static int first_query_tile(const tp_attention_options *o, int j0,
                            tp_attention_dims n)
{
    int first = o->causal ? j0 - (n.tk - n.tq) : 0;
    return first <= 0 ? 0 : first / TILE_Q * TILE_Q;
}

/* <<subquadratic: the tiled forward pass>> */
typedef struct tiled_saved {
    tp_attention_options options;
    tp_attention_dims n;
    float scale;
    tp_tensor *lse;  /* [B, H, Tq]: log of each row's softmax denominator */
} tiled_saved;
/* <<subquadratic: the tiled forward pass>> */
static void online_softmax(tp_tensor *s, float *max, float *sum, tp_tensor *o)
{
    int rows = s->shape.dim[0], cols = s->shape.dim[1];
    for (int i = 0; i < rows; i++) {
        float *row = s->data + i * cols, top = max[i], total = 0.0f;
        for (int j = 0; j < cols; j++)
            top = fmaxf(top, row[j]);
        if (top == -INFINITY) {
            memset(row, 0, (size_t)cols * sizeof *row);
            continue;
        }
        /* <<solution: quadratic.online-softmax>> */
        float c = expf(max[i] - top);
        for (int j = 0; j < cols; j++)
            total += row[j] = expf(row[j] - top);
        sum[i] = c * sum[i] + total;
        max[i] = top;
        float *out = o->data + i * o->stride[0];
        for (int e = 0; c != 1.0f && e < o->shape.dim[1]; e++)
            out[e] *= c;
    }
}
/* <<subquadratic: the tiled forward pass>> */
static void finish_rows(tp_tensor *o, const float *max, const float *sum,
                        float *lse)
{
    for (int i = 0; i < o->shape.dim[0]; i++) {
        float *out = o->data + i * o->stride[0];
        for (int e = 0; sum[i] > 0 && e < o->shape.dim[1]; e++)
            out[e] /= sum[i];
        lse[i] = sum[i] > 0 ? max[i] + logf(sum[i]) : -INFINITY;
    }
}
/* <<subquadratic: the tiled forward pass>> */
static void forward_tile(const tiled_saved *s, tp_tensor *q, tp_tensor *k,
                         tp_tensor *v, tp_tensor *out, int b, int h, int i0)
{
    tp_attention_dims n = s->n;
    int kv = h / (n.heads / n.kv_heads), rows = imin(TILE_Q, n.tq - i0);
    tp_tensor qi = rows_of(tp_head(q, b, h), i0, rows);
    tp_tensor oi = rows_of(tp_head(out, b, h), i0, rows);
    tp_tensor kh = tp_head(k, b, kv), vh = tp_head(v, b, kv);
    float scores[TILE_Q * TILE_K], max[TILE_Q], sum[TILE_Q];
    for (int i = 0; i < rows; i++)
        max[i] = -INFINITY, sum[i] = 0.0f;
    tp_fill(&oi, 0.0f);
    /* <<tiled: walk along the keys>> */
    for (int j0 = 0; j0 < keys_seen(&s->options, i0, rows, n); j0 += TILE_K) {
        int cols = imin(TILE_K, n.tk - j0);
        tp_tensor sij = tile(scores, rows, cols);
        tp_tensor kj = tp_transposed_view(rows_of(kh, j0, cols));
        tp_tensor vj = rows_of(vh, j0, cols);
        tp_gemm(&sij, &qi, &kj, s->scale, 0.0f);
        if (!tile_is_open(&s->options, i0, j0, cols, n))
            mask_tile(&s->options, b, i0, j0, &sij, n);
        online_softmax(&sij, max, sum, &oi);
        tp_gemm(&oi, &sij, &vj, 1.0f, 1.0f);
    }
    finish_rows(&oi, max, sum,
                s->lse->data + ((long)b * n.heads + h) * n.tq + i0);
}
/* <<subquadratic: the tiled forward pass>> */
static void tiled_backward(tp_node *node);

tp_tensor *tp_attention_tiled(tp_graph *g, tp_tensor *q, tp_tensor *k,
                              tp_tensor *v, const tp_attention_options *options)
{
    tp_attention_dims n = tp_attention_check("tp_attention_tiled", q, k, v);
    tiled_saved *s = tp_arena_zeroed(g->arena, 1, sizeof *s);
    if (options != NULL)
        s->options = *options;
    tp_check(s->options.bias == NULL && s->options.weights == NULL,
             "tp_attention_tiled: never forms the %d x %d scores, so it takes "
             "no bias and returns no weights (use tp_attention)", n.tq, n.tk);
    s->n = n;
    s->scale = s->options.scale != 0.0f ? s->options.scale
                                        : 1.0f / sqrtf((float)n.d);
    /* <<tiled: run every tile and record>> */
    tp_tensor *inputs[3] = {q, k, v};
    bool grad = tp_needs_grad(g, 3, inputs);
    tp_tensor *out = tp_tensor_empty(g->arena,
                                     tp_shape4(n.batch, n.heads, n.tq, n.dv),
                                     grad ? TP_WITH_GRAD : TP_NO_GRAD);
    s->lse = tp_tensor_empty(g->arena, tp_shape3(n.batch, n.heads, n.tq),
                             TP_NO_GRAD);
    int tiles = (n.tq + TILE_Q - 1) / TILE_Q;
    TP_PARALLEL_PRODUCTS
    for (int t = 0; t < n.batch * n.heads * tiles; t++)
        forward_tile(s, q, k, v, out, t / tiles / n.heads, t / tiles % n.heads,
                     t % tiles * TILE_Q);
    if (grad)
        tp_record(g, "attention (tiled)", tiled_backward, out, 3, inputs)->saved = s;
    return out;
}

/* <<subquadratic: the tiled backward pass>> */
static void row_dots(const tp_tensor *out, tp_tensor *delta)
{
    tp_attention_dims n = {.batch = out->shape.dim[0],
                           .heads = out->shape.dim[1],
                           .tq = out->shape.dim[2]};
    TP_PARALLEL_FOR((long)n.batch * n.heads * n.tq * out->shape.dim[3])
    for (long r = 0; r < (long)n.batch * n.heads * n.tq; r++) {
        const float *o = out->data + r * out->shape.dim[3];
        const float *dout = out->grad + r * out->shape.dim[3];
        double dot = 0.0;
        for (int e = 0; e < out->shape.dim[3]; e++)
            dot += (double)o[e] * dout[e];
        delta->data[r] = (float)dot;
    }
}
/* <<subquadratic: the tiled backward pass>> */
enum { BACKWARD_PARTS = 8 };

typedef struct backward_part {
    tp_tensor *dq;       /* [B, H, Tq, d]: this part's share of q's gradient */
    tp_tensor *dk, *dv;  /* [TILE_K, d], [TILE_K, dv]: one tile of keys' */
} backward_part;

static backward_part part_for(tp_arena *arena, tp_attention_dims n)
{
    return (backward_part){
        .dq = tp_tensor_new(arena, tp_shape4(n.batch, n.heads, n.tq, n.d),
                            TP_NO_GRAD),
        .dk = tp_tensor_empty(arena, tp_shape2(TILE_K, n.d), TP_NO_GRAD),
        .dv = tp_tensor_empty(arena, tp_shape2(TILE_K, n.dv), TP_NO_GRAD)};
}
/* <<subquadratic: the tiled backward pass>> */
typedef struct tile_pair {
    int b, h, kv, i0, j0, rows, cols;
} tile_pair;

static void weights_from_lse(tp_tensor *p, const float *lse)
{
    for (int i = 0; i < p->shape.dim[0]; i++) {
        float *row = p->data + i * p->stride[0];
        for (int j = 0; j < p->shape.dim[1]; j++)
            row[j] = lse[i] == -INFINITY ? 0.0f : expf(row[j] - lse[i]);
    }
}
/* <<subquadratic: the tiled backward pass>> */
static void backward_tile(const tiled_saved *s, tp_node *node,
                          const float *delta, backward_part *w, tile_pair t,
                          tp_tensor *dk, tp_tensor *dv)
{
    tp_tensor *q = node->input[0], *k = node->input[1], *v = node->input[2];
    tp_tensor qi = rows_of(tp_head(q, t.b, t.h), t.i0, t.rows);
    tp_tensor kj = rows_of(tp_head(k, t.b, t.kv), t.j0, t.cols);
    tp_tensor vj = rows_of(tp_head(v, t.b, t.kv), t.j0, t.cols);
    tp_tensor doi = rows_of(tp_head_grad(node->output, t.b, t.h), t.i0, t.rows);
    float scores[TILE_Q * TILE_K], grads[TILE_Q * TILE_K];
    tp_tensor p = tile(scores, t.rows, t.cols), dp = tile(grads, t.rows, t.cols);
    long row = ((long)t.b * s->n.heads + t.h) * s->n.tq + t.i0;
    /* <<tiled: recompute the weights of the tile>> */
    tp_tensor kt = tp_transposed_view(kj);
    tp_gemm(&p, &qi, &kt, s->scale, 0.0f);
    if (!tile_is_open(&s->options, t.i0, t.j0, t.cols, s->n))
        mask_tile(&s->options, t.b, t.i0, t.j0, &p, s->n);
    weights_from_lse(&p, s->lse->data + row);
    /* <<tiled: the four products>> */
    tp_tensor pt = tp_transposed_view(p), vt = tp_transposed_view(vj);
    tp_gemm(dv, &pt, &doi, 1.0f, 1.0f);
    tp_gemm(&dp, &doi, &vt, 1.0f, 0.0f);
    for (int i = 0; i < t.rows; i++)
        for (int j = 0; j < t.cols; j++)
            grads[i * t.cols + j] = scores[i * t.cols + j]
                                    * (grads[i * t.cols + j] - delta[row + i]);
    tp_tensor dqi = rows_of(tp_head(w->dq, t.b, t.h), t.i0, t.rows);
    tp_tensor dpt = tp_transposed_view(dp);
    tp_gemm(&dqi, &dp, &kj, s->scale, 1.0f);
    tp_gemm(dk, &dpt, &qi, s->scale, 1.0f);
}
/* <<subquadratic: the tiled backward pass>> */
static void backward_key_tile(const tiled_saved *s, tp_node *node,
                              const float *delta, backward_part *w, int b,
                              int kv, int j0)
{
    tp_attention_dims n = s->n;
    int group = n.heads / n.kv_heads, cols = imin(TILE_K, n.tk - j0);
    tp_tensor dk = tile(w->dk->data, cols, n.d);
    tp_tensor dv = tile(w->dv->data, cols, n.dv);
    tp_fill(&dk, 0.0f), tp_fill(&dv, 0.0f);
    for (int h = kv * group; h < (kv + 1) * group; h++)
        for (int i0 = first_query_tile(&s->options, j0, n); i0 < n.tq;
             i0 += TILE_Q) {
            tile_pair t = {b, h, kv, i0, j0, imin(TILE_Q, n.tq - i0), cols};
            backward_tile(s, node, delta, w, t, &dk, &dv);
        }
    /* <<tiled: add the tile's gradients to the keys and values>> */
    tp_tensor *k = node->input[1], *v = node->input[2];
    if (k->grad != NULL) {
        tp_tensor into = rows_of(tp_head_grad(k, b, kv), j0, cols);
        tp_axpy(&into, 1.0f, &dk);
    }
    if (v->grad != NULL) {
        tp_tensor into = rows_of(tp_head_grad(v, b, kv), j0, cols);
        tp_axpy(&into, 1.0f, &dv);
    }
}
/* <<subquadratic: the tiled backward pass>> */
static void tiled_backward(tp_node *node)
{
    const tiled_saved *s = node->saved;
    tp_attention_dims n = s->n;
    tp_tensor *delta = tp_tensor_empty(node->arena,
                                       tp_shape3(n.batch, n.heads, n.tq),
                                       TP_NO_GRAD);
    row_dots(node->output, delta);
    int parts = BACKWARD_PARTS, tiles = (n.tk + TILE_K - 1) / TILE_K;
    int work = n.batch * n.kv_heads * tiles;
    backward_part *w = tp_arena_alloc(node->arena, (size_t)parts * sizeof *w);
    for (int p = 0; p < parts; p++)
        w[p] = part_for(node->arena, n);
    /* <<tiled: run the parts and sum their query gradients>> */
    TP_PARALLEL_PRODUCTS
    for (int p = 0; p < parts; p++)
        for (int t = p; t < work; t += parts)
            backward_key_tile(s, node, delta->data, &w[p], t / tiles / n.kv_heads,
                              t / tiles % n.kv_heads, t % tiles * TILE_K);
    tp_tensor *q = node->input[0];
    if (q->grad != NULL) {
        tp_tensor dq = tp_grad_of(q);
        for (int p = 0; p < parts; p++)
            tp_axpy(&dq, 1.0f, w[p].dq);
    }
}

/* <<subquadratic: Linformer>> */
static tp_tensor *project(tp_graph *g, tp_tensor *x, tp_tensor *e)
{
    tp_tensor *xt = tp_contiguous(g, tp_transpose(g->arena, x, 2, 3));
    tp_tensor *mixed = tp_matmul(g, xt, e);  /* [B, H, d, r] */
    return tp_contiguous(g, tp_transpose(g->arena, mixed, 2, 3));
}

tp_tensor *tp_linformer(tp_graph *g, tp_tensor *q, tp_tensor *k, tp_tensor *v,
                        tp_tensor *e, tp_tensor *f)
{
    tp_attention_dims n = tp_attention_check("tp_linformer", q, k, v);
    tp_check(e->shape.ndim == 2 && e->shape.dim[0] == n.tk
                 && tp_shape_equal(e->shape, f->shape),
             "tp_linformer: e and f are [Tk, r] = [%d, r], not %s and %s",
             n.tk, tp_shape_str(e->shape).text, tp_shape_str(f->shape).text);
    return tp_attention(g, q, project(g, k, e), project(g, v, f), NULL);
}

/* <<subquadratic: linear attention>> */
typedef enum feature_map { ELU_PLUS_ONE, RELU, GIVEN } feature_map;

typedef struct linear_saved {
    feature_map phi;
    bool causal;
    tp_tensor *qf, *kf;  /* the features phi(q) and phi(k) */
    tp_tensor *state;    /* A: [B, H, d, dv] (causal: the last A_i) */
    tp_tensor *z;        /* [B, H, 1, d]: the sum of the key features */
    tp_tensor *den;      /* [B, H, Tq, 1]: each query's denominator */
} linear_saved;

static const float linear_epsilon = 1e-6f;
/* <<subquadratic: linear attention>> */
static void features_into(tp_tensor *into, const tp_tensor *x, feature_map phi)
{
    tp_copy(into, x);
    for (long i = 0, n = tp_tensor_count(into); i < n; i++) {
        float a = into->data[i];
        into->data[i] = phi == GIVEN  ? a
                        : phi == RELU ? fmaxf(a, 0.0f)
                        : a > 0.0f    ? a + 1.0f : expf(a);
    }
}

static float feature_slope(float x, feature_map phi)
{
    return x > 0.0f || phi == GIVEN ? 1.0f : phi == RELU ? 0.0f : expf(x);
}

static tp_tensor *per_head(tp_arena *arena, tp_attention_dims n, int rows,
                           int cols)
{
    return tp_tensor_empty(arena, tp_shape4(n.batch, n.heads, rows, cols),
                           TP_NO_GRAD);
}
/* <<subquadratic: linear attention>> */
static void linear_forward_head(const linear_saved *s, tp_tensor *v,
                                tp_tensor *out, int b, int h)
{
    tp_tensor qf = tp_head(s->qf, b, h), kf = tp_head(s->kf, b, h);
    tp_tensor vh = tp_head(v, b, h), oh = tp_head(out, b, h);
    tp_tensor st = tp_head(s->state, b, h), kft = tp_transposed_view(kf);
    float *z = tp_head(s->z, b, h).data, *den = tp_head(s->den, b, h).data;
    int n = kf.shape.dim[0], d = kf.shape.dim[1], dv = vh.shape.dim[1];
    tp_gemm(&st, &kft, &vh, 1.0f, 0.0f);
    for (int c = 0; c < d; c++)
        z[c] = 0.0f;
    for (int j = 0; j < n; j++)
        for (int c = 0; c < d; c++)
            z[c] += kf.data[j * d + c];
    /* <<linear attention: outputs from the state>> */
    tp_gemm(&oh, &qf, &st, 1.0f, 0.0f);
    for (int i = 0; i < qf.shape.dim[0]; i++) {
        double dot = linear_epsilon;
        for (int c = 0; c < d; c++)
            dot += (double)qf.data[i * d + c] * z[c];
        den[i] = (float)dot;
        for (int e = 0; e < dv; e++)
            oh.data[i * dv + e] /= den[i];
    }
}
/* <<subquadratic: linear attention>> */
static void causal_forward_head(const linear_saved *s, tp_tensor *v,
                                tp_tensor *out, int b, int h)
{
    tp_tensor qf = tp_head(s->qf, b, h), kf = tp_head(s->kf, b, h);
    tp_tensor vh = tp_head(v, b, h), oh = tp_head(out, b, h);
    float *st = tp_head(s->state, b, h).data, *z = tp_head(s->z, b, h).data;
    float *den = tp_head(s->den, b, h).data;
    int t = qf.shape.dim[0], d = qf.shape.dim[1], dv = vh.shape.dim[1];
    memset(st, 0, (size_t)d * dv * sizeof *st);
    memset(z, 0, (size_t)d * sizeof *z);
    for (int i = 0; i < t; i++) {
        const float *qi = qf.data + i * d, *ki = kf.data + i * d;
        float *oi = oh.data + i * oh.stride[0];
        /* <<linear attention: add key i to the state and read query i>> */
        double dot = linear_epsilon;
        for (int e = 0; e < dv; e++)
            oi[e] = 0.0f;
        for (int c = 0; c < d; c++) {
            float *row = st + c * dv;
            z[c] += ki[c];
            for (int e = 0; e < dv; e++) {
                row[e] += ki[c] * vh.data[i * vh.stride[0] + e * vh.stride[1]];
                oi[e] += qi[c] * row[e];
            }
            dot += (double)qi[c] * z[c];
        }
        den[i] = (float)dot;
        for (int e = 0; e < dv; e++)
            oi[e] /= den[i];
    }
}
/* <<subquadratic: linear attention>> */
static void linear_backward(tp_node *node);

static tp_tensor *linear_attention(const char *name, feature_map phi,
                                   tp_graph *g, tp_tensor *q, tp_tensor *k,
                                   tp_tensor *v, const tp_attention_options *o)
{
    tp_attention_dims n = tp_attention_check(name, q, k, v);
    tp_attention_options none = {0};
    if (o == NULL)
        o = &none;
    /* <<linear attention: check what it can honour>> */
    tp_check(n.kv_heads == n.heads, "%s: %d query heads and %d key-value "
             "heads; they must be equal", name, n.heads, n.kv_heads);
    tp_check(o->key_padding == NULL && o->bias == NULL && o->allowed == NULL
                 && o->pattern == NULL && o->weights == NULL && o->scale == 0.0f,
             "%s: takes only the causal mask (no padding, bias, pattern, scale "
             "or weights)", name);
    tp_check(!o->causal || n.tq == n.tk, "%s: the causal form needs as many "
             "queries as keys, not %d and %d", name, n.tq, n.tk);
    linear_saved *s = tp_arena_zeroed(g->arena, 1, sizeof *s);
    s->phi = phi, s->causal = o->causal;
    s->qf = tp_tensor_empty(g->arena, q->shape, TP_NO_GRAD);
    s->kf = tp_tensor_empty(g->arena, k->shape, TP_NO_GRAD);
    features_into(s->qf, q, phi), features_into(s->kf, k, phi);
    s->state = per_head(g->arena, n, n.d, n.dv);
    s->z = per_head(g->arena, n, 1, n.d);
    s->den = per_head(g->arena, n, n.tq, 1);
    /* <<linear attention: run every head and record>> */
    tp_tensor *inputs[3] = {q, k, v};
    bool grad = tp_needs_grad(g, 3, inputs);
    tp_tensor *out = tp_tensor_empty(g->arena,
                                     tp_shape4(n.batch, n.heads, n.tq, n.dv),
                                     grad ? TP_WITH_GRAD : TP_NO_GRAD);
    TP_PARALLEL_PRODUCTS
    for (int bh = 0; bh < n.batch * n.heads; bh++)
        (s->causal ? causal_forward_head : linear_forward_head)(
            s, v, out, bh / n.heads, bh % n.heads);
    if (grad)
        tp_record(g, "linear attention", linear_backward, out, 3, inputs)->saved = s;
    return out;
}
/* <<subquadratic: linear attention>> */
tp_tensor *tp_linear_attention(tp_graph *g, tp_tensor *q, tp_tensor *k,
                               tp_tensor *v, const tp_attention_options *o)
{
    return linear_attention("tp_linear_attention", ELU_PLUS_ONE, g, q, k, v, o);
}

tp_tensor *tp_linear_attention_relu(tp_graph *g, tp_tensor *q, tp_tensor *k,
                                    tp_tensor *v, const tp_attention_options *o)
{
    return linear_attention("tp_linear_attention_relu", RELU, g, q, k, v, o);
}

tp_tensor *tp_linear_attention_of_features(tp_graph *g, tp_tensor *qf,
                                           tp_tensor *kf, tp_tensor *v,
                                           const tp_attention_options *o)
{
    return linear_attention("tp_linear_attention_of_features", GIVEN, g, qf,
                            kf, v, o);
}
/* <<subquadratic: linear attention>> */
typedef struct linear_grads {  /* scratch, [B, H, rows, cols] each */
    tp_tensor *du, *dden, *dqf;   /* per query */
    tp_tensor *dkf, *dv;          /* per key */
    tp_tensor *dstate, *dz;       /* per head */
} linear_grads;

static linear_grads linear_grads_for(tp_arena *arena, tp_attention_dims n)
{
    return (linear_grads){
        .du = per_head(arena, n, n.tq, n.dv),
        .dden = per_head(arena, n, n.tq, 1),
        .dqf = per_head(arena, n, n.tq, n.d),
        .dkf = per_head(arena, n, n.tk, n.d),
        .dv = per_head(arena, n, n.tk, n.dv),
        .dstate = per_head(arena, n, n.d, n.dv),
        .dz = per_head(arena, n, 1, n.d)};
}
/* <<subquadratic: linear attention>> */
static void through_features(feature_map phi, tp_tensor *input,
                             tp_tensor *dfeatures, int b, int h)
{
    if (input->grad == NULL)
        return;
    tp_tensor x = tp_head(input, b, h), dx = tp_head_grad(input, b, h);
    int rows = x.shape.dim[0], cols = x.shape.dim[1];
    for (int i = 0; i < rows; i++)
        for (int c = 0; c < cols; c++)
            dx.data[i * dx.stride[0] + c * dx.stride[1]] +=
                feature_slope(x.data[i * x.stride[0] + c * x.stride[1]], phi)
                * dfeatures->data[i * cols + c];
}
/* <<subquadratic: linear attention>> */
static void through_the_division(const linear_saved *s, tp_node *node,
                                 linear_grads *w, int b, int h)
{
    tp_tensor o = tp_head(node->output, b, h);
    tp_tensor dout = tp_head_grad(node->output, b, h);
    tp_tensor du = tp_head(w->du, b, h);
    float *den = tp_head(s->den, b, h).data, *dden = tp_head(w->dden, b, h).data;
    int tq = du.shape.dim[0], dv = o.shape.dim[1];
    for (int i = 0; i < tq; i++) {
        double dot = 0.0;
        for (int e = 0; e < dv; e++) {
            du.data[i * dv + e] = dout.data[i * dout.stride[0] + e] / den[i];
            dot += (double)dout.data[i * dout.stride[0] + e] * o.data[i * dv + e];
        }
        dden[i] = (float)(-dot / den[i]);
    }
}
/* <<subquadratic: linear attention>> */
static void linear_backward_head(const linear_saved *s, tp_node *node,
                                 linear_grads *w, int b, int h)
{
    tp_tensor *v = node->input[2];
    tp_tensor du = tp_head(w->du, b, h), dqf = tp_head(w->dqf, b, h);
    tp_tensor dkf = tp_head(w->dkf, b, h), dst = tp_head(w->dstate, b, h);
    float *z = tp_head(s->z, b, h).data;
    float *dden = tp_head(w->dden, b, h).data, *dz = tp_head(w->dz, b, h).data;
    int tq = du.shape.dim[0], d = dqf.shape.dim[1];
    through_the_division(s, node, w, b, h);
    /* <<linear attention: to the query features and the state>> */
    tp_tensor st = tp_head(s->state, b, h), qf = tp_head(s->qf, b, h);
    tp_tensor stt = tp_transposed_view(st), qft = tp_transposed_view(qf);
    tp_gemm(&dqf, &du, &stt, 1.0f, 0.0f);
    for (int i = 0; i < tq; i++)
        for (int c = 0; c < d; c++)
            dqf.data[i * d + c] += dden[i] * z[c];
    through_features(s->phi, node->input[0], &dqf, b, h);
    tp_gemm(&dst, &qft, &du, 1.0f, 0.0f);
    for (int c = 0; c < d; c++) {
        double total = 0.0;
        for (int i = 0; i < tq; i++)
            total += (double)dden[i] * qf.data[i * d + c];
        dz[c] = (float)total;
    }
    /* <<linear attention: to the keys and values>> */
    tp_tensor vh = tp_head(v, b, h), kf = tp_head(s->kf, b, h);
    tp_tensor dstt = tp_transposed_view(dst);
    tp_gemm(&dkf, &vh, &dstt, 1.0f, 0.0f);
    for (int j = 0; j < dkf.shape.dim[0]; j++)
        for (int c = 0; c < d; c++)
            dkf.data[j * d + c] += dz[c];
    through_features(s->phi, node->input[1], &dkf, b, h);
    if (v->grad != NULL) {
        tp_tensor into = tp_head_grad(v, b, h), dvh = tp_head(w->dv, b, h);
        tp_gemm(&dvh, &kf, &dst, 1.0f, 0.0f);
        tp_axpy(&into, 1.0f, &dvh);
    }
}
/* <<subquadratic: linear attention>> */
static void causal_query_gradients(const linear_saved *s, tp_tensor *v,
                                   linear_grads *w, int b, int h)
{
    tp_tensor qf = tp_head(s->qf, b, h), kf = tp_head(s->kf, b, h);
    tp_tensor vh = tp_head(v, b, h);
    float *st = tp_head(w->dstate, b, h).data, *z = tp_head(w->dz, b, h).data;
    float *du = tp_head(w->du, b, h).data, *dden = tp_head(w->dden, b, h).data;
    float *dqf = tp_head(w->dqf, b, h).data;
    int t = qf.shape.dim[0], d = qf.shape.dim[1], dv = vh.shape.dim[1];
    memset(st, 0, (size_t)d * dv * sizeof *st);
    memset(z, 0, (size_t)d * sizeof *z);
    for (int i = 0; i < t; i++)
        /* <<causal linear attention: rebuild A_i and z_i, then the query's gradient>> */
        for (int c = 0; c < d; c++) {
            float *row = st + c * dv, kc = kf.data[i * d + c];
            double dot = 0.0;
            z[c] += kc;
            for (int e = 0; e < dv; e++) {
                row[e] += kc * vh.data[i * vh.stride[0] + e * vh.stride[1]];
                dot += (double)row[e] * du[i * dv + e];
            }
            dqf[i * d + c] = (float)dot + dden[i] * z[c];
        }
}
/* <<subquadratic: linear attention>> */
static void causal_key_gradients(const linear_saved *s, tp_tensor *v,
                                 linear_grads *w, int b, int h)
{
    tp_tensor qf = tp_head(s->qf, b, h), kf = tp_head(s->kf, b, h);
    tp_tensor vh = tp_head(v, b, h), dvh = tp_head(w->dv, b, h);
    float *big_g = tp_head(w->dstate, b, h).data, *g = tp_head(w->dz, b, h).data;
    float *du = tp_head(w->du, b, h).data, *dden = tp_head(w->dden, b, h).data;
    float *dkf = tp_head(w->dkf, b, h).data;
    int t = qf.shape.dim[0], d = qf.shape.dim[1], dv = vh.shape.dim[1];
    memset(big_g, 0, (size_t)d * dv * sizeof *big_g);
    memset(g, 0, (size_t)d * sizeof *g);
    memset(dvh.data, 0, (size_t)t * dv * sizeof *dvh.data);
    for (int j = t - 1; j >= 0; j--)
        /* <<causal linear attention: add query j to the sums, then key j's gradients>> */
        for (int c = 0; c < d; c++) {
            float *row = big_g + c * dv, qc = qf.data[j * d + c];
            float kc = kf.data[j * d + c];
            double dot = 0.0;
            g[c] += dden[j] * qc;
            for (int e = 0; e < dv; e++) {
                row[e] += qc * du[j * dv + e];
                dot += (double)row[e] * vh.data[j * vh.stride[0] + e * vh.stride[1]];
                dvh.data[j * dv + e] += row[e] * kc;
            }
            dkf[j * d + c] = (float)dot + g[c];
        }
}
/* <<subquadratic: linear attention>> */
static void causal_backward_head(const linear_saved *s, tp_node *node,
                                 linear_grads *w, int b, int h)
{
    through_the_division(s, node, w, b, h);
    tp_tensor *v = node->input[2];
    causal_query_gradients(s, v, w, b, h);
    causal_key_gradients(s, v, w, b, h);
    tp_tensor dqf = tp_head(w->dqf, b, h), dkf = tp_head(w->dkf, b, h);
    through_features(s->phi, node->input[0], &dqf, b, h);
    through_features(s->phi, node->input[1], &dkf, b, h);
    if (v->grad != NULL) {
        tp_tensor into = tp_head_grad(v, b, h), dvh = tp_head(w->dv, b, h);
        tp_axpy(&into, 1.0f, &dvh);
    }
}
/* <<subquadratic: linear attention>> */
static void linear_backward(tp_node *node)
{
    const linear_saved *s = node->saved;
    tp_attention_dims n = tp_attention_check("tp_linear_attention",
                                             node->input[0], node->input[1],
                                             node->input[2]);
    linear_grads w = linear_grads_for(node->arena, n);
    TP_PARALLEL_PRODUCTS
    for (int bh = 0; bh < n.batch * n.heads; bh++)
        (s->causal ? causal_backward_head : linear_backward_head)(
            s, node, &w, bh / n.heads, bh % n.heads);
}

/* <<subquadratic: lending the tiles' pieces>> */
tp_tensor tp_tile_rows(tp_tensor m, int first, int count)
{
    return rows_of(m, first, count);
}

tp_tensor tp_tile_over(float *data, int rows, int cols)
{
    return tile(data, rows, cols);
}

void tp_tile_mask(const tp_attention_options *o, int b, int i0, int j0,
                  tp_tensor *s, tp_attention_dims n)
{
    mask_tile(o, b, i0, j0, s, n);
}
/* <<subquadratic: lending the tiles' pieces>> */
void tp_tile_online_softmax(tp_tensor *s, float *max, float *sum,
                            tp_tensor *o)
{
    online_softmax(s, max, sum, o);
}

void tp_tile_finish_rows(tp_tensor *o, const float *max, const float *sum,
                         float *lse)
{
    finish_rows(o, max, sum, lse);
}

void tp_tile_weights_from_lse(tp_tensor *p, const float *lse)
{
    weights_from_lse(p, lse);
}

void tp_tile_row_dots(const tp_tensor *out, tp_tensor *delta)
{
    row_dots(out, delta);
}
