/* Generated from book/130-matmul.nw; edit the book, not this file. */
#include <cblas.h>
#include <stdbool.h>
#include <string.h>

#include "tp/check.h"
#include "tp/matmul.h"

/* <<matmul: checking the shapes>> */
static bool batch_matches(const tp_tensor *x, const tp_tensor *c)
{
    if (x->shape.ndim != c->shape.ndim)
        return false;
    for (int d = 0; d < x->shape.ndim - 2; d++)
        if (x->shape.dim[d] != c->shape.dim[d])
            return false;
    return true;
}
/* <<matmul: checking the shapes>> */
static void check_shapes(const tp_tensor *c, const tp_tensor *a,
                         const tp_tensor *b)
{
    int n = c->shape.ndim;
    const int *ad = a->shape.dim, *bd = b->shape.dim, *cd = c->shape.dim;
    int nb = b->shape.ndim;
    bool fits = n >= 2 && batch_matches(a, c)
                && (nb == 2 || batch_matches(b, c))
                && ad[n - 1] == bd[nb - 2]     /* K */
                && cd[n - 2] == ad[n - 2]      /* M */
                && cd[n - 1] == bd[nb - 1];    /* N */
    tp_check(fits, "cannot multiply %s by %s into %s",
             tp_shape_str(a->shape).text, tp_shape_str(b->shape).text,
             tp_shape_str(c->shape).text);
}
/* <<matmul: checking the shapes>> */
typedef void multiply_fn(tp_tensor *c, const tp_tensor *a,
                         const tp_tensor *b, float alpha, float beta);

static tp_tensor matrix_of(const tp_tensor *t, int i, int j)
{
    tp_tensor m = *t;
    int n = t->shape.ndim;
    if (n >= 3)
        m.data += i * t->stride[0];
    if (n == 4)
        m.data += j * t->stride[1];
    m.shape = tp_shape2(t->shape.dim[n - 2], t->shape.dim[n - 1]);
    m.stride[0] = t->stride[n - 2];
    m.stride[1] = t->stride[n - 1];
    return m;
}
/* <<matmul: checking the shapes>> */
static void for_each_matrix(multiply_fn *multiply, tp_tensor *c,
                            const tp_tensor *a, const tp_tensor *b,
                            float alpha, float beta)
{
    int n = c->shape.ndim;
    int outer = n >= 3 ? c->shape.dim[0] : 1;
    int inner = n == 4 ? c->shape.dim[1] : 1;
    for (int i = 0; i < outer; i++)
        for (int j = 0; j < inner; j++) {
            tp_tensor cm = matrix_of(c, i, j), am = matrix_of(a, i, j);
            tp_tensor bm = b->shape.ndim == 2 ? *b : matrix_of(b, i, j);
            multiply(&cm, &am, &bm, alpha, beta);
        }
}

/* <<matmul: the naive product>> */
static void naive_matrix(tp_tensor *c, const tp_tensor *a,
                         const tp_tensor *b, float alpha, float beta)
{
    int m = c->shape.dim[0], n = c->shape.dim[1], k = a->shape.dim[1];
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double sum = 0.0;
            for (int p = 0; p < k; p++)
                sum += (double)a->data[i * a->stride[0] + p * a->stride[1]]
                       * b->data[p * b->stride[0] + j * b->stride[1]];
            float *out = &c->data[i * c->stride[0] + j * c->stride[1]];
            *out = (float)(alpha * sum + (beta == 0.0f ? 0.0 : beta * *out));
        }
}

void tp_gemm_naive(tp_tensor *c, const tp_tensor *a, const tp_tensor *b,
                   float alpha, float beta)
{
    check_shapes(c, a, b);
    for_each_matrix(naive_matrix, c, a, b, alpha, beta);
}

