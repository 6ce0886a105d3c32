/* Generated from book/310-order.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/block.h"
#include "tp/exercise.h"
#include "tp/ops.h"
#include "tp/positions.h"

/* <<positions: naming the kinds>> */
static const char *const kind_names[TP_POSITION_KINDS] = {
    "learned", "sinusoidal", "relative", "t5", "rope", "alibi", "none"};

const char *tp_position_name(tp_position_kind kind)
{
    tp_check(kind >= 0 && kind < TP_POSITION_KINDS,
             "tp_position_name: no kind %d", (int)kind);
    return kind_names[kind];
}

int tp_position_parse(const char *name, tp_position_kind *kind,
                      tp_error *error)
{
    for (int i = 0; i < TP_POSITION_KINDS; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *kind = (tp_position_kind)i;
            return 0;
        }
    return tp_error_set(error, "unknown positions '%s' (learned, sinusoidal, "
                        "relative, t5, rope, alibi or none)", name);
}

/* <<positions: rotary embeddings implemented>> */
void tp_rope_init(tp_rope *r, tp_arena *arena, int d)
{
    tp_check(d >= 2 && d % 2 == 0, "tp_rope_init: a head of width %d (RoPE "
             "needs an even width)", d);
    r->pairs = d / 2;
    r->theta = tp_arena_alloc(arena, (size_t)r->pairs * sizeof *r->theta);
    for (int p = 0; p < r->pairs; p++)
        r->theta[p] = pow(TP_ROPE_BASE, -2.0 * p / d);
    r->mscale = 1.0f;
}
/* <<positions: rotary embeddings implemented>> */
typedef struct rope_saved {
    int positions, pairs;
    float *cos, *sin;  /* [positions, pairs], mscale included */
} rope_saved;

static rope_saved *rope_angles(tp_arena *arena, const tp_rope *r, int first,
                               int positions)
{
    rope_saved *s = tp_arena_zeroed(arena, 1, sizeof *s);
    long n = (long)positions * r->pairs;
    s->positions = positions, s->pairs = r->pairs;
    s->cos = tp_arena_alloc(arena, (size_t)n * sizeof *s->cos);
    s->sin = tp_arena_alloc(arena, (size_t)n * sizeof *s->sin);
    for (int t = 0; t < positions; t++)
        for (int p = 0; p < r->pairs; p++) {
            double angle = (double)(first + t) * r->theta[p];
            s->cos[(long)t * r->pairs + p] = (float)(r->mscale * cos(angle));
            s->sin[(long)t * r->pairs + p] = (float)(r->mscale * sin(angle));
        }
    return s;
}
/* <<positions: rotary embeddings implemented>> */
static void rotate_row(const float *c, const float *s, int pairs, float sign,
                       const float *x, float *y, bool add)
{
    /* <<solution: positions.rope-rotate>> */
    for (int p = 0; p < pairs; p++) {
        float x0 = x[2 * p], x1 = x[2 * p + 1], sp = sign * s[p];
        float y0 = c[p] * x0 - sp * x1, y1 = sp * x0 + c[p] * x1;
        y[2 * p] = add ? y[2 * p] + y0 : y0;
        y[2 * p + 1] = add ? y[2 * p + 1] + y1 : y1;
    }
}

static float *row_at(const tp_tensor *t, float *base, int b, int h, int r)
{
    return base + b * t->stride[0] + h * t->stride[1] + r * t->stride[2];
}
/* <<positions: rotary embeddings implemented>> */
static void rope_backward(tp_node *node)
{
    const rope_saved *s = node->saved;
    tp_tensor *x = node->input[0], *y = node->output;
    const tp_shape n = x->shape;
    for (int b = 0; b < n.dim[0]; b++)
        for (int h = 0; h < n.dim[1]; h++)
            for (int t = 0; t < n.dim[2]; t++) {
                long a = (long)t * s->pairs;
                rotate_row(s->cos + a, s->sin + a, s->pairs, -1.0f,
                           row_at(y, y->grad, b, h, t),
                           row_at(x, x->grad, b, h, t), true);
            }
}

