/* Generated from book/256-performer.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "tp/check.h"
#include "tp/matmul.h"
#include "tp/parallel.h"
#include "tp/performer.h"
#include "tp/subquadratic.h"

/* <<performer: drawing the directions>> */
static void remove_component(float *row, const float *unit, int d)
{
    double dot = 0.0;
    for (int c = 0; c < d; c++)
        dot += (double)row[c] * unit[c];
    for (int c = 0; c < d; c++)
        row[c] -= (float)dot * unit[c];
}

static void orthonormalise(float *rows, int count, int d)
{
    for (int r = 0; r < count; r++) {
        float *row = rows + (long)r * d;
        for (int pass = 0; pass < 2; pass++)  /* twice is enough */
            for (int p = 0; p < r; p++)
                remove_component(row, rows + (long)p * d, d);
        double norm = 0.0;
        for (int c = 0; c < d; c++)
            norm += (double)row[c] * row[c];
        for (int c = 0; c < d; c++)
            row[c] /= (float)sqrt(norm);
    }
}

static float chi_length(tp_rng *rng, int d)
{
    double sum = 0.0;
    for (int c = 0; c < d; c++) {
        double z = tp_rng_normal(rng);
        sum += z * z;
    }
    return (float)sqrt(sum);
}
/* <<performer: drawing the directions>> */
tp_tensor *tp_performer_projection(tp_arena *arena, int m, int d,
                                   uint64_t seed, tp_feature_draw draw)
{
    tp_check(m > 0 && d > 0, "tp_performer_projection: %d features of width "
             "%d; both must be positive", m, d);
    tp_rng rng = tp_rng_seeded(seed, 19);
    tp_tensor *w = tp_tensor_empty(arena, tp_shape2(m, d), TP_NO_GRAD);
    for (long i = 0; i < (long)m * d; i++)
        w->data[i] = tp_rng_normal(&rng);
    if (draw == TP_FEATURES_IID)
        return w;
    for (int first = 0; first < m; first += d) {
        int count = m - first < d ? m - first : d;
        float *block = w->data + (long)first * d;
        orthonormalise(block, count, d);
        for (int r = 0; r < count; r++) {
            float length = chi_length(&rng, d);
            for (int c = 0; c < d; c++)
                block[(long)r * d + c] *= length;
        }
    }
    return w;
}
/* <<performer: the features>> */
typedef struct favor_saved {
    const tp_tensor *w;
    float scale;  /* d^(-1/4) */
} favor_saved;

static void exponents_into(tp_tensor *y, const tp_tensor *x,
                           const favor_saved *s)
{
    tp_tensor wt = tp_transposed_view(*s->w);
    tp_gemm(y, x, &wt, s->scale, 0.0f);
    int t = y->shape.dim[0], m = y->shape.dim[1], d = x->shape.dim[1];
    for (int i = 0; i < t; i++) {
        double norm = 0.0;
        for (int c = 0; c < d; c++) {
            double a = x->data[i * x->stride[0] + c * x->stride[1]];
            norm += a * a;
        }
        float half = (float)(norm * s->scale * s->scale / 2.0);
        for (int r = 0; r < m; r++)
            y->data[i * y->stride[0] + r] -= half;
    }
}
/* <<performer: the features>> */
static float largest(const float *row, int n)
{
    float top = -INFINITY;
    for (int r = 0; r < n; r++)
        top = fmaxf(top, row[r]);
    return top;
}

