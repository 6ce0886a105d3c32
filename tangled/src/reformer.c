/* Generated from book/264-reformer.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/check.h"
#include "tp/ops.h"
#include "tp/parallel.h"
#include "tp/reformer.h"

/* <<reformer: hashing>> */
static void check_lsh_options(const tp_lsh_options *o)
{
    tp_check(o->buckets >= 1 && (o->buckets & (o->buckets - 1)) == 0,
             "LSH attention: buckets = %d; it must be a power of two (the "
             "rotations give an even number; 1: one bucket)", o->buckets);
    tp_check(o->rounds >= 1, "LSH attention: rounds = %d; it must be at "
             "least 1", o->rounds);
    tp_check(o->chunk >= 1, "LSH attention: chunk = %d; it must be at "
             "least 1", o->chunk);
}
/* <<reformer: hashing>> */
static void draw_rotation(float *r, int d, int half, uint64_t seed,
                          int round)
{
    tp_rng rng = tp_rng_seeded(seed, 1000 + (uint64_t)round);
    for (long i = 0; i < (long)d * half; i++)
        r[i] = tp_rng_normal(&rng);
}

static int hash_row(const float *x, long stride, const float *r, int d,
                    int half)
{
    int best = 0;
    float top = -INFINITY;
    for (int c = 0; c < half; c++) {
        float dot = 0.0f;
        for (int e = 0; e < d; e++)
            dot += x[e * stride] * r[(long)e * half + c];
        if (dot > top)
            top = dot, best = c;
        if (-dot > top)
            top = -dot, best = c + half;
    }
    return best;
}
/* <<reformer: hashing>> */
static void sort_by_bucket(const int *bucket, int t, int buckets,
                           int *count, int *order, int *slot)
{
    memset(count, 0, (size_t)(buckets + 1) * sizeof *count);
    for (int i = 0; i < t; i++)
        count[bucket[i] + 1]++;
    for (int b = 0; b < buckets; b++)
        count[b + 1] += count[b];
    for (int i = 0; i < t; i++) {
        int s = count[bucket[i]]++;
        order[s] = i, slot[i] = s;
    }
}

tp_lsh_plan tp_lsh_plan_make(tp_arena *arena, const tp_tensor *x,
                             const tp_lsh_options *o)
{
    check_lsh_options(o);
    int t = x->shape.dim[0], d = x->shape.dim[1], half = o->buckets / 2;
    tp_lsh_plan p = {t, o->rounds, o->chunk, NULL, NULL, NULL};
    size_t n = (size_t)o->rounds * t;
    p.bucket = tp_arena_zeroed(arena, n, sizeof *p.bucket);
    p.order = tp_arena_alloc(arena, n * sizeof *p.order);
    p.slot = tp_arena_alloc(arena, n * sizeof *p.slot);
    int *count = tp_arena_alloc(arena, (size_t)(o->buckets + 1) * sizeof *count);
    float *r = tp_arena_alloc(arena, (size_t)(d * half + 1) * sizeof *r);
    for (int round = 0; round < o->rounds; round++) {
        int *bucket = p.bucket + (long)round * t;
        draw_rotation(r, d, half, o->seed, round);
        for (int i = 0; half > 0 && i < t; i++)
            bucket[i] = hash_row(x->data + i * x->stride[0], x->stride[1],
                                 r, d, half);
        sort_by_bucket(bucket, t, o->buckets, count,
                       p.order + (long)round * t, p.slot + (long)round * t);
    }
    return p;
}
/* <<reformer: hashing>> */
static bool attends(const tp_lsh_plan *p, int round, int i, int j)
{
    const int *slot = p->slot + (long)round * p->t;
    int ci = slot[i] / p->chunk, cj = slot[j] / p->chunk;
    return cj == ci || cj == ci - 1;
}

