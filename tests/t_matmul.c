/* Generated from book/130-matmul.nw; edit the book, not this file. */
#include "tap.h"
#include "tp.h"

static tp_arena *arena;
static tp_rng rng;

/* <<t-matmul: comparing with the naive product>> */
static tp_tensor *random_tensor(tp_shape shape)
{
    return tp_tensor_normal(arena, shape, TP_NO_GRAD, &rng);
}

static float gemm_error(tp_tensor *c, const tp_tensor *a, const tp_tensor *b,
                        float alpha, float beta)
{
    tp_tensor *expected = tp_tensor_new(arena, c->shape, TP_NO_GRAD);
    tp_copy(expected, c);
    tp_gemm_naive(expected, a, b, alpha, beta);
    tp_gemm(c, a, b, alpha, beta);
    return tp_max_abs_diff(c, expected);
}

/* <<t-matmul: sizes and transposes>> */
static const tp_tensor *operand(int rows, int cols, bool transposed)
{
    if (!transposed)
        return random_tensor(tp_shape2(rows, cols));
    return tp_transpose(arena, random_tensor(tp_shape2(cols, rows)), 0, 1);
}

static void sizes_and_transposes(void)
{
    static const int sizes[][3] = {{1, 1, 1}, {1, 7, 1}, {1, 37, 65},
                                   {5, 1, 3}, {3, 5, 7}, {17, 33, 65},
                                   {64, 64, 64}, {100, 37, 129}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int m = sizes[s][0], k = sizes[s][1], n = sizes[s][2];
                const tp_tensor *a = operand(m, k, ta), *b = operand(k, n, tb);
                tp_tensor *c = random_tensor(tp_shape2(m, n));
                ok(gemm_error(c, a, b, 1.0f, 0.0f) <= 1e-6 * k,
                   "%s%s: %dx%d by %dx%d matches the naive product",
                   ta ? "A^T" : "A", tb ? "B^T" : "B", m, k, k, n);
            }
}

/* <<t-matmul: slices, alpha and beta>> */
static void slices_alpha_and_beta(void)
{
    tp_tensor *big = random_tensor(tp_shape2(40, 50));
    const tp_tensor *a = tp_slice(arena, tp_slice(arena, big, 0, 3, 20),
                                  1, 5, 30);
    const tp_tensor *b = tp_slice(arena, big, 1, 10, 17);
    tp_tensor *c = random_tensor(tp_shape2(20, 17));
    b = tp_slice(arena, b, 0, 0, 30);
    ok(gemm_error(c, a, b, 1.0f, 0.0f) <= 1e-6 * 30,
       "slices with rows longer than the matrix multiply correctly");
    ok(gemm_error(c, a, b, 0.5f, 1.0f) <= 1e-6 * 30,
       "alpha = 0.5 scales the product and beta = 1 adds it");
    ok(gemm_error(c, a, b, -2.0f, 0.25f) <= 1e-6 * 60,
       "alpha = -2 and beta = 0.25 too");
    tp_fill(c, NAN);
    ok(gemm_error(c, a, b, 1.0f, 0.0f) <= 1e-6 * 30,
       "with beta = 0 the old contents, even NaN, are not read");
    tp_tensor *row = tp_slice(arena, c, 0, 4, 1);
    const tp_tensor *a_row = tp_slice(arena, a, 0, 2, 1);
    ok(gemm_error(row, a_row, b, 0.5f, 1.0f) <= 1e-6 * 30,
       "one row of a slice: alpha = 0.5 and beta = 1");
    tp_fill(row, NAN);
    ok(gemm_error(row, a_row, b, 1.0f, 0.0f) <= 1e-6 * 30,
       "one row with beta = 0 does not read NaN either");
}

