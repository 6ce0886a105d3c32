/* Generated from book/365-size.nw; edit the book, not this file. */
#ifndef TP_SIZE_H
#define TP_SIZE_H

#include <stdint.h>

#include "tp/gpt.h"

/* <<size: interface>> */
double tp_gpt_parameter_count(tp_gpt_config config, tp_gpt_modern modern);

typedef struct tp_training_bytes {
    double weights, gradients, master, moments;
} tp_training_bytes;

tp_training_bytes tp_finetune_bytes(double parameters, double trainable,
                                    int weight_bytes);
double tp_lora_parameter_count(tp_gpt_config config, tp_gpt_modern modern,
                               int rank);
/* <<size: interface>> */
tp_gpt *tp_gpt_shared(tp_gpt_config config);
double tp_gpt_shared_parameter_count(tp_gpt_config config);
/* <<size: interface>> */
typedef struct tp_lora_adapter {
    tp_tensor *w;      /* the frozen weight it adapts, [in, out] */
    tp_tensor *a, *b;  /* [in, r], random; [r, out], zero */
} tp_lora_adapter;

typedef struct tp_lora {
    int rank;
    float alpha;         /* the update is (alpha / rank) A B */
    int count;
    tp_lora_adapter *adapters;
    tp_arena *arena;
    tp_params params;    /* the A and B: all that learns */
    float **frozen;      /* the base's gradients, put aside while attached */
    struct tp_nf4 **quantised;  /* per adapter, its W in NF4; or NULL */
    uint64_t base;       /* the hash of the base it was made for */
} tp_lora;

tp_lora *tp_lora_new(const tp_gpt *m, int rank, float alpha, tp_rng *rng);
void tp_lora_free(tp_lora *lora);
void tp_lora_attach(tp_gpt *m, tp_lora *lora);
void tp_lora_detach(tp_gpt *m, tp_lora *lora);
void tp_lora_merge(tp_gpt *m, tp_lora *lora);
/* <<size: interface>> */
uint64_t tp_gpt_hash(const tp_gpt *m);
int tp_lora_save(const tp_lora *lora, const char *path, tp_error *error);
tp_lora *tp_lora_load(const char *path, const tp_gpt *m, tp_error *error);
/* <<size: interface>> */
typedef struct tp_nf4 {
    long n;                    /* weights */
    unsigned char *codes;      /* two 4-bit levels a byte */
    signed char *scales;       /* each block's absmax, quantised */
    float *scale_step, *scale_mean;  /* per group of 256 blocks */
} tp_nf4;

extern const float tp_nf4_levels[16];
tp_nf4 *tp_nf4_quantise(const tp_tensor *w);
void tp_nf4_dequantise(const tp_nf4 *q, float *out);
size_t tp_nf4_bytes(const tp_nf4 *q);
void tp_nf4_free(tp_nf4 *q);
void tp_lora_quantise_base(tp_lora *lora);
/* <<size: interface>> */
typedef struct tp_pruning {
    int count;
    tp_tensor **weights;
    unsigned char **kept;  /* per weight: 1 kept, 0 pruned */
} tp_pruning;

tp_pruning *tp_prune_magnitude(tp_gpt *m, double sparsity);
tp_pruning *tp_prune_2_4(tp_gpt *m);
void tp_prune_tensor(tp_tensor *w, double sparsity);
void tp_pruning_apply(const tp_pruning *p);
double tp_pruning_zeros(const tp_pruning *p, double *total);
void tp_pruning_free(tp_pruning *p);
/* <<size: interface>> */
typedef struct tp_csr {
    int rows, cols;
    long *start;   /* rows + 1: row i's non-zeros are [start[i], start[i+1]) */
    int *column;
    float *value;
} tp_csr;

tp_csr *tp_csr_from_dense(const tp_tensor *w);
void tp_csr_free(tp_csr *w);
void tp_csr_matmul(const tp_tensor *x, const tp_csr *w, tp_tensor *y);

#endif
