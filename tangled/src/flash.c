/* Generated from book/385-hardware.nw; edit the book, not this file. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/check.h"
#include "tp/flash.h"
#include "tp/kernels.h"

/* <<flash: validation>> */
const int tp_flash_head_dims[TP_FLASH_HEAD_DIMS] = {64, 128};

int tp_flash_validate(int heads, int n, int d, char *why, size_t why_size)
{
    bool compiled = false;
    for (int i = 0; i < TP_FLASH_HEAD_DIMS; i++)
        compiled = compiled || d == tp_flash_head_dims[i];
    if (!compiled)
        snprintf(why, why_size, "head dimension %d: the kernels are "
                 "compiled for 64 and 128 only", d);
    else if (n <= 0)
        snprintf(why, why_size, "%d positions: attention needs at least one",
                 n);
    else if (heads <= 0 || heads > 65535)
        snprintf(why, why_size, "%d heads: must be between 1 and 65535",
                 heads);
    else if ((double)heads * n * d > (double)(1 << 30) || n > 1 << 20)
        snprintf(why, why_size, "%d heads of %d x %d: too large (at most "
                 "2^30 values in one input, 2^20 positions)", heads, n, d);
    else
        return 0;
    return -1;
}

/* <<flash: cases>> */
static void *allocate(size_t bytes)
{
    void *p = malloc(bytes > 0 ? bytes : 1);
    tp_check(p != NULL, "flash: out of memory for %zu bytes", bytes);
    return p;
}

static float *float_input(tp_gpu_case *c, int input, long count)
{
    float *x = allocate((size_t)count * sizeof *x);
    c->input[input] = x;
    c->input_bytes[input] = (size_t)count * sizeof *x;
    return x;
}

static float *normal_input(tp_gpu_case *c, int input, long count, tp_rng *rng)
{
    float *x = float_input(c, input, count);
    for (long i = 0; i < count; i++)
        x[i] = (float)tp_rng_normal(rng);
    return x;
}
/* <<flash: cases>> */
static void make_output(tp_gpu_case *c, int output, long count)
{
    c->output_count[output] = count;
    c->reference[output] = allocate((size_t)count * sizeof(float));
    c->tolerance[output] = allocate((size_t)count * sizeof(double));
}

static void check_shape(const tp_gpu_case *c)
{
    char why[256];
    tp_check(tp_flash_validate(c->inner, c->rows, c->cols, why,
                               sizeof why) == 0, "%s: %s", c->op->name, why);
}

/* <<flash: one head in double precision>> */
typedef struct head {
    int queries, keys, d, offset;  /* query r sees keys 0 .. r + offset */
    double scale;
    double *q, *k, *v;             /* the inputs, widened */
    double *p;                     /* [queries][keys] weights */
    double *lse, *max, *log_sum, *eps;  /* per query */
} head;

static double *widen(const float *x, long count, bool absolute)
{
    double *y = allocate((size_t)count * sizeof *y);
    for (long i = 0; i < count; i++)
        y[i] = absolute ? fabs((double)x[i]) : x[i];
    return y;
}

static double *widen_absolute(const double *x, long count)
{
    double *y = allocate((size_t)count * sizeof *y);
    for (long i = 0; i < count; i++)
        y[i] = fabs(x[i]);
    return y;
}
/* <<flash: one head in double precision>> */
static void dgemm(bool a_transposed, bool b_transposed, int m, int n, int k,
                  double alpha, const double *a, const double *b, double *c)
{
    cblas_dgemm(CblasRowMajor, a_transposed ? CblasTrans : CblasNoTrans,
                b_transposed ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
                a_transposed ? m : k, b, b_transposed ? k : n, 0.0, c, n);
}

