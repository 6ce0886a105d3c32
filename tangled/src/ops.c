/* Generated from book/150-operators.nw; edit the book, not this file. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tp/check.h"
#include "tp/exercise.h"
#include "tp/fastexp.h"
#include "tp/matmul.h"
#include "tp/ops.h"
#include "tp/parallel.h"

/* <<ops: helpers>> */
static tp_tensor *result(tp_graph *g, tp_shape shape, bool grad)
{
    return tp_tensor_empty(g->arena, shape, grad ? TP_WITH_GRAD : TP_NO_GRAD);
}

static void need_contiguous(const char *op, const tp_tensor *t)
{
    tp_check(tp_tensor_is_contiguous(t),
             "%s: the %s input is a view that is not contiguous; pass it "
             "through tp_contiguous", op, tp_shape_str(t->shape).text);
}

static void *keep(tp_graph *g, const void *data, size_t bytes)
{
    return memcpy(tp_arena_alloc(g->arena, bytes), data, bytes);
}
/* <<ops: helpers>> */
static int last_dim(const tp_tensor *t)
{
    return t->shape.dim[t->shape.ndim - 1];
}

static long rows_of(const tp_tensor *t)
{
    int c = last_dim(t);
    return c == 0 ? 0 : tp_tensor_count(t) / c;
}

/* <<ops: implementing arithmetic>> */
static long broadcast_period(const char *op, const tp_tensor *a,
                             const tp_tensor *b)
{
    int na = a->shape.ndim, nb = b->shape.ndim;
    bool fits = nb <= na;
    for (int d = 0; fits && d < nb; d++)
        fits = b->shape.dim[nb - 1 - d] == a->shape.dim[na - 1 - d];
    tp_check(fits, "%s: cannot broadcast %s over %s", op,
             tp_shape_str(b->shape).text, tp_shape_str(a->shape).text);
    need_contiguous(op, a);
    need_contiguous(op, b);
    return tp_tensor_count(b);
}
/* <<ops: implementing arithmetic>> */
static void add_repetitions(const float *dy, long rows, long m, float *into)
{
    TP_PARALLEL_FOR(rows * m)
    for (long block = 0; block < m; block += 64) {
        long end = block + 64 < m ? block + 64 : m;
        for (long r = 0; r < rows; r++) {
            const float *row = dy + r * m;
            TP_SIMD
            for (long j = block; j < end; j++)
                into[j] += row[j];
        }
    }
}

static void add_backward(tp_node *node)
{
    tp_tensor *a = node->input[0], *b = node->input[1];
    const float *dy = node->output->grad;
    long n = tp_tensor_count(a), m = tp_tensor_count(b);
    if (a->grad != NULL) {
        TP_PARALLEL_FOR(n)
        for (long i = 0; i < n; i++)
            a->grad[i] += dy[i];
    }
    if (b->grad != NULL)
        add_repetitions(dy, n / m, m, b->grad);
}

tp_tensor *tp_add(tp_graph *g, tp_tensor *a, tp_tensor *b)
{
    long m = broadcast_period("tp_add", a, b), n = tp_tensor_count(a);
    bool grad = tp_needs_grad(g, 2, (tp_tensor *[]){a, b});
    tp_tensor *y = result(g, a->shape, grad);
    TP_PARALLEL_FOR(n)
    for (long r = 0; r < n / m; r++)
        for (long j = 0; j < m; j++)
            y->data[r * m + j] = a->data[r * m + j] + b->data[j];
    if (grad)
        tp_record(g, "add", add_backward, y, 2, (tp_tensor *[]){a, b});
    return y;
}
/* <<ops: implementing arithmetic>> */
static void mul_backward(tp_node *node)
{
    tp_tensor *a = node->input[0], *b = node->input[1];
    const float *dy = node->output->grad;
    long n = tp_tensor_count(a), m = tp_tensor_count(b), rows = n / m;
    if (a->grad != NULL) {
        TP_PARALLEL_FOR(n)
        for (long r = 0; r < rows; r++)
            for (long j = 0; j < m; j++)
                a->grad[r * m + j] += dy[r * m + j] * b->data[j];
    }
    if (b->grad != NULL) {
        TP_PARALLEL_FOR(n)
        for (long block = 0; block < m; block += 64)
            for (long r = 0; r < rows; r++)
                for (long j = block; j < m && j < block + 64; j++)
                    b->grad[j] += dy[r * m + j] * a->data[r * m + j];
    }
}