static void favor_head(const favor_saved *s, const tp_tensor *x, tp_tensor *y,
                       tp_favor_shift shift, int b, int h)
{
    tp_tensor xh = tp_head(x, b, h), yh = tp_head(y, b, h);
    exponents_into(&yh, &xh, s);
    int t = yh.shape.dim[0], m = yh.shape.dim[1];
    float head = shift == TP_FAVOR_PER_HEAD ? largest(yh.data, t * m) : 0.0f;
    float norm = 1.0f / sqrtf((float)m);
    for (int i = 0; i < t; i++) {
        float *row = yh.data + i * m;
        float top = shift == TP_FAVOR_PER_ROW ? largest(row, m) : head;
        for (int r = 0; r < m; r++)
            row[r] = norm * expf(row[r] - top);
    }
}
/* <<performer: the features>> */
static void favor_backward_head(const favor_saved *s, tp_node *node,
                                tp_tensor *scratch, int b, int h)
{
    tp_tensor x = tp_head(node->input[0], b, h);
    tp_tensor dx = tp_head_grad(node->input[0], b, h);
    tp_tensor y = tp_head(node->output, b, h);
    tp_tensor dy = tp_head_grad(node->output, b, h);
    tp_tensor gw = tp_head(scratch, b, h);
    int t = y.shape.dim[0], m = y.shape.dim[1], d = x.shape.dim[1];
    for (int i = 0; i < t; i++)
        for (int r = 0; r < m; r++)
            dy.data[i * m + r] *= y.data[i * m + r];  /* g, in place */
    tp_gemm(&gw, &dy, s->w, s->scale, 0.0f);
    for (int i = 0; i < t; i++) {
        double total = 0.0;
        for (int r = 0; r < m; r++)
            total += dy.data[i * m + r];
        float shrink = (float)total * s->scale * s->scale;
        for (int c = 0; c < d; c++)
            dx.data[i * dx.stride[0] + c * dx.stride[1]] +=
                gw.data[i * d + c]
                - shrink * x.data[i * x.stride[0] + c * x.stride[1]];
    }
}

static void favor_backward(tp_node *node)
{
    const favor_saved *s = node->saved;
    tp_tensor *x = node->input[0];
    if (x->grad == NULL)
        return;
    int batch = x->shape.dim[0], heads = x->shape.dim[1];
    tp_tensor *scratch = tp_tensor_empty(node->arena, x->shape, TP_NO_GRAD);
    TP_PARALLEL_PRODUCTS
    for (int bh = 0; bh < batch * heads; bh++)
        favor_backward_head(s, node, scratch, bh / heads, bh % heads);
}
/* <<performer: the features>> */
tp_tensor *tp_favor_features(tp_graph *g, tp_tensor *x, const tp_tensor *w,
                             tp_favor_shift shift)
{
    tp_check(x->shape.ndim == 4 && w->shape.ndim == 2
                 && w->shape.dim[1] == x->shape.dim[3],
             "tp_favor_features: x is [B, H, T, d] and w is [m, d], not %s "
             "and %s", tp_shape_str(x->shape).text, tp_shape_str(w->shape).text);
    favor_saved *s = tp_arena_zeroed(g->arena, 1, sizeof *s);
    s->w = w;
    s->scale = powf((float)x->shape.dim[3], -0.25f);
    tp_tensor *inputs[1] = {x};
    bool grad = tp_needs_grad(g, 1, inputs);
    tp_shape shape = tp_shape4(x->shape.dim[0], x->shape.dim[1],
                               x->shape.dim[2], w->shape.dim[0]);
    tp_tensor *y = tp_tensor_empty(g->arena, shape,
                                   grad ? TP_WITH_GRAD : TP_NO_GRAD);
    int heads = x->shape.dim[1];
    TP_PARALLEL_PRODUCTS
    for (int bh = 0; bh < x->shape.dim[0] * heads; bh++)
        favor_head(s, x, y, shift, bh / heads, bh % heads);
    if (grad)
        tp_record(g, "FAVOR+ features", favor_backward, y, 1, inputs)->saved = s;
    return y;
}
/* <<performer: attention>> */
tp_tensor *tp_performer_attention(tp_graph *g, tp_tensor *q, tp_tensor *k,
                                  tp_tensor *v, const tp_tensor *w,
                                  const tp_attention_options *o)
{
    tp_tensor *qf = tp_favor_features(g, q, w, TP_FAVOR_PER_ROW);
    tp_tensor *kf = tp_favor_features(g, k, w, TP_FAVOR_PER_HEAD);
    return tp_linear_attention_of_features(g, qf, kf, v, o);
}

tp_tensor *tp_performer_fixed(tp_graph *g, tp_tensor *q, tp_tensor *k,
                              tp_tensor *v, const tp_attention_options *o)
{
    tp_tensor *w = tp_performer_projection(g->arena, TP_PERFORMER_FEATURES,
                                           q->shape.dim[3], 1,
                                           TP_FEATURES_ORTHOGONAL);
    return tp_performer_attention(g, q, k, v, w, o);
}