static int visible(const head *h, int r)
{
    return r + h->offset + 1;
}
/* <<flash: one head in double precision>> */
static void head_probabilities(head *h, const double *bound)
{
    double u = TP_FP32_UNIT;
    for (int r = 0; r < h->queries; r++) {
        double *s = h->p + (long)r * h->keys;
        const double *a = bound + (long)r * h->keys;
        int seen = visible(h, r);
        double max = -INFINITY, min = INFINITY, biggest = 0, sum = 0;
        for (int j = 0; j < seen; j++)
            max = fmax(max, s[j]), min = fmin(min, s[j]),
            biggest = fmax(biggest, a[j]);
        for (int j = 0; j < seen; j++)
            sum += exp(s[j] - max);
        for (int j = 0; j < h->keys; j++)
            s[j] = j < seen ? exp(s[j] - max) / sum : 0;
        h->max[r] = max, h->log_sum[r] = log(sum), h->lse[r] = max + log(sum);
        h->eps[r] = tp_gamma(10.0 * seen + 2 * (max - min), u)
                    + 2 * tp_gamma(h->d + 4.0, u) * biggest;
    }
}
/* <<flash: one head in double precision>> */
static head head_forward(int queries, int keys, int d, const float *q,
                         const float *k, const float *v)
{
    head h = {queries, keys, d, keys - queries, 1 / sqrt((double)d),
              widen(q, (long)queries * d, false),
              widen(k, (long)keys * d, false), widen(v, (long)keys * d, false),
              allocate((size_t)queries * keys * sizeof(double)),
              allocate((size_t)queries * sizeof(double)),
              allocate((size_t)queries * sizeof(double)),
              allocate((size_t)queries * sizeof(double)),
              allocate((size_t)queries * sizeof(double))};
    double *bound = allocate((size_t)queries * keys * sizeof *bound);
    double *aq = widen(q, (long)queries * d, true);
    double *ak = widen(k, (long)keys * d, true);
    dgemm(false, true, queries, keys, d, h.scale, h.q, h.k, h.p);
    dgemm(false, true, queries, keys, d, h.scale, aq, ak, bound);
    head_probabilities(&h, bound);
    free(aq), free(ak), free(bound);
    return h;
}

static void head_free(head *h)
{
    free(h->q), free(h->k), free(h->v), free(h->p);
    free(h->lse), free(h->max), free(h->log_sum), free(h->eps);
}

/* <<flash: the forward and decoding references>> */
static void attention_reference(tp_gpu_case *c, int queries)
{
    int n = c->rows, d = c->cols, heads = c->inner;
    const float *q = c->input[0], *k = c->input[1], *v = c->input[2];
    make_output(c, 0, (long)heads * queries * d);
    make_output(c, 1, (long)heads * queries);
    double *o = allocate((size_t)queries * d * sizeof *o);
    double *w = allocate((size_t)queries * d * sizeof *w);
    for (int hd = 0; hd < heads; hd++) {
        long qo = (long)hd * queries * d, ko = (long)hd * n * d;
        head h = head_forward(queries, n, d, q + qo, k + ko, v + ko);
        double *av = widen(v + ko, (long)n * d, true);
        dgemm(false, false, queries, d, n, 1, h.p, h.v, o);
        dgemm(false, false, queries, d, n, 1, h.p, av, w);
        /* <<flash: the head's outputs and their bounds>> */
        for (int r = 0; r < queries; r++) {
            double g = tp_gamma(visible(&h, r) + 1.0, TP_FP32_UNIT);
            for (int x = 0; x < d; x++) {
                long at = (long)r * d + x;
                c->reference[0][qo + at] = (float)o[at];
                c->tolerance[0][qo + at] = 2 * (h.eps[r] + g) * w[at];
            }
            long at = (long)hd * queries + r;
            c->reference[1][at] = (float)h.lse[r];
            c->tolerance[1][at] = 2 * h.eps[r] + 4 * TP_FP32_UNIT
                                  * (fabs(h.max[r]) + fabs(h.log_sum[r]));
        }
        free(av);
        head_free(&h);
    }
    free(o), free(w);
}
/* <<flash: the forward and decoding references>> */
static void make_attention(tp_gpu_case *c, tp_rng *rng)
{
    check_shape(c);
    long values = (long)c->inner * c->rows * c->cols;
    for (int i = 0; i < 3; i++)
        normal_input(c, i, values, rng);
    attention_reference(c, c->rows);
}

