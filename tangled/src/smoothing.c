/* Generated from book/355-oversmoothing.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "tp/block.h"
#include "tp/ops.h"
#include "tp/smoothing.h"
#include "tp/stability.h"

/* <<smoothing: one sequence at a time>> */
typedef double measure_fn(const float *x, int t, int c);

static double per_sequence(const char *name, const tp_tensor *x,
                           measure_fn *measure)
{
    tp_check((x->shape.ndim == 2 || x->shape.ndim == 3)
                 && tp_tensor_is_contiguous(x),
             "%s: a contiguous [T, C] or [B, T, C] tensor, not %s", name,
             tp_shape_str(x->shape).text);
    int n = x->shape.ndim;
    int b = n == 3 ? x->shape.dim[0] : 1;
    int t = x->shape.dim[n - 2], c = x->shape.dim[n - 1];
    double total = 0.0;
    for (int s = 0; s < b; s++)
        total += measure(x->data + (long)s * t * c, t, c);
    return total / b;
}

/* <<smoothing: the measures>> */
static double dot(const float *a, const float *b, int c)
{
    double sum = 0.0;
    for (int j = 0; j < c; j++)
        sum += (double)a[j] * b[j];
    return sum;
}

static double mean_cosine(const float *x, int t, int c)
{
    double sum = 0.0;
    for (int i = 0; i < t; i++)
        for (int j = i + 1; j < t; j++) {
            const float *a = x + (long)i * c, *b = x + (long)j * c;
            double norms = sqrt(dot(a, a, c) * dot(b, b, c));
            sum += norms > 0 ? dot(a, b, c) / norms : 0.0;
        }
    return t > 1 ? sum / (0.5 * t * (t - 1)) : 1.0;
}

double tp_mean_cosine(const tp_tensor *x)
{
    return per_sequence("tp_mean_cosine", x, mean_cosine);
}
/* <<smoothing: the measures>> */
static double rank_residual(const float *x, int t, int c)
{
    double off = 0.0, all = 0.0;
    for (int j = 0; j < c; j++) {
        double mean = 0.0;
        for (int i = 0; i < t; i++)
            mean += x[(long)i * c + j];
        mean /= t;
        for (int i = 0; i < t; i++) {
            double v = x[(long)i * c + j];
            off += (v - mean) * (v - mean);
            all += v * v;
        }
    }
    return all > 0 ? sqrt(off / all) : 0.0;
}

double tp_rank_residual(const tp_tensor *x)
{
    return per_sequence("tp_rank_residual", x, rank_residual);
}
/* <<smoothing: the measures>> */
static double effective_rank(const float *x, int t, int c)
{
    double *gram = malloc((size_t)t * t * sizeof *gram);
    double *values = malloc((size_t)t * sizeof *values);
    tp_check(gram != NULL && values != NULL, "out of memory");
    for (int i = 0; i < t; i++)
        for (int j = 0; j < t; j++)
            gram[(long)i * t + j] = dot(x + (long)i * c, x + (long)j * c, c);
    tp_symmetric_eigenvalues(gram, t, values);
    double total = 0.0, entropy = 0.0;
    for (int i = 0; i < t; i++)
        total += values[i] = values[i] > 0 ? sqrt(values[i]) : 0.0;
    for (int i = 0; i < t && total > 0; i++)
        if (values[i] > 0)
            entropy -= values[i] / total * log(values[i] / total);
    free(gram), free(values);
    return exp(entropy);
}

double tp_effective_rank(const tp_tensor *x)
{
    return per_sequence("tp_effective_rank", x, effective_rank);
}

/* <<smoothing: eigenvalues>> */
static double off_diagonal(const double *a, int n, double *all)
{
    double off = 0.0;
    *all = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            *all += a[(long)i * n + j] * a[(long)i * n + j];
            off += i != j ? a[(long)i * n + j] * a[(long)i * n + j] : 0.0;
        }
    return off;
}
/* <<smoothing: eigenvalues>> */
static void rotate(double *a, int n, int p, int q)
{
    double apq = a[(long)p * n + q];
    if (apq == 0.0)
        return;
    double theta = (a[(long)q * n + q] - a[(long)p * n + p]) / (2.0 * apq);
    double t = (theta >= 0 ? 1.0 : -1.0)
               / (fabs(theta) + sqrt(theta * theta + 1.0));
    double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
    for (int k = 0; k < n; k++) {  /* columns p and q: A J */
        double akp = a[(long)k * n + p], akq = a[(long)k * n + q];
        a[(long)k * n + p] = c * akp - s * akq;
        a[(long)k * n + q] = s * akp + c * akq;
    }
    for (int k = 0; k < n; k++) {  /* rows p and q: J^T (A J) */
        double apk = a[(long)p * n + k], aqk = a[(long)q * n + k];
        a[(long)p * n + k] = c * apk - s * aqk;
        a[(long)q * n + k] = s * apk + c * aqk;
    }
}

