/* Generated from book/120-tensors.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "tp/check.h"
#include "tp/parallel.h"
#include "tp/tensor.h"

/* <<tensor: making shapes>> */
static tp_shape make_shape(int ndim, const int *dim)
{
    tp_shape shape = {.ndim = ndim};
    for (int d = 0; d < ndim; d++) {
        tp_check(dim[d] >= 0, "dimension %d has negative size %d", d, dim[d]);
        shape.dim[d] = dim[d];
    }
    return shape;
}

tp_shape tp_shape1(int d0) { return make_shape(1, (int[]){d0}); }
tp_shape tp_shape2(int d0, int d1) { return make_shape(2, (int[]){d0, d1}); }
tp_shape tp_shape3(int d0, int d1, int d2)
{
    return make_shape(3, (int[]){d0, d1, d2});
}
tp_shape tp_shape4(int d0, int d1, int d2, int d3)
{
    return make_shape(4, (int[]){d0, d1, d2, d3});
}
/* <<tensor: making shapes>> */
long tp_shape_count(tp_shape shape)
{
    long count = 1;
    for (int d = 0; d < shape.ndim; d++)
        count *= shape.dim[d];
    return count;
}

bool tp_shape_equal(tp_shape a, tp_shape b)
{
    if (a.ndim != b.ndim)
        return false;
    for (int d = 0; d < a.ndim; d++)
        if (a.dim[d] != b.dim[d])
            return false;
    return true;
}
/* <<tensor: making shapes>> */
tp_shape_text tp_shape_str(tp_shape shape)
{
    tp_shape_text s = {"["};
    for (int d = 0; d < shape.ndim; d++) {
        size_t used = strlen(s.text);
        snprintf(s.text + used, sizeof s.text - used, "%s%d",
                 d > 0 ? ", " : "", shape.dim[d]);
    }
    strcat(s.text, "]");  /* 4 dimensions of 11 characters leave room */
    return s;
}

/* <<tensor: making tensors>> */
static void zero_floats(float *x, long n)
{
    enum { PIECE = 1 << 14 };
    if (n < 4 * PIECE) {
        memset(x, 0, (size_t)n * sizeof *x);
        return;
    }
    TP_PARALLEL_FOR(n)
    for (long start = 0; start < n; start += PIECE)
        memset(x + start, 0,
               (size_t)(n - start < PIECE ? n - start : PIECE) * sizeof *x);
}

static void set_contiguous_strides(tp_tensor *t)
{
    long stride = 1;
    for (int d = t->shape.ndim - 1; d >= 0; d--) {
        t->stride[d] = stride;
        stride *= t->shape.dim[d];
    }
}

tp_tensor *tp_tensor_empty(tp_arena *arena, tp_shape shape,
                           tp_grad_mode grad)
{
    tp_check(shape.ndim >= 1 && shape.ndim <= TP_MAX_DIMS,
             "a tensor has 1 to %d dimensions, not %d", TP_MAX_DIMS,
             shape.ndim);
    tp_tensor *t = tp_arena_zeroed(arena, 1, sizeof *t);
    long count = tp_shape_count(shape);
    t->shape = shape;
    set_contiguous_strides(t);
    t->data = tp_arena_alloc(arena, (size_t)count * sizeof(float));
    if (grad == TP_WITH_GRAD) {
        t->grad = tp_arena_alloc(arena, (size_t)count * sizeof(float));
        zero_floats(t->grad, count);
    }
    return t;
}
/* <<tensor: making tensors>> */
tp_tensor *tp_tensor_new(tp_arena *arena, tp_shape shape, tp_grad_mode grad)
{
    tp_tensor *t = tp_tensor_empty(arena, shape, grad);
    zero_floats(t->data, tp_shape_count(shape));
    return t;
}

tp_tensor *tp_tensor_from(tp_arena *arena, tp_shape shape,
                          const float *values)
{
    tp_tensor *t = tp_tensor_empty(arena, shape, TP_NO_GRAD);
    memcpy(t->data, values, (size_t)tp_shape_count(shape) * sizeof(float));
    return t;
}

long tp_tensor_count(const tp_tensor *t)
{
    return tp_shape_count(t->shape);
}
/* <<tensor: making tensors>> */
bool tp_tensor_is_contiguous(const tp_tensor *t)
{
    long expected = 1;
    for (int d = t->shape.ndim - 1; d >= 0; d--) {
        if (t->shape.dim[d] != 1 && t->stride[d] != expected)
            return false;
        expected *= t->shape.dim[d];
    }
    return true;
}

