/* Generated from book/340-compute.nw; edit the book, not this file. */
#ifndef TP_COMPUTE_H
#define TP_COMPUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "tp/gpt.h"

/* <<compute: counting>> */
typedef struct tp_flops {
    double parameters;  /* N: every weight and bias outside the embeddings */
    double forward;     /* 2N + 2 L T C (attention, averaged over a causal
                           window of T) + 2 C V (the head) */
    double train;       /* 3 forward: the backward pass costs two */
} tp_flops;

tp_flops tp_gpt_flops(const tp_gpt *m, int context);
/* <<compute: counting>> */
void tp_pareto_front(const double *cost, const double *loss, int n,
                     bool *front);

/* <<compute: quantised matrices>> */
enum { TP_QUANT_BLOCK = 32 };  /* inputs per int4 group and per input block */

typedef enum tp_quant_scheme {
    TP_QUANT_INT8 = 1,  /* symmetric, one scale per output row */
    TP_QUANT_INT4 = 2   /* symmetric, one scale per group of 32 */
} tp_quant_scheme;

typedef struct tp_qmatrix {
    tp_quant_scheme scheme;
    int rows, cols;        /* outputs; inputs, the length of each product */
    int group;             /* inputs per scale: cols (int8) or 32 (int4) */
    unsigned char *q;      /* int8: rows x cols; int4: rows x cols / 2 */
    float *scale;          /* rows x (cols / group) */
} tp_qmatrix;

tp_qmatrix *tp_qmatrix_new(const float *w, int rows, int cols,
                           tp_quant_scheme scheme);
tp_qmatrix *tp_qmatrix_of_linear(const tp_tensor *w, tp_quant_scheme scheme);
void tp_qmatrix_free(tp_qmatrix *m);
void tp_qmatrix_dequantise(const tp_qmatrix *m, float *w);
size_t tp_qmatrix_bytes(const tp_qmatrix *m);
const char *tp_quant_name(tp_quant_scheme scheme);
int tp_quant_parse(const char *name, tp_quant_scheme *scheme,
                   tp_error *error);
/* <<compute: quantised matrices>> */
typedef enum tp_quant_path {
    TP_QUANT_BEST,      /* the fastest the processor has */
    TP_QUANT_PORTABLE,  /* C, on any processor */
    TP_QUANT_AVX2,      /* vpmaddubsw and vpmaddwd */
    TP_QUANT_VNNI       /* vpdpbusd, AVX-512 VNNI */
} tp_quant_path;

bool tp_quant_path_available(tp_quant_path path);
tp_quant_path tp_quant_path_resolve(tp_quant_path path);
const char *tp_quant_path_name(tp_quant_path path);
void tp_quant_activations(const float *x, int cols, signed char *xq,
                          float *xs);
void tp_quant_matmul(const float *x, int n, const tp_qmatrix *w, float *y,
                     tp_quant_path path);

/* <<compute: quantised GPT>> */
typedef struct tp_quant_gpt {
    tp_gpt *model;
    tp_quant_scheme scheme;
    tp_quant_path path;   /* of the products; TP_QUANT_BEST unless set */
    int count;            /* four matrices per block */
    tp_tensor **weights;  /* the model's matrices ... */
    tp_qmatrix **matrices;  /* ... and their quantised twins */
    bool owns_model;      /* loaded from a file: freed with it */
} tp_quant_gpt;

tp_quant_gpt *tp_quant_gpt_new(tp_gpt *m, tp_quant_scheme scheme,
                               tp_error *error);
void tp_quant_gpt_free(tp_quant_gpt *q);
void tp_quant_gpt_attach(tp_quant_gpt *q);
size_t tp_quant_gpt_bytes(const tp_quant_gpt *q);
int tp_quant_gpt_save(const tp_quant_gpt *q, const char *path,
                      tp_error *error);
tp_quant_gpt *tp_quant_gpt_load(const char *path, tp_error *error);

/* <<compute: a decoding step in loops>> */
typedef struct tp_decoder {
    tp_gpt *model;
    const tp_quant_gpt *quant;  /* its products; NULL: 32-bit ones */
    bool fused;                 /* bias, GELU, residual and norm fused */
    float *x, *normal, *qkv, *heads, *hidden, *out, *scores, *logits;
} tp_decoder;

tp_decoder *tp_decoder_new(tp_gpt *m, const tp_quant_gpt *quant, bool fused,
                           tp_error *error);
void tp_decoder_free(tp_decoder *d);
const float *tp_decoder_step(tp_decoder *d, tp_gpt_cache *cache, int token);

#endif
