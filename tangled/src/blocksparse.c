/* Generated from book/272-longformer.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/blocksparse.h"
#include "tp/check.h"
#include "tp/matmul.h"
#include "tp/parallel.h"
#include "tp/subquadratic.h"

/* <<blocksparse: making a layout>> */
static int blocks_of(int length, int block)
{
    return (length + block - 1) / block;
}

static int imin(int a, int b)
{
    return a < b ? a : b;
}
/* <<blocksparse: making a layout>> */
static void fill_rows(tp_block_layout *l, const unsigned char *kind)
{
    long e = 0;
    for (int r = 0; r < l->query_blocks; r++) {
        l->row_first[r] = (int)e;
        for (int c = 0; c < l->key_blocks; c++) {
            unsigned char k = kind[(long)r * l->key_blocks + c];
            if (k == TP_BLOCK_EMPTY)
                continue;
            l->row_key[e] = c;
            l->row_partial[e++] = k == TP_BLOCK_PARTIAL;
        }
    }
    l->row_first[l->query_blocks] = (int)e;
}
/* <<blocksparse: making a layout>> */
static void fill_columns(tp_block_layout *l, const unsigned char *kind)
{
    long e = 0;
    for (int c = 0; c < l->key_blocks; c++) {
        l->col_first[c] = (int)e;
        for (int r = 0; r < l->query_blocks; r++) {
            unsigned char k = kind[(long)r * l->key_blocks + c];
            if (k == TP_BLOCK_EMPTY)
                continue;
            l->col_query[e] = r;
            l->col_partial[e++] = k == TP_BLOCK_PARTIAL;
        }
    }
    l->col_first[l->key_blocks] = (int)e;
}
/* <<blocksparse: making a layout>> */
static tp_block_layout *layout_from_kinds(tp_arena *arena, int tq, int tk,
                                          int block,
                                          const unsigned char *kind)
{
    tp_block_layout *l = tp_arena_zeroed(arena, 1, sizeof *l);
    *l = (tp_block_layout){.block = block, .tq = tq, .tk = tk,
                           .query_blocks = blocks_of(tq, block),
                           .key_blocks = blocks_of(tk, block)};
    long all = (long)l->query_blocks * l->key_blocks;
    for (long i = 0; i < all; i++)
        l->entries += kind[i] != TP_BLOCK_EMPTY;
    long e = l->entries > 0 ? l->entries : 1;
    l->row_first = tp_arena_alloc(arena, (size_t)(l->query_blocks + 1) * sizeof(int));
    l->col_first = tp_arena_alloc(arena, (size_t)(l->key_blocks + 1) * sizeof(int));
    l->row_key = tp_arena_alloc(arena, (size_t)e * sizeof(int));
    l->col_query = tp_arena_alloc(arena, (size_t)e * sizeof(int));
    l->row_partial = tp_arena_alloc(arena, (size_t)e);
    l->col_partial = tp_arena_alloc(arena, (size_t)e);
    fill_rows(l, kind);
    fill_columns(l, kind);
    return l;
}
/* <<blocksparse: making a layout>> */
static void check_sizes(const char *op, int tq, int tk, int block)
{
    tp_check(tq > 0 && tk > 0 && block >= 1 && block <= TP_BLOCK_MAX,
             "%s: %d queries, %d keys, blocks of %d; the lengths must be "
             "positive and a block 1 to %d", op, tq, tk, block,
             TP_BLOCK_MAX);
}

tp_block_layout *tp_block_layout_new(tp_arena *arena, int tq, int tk,
                                     int block, tp_block_rule *rule,
                                     void *context)
{
    check_sizes("tp_block_layout_new", tq, tk, block);
    int rows = blocks_of(tq, block), cols = blocks_of(tk, block);
    unsigned char *kind = malloc((size_t)rows * cols);
    tp_check(kind != NULL, "tp_block_layout_new: no memory for %d x %d "
             "blocks", rows, cols);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            kind[(long)r * cols + c] = (unsigned char)rule(r, c, context);
    tp_block_layout *l = layout_from_kinds(arena, tq, tk, block, kind);
    free(kind);
    return l;
}
/* <<blocksparse: making a layout>> */
typedef struct pattern_rule {
    tp_attention_options o;
    int tq, tk, block;
} pattern_rule;