tp_tensor *tp_mul(tp_graph *g, tp_tensor *a, tp_tensor *b)
{
    long m = broadcast_period("tp_mul", a, b), n = tp_tensor_count(a);
    bool grad = tp_needs_grad(g, 2, (tp_tensor *[]){a, b});
    tp_tensor *y = result(g, a->shape, grad);
    TP_PARALLEL_FOR(n)
    for (long r = 0; r < n / m; r++)
        for (long j = 0; j < m; j++)
            y->data[r * m + j] = a->data[r * m + j] * b->data[j];
    if (grad)
        tp_record(g, "mul", mul_backward, y, 2, (tp_tensor *[]){a, b});
    return y;
}
/* <<ops: implementing arithmetic>> */
static void scale_backward(tp_node *node)
{
    tp_tensor *x = node->input[0];
    float s = *(const float *)node->saved;
    for (long i = 0, n = tp_tensor_count(x); i < n; i++)
        x->grad[i] += s * node->output->grad[i];
}

tp_tensor *tp_scale(tp_graph *g, tp_tensor *x, float s)
{
    need_contiguous("tp_scale", x);
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){x});
    tp_tensor *y = result(g, x->shape, grad);
    for (long i = 0, n = tp_tensor_count(x); i < n; i++)
        y->data[i] = s * x->data[i];
    if (grad)
        tp_record(g, "scale", scale_backward, y, 1, (tp_tensor *[]){x})
            ->saved = keep(g, &s, sizeof s);
    return y;
}
/* <<ops: implementing arithmetic>> */
tp_tensor *tp_mean(tp_graph *g, tp_tensor *x)
{
    long n = tp_tensor_count(x);
    tp_check(n > 0, "tp_mean: the mean of an empty tensor");
    return tp_scale(g, tp_sum(g, x), 1.0f / (float)n);
}

/* <<ops: implementing arithmetic>> */
static void bias_backward(tp_node *node)
{
    tp_tensor *b = node->input[0];
    long m = tp_tensor_count(b);
    add_repetitions(node->output->grad, tp_tensor_count(node->output) / m, m,
                    b->grad);
}

tp_tensor *tp_linear(tp_graph *g, tp_tensor *x, tp_tensor *w, tp_tensor *b)
{
    tp_tensor *y = tp_matmul(g, x, w);
    if (b == NULL)
        return y;
    if (y->grad == NULL && tp_needs_grad(g, 1, &b))
        return tp_add(g, y, b);
    long m = broadcast_period("tp_linear", y, b), n = tp_tensor_count(y);
    TP_PARALLEL_FOR(n)
    for (long r = 0; r < n / m; r++)
        for (long j = 0; j < m; j++)
            y->data[r * m + j] += b->data[j];
    if (y->grad != NULL && b->grad != NULL)
        tp_record(g, "bias", bias_backward, y, 1, &b);
    return y;
}
/* <<ops: implementing arithmetic>> */
static void residual_backward(tp_node *node)
{
    tp_tensor *x = node->input[0];
    const float *dy = node->output->grad;
    long n = tp_tensor_count(x);
    TP_PARALLEL_FOR(n)
    for (long i = 0; i < n; i++)
        x->grad[i] += dy[i];
}

static bool fresh_projection(const tp_graph *g, const tp_tensor *f)
{
    const tp_node *last = g->last;
    return last != NULL && last->output == f && f->grad != NULL
           && (strcmp(last->op, "matmul") == 0
               || strcmp(last->op, "bias") == 0);
}

tp_tensor *tp_residual(tp_graph *g, tp_tensor *x, tp_tensor *f)
{
    if (!fresh_projection(g, f) || !tp_shape_equal(x->shape, f->shape)
        || !tp_tensor_is_contiguous(x) || !tp_tensor_is_contiguous(f))
        return tp_add(g, x, f);
    long n = tp_tensor_count(f);
    TP_PARALLEL_FOR(n)
    for (long i = 0; i < n; i++)
        f->data[i] = x->data[i] + f->data[i];
    if (tp_needs_grad(g, 1, &x))
        tp_record(g, "residual", residual_backward, f, 1, &x);
    return f;
}