/* <<tensor: making views>> */
static tp_tensor *new_header(tp_arena *arena, const tp_tensor *t)
{
    tp_tensor *view = tp_arena_alloc(arena, sizeof *view);
    *view = *t;
    return view;
}

tp_tensor *tp_reshape(tp_arena *arena, const tp_tensor *t, tp_shape shape)
{
    tp_check(tp_shape_count(shape) == tp_tensor_count(t),
             "cannot reshape %s into %s: the counts differ",
             tp_shape_str(t->shape).text, tp_shape_str(shape).text);
    tp_check(tp_tensor_is_contiguous(t),
             "cannot reshape a non-contiguous %s tensor without a copy",
             tp_shape_str(t->shape).text);
    tp_tensor *view = new_header(arena, t);
    view->shape = shape;
    set_contiguous_strides(view);
    return view;
}
/* <<tensor: making views>> */
tp_tensor *tp_transpose(tp_arena *arena, const tp_tensor *t, int d0, int d1)
{
    int n = t->shape.ndim;
    tp_check(d0 >= 0 && d0 < n && d1 >= 0 && d1 < n,
             "cannot swap dimensions %d and %d of a %s tensor", d0, d1,
             tp_shape_str(t->shape).text);
    tp_tensor *view = new_header(arena, t);
    view->shape.dim[d0] = t->shape.dim[d1];
    view->shape.dim[d1] = t->shape.dim[d0];
    view->stride[d0] = t->stride[d1];
    view->stride[d1] = t->stride[d0];
    return view;
}
/* <<tensor: making views>> */
tp_tensor *tp_slice(tp_arena *arena, const tp_tensor *t, int d, int start,
                    int length)
{
    tp_check(d >= 0 && d < t->shape.ndim, "a %s tensor has no dimension %d",
             tp_shape_str(t->shape).text, d);
    tp_check(start >= 0 && length >= 0 && start <= t->shape.dim[d] - length,
             "cannot slice [%d, %d) from dimension %d of a %s tensor", start,
             start + length, d, tp_shape_str(t->shape).text);
    tp_tensor *view = new_header(arena, t);
    view->shape.dim[d] = length;
    view->data += start * t->stride[d];
    if (view->grad != NULL)
        view->grad += start * t->stride[d];
    return view;
}

/* <<tensor: visiting every element>> */
typedef struct cursor {
    int index[TP_MAX_DIMS];
    long offset;  /* of the current element, in elements from data */
} cursor;

static void cursor_step(cursor *c, const tp_tensor *t)
{
    for (int d = t->shape.ndim - 1; d >= 0; d--) {
        c->offset += t->stride[d];
        if (++c->index[d] < t->shape.dim[d])
            return;
        c->offset -= t->stride[d] * t->shape.dim[d];
        c->index[d] = 0;
    }
}
/* <<tensor: visiting every element>> */
void tp_fill(tp_tensor *t, float value)
{
    cursor c = {{0}, 0};
    for (long i = 0, n = tp_tensor_count(t); i < n; i++, cursor_step(&c, t))
        t->data[c.offset] = value;
}

void tp_fill_uniform(tp_tensor *t, tp_rng *rng, float low, float high)
{
    cursor c = {{0}, 0};
    for (long i = 0, n = tp_tensor_count(t); i < n; i++, cursor_step(&c, t))
        t->data[c.offset] = low + (high - low) * tp_rng_uniform(rng);
}

void tp_fill_normal(tp_tensor *t, tp_rng *rng, float mean, float std)
{
    cursor c = {{0}, 0};
    for (long i = 0, n = tp_tensor_count(t); i < n; i++, cursor_step(&c, t))
        t->data[c.offset] = mean + std * tp_rng_normal(rng);
}

tp_tensor *tp_tensor_normal(tp_arena *arena, tp_shape shape,
                            tp_grad_mode grad, tp_rng *rng)
{
    tp_tensor *t = tp_tensor_new(arena, shape, grad);
    tp_fill_normal(t, rng, 0.0f, 1.0f);
    return t;
}
/* <<tensor: visiting every element>> */
static long row_run(const tp_tensor *a, const tp_tensor *b)
{
    int last = a->shape.ndim - 1;
    return a->stride[last] == 1 && b->stride[last] == 1 ? a->shape.dim[last]
                                                        : 1;
}

static tp_tensor rows_of(const tp_tensor *t, long run)
{
    tp_tensor rows = *t;
    if (run > 1)
        rows.shape.dim[t->shape.ndim - 1] = 1;
    return rows;
}

