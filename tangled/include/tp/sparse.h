/* Generated from book/248-sparse.nw; edit the book, not this file. */
#ifndef TP_SPARSE_H
#define TP_SPARSE_H

#include <stdint.h>

#include "tp/blocksparse.h"
#include "tp/gpt.h"

/* <<sparse: interface>> */
typedef enum tp_sparse_head {
    TP_SPARSE_PREVIOUS,  /* strided A1: the previous l positions */
    TP_SPARSE_COLUMN,    /* strided A2: every l-th position before */
    TP_SPARSE_WITHIN,    /* fixed A1: the query's own block of l */
    TP_SPARSE_SUMMARY,   /* fixed A2: the last c positions of each block */
} tp_sparse_head;

typedef struct tp_sparse_pattern {
    int length;          /* N */
    int stride;          /* l, 1..N */
    int summary;         /* c, 1..l; read by TP_SPARSE_SUMMARY only */
    tp_sparse_head head;
} tp_sparse_pattern;

int tp_sparse_check(const tp_sparse_pattern *p, tp_error *error);
bool tp_sparse_allows(int i, int j, void *pattern);
tp_block_layout *tp_sparse_layout(tp_arena *arena,
                                  const tp_sparse_pattern *p, int block);
/* <<sparse: interface>> */
typedef enum tp_sparse_kind { TP_SPARSE_STRIDED, TP_SPARSE_FIXED } tp_sparse_kind;

typedef struct tp_sparse_config {
    tp_sparse_kind kind;
    int stride, summary, block;  /* l, c, b */
} tp_sparse_config;

tp_sparse_config tp_sparse_default(tp_sparse_kind kind, int length);
tp_tensor *tp_sparse_attention(tp_graph *g, tp_tensor *q, tp_tensor *k,
                               tp_tensor *v, const tp_sparse_config *config);
tp_tensor *tp_sparse_strided(tp_graph *g, tp_tensor *q, tp_tensor *k,
                             tp_tensor *v, const tp_attention_options *o);
tp_tensor *tp_sparse_fixed(tp_graph *g, tp_tensor *q, tp_tensor *k,
                           tp_tensor *v, const tp_attention_options *o);
/* <<sparse: interface>> */
const float *tp_sparse_extend(tp_gpt *m, tp_gpt_cache *cache,
                              tp_sparse_kind kind, const int *tokens,
                              int n, tp_arena *scratch);
/* <<sparse: interface>> */
enum { TP_SPARSE_SIDE = 32, TP_SPARSE_PIXELS = 32 * 32,
       TP_SPARSE_LEVELS = 4, TP_SPARSE_START = TP_SPARSE_LEVELS,
       TP_SPARSE_VOCAB = TP_SPARSE_LEVELS + 1 };

void tp_sparse_images(tp_rng *rng, int batch, int *inputs, int *targets);

#endif