/* <<ops: implementing activations>> */
typedef struct activation {
    const char *op;
    float (*f)(float x);
    float (*df)(float x);
    /* optional: the same over a block of elements, in vector registers */
    void (*f_block)(const float *x, float *y, long n);
    void (*df_block)(const float *x, const float *dy, float *dx, long n);
} activation;

enum { BLOCK = 4096 };  /* elements per task of a parallel loop */

static void activation_backward(tp_node *node)
{
    const activation *a = node->saved;
    tp_tensor *x = node->input[0];
    const float *dy = node->output->grad;
    long n = tp_tensor_count(x);
    TP_PARALLEL_FOR(n)
    for (long start = 0; start < n; start += BLOCK) {
        long end = start + BLOCK < n ? start + BLOCK : n;
        if (a->df_block != NULL)
            a->df_block(x->data + start, dy + start, x->grad + start,
                        end - start);
        else
            for (long i = start; i < end; i++)
                x->grad[i] += a->df(x->data[i]) * dy[i];
    }
}
/* <<ops: implementing activations>> */
static tp_tensor *activate(tp_graph *g, tp_tensor *x, const activation *a)
{
    need_contiguous(a->op, x);
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){x});
    tp_tensor *y = result(g, x->shape, grad);
    long n = tp_tensor_count(x);
    TP_PARALLEL_FOR(n)
    for (long start = 0; start < n; start += BLOCK) {
        long end = start + BLOCK < n ? start + BLOCK : n;
        if (a->f_block != NULL)
            a->f_block(x->data + start, y->data + start, end - start);
        else
            for (long i = start; i < end; i++)
                y->data[i] = a->f(x->data[i]);
    }
    if (grad)
        tp_record(g, a->op, activation_backward, y, 1, (tp_tensor *[]){x})
            ->saved = (void *)a;
    return y;
}
/* <<ops: implementing activations>> */
static float relu(float x) { return x > 0.0f ? x : 0.0f; }
static float relu_derivative(float x) { return x > 0.0f ? 1.0f : 0.0f; }

tp_tensor *tp_relu(tp_graph *g, tp_tensor *x)
{
    static const activation a = {"tp_relu", relu, relu_derivative, NULL, NULL};
    return activate(g, x, &a);
}
/* <<ops: implementing activations>> */
static const float inverse_sqrt2 = 0.70710678f, inverse_sqrt_2pi = 0.39894228f;

static float gelu(float x) { return 0.5f * x * (1.0f + erff(x * inverse_sqrt2)); }

static float gelu_derivative(float x)
{
    /* <<solution: ops.gelu-derivative>> */
    float cdf = 0.5f * (1.0f + erff(x * inverse_sqrt2));
    return cdf + x * inverse_sqrt_2pi * expf(-0.5f * x * x);
}

tp_tensor *tp_gelu(tp_graph *g, tp_tensor *x)
{
    static const activation a = {"tp_gelu", gelu, gelu_derivative, NULL, NULL};
    return activate(g, x, &a);
}
/* <<ops: implementing activations>> */
static const float sqrt_2_over_pi = 0.79788456f, gelu_cubic = 0.044715f;

/* <<ops: implementing activations>> */
static inline float fast_tanh(float u)
{
    u = u < -15.0f ? -15.0f : u;
    u = u > 15.0f ? 15.0f : u;
    return 1.0f - 2.0f / (tp_exp_near_zero(2.0f * u) + 1.0f);
}

static inline float gelu_tanh(float x)
{
    float u = sqrt_2_over_pi * (x + gelu_cubic * x * x * x);
    return 0.5f * x * (1.0f + fast_tanh(u));
}

static inline float gelu_tanh_derivative(float x)
{
    float u = sqrt_2_over_pi * (x + gelu_cubic * x * x * x);
    float t = fast_tanh(u);
    float du = sqrt_2_over_pi * (1.0f + 3.0f * gelu_cubic * x * x);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
}

static void gelu_tanh_block(const float *x, float *y, long n)
{
    TP_SIMD
    for (long i = 0; i < n; i++)
        y[i] = gelu_tanh(x[i]);
}

static void gelu_tanh_derivative_block(const float *x, const float *dy,
                                       float *dx, long n)
{
    TP_SIMD
    for (long i = 0; i < n; i++)
        dx[i] += gelu_tanh_derivative(x[i]) * dy[i];
}

