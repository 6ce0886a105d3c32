/* Generated from book/340-compute.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tp.h"

static tp_rng rng;

/* <<t-compute: quantisation>> */
static float *weights_with_outliers(int rows, int cols)
{
    float *w = malloc((size_t)rows * (size_t)cols * sizeof *w);
    for (int o = 0; o < rows; o++) {
        for (int i = 0; i < cols; i++)
            w[o * cols + i] = 0.02f * tp_rng_normal(&rng);
        w[o * cols + (int)tp_rng_below(&rng, (uint32_t)cols)] = 0.2f;
    }
    return w;
}
/* <<t-compute: quantisation>> */
static void half_step(tp_quant_scheme scheme)
{
    int rows = 7, cols = 128, worst_row = 0;
    float *w = weights_with_outliers(rows, cols), *back = malloc(sizeof(float)
                                                                 * rows * cols);
    tp_qmatrix *m = tp_qmatrix_new(w, rows, cols, scheme);
    tp_qmatrix_dequantise(m, back);
    double worst = 0;
    for (int o = 0; o < rows; o++)
        for (int i = 0; i < cols; i++) {
            float s = m->scale[o * (cols / m->group) + i / m->group];
            double bound = s * (0.5 + 381.0 / 16777216) + fabsf(w[o * cols + i])
                                                          * 1.2e-7;
            double excess = fabs(w[o * cols + i] - back[o * cols + i]) / bound;
            if (excess > worst)
                worst = excess, worst_row = o;
        }
    ok(worst <= 1, "%s: every weight within half a step (worst %.3f of the "
       "bound, row %d)", tp_quant_name(scheme), worst, worst_row);
    tp_qmatrix_free(m);
    free(w);
    free(back);
}
/* <<t-compute: quantisation>> */
static void exact_round_trip(void)
{
    for (int scheme = TP_QUANT_INT8; scheme <= TP_QUANT_INT4; scheme++) {
        int top = scheme == TP_QUANT_INT8 ? 127 : 7, rows = 3, cols = 64;
        float w[3 * 64], back[3 * 64];
        for (int i = 0; i < rows * cols; i++)
            w[i] = 0.25f * (float)((int)tp_rng_below(&rng, 2 * top + 1) - top);
        for (int g = 0; g < rows * cols; g += 32)
            w[g] = (g / 32) % 2 ? 0.25f * top : -0.25f * top;
        tp_qmatrix *m = tp_qmatrix_new(w, rows, cols, scheme);
        tp_qmatrix_dequantise(m, back);
        ok(memcmp(w, back, sizeof w) == 0, "%s: exact levels come back "
           "exactly", tp_quant_name(scheme));
        tp_qmatrix_free(m);
    }
}
/* <<t-compute: quantisation>> */
static void inputs_half_step(void)
{
    float x[96], t[3];
    signed char r[96];
    for (int i = 0; i < 96; i++)
        x[i] = tp_rng_normal(&rng) * (i < 32 ? 100.0f : 0.01f);
    tp_quant_activations(x, 96, r, t);
    double worst = 0;
    for (int i = 0; i < 96; i++)
        worst = fmax(worst, fabs(x[i] - t[i / 32] * r[i])
                                / (t[i / 32] * 0.50003 + fabsf(x[i]) * 1.2e-7));
    ok(worst <= 1, "the inputs within half a step of their eight bits "
       "(worst %.3f of the bound)", worst);
}

/* <<t-compute: products>> */
typedef struct bounds {
    double exact, inputs, rounding;
} bounds;

