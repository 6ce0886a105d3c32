/* Generated from book/120-tensors.nw; edit the book, not this file. */
#include <string.h>

#include "tap.h"
#include "tp.h"

/* <<t-tensor: shapes>> */
static void shapes(void)
{
    tp_shape s = tp_shape3(2, 3, 4);
    is(tp_shape_count(s), 24, "a [2, 3, 4] shape holds 24 elements");
    is_str(tp_shape_str(s).text, "[2, 3, 4]", "shapes print as lists");
    ok(tp_shape_equal(s, tp_shape3(2, 3, 4)), "equal shapes are equal");
    ok(!tp_shape_equal(s, tp_shape3(2, 4, 3)), "order matters");
    ok(!tp_shape_equal(tp_shape1(6), tp_shape2(6, 1)),
       "so does the number of dimensions");
    is(tp_shape_count(tp_shape2(0, 5)), 0, "a zero dimension holds nothing");
}

/* <<t-tensor: new tensors>> */
static void new_tensors(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_tensor *t = tp_tensor_new(arena, tp_shape3(2, 3, 4), TP_WITH_GRAD);
    int zero = 1;
    for (long i = 0; i < 24; i++)
        zero &= t->data[i] == 0.0f && t->grad[i] == 0.0f;
    ok(zero, "a new tensor and its gradient are zero");
    /* <<t-tensor: large tensors are zeroed too>> */
    tp_arena *big = tp_arena_new("big");
    long count = 1L << 18;
    tp_tensor_new(big, tp_shape1((int)count), TP_WITH_GRAD);
    tp_arena_reset(big);  /* now one block, reused from here on */
    tp_tensor *dirty = tp_tensor_new(big, tp_shape1((int)count), TP_WITH_GRAD);
    tp_fill(dirty, 1.0f);
    memcpy(dirty->grad, dirty->data, (size_t)count * sizeof(float));
    tp_arena_reset(big);
    tp_tensor *fresh = tp_tensor_new(big, tp_shape1((int)count), TP_WITH_GRAD);
    int all_zero = fresh->data == dirty->data;
    for (long i = 0; i < count; i++)
        all_zero &= fresh->data[i] == 0.0f && fresh->grad[i] == 0.0f;
    ok(all_zero, "a new tensor of 2^18 numbers and its gradient are zero, "
                 "on reused memory");
    tp_arena_free(big);
    ok(t->stride[0] == 12 && t->stride[1] == 4 && t->stride[2] == 1,
       "a new [2, 3, 4] tensor has strides (12, 4, 1)");
    ok(tp_tensor_is_contiguous(t), "a new tensor is contiguous");
    ok(tp_tensor_new(arena, tp_shape1(3), TP_NO_GRAD)->grad == NULL,
       "a tensor made without a gradient has none");
    float values[6] = {1, 2, 3, 4, 5, 6};
    tp_tensor *m = tp_tensor_from(arena, tp_shape2(2, 3), values);
    ok(*tp_at2(m, 1, 0) == 4 && *tp_at2(m, 0, 2) == 3,
       "tp_tensor_from lays values out row by row");
    tp_arena_free(arena);
}

/* <<t-tensor: views>> */
static tp_tensor *numbered(tp_arena *arena, tp_grad_mode grad)
{
    tp_tensor *m = tp_tensor_new(arena, tp_shape2(3, 4), grad);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            *tp_at2(m, i, j) = (float)(10 * i + j);
    return m;
}