tp_tensor *tp_gelu_tanh(tp_graph *g, tp_tensor *x)
{
    static const activation a = {"tp_gelu_tanh", gelu_tanh,
                                 gelu_tanh_derivative, gelu_tanh_block,
                                 gelu_tanh_derivative_block};
    return activate(g, x, &a);
}
/* <<ops: implementing activations>> */
static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
static float silu(float x) { return x * sigmoid(x); }

static float silu_derivative(float x)
{
    float s = sigmoid(x);
    return s * (1.0f + x * (1.0f - s));
}

tp_tensor *tp_silu(tp_graph *g, tp_tensor *x)
{
    static const activation a = {"tp_silu", silu, silu_derivative, NULL, NULL};
    return activate(g, x, &a);
}

tp_tensor *tp_swiglu(tp_graph *g, tp_tensor *gate, tp_tensor *value)
{
    tp_check(tp_shape_equal(gate->shape, value->shape),
             "tp_swiglu: the gate is %s but the value is %s",
             tp_shape_str(gate->shape).text, tp_shape_str(value->shape).text);
    return tp_mul(g, tp_silu(g, gate), value);
}

/* <<ops: implementing normalisation>> */
typedef struct row_stats {
    float *mean, *rstd;  /* per row */
} row_stats;

static void check_gain(const char *op, const tp_tensor *x, const tp_tensor *p)
{
    tp_check(p->shape.ndim == 1 && p->shape.dim[0] == last_dim(x),
             "%s: the parameter is %s but rows have %d elements", op,
             tp_shape_str(p->shape).text, last_dim(x));
    need_contiguous(op, p);
}
/* <<ops: implementing normalisation>> */
static void layernorm_row(const float *x, float *y, int c, const float *gain,
                          const float *bias, float eps, float *mean,
                          float *rstd)
{
    double sum = 0.0, squares = 0.0;
    TP_SIMD_SUM(sum)
    for (int j = 0; j < c; j++)
        sum += x[j];
    double mu = sum / c;
    TP_SIMD_SUM(squares)
    for (int j = 0; j < c; j++)
        squares += (x[j] - mu) * (x[j] - mu);
    double r = 1.0 / sqrt(squares / c + eps);
    for (int j = 0; j < c; j++)
        y[j] = (float)((x[j] - mu) * r) * gain[j];
    for (int j = 0; bias != NULL && j < c; j++)
        y[j] += bias[j];
    *mean = (float)mu, *rstd = (float)r;
}
/* <<ops: implementing normalisation>> */
static void norm_row_backward(const float *x, const float *dy, float *dx,
                              int c, const float *gain, float *dgain,
                              float *dbias, float mean, float rstd)
{
    /* <<solution: ops.layernorm-backward>> */
    double mean_d = 0.0, mean_dx = 0.0;
    TP_SIMD_SUM(mean_d, mean_dx)
    for (int j = 0; j < c; j++) {
        float xhat = (x[j] - mean) * rstd, d = gain[j] * dy[j];
        mean_d += d;
        mean_dx += d * xhat;
    }
    if (dgain != NULL)
        for (int j = 0; j < c; j++)
            dgain[j] += dy[j] * ((x[j] - mean) * rstd);
    if (dbias != NULL)
        for (int j = 0; j < c; j++)
            dbias[j] += dy[j];
    mean_d /= c, mean_dx /= c;
    if (dx != NULL)
        for (int j = 0; j < c; j++) {
            float xhat = (x[j] - mean) * rstd;
            dx[j] += rstd * (float)(gain[j] * dy[j] - mean_d - xhat * mean_dx);
        }
}
/* <<ops: implementing normalisation>> */
static void layernorm_backward(tp_node *node)
{
    tp_tensor *x = node->input[0], *gain = node->input[1],
              *bias = node->input[2];
    const row_stats *s = node->saved;
    const float *dy = node->output->grad;
    int c = last_dim(x);
    long rows = rows_of(x);
    if (x->grad != NULL) {
        TP_PARALLEL_FOR(rows * c)
        for (long r = 0; r < rows; r++)
            norm_row_backward(x->data + r * c, dy + r * c, x->grad + r * c, c,
                              gain->data, NULL, NULL, s->mean[r], s->rstd[r]);
    }
    /* <<ops: the gradients of the gain and the bias>> */
    if (gain->grad != NULL) {
        TP_PARALLEL_FOR(rows * c)
        for (int block = 0; block < c; block += 64) {
            int end = block + 64 < c ? block + 64 : c;
            for (long r = 0; r < rows; r++) {
                const float *xr = x->data + r * c, *dyr = dy + r * c;
                float mean = s->mean[r], rstd = s->rstd[r];
                for (int j = block; j < end; j++)
                    gain->grad[j] += dyr[j] * (xr[j] - mean) * rstd;
            }
        }
    }
    if (bias != NULL && bias->grad != NULL)
        add_repetitions(dy, rows, c, bias->grad);
}
/* <<ops: implementing normalisation>> */
tp_tensor *tp_layernorm(tp_graph *g, tp_tensor *x, tp_tensor *gain,
                        tp_tensor *bias, float eps)
{
    need_contiguous("tp_layernorm", x);
    check_gain("tp_layernorm", x, gain);
    if (bias != NULL)
        check_gain("tp_layernorm", x, bias);
    bool grad = tp_needs_grad(g, 3, (tp_tensor *[]){x, gain, bias});
    tp_tensor *y = result(g, x->shape, grad);
    long rows = rows_of(x);
    int c = last_dim(x);
    row_stats *s = tp_arena_alloc(g->arena, sizeof *s);
    s->mean = tp_arena_alloc(g->arena, (size_t)rows * sizeof(float));
    s->rstd = tp_arena_alloc(g->arena, (size_t)rows * sizeof(float));
    TP_PARALLEL_FOR(rows * c)
    for (long r = 0; r < rows; r++)
        layernorm_row(x->data + r * c, y->data + r * c, c, gain->data,
                      bias ? bias->data : NULL, eps, &s->mean[r], &s->rstd[r]);
    if (grad)
        tp_record(g, "layernorm", layernorm_backward, y, 3,
                  (tp_tensor *[]){x, gain, bias})->saved = s;
    return y;
}
/* <<ops: implementing normalisation>> */
static void rmsnorm_backward(tp_node *node)
{
    tp_tensor *x = node->input[0], *gain = node->input[1];
    const row_stats *s = node->saved;
    int c = last_dim(x);
    for (long r = 0, rows = rows_of(x); r < rows; r++) {
        const float *dy = node->output->grad + r * c;
        float *dx = x->grad ? x->grad + r * c : NULL;
        norm_row_backward(x->data + r * c, dy, dx, c, gain->data, gain->grad,
                          NULL, 0.0f, s->rstd[r]);
        double mean_d = 0.0;
        for (int j = 0; dx != NULL && j < c; j++)
            mean_d += gain->data[j] * dy[j];
        for (int j = 0; dx != NULL && j < c; j++)
            dx[j] += s->rstd[r] * (float)(mean_d / c);
    }
}
/* <<ops: implementing normalisation>> */
tp_tensor *tp_rmsnorm(tp_graph *g, tp_tensor *x, tp_tensor *gain, float eps)
{
    need_contiguous("tp_rmsnorm", x);
    check_gain("tp_rmsnorm", x, gain);
    bool grad = tp_needs_grad(g, 2, (tp_tensor *[]){x, gain});
    tp_tensor *y = result(g, x->shape, grad);
    long rows = rows_of(x);
    int c = last_dim(x);
    row_stats *s = tp_arena_alloc(g->arena, sizeof *s);
    s->rstd = tp_arena_alloc(g->arena, (size_t)rows * sizeof(float));
    for (long r = 0; r < rows; r++) {
        const float *xr = x->data + r * c;
        double squares = 0.0;
        for (int j = 0; j < c; j++)
            squares += (double)xr[j] * xr[j];
        s->rstd[r] = (float)(1.0 / sqrt(squares / c + eps));
        for (int j = 0; j < c; j++)
            y->data[r * c + j] = xr[j] * s->rstd[r] * gain->data[j];
    }
    if (grad)
        tp_record(g, "rmsnorm", rmsnorm_backward, y, 2,
                  (tp_tensor *[]){x, gain})->saved = s;
    return y;
}

