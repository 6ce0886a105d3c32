/* Generated from book/315-fixed-context.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradients.h"
#include "tap.h"
#include "tp.h"

/* <<t-context: retrieval>> */
static const float *sorted_scores;

static int by_score(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    if (sorted_scores[i] != sorted_scores[j])
        return sorted_scores[i] > sorted_scores[j] ? -1 : 1;
    return i - j;
}

static void top_k_is_a_full_sort(void)
{
    tp_rng rng = tp_rng_seeded(315, 1);
    float scores[200];
    int order[200], best[200];
    for (int i = 0; i < 200; i++)
        scores[i] = (float)tp_rng_below(&rng, 8), order[i] = i;
    sorted_scores = scores;
    qsort(order, 200, sizeof *order, by_score);
    bool same = true;
    for (int k = 0; k <= 200; k += 7) {
        tp_top_k(scores, 200, k, best);
        same = same && memcmp(best, order, (size_t)k * sizeof *best) == 0;
    }
    ok(same, "the top k of 200 tied scores are a full sort's first k");
}
/* <<t-context: retrieval>> */
static double naive_weight(const int *tokens, long n, int chunk, int c,
                           int term)
{
    int chunks = (int)((n + chunk - 1) / chunk), holding = 0, count = 0;
    for (int other = 0; other < chunks; other++) {
        bool holds = false;
        for (long i = (long)other * chunk; i < n && i < (long)(other + 1) * chunk; i++)
            holds = holds || tokens[i] == term;
        holding += holds;
    }
    long start = (long)c * chunk, end = start + chunk < n ? start + chunk : n;
    for (long i = start; i < end; i++)
        count += tokens[i] == term;
    return count == 0 ? 0.0 : (double)count / (double)(end - start)
                              * log((double)chunks / holding);
}
/* <<t-context: retrieval>> */
static void tfidf_matches_its_definition(void)
{
    enum { N = 203, CHUNK = 16, VOCAB = 12 };
    int tokens[N];
    tp_rng rng = tp_rng_seeded(315, 2);
    for (int i = 0; i < N; i++)  /* skewed: small tokens are common */
        tokens[i] = (int)(tp_rng_below(&rng, VOCAB) * tp_rng_uniform(&rng));
    tp_tfidf *index = tp_tfidf_new(tokens, N, CHUNK, VOCAB);
    double worst = 0.0;
    for (int c = 0; c < index->chunks; c++) {
        double w[VOCAB], norm = 0.0;
        for (int t = 0; t < VOCAB; t++)
            w[t] = naive_weight(tokens, N, CHUNK, c, t), norm += w[t] * w[t];
        for (int t = 0; t < VOCAB; t++) {
            double e = fabs(w[t] / sqrt(norm) - index->vectors[c * VOCAB + t]);
            worst = e > worst ? e : worst;
        }
    }
    ok(index->chunks == 13 && worst < 1e-6, "TF-IDF of 13 chunks (the last "
       "short) matches its definition: largest difference %.1e", worst);
    tp_tfidf_free(index);
}
/* <<t-context: retrieval>> */
static void cosine_identities(void)
{
    float a[5] = {1, -2, 3, 0.5f, 4}, b[5], c[5] = {2, 1, 0, 0, 0},
          e[5] = {0, 0, 1, 0, 0}, f[5] = {0, 0, 0, 1, 0};
    for (int i = 0; i < 5; i++)
        b[i] = -2.5f * a[i];
    float ua[5], ub[5] = {0.6f, 0.8f, 0, 0, 0}, n = 0.0f;
    for (int i = 0; i < 5; i++)
        n += a[i] * a[i];
    float d = 0.0f;
    for (int i = 0; i < 5; i++)
        ua[i] = a[i] / sqrtf(n), d += ua[i] * ub[i];
    ok(fabsf(tp_cosine(a, b, 5) + 1.0f) < 1e-6f
           && fabsf(tp_cosine(c, c, 5) - 1.0f) < 1e-6f
           && tp_cosine(e, f, 5) == 0.0f
           && fabsf(tp_cosine(ua, ub, 5) - d) < 1e-6f,
       "cosine: 1 with itself, -1 with its negative, 0 when orthogonal, the "
       "dot product of unit vectors");
}