static bounds bound_of(const tp_qmatrix *m, const float *back, int o,
                       const float *x)
{
    int blocks = m->cols / 32;
    signed char r[1024];
    float t[32];
    tp_quant_activations(x, m->cols, r, t);
    bounds b = {0, 0, 0};
    for (int k = 0; k < blocks; k++) {
        double weights = 0, integers = 0;
        for (int i = k * 32; i < k * 32 + 32; i++) {
            float w = back[(long)o * m->cols + i];
            float s = m->scale[o * (m->cols / m->group) + i / m->group];
            b.exact += (double)x[i] * w;
            weights += fabs(w);
            integers += fabs(r[i] * (s > 0 ? roundf(w / s) : 0));
            if (i == k * 32 + 31)
                b.rounding += t[k] * s * integers;
        }
        b.inputs += t[k] * 0.50003 * weights;
    }
    b.rounding *= (2.0 * blocks + 12) / 16777216;
    return b;
}
/* <<t-compute: products>> */
static void products(tp_quant_scheme scheme)
{
    enum { ROWS = 37, COLS = 256, N = 5 };
    float *w = weights_with_outliers(ROWS, COLS), x[N * COLS];
    float back[ROWS * COLS], y[4][N * ROWS], one[ROWS];
    for (int i = 0; i < N * COLS; i++)
        x[i] = tp_rng_normal(&rng);
    tp_qmatrix *m = tp_qmatrix_new(w, ROWS, COLS, scheme);
    tp_qmatrix_dequantise(m, back);
    /* <<t-compute: run every path the processor has>> */
    for (int path = TP_QUANT_PORTABLE; path <= TP_QUANT_VNNI; path++) {
        if (!tp_quant_path_available(path)) {
            skip(3, path == TP_QUANT_AVX2 ? "this processor has no AVX2"
                                          : "this processor has no AVX-512 VNNI");
            continue;
        }
        tp_quant_matmul(x, N, m, y[path], path);
        double worst = 0, apart = 0;
        for (int i = 0; i < N; i++)
            for (int o = 0; o < ROWS; o++) {
                bounds b = bound_of(m, back, o, x + i * COLS);
                double got = y[path][i * ROWS + o];
                worst = fmax(worst, fabs(got - b.exact) / (b.inputs + b.rounding));
                apart = fmax(apart, fabs(got - y[TP_QUANT_PORTABLE][i * ROWS + o])
                                        / (2 * b.rounding));
            }
        ok(worst <= 1, "%s, %s: the product is the dequantised product within "
           "the inputs' rounding (worst %.3f of the bound)", tp_quant_name(scheme),
           tp_quant_path_name(path), worst);
        ok(apart <= 1, "%s, %s: agrees with the portable path (worst %.3f of the "
           "bound)", tp_quant_name(scheme), tp_quant_path_name(path), apart);
        bool same = true;
        for (int i = 0; i < N; i++) {
            tp_quant_matmul(x + i * COLS, 1, m, one, path);
            same = same && memcmp(one, y[path] + i * ROWS, sizeof one) == 0;
        }
        ok(same, "%s, %s: five rows at once are five products of one row",
           tp_quant_name(scheme), tp_quant_path_name(path));
    }
    tp_qmatrix_free(m);
    free(w);
}

/* <<t-compute: counting>> */
static void counting(void)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){16, 32, 2, 2, 32,
                                           TP_POSITIONS_LEARNED});
    double c = 32, n = 2 * (12 * c * c + 13 * c) + 2 * c;
    tp_flops f = tp_gpt_flops(m, 32);
    ok(f.parameters == n && f.forward == 2 * n + 2 * 2 * 32 * c + 2 * c * 16
           && f.train == 3 * f.forward,
       "the count: N = L(12C^2 + 13C) + 2C = %.0f, forward 2N + 2LTC + 2CV",
       f.parameters);
    tp_gpt_free(m);
}

/* <<t-compute: the frontier>> */
static bool dominated(const double *cost, const double *loss, int n, int i)
{
    for (int j = 0; j < n; j++)
        if (cost[j] <= cost[i] && loss[j] <= loss[i]
            && (cost[j] < cost[i] || loss[j] < loss[i]))
            return true;
    return false;
}
/* <<t-compute: the frontier>> */
static void frontier(void)
{
    double cost[40], loss[40];
    bool front[40];
    int wrong = 0, on = 0, points = 0;
    for (int trial = 0; trial < 300; trial++) {
        int n = 1 + (int)tp_rng_below(&rng, 40);
        for (int i = 0; i < n; i++) {
            cost[i] = 1e5 * (1 + (int)tp_rng_below(&rng, 8));
            loss[i] = 2 + 0.25 * (int)tp_rng_below(&rng, 8);
        }
        tp_pareto_front(cost, loss, n, front);
        for (int i = 0; i < n; i++, points++)
            wrong += front[i] == dominated(cost, loss, n, i), on += front[i];
    }
    ok(wrong == 0 && on > 0 && on < points, "the frontier is the set no "
       "point dominates: %d of %d points wrong (%d on it)", wrong, points, on);
    /* <<t-compute: a frontier worked by hand>> */
    const double c[] = {1, 2, 2, 3, 4, 4}, l[] = {3, 2, 2.5, 2, 1, 1};
    const bool expected[] = {true, true, false, false, true, true};
    bool got[6];
    tp_pareto_front(c, l, 6, got);
    ok(memcmp(got, expected, sizeof got) == 0,
       "the frontier of six shapes worked by hand");
}