void tp_symmetric_eigenvalues(double *a, int n, double *values)
{
    double all;
    for (int sweep = 0; sweep < 50 && off_diagonal(a, n, &all) > 1e-22 * all;
         sweep++)
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++)
                rotate(a, n, p, q);
    for (int i = 0; i < n; i++)
        values[i] = a[(long)i * n + i];
}

/* <<smoothing: DropHead>> */
static float *head_scales(int b, int h, float p, tp_rng *rng, tp_arena *arena)
{
    float *scale = tp_arena_alloc(arena, (size_t)b * h * sizeof *scale);
    for (int s = 0; s < b; s++) {
        float *row = scale + (long)s * h;
        int kept = 0;
        for (int i = 0; i < h; i++)
            kept += (row[i] = tp_rng_uniform(rng) >= p ? 1.0f : 0.0f) > 0;
        for (int i = 0; i < h; i++)
            row[i] = kept == 0 ? 1.0f : row[i] * (float)h / (float)kept;
    }
    return scale;
}
/* <<smoothing: DropHead>> */
static void drop_heads_backward(tp_node *node)
{
    tp_tensor *x = node->input[0];
    const float *scale = node->saved;
    long per_head = (long)x->shape.dim[2] * x->shape.dim[3];
    for (long i = 0, n = tp_tensor_count(x); i < n; i++)
        x->grad[i] += scale[i / per_head] * node->output->grad[i];
}

tp_tensor *tp_drop_heads(tp_graph *g, tp_tensor *heads, float p, tp_rng *rng)
{
    tp_check(heads->shape.ndim == 4 && p >= 0 && p < 1 && rng != NULL,
             "tp_drop_heads: a [B, H, T, d] tensor, a probability in [0, 1) "
             "and a generator; got %s and %g", tp_shape_str(heads->shape).text,
             (double)p);
    tp_tensor *x = tp_contiguous(g, heads);
    float *scale = head_scales(x->shape.dim[0], x->shape.dim[1], p, rng,
                               g->arena);
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){x});
    tp_tensor *y = tp_tensor_empty(g->arena, x->shape,
                                   grad ? TP_WITH_GRAD : TP_NO_GRAD);
    long per_head = (long)x->shape.dim[2] * x->shape.dim[3];
    for (long i = 0, n = tp_tensor_count(x); i < n; i++)
        y->data[i] = scale[i / per_head] * x->data[i];
    if (grad)
        tp_record(g, "drop_heads", drop_heads_backward, y, 1,
                  (tp_tensor *[]){x})->saved = scale;
    return y;
}

/* <<smoothing: pure attention>> */
tp_tensor *tp_pure_attention(tp_graph *g, tp_tensor *x, tp_tensor *w,
                             int heads, bool skip)
{
    tp_tensor *qkv = tp_linear(g, x, w, NULL);
    tp_attention_options unmasked = {0};
    tp_tensor *o = tp_attention(g, tp_split_heads(g, qkv, 0, 3, heads),
                                tp_split_heads(g, qkv, 1, 3, heads),
                                tp_split_heads(g, qkv, 2, 3, heads), &unmasked);
    tp_tensor *y = tp_merge_heads(g, o);
    return skip ? tp_add(g, x, y) : y;
}

/* <<smoothing: ReZero's gates>> */
void tp_gpt_add_rezero(tp_gpt *m)
{
    tp_block_depth *depth = tp_gpt_depth(m);
    for (int i = 0; i < m->config.n_layer; i++) {
        char name[32];
        snprintf(name, sizeof name, "h.%d.rezero", i);
        depth[i].gain = tp_param_new(&m->params, m->arena, name, tp_shape1(1));
    }
}
