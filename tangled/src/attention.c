/* Generated from book/160-attention.nw; edit the book, not this file. */
#include <math.h>

#include "tp/attention.h"
#include "tp/check.h"
#include "tp/exercise.h"
#include "tp/fastexp.h"
#include "tp/matmul.h"
#include "tp/parallel.h"

/* <<attention: the matrix of one head>> */
tp_tensor tp_head(const tp_tensor *t, int b, int h)
{
    tp_tensor m = *t;
    m.data += b * t->stride[0] + h * t->stride[1];
    if (t->grad != NULL)
        m.grad += b * t->stride[0] + h * t->stride[1];
    m.shape = tp_shape2(t->shape.dim[2], t->shape.dim[3]);
    m.stride[0] = t->stride[2];
    m.stride[1] = t->stride[3];
    return m;
}

tp_tensor tp_head_grad(const tp_tensor *t, int b, int h)
{
    tp_tensor m = tp_head(t, b, h);
    m.data = m.grad;
    m.grad = NULL;
    return m;
}

tp_tensor tp_transposed_view(tp_tensor m)
{
    tp_tensor t = m;
    t.shape = tp_shape2(m.shape.dim[1], m.shape.dim[0]);
    t.stride[0] = m.stride[1], t.stride[1] = m.stride[0];
    return t;
}

/* <<attention: checking the inputs>> */
typedef tp_attention_dims dims;

tp_attention_dims tp_attention_check(const char *op, const tp_tensor *q,
                                     const tp_tensor *k, const tp_tensor *v)
{
    tp_check(q->shape.ndim == 4 && k->shape.ndim == 4 && v->shape.ndim == 4,
             "%s: q, k and v are [B, H, T, d], not %s, %s, %s", op,
             tp_shape_str(q->shape).text, tp_shape_str(k->shape).text,
             tp_shape_str(v->shape).text);
    dims n = {q->shape.dim[0], q->shape.dim[1], k->shape.dim[1],
              q->shape.dim[2], k->shape.dim[2], q->shape.dim[3],
              v->shape.dim[3]};
    bool fits = k->shape.dim[0] == n.batch && v->shape.dim[0] == n.batch
                && k->shape.dim[3] == n.d && v->shape.dim[1] == n.kv_heads
                && v->shape.dim[2] == n.tk && n.kv_heads > 0
                && n.heads % n.kv_heads == 0;
    tp_check(fits, "%s: q %s, k %s and v %s do not fit together", op,
             tp_shape_str(q->shape).text, tp_shape_str(k->shape).text,
             tp_shape_str(v->shape).text);
    return n;
}
/* <<attention: checking the inputs>> */
static void check_bias(const tp_tensor *bias, dims n)
{
    tp_shape shared = tp_shape3(n.heads, n.tq, n.tk);
    tp_shape full = tp_shape4(n.batch, n.heads, n.tq, n.tk);
    tp_check(tp_shape_equal(bias->shape, shared)
                 || tp_shape_equal(bias->shape, full),
             "tp_attention: the bias is %s, not %s or %s",
             tp_shape_str(bias->shape).text, tp_shape_str(shared).text,
             tp_shape_str(full).text);
    tp_check(tp_tensor_is_contiguous(bias),
             "tp_attention: the bias must be contiguous");
}

static float *bias_of(const tp_tensor *bias, float *values, dims n, int b,
                      int h)
{
    long per_head = (long)n.tq * n.tk;
    long batch = bias->shape.ndim == 4 ? (long)b * n.heads : 0;
    return values + (batch + h) * per_head;
}

/* <<attention: masking the scores>> */
bool tp_attention_allows(const tp_attention_options *o, int b, int i, int j,
                         int tq, int tk)
{
    if (o->causal && j > i + tk - tq)
        return false;
    if (o->key_padding != NULL && o->key_padding[(long)b * tk + j])
        return false;
    if (o->allowed != NULL && !o->allowed[(long)i * tk + j])
        return false;
    if (o->pattern != NULL && !o->pattern(i, j, o->pattern_context))
        return false;
    return true;
}
/* <<attention: masking the scores>> */
static void softmax_row(float *row, int n)
{
    float max = -INFINITY;
    for (int j = 0; j < n; j++)
        max = row[j] > max ? row[j] : max;
    if (max == -INFINITY) {
        for (int j = 0; j < n; j++)
            row[j] = 0.0f;
        return;
    }
    for (int j = 0; j < n; j++)
        row[j] = tp_exp_nonpositive(row[j] - max);
    double sum = 0.0;
    for (int j = 0; j < n; j++)  /* in order: the same bits wherever the row is */
        sum += row[j];
    for (int j = 0; j < n; j++)
        row[j] = (float)(row[j] / sum);
}
/* <<attention: masking the scores>> */
static bool only_causal(const tp_attention_options *o, const float *bias)
{
    return o->causal && bias == NULL && o->key_padding == NULL
           && o->allowed == NULL && o->pattern == NULL;
}