/* <<ops: implementing softmax and the loss>> */
static double row_max(const float *x, int c)
{
    float m = -INFINITY;
    for (int j = 0; j < c; j++)
        m = x[j] > m ? x[j] : m;
    return m;
}

/* log sum_j exp(x_j), computed without overflow */
static double log_sum_exp(const float *x, int c)
{
    double m = row_max(x, c), sum = 0.0;
    for (int j = 0; j < c; j++)
        sum += exp(x[j] - m);
    return m + log(sum);
}
/* <<ops: implementing softmax and the loss>> */
static void softmax_backward(tp_node *node)
{
    tp_tensor *x = node->input[0], *y = node->output;
    int c = last_dim(x);
    for (long r = 0, rows = rows_of(x); r < rows; r++) {
        const float *yr = y->data + r * c, *dy = y->grad + r * c;
        double dot = 0.0;
        for (int j = 0; j < c; j++)
            dot += (double)dy[j] * yr[j];
        for (int j = 0; j < c; j++)
            x->grad[r * c + j] += yr[j] * (float)(dy[j] - dot);
    }
}
/* <<ops: implementing softmax and the loss>> */
/* y = x - log sum exp(x) along each row, or its exponential, the softmax */
static void normalise_rows(const tp_tensor *x, tp_tensor *y, bool exponential)
{
    int c = last_dim(x);
    long rows = rows_of(x);
    TP_PARALLEL_FOR(rows * c)
    for (long r = 0; r < rows; r++) {
        double lse = log_sum_exp(x->data + r * c, c);
        for (int j = 0; j < c; j++) {
            double v = x->data[r * c + j] - lse;
            y->data[r * c + j] = (float)(exponential ? exp(v) : v);
        }
    }
}