int tp_lsh_shared_rounds(const tp_lsh_plan *p, int i, int j)
{
    int n = 0;
    for (int r = 0; r < p->rounds; r++)
        n += attends(p, r, i, j);
    return n;
}
/* <<reformer: LSH attention, forward>> */
typedef struct lsh_head {
    tp_tensor q, k, v;      /* [T, d], [T, d] normalised, [T, dv] */
    const tp_lsh_plan *plan;
    const tp_lsh_options *o;
    float scale;            /* 1 / sqrt(d) */
    const double *log_n;    /* log N for N = 0 to rounds */
} lsh_head;

static void normalise_rows(const tp_tensor *q, tp_tensor *k, float *inverse)
{
    int t = q->shape.dim[0], d = q->shape.dim[1];
    for (int i = 0; i < t; i++) {
        double sum = 0.0;
        for (int e = 0; e < d; e++) {
            double a = q->data[i * q->stride[0] + e * q->stride[1]];
            sum += a * a;
        }
        inverse[i] = (float)(1.0 / sqrt(fmax(sum, 1e-12)));
        for (int e = 0; e < d; e++)
            k->data[i * d + e] =
                q->data[i * q->stride[0] + e * q->stride[1]] * inverse[i];
    }
}
/* <<reformer: LSH attention, forward>> */
static float row_dot(const tp_tensor *a, int i, const tp_tensor *b, int j)
{
    float dot = 0.0f;
    int d = a->shape.dim[1];
    if (a->stride[1] == 1 && b->stride[1] == 1) {  /* the usual case, vectorised */
        const float *x = a->data + i * a->stride[0], *y = b->data + j * b->stride[0];
        TP_SIMD_SUM(dot)
        for (int e = 0; e < d; e++)
            dot += x[e] * y[e];
        return dot;
    }
    for (int e = 0; e < d; e++)
        dot += a->data[i * a->stride[0] + e * a->stride[1]]
               * b->data[j * b->stride[0] + e * b->stride[1]];
    return dot;
}

static int lsh_candidates(const lsh_head *h, int r, int i, int *key,
                          double *score)
{
    const tp_lsh_plan *p = h->plan;
    int m = p->chunk, t = p->t, c = p->slot[(long)r * t + i] / m, n = 0;
    int lo = c > 0 ? (c - 1) * m : 0, hi = (c + 1) * m < t ? (c + 1) * m : t;
    for (int u = lo; u < hi; u++) {
        int j = p->order[(long)r * t + u];
        if (h->o->causal && j > i)
            continue;
        double penalty = j == i ? TP_LSH_SELF
                                : h->log_n[tp_lsh_shared_rounds(p, i, j)];
        key[n] = j;
        score[n++] = h->scale * row_dot(&h->q, i, &h->k, j) - penalty;
    }
    return n;
}
/* <<reformer: LSH attention, forward>> */
static double attend_round(const lsh_head *h, int r, int i, int *key,
                           double *score, float *out)
{
    int n = lsh_candidates(h, r, i, key, score), dv = h->v.shape.dim[1];
    double top = -INFINITY, sum = 0.0;
    for (int a = 0; a < n; a++)
        top = fmax(top, score[a]);
    for (int a = 0; a < n; a++)
        sum += score[a] = exp(score[a] - top);
    memset(out, 0, (size_t)dv * sizeof *out);
    for (int a = 0; a < n; a++) {
        float p = (float)(score[a] / sum);
        const float *value = h->v.data + key[a] * h->v.stride[0];
        long step = h->v.stride[1];
        for (int e = 0; e < dv; e++)
            out[e] += p * value[e * step];
    }
    return top + log(sum);
}
/* <<reformer: LSH attention, forward>> */
static void lsh_forward_head(const lsh_head *h, tp_tensor *out, double *z,
                             tp_arena *arena)
{
    int t = h->plan->t, rounds = h->plan->rounds, dv = h->v.shape.dim[1];
    int *key = tp_arena_alloc(arena, 2 * (size_t)h->o->chunk * sizeof *key);
    double *score = tp_arena_alloc(arena, 2 * (size_t)h->o->chunk * sizeof *score);
    float *partial = tp_arena_alloc(arena, (size_t)rounds * dv * sizeof *partial);
    double *zr = tp_arena_alloc(arena, (size_t)rounds * sizeof *zr);
    for (int i = 0; i < t; i++) {
        double top = -INFINITY, sum = 0.0;
        for (int r = 0; r < rounds; r++) {
            zr[r] = attend_round(h, r, i, key, score, partial + (long)r * dv);
            top = fmax(top, zr[r]);
        }
        for (int r = 0; r < rounds; r++)
            sum += exp(zr[r] - top);
        z[i] = top + log(sum);
        float *row = out->data + (long)i * out->stride[0];
        for (int e = 0; e < dv; e++)
            row[e] = 0.0f;
        for (int r = 0; r < rounds; r++)
            for (int e = 0; e < dv; e++)
                row[e] += (float)exp(zr[r] - z[i]) * partial[(long)r * dv + e];
    }
}
/* <<reformer: LSH attention, backward>> */
typedef struct lsh_grads {
    tp_tensor dq, dv, dout, out;  /* [T, d], [T, dv], [T, dv], [T, dv] */
    float *dk;                    /* [T, d], the normalised keys' */
} lsh_grads;