tp_tensor *tp_rope_apply(tp_graph *g, tp_tensor *x, int first,
                         const tp_rope *r)
{
    const tp_shape n = x->shape;
    tp_check(n.ndim == 4 && n.dim[3] == 2 * r->pairs && x->stride[3] == 1
                 && first >= 0,
             "tp_rope_apply: a %s input for %d pairs from position %d",
             tp_shape_str(n).text, r->pairs, first);
    rope_saved *s = rope_angles(g->arena, r, first, n.dim[2]);
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){x});
    tp_tensor *y = tp_tensor_empty(g->arena, n, grad ? TP_WITH_GRAD
                                                     : TP_NO_GRAD);
    for (int b = 0; b < n.dim[0]; b++)
        for (int h = 0; h < n.dim[1]; h++)
            for (int t = 0; t < n.dim[2]; t++) {
                long a = (long)t * s->pairs;
                rotate_row(s->cos + a, s->sin + a, s->pairs, 1.0f,
                           row_at(x, x->data, b, h, t),
                           row_at(y, y->data, b, h, t), false);
            }
    if (grad)
        tp_record(g, "rope", rope_backward, y, 1, (tp_tensor *[]){x})->saved
            = s;
    return y;
}

/* <<positions: ALiBi>> */
void tp_alibi_slopes(int heads, float *slopes)
{
    tp_check(heads >= 1, "tp_alibi_slopes: %d heads", heads);
    int p = 1;
    while (2 * p <= heads)
        p *= 2;
    for (int h = 0; h < heads; h++)
        slopes[h] = h < p ? (float)pow(2.0, -8.0 * (h + 1) / p)
                          : (float)pow(2.0, -4.0 * (2 * (h - p) + 1) / p);
}
/* <<positions: ALiBi>> */
tp_tensor *tp_alibi_bias(tp_arena *arena, int heads, int first, int tq,
                         int tk)
{
    tp_check(tq >= 1 && tk >= 1 && first >= 0,
             "tp_alibi_bias: %d queries from %d, %d keys", tq, first, tk);
    float *slopes = tp_arena_alloc(arena, (size_t)heads * sizeof *slopes);
    tp_alibi_slopes(heads, slopes);
    tp_tensor *bias = tp_tensor_empty(arena, tp_shape3(heads, tq, tk),
                                      TP_NO_GRAD);
    for (int h = 0; h < heads; h++)
        for (int r = 0; r < tq; r++)
            for (int j = 0; j < tk; j++)
                bias->data[((long)h * tq + r) * tk + j]
                    = -slopes[h] * (float)(first + r - j);
    return bias;
}

/* <<positions: T5's buckets>> */
int tp_t5_bucket(int distance, bool bidirectional, int buckets,
                 int max_distance)
{
    int bucket = 0, n = -distance;
    if (bidirectional) {
        buckets /= 2;
        bucket += n < 0 ? buckets : 0;
        n = abs(n);
    } else
        n = n > 0 ? n : 0;
    int exact = buckets / 2;
    if (n < exact)
        return bucket + n;
    int large = exact + (int)(log((double)n / exact)
                              / log((double)max_distance / exact)
                              * (buckets - exact));
    return bucket + (large < buckets - 1 ? large : buckets - 1);
}
/* <<positions: T5's buckets>> */
tp_tensor *tp_t5_bias(tp_graph *g, tp_tensor *table, int first, int tq,
                      int tk)
{
    tp_check(table->shape.ndim == 2 && tq >= 1 && tk >= 1 && first >= 0,
             "tp_t5_bias: a %s table, %d queries from %d, %d keys",
             tp_shape_str(table->shape).text, tq, first, tk);
    int *ids = tp_arena_alloc(g->arena, (size_t)tq * tk * sizeof *ids);
    for (int r = 0; r < tq; r++)
        for (int j = 0; j < tk; j++)
            ids[(long)r * tk + j] = tp_t5_bucket(j - (first + r), false,
                                                 table->shape.dim[0],
                                                 TP_T5_MAX_DISTANCE);
    static const int heads_first[3] = {2, 0, 1};
    tp_tensor *gathered = tp_embedding(g, table, ids, tp_shape2(tq, tk));
    return tp_contiguous(g, tp_permute(g->arena, gathered, heads_first));
}