tp_tensor *tp_softmax(tp_graph *g, tp_tensor *x)
{
    need_contiguous("tp_softmax", x);
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){x});
    tp_tensor *y = result(g, x->shape, grad);
    normalise_rows(x, y, true);
    if (grad)
        tp_record(g, "softmax", softmax_backward, y, 1, (tp_tensor *[]){x});
    return y;
}
/* <<ops: implementing softmax and the loss>> */
static void log_softmax_backward(tp_node *node)
{
    tp_tensor *x = node->input[0], *y = node->output;
    int c = last_dim(x);
    for (long r = 0, rows = rows_of(x); r < rows; r++) {
        const float *yr = y->data + r * c, *dy = y->grad + r * c;
        double total = 0.0;
        for (int j = 0; j < c; j++)
            total += dy[j];
        for (int j = 0; j < c; j++)
            x->grad[r * c + j] += dy[j] - expf(yr[j]) * (float)total;
    }
}

tp_tensor *tp_log_softmax(tp_graph *g, tp_tensor *x)
{
    need_contiguous("tp_log_softmax", x);
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){x});
    tp_tensor *y = result(g, x->shape, grad);
    normalise_rows(x, y, false);
    if (grad)
        tp_record(g, "log_softmax", log_softmax_backward, y, 1,
                  (tp_tensor *[]){x});
    return y;
}
/* <<ops: implementing softmax and the loss>> */
typedef struct cross_entropy_saved {
    int *targets;
    float *lse;      /* per row */
    int ignore;
    float smoothing;
    long counted;    /* rows whose target is not ignored */
} cross_entropy_saved;

static void cross_entropy_backward(tp_node *node)
{
    const cross_entropy_saved *s = node->saved;
    tp_tensor *x = node->input[0];
    int c = last_dim(x);
    float scale = node->output->grad[0] / (float)s->counted;
    float spread = s->smoothing / (float)c;
    long rows = rows_of(x);
    TP_PARALLEL_FOR(rows * c)
    for (long r = 0; r < rows; r++) {
        if (s->targets[r] == s->ignore)
            continue;
        for (int j = 0; j < c; j++)
            x->grad[r * c + j] += scale * (tp_exp_nonpositive(
                x->data[r * c + j] - s->lse[r]) - spread);
        x->grad[r * c + s->targets[r]] -= scale * (1.0f - s->smoothing);
    }
}
/* <<ops: implementing softmax and the loss>> */
tp_tensor *tp_cross_entropy(tp_graph *g, tp_tensor *logits,
                            const int *targets, int ignore)
{
    return tp_cross_entropy_smoothed(g, logits, targets, ignore, 0.0f);
}