static void pair_backward(const lsh_head *h, const lsh_grads *gr, int i,
                          int j, float w, float dot_o)
{
    int d = h->q.shape.dim[1], dv = h->v.shape.dim[1];
    float dot_v = 0.0f;
    for (int e = 0; e < dv; e++) {
        float dout = gr->dout.data[i * gr->dout.stride[0] + e * gr->dout.stride[1]];
        dot_v += dout * h->v.data[j * h->v.stride[0] + e * h->v.stride[1]];
        gr->dv.data[j * gr->dv.stride[0] + e * gr->dv.stride[1]] += w * dout;
    }
    float ds = w * (dot_v - dot_o) * h->scale;
    for (int e = 0; e < d; e++) {
        gr->dq.data[i * gr->dq.stride[0] + e * gr->dq.stride[1]] +=
            ds * h->k.data[j * d + e];
        gr->dk[j * d + e] +=
            ds * h->q.data[i * h->q.stride[0] + e * h->q.stride[1]];
    }
}
/* <<reformer: LSH attention, backward>> */
static void lsh_backward_head(const lsh_head *h, const lsh_grads *gr,
                              const double *z, const float *inverse,
                              tp_arena *arena)
{
    int t = h->plan->t, d = h->q.shape.dim[1];
    int *key = tp_arena_alloc(arena, 2 * (size_t)h->o->chunk * sizeof *key);
    double *score = tp_arena_alloc(arena, 2 * (size_t)h->o->chunk * sizeof *score);
    for (int i = 0; i < t; i++) {
        float dot_o = row_dot(&gr->dout, i, &gr->out, i);
        for (int r = 0; r < h->plan->rounds; r++) {
            int n = lsh_candidates(h, r, i, key, score);
            for (int a = 0; a < n; a++)
                pair_backward(h, gr, i, key[a], (float)exp(score[a] - z[i]),
                              dot_o);
        }
    }
    for (int j = 0; j < t; j++) {
        float along = 0.0f;
        for (int e = 0; e < d; e++)
            along += gr->dk[j * d + e] * h->k.data[j * d + e];
        for (int e = 0; e < d; e++)
            gr->dq.data[j * gr->dq.stride[0] + e * gr->dq.stride[1]] +=
                (gr->dk[j * d + e] - along * h->k.data[j * d + e]) * inverse[j];
    }
}
/* <<reformer: LSH attention>> */
typedef struct lsh_saved {
    tp_lsh_options o;
    double *log_n;       /* [rounds + 1] */
    tp_lsh_plan *plans;  /* [B * H] */
    tp_tensor *keys;     /* [B, H, T, d], normalised */
    float *inverse;      /* [B * H * T] */
    double *z;           /* [B * H * T], in double: the self's 1e5 */
} lsh_saved;