/* <<positions: Shaw's relative keys>> */
static int clipped(int distance)
{
    int k = TP_RELATIVE_CLIP;
    return (distance < -k ? -k : distance > k ? k : distance) + k;
}

static void check_relative(const tp_tensor *q, const tp_tensor *table,
                           int first, int tk)
{
    tp_check(q->shape.ndim == 4 && q->stride[3] == 1 && table->shape.ndim == 2
                 && table->shape.dim[0] == 2 * TP_RELATIVE_CLIP + 1
                 && table->shape.dim[1] == q->shape.dim[3]
                 && tp_tensor_is_contiguous(table) && first >= 0 && tk >= 1,
             "tp_relative_scores: %s queries, a %s table, %d keys",
             tp_shape_str(q->shape).text, tp_shape_str(table->shape).text, tk);
}
/* <<positions: Shaw's relative keys>> */
static void relative_backward(tp_node *node);

tp_tensor *tp_relative_scores(tp_graph *g, tp_tensor *q, tp_tensor *table,
                              int first, int tk, float scale)
{
    check_relative(q, table, first, tk);
    const tp_shape n = q->shape;
    int d = n.dim[3], rows = 2 * TP_RELATIVE_CLIP + 1;
    bool grad = tp_needs_grad(g, 2, (tp_tensor *[]){q, table});
    tp_tensor *out = tp_tensor_empty(g->arena,
                                     tp_shape4(n.dim[0], n.dim[1], n.dim[2], tk),
                                     grad ? TP_WITH_GRAD : TP_NO_GRAD);
    float dots[2 * TP_RELATIVE_CLIP + 1];
    for (int b = 0; b < n.dim[0]; b++)
        for (int h = 0; h < n.dim[1]; h++)
            for (int r = 0; r < n.dim[2]; r++) {
                const float *qr = row_at(q, q->data, b, h, r);
                /* <<relative scores: one query's row>> */
                for (int m = 0; m < rows; m++) {
                    double dot = 0.0;
                    for (int c = 0; c < d; c++)
                        dot += (double)qr[c] * table->data[(long)m * d + c];
                    dots[m] = scale * (float)dot;
                }
                float *row = row_at(out, out->data, b, h, r);
                for (int j = 0; j < tk; j++)
                    row[j] = dots[clipped(j - (first + r))];
            }
    if (grad) {
        int *saved = tp_arena_alloc(g->arena, sizeof *saved * 2);
        saved[0] = first, memcpy(&saved[1], &scale, sizeof scale);
        tp_record(g, "relative_scores", relative_backward, out, 2,
                  (tp_tensor *[]){q, table})->saved = saved;
    }
    return out;
}
/* <<positions: Shaw's relative keys>> */
static void relative_backward(tp_node *node)
{
    tp_tensor *q = node->input[0], *table = node->input[1], *out = node->output;
    const int *saved = node->saved;
    int first = saved[0], tk = out->shape.dim[3], d = q->shape.dim[3];
    float scale;
    memcpy(&scale, &saved[1], sizeof scale);
    for (int b = 0; b < q->shape.dim[0]; b++)
        for (int h = 0; h < q->shape.dim[1]; h++)
            for (int r = 0; r < q->shape.dim[2]; r++) {
                float sums[2 * TP_RELATIVE_CLIP + 1] = {0};
                const float *grow = row_at(out, out->grad, b, h, r);
                for (int j = 0; j < tk; j++)
                    sums[clipped(j - (first + r))] += scale * grow[j];
                /* <<relative scores: the row's gradients>> */
                for (int m = 0; m < 2 * TP_RELATIVE_CLIP + 1; m++) {
                    if (sums[m] == 0.0f)
                        continue;
                    const float *a = table->data + (long)m * d;
                    if (q->grad != NULL) {
                        float *gq = row_at(q, q->grad, b, h, r);
                        for (int c = 0; c < d; c++)
                            gq[c] += sums[m] * a[c];
                    }
                    if (table->grad != NULL) {
                        const float *qr = row_at(q, q->data, b, h, r);
                        for (int c = 0; c < d; c++)
                            table->grad[(long)m * d + c] += sums[m] * qr[c];
                    }
                }
            }
}

