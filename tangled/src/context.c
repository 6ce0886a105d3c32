/* Generated from book/315-fixed-context.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/context.h"
#include "tp/tensor.h"

/* <<context: retrieval's implementation>> */
static void count_chunk(const int *tokens, int n, int vocab, float *tf)
{
    memset(tf, 0, (size_t)vocab * sizeof *tf);
    for (int i = 0; i < n; i++) {
        tp_check(tokens[i] >= 0 && tokens[i] < vocab,
                 "tp_tfidf: token %d is outside the vocabulary of %d",
                 tokens[i], vocab);
        tf[tokens[i]] += 1.0f / (float)n;
    }
}

static void weigh_and_normalise(const float *idf, int vocab, float *v)
{
    double norm = 0.0;
    for (int t = 0; t < vocab; t++) {
        v[t] *= idf[t];
        norm += (double)v[t] * v[t];
    }
    float scale = norm > 0.0 ? (float)(1.0 / sqrt(norm)) : 0.0f;
    for (int t = 0; t < vocab; t++)
        v[t] *= scale;
}
/* <<context: retrieval's implementation>> */
tp_tfidf *tp_tfidf_new(const int *tokens, long n, int chunk, int vocab)
{
    tp_check(n >= 1 && chunk >= 1 && vocab >= 1, "tp_tfidf_new: %ld tokens, "
             "chunks of %d, vocabulary %d", n, chunk, vocab);
    tp_tfidf *x = calloc(1, sizeof *x);
    tp_check(x != NULL, "out of memory");
    *x = (tp_tfidf){vocab, (int)((n + chunk - 1) / chunk), chunk, NULL, NULL};
    x->idf = calloc((size_t)vocab, sizeof *x->idf);
    x->vectors = malloc((size_t)x->chunks * vocab * sizeof *x->vectors);
    tp_check(x->idf != NULL && x->vectors != NULL, "out of memory");
    for (int c = 0; c < x->chunks; c++) {
        long start = (long)c * chunk;
        int length = (int)(n - start < chunk ? n - start : chunk);
        float *v = x->vectors + (size_t)c * vocab;
        count_chunk(tokens + start, length, vocab, v);
        for (int t = 0; t < vocab; t++)
            x->idf[t] += v[t] > 0.0f;  /* the document frequency, for now */
    }
    for (int t = 0; t < vocab; t++)
        x->idf[t] = x->idf[t] > 0.0f ? logf((float)x->chunks / x->idf[t]) : 0.0f;
    for (int c = 0; c < x->chunks; c++)
        weigh_and_normalise(x->idf, vocab, x->vectors + (size_t)c * vocab);
    return x;
}

void tp_tfidf_embed(const tp_tfidf *index, const int *tokens, int n,
                    float *vector)
{
    tp_check(n >= 1, "tp_tfidf_embed: an empty text");
    count_chunk(tokens, n, index->vocab, vector);
    weigh_and_normalise(index->idf, index->vocab, vector);
}

void tp_tfidf_free(tp_tfidf *index)
{
    if (index == NULL)
        return;
    free(index->idf);
    free(index->vectors);
    free(index);
}
/* <<context: retrieval's implementation>> */
float tp_cosine(const float *a, const float *b, int n)
{
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return aa > 0.0 && bb > 0.0 ? (float)(ab / sqrt(aa * bb)) : 0.0f;
}
/* <<context: retrieval's implementation>> */
static bool ranks_above(const float *scores, int i, int j)
{
    return scores[i] > scores[j] || (scores[i] == scores[j] && i < j);
}

void tp_top_k(const float *scores, int n, int k, int *best)
{
    tp_check(k >= 0 && k <= n, "tp_top_k: the best %d of %d scores", k, n);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        int at = kept < k ? kept++ : k;
        while (at > 0 && ranks_above(scores, i, best[at - 1])) {
            if (at < k)
                best[at] = best[at - 1];
            at--;
        }
        if (at < k)
            best[at] = i;
    }
}

/* <<context: the kNN memory's implementation>> */
tp_knn_memory *tp_knn_memory_new(int d, long capacity)
{
    tp_check(d >= 1 && capacity >= 1, "tp_knn_memory_new: width %d, "
             "capacity %ld", d, capacity);
    tp_knn_memory *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    *m = (tp_knn_memory){d, capacity, 0, 0, NULL, NULL};
    m->keys = malloc((size_t)capacity * d * sizeof *m->keys);
    m->values = malloc((size_t)capacity * d * sizeof *m->values);
    tp_check(m->keys != NULL && m->values != NULL, "out of memory: a kNN "
             "memory of %ld pairs of width %d", capacity, d);
    return m;
}

