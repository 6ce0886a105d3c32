/* Generated from book/240-xl.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gradients.h"
#include "models.h"
#include "tap.h"
#include "tp.h"

/* <<t-xl: the definition, term by term>> */
static double sinusoid(int distance, int c, int width)
{
    double angle = distance / pow(10000.0, 2.0 * (c / 2) / width);
    return c % 2 == 0 ? sin(angle) : cos(angle);
}

typedef struct xl_case {
    int batch, keys, length, width, heads;
    const float *qkv, *w_kr, *u, *v;  /* [B, K, 3C], [C, C], [H, d], [H, d] */
} xl_case;

static double projected(const xl_case *x, int distance, int column)
{
    double sum = 0.0;
    for (int c = 0; c < x->width; c++)
        sum += sinusoid(distance, c, x->width)
               * x->w_kr[(long)c * x->width + column];
    return sum;
}
/* <<t-xl: the definition, term by term>> */
static double score(const xl_case *x, int b, int h, int i, int j)
{
    int c3 = 3 * x->width, d = x->width / x->heads, first = h * d;
    int memory = x->keys - x->length;
    const float *q = x->qkv + ((long)b * x->keys + memory + i) * c3 + first;
    const float *k = x->qkv + ((long)b * x->keys + j) * c3 + x->width + first;
    double a = 0, bb = 0, c = 0, dd = 0;
    for (int e = 0; e < d; e++) {
        double r = projected(x, memory + i - j, first + e);
        a += (double)q[e] * k[e];              /* content, content */
        bb += (double)q[e] * r;                /* content, distance */
        c += (double)x->u[first + e] * k[e];   /* global content */
        dd += (double)x->v[first + e] * r;     /* global distance */
    }
    return (a + bb + c + dd) / sqrt((double)d);
}
/* <<t-xl: the definition, term by term>> */
static void direct_attention(const xl_case *x, double *out)
{
    int c3 = 3 * x->width, d = x->width / x->heads;
    int memory = x->keys - x->length;
    double s[64];
    for (int b = 0; b < x->batch; b++)
        for (int h = 0; h < x->heads; h++)
            for (int i = 0; i < x->length; i++) {
                int seen = memory + i + 1;  /* causal over the K keys */
                double top = -INFINITY, total = 0.0;
                for (int j = 0; j < seen; j++)
                    top = fmax(top, s[j] = score(x, b, h, i, j));
                for (int j = 0; j < seen; j++)
                    total += s[j] = exp(s[j] - top);
                double *o = out + ((long)b * x->length + i) * x->width + h * d;
                for (int e = 0; e < d; e++) {
                    o[e] = 0.0;
                    for (int j = 0; j < seen; j++)
                        o[e] += s[j] / total
                                * x->qkv[((long)b * x->keys + j) * c3
                                         + 2 * x->width + h * d + e];
                }
            }
}

/* <<t-xl: relative attention>> */
static void table_of_distances(void)
{
    tp_arena *arena = tp_arena_new("t_xl");
    tp_tensor *t = tp_xl_relative_table(arena, 7, 6);
    double worst = 0.0;
    for (int m = 0; m < 7; m++)
        for (int c = 0; c < 6; c++)
            worst = fmax(worst, fabs(t->data[m * 6 + c]
                                     - sinusoid(7 - 1 - m, c, 6)));
    near(worst, 0.0, 1e-6, "row m of the table is the sinusoid of distance "
         "K - 1 - m");
    tp_arena_free(arena);
}
/* <<t-xl: relative attention>> */
enum { B = 2, C = 8, HEADS = 2, LENGTH = 5 };

static tp_tensor **random_inputs(tp_arena *arena, int keys, tp_rng *rng)
{
    tp_tensor **in = tp_arena_zeroed(arena, 4, sizeof *in);
    in[0] = tp_tensor_normal(arena, tp_shape3(B, keys, 3 * C), TP_WITH_GRAD, rng);
    in[1] = tp_tensor_normal(arena, tp_shape2(C, C), TP_WITH_GRAD, rng);
    in[2] = tp_tensor_normal(arena, tp_shape2(HEADS, C / HEADS), TP_WITH_GRAD, rng);
    in[3] = tp_tensor_normal(arena, tp_shape2(HEADS, C / HEADS), TP_WITH_GRAD, rng);
    return in;
}