static tp_block_kind kind_by_pairs(int r, int c, void *context)
{
    const pattern_rule *p = context;
    long allowed = 0, pairs = 0;
    for (int i = r * p->block; i < imin(p->tq, (r + 1) * p->block); i++)
        for (int j = c * p->block; j < imin(p->tk, (c + 1) * p->block); j++)
            pairs++, allowed += tp_attention_allows(&p->o, 0, i, j, p->tq,
                                                    p->tk);
    return allowed == 0       ? TP_BLOCK_EMPTY
           : allowed == pairs ? TP_BLOCK_FULL
                              : TP_BLOCK_PARTIAL;
}

tp_block_layout *tp_block_layout_of(tp_arena *arena, int tq, int tk,
                                    int block,
                                    const tp_attention_options *o)
{
    check_sizes("tp_block_layout_of", tq, tk, block);
    pattern_rule p = {.tq = tq, .tk = tk, .block = block};
    if (o != NULL)
        p.o = *o;
    p.o.key_padding = NULL;
    return tp_block_layout_new(arena, tq, tk, block, kind_by_pairs, &p);
}
/* <<blocksparse: the forward pass>> */
typedef struct sparse_saved {
    tp_attention_options options;
    tp_attention_options unpatterned;  /* the same, for full blocks */
    const tp_block_layout *layout;
    tp_attention_dims n;
    float scale;
    tp_tensor *lse;  /* [B, H, Tq]: log of each row's softmax denominator */
} sparse_saved;

typedef struct block_pair {
    int b, h, kv, i0, j0, rows, cols;
    bool partial;
} block_pair;
/* <<blocksparse: the forward pass>> */
static bool after_diagonal(const sparse_saved *s, block_pair t)
{
    return s->options.causal && t.j0 > t.i0 + t.rows - 1 + s->n.tk - s->n.tq;
}

static const tp_attention_options *mask_of(const sparse_saved *s,
                                           block_pair t)
{
    return t.partial ? &s->options : &s->unpatterned;
}

static bool needs_mask(const sparse_saved *s, block_pair t)
{
    const tp_attention_options *o = &s->options;
    if (t.partial || o->key_padding != NULL)
        return true;
    return o->causal && t.j0 + t.cols - 1 > t.i0 + s->n.tk - s->n.tq;
}

static block_pair pair_at(const sparse_saved *s, int b, int h, int r, int c,
                          bool partial)
{
    int block = s->layout->block, i0 = r * block, j0 = c * block;
    return (block_pair){b, h, h / (s->n.heads / s->n.kv_heads), i0, j0,
                        imin(block, s->n.tq - i0), imin(block, s->n.tk - j0),
                        partial};
}
/* <<blocksparse: the forward pass>> */
static void forward_row(const sparse_saved *s, tp_tensor *q, tp_tensor *k,
                        tp_tensor *v, tp_tensor *out, int b, int h, int r)
{
    const tp_block_layout *l = s->layout;
    block_pair t = pair_at(s, b, h, r, 0, false);
    tp_tensor qi = tp_tile_rows(tp_head(q, b, h), t.i0, t.rows);
    tp_tensor oi = tp_tile_rows(tp_head(out, b, h), t.i0, t.rows);
    tp_tensor kh = tp_head(k, b, t.kv), vh = tp_head(v, b, t.kv);
    float scores[TP_BLOCK_MAX * TP_BLOCK_MAX];
    float max[TP_BLOCK_MAX], sum[TP_BLOCK_MAX];
    for (int i = 0; i < t.rows; i++)
        max[i] = -INFINITY, sum[i] = 0.0f;
    tp_fill(&oi, 0.0f);
    for (int e = l->row_first[r]; e < l->row_first[r + 1]; e++) {
        t = pair_at(s, b, h, r, l->row_key[e], l->row_partial[e]);
        if (after_diagonal(s, t))
            break;
        /* <<blocksparse: attend to one block of keys>> */
        tp_tensor sij = tp_tile_over(scores, t.rows, t.cols);
        tp_tensor kj = tp_transposed_view(tp_tile_rows(kh, t.j0, t.cols));
        tp_tensor vj = tp_tile_rows(vh, t.j0, t.cols);
        tp_gemm(&sij, &qi, &kj, s->scale, 0.0f);
        if (needs_mask(s, t))
            tp_tile_mask(mask_of(s, t), b, t.i0, t.j0, &sij, s->n);
        tp_tile_online_softmax(&sij, max, sum, &oi);
        tp_gemm(&oi, &sij, &vj, 1.0f, 1.0f);
    }
    tp_tile_finish_rows(&oi, max, sum,
                        s->lse->data + ((long)b * s->n.heads + h) * s->n.tq + t.i0);
}
/* <<blocksparse: the backward pass>> */
enum { BACKWARD_PARTS = 8 };