/* <<positions: the encoding of a model>> */
static tp_tensor *relative_table(tp_params *params, tp_arena *arena,
                                 int layer, int d)
{
    char name[64];
    snprintf(name, sizeof name, "h.%d.attn.relative_k.weight", layer);
    return tp_param_new(params, arena, name,
                        tp_shape2(2 * TP_RELATIVE_CLIP + 1, d));
}

void tp_position_encoding_make(tp_position_encoding *e, tp_position_kind kind,
                               tp_params *params, tp_arena *arena, int layers,
                               int heads, int width)
{
    tp_check(kind >= 0 && kind < TP_POSITION_KINDS && heads >= 1
                 && width % heads == 0,
             "tp_position_encoding_make: kind %d, %d heads, width %d",
             (int)kind, heads, width);
    *e = (tp_position_encoding){.kind = kind, .heads = heads};
    int d = width / heads;
    if (kind == TP_POSITIONS_ROPE)
        tp_rope_init(&e->rope, arena, d);
    if (kind != TP_POSITIONS_RELATIVE && kind != TP_POSITIONS_T5)
        return;
    e->tables = tp_arena_zeroed(arena, (size_t)layers, sizeof *e->tables);
    tp_tensor *shared = kind == TP_POSITIONS_T5
        ? tp_param_new(params, arena, "relative_attention_bias.weight",
                       tp_shape2(TP_T5_BUCKETS, heads))
        : NULL;
    for (int l = 0; l < layers; l++)
        e->tables[l] = shared ? shared : relative_table(params, arena, l, d);
}
/* <<positions: the encoding of a model>> */
tp_tensor *tp_position_embed(tp_graph *g, const tp_position_encoding *e,
                             tp_tensor *learned, tp_tensor *x, int first)
{
    int length = x->shape.dim[1], width = x->shape.dim[2];
    if (e->kind == TP_POSITIONS_LEARNED) {
        int *at = tp_arena_alloc(g->arena, (size_t)length * sizeof *at);
        for (int t = 0; t < length; t++)
            at[t] = first + t;
        return tp_add(g, x, tp_embedding(g, learned, at, tp_shape1(length)));
    }
    if (e->kind != TP_POSITIONS_SINUSOIDAL)
        return x;
    tp_tensor *waves = tp_sinusoids(g->arena, first + length, width);
    return tp_add(g, tp_scale(g, x, sqrtf((float)width)),
                  tp_slice(g->arena, waves, 0, first, length));
}
/* <<positions: the encoding of a model>> */
tp_tensor *tp_position_rotate(tp_graph *g, const tp_position_encoding *e,
                              tp_tensor *x, int first)
{
    return e->kind == TP_POSITIONS_ROPE ? tp_rope_apply(g, x, first, &e->rope)
                                        : x;
}

tp_tensor *tp_position_bias(tp_graph *g, const tp_position_encoding *e,
                            int layer, tp_tensor *q, int first, int tk)
{
    int tq = q->shape.dim[2];
    switch (e->kind) {
    case TP_POSITIONS_RELATIVE:
        return tp_relative_scores(g, q, e->tables[layer], first, tk,
                                  1.0f / sqrtf((float)q->shape.dim[3]));
    case TP_POSITIONS_T5:
        return tp_t5_bias(g, e->tables[layer], first, tq, tk);
    case TP_POSITIONS_ALIBI:
        return tp_alibi_bias(g->arena, e->heads, first, tq, tk);
    default:
        return NULL;
    }
}
/* <<positions: the encoding of a model>> */
tp_tensor *tp_position_attend(tp_graph *g, tp_tensor **q, tp_tensor **k,
                              const void *layer)
{
    const tp_position_layer *l = layer;
    int tq = (*q)->shape.dim[2], tk = (*k)->shape.dim[2];
    *q = tp_position_rotate(g, l->encoding, *q, tk - tq);
    *k = tp_position_rotate(g, l->encoding, *k, 0);
    return tp_position_bias(g, l->encoding, l->layer, *q, tk - tq, tk);
}