static void scores_to_weights(const tp_attention_options *o, dims n, int b,
                              const float *bias, float *p)
{
    for (int i = 0; i < n.tq; i++) {
        float *row = p + (long)i * n.tk;
        if (only_causal(o, bias)) {
            int seen = i + n.tk - n.tq + 1;  /* keys 0 .. seen - 1 */
            for (int j = seen < 0 ? 0 : seen; j < n.tk; j++)
                row[j] = -INFINITY;
        } else {
            for (int j = 0; j < n.tk; j++) {
                if (bias != NULL)
                    row[j] += bias[(long)i * n.tk + j];
                if (!tp_attention_allows(o, b, i, j, n.tq, n.tk))
                    row[j] = -INFINITY;
            }
        }
        softmax_row(row, n.tk);
    }
}

/* <<attention: the forward pass>> */
typedef struct attention_saved {
    tp_attention_options options;
    dims n;
    float scale;
    tp_tensor *p;  /* the weights, [B, H, Tq, Tk] */
} attention_saved;

/* <<attention: causal bands>> */
enum { CAUSAL_BAND = 32 };

typedef struct band {
    int first, rows, keys;  /* queries first .. first + rows - 1 see keys
                               0 .. keys - 1 */
    tp_tensor q, k, v, p;   /* their rows of Q, K, V and of the weights */
} band;

static int band_rows(const attention_saved *s)
{
    return s->options.causal ? CAUSAL_BAND : s->n.tq;
}

static tp_tensor rows_of(tp_tensor m, int first, int rows)
{
    m.data += (long)first * m.stride[0];
    if (m.grad != NULL)
        m.grad += (long)first * m.stride[0];
    m.shape.dim[0] = rows;
    return m;
}
/* <<attention: causal bands>> */
static band band_of(const attention_saved *s, int first, const tp_tensor *qh,
                    const tp_tensor *kh, const tp_tensor *vh,
                    const tp_tensor *ph)
{
    band x = {.first = first, .rows = band_rows(s), .keys = s->n.tk};
    if (x.rows > s->n.tq - first)
        x.rows = s->n.tq - first;
    if (s->options.causal) {
        int seen = first + x.rows + s->n.tk - s->n.tq;
        x.keys = seen < 0 ? 0 : seen < s->n.tk ? seen : s->n.tk;
    }
    x.q = rows_of(*qh, first, x.rows);
    x.k = rows_of(*kh, 0, x.keys), x.v = rows_of(*vh, 0, x.keys);
    x.p = rows_of(*ph, first, x.rows);
    x.p.shape.dim[1] = x.keys;
    return x;
}

static void forward_head(const attention_saved *s, tp_tensor *q, tp_tensor *k,
                         tp_tensor *v, tp_tensor *out, int b, int h)
{
    int kv = h / (s->n.heads / s->n.kv_heads);
    tp_tensor qh = tp_head(q, b, h), kh = tp_head(k, b, kv);
    tp_tensor vh = tp_head(v, b, kv);
    tp_tensor ph = tp_head(s->p, b, h), oh = tp_head(out, b, h);
    for (int first = 0; first < s->n.tq; first += band_rows(s)) {
        band x = band_of(s, first, &qh, &kh, &vh, &ph);
        /* <<attention: the scores of a band>> */
        tp_tensor kt = tp_transposed_view(x.k);
        if (x.keys > 0)
            tp_gemm(&x.p, &x.q, &kt, s->scale, 0.0f);
        for (int i = 0; i < x.rows; i++)
            for (int j = x.keys; j < s->n.tk; j++)
                ph.data[(long)(first + i) * ph.stride[0] + j] = -INFINITY;
    }
    const tp_tensor *bias = s->options.bias;
    scores_to_weights(&s->options, s->n, b,
                      bias ? bias_of(bias, bias->data, s->n, b, h) : NULL,
                      ph.data);
    for (int first = 0; first < s->n.tq; first += band_rows(s)) {
        band x = band_of(s, first, &qh, &kh, &vh, &ph);
        tp_tensor o = rows_of(oh, first, x.rows);
        if (x.keys > 0)
            tp_gemm(&o, &x.p, &x.v, 1.0f, 0.0f);
        else
            tp_fill(&o, 0.0f);
    }
}
/* <<attention: the forward pass>> */
static void attention_backward(tp_node *node);