tp_tensor *tp_cross_entropy_smoothed(tp_graph *g, tp_tensor *logits,
                                     const int *targets, int ignore,
                                     float smoothing)
{
    need_contiguous("tp_cross_entropy", logits);
    tp_check(smoothing >= 0.0f && smoothing < 1.0f,
             "tp_cross_entropy: smoothing %g is not in [0, 1)",
             (double)smoothing);
    long rows = rows_of(logits);
    int c = last_dim(logits);
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){logits});
    cross_entropy_saved *s = tp_arena_zeroed(g->arena, 1, sizeof *s);
    s->targets = keep(g, targets, (size_t)rows * sizeof *targets);
    s->lse = tp_arena_alloc(g->arena, (size_t)rows * sizeof(float));
    s->ignore = ignore;
    s->smoothing = smoothing;
    double total = 0.0;
    /* <<ops: sum the loss over the counted rows>> */
    for (long r = 0; r < rows; r++) {
        if (targets[r] == ignore)
            continue;
        tp_check(targets[r] >= 0 && targets[r] < c,
                 "tp_cross_entropy: target %d of row %ld is not a class of %d",
                 targets[r], r, c);
        s->counted++;
    }
    tp_check(s->counted > 0, "tp_cross_entropy: every row is ignored");
    TP_PARALLEL_FOR(rows * c)
    for (long r = 0; r < rows; r++)
        if (targets[r] != ignore)
            s->lse[r] = (float)log_sum_exp(logits->data + r * c, c);
    for (long r = 0; r < rows; r++) {
        if (targets[r] == ignore)
            continue;
        const float *x = logits->data + r * c;
        double mean = 0.0;
        for (int j = 0; smoothing > 0.0f && j < c; j++)
            mean += x[j] / (double)c;
        total += s->lse[r] - (1.0 - smoothing) * x[targets[r]] - smoothing * mean;
    }
    tp_tensor *loss = result(g, tp_shape1(1), grad);
    loss->data[0] = (float)(total / (double)s->counted);
    if (grad)
        tp_record(g, "cross_entropy", cross_entropy_backward, loss, 1,
                  (tp_tensor *[]){logits})->saved = s;
    return loss;
}

/* <<ops: implementing embedding and dropout>> */
static void embedding_backward(tp_node *node)
{
    tp_tensor *table = node->input[0];
    const int *ids = node->saved;
    int c = last_dim(table);
    for (long i = 0, n = rows_of(node->output); i < n; i++)
        for (int j = 0; j < c; j++)
            table->grad[(long)ids[i] * c + j] += node->output->grad[i * c + j];
}
/* <<ops: implementing embedding and dropout>> */
tp_tensor *tp_embedding(tp_graph *g, tp_tensor *table, const int *ids,
                        tp_shape shape)
{
    need_contiguous("tp_embedding", table);
    tp_check(table->shape.ndim == 2 && shape.ndim < TP_MAX_DIMS,
             "tp_embedding: a %s table and %s ids",
             tp_shape_str(table->shape).text, tp_shape_str(shape).text);
    int vocab = table->shape.dim[0], c = table->shape.dim[1];
    long n = tp_shape_count(shape);
    tp_shape out = shape;
    out.dim[out.ndim++] = c;
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){table});
    tp_tensor *y = result(g, out, grad);
    for (long i = 0; i < n; i++) {
        tp_check(ids[i] >= 0 && ids[i] < vocab,
                 "tp_embedding: id %d at %ld is outside the table of %d rows",
                 ids[i], i, vocab);
        memcpy(y->data + i * c, table->data + (long)ids[i] * c,
               (size_t)c * sizeof(float));
    }
    if (grad)
        tp_record(g, "embedding", embedding_backward, y, 1,
                  (tp_tensor *[]){table})
            ->saved = keep(g, ids, (size_t)n * sizeof *ids);
    return y;
}
/* <<ops: implementing embedding and dropout>> */
static void dropout_backward(tp_node *node)
{
    const float *mask = node->saved;
    tp_tensor *x = node->input[0];
    for (long i = 0, n = tp_tensor_count(x); i < n; i++)
        x->grad[i] += mask[i] * node->output->grad[i];
}

tp_tensor *tp_dropout(tp_graph *g, tp_tensor *x, float p, tp_rng *rng)
{
    tp_check(p >= 0.0f && p < 1.0f, "tp_dropout: p = %g is not in [0, 1)",
             (double)p);
    if (p == 0.0f)
        return x;
    need_contiguous("tp_dropout", x);
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){x});
    tp_tensor *y = result(g, x->shape, grad);
    long n = tp_tensor_count(x);
    float *mask = tp_arena_alloc(g->arena, (size_t)n * sizeof *mask);
    for (long i = 0; i < n; i++) {
        mask[i] = tp_rng_uniform(rng) < p ? 0.0f : 1.0f / (1.0f - p);
        y->data[i] = mask[i] * x->data[i];
    }
    if (grad)
        tp_record(g, "dropout", dropout_backward, y, 1, (tp_tensor *[]){x})
            ->saved = mask;
    return y;
}