void tp_copy(tp_tensor *destination, const tp_tensor *source)
{
    tp_check(tp_shape_equal(destination->shape, source->shape),
             "cannot copy a %s tensor into a %s one",
             tp_shape_str(source->shape).text,
             tp_shape_str(destination->shape).text);
    long run = row_run(destination, source);
    tp_tensor to_rows = rows_of(destination, run);
    tp_tensor from_rows = rows_of(source, run);
    cursor to = {{0}, 0}, from = {{0}, 0};
    for (long i = 0, n = tp_tensor_count(source) / run; i < n; i++) {
        float *restrict y = destination->data + to.offset;
        const float *restrict x = source->data + from.offset;
        for (long j = 0; j < run; j++)
            y[j] = x[j];
        cursor_step(&to, &to_rows);
        cursor_step(&from, &from_rows);
    }
}
/* <<tensor: visiting every element>> */
void tp_axpy(tp_tensor *y, float alpha, const tp_tensor *x)
{
    tp_check(tp_shape_equal(y->shape, x->shape),
             "cannot add a %s tensor to a %s one",
             tp_shape_str(x->shape).text, tp_shape_str(y->shape).text);
    long run = row_run(y, x);
    tp_tensor to_rows = rows_of(y, run), from_rows = rows_of(x, run);
    cursor to = {{0}, 0}, from = {{0}, 0};
    for (long i = 0, n = tp_tensor_count(x) / run; i < n; i++) {
        float *restrict yr = y->data + to.offset;
        const float *restrict xr = x->data + from.offset;
        for (long j = 0; j < run; j++)
            yr[j] += alpha * xr[j];
        cursor_step(&to, &to_rows);
        cursor_step(&from, &from_rows);
    }
}
/* <<tensor: visiting every element>> */
float tp_max_abs_diff(const tp_tensor *a, const tp_tensor *b)
{
    tp_check(tp_shape_equal(a->shape, b->shape),
             "cannot compare a %s tensor with a %s one",
             tp_shape_str(a->shape).text, tp_shape_str(b->shape).text);
    float worst = 0.0f;
    cursor ca = {{0}, 0}, cb = {{0}, 0};
    for (long i = 0, n = tp_tensor_count(a); i < n; i++) {
        float difference = fabsf(a->data[ca.offset] - b->data[cb.offset]);
        if (isnan(difference))
            return NAN;
        worst = difference > worst ? difference : worst;
        cursor_step(&ca, a);
        cursor_step(&cb, b);
    }
    return worst;
}

/* <<tensor: reading and writing elements>> */
float *tp_at(const tp_tensor *t, int ndim, const int index[])
{
    tp_check(ndim == t->shape.ndim, "%d indices for a %s tensor", ndim,
             tp_shape_str(t->shape).text);
    long offset = 0;
    for (int d = 0; d < ndim; d++) {
        tp_check(index[d] >= 0 && index[d] < t->shape.dim[d],
                 "index %d is out of range for dimension %d of a %s tensor",
                 index[d], d, tp_shape_str(t->shape).text);
        offset += index[d] * t->stride[d];
    }
    return t->data + offset;
}

/* <<tensor: printing>> */
static void print_nested(FILE *out, const tp_tensor *t, int d, long offset,
                         int indent)
{
    fputc('[', out);
    for (int i = 0; i < t->shape.dim[d]; i++) {
        long at = offset + i * t->stride[d];
        if (d == t->shape.ndim - 1)
            fprintf(out, "%s%g", i > 0 ? ", " : "", t->data[at]);
        else {
            if (i > 0)
                fprintf(out, ",\n%*s", indent + d + 1, "");
            print_nested(out, t, d + 1, at, indent);
        }
    }
    fputc(']', out);
}
/* <<tensor: printing>> */
void tp_print(FILE *out, const char *name, const tp_tensor *t)
{
    long n = tp_tensor_count(t);
    fprintf(out, "%s %s", name, tp_shape_str(t->shape).text);
    if (n <= 64) {
        fputs(" =\n  ", out);
        print_nested(out, t, 0, 0, 2);
        fputc('\n', out);
        return;
    }
    double low = INFINITY, high = -INFINITY, sum = 0;
    cursor c = {{0}, 0};
    for (long i = 0; i < n; i++, cursor_step(&c, t)) {
        double x = t->data[c.offset];
        low = x < low ? x : low;
        high = x > high ? x : high;
        sum += x;
    }
    fprintf(out, ": min %g, max %g, mean %g\n", low, high, sum / n);
}