/* <<t-matmul: batches>> */
static void batches(void)
{
    tp_tensor *c3 = random_tensor(tp_shape3(3, 9, 11));
    ok(gemm_error(c3, random_tensor(tp_shape3(3, 9, 13)),
                  random_tensor(tp_shape3(3, 13, 11)), 1.0f, 0.0f) <= 1.3e-5,
       "a batch of 3 products matches the naive products");
    tp_tensor *x = random_tensor(tp_shape3(4, 10, 24));
    tp_tensor *w = random_tensor(tp_shape2(24, 8));
    tp_tensor *y = random_tensor(tp_shape3(4, 10, 8));
    ok(gemm_error(y, x, w, 1.0f, 1.0f) <= 2.4e-5,
       "a linear layer on [4, 10, 24] matches the naive products");
    tp_tensor *q = random_tensor(tp_shape4(2, 3, 7, 5));
    tp_tensor *s = random_tensor(tp_shape4(2, 3, 7, 7));
    ok(gemm_error(s, q, tp_transpose(arena, q, 2, 3), 1.0f, 0.0f) <= 5e-6,
       "[2, 3, 7, 5] by its transpose matches the naive products");
    tp_tensor *bthd = random_tensor(tp_shape4(2, 7, 3, 5));
    tp_tensor *heads = tp_transpose(arena, bthd, 1, 2);  /* [2, 3, 7, 5] */
    ok(gemm_error(s, heads, tp_transpose(arena, heads, 2, 3), 1.0f, 0.0f)
           <= 5e-6,
       "heads taken as a view of [B, T, H, d] multiply correctly");
}

/* <<t-matmul: broken contracts>> */
static int inner_dimensions_differ(void)
{
    tp_tensor *c = tp_tensor_new(arena, tp_shape2(2, 5), TP_NO_GRAD);
    tp_gemm(c, tp_tensor_new(arena, tp_shape2(2, 3), TP_NO_GRAD),
            tp_tensor_new(arena, tp_shape2(4, 5), TP_NO_GRAD), 1, 0);
    return 0;
}

static int unreadable_view(void)
{
    tp_tensor *t = tp_tensor_new(arena, tp_shape3(2, 3, 4), TP_NO_GRAD);
    tp_tensor *v = tp_transpose(arena, t, 0, 2);  /* [4, 3, 2] */
    tp_tensor *c = tp_tensor_new(arena, tp_shape3(4, 3, 3), TP_NO_GRAD);
    tp_gemm(c, v, tp_tensor_new(arena, tp_shape3(4, 2, 3), TP_NO_GRAD), 1, 0);
    return 0;
}

static void broken_contracts(void)
{
    dies_with(inner_dimensions_differ,
              "cannot multiply [2, 3] by [4, 5] into [2, 5]",
              "mismatched inner dimensions stop with all three shapes");
    dies_with(unreadable_view, "copy it first",
              "a view the BLAS cannot read stops with advice");
}

/* <<t-matmul: parallel loops>> */
#ifdef _OPENMP
#include <omp.h>

static void parallel_loops(void)
{
    int threads = tp_threads(), small = 0, large = 0, inside = 0;
    tp_set_threads(2);
    TP_PARALLEL_FOR(TP_GRAIN - 1)
    for (int i = 0; i < 8; i++)
        if (i == 0)
            small = omp_get_num_threads();
    TP_PARALLEL_FOR(TP_GRAIN)
    for (int i = 0; i < 8; i++)
        if (i == 0)
            large = omp_get_num_threads();
    TP_PARALLEL_PRODUCTS
    for (int i = 0; i < 8; i++)
        if (i == 0)
            inside = omp_in_parallel();
    tp_set_threads(threads);
    is(small, 1, "a loop under the grain runs on one thread");
    is(large, 2, "a loop at the grain runs on two");
    ok(inside, "a loop of products runs in an active parallel region");
}
#else
static void parallel_loops(void) { skip(3, "built without OpenMP"); }
#endif

int main(void)
{
    arena = tp_arena_new("test");
    rng = tp_rng_seeded(1, 0);
    sizes_and_transposes();
    slices_alpha_and_beta();
    batches();
    broken_contracts();
    parallel_loops();
    tp_arena_free(arena);
    return done_testing();
}