/* <<ops: implementing reshaping and joining>> */
tp_tensor *tp_permute(tp_arena *arena, const tp_tensor *t, const int order[])
{
    int n = t->shape.ndim, seen = 0;
    tp_tensor *view = tp_arena_alloc(arena, sizeof *view);
    *view = *t;
    for (int i = 0; i < n; i++) {
        tp_check(order[i] >= 0 && order[i] < n && !(seen & 1 << order[i]),
                 "tp_permute: the order does not name each of the %d "
                 "dimensions of %s once", n, tp_shape_str(t->shape).text);
        seen |= 1 << order[i];
        view->shape.dim[i] = t->shape.dim[order[i]];
        view->stride[i] = t->stride[order[i]];
    }
    return view;
}
/* <<ops: implementing reshaping and joining>> */
static void contiguous_backward(tp_node *node)
{
    tp_tensor dx = tp_grad_of(node->input[0]);
    tp_tensor dy = tp_grad_of(node->output);
    tp_axpy(&dx, 1.0f, &dy);
}

tp_tensor *tp_contiguous(tp_graph *g, tp_tensor *x)
{
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){x});
    tp_tensor *y = result(g, x->shape, grad);
    tp_copy(y, x);
    if (grad)
        tp_record(g, "contiguous", contiguous_backward, y, 1,
                  (tp_tensor *[]){x});
    return y;
}
/* <<ops: implementing reshaping and joining>> */
static tp_tensor part_of(const tp_tensor *whole, int d, int start,
                         int length)
{
    tp_tensor part = *whole;
    part.shape.dim[d] = length;
    part.data += start * whole->stride[d];
    return part;
}

static void concat_backward(tp_node *node)
{
    int d = *(const int *)node->saved, start = 0;
    tp_tensor dy = tp_grad_of(node->output);
    for (int i = 0; i < node->inputs; i++) {
        tp_tensor *part = node->input[i];
        int length = part->shape.dim[d];
        if (part->grad != NULL) {
            tp_tensor dpart = tp_grad_of(part);
            tp_tensor piece = part_of(&dy, d, start, length);
            tp_axpy(&dpart, 1.0f, &piece);
        }
        start += length;
    }
}
/* <<ops: implementing reshaping and joining>> */
static tp_shape concat_shape(int n, tp_tensor *const parts[], int d)
{
    tp_check(n >= 1 && n <= TP_MAX_INPUTS, "tp_concat: %d parts, 1 to %d",
             n, TP_MAX_INPUTS);
    tp_shape shape = parts[0]->shape;
    tp_check(d >= 0 && d < shape.ndim, "tp_concat: a %s part has no "
             "dimension %d", tp_shape_str(shape).text, d);
    for (int i = 1; i < n; i++) {
        tp_shape other = parts[i]->shape;
        bool fits = other.ndim == shape.ndim;
        for (int k = 0; fits && k < shape.ndim; k++)
            fits = k == d || other.dim[k] == shape.dim[k];
        tp_check(fits, "tp_concat: cannot join %s to %s along dimension %d",
                 tp_shape_str(other).text, tp_shape_str(parts[0]->shape).text,
                 d);
        shape.dim[d] += other.dim[d];
    }
    return shape;
}
/* <<ops: implementing reshaping and joining>> */
tp_tensor *tp_concat(tp_graph *g, int n, tp_tensor *const parts[], int d)
{
    tp_shape shape = concat_shape(n, parts, d);
    bool grad = tp_needs_grad(g, n, parts);
    tp_tensor *y = result(g, shape, grad);
    for (int i = 0, start = 0; i < n; i++) {
        tp_tensor piece = part_of(y, d, start, parts[i]->shape.dim[d]);
        tp_copy(&piece, parts[i]);
        start += parts[i]->shape.dim[d];
    }
    if (grad)
        tp_record(g, "concat", concat_backward, y, n, parts)->saved =
            keep(g, &d, sizeof d);
    return y;
}