static void make_decode(tp_gpu_case *c, tp_rng *rng)
{
    check_shape(c);
    long values = (long)c->inner * c->rows * c->cols;
    normal_input(c, 0, (long)c->inner * c->cols, rng);
    normal_input(c, 1, values, rng);
    normal_input(c, 2, values, rng);
    attention_reference(c, 1);
}

static double attention_flops(const tp_gpu_case *c)
{
    return 2.0 * c->rows * (c->rows + 1.0) * c->cols * c->inner;
}

static double decode_bytes(const tp_gpu_case *c)
{
    return 2.0 * c->rows * c->cols * c->inner * sizeof(float);
}

/* <<flash: the backward reference>> */
typedef struct gradient_terms {
    double *ds, *abs_ds, *err_ds;  /* [T][T]: dS, |dS|, E */
    double *eps_p;                 /* [T][T]: eps_i p_ij */
} gradient_terms;

static gradient_terms head_gradient_terms(const head *h, const double *o,
                                          const double *dout)
{
    int n = h->keys, d = h->d;
    long nn = (long)n * n;
    gradient_terms t = {allocate((size_t)nn * sizeof(double)),
                        allocate((size_t)nn * sizeof(double)),
                        allocate((size_t)nn * sizeof(double)),
                        allocate((size_t)nn * sizeof(double))};
    double *ado = widen_absolute(dout, (long)n * d);
    double *av = widen_absolute(h->v, (long)n * d);
    dgemm(false, true, n, n, d, 1, dout, h->v, t.ds);      /* dP */
    dgemm(false, true, n, n, d, 1, ado, av, t.err_ds);     /* |dO||V|^T */
    double g = tp_gamma(d + 2.0, TP_FP32_UNIT);
    for (int i = 0; i < n; i++) {
        /* <<flash backward: row i of dS and of its bound E>> */
        double delta = 0, abs_delta = 0;
        for (int x = 0; x < d; x++) {
            delta += dout[(long)i * d + x] * o[(long)i * d + x];
            abs_delta += fabs(dout[(long)i * d + x] * o[(long)i * d + x]);
        }
        for (int j = 0; j < n; j++) {
            long at = (long)i * n + j;
            double p = h->p[at], dp_minus = t.ds[at] - delta;
            t.ds[at] = p * dp_minus;
            t.abs_ds[at] = fabs(t.ds[at]);
            t.err_ds[at] = p * (h->eps[i] * fabs(dp_minus)
                                + g * (t.err_ds[at] + abs_delta));
            t.eps_p[at] = h->eps[i] * p;
        }
    }
    free(ado), free(av);
    return t;
}
/* <<flash: the backward reference>> */
static void gradient_terms_free(gradient_terms *t)
{
    free(t->ds), free(t->abs_ds), free(t->err_ds), free(t->eps_p);
}
/* <<flash: the backward reference>> */
static void gradient_output(tp_gpu_case *c, int output, long offset,
                            bool transposed, int n, int d, double alpha,
                            const double *m, const double *abs_m,
                            const double *err_m, double g, const double *x)
{
    double *y = allocate((size_t)n * d * sizeof *y);
    double *ax = widen_absolute(x, (long)n * d);
    double *bound = allocate((size_t)n * d * sizeof *bound);
    dgemm(transposed, false, n, d, n, alpha, m, x, y);
    for (long i = 0; i < (long)n * d; i++)
        c->reference[output][offset + i] = (float)y[i];
    dgemm(transposed, false, n, d, n, 2 * alpha * g, abs_m, ax, y);
    dgemm(transposed, false, n, d, n, 2 * alpha, err_m, ax, bound);
    for (long i = 0; i < (long)n * d; i++)
        c->tolerance[output][offset + i] = y[i] + bound[i];
    free(y), free(ax), free(bound);
}
/* <<flash: the backward reference>> */
static void backward_head(tp_gpu_case *c, int hd)
{
    int n = c->rows, d = c->cols;
    long off = (long)hd * n * d;
    head h = head_forward(n, n, d, (float *)c->input[0] + off,
                          (float *)c->input[1] + off,
                          (float *)c->input[2] + off);
    double *o = allocate((size_t)n * d * sizeof *o);
    dgemm(false, false, n, d, n, 1, h.p, h.v, o);
    double *dout = widen((float *)c->input[4] + off, (long)n * d, false);
    for (long i = 0; i < (long)n * d; i++)
        ((float *)c->input[3])[off + i] = (float)o[i];
    for (int i = 0; i < n; i++)
        ((float *)c->input[5])[(long)hd * n + i] = (float)h.lse[i];
    gradient_terms t = head_gradient_terms(&h, o, dout);
    double u = TP_FP32_UNIT;
    gradient_output(c, 0, off, false, n, d, h.scale, t.ds, t.abs_ds, t.err_ds,
                    tp_gamma(n + 2.0, u), h.k);
    gradient_output(c, 1, off, true, n, d, h.scale, t.ds, t.abs_ds, t.err_ds,
                    tp_gamma(n + 2.0, u), h.q);
    gradient_output(c, 2, off, true, n, d, 1, h.p, h.p, t.eps_p,
                    tp_gamma(n + 1.0, u), dout);
    gradient_terms_free(&t);
    free(o), free(dout);
    head_free(&h);
}
/* <<flash: the backward reference>> */
static void make_attention_backward(tp_gpu_case *c, tp_rng *rng)
{
    check_shape(c);
    long values = (long)c->inner * c->rows * c->cols;
    for (int i = 0; i < 3; i++)
        normal_input(c, i, values, rng);
    normal_input(c, 4, values, rng);
    float_input(c, 3, values);
    float_input(c, 5, (long)c->inner * c->rows);
    for (int o = 0; o < 3; o++)
        make_output(c, o, values);
    for (int hd = 0; hd < c->inner; hd++)
        backward_head(c, hd);
}