typedef struct backward_part {
    tp_tensor *dq;       /* [B, H, Tq, d]: this part's share of q's gradient */
    tp_tensor *dk, *dv;  /* [b, d], [b, dv]: one block of keys' */
} backward_part;

static backward_part part_for(tp_arena *arena, tp_attention_dims n, int block)
{
    return (backward_part){
        .dq = tp_tensor_new(arena, tp_shape4(n.batch, n.heads, n.tq, n.d),
                            TP_NO_GRAD),
        .dk = tp_tensor_empty(arena, tp_shape2(block, n.d), TP_NO_GRAD),
        .dv = tp_tensor_empty(arena, tp_shape2(block, n.dv), TP_NO_GRAD)};
}
/* <<blocksparse: the backward pass>> */
static void backward_block(const sparse_saved *s, tp_node *node,
                           const float *delta, backward_part *w, block_pair t,
                           tp_tensor *dk, tp_tensor *dv)
{
    tp_tensor *q = node->input[0], *k = node->input[1], *v = node->input[2];
    tp_tensor qi = tp_tile_rows(tp_head(q, t.b, t.h), t.i0, t.rows);
    tp_tensor kj = tp_tile_rows(tp_head(k, t.b, t.kv), t.j0, t.cols);
    tp_tensor vj = tp_tile_rows(tp_head(v, t.b, t.kv), t.j0, t.cols);
    tp_tensor doi = tp_tile_rows(tp_head_grad(node->output, t.b, t.h), t.i0,
                                 t.rows);
    float scores[TP_BLOCK_MAX * TP_BLOCK_MAX], grads[TP_BLOCK_MAX * TP_BLOCK_MAX];
    tp_tensor p = tp_tile_over(scores, t.rows, t.cols);
    tp_tensor dp = tp_tile_over(grads, t.rows, t.cols);
    long row = ((long)t.b * s->n.heads + t.h) * s->n.tq + t.i0;
    /* <<blocksparse: recompute the block's weights>> */
    tp_tensor kt = tp_transposed_view(kj);
    tp_gemm(&p, &qi, &kt, s->scale, 0.0f);
    if (needs_mask(s, t))
        tp_tile_mask(mask_of(s, t), t.b, t.i0, t.j0, &p, s->n);
    tp_tile_weights_from_lse(&p, s->lse->data + row);
    /* <<blocksparse: the four products>> */
    tp_tensor pt = tp_transposed_view(p), vt = tp_transposed_view(vj);
    tp_gemm(dv, &pt, &doi, 1.0f, 1.0f);
    tp_gemm(&dp, &doi, &vt, 1.0f, 0.0f);
    for (int i = 0; i < t.rows; i++)
        for (int j = 0; j < t.cols; j++)
            grads[i * t.cols + j] = scores[i * t.cols + j]
                                    * (grads[i * t.cols + j] - delta[row + i]);
    tp_tensor dqi = tp_tile_rows(tp_head(w->dq, t.b, t.h), t.i0, t.rows);
    tp_tensor dpt = tp_transposed_view(dp);
    tp_gemm(&dqi, &dp, &kj, s->scale, 1.0f);
    tp_gemm(dk, &dpt, &qi, s->scale, 1.0f);
}
/* <<blocksparse: the backward pass>> */
static void add_rows(tp_tensor *x, int b, int kv, int j0, tp_tensor *from)
{
    if (x->grad == NULL)
        return;
    tp_tensor into = tp_tile_rows(tp_head_grad(x, b, kv), j0,
                                  from->shape.dim[0]);
    tp_axpy(&into, 1.0f, from);
}