/* <<matmul: matrices as the BLAS sees them>> */
typedef struct blas_matrix {
    CBLAS_TRANSPOSE transpose;  /* whether memory holds the transpose */
    int leading;                /* distance between rows in memory */
} blas_matrix;
/* <<matmul: matrices as the BLAS sees them>> */
static bool as_blas(const tp_tensor *m, blas_matrix *out)
{
    int rows = m->shape.dim[0], cols = m->shape.dim[1];
    long rs = m->stride[0], cs = m->stride[1];
    bool row_major = cols == 1 || (cs == 1 && (rows == 1 || rs >= cols));
    bool col_major = rows == 1 || (rs == 1 && (cols == 1 || cs >= rows));
    long leading;
    if (row_major) {
        out->transpose = CblasNoTrans;
        leading = rows == 1 ? cols : rs;
    } else if (col_major) {
        out->transpose = CblasTrans;
        leading = cols == 1 ? rows : cs;
    } else
        return false;
    out->leading = leading > 1 ? (int)leading : 1;
    return true;
}

/* <<matmul: the product through OpenBLAS>> */
static void row_times_matrix(tp_tensor *c, const tp_tensor *a,
                             const tp_tensor *b, const blas_matrix *bm,
                             float alpha, float beta)
{
    int k = a->shape.dim[1], n = c->shape.dim[1];
    int step_a = k == 1 ? 1 : (int)a->stride[1];
    if (beta == 0.0f)
        memset(c->data, 0, (size_t)n * sizeof *c->data);
    if (bm->transpose == CblasNoTrans)
        cblas_sgemv(CblasRowMajor, CblasTrans, k, n, alpha, b->data,
                    bm->leading, a->data, step_a, beta, c->data, 1);
    else
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b->data,
                    bm->leading, a->data, step_a, beta, c->data, 1);
}
/* <<matmul: the product through OpenBLAS>> */
static void blas_matrix_product(tp_tensor *c, const tp_tensor *a,
                                const tp_tensor *b, float alpha, float beta)
{
    blas_matrix am, bm, cm;
    tp_check(as_blas(a, &am) && as_blas(b, &bm),
             "the BLAS cannot read a %s matrix with strides (%ld, %ld) or a "
             "%s one with strides (%ld, %ld): copy it first",
             tp_shape_str(a->shape).text, a->stride[0], a->stride[1],
             tp_shape_str(b->shape).text, b->stride[0], b->stride[1]);
    tp_check(as_blas(c, &cm) && cm.transpose == CblasNoTrans,
             "the result of a product must have rows of stride 1");
    int m = c->shape.dim[0], n = c->shape.dim[1], k = a->shape.dim[1];
    if (m == 1) {
        row_times_matrix(c, a, b, &bm, alpha, beta);
        return;
    }
    cblas_sgemm(CblasRowMajor, am.transpose, bm.transpose, m, n, k, alpha,
                a->data, am.leading, b->data, bm.leading, beta, c->data,
                cm.leading);
}
/* <<matmul: the product through OpenBLAS>> */
static bool one_tall_matrix(const tp_tensor *c, const tp_tensor *a,
                            const tp_tensor *b)
{
    return b->shape.ndim == 2 && c->shape.ndim > 2
           && tp_tensor_is_contiguous(a) && tp_tensor_is_contiguous(c);
}

void tp_gemm(tp_tensor *c, const tp_tensor *a, const tp_tensor *b,
             float alpha, float beta)
{
    check_shapes(c, a, b);
    if (tp_tensor_count(c) == 0)
        return;
    if (one_tall_matrix(c, a, b)) {
        int n = c->shape.ndim;
        long rows = tp_tensor_count(c) / c->shape.dim[n - 1];
        tp_tensor ta = *a, tc = *c;
        ta.shape = tp_shape2((int)rows, a->shape.dim[n - 1]);
        tc.shape = tp_shape2((int)rows, c->shape.dim[n - 1]);
        ta.stride[0] = a->shape.dim[n - 1], ta.stride[1] = 1;
        tc.stride[0] = c->shape.dim[n - 1], tc.stride[1] = 1;
        blas_matrix_product(&tc, &ta, b, alpha, beta);
        return;
    }
    for_each_matrix(blas_matrix_product, c, a, b, alpha, beta);
}

/* <<matmul: setting the threads>> */
void tp_set_threads(int threads)
{
    tp_check(threads >= 1, "the number of threads must be positive, not %d",
             threads);
    openblas_set_num_threads(threads);
}

int tp_threads(void)
{
    return openblas_get_num_threads();
}