static tp_tensor *attention_of(tp_graph *g, tp_tensor *const in[], void *unused)
{
    (void)unused;
    int keys = in[0]->shape.dim[1];
    tp_tensor *r = tp_matmul(g, tp_xl_relative_table(g->arena, keys, C), in[1]);
    return tp_xl_attention(g, in[0], LENGTH, HEADS, r, in[2], in[3], NULL);
}
/* <<t-xl: relative attention>> */
static void attention_matches_the_definition(void)
{
    static const int memories[3] = {0, 3, 9};
    tp_arena *arena = tp_arena_new("t_xl");
    tp_rng rng = tp_rng_seeded(240, 1);
    for (int t = 0; t < 3; t++) {
        int keys = memories[t] + LENGTH;
        tp_tensor **in = random_inputs(arena, keys, &rng);
        tp_graph g = tp_graph_on(arena);
        tp_tensor *out = attention_of(&g, in, NULL);
        xl_case x = {B, keys, LENGTH, C, HEADS, in[0]->data, in[1]->data,
                     in[2]->data, in[3]->data};
        double expected[B * LENGTH * C], worst = 0.0;
        direct_attention(&x, expected);
        for (int e = 0; e < B * LENGTH * C; e++)
            worst = fmax(worst, fabs(out->data[e] - expected[e]));
        near(worst, 0.0, 1e-5, "relative attention with the shift equals the "
             "four terms pair by pair, M = %d, L = %d", memories[t], LENGTH);
    }
    tp_arena_free(arena);
}

static void attention_gradients(void)
{
    tp_arena *arena = tp_arena_new("t_xl");
    tp_rng rng = tp_rng_seeded(240, 2);
    tp_tensor **in = random_inputs(arena, 3 + LENGTH, &rng);
    for (long e = 0; e < tp_tensor_count(in[0]); e++)
        in[0]->data[e] *= 0.5f;  /* softmax away from saturation */
    check_gradients(attention_of, in, 4, NULL, "relative attention (qkv, "
                    "W_kR, u, v), M = 3");
    tp_arena_free(arena);
}

/* <<t-xl: a small model>> */
enum { SEGMENT = 3, SEGMENTS = 3, TEXT = SEGMENT * SEGMENTS };

static tp_xl *small_model(uint64_t seed)
{
    tp_xl *m = tp_xl_new((tp_gpt_config){11, SEGMENT, 2, 2, 8,
                                         TP_POSITIONS_NONE});
    tp_rng rng = tp_rng_seeded(seed, 1);
    tp_xl_init(m, &rng);
    enlarge_weights(&m->gpt->params, &rng);
    return m;
}

static const int text[2][TEXT + 1] = {{3, 1, 4, 1, 5, 9, 2, 6, 5, 3},
                                      {2, 7, 1, 8, 2, 8, 1, 8, 2, 8}};

static void segment_of(int s, int length, int *tokens, int *targets)
{
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < length; t++) {
            tokens[b * length + t] = text[b][s * SEGMENT + t];
            targets[b * length + t] = text[b][s * SEGMENT + t + 1];
        }
}

/* <<t-xl: the recurrence>> */
static tp_tensor *by_segments(tp_graph *g, tp_xl *m, int capacity)
{
    tp_xl_memory *memory = tp_xl_memory_new(m, 2, capacity);
    int tokens[2 * SEGMENT], targets[2 * SEGMENT];
    tp_tensor *logits = NULL;
    for (int s = 0; s < SEGMENTS; s++) {
        segment_of(s, SEGMENT, tokens, targets);
        logits = tp_xl_forward(g, m, memory, tokens, 2, SEGMENT);
    }
    tp_xl_memory_free(memory);
    return logits;
}

static double distance_to_the_end(const tp_tensor *whole,
                                  const tp_tensor *last)
{
    double worst = 0.0;
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < SEGMENT; t++)
            for (int v = 0; v < 11; v++)
                worst = fmax(worst, fabs(*tp_at3(last, b, t, v)
                                         - *tp_at3(whole, b, TEXT - SEGMENT + t,
                                                   v)));
    return worst;
}
/* <<t-xl: the recurrence>> */
static void memory_equals_the_whole_text(void)
{
    tp_xl *m = small_model(7);
    tp_arena *arena = tp_arena_new("t_xl");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    int tokens[2 * TEXT], targets[2 * TEXT];
    segment_of(0, TEXT, tokens, targets);
    tp_tensor *whole = tp_xl_forward(&g, m, NULL, tokens, 2, TEXT);
    near(distance_to_the_end(whole, by_segments(&g, m, 2 * SEGMENT)), 0.0,
         1e-4, "segments with a memory of 2L give the logits of one pass "
         "over the whole text");
    ok(distance_to_the_end(whole, by_segments(&g, m, SEGMENT)) > 1e-2,
       "with a memory of L the third segment misses the first");
    tp_arena_free(arena);
    tp_xl_free(m);
}
/* <<t-xl: the recurrence>> */
typedef struct fixed_memory {
    tp_xl *m;
    tp_xl_memory *memory;
    float *saved[2];  /* each layer's memory after the first segment */
    int length;
} fixed_memory;