static void backward_column(const sparse_saved *s, tp_node *node,
                            const float *delta, backward_part *w, int b,
                            int kv, int c)
{
    const tp_block_layout *l = s->layout;
    int group = s->n.heads / s->n.kv_heads;
    block_pair t = pair_at(s, b, kv * group, 0, c, false);
    tp_tensor dk = tp_tile_over(w->dk->data, t.cols, s->n.d);
    tp_tensor dv = tp_tile_over(w->dv->data, t.cols, s->n.dv);
    tp_fill(&dk, 0.0f), tp_fill(&dv, 0.0f);
    for (int h = kv * group; h < (kv + 1) * group; h++)
        for (int e = l->col_first[c]; e < l->col_first[c + 1]; e++) {
            t = pair_at(s, b, h, l->col_query[e], c, l->col_partial[e]);
            if (!after_diagonal(s, t))
                backward_block(s, node, delta, w, t, &dk, &dv);
        }
    add_rows(node->input[1], b, kv, t.j0, &dk);
    add_rows(node->input[2], b, kv, t.j0, &dv);
}
/* <<blocksparse: the backward pass>> */
static void sparse_backward(tp_node *node)
{
    const sparse_saved *s = node->saved;
    tp_attention_dims n = s->n;
    tp_tensor *delta = tp_tensor_empty(node->arena,
                                       tp_shape3(n.batch, n.heads, n.tq),
                                       TP_NO_GRAD);
    tp_tile_row_dots(node->output, delta);
    int parts = BACKWARD_PARTS, columns = s->layout->key_blocks;
    int work = n.batch * n.kv_heads * columns;
    backward_part *w = tp_arena_alloc(node->arena, (size_t)parts * sizeof *w);
    for (int p = 0; p < parts; p++)
        w[p] = part_for(node->arena, n, s->layout->block);
    TP_PARALLEL_PRODUCTS
    for (int p = 0; p < parts; p++)
        for (int t = p; t < work; t += parts)
            backward_column(s, node, delta->data, &w[p], t / columns / n.kv_heads,
                            t / columns % n.kv_heads, t % columns);
    tp_tensor *q = node->input[0];
    if (q->grad != NULL) {
        tp_tensor dq = tp_grad_of(q);
        for (int p = 0; p < parts; p++)
            tp_axpy(&dq, 1.0f, w[p].dq);
    }
}
/* <<blocksparse: the operator>> */
static bool lists(const tp_block_layout *l, int r, int c)
{
    for (int e = l->row_first[r]; e < l->row_first[r + 1]; e++)
        if (l->row_key[e] == c)
            return true;
    return false;
}

static void check_diagonal(const tp_block_layout *l, tp_attention_dims n)
{
    for (int i = 0; i < n.tq; i++) {
        int j = i + n.tk - n.tq;
        tp_check(j < 0 || lists(l, i / l->block, j / l->block),
                 "tp_attention_block_sparse: causal, but the layout's query "
                 "block %d lacks key block %d, which holds the diagonal",
                 i / l->block, j / l->block);
    }
}
/* <<blocksparse: the operator>> */
static void check_call(const tp_block_layout *l, const tp_attention_options *o,
                       tp_attention_dims n)
{
    tp_check(l != NULL && l->tq == n.tq && l->tk == n.tk,
             "tp_attention_block_sparse: the layout covers %d queries and %d "
             "keys, the call has %d and %d", l ? l->tq : 0, l ? l->tk : 0,
             n.tq, n.tk);
    tp_check(o->bias == NULL && o->weights == NULL,
             "tp_attention_block_sparse: never forms the %d x %d scores, so "
             "it takes no bias and returns no weights", n.tq, n.tk);
    if (o->causal)
        check_diagonal(l, n);
}
/* <<blocksparse: the operator>> */
tp_tensor *tp_attention_block_sparse(tp_graph *g, tp_tensor *q,
                                     tp_tensor *k, tp_tensor *v,
                                     const tp_block_layout *layout,
                                     const tp_attention_options *o)
{
    tp_attention_dims n = tp_attention_check("tp_attention_block_sparse",
                                             q, k, v);
    sparse_saved *s = tp_arena_zeroed(g->arena, 1, sizeof *s);
    if (o != NULL)
        s->options = *o;
    check_call(layout, &s->options, n);
    s->unpatterned = s->options;
    s->unpatterned.pattern = NULL, s->unpatterned.allowed = NULL;
    s->layout = layout, s->n = n;
    s->scale = s->options.scale != 0.0f ? s->options.scale
                                        : 1.0f / sqrtf((float)n.d);
    /* <<blocksparse: run every block row and record>> */
    tp_tensor *inputs[3] = {q, k, v};
    bool grad = tp_needs_grad(g, 3, inputs);
    tp_tensor *out = tp_tensor_empty(g->arena,
                                     tp_shape4(n.batch, n.heads, n.tq, n.dv),
                                     grad ? TP_WITH_GRAD : TP_NO_GRAD);
    s->lse = tp_tensor_empty(g->arena, tp_shape3(n.batch, n.heads, n.tq),
                             TP_NO_GRAD);
    int rows = layout->query_blocks;
    TP_PARALLEL_PRODUCTS
    for (int t = 0; t < n.batch * n.heads * rows; t++)
        forward_row(s, q, k, v, out, t / rows / n.heads, t / rows % n.heads,
                    t % rows);
    if (grad)
        tp_record(g, "attention (block-sparse)", sparse_backward, out, 3,
                  inputs)->saved = s;
    return out;
}