tp_tensor *tp_attention(tp_graph *g, tp_tensor *q, tp_tensor *k,
                        tp_tensor *v, const tp_attention_options *options)
{
    dims n = tp_attention_check("tp_attention", q, k, v);
    attention_saved *s = tp_arena_zeroed(g->arena, 1, sizeof *s);
    if (options != NULL)
        s->options = *options;
    if (s->options.bias != NULL)
        check_bias(s->options.bias, n);
    s->n = n;
    s->scale = s->options.scale != 0.0f ? s->options.scale
                                        : 1.0f / sqrtf((float)n.d);
    tp_tensor *inputs[4] = {q, k, v, s->options.bias};
    bool grad = tp_needs_grad(g, 4, inputs);
    tp_tensor *out = tp_tensor_empty(g->arena,
                                     tp_shape4(n.batch, n.heads, n.tq, n.dv),
                                     grad ? TP_WITH_GRAD : TP_NO_GRAD);
    s->p = tp_tensor_empty(g->arena, tp_shape4(n.batch, n.heads, n.tq, n.tk),
                           TP_NO_GRAD);
    /* <<attention: run every head and record>> */
    TP_PARALLEL_PRODUCTS
    for (int bh = 0; bh < n.batch * n.heads; bh++)
        forward_head(s, q, k, v, out, bh / n.heads, bh % n.heads);
    if (s->options.weights != NULL)
        *s->options.weights = s->p;
    if (grad)
        tp_record(g, "attention", attention_backward, out, 4, inputs)->saved = s;
    return out;
}

/* <<attention: the backward pass>> */
static void softmax_backward_rows(const tp_tensor *p, tp_tensor *ds)
{
    int rows = ds->shape.dim[0], cols = ds->shape.dim[1];
    for (int i = 0; i < rows; i++) {
        const float *pr = p->data + (long)i * p->stride[0];
        float *dr = ds->data + (long)i * ds->stride[0];
        double dot = 0.0;
        for (int j = 0; j < cols; j++)
            dot += (double)dr[j] * pr[j];
        for (int j = 0; j < cols; j++)
            dr[j] = pr[j] * (float)(dr[j] - dot);
    }
}
/* <<attention: the backward pass>> */
static void add_to(tp_tensor *into, const tp_tensor *a, const tp_tensor *b,
                   float alpha, tp_tensor *scratch)
{
    if (into->stride[1] == 1) {
        tp_gemm(into, a, b, alpha, 1.0f);
        return;
    }
    tp_gemm(scratch, a, b, alpha, 0.0f);
    tp_axpy(into, 1.0f, scratch);
}
/* <<attention: the backward pass>> */
typedef struct scratch {
    tp_tensor *dp, *dq, *dk, *dv;  /* [Tq, Tk], and one head's gradients */
} scratch;

typedef struct band_gradients {
    tp_tensor dout;                /* the rows of the output's gradient */
    tp_tensor dq, dk, dv, db;      /* views of the gradients; */
    bool has_q, has_k, has_v, has_bias;  /* which ones exist */
    tp_tensor dp, sq, sk, sv;      /* scratch, shaped for the band */
} band_gradients;