void tp_knn_memory_add(tp_knn_memory *memory, const float *key,
                       const float *value)
{
    size_t at = (size_t)memory->next * memory->d;
    memcpy(memory->keys + at, key, (size_t)memory->d * sizeof *key);
    memcpy(memory->values + at, value, (size_t)memory->d * sizeof *value);
    memory->next = (memory->next + 1) % memory->capacity;
    if (memory->stored < memory->capacity)
        memory->stored++;
}

void tp_knn_memory_free(tp_knn_memory *memory)
{
    if (memory == NULL)
        return;
    free(memory->keys);
    free(memory->values);
    free(memory);
}
/* <<context: the kNN memory's implementation>> */
static float dot(const float *a, const float *b, int d)
{
    float s = 0.0f;
    for (int i = 0; i < d; i++)
        s += a[i] * b[i];
    return s;
}

static void knn_search(const float *q, const tp_knn_memory *m, int k,
                       float scale, float *scores, int *chosen)
{
    for (long j = 0; j < m->stored; j++)
        scores[j] = scale * dot(q, m->keys + (size_t)j * m->d, m->d);
    tp_top_k(scores, (int)m->stored, k, chosen);
}
/* <<context: the kNN memory's implementation>> */
void tp_knn_attention(const float *q, const float *keys,
                      const float *values, int local,
                      const tp_knn_memory *memory, int k, float *out,
                      int *chosen)
{
    int d = memory->d;
    tp_check(k >= 0 && k <= memory->stored && local >= 0 && k + local >= 1,
             "tp_knn_attention: %d of %ld stored keys, %d local", k,
             memory->stored, local);
    float scale = 1.0f / sqrtf((float)d);
    float *scores = malloc((size_t)(memory->stored + k + local) * sizeof *scores);
    tp_check(scores != NULL, "out of memory");
    knn_search(q, memory, k, scale, scores, chosen);
    float *s = scores + memory->stored;  /* the k + local that attend */
    for (int i = 0; i < k; i++)
        s[i] = scores[chosen[i]];
    for (int j = 0; j < local; j++)
        s[k + j] = scale * dot(q, keys + (size_t)j * d, d);
    /* <<knn attention: softmax over the retrieved and the local, and mix>> */
    float max = s[0], sum = 0.0f;
    for (int j = 1; j < k + local; j++)
        max = s[j] > max ? s[j] : max;
    memset(out, 0, (size_t)d * sizeof *out);
    for (int j = 0; j < k + local; j++) {
        float w = expf(s[j] - max);
        const float *v = j < k ? memory->values + (size_t)chosen[j] * d
                               : values + (size_t)(j - k) * d;
        for (int i = 0; i < d; i++)
            out[i] += w * v[i];
        sum += w;
    }
    for (int i = 0; i < d; i++)
        out[i] /= sum;
    free(scores);
}

