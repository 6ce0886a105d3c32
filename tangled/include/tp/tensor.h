/* Generated from book/120-tensors.nw; edit the book, not this file. */
#ifndef TP_TENSOR_H
#define TP_TENSOR_H

#include <stdbool.h>
#include <stdio.h>

#include "tp/arena.h"
#include "tp/random.h"

/* <<tensor: shapes>> */
enum { TP_MAX_DIMS = 4 };

typedef struct tp_shape {
    int ndim;              /* 1 to TP_MAX_DIMS */
    int dim[TP_MAX_DIMS];  /* sizes; unused ones are 0 */
} tp_shape;

tp_shape tp_shape1(int d0);
tp_shape tp_shape2(int d0, int d1);
tp_shape tp_shape3(int d0, int d1, int d2);
tp_shape tp_shape4(int d0, int d1, int d2, int d3);

long tp_shape_count(tp_shape shape);
bool tp_shape_equal(tp_shape a, tp_shape b);
/* <<tensor: shapes>> */
typedef struct tp_shape_text {
    char text[64];
} tp_shape_text;

tp_shape_text tp_shape_str(tp_shape shape);

/* <<tensor: the tensor type>> */
typedef struct tp_tensor {
    tp_shape shape;
    long stride[TP_MAX_DIMS];  /* elements between neighbours, per dim */
    float *data;               /* the element at index (0, 0, ...) */
    float *grad;               /* the gradient, laid out like data; or NULL */
} tp_tensor;

typedef enum tp_grad_mode { TP_NO_GRAD, TP_WITH_GRAD } tp_grad_mode;

tp_tensor *tp_tensor_new(tp_arena *arena, tp_shape shape, tp_grad_mode grad);
tp_tensor *tp_tensor_empty(tp_arena *arena, tp_shape shape,
                           tp_grad_mode grad);
tp_tensor *tp_tensor_from(tp_arena *arena, tp_shape shape,
                          const float *values);

long tp_tensor_count(const tp_tensor *t);
bool tp_tensor_is_contiguous(const tp_tensor *t);

/* <<tensor: views>> */
tp_tensor *tp_reshape(tp_arena *arena, const tp_tensor *t, tp_shape shape);
tp_tensor *tp_transpose(tp_arena *arena, const tp_tensor *t, int d0, int d1);
tp_tensor *tp_slice(tp_arena *arena, const tp_tensor *t, int d, int start,
                    int length);

/* <<tensor: elements, filling, copying and printing>> */
float *tp_at(const tp_tensor *t, int ndim, const int index[]);
#define tp_at1(t, i) tp_at((t), 1, (const int[]){(i)})
#define tp_at2(t, i, j) tp_at((t), 2, (const int[]){(i), (j)})
#define tp_at3(t, i, j, k) tp_at((t), 3, (const int[]){(i), (j), (k)})
#define tp_at4(t, i, j, k, l) tp_at((t), 4, (const int[]){(i), (j), (k), (l)})

void tp_fill(tp_tensor *t, float value);
void tp_fill_uniform(tp_tensor *t, tp_rng *rng, float low, float high);
void tp_fill_normal(tp_tensor *t, tp_rng *rng, float mean, float std);
tp_tensor *tp_tensor_normal(tp_arena *arena, tp_shape shape,
                            tp_grad_mode grad, tp_rng *rng);
void tp_copy(tp_tensor *destination, const tp_tensor *source);
void tp_axpy(tp_tensor *y, float alpha, const tp_tensor *x);
float tp_max_abs_diff(const tp_tensor *a, const tp_tensor *b);
void tp_print(FILE *out, const char *name, const tp_tensor *t);

#endif