static lsh_head head_of(const lsh_saved *s, tp_tensor *qk, tp_tensor *v,
                        int b, int h)
{
    int heads = qk->shape.dim[1];
    return (lsh_head){tp_head(qk, b, h), tp_head(s->keys, b, h),
                      tp_head(v, b, h), &s->plans[b * heads + h], &s->o,
                      1.0f / sqrtf((float)qk->shape.dim[3]), s->log_n};
}
/* <<reformer: LSH attention>> */
static void lsh_backward(tp_node *node)
{
    const lsh_saved *s = node->saved;
    tp_tensor *qk = node->input[0], *v = node->input[1], *out = node->output;
    int heads = qk->shape.dim[1], t = qk->shape.dim[2], d = qk->shape.dim[3];
    tp_check(qk->grad != NULL && v->grad != NULL, "LSH attention: the "
             "backward pass needs gradients of both qk and v");
    TP_PARALLEL_PRODUCTS
    for (int bh = 0; bh < qk->shape.dim[0] * heads; bh++) {
        int b = bh / heads, h = bh % heads;
        tp_arena *scratch = tp_arena_new("LSH backward");
        lsh_head head = head_of(s, qk, v, b, h);
        lsh_grads gr = {tp_head_grad(qk, b, h), tp_head_grad(v, b, h),
                        tp_head_grad(out, b, h), tp_head(out, b, h),
                        tp_arena_zeroed(scratch, (size_t)t * d, sizeof(float))};
        lsh_backward_head(&head, &gr, s->z + (long)bh * t,
                          s->inverse + (long)bh * t, scratch);
        tp_arena_free(scratch);
    }
}
/* <<reformer: LSH attention>> */
tp_tensor *tp_lsh_attention(tp_graph *g, tp_tensor *qk, tp_tensor *v,
                            const tp_lsh_options *o)
{
    check_lsh_options(o);
    tp_check(qk->shape.ndim == 4 && v->shape.ndim == 4
                 && qk->shape.dim[0] == v->shape.dim[0]
                 && qk->shape.dim[1] == v->shape.dim[1]
                 && qk->shape.dim[2] == v->shape.dim[2],
             "LSH attention: qk %s and v %s must be [B, H, T, d] and "
             "[B, H, T, dv]", tp_shape_str(qk->shape).text,
             tp_shape_str(v->shape).text);
    int batch = qk->shape.dim[0], heads = qk->shape.dim[1], t = qk->shape.dim[2];
    lsh_saved *s = tp_arena_zeroed(g->arena, 1, sizeof *s);
    s->o = *o;
    s->log_n = tp_arena_alloc(g->arena, (size_t)(o->rounds + 1) * sizeof *s->log_n);
    for (int n = 0; n <= o->rounds; n++)
        s->log_n[n] = log(n);
    s->plans = tp_arena_zeroed(g->arena, (size_t)batch * heads, sizeof *s->plans);
    s->keys = tp_tensor_empty(g->arena, qk->shape, TP_NO_GRAD);
    s->inverse = tp_arena_alloc(g->arena, (size_t)batch * heads * t * sizeof(float));
    s->z = tp_arena_alloc(g->arena, (size_t)batch * heads * t * sizeof(double));
    tp_tensor *inputs[2] = {qk, v};
    bool grad = tp_needs_grad(g, 2, inputs);
    tp_tensor *out = tp_tensor_empty(g->arena, tp_shape4(batch, heads, t,
                                     v->shape.dim[3]), grad ? TP_WITH_GRAD : TP_NO_GRAD);
    /* <<reformer: hash and attend every head>> */
    for (int bh = 0; bh < batch * heads; bh++) {
        tp_tensor q = tp_head(qk, bh / heads, bh % heads);
        tp_tensor k = tp_head(s->keys, bh / heads, bh % heads);
        normalise_rows(&q, &k, s->inverse + (long)bh * t);
        s->plans[bh] = tp_lsh_plan_make(g->arena, &q, o);
    }
    TP_PARALLEL_PRODUCTS
    for (int bh = 0; bh < batch * heads; bh++) {
        tp_arena *scratch = tp_arena_new("LSH forward");
        lsh_head head = head_of(s, qk, v, bh / heads, bh % heads);
        tp_tensor oh = tp_head(out, bh / heads, bh % heads);
        lsh_forward_head(&head, &oh, s->z + (long)bh * t, scratch);
        tp_arena_free(scratch);
    }
    if (grad)
        tp_record(g, "LSH attention", lsh_backward, out, 2, inputs)->saved = s;
    return out;
}
/* <<reformer: recall>> */
static int top_keys(const tp_tensor *x, int i, int top, float *dots, int *best)
{
    int t = x->shape.dim[0], n = 0;
    for (int j = 0; j < t; j++)
        dots[j] = j == i ? -INFINITY : row_dot(x, i, x, j);
    for (; n < top && n < t - 1; n++) {
        int arg = 0;
        for (int j = 1; j < t; j++)
            arg = dots[j] > dots[arg] ? j : arg;
        best[n] = arg, dots[arg] = -INFINITY;
    }
    return n;
}