static tp_tensor *second_segment_loss(tp_graph *g, tp_tensor *const in[],
                                      void *context)
{
    (void)in;
    fixed_memory *f = context;
    for (int n = 0; n < 2; n++)
        memcpy(f->memory->h[n]->data, f->saved[n],
               tp_tensor_count(f->memory->h[n]) * sizeof(float));
    f->memory->length = f->length;
    int tokens[2 * SEGMENT], targets[2 * SEGMENT];
    segment_of(1, SEGMENT, tokens, targets);
    return tp_xl_loss(g, f->m, f->memory, tokens, targets, 2, SEGMENT);
}
/* <<t-xl: the recurrence>> */
static fixed_memory after_first_segment(tp_xl *m)
{
    fixed_memory f = {m, tp_xl_memory_new(m, 2, SEGMENT), {NULL, NULL}, 0};
    tp_arena *arena = tp_arena_new("t_xl");
    tp_graph g = tp_graph_on(arena);
    int tokens[2 * SEGMENT], targets[2 * SEGMENT];
    segment_of(0, SEGMENT, tokens, targets);
    tp_xl_forward(&g, m, f.memory, tokens, 2, SEGMENT);
    for (int n = 0; n < 2; n++) {
        size_t bytes = tp_tensor_count(f.memory->h[n]) * sizeof(float);
        f.saved[n] = malloc(bytes);
        memcpy(f.saved[n], f.memory->h[n]->data, bytes);
    }
    f.length = f.memory->length;
    tp_arena_free(arena);
    return f;
}
/* <<t-xl: the recurrence>> */
static void gradients_of(tp_xl *m, tp_forward_fn *loss, void *context,
                         float *into)
{
    tp_arena *arena = tp_arena_new("t_xl");
    tp_graph g = tp_graph_on(arena);
    tp_zero_grad(&m->gpt->params);
    tp_backward(&g, loss(&g, NULL, context));
    for (int i = 0, at = 0; i < m->gpt->params.count; i++) {
        const tp_tensor *t = m->gpt->params.items[i].tensor;
        memcpy(into + at, t->grad, tp_tensor_count(t) * sizeof *into);
        at += (int)tp_tensor_count(t);
    }
    tp_arena_free(arena);
}

static tp_tensor *through_both_segments(tp_graph *g, tp_tensor *const in[],
                                        void *context)
{
    (void)in;
    int tokens[2 * 2 * SEGMENT], targets[2 * 2 * SEGMENT];
    segment_of(0, 2 * SEGMENT, tokens, targets);
    for (int b = 0; b < 2; b++)  /* the second segment's targets only */
        for (int t = 0; t < SEGMENT; t++)
            targets[b * 2 * SEGMENT + t] = -1;
    tp_tensor *logits = tp_xl_forward(g, context, NULL, tokens, 2, 2 * SEGMENT);
    return tp_cross_entropy(g, logits, targets, -1);
}
/* <<t-xl: the recurrence>> */
static void stop_gradient(void)
{
    tp_xl *m = small_model(8);
    fixed_memory f = after_first_segment(m);
    check_model_gradients(second_segment_loss, &m->gpt->params, &f,
                          "the second segment's loss, the memory held fixed");
    long n = tp_params_count(&m->gpt->params);
    float *cut = malloc((size_t)n * sizeof *cut);
    float *whole = malloc((size_t)n * sizeof *whole);
    gradients_of(m, second_segment_loss, &f, cut);
    gradients_of(m, through_both_segments, m, whole);
    double worst = 0.0;
    for (long i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)cut[i] - whole[i]));
    ok(worst > 1e-3, "the gradient through one pass over both segments "
       "differs (by %.3g): the memory stops it", worst);
    free(cut), free(whole), free(f.saved[0]), free(f.saved[1]);
    tp_xl_memory_free(f.memory);
    tp_xl_free(m);
}

/* <<t-xl: checkpoints>> */
static void checkpoints(void)
{
    char path[] = "/tmp/t_xl_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    tp_xl *m = small_model(9);
    tp_error error;
    ok(tp_gpt_save(m->gpt, path, NULL, 0, NULL, &error) == 0,
       "a Transformer-XL saves as its GPT with the relative parameters");
    tp_xl *back = tp_xl_load(path, &error);
    ok(back != NULL, "and loads back");
    tp_arena *arena = tp_arena_new("t_xl");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    if (back != NULL)
        near(tp_max_abs_diff(by_segments(&g, m, SEGMENT),
                             by_segments(&g, back, SEGMENT)), 0.0, 0.0,
             "with the same logits");
    tp_gpt *gpt = tp_gpt_new((tp_gpt_config){11, 4, 1, 2, 8,
                                             TP_POSITIONS_LEARNED});
    tp_gpt_save(gpt, path, NULL, 0, NULL, &error);
    ok(tp_xl_load(path, &error) == NULL
           && strstr(error.message, "not a Transformer-XL") != NULL,
       "a GPT's checkpoint is refused: %s", error.message);
    tp_arena_free(arena);
    tp_gpt_free(gpt);
    tp_xl_free(back);
    tp_xl_free(m);
    unlink(path);
}

int main(void)
{
    table_of_distances();
    attention_matches_the_definition();
    attention_gradients();
    memory_equals_the_whole_text();
    stop_gradient();
    checkpoints();
    return done_testing();
}
