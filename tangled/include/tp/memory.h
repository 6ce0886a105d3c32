/* Generated from book/335-memory.nw; edit the book, not this file. */
#ifndef TP_MEMORY_H
#define TP_MEMORY_H

#include "tp/gpt.h"

/* <<memory: interface>> */
typedef struct tp_step_memory {
    size_t parameters, gradients, moments;  /* 4P bytes each; moments 8P */
    size_t activations;  /* the step's peak, plus the recomputation's */
    double seconds;      /* the step's time */
} tp_step_memory;

tp_step_memory tp_training_memory(tp_gpt *m, tp_arena *step,
                                  const int *tokens, const int *targets,
                                  int batch, int length);
/* <<memory: interface>> */
typedef struct tp_kv_int8 {
    int layers, heads, d, capacity, length;
    signed char *k, *v;       /* [layers][heads][capacity][d] */
    float *k_scale, *v_scale; /* [layers][heads][capacity] */
} tp_kv_int8;

tp_kv_int8 *tp_kv_int8_new(const tp_gpt *m, int capacity);
void tp_kv_int8_free(tp_kv_int8 *cache);
size_t tp_kv_int8_bytes(const tp_kv_int8 *cache);
const float *tp_gpt_extend_int8(tp_gpt *m, tp_kv_int8 *cache,
                                const int *tokens, int n, tp_arena *scratch);
/* <<memory: interface>> */
typedef struct tp_kv_pool {
    int layers, heads, d, page_size, pages;
    float *k, *v;     /* [pages][layers][heads][page_size][d] */
    int *free_pages;  /* a stack of the pages no sequence holds */
    int n_free;
} tp_kv_pool;

typedef struct tp_kv_sequence {
    tp_kv_pool *pool;
    int *table;        /* the pool's page of each block of page_size */
    int pages, length;
} tp_kv_sequence;
/* <<memory: interface>> */
tp_kv_pool *tp_kv_pool_new(const tp_gpt *m, int page_size, int pages);
void tp_kv_pool_free(tp_kv_pool *pool);
tp_kv_sequence *tp_kv_sequence_new(tp_kv_pool *pool);
void tp_kv_sequence_free(tp_kv_sequence *s);
const float *tp_gpt_extend_paged(tp_gpt *m, tp_kv_sequence *s,
                                 const int *tokens, int n, tp_arena *scratch,
                                 tp_error *error);

#endif