double tp_lsh_recall(tp_arena *arena, const tp_tensor *x,
                     const tp_lsh_options *o, int top)
{
    int t = x->shape.dim[0];
    tp_lsh_plan p = tp_lsh_plan_make(arena, x, o);
    float *dots = tp_arena_alloc(arena, (size_t)t * sizeof *dots);
    int *best = tp_arena_alloc(arena, (size_t)(top + 1) * sizeof *best);
    long found = 0, all = 0;
    for (int i = 0; i < t; i++) {
        int n = top_keys(x, i, top, dots, best);
        for (int a = 0; a < n; a++)
            found += tp_lsh_shared_rounds(&p, i, best[a]) > 0;
        all += n;
    }
    return all > 0 ? (double)found / all : 1.0;
}
/* <<reformer: reversible layers>> */
static void split_halves(const float *x, float *a, float *b, long rows, int c)
{
    for (long r = 0; r < rows; r++) {
        memcpy(a + r * c, x + 2 * r * c, (size_t)c * sizeof *a);
        memcpy(b + r * c, x + (2 * r + 1) * c, (size_t)c * sizeof *b);
    }
}

static void add_halves(float *y, const float *a, const float *b, long rows,
                       int c)
{
    for (long r = 0; r < rows; r++)
        for (int e = 0; e < c; e++) {
            y[2 * r * c + e] += a[r * c + e];
            y[(2 * r + 1) * c + e] += b[r * c + e];
        }
}
/* <<reformer: reversible layers>> */
static void add_result(tp_tensor *into, tp_segment *f, void *context,
                       tp_tensor *x, tp_arena *scratch)
{
    tp_graph once = tp_graph_on(scratch);
    tp_set_grad(&once, false);
    tp_axpy(into, 1.0f, f(&once, context, x));
    tp_graph_reset(&once);
}

static void run_layers(const tp_reversible_layer *l, int n, tp_tensor *a,
                       tp_tensor *b, tp_arena *scratch)
{
    for (int i = 0; i < n; i++) {
        add_result(a, l[i].F, l[i].F_context, b, scratch);  /* y1 = x1 + F(x2) */
        add_result(b, l[i].G, l[i].G_context, a, scratch);  /* y2 = x2 + G(y1) */
    }
}
/* <<reformer: reversible layers>> */
static void undo(tp_segment *f, void *context, tp_tensor *y, tp_tensor *x,
                 const tp_tensor *dy, tp_tensor *dx, tp_arena *scratch)
{
    tp_graph again = tp_graph_on(scratch);
    tp_tensor *leaf = tp_tensor_empty(scratch, x->shape, TP_WITH_GRAD);
    tp_copy(leaf, x);
    tp_tensor *fx = f(&again, context, leaf);
    tp_backward_from(&again, fx, dy);
    tp_axpy(y, -1.0f, fx);  /* what is left of y is the other input */
    tp_tensor leaf_grad = tp_grad_of(leaf);
    tp_axpy(dx, 1.0f, &leaf_grad);
    tp_graph_reset(&again);
}
/* <<reformer: reversible layers>> */
typedef struct reversible_saved {
    const tp_reversible_layer *layers;
    int n;
    tp_arena *recompute;
} reversible_saved;