static void views(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_tensor *m = numbered(arena, TP_WITH_GRAD);
    /* <<t-tensor: transposes>> */
    tp_tensor *mt = tp_transpose(arena, m, 0, 1);
    int swapped = tp_shape_equal(mt->shape, tp_shape2(4, 3));
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            swapped &= *tp_at2(mt, i, j) == *tp_at2(m, j, i);
    ok(swapped, "the transpose's (i, j) is the original's (j, i)");
    ok(mt->data == m->data, "a transpose shares the original's memory");
    ok(!tp_tensor_is_contiguous(mt), "a transposed matrix is not contiguous");
    ok(tp_tensor_is_contiguous(tp_transpose(arena, mt, 1, 0)),
       "transposing it back is");
    /* <<t-tensor: slices>> */
    tp_tensor *rows = tp_slice(arena, m, 0, 1, 2);
    tp_tensor *cols = tp_slice(arena, m, 1, 2, 2);
    ok(*tp_at2(rows, 0, 3) == 13 && *tp_at2(rows, 1, 0) == 20,
       "a slice of rows 1 and 2 starts at row 1");
    ok(*tp_at2(cols, 0, 0) == 2 && *tp_at2(cols, 2, 1) == 23,
       "a slice of columns 2 and 3 starts at column 2");
    *tp_at2(cols, 1, 1) = -1;
    ok(*tp_at2(m, 1, 3) == -1, "writing through a slice writes the original");
    ok(cols->grad - m->grad == cols->data - m->data,
       "a slice's gradient is the same part of the original's gradient");
    ok(tp_tensor_is_contiguous(rows) && !tp_tensor_is_contiguous(cols),
       "whole rows are contiguous, part-rows are not");
    /* <<t-tensor: reshapes>> */
    tp_tensor *flat = tp_reshape(arena, m, tp_shape1(12));
    tp_tensor *cube = tp_reshape(arena, m, tp_shape3(2, 3, 2));
    ok(*tp_at1(flat, 5) == 11, "a reshape keeps row-major order (flat)");
    ok(*tp_at3(cube, 1, 0, 1) == *tp_at2(m, 1, 3),
       "a reshape keeps row-major order ([2, 3, 2])");
    ok(flat->data == m->data, "a reshape shares the original's memory");
    tp_arena_free(arena);
}

/* <<t-tensor: filling and copying>> */
static void filling_and_copying(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_rng r1 = tp_rng_seeded(5, 0), r2 = tp_rng_seeded(5, 0);
    tp_tensor *a = tp_tensor_new(arena, tp_shape2(3, 5), TP_NO_GRAD);
    tp_tensor *b = tp_tensor_new(arena, tp_shape2(5, 3), TP_NO_GRAD);
    tp_fill_normal(a, &r1, 0.0f, 1.0f);
    tp_fill_normal(tp_transpose(arena, b, 0, 1), &r2, 0.0f, 1.0f);
    int transposed = 1;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            transposed &= *tp_at2(a, i, j) == *tp_at2(b, j, i);
    ok(transposed, "filling a view follows the order of its shape");
    tp_tensor *c = tp_tensor_new(arena, tp_shape2(5, 3), TP_NO_GRAD);
    tp_copy(c, tp_transpose(arena, a, 0, 1));
    ok(memcmp(c->data, b->data, 15 * sizeof(float)) == 0,
       "copying a transposed view makes the transpose");
    ok(tp_max_abs_diff(c, b) == 0.0f, "a tensor differs from its copy by 0");
    *tp_at2(c, 4, 2) += 0.5f;
    near(tp_max_abs_diff(c, b), 0.5, 1e-6, "and by 0.5 after adding 0.5");
    *tp_at2(c, 0, 1) = NAN;
    ok(isnan(tp_max_abs_diff(c, b)), "a NaN makes the difference NaN");
    *tp_at2(c, 0, 1) = *tp_at2(b, 0, 1);
    float two = 2.0f;
    tp_tensor twos = {.shape = tp_shape2(3, 5), .data = &two};
    tp_tensor *d = tp_tensor_new(arena, tp_shape2(3, 5), TP_NO_GRAD);
    tp_copy(d, a);
    tp_axpy(tp_transpose(arena, d, 0, 1), -0.5f,
            tp_transpose(arena, &twos, 0, 1));
    ok(*tp_at2(d, 2, 3) == *tp_at2(a, 2, 3) - 1.0f
           && *tp_at2(d, 0, 0) == *tp_at2(a, 0, 0) - 1.0f,
       "tp_axpy adds -0.5 times a broadcast 2 through transposed views");
    tp_fill(tp_slice(arena, c, 0, 1, 3), 7.0f);
    ok(*tp_at2(c, 0, 0) != 7.0f && *tp_at2(c, 2, 1) == 7.0f
           && *tp_at2(c, 4, 0) != 7.0f,
       "tp_fill of a slice fills that slice only");
    /* <<t-tensor: copying a row at a time>> */
    tp_rng r3 = tp_rng_seeded(6, 0);
    tp_tensor *packed = tp_tensor_normal(arena, tp_shape4(2, 3, 4, 5), TP_NO_GRAD,
                                         &r3);
    tp_tensor *heads = tp_transpose(arena, packed, 1, 2);
    tp_tensor *e = tp_tensor_new(arena, heads->shape, TP_NO_GRAD);
    tp_copy(e, heads);
    tp_axpy(heads, 2.0f, e);
    int rows_agree = 1;
    for (int i = 0; i < 2; i++)
        for (int h = 0; h < 4; h++)
            for (int t = 0; t < 3; t++)
                for (int j = 0; j < 5; j++)
                    rows_agree &= *tp_at4(e, i, h, t, j) * 3.0f
                                  == *tp_at4(packed, i, t, h, j);
    ok(rows_agree, "copying and adding through views of contiguous rows "
                   "visit every element once");
    tp_arena_free(arena);
}