/* <<context: the selective scan's implementation>> */
static float softplus(float x)
{
    return x > 20.0f ? x : log1pf(expf(x));
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Zero-order hold for one channel and one state: A_bar = exp(delta a),
   and B_bar = (A_bar - 1) / a * B, the exact integral over the step. */
static void discretise(float delta, float a, float b, float *a_bar,
                       float *b_bar)
{
    *a_bar = expf(delta * a);
    *b_bar = (*a_bar - 1.0f) / a * b;
}
/* <<context: the selective scan's implementation>> */
void tp_selective_step(const float *x, const float *dbc, const float *a_log,
                       const float *skip, int d, int n, float *h, float *y)
{
    const float *b = dbc + d, *c = dbc + d + n;
    for (int i = 0; i < d; i++) {
        float delta = softplus(dbc[i]), sum = 0.0f;
        for (int s = 0; s < n; s++) {
            float a_bar, b_bar;
            discretise(delta, -expf(a_log[i * n + s]), b[s], &a_bar, &b_bar);
            h[i * n + s] = a_bar * h[i * n + s] + b_bar * x[i];
            sum += c[s] * h[i * n + s];
        }
        y[i] = sum + skip[i] * x[i];
    }
}
/* <<context: the selective scan's implementation>> */
typedef struct scan_saved {
    int batch, length, d, n;
    float *states;  /* [B, T + 1, D, N]; row 0 of each sequence is zero */
} scan_saved;

static void scan_backward(tp_node *node);

static void check_scan_shapes(const tp_tensor *x, const tp_tensor *dbc,
                              const tp_tensor *a_log, const tp_tensor *skip)
{
    int d = x->shape.dim[2], n = a_log->shape.dim[1];
    tp_check(x->shape.ndim == 3 && dbc->shape.ndim == 3
                 && dbc->shape.dim[0] == x->shape.dim[0]
                 && dbc->shape.dim[1] == x->shape.dim[1]
                 && dbc->shape.dim[2] == d + 2 * n && a_log->shape.dim[0] == d
                 && tp_shape_count(skip->shape) == d
                 && tp_tensor_is_contiguous(x) && tp_tensor_is_contiguous(dbc),
             "tp_selective_scan: x %s, dbc %s, a_log %s, skip %s",
             tp_shape_str(x->shape).text, tp_shape_str(dbc->shape).text,
             tp_shape_str(a_log->shape).text, tp_shape_str(skip->shape).text);
}
/* <<context: the selective scan's implementation>> */
tp_tensor *tp_selective_scan(tp_graph *g, tp_tensor *x, tp_tensor *dbc,
                             tp_tensor *a_log, tp_tensor *skip)
{
    check_scan_shapes(x, dbc, a_log, skip);
    tp_tensor *in[4] = {x, dbc, a_log, skip};
    bool grad = tp_needs_grad(g, 4, in);
    int batch = x->shape.dim[0], length = x->shape.dim[1];
    int d = x->shape.dim[2], n = a_log->shape.dim[1];
    tp_tensor *y = tp_tensor_empty(g->arena, x->shape,
                                   grad ? TP_WITH_GRAD : TP_NO_GRAD);
    size_t state = (size_t)d * n;
    float *states = tp_arena_alloc(g->arena, (size_t)batch * (length + 1)
                                                 * state * sizeof(float));
    for (int b = 0; b < batch; b++) {
        float *h = states + (size_t)b * (length + 1) * state;
        memset(h, 0, state * sizeof *h);
        for (int t = 0; t < length; t++, h += state) {
            memcpy(h + state, h, state * sizeof *h);
            long row = (long)b * length + t;
            tp_selective_step(x->data + row * d, dbc->data + row * (d + 2 * n),
                              a_log->data, skip->data, d, n, h + state,
                              y->data + row * d);
        }
    }
    /* <<selective scan: record the backward>> */
    if (grad) {
        scan_saved *s = tp_arena_alloc(g->arena, sizeof *s);
        *s = (scan_saved){batch, length, d, n, states};
        tp_record(g, "tp_selective_scan", scan_backward, y, 4, in)->saved = s;
    }
    return y;
}
/* <<context: the selective scan's implementation>> */
static float *grad_or_scratch(tp_node *node, int which, size_t count)
{
    tp_tensor *t = node->input[which];
    if (t->grad != NULL)
        return t->grad;
    float *scratch = tp_arena_alloc(node->arena, count * sizeof(float));
    memset(scratch, 0, count * sizeof(float));
    return scratch;
}

static void scan_backward(tp_node *node)
{
    const scan_saved *s = node->saved;
    int d = s->d, n = s->n, width = d + 2 * n;
    const tp_tensor *x = node->input[0], *dbc = node->input[1];
    const float *a_log = node->input[2]->data, *skip = node->input[3]->data;
    const float *dy = node->output->grad;
    float *dx = grad_or_scratch(node, 0, (size_t)tp_tensor_count(x));
    float *ddbc = grad_or_scratch(node, 1, (size_t)tp_tensor_count(dbc));
    float *da_log = grad_or_scratch(node, 2, (size_t)d * n);
    float *dskip = grad_or_scratch(node, 3, (size_t)d);
    float *dh = tp_arena_alloc(node->arena, (size_t)d * n * sizeof *dh);
    for (int b = 0; b < s->batch; b++) {
        memset(dh, 0, (size_t)d * n * sizeof *dh);
        for (int t = s->length - 1; t >= 0; t--) {
            long row = (long)b * s->length + t;
            const float *h = s->states + ((size_t)b * (s->length + 1) + t) * d * n;
            /* <<selective scan backward: one step>> */
            const float *xt = x->data + row * d, *p = dbc->data + row * width;
            const float *gy = dy + row * d;
            float *gp = ddbc + row * width;
            for (int i = 0; i < d; i++) {
                float delta = softplus(p[i]), g_delta = 0.0f;
                dx[row * d + i] += skip[i] * gy[i];
                dskip[i] += gy[i] * xt[i];
                for (int j = 0; j < n; j++) {
                    int at = i * n + j;
                    float a = -expf(a_log[at]), a_bar, b_bar;
                    discretise(delta, a, p[d + j], &a_bar, &b_bar);
                    gp[d + n + j] += gy[i] * h[d * n + at];       /* C */
                    float g = dh[at] + gy[i] * p[d + n + j];      /* dL/dh_t */
                    float g_b_bar = g * xt[i], e = (a_bar - 1.0f) / a;
                    dx[row * d + i] += g * b_bar;
                    gp[d + j] += g_b_bar * e;                     /* B */
                    float g_a_bar = g * h[at] + g_b_bar * p[d + j] / a;
                    g_delta += g_a_bar * a_bar * a;
                    float g_a = g_a_bar * a_bar * delta
                                - g_b_bar * p[d + j] * (a_bar - 1.0f) / (a * a);
                    da_log[at] += g_a * a;
                    dh[at] = g * a_bar;  /* carried to step t - 1 */
                }
                gp[i] += g_delta * sigmoid(p[i]);
            }
        }
    }
}