static void reversible_backward(tp_node *node)
{
    const reversible_saved *s = node->saved;
    tp_tensor *x = node->input[0], *y = node->output;
    int c = y->shape.dim[2] / 2;
    long rows = tp_tensor_count(y) / (2 * c);
    tp_shape half = tp_shape3(y->shape.dim[0], y->shape.dim[1], c);
    tp_tensor *a = tp_tensor_empty(node->arena, half, TP_NO_GRAD);
    tp_tensor *b = tp_tensor_empty(node->arena, half, TP_NO_GRAD);
    tp_tensor *da = tp_tensor_empty(node->arena, half, TP_NO_GRAD);
    tp_tensor *db = tp_tensor_empty(node->arena, half, TP_NO_GRAD);
    split_halves(y->data, a->data, b->data, rows, c);
    split_halves(y->grad, da->data, db->data, rows, c);
    for (int i = s->n - 1; i >= 0; i--) {
        const tp_reversible_layer *l = &s->layers[i];
        undo(l->G, l->G_context, b, a, db, da, s->recompute);
        undo(l->F, l->F_context, a, b, da, db, s->recompute);
    }
    if (x->grad != NULL)
        add_halves(x->grad, da->data, db->data, rows, c);
}
/* <<reformer: reversible layers>> */
static void check_pair(const char *op, const tp_tensor *x)
{
    tp_check(x->shape.ndim == 3 && tp_tensor_is_contiguous(x)
                 && x->shape.dim[2] % 2 == 0,
             "%s: x is %s; it must be a contiguous [B, T, C] tensor with C "
             "even, to split into two halves", op, tp_shape_str(x->shape).text);
}

tp_tensor *tp_reversible(tp_graph *g, const tp_reversible_layer *layers,
                         int n, tp_tensor *x, tp_arena *recompute)
{
    check_pair("tp_reversible", x);
    int c = x->shape.dim[2] / 2;
    long rows = tp_tensor_count(x) / (2 * c);
    tp_shape half = tp_shape3(x->shape.dim[0], x->shape.dim[1], c);
    tp_tensor *a = tp_tensor_empty(g->arena, half, TP_NO_GRAD);
    tp_tensor *b = tp_tensor_empty(g->arena, half, TP_NO_GRAD);
    split_halves(x->data, a->data, b->data, rows, c);
    run_layers(layers, n, a, b, recompute);
    tp_tensor *y = tp_tensor_new(g->arena, x->shape,
                                 g->grad ? TP_WITH_GRAD : TP_NO_GRAD);
    add_halves(y->data, a->data, b->data, rows, c);
    if (g->grad) {
        reversible_saved *s = tp_arena_alloc(g->arena, sizeof *s);
        *s = (reversible_saved){layers, n, recompute};
        tp_record(g, "reversible layers", reversible_backward, y, 1,
                  (tp_tensor *[]){x})->saved = s;
    }
    return y;
}
/* <<reformer: reversible layers>> */
tp_tensor *tp_reversible_stored(tp_graph *g,
                                const tp_reversible_layer *layers, int n,
                                tp_tensor *x)
{
    check_pair("tp_reversible_stored", x);
    int c = x->shape.dim[2] / 2;
    tp_tensor *a = tp_contiguous(g, tp_slice(g->arena, x, 2, 0, c));
    tp_tensor *b = tp_contiguous(g, tp_slice(g->arena, x, 2, c, c));
    for (int i = 0; i < n; i++) {
        a = tp_add(g, a, layers[i].F(g, layers[i].F_context, b));
        b = tp_add(g, b, layers[i].G(g, layers[i].G_context, a));
    }
    return tp_concat(g, 2, (tp_tensor *[]){a, b}, 2);
}
/* <<reformer: chunked feed-forward>> */
typedef struct chunked {
    tp_segment *f;
    void *context;
    int chunks;
    tp_arena *scratch;
} chunked;

static int slice_start(int t, int chunks, int k)
{
    return (int)((long)k * t / chunks);
}