/* <<t-compute: a quantised GPT>> */
enum { PROMPT = 12 };
static const int prompt[PROMPT] = {1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9};

static tp_gpt *small_gpt(void)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){16, 16, 2, 2, 64,
                                           TP_POSITIONS_LEARNED});
    tp_rng init = tp_rng_seeded(340, 2);
    tp_gpt_init(m, &init);
    for (int i = 0; i < m->params.count; i++) {
        tp_tensor *t = m->params.items[i].tensor;
        for (long j = 0; t->shape.ndim == 2 && j < tp_tensor_count(t); j++)
            t->data[j] *= 5;
    }
    return m;
}

/* The logits after each token of the prompt, one at a time or at once. */
static void logits_of(tp_gpt *m, bool at_once, float *out)
{
    tp_gpt_cache *cache = tp_gpt_cache_new(m, PROMPT);
    tp_arena *scratch = tp_arena_new("test");
    if (at_once)
        memcpy(out, tp_gpt_extend(m, cache, prompt, PROMPT, scratch),
               sizeof(float) * 16 * PROMPT);
    for (int t = 0; !at_once && t < PROMPT; t++) {
        tp_arena_reset(scratch);
        memcpy(out + 16 * t, tp_gpt_step(m, cache, prompt[t], scratch),
               sizeof(float) * 16);
    }
    tp_arena_free(scratch);
    tp_gpt_cache_free(cache);
}
/* <<t-compute: a quantised GPT>> */
static double largest_difference(const float *a, const float *b, int n,
                                 double *range)
{
    double worst = 0, lo = a[0], hi = a[0];
    for (int i = 0; i < n; i++) {
        worst = fmax(worst, fabs(a[i] - b[i]));
        lo = fmin(lo, a[i]), hi = fmax(hi, a[i]);
    }
    *range = hi - lo;
    return worst;
}

static void quantised_gpt(void)
{
    tp_gpt *m = small_gpt();
    float fp32[16 * PROMPT], step[16 * PROMPT], prefill[16 * PROMPT];
    logits_of(m, false, fp32);
    for (int scheme = TP_QUANT_INT8; scheme <= TP_QUANT_INT4; scheme++) {
        tp_error error;
        tp_quant_gpt *q = tp_quant_gpt_new(m, scheme, &error);
        logits_of(m, false, step);
        logits_of(m, true, prefill);
        double range, apart = largest_difference(step, prefill, 16 * PROMPT,
                                                 &range);
        double off = largest_difference(fp32, step, 16 * PROMPT, &range);
        double allowed = scheme == TP_QUANT_INT8 ? 0.03 : 0.15;
        ok(apart < 1e-4 && off > 0 && off < allowed * range,
           "%s GPT: decoding and prefill agree (%.1e); the logits within "
           "%.3f of their range of the 32-bit ones", tp_quant_name(scheme),
           apart, off / range);
        tp_quant_gpt_free(q);
    }
    ok(m->linear == NULL, "freeing the quantised matrices gives the model "
       "its own layers back");
    tp_gpt_free(m);
}