/* <<t-context: the kNN memory>> */
static void fill_memory(tp_knn_memory *m, long pairs, tp_rng *rng)
{
    float k[16], v[16];
    for (long p = 0; p < pairs; p++) {
        for (int i = 0; i < m->d; i++)
            k[i] = tp_rng_normal(rng), v[i] = tp_rng_normal(rng);
        tp_knn_memory_add(m, k, v);
    }
}

static void knn_with_every_key_is_full_attention(void)
{
    enum { D = 8, STORED = 23, LOCAL = 5 };
    tp_rng rng = tp_rng_seeded(315, 3);
    tp_knn_memory *m = tp_knn_memory_new(D, STORED);
    fill_memory(m, STORED, &rng);
    tp_arena *a = tp_arena_new("test");
    tp_tensor *q = tp_tensor_normal(a, tp_shape4(1, 1, 1, D), TP_NO_GRAD, &rng);
    tp_tensor *k = tp_tensor_new(a, tp_shape4(1, 1, STORED + LOCAL, D), TP_NO_GRAD);
    tp_tensor *v = tp_tensor_new(a, tp_shape4(1, 1, STORED + LOCAL, D), TP_NO_GRAD);
    memcpy(k->data, m->keys, sizeof(float) * STORED * D);
    memcpy(v->data, m->values, sizeof(float) * STORED * D);
    tp_fill_normal(tp_slice(a, k, 2, STORED, LOCAL), &rng, 0, 1);
    tp_fill_normal(tp_slice(a, v, 2, STORED, LOCAL), &rng, 0, 1);
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    tp_tensor *full = tp_attention(&g, q, k, v, &(tp_attention_options){0});
    float out[D], worst = 0.0f;
    int chosen[STORED];
    tp_knn_attention(q->data, k->data + STORED * D, v->data + STORED * D,
                     LOCAL, m, STORED, out, chosen);
    for (int i = 0; i < D; i++)
        worst = fmaxf(worst, fabsf(out[i] - full->data[i]));
    ok(worst < 1e-5f, "kNN attention with k = all %d stored keys is attention "
       "over memory and context: largest difference %.1e", STORED, worst);
    tp_arena_free(a);
    tp_knn_memory_free(m);
}
/* <<t-context: the kNN memory>> */
static void knn_finds_the_best_keys_and_forgets_the_oldest(void)
{
    enum { D = 8, CAPACITY = 40 };
    tp_rng rng = tp_rng_seeded(315, 4);
    tp_knn_memory *m = tp_knn_memory_new(D, CAPACITY);
    fill_memory(m, CAPACITY + 7, &rng);
    float q[D], scores[CAPACITY], out[D], local[D] = {0};
    int order[CAPACITY], chosen[5];
    for (int i = 0; i < D; i++)
        q[i] = tp_rng_normal(&rng);
    for (int j = 0; j < CAPACITY; j++) {
        scores[j] = 0.0f, order[j] = j;
        for (int i = 0; i < D; i++)
            scores[j] += q[i] * m->keys[j * D + i] / sqrtf((float)D);
    }
    sorted_scores = scores;
    qsort(order, CAPACITY, sizeof *order, by_score);
    tp_knn_attention(q, local, local, 1, m, 5, out, chosen);
    ok(memcmp(chosen, order, sizeof chosen) == 0 && m->stored == CAPACITY
           && m->next == 7,
       "the 5 retrieved keys are the 5 best of a full sort; a full memory "
       "replaces its oldest");
    tp_knn_memory_free(m);
}

/* <<t-context: the selective scan>> */
typedef struct scan_case {
    tp_arena *arena;
    tp_tensor *in[4];  /* x, dbc, a_log, skip */
    int batch, length, d, n;
} scan_case;