static tp_tensor *run_slice(tp_graph *sg, const chunked *c, tp_tensor *x,
                            int k, tp_tensor **input)
{
    int t = x->shape.dim[1], start = slice_start(t, c->chunks, k);
    int length = slice_start(t, c->chunks, k + 1) - start;
    tp_tensor *view = tp_slice(sg->arena, x, 1, start, length);
    *input = tp_tensor_empty(sg->arena, view->shape,
                             sg->grad ? TP_WITH_GRAD : TP_NO_GRAD);
    tp_copy(*input, view);
    return c->f(sg, c->context, *input);
}
/* <<reformer: chunked feed-forward>> */
static void chunked_backward(tp_node *node)
{
    const chunked *c = node->saved;
    tp_tensor *x = node->input[0], *y = node->output;
    for (int k = 0; k < c->chunks; k++) {
        tp_graph sg = tp_graph_on(c->scratch);
        tp_tensor *in, *out = run_slice(&sg, c, x, k, &in);
        int start = slice_start(x->shape.dim[1], c->chunks, k);
        tp_tensor dy = tp_grad_of(y);
        tp_tensor *seed = tp_tensor_empty(c->scratch, out->shape, TP_NO_GRAD);
        tp_copy(seed, tp_slice(c->scratch, &dy, 1, start, out->shape.dim[1]));
        tp_backward_from(&sg, out, seed);
        if (x->grad != NULL) {
            tp_tensor dx = tp_grad_of(x), din = tp_grad_of(in);
            tp_axpy(tp_slice(c->scratch, &dx, 1, start, out->shape.dim[1]),
                    1.0f, &din);
        }
        tp_graph_reset(&sg);
    }
}
/* <<reformer: chunked feed-forward>> */
tp_tensor *tp_chunked(tp_graph *g, tp_segment *f, void *context,
                      tp_tensor *x, int chunks, tp_arena *scratch)
{
    tp_check(x->shape.ndim == 3 && chunks >= 1 && chunks <= x->shape.dim[1],
             "tp_chunked: %d chunks of a %s tensor; between 1 and its "
             "positions", chunks, tp_shape_str(x->shape).text);
    chunked *c = tp_arena_alloc(g->arena, sizeof *c);
    *c = (chunked){f, context, chunks, scratch};
    tp_tensor *y = NULL;
    for (int k = 0; k < chunks; k++) {
        tp_graph sg = tp_graph_on(scratch);
        tp_set_grad(&sg, false);
        tp_tensor *in, *out = run_slice(&sg, c, x, k, &in);
        if (y == NULL)
            y = tp_tensor_empty(g->arena, tp_shape3(x->shape.dim[0],
                                x->shape.dim[1], out->shape.dim[2]),
                                g->grad ? TP_WITH_GRAD : TP_NO_GRAD);
        int start = slice_start(x->shape.dim[1], chunks, k);
        tp_copy(tp_slice(scratch, y, 1, start, out->shape.dim[1]), out);
        tp_graph_reset(&sg);
    }
    if (g->grad)
        tp_record(g, "chunked", chunked_backward, y, 1, (tp_tensor *[]){x})
            ->saved = c;
    return y;
}
/* <<reformer: the layer's two functions>> */
tp_tensor *tp_reformer_attention(tp_graph *g, void *layer, tp_tensor *x)
{
    const tp_reformer_layer *l = layer;
    const tp_block *b = l->block;
    tp_tensor *h = tp_block_norm(g, x, b->ln_1_w, b->ln_1_b), *views[3];
    tp_split_qkv(g, tp_linear(g, h, b->c_attn_w, b->c_attn_b), l->heads,
                 l->heads, views);
    tp_tensor *o = l->lsh != NULL
        ? tp_lsh_attention(g, views[0], views[2], l->lsh)
        : tp_attention(g, views[0], views[1], views[2],
                       &(tp_attention_options){.causal = true});
    return tp_linear(g, tp_merge_heads(g, o), b->c_proj_w, b->c_proj_b);
}
/* <<reformer: the layer's two functions>> */
static tp_tensor *norm_and_mlp(tp_graph *g, void *layer, tp_tensor *x)
{
    const tp_block *b = ((const tp_reformer_layer *)layer)->block;
    return tp_block_mlp(g, b, tp_block_norm(g, x, b->ln_2_w, b->ln_2_b), NULL);
}

