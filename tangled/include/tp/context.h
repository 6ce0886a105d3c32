/* Generated from book/315-fixed-context.nw; edit the book, not this file. */
#ifndef TP_CONTEXT_H
#define TP_CONTEXT_H

#include "tp/autodiff.h"
#include "tp/check.h"

/* <<context: retrieval>> */
typedef struct tp_tfidf {
    int vocab, chunks, chunk;
    float *idf;      /* [vocab]: ln(chunks / chunks holding the token) */
    float *vectors;  /* [chunks, vocab]: tf * idf, of unit length */
} tp_tfidf;

tp_tfidf *tp_tfidf_new(const int *tokens, long n, int chunk, int vocab);
void tp_tfidf_embed(const tp_tfidf *index, const int *tokens, int n,
                    float *vector);
void tp_tfidf_free(tp_tfidf *index);
float tp_cosine(const float *a, const float *b, int n);
void tp_top_k(const float *scores, int n, int k, int *best);

/* <<context: the kNN memory>> */
typedef struct tp_knn_memory {
    int d;
    long capacity, stored, next;  /* next: the slot the next pair takes */
    float *keys, *values;         /* [capacity, d] each */
} tp_knn_memory;

tp_knn_memory *tp_knn_memory_new(int d, long capacity);
void tp_knn_memory_add(tp_knn_memory *memory, const float *key,
                       const float *value);
void tp_knn_memory_free(tp_knn_memory *memory);
void tp_knn_attention(const float *q, const float *keys,
                      const float *values, int local,
                      const tp_knn_memory *memory, int k, float *out,
                      int *chosen);

/* <<context: the selective state space>> */
tp_tensor *tp_selective_scan(tp_graph *g, tp_tensor *x, tp_tensor *dbc,
                             tp_tensor *a_log, tp_tensor *skip);
void tp_selective_step(const float *x, const float *dbc, const float *a_log,
                       const float *skip, int d, int n, float *h, float *y);

#endif