/* <<t-compute: a step in loops>> */
static double loop_step_difference(tp_gpt *m, const tp_quant_gpt *q,
                                   bool fused, double *range)
{
    float reference[16 * PROMPT], loops[16 * PROMPT];
    logits_of(m, false, reference);
    tp_error error;
    tp_decoder *d = tp_decoder_new(m, q, fused, &error);
    tp_gpt_cache *cache = tp_gpt_cache_new(m, PROMPT);
    for (int t = 0; t < PROMPT; t++)
        memcpy(loops + 16 * t, tp_decoder_step(d, cache, prompt[t]),
               sizeof(float) * 16);
    tp_gpt_cache_free(cache);
    tp_decoder_free(d);
    return largest_difference(reference, loops, 16 * PROMPT, range);
}
/* <<t-compute: a step in loops>> */
static void loop_steps(void)
{
    tp_gpt *m = small_gpt();
    for (int scheme = 0; scheme <= TP_QUANT_INT4; scheme++) {
        tp_error error;
        tp_quant_gpt *q = scheme == 0 ? NULL
                                      : tp_quant_gpt_new(m, scheme, &error);
        for (int fused = 0; fused <= 1; fused++) {
            double range, apart = loop_step_difference(m, q, fused, &range);
            ok(apart < 1e-4 * range, "%s step in loops, %s: the logits of "
               "tp_gpt_step within %.1e of their range", scheme == 0 ? "fp32"
               : tp_quant_name(scheme), fused ? "fused" : "unfused",
               apart / range);
        }
        tp_quant_gpt_free(q);
    }
    tp_error error;
    tp_gpt *rope = tp_gpt_new((tp_gpt_config){16, 16, 1, 2, 64,
                                              TP_POSITIONS_ROPE});
    ok(tp_decoder_new(rope, NULL, true, &error) == NULL
           && strstr(error.message, "learned positions") != NULL,
       "the decoder in loops refuses rotary positions: %s", error.message);
    tp_gpt_free(rope);
    tp_gpt_free(m);
}

/* <<t-compute: files>> */
static const char *quant_path = "/tmp/tp-t-compute.safetensors";

static void save_and_load(tp_gpt *m, tp_quant_scheme scheme)
{
    tp_error error;
    float before[16 * PROMPT], after[16 * PROMPT];
    tp_quant_gpt *q = tp_quant_gpt_new(m, scheme, &error);
    logits_of(m, false, before);
    int saved = tp_quant_gpt_save(q, quant_path, &error);
    tp_quant_gpt_free(q);
    tp_quant_gpt *loaded = saved == 0 ? tp_quant_gpt_load(quant_path, &error)
                                      : NULL;
    if (loaded != NULL)
        logits_of(loaded->model, false, after);
    ok(loaded != NULL && memcmp(before, after, sizeof before) == 0,
       "%s: a saved quantised model loads back to the same logits",
       tp_quant_name(scheme));
    tp_quant_gpt_free(loaded);
}
/* <<t-compute: files>> */
static void refused(tp_gpt *m, const char *scheme, const char *group,
                    const char *expected)
{
    tp_metadata meta = {0};
    char width[16];
    snprintf(width, sizeof width, "%d", m->config.n_embd);
    tp_metadata_set(&meta, "vocab_size", "16");
    tp_metadata_set(&meta, "n_positions", "16");
    tp_metadata_set(&meta, "n_layer", "2");
    tp_metadata_set(&meta, "n_head", "2");
    tp_metadata_set(&meta, "n_embd", width);
    tp_metadata_set(&meta, "quantisation", scheme);
    tp_metadata_set(&meta, "group_size", group);
    tp_error error;
    tp_safetensors_save(quant_path, m->params.items, m->params.count, &meta,
                        &error);
    tp_quant_gpt *q = tp_quant_gpt_load(quant_path, &error);
    ok(q == NULL && strstr(error.message, expected) != NULL
           && strchr(error.message, '\n') == NULL,
       "the loader refuses: %s", error.message);
    tp_quant_gpt_free(q);
}

static void files(void)
{
    tp_gpt *m = small_gpt();
    save_and_load(m, TP_QUANT_INT8);
    save_and_load(m, TP_QUANT_INT4);
    refused(m, "int4", "32", ".scale\" is missing");
    refused(m, "int3", "32", "unknown quantisation \"int3\"");
    refused(m, "int4", "48", "do not divide");
    unlink(quant_path);
    tp_gpt_free(m);
}

int main(void)
{
    rng = tp_rng_seeded(340, 1);
    half_step(TP_QUANT_INT8);
    half_step(TP_QUANT_INT4);
    exact_round_trip();
    inputs_half_step();
    products(TP_QUANT_INT8);
    products(TP_QUANT_INT4);
    counting();
    frontier();
    quantised_gpt();
    loop_steps();
    files();
    return done_testing();
}