tp_tensor *tp_reformer_feed_forward(tp_graph *g, void *layer, tp_tensor *x)
{
    const tp_reformer_layer *l = layer;
    if (l->ff_chunks <= 1)
        return norm_and_mlp(g, layer, x);
    return tp_chunked(g, norm_and_mlp, layer, x, l->ff_chunks, l->ff_scratch);
}
/* <<reformer: the language model>> */
tp_reformer_lm *tp_reformer_lm_new(tp_gpt_config config,
                                   const tp_lsh_options *lsh, int ff_chunks)
{
    check_lsh_options(lsh);
    tp_check(lsh->causal, "tp_reformer_lm_new: a language model's LSH "
             "attention must be causal");
    tp_check(ff_chunks >= 1, "tp_reformer_lm_new: ff_chunks = %d; it must "
             "be at least 1", ff_chunks);
    tp_check(config.positions == TP_POSITIONS_LEARNED, "tp_reformer_lm_new: "
             "the Reformer's layers take learned positions only");
    tp_reformer_lm *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->gpt = tp_gpt_new(config);
    int n = config.n_layer;
    m->lsh = tp_arena_alloc(m->gpt->arena, (size_t)n * sizeof *m->lsh);
    m->layer = tp_arena_alloc(m->gpt->arena, (size_t)n * sizeof *m->layer);
    m->rev = tp_arena_alloc(m->gpt->arena, (size_t)n * sizeof *m->rev);
    m->recompute = tp_arena_new("reformer recompute");
    m->ff_scratch = tp_arena_new("reformer chunks");
    for (int l = 0; l < n; l++) {
        m->lsh[l] = *lsh;
        m->lsh[l].seed = lsh->seed + (uint64_t)l;
        m->layer[l] = (tp_reformer_layer){&m->gpt->blocks[l], config.n_head,
                                          &m->lsh[l], ff_chunks, m->ff_scratch};
        m->rev[l] = (tp_reversible_layer){tp_reformer_attention,
                                          tp_reformer_feed_forward,
                                          &m->layer[l], &m->layer[l]};
    }
    return m;
}

void tp_reformer_lm_free(tp_reformer_lm *m)
{
    if (m == NULL)
        return;
    tp_arena_free(m->recompute), tp_arena_free(m->ff_scratch);
    tp_gpt_free(m->gpt);
    free(m);
}
/* <<reformer: the language model>> */
tp_tensor *tp_reformer_lm_forward(tp_graph *g, tp_reformer_lm *m,
                                  const int *tokens, int batch, int length)
{
    const tp_gpt *gpt = m->gpt;
    int c = gpt->config.n_embd;
    tp_check(length >= 1 && length <= gpt->config.n_positions,
             "tp_reformer_lm_forward: %d tokens, but the model has %d "
             "positions", length, gpt->config.n_positions);
    tp_tensor *x = tp_embedding(g, gpt->wte, tokens, tp_shape2(batch, length));
    x = tp_position_embed(g, &gpt->encoding, gpt->wpe, x, 0);
    tp_tensor *y = tp_reversible(g, m->rev, gpt->config.n_layer,
                                 tp_concat(g, 2, (tp_tensor *[]){x, x}, 2),
                                 m->recompute);
    tp_tensor *y1 = tp_contiguous(g, tp_slice(g->arena, y, 2, 0, c));
    tp_tensor *y2 = tp_contiguous(g, tp_slice(g->arena, y, 2, c, c));
    x = tp_block_norm(g, tp_scale(g, tp_add(g, y1, y2), 0.5f), gpt->ln_f_w,
                      gpt->ln_f_b);
    return tp_matmul(g, x, tp_transpose(g->arena, gpt->wte, 0, 1));
}

tp_tensor *tp_reformer_lm_loss(tp_graph *g, void *m, const int *tokens,
                               const int *targets, int batch, int length)
{
    return tp_cross_entropy(g, tp_reformer_lm_forward(g, m, tokens, batch,
                                                      length), targets, -1);
}
