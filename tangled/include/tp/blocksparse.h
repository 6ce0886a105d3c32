/* Generated from book/272-longformer.nw; edit the book, not this file. */
#ifndef TP_BLOCKSPARSE_H
#define TP_BLOCKSPARSE_H

#include "tp/attention.h"

/* <<blocksparse: interface>> */
typedef enum tp_block_kind {
    TP_BLOCK_EMPTY,    /* no pair attends: the block is skipped */
    TP_BLOCK_FULL,     /* every pair attends (the options' masks aside) */
    TP_BLOCK_PARTIAL,  /* the options' pattern says which pairs attend */
} tp_block_kind;

typedef tp_block_kind tp_block_rule(int r, int c, void *context);
/* <<blocksparse: interface>> */
enum { TP_BLOCK_MAX = 128 };

typedef struct tp_block_layout {
    int block;                 /* b: the side of a block, 1..TP_BLOCK_MAX */
    int tq, tk;                /* the lengths it covers */
    int query_blocks, key_blocks;
    long entries;              /* the blocks listed */
    int *row_first;            /* [query_blocks + 1]: row r's entries */
    int *row_key;              /* [entries]: their key blocks, ascending */
    unsigned char *row_partial;
    int *col_first;            /* [key_blocks + 1]: column c's entries */
    int *col_query;            /* [entries]: their query blocks, ascending */
    unsigned char *col_partial;
} tp_block_layout;

tp_block_layout *tp_block_layout_new(tp_arena *arena, int tq, int tk,
                                     int block, tp_block_rule *rule,
                                     void *context);
tp_block_layout *tp_block_layout_of(tp_arena *arena, int tq, int tk,
                                    int block,
                                    const tp_attention_options *o);
/* <<blocksparse: interface>> */
tp_tensor *tp_attention_block_sparse(tp_graph *g, tp_tensor *q,
                                     tp_tensor *k, tp_tensor *v,
                                     const tp_block_layout *layout,
                                     const tp_attention_options *o);

#endif