static double attention_backward_flops(const tp_gpu_case *c)
{
    return 2.5 * attention_flops(c);
}

/* <<flash: the table of operations>> */
#ifdef TP_CUDA
#define DEVICE(launcher) launcher
#else
#define DEVICE(launcher) NULL
#endif

static const tp_gpu_version attention_versions[] = {
    {"v0", "cuBLAS products, scores in memory",
     DEVICE(tp_cuda_attention_cublas)},
    {"v1", "naive: a block per query row", DEVICE(tp_cuda_attention_v1)},
    {"v2", "tiles in shared memory, online softmax",
     DEVICE(tp_cuda_attention_v2)},
    {"v4", "v2, skipping the tiles the mask hides",
     DEVICE(tp_cuda_attention_v4)},
};

static const tp_gpu_version attention_backward_versions[] = {
    {"v1", "recomputed from the log-sum-exp, tiles",
     DEVICE(tp_cuda_attention_backward_v1)},
};

static const tp_gpu_version decode_versions[] = {
    {"v1", "a block per head, all keys", DEVICE(tp_cuda_decode_v1)},
    {"v4", "split over the keys, then combined", DEVICE(tp_cuda_decode_v4)},
};
/* <<flash: the table of operations>> */
#define VERSIONS(table) (int)(sizeof table / sizeof table[0]), table

const tp_gpu_operation tp_flash_operations[] = {
    {"attention", "causal attention, FP32: O and the log-sum-exp", 3, 2,
     {"O", "lse"}, TP_GPU_FP32_BOUND, make_attention, attention_flops,
     VERSIONS(attention_versions)},
    {"attention-backward", "its gradients, from O and the log-sum-exp", 6, 3,
     {"dQ", "dK", "dV"}, TP_GPU_FP32_BOUND, make_attention_backward,
     attention_backward_flops, VERSIONS(attention_backward_versions)},
    {"attention-decode", "one query per head against all keys", 3, 2,
     {"O", "lse"}, TP_GPU_MEMORY_BOUND, make_decode, decode_bytes,
     VERSIONS(decode_versions)},
};
const int tp_flash_operation_count =
    (int)(sizeof tp_flash_operations / sizeof tp_flash_operations[0]);

const tp_gpu_operation *tp_flash_operation_named(const char *name)
{
    for (int i = 0; i < tp_flash_operation_count; i++)
        if (strcmp(tp_flash_operations[i].name, name) == 0)
            return &tp_flash_operations[i];
    return NULL;
}