/* <<t-tensor: the example of this chapter>> */
static void the_example(void)
{
    tp_arena *arena = tp_arena_new("example");
    float values[] = {1, 2, 3, 4, 5, 6};
    tp_tensor *a = tp_tensor_from(arena, tp_shape2(2, 3), values);
    tp_tensor *at = tp_transpose(arena, a, 0, 1);
    tp_tensor *row = tp_slice(arena, a, 0, 1, 1);
    *tp_at2(at, 2, 1) = 60;
    FILE *out = tmpfile();
    tp_print(out, "a", a);
    tp_print(out, "row", row);
    char text[256] = "";
    rewind(out);
    size_t n = fread(text, 1, sizeof text - 1, out);
    text[n] = '\0';
    fclose(out);
    is_str(text, "a [2, 3] =\n  [[1, 2, 3],\n   [4, 5, 60]]\n"
                 "row [1, 3] =\n  [[4, 5, 60]]\n",
           "the example prints what the chapter says");
    tp_arena_free(arena);
}

/* <<t-tensor: broken contracts>> */
static int reshape_to_another_count(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_reshape(arena, tp_tensor_new(arena, tp_shape2(3, 4), TP_NO_GRAD),
               tp_shape2(5, 2));
    return 0;
}

static int reshape_a_transpose(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_tensor *m = tp_tensor_new(arena, tp_shape2(3, 4), TP_NO_GRAD);
    tp_reshape(arena, tp_transpose(arena, m, 0, 1), tp_shape1(12));
    return 0;
}

static int slice_too_far(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_slice(arena, tp_tensor_new(arena, tp_shape2(3, 4), TP_NO_GRAD), 1, 3,
             2);
    return 0;
}

static int index_out_of_range(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_at2(tp_tensor_new(arena, tp_shape2(3, 4), TP_NO_GRAD), 3, 0);
    return 0;
}
/* <<t-tensor: broken contracts>> */
static void broken_contracts(void)
{
    dies_with(reshape_to_another_count,
              "cannot reshape [3, 4] into [5, 2]: the counts differ",
              "a reshape must keep the count");
    dies_with(reshape_a_transpose, "non-contiguous [4, 3]",
              "a non-contiguous tensor cannot be reshaped");
    dies_with(slice_too_far, "cannot slice [3, 5) from dimension 1",
              "a slice must stay inside its dimension");
    dies_with(index_out_of_range, "index 3 is out of range for dimension 0",
              "tp_at checks every index");
}

int main(void)
{
    shapes();
    new_tensors();
    views();
    filling_and_copying();
    the_example();
    broken_contracts();
    return done_testing();
}