static tp_tensor scratch_of(const tp_tensor *t, int rows, int cols)
{
    tp_tensor m = *t;
    m.shape = tp_shape2(rows, cols);
    m.stride[0] = cols, m.stride[1] = 1;
    return m;
}
/* <<attention: the backward pass>> */
static band_gradients gradients_of(const attention_saved *s, tp_node *node,
                                   const band *x, int b, int h, scratch *w)
{
    tp_tensor *q = node->input[0], *k = node->input[1], *v = node->input[2];
    tp_tensor *bias = node->input[3];
    int kv = h / (s->n.heads / s->n.kv_heads), d = s->n.d, dv = s->n.dv;
    band_gradients z = {
        .dout = rows_of(tp_head_grad(node->output, b, h), x->first, x->rows),
        .has_q = q->grad != NULL, .has_k = k->grad != NULL,
        .has_v = v->grad != NULL,
        .has_bias = bias != NULL && bias->grad != NULL,
        .dp = scratch_of(w->dp, x->rows, x->keys),
        .sq = scratch_of(w->dq, x->rows, d), .sk = scratch_of(w->dk, x->keys, d),
        .sv = scratch_of(w->dv, x->keys, dv)};
    if (z.has_q)
        z.dq = rows_of(tp_head_grad(q, b, h), x->first, x->rows);
    if (z.has_k)
        z.dk = rows_of(tp_head_grad(k, b, kv), 0, x->keys);
    if (z.has_v)
        z.dv = rows_of(tp_head_grad(v, b, kv), 0, x->keys);
    if (z.has_bias) {
        z.db = scratch_of(w->dp, x->rows, x->keys);
        z.db.data = bias_of(bias, bias->grad, s->n, b, h)
                    + (long)x->first * s->n.tk;
        z.db.stride[0] = s->n.tk;
    }
    return z;
}
/* <<attention: the backward pass>> */
static void backward_band(const attention_saved *s, const band *x,
                          band_gradients *z)
{
    /* <<solution: attention.backward>> */
    tp_tensor pt = tp_transposed_view(x->p), vt = tp_transposed_view(x->v);
    if (z->has_v)
        add_to(&z->dv, &pt, &z->dout, 1.0f, &z->sv);
    tp_gemm(&z->dp, &z->dout, &vt, 1.0f, 0.0f);
    softmax_backward_rows(&x->p, &z->dp);
    if (z->has_bias)
        tp_axpy(&z->db, 1.0f, &z->dp);
    if (z->has_q)
        add_to(&z->dq, &z->dp, &x->k, s->scale, &z->sq);
    if (z->has_k) {
        tp_tensor dst = tp_transposed_view(z->dp);
        add_to(&z->dk, &dst, &x->q, s->scale, &z->sk);
    }
}

static void backward_head(const attention_saved *s, tp_node *node, int b,
                          int h, scratch *w)
{
    int kv = h / (s->n.heads / s->n.kv_heads);
    tp_tensor qh = tp_head(node->input[0], b, h);
    tp_tensor kh = tp_head(node->input[1], b, kv);
    tp_tensor vh = tp_head(node->input[2], b, kv), ph = tp_head(s->p, b, h);
    for (int first = 0; first < s->n.tq; first += band_rows(s)) {
        band x = band_of(s, first, &qh, &kh, &vh, &ph);
        band_gradients z = gradients_of(s, node, &x, b, h, w);
        if (x.keys > 0)
            backward_band(s, &x, &z);
    }
}
/* <<attention: the backward pass>> */
static scratch scratch_for(tp_arena *arena, dims n)
{
    return (scratch){
        .dp = tp_tensor_empty(arena, tp_shape2(n.tq, n.tk), TP_NO_GRAD),
        .dq = tp_tensor_empty(arena, tp_shape2(n.tq, n.d), TP_NO_GRAD),
        .dk = tp_tensor_empty(arena, tp_shape2(n.tk, n.d), TP_NO_GRAD),
        .dv = tp_tensor_empty(arena, tp_shape2(n.tk, n.dv), TP_NO_GRAD)};
}

static void attention_backward(tp_node *node)
{
    const attention_saved *s = node->saved;
    dims n = s->n;
    const tp_tensor *bias = node->input[3];
    bool shared_bias = bias != NULL && bias->grad != NULL
                       && bias->shape.ndim == 3;
    scratch *w = tp_arena_alloc(node->arena, (size_t)n.batch * sizeof *w);
    for (int b = 0; b < n.batch; b++)
        w[b] = scratch_for(node->arena, n);
    if (shared_bias) {
        for (int b = 0; b < n.batch; b++)
            for (int h = 0; h < n.heads; h++)
                backward_head(s, node, b, h, &w[b]);
        return;
    }
    TP_PARALLEL_PRODUCTS
    for (int b = 0; b < n.batch; b++)
        for (int h = 0; h < n.heads; h++)
            backward_head(s, node, b, h, &w[b]);
}