static scan_case scan_case_new(int batch, int length, int d, int n,
                               uint64_t seed)
{
    scan_case c = {tp_arena_new("scan"), {NULL}, batch, length, d, n};
    tp_rng rng = tp_rng_seeded(seed, 5);
    tp_shape shapes[4] = {tp_shape3(batch, length, d),
                          tp_shape3(batch, length, d + 2 * n),
                          tp_shape2(d, n), tp_shape1(d)};
    for (int i = 0; i < 4; i++) {
        c.in[i] = tp_tensor_new(c.arena, shapes[i], TP_WITH_GRAD);
        tp_fill_normal(c.in[i], &rng, 0.0f, i == 2 ? 0.5f : 1.0f);
    }
    return c;
}
/* <<t-context: the selective scan>> */
static double unrolled(const scan_case *c, int b, int t, int i)
{
    int d = c->d, n = c->n, w = d + 2 * n;
    const float *x = c->in[0]->data + (long)b * c->length * d;
    const float *p = c->in[1]->data + (long)b * c->length * w;
    double y = c->in[3]->data[i] * x[t * d + i];
    for (int j = 0; j < n; j++) {
        double a = -exp(c->in[2]->data[i * n + j]), h = 0.0;
        for (int s = 0; s <= t; s++) {
            double decay = 1.0;
            for (int r = s + 1; r <= t; r++)
                decay *= exp(log1p(exp(p[r * w + i])) * a);
            double delta = log1p(exp(p[s * w + i]));
            h += decay * (exp(delta * a) - 1.0) / a * p[s * w + d + j]
                 * x[s * d + i];
        }
        y += p[t * w + d + n + j] * h;
    }
    return y;
}
/* <<t-context: the selective scan>> */
static void scan_is_the_unrolled_recurrence(void)
{
    scan_case c = scan_case_new(2, 9, 3, 4, 1);
    tp_graph g = tp_graph_on(c.arena);
    tp_set_grad(&g, false);
    tp_tensor *y = tp_selective_scan(&g, c.in[0], c.in[1], c.in[2], c.in[3]);
    double worst = 0.0;
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 9; t++)
            for (int i = 0; i < 3; i++)
                worst = fmax(worst, fabs(unrolled(&c, b, t, i)
                                         - y->data[(b * 9 + t) * 3 + i]));
    ok(worst < 1e-5, "the selective scan equals the unrolled recurrence: "
       "largest difference %.1e", worst);
    tp_arena_free(c.arena);
}
/* <<t-context: the selective scan>> */
static void steps_are_the_scan(void)
{
    scan_case c = scan_case_new(1, 12, 4, 3, 2);
    tp_graph g = tp_graph_on(c.arena);
    tp_set_grad(&g, false);
    tp_tensor *y = tp_selective_scan(&g, c.in[0], c.in[1], c.in[2], c.in[3]);
    float h[12] = {0}, out[4];
    bool same = true;
    for (int t = 0; t < 12; t++) {
        tp_selective_step(c.in[0]->data + t * 4, c.in[1]->data + t * 10,
                          c.in[2]->data, c.in[3]->data, 4, 3, h, out);
        same = same && memcmp(out, y->data + t * 4, sizeof out) == 0;
    }
    ok(same, "decoding step by step gives the scan's outputs, bit for bit");
    tp_arena_free(c.arena);
}
/* <<t-context: the selective scan>> */
static tp_tensor *scan_forward(tp_graph *g, tp_tensor *const in[],
                               void *context)
{
    (void)context;
    return tp_selective_scan(g, in[0], in[1], in[2], in[3]);
}

static void scan_gradients(void)
{
    scan_case c = scan_case_new(2, 6, 3, 2, 3);
    check_gradients(scan_forward, c.in, 4, NULL,
                    "selective scan (x, delta B C, A, D)");
    tp_arena_free(c.arena);
}

int main(void)
{
    top_k_is_a_full_sort();
    tfidf_matches_its_definition();
    cosine_identities();
    knn_with_every_key_is_full_attention();
    knn_finds_the_best_keys_and_forgets_the_oldest();
    scan_is_the_unrolled_recurrence();
    steps_are_the_scan();
    scan_gradients();
    return done_testing();
}
