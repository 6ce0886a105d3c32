/* Generated from book/340-compute.nw; edit the book, not this file. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "tp/compute.h"
#include "tp/parallel.h"

/* <<compute: counting the operations>> */
tp_flops tp_gpt_flops(const tp_gpt *m, int context)
{
    double n = 0;
    for (int i = 0; i < m->params.count; i++) {
        const tp_tensor *t = m->params.items[i].tensor;
        if (t != m->wte && t != m->wpe)
            n += (double)tp_tensor_count(t);
    }
    const tp_gpt_config *c = &m->config;
    double attention = 2.0 * c->n_layer * context * c->n_embd;
    double head = 2.0 * c->n_embd * c->vocab_size;
    tp_flops f = {n, 2 * n + attention + head, 0};
    f.train = 3 * f.forward;
    return f;
}
/* <<compute: counting the operations>> */
typedef struct front_point {
    double cost, loss;
    int index;
} front_point;

static int by_cost_then_loss(const void *a, const void *b)
{
    const front_point *p = a, *q = b;
    if (p->cost != q->cost)
        return p->cost < q->cost ? -1 : 1;
    return (p->loss > q->loss) - (p->loss < q->loss);
}
/* <<compute: counting the operations>> */
void tp_pareto_front(const double *cost, const double *loss, int n,
                     bool *front)
{
    tp_check(n >= 0, "tp_pareto_front: %d points", n);
    front_point *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    tp_check(p != NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        tp_check(isfinite(cost[i]) && isfinite(loss[i]),
                 "tp_pareto_front: point %d is not finite", i);
        p[i] = (front_point){cost[i], loss[i], i};
    }
    qsort(p, (size_t)n, sizeof *p, by_cost_then_loss);
    /* <<pareto front: walk from the cheapest>> */
    double best = INFINITY;
    for (int i = 0, j; i < n; i = j) {
        for (j = i; j < n && p[j].cost == p[i].cost; j++)
            front[p[j].index] = p[j].loss == p[i].loss && p[j].loss < best;
        best = fmin(best, p[i].loss);
    }
    free(p);
}

/* <<compute: quantising>> */
static int levels(tp_quant_scheme scheme)
{
    return scheme == TP_QUANT_INT8 ? 127 : 7;
}

static float group_scale(const float *w, int n, int top)
{
    float largest = 0;
    for (int i = 0; i < n; i++)
        largest = fmaxf(largest, fabsf(w[i]));
    return largest / (float)top;
}

static int level(float w, float inverse, int top)
{
    float r = roundf(w * inverse);
    return (int)fmaxf(-(float)top, fminf((float)top, r));
}
/* <<compute: quantising>> */
static void store_level(tp_qmatrix *m, long at, int q)
{
    if (m->scheme == TP_QUANT_INT8) {
        m->q[at] = (unsigned char)(signed char)q;
        return;
    }
    long block = at / TP_QUANT_BLOCK, j = at % TP_QUANT_BLOCK;
    unsigned char *byte = &m->q[block * TP_QUANT_BLOCK / 2 + j % 16];
    unsigned nibble = (unsigned)(q + 8);
    *byte = j < 16 ? (unsigned char)((*byte & 0xF0u) | nibble)
                   : (unsigned char)((*byte & 0x0Fu) | nibble << 4);
}

static int load_level(const tp_qmatrix *m, long at)
{
    if (m->scheme == TP_QUANT_INT8)
        return (signed char)m->q[at];
    long block = at / TP_QUANT_BLOCK, j = at % TP_QUANT_BLOCK;
    unsigned byte = m->q[block * TP_QUANT_BLOCK / 2 + j % 16];
    return (int)(j < 16 ? byte & 15u : byte >> 4) - 8;
}
/* <<compute: quantising>> */
static void quantise_row(tp_qmatrix *m, int row, const float *w)
{
    int top = levels(m->scheme), groups = m->cols / m->group;
    for (int g = 0; g < groups; g++) {
        const float *wg = w + (long)g * m->group;
        float s = group_scale(wg, m->group, top);
        float inverse = s > 0 ? 1.0f / s : 0;
        m->scale[(long)row * groups + g] = s;
        for (int i = 0; i < m->group; i++)
            store_level(m, (long)row * m->cols + (long)g * m->group + i,
                        level(wg[i], inverse, top));
    }
}
/* <<compute: quantising>> */
static tp_qmatrix *qmatrix_empty(int rows, int cols, tp_quant_scheme scheme,
                                 int group)
{
    tp_check(rows >= 1 && cols >= 1 && cols % TP_QUANT_BLOCK == 0,
             "tp_qmatrix: %d x %d: the inputs must be a multiple of %d",
             rows, cols, TP_QUANT_BLOCK);
    tp_check(group % TP_QUANT_BLOCK == 0 && group > 0 && cols % group == 0,
             "tp_qmatrix: groups of %d in rows of %d", group, cols);
    tp_qmatrix *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    *m = (tp_qmatrix){scheme, rows, cols, group, NULL, NULL};
    size_t bytes = (size_t)rows * (size_t)cols;
    m->q = calloc(scheme == TP_QUANT_INT8 ? bytes : bytes / 2, 1);
    m->scale = calloc((size_t)rows * (size_t)(cols / group), sizeof(float));
    tp_check(m->q != NULL && m->scale != NULL, "out of memory");
    return m;
}

tp_qmatrix *tp_qmatrix_new(const float *w, int rows, int cols,
                           tp_quant_scheme scheme)
{
    tp_qmatrix *m = qmatrix_empty(rows, cols, scheme,
                                  scheme == TP_QUANT_INT8 ? cols
                                                          : TP_QUANT_BLOCK);
    for (int o = 0; o < rows; o++)
        quantise_row(m, o, w + (long)o * cols);
    return m;
}
/* <<compute: quantising>> */
tp_qmatrix *tp_qmatrix_of_linear(const tp_tensor *w, tp_quant_scheme scheme)
{
    tp_check(w->shape.ndim == 2 && tp_tensor_is_contiguous(w),
             "tp_qmatrix_of_linear: a contiguous [in, out] weight, not %s",
             tp_shape_str(w->shape).text);
    int in = w->shape.dim[0], out = w->shape.dim[1];
    float *rows = malloc((size_t)in * (size_t)out * sizeof *rows);
    tp_check(rows != NULL, "out of memory");
    for (int i = 0; i < in; i++)
        for (int o = 0; o < out; o++)
            rows[(long)o * in + i] = w->data[(long)i * out + o];
    tp_qmatrix *m = tp_qmatrix_new(rows, out, in, scheme);
    free(rows);
    return m;
}
/* <<compute: quantising>> */
void tp_qmatrix_dequantise(const tp_qmatrix *m, float *w)
{
    int groups = m->cols / m->group;
    for (int o = 0; o < m->rows; o++)
        for (int i = 0; i < m->cols; i++) {
            long at = (long)o * m->cols + i;
            w[at] = m->scale[(long)o * groups + i / m->group]
                    * (float)load_level(m, at);
        }
}

size_t tp_qmatrix_bytes(const tp_qmatrix *m)
{
    size_t n = (size_t)m->rows * (size_t)m->cols;
    return (m->scheme == TP_QUANT_INT8 ? n : n / 2)
           + (size_t)m->rows * (size_t)(m->cols / m->group) * sizeof(float);
}

void tp_qmatrix_free(tp_qmatrix *m)
{
    if (m != NULL) {
        free(m->q);
        free(m->scale);
        free(m);
    }
}
/* <<compute: quantising>> */
const char *tp_quant_name(tp_quant_scheme scheme)
{
    return scheme == TP_QUANT_INT8 ? "int8" : scheme == TP_QUANT_INT4 ? "int4"
                                                                    : "fp32";
}

int tp_quant_parse(const char *name, tp_quant_scheme *scheme, tp_error *error)
{
    if (strcmp(name, "int8") == 0 || strcmp(name, "int4") == 0) {
        *scheme = name[3] == '8' ? TP_QUANT_INT8 : TP_QUANT_INT4;
        return 0;
    }
    return tp_error_set(error, "unknown quantisation \"%s\": int8 or int4",
                        name);
}

/* <<compute: the portable kernel>> */
void tp_quant_activations(const float *x, int cols, signed char *xq, float *xs)
{
    tp_check(cols % TP_QUANT_BLOCK == 0,
             "tp_quant_activations: %d inputs, not a multiple of %d", cols,
             TP_QUANT_BLOCK);
    for (int b = 0; b < cols / TP_QUANT_BLOCK; b++) {
        const float *block = x + b * TP_QUANT_BLOCK;
        float t = group_scale(block, TP_QUANT_BLOCK, 127);
        float inverse = t > 0 ? 1.0f / t : 0;
        xs[b] = t;
        for (int j = 0; j < TP_QUANT_BLOCK; j++)
            xq[b * TP_QUANT_BLOCK + j] = (signed char)level(block[j], inverse,
                                                            127);
    }
}
/* <<compute: the portable kernel>> */
static const unsigned char *row_bytes(const tp_qmatrix *m, int o)
{
    long at = (long)o * m->cols;
    return m->q + (m->scheme == TP_QUANT_INT8 ? at : at / 2);
}

static const float *row_scales(const tp_qmatrix *m, int o)
{
    return m->scale + (long)o * (m->cols / m->group);
}

typedef float row_product(const tp_qmatrix *m, int o, const signed char *xq,
                          const float *xs, const int *xc);
/* <<compute: the portable kernel>> */
static int block_sum(const tp_qmatrix *m, const unsigned char *row, int b,
                     const signed char *xq)
{
    const signed char *x = xq + b * TP_QUANT_BLOCK;
    int sum = 0;
    if (m->scheme == TP_QUANT_INT8) {
        const signed char *w = (const signed char *)row + b * TP_QUANT_BLOCK;
        for (int j = 0; j < TP_QUANT_BLOCK; j++)
            sum += w[j] * x[j];
        return sum;
    }
    const unsigned char *w = row + b * TP_QUANT_BLOCK / 2;
    for (int j = 0; j < TP_QUANT_BLOCK / 2; j++)
        sum += ((w[j] & 15) - 8) * x[j] + ((w[j] >> 4) - 8) * x[j + 16];
    return sum;
}

static float product_portable(const tp_qmatrix *m, int o,
                              const signed char *xq, const float *xs,
                              const int *xc)
{
    (void)xc;  /* the vector paths' shortcut; this path unpacks */
    const unsigned char *row = row_bytes(m, o);
    const float *scales = row_scales(m, o);
    int per_group = m->group / TP_QUANT_BLOCK;
    float sum = 0;
    for (int g = 0, b = 0; g < m->cols / m->group; g++)
        for (int end = b + per_group; b < end; b++)
            sum += xs[b] * scales[g] * (float)block_sum(m, row, b, xq);
    return sum;
}

/* <<compute: the vector kernels>> */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TP_QUANT_X86 1
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define VNNI __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl," \
                                   "avx512vnni")))

/* <<vector kernels: a block of weights in a register>> */
AVX2 static inline __m256i int8_block(const unsigned char *row, int b)
{
    return _mm256_loadu_si256((const __m256i *)(row + b * TP_QUANT_BLOCK));
}

/* q + 8: the low nibbles (inputs 0..15) in the low half, the high
   nibbles (inputs 16..31) in the high half */
AVX2 static inline __m256i int4_block(const unsigned char *row, int b)
{
    __m256i packed = _mm256_broadcastsi128_si256(_mm_loadu_si128(
        (const __m128i *)(row + b * TP_QUANT_BLOCK / 2)));
    __m256i shifted = _mm256_srlv_epi64(packed, _mm256_set_epi64x(4, 4, 0, 0));
    return _mm256_and_si256(shifted, _mm256_set1_epi8(15));
}

AVX2 static inline __m256i block_inputs(const signed char *xq, int b)
{
    return _mm256_loadu_si256((const __m256i *)(xq + b * TP_QUANT_BLOCK));
}

AVX2 static inline float lanes_sum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
                          _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* <<vector kernels: the AVX2 product>> */
typedef __m256i block_sums(const unsigned char *row, int b,
                           const signed char *xq, const int *xc);

AVX2 static inline __attribute__((always_inline)) float
walk_row(const tp_qmatrix *m, int o, const signed char *xq, const float *xs,
         const int *xc, block_sums *sums)
{
    const unsigned char *row = row_bytes(m, o);
    const float *scales = row_scales(m, o);
    int per_group = m->group / TP_QUANT_BLOCK;
    int blocks = m->cols / TP_QUANT_BLOCK;
    __m256 sum = _mm256_setzero_ps(), other = _mm256_setzero_ps();
    for (int b = 0, g = 0, left = per_group; b < blocks; b++) {
        __m256 next = _mm256_fmadd_ps(
            _mm256_set1_ps(xs[b] * scales[g]),
            _mm256_cvtepi32_ps(sums(row, b, xq, xc)), sum);
        sum = other;  /* two chains of additions, in turn */
        other = next;
        if (--left == 0)
            g++, left = per_group;
    }
    return lanes_sum(_mm256_add_ps(sum, other));
}
/* <<vector kernels: the AVX2 product>> */
AVX2 static inline __m256i int8_sums_avx2(const unsigned char *row, int b,
                                          const signed char *xq,
                                          const int *xc)
{
    (void)xc;
    __m256i w = int8_block(row, b), x = block_inputs(xq, b);
    __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w),
                                         _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

AVX2 static inline __m256i int4_sums_avx2(const unsigned char *row, int b,
                                          const signed char *xq,
                                          const int *xc)
{
    __m256i pairs = _mm256_maddubs_epi16(int4_block(row, b),
                                         block_inputs(xq, b));
    __m256i lanes = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
    return _mm256_add_epi32(lanes, _mm256_loadu_si256((const __m256i *)(
                                       xc + b * TP_QUANT_BLOCK / 4)));
}

AVX2 static float product_avx2(const tp_qmatrix *m, int o,
                               const signed char *xq, const float *xs,
                               const int *xc)
{
    return m->scheme == TP_QUANT_INT8
               ? walk_row(m, o, xq, xs, xc, int8_sums_avx2)
               : walk_row(m, o, xq, xs, xc, int4_sums_avx2);
}

/* <<vector kernels: the VNNI product>> */
VNNI static inline __m256i int8_sums_vnni(const unsigned char *row, int b,
                                          const signed char *xq,
                                          const int *xc)
{
    (void)xc;
    __m256i w = int8_block(row, b);
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w),
                               _mm256_sign_epi8(block_inputs(xq, b), w));
}

VNNI static inline __m256i int4_sums_vnni(const unsigned char *row, int b,
                                          const signed char *xq,
                                          const int *xc)
{
    __m256i corrections = _mm256_loadu_si256((const __m256i *)(
        xc + b * TP_QUANT_BLOCK / 4));
    return _mm256_dpbusd_epi32(corrections, int4_block(row, b),
                               block_inputs(xq, b));
}

VNNI static float product_vnni(const tp_qmatrix *m, int o,
                               const signed char *xq, const float *xs,
                               const int *xc)
{
    return m->scheme == TP_QUANT_INT8
               ? walk_row(m, o, xq, xs, xc, int8_sums_vnni)
               : walk_row(m, o, xq, xs, xc, int4_sums_vnni);
}
#endif

/* <<compute: the product>> */
bool tp_quant_path_available(tp_quant_path path)
{
    switch (path) {
    case TP_QUANT_BEST:
    case TP_QUANT_PORTABLE: return true;
#ifdef TP_QUANT_X86
    case TP_QUANT_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case TP_QUANT_VNNI:
        return tp_quant_path_available(TP_QUANT_AVX2)
               && __builtin_cpu_supports("avx512vnni")
               && __builtin_cpu_supports("avx512vl")
               && __builtin_cpu_supports("avx512bw");
#endif
    default: return false;
    }
}

const char *tp_quant_path_name(tp_quant_path path)
{
    static const char *const names[] = {"best", "portable", "avx2", "vnni"};
    return path >= TP_QUANT_BEST && path <= TP_QUANT_VNNI ? names[path] : "?";
}
/* <<compute: the product>> */
tp_quant_path tp_quant_path_resolve(tp_quant_path path)
{
    if (path != TP_QUANT_BEST)
        return path;
    return tp_quant_path_available(TP_QUANT_VNNI)   ? TP_QUANT_VNNI
           : tp_quant_path_available(TP_QUANT_AVX2) ? TP_QUANT_AVX2
                                                    : TP_QUANT_PORTABLE;
}

static row_product *product_on(tp_quant_path path)
{
    path = tp_quant_path_resolve(path);
    tp_check(tp_quant_path_available(path),
             "tp_quant_matmul: this processor has no %s path",
             tp_quant_path_name(path));
#ifdef TP_QUANT_X86
    if (path == TP_QUANT_VNNI)
        return product_vnni;
    if (path == TP_QUANT_AVX2)
        return product_avx2;
#endif
    return product_portable;
}
/* <<compute: the product>> */
/* <<compute: an output's last steps>> */
static inline float gelu_of(float v)
{
    const float k = 0.79788456f;  /* sqrt(2 / pi) */
    return 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
}

static inline float finish_output(float sum, const float *bias, int o,
                                  bool gelu)
{
    float v = bias != NULL ? sum + bias[o] : sum;
    return gelu ? gelu_of(v) : v;
}

static void input_corrections(const signed char *xq, int cols, int *xc)
{
    for (int k = 0; k < cols / 4; k++)
        xc[k] = -8 * (xq[4 * k] + xq[4 * k + 1] + xq[4 * k + 2]
                      + xq[4 * k + 3]);
}

static void quant_product(const float *x, int n, const tp_qmatrix *w,
                          const float *bias, bool gelu, float *y,
                          tp_quant_path path)
{
    tp_check(n >= 1, "tp_quant_matmul: %d input rows", n);
    row_product *product = product_on(path);
    int cols = w->cols, blocks = cols / TP_QUANT_BLOCK;
    signed char *xq = malloc((size_t)n * (size_t)cols);
    float *xs = malloc((size_t)n * (size_t)blocks * sizeof *xs);
    int *xc = malloc((size_t)n * (size_t)(cols / 4) * sizeof *xc);
    tp_check(xq != NULL && xs != NULL && xc != NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        tp_quant_activations(x + (long)i * cols, cols, xq + (long)i * cols,
                             xs + (long)i * blocks);
        input_corrections(xq + (long)i * cols, cols, xc + (long)i * cols / 4);
    }
    TP_PARALLEL_FOR((long)n * w->rows * cols)
    for (int o = 0; o < w->rows; o++)
        for (int i = 0; i < n; i++)
            y[(long)i * w->rows + o] = finish_output(
                product(w, o, xq + (long)i * cols, xs + (long)i * blocks,
                        xc + (long)i * cols / 4),
                bias, o, gelu);
    free(xq);
    free(xs);
    free(xc);
}

void tp_quant_matmul(const float *x, int n, const tp_qmatrix *w, float *y,
                     tp_quant_path path)
{
    quant_product(x, n, w, NULL, false, y, path);
}

/* <<compute: the quantised GPT>> */
static int quantisable(const tp_gpt *m, tp_error *error)
{
    if (m->modern.swiglu || m->modern.no_mlp || m->mlp != NULL)
        return tp_error_set(error, "only GPT-2's blocks can be quantised, "
                            "not SwiGLU or experts");
    if (m->config.n_embd % TP_QUANT_BLOCK != 0)
        return tp_error_set(error, "the width %d is not a multiple of %d",
                            m->config.n_embd, TP_QUANT_BLOCK);
    return 0;
}

static void block_matrices(const tp_gpt *m, int layer, tp_tensor *out[4])
{
    const tp_block *b = &m->blocks[layer];
    out[0] = b->c_attn_w, out[1] = b->c_proj_w;
    out[2] = b->c_fc_w, out[3] = b->mlp_proj_w;
}
/* <<compute: the quantised GPT>> */
static tp_tensor *quantised_linear(tp_graph *g, tp_tensor *x, tp_tensor *w,
                                   tp_tensor *b, void *context);

static tp_quant_gpt *quant_gpt_empty(tp_gpt *m, tp_quant_scheme scheme)
{
    tp_quant_gpt *q = calloc(1, sizeof *q);
    tp_check(q != NULL, "out of memory");
    q->model = m, q->scheme = scheme, q->count = 4 * m->config.n_layer;
    q->weights = calloc((size_t)q->count, sizeof *q->weights);
    q->matrices = calloc((size_t)q->count, sizeof *q->matrices);
    tp_check(q->weights != NULL && q->matrices != NULL, "out of memory");
    for (int l = 0; l < m->config.n_layer; l++)
        block_matrices(m, l, q->weights + 4 * l);
    tp_quant_gpt_attach(q);
    return q;
}

void tp_quant_gpt_attach(tp_quant_gpt *q)
{
    q->model->linear = quantised_linear, q->model->linear_context = q;
}

tp_quant_gpt *tp_quant_gpt_new(tp_gpt *m, tp_quant_scheme scheme,
                               tp_error *error)
{
    if (quantisable(m, error) != 0)
        return NULL;
    tp_quant_gpt *q = quant_gpt_empty(m, scheme);
    for (int i = 0; i < q->count; i++)
        q->matrices[i] = tp_qmatrix_of_linear(q->weights[i], scheme);
    return q;
}
/* <<compute: the quantised GPT>> */
void tp_quant_gpt_free(tp_quant_gpt *q)
{
    if (q == NULL)
        return;
    for (int i = 0; i < q->count; i++)
        tp_qmatrix_free(q->matrices[i]);
    free(q->matrices);
    free(q->weights);
    q->model->linear = NULL, q->model->linear_context = NULL;
    if (q->owns_model)
        tp_gpt_free(q->model);
    free(q);
}

size_t tp_quant_gpt_bytes(const tp_quant_gpt *q)
{
    const tp_gpt *m = q->model;
    size_t bytes = 0;
    for (int i = 0; i < m->params.count; i++)
        bytes += (size_t)tp_tensor_count(m->params.items[i].tensor);
    bytes -= (size_t)tp_tensor_count(m->wpe) - (size_t)m->config.n_embd;
    for (int i = 0; i < q->count; i++)
        bytes -= (size_t)tp_tensor_count(q->weights[i]);
    bytes *= sizeof(float);
    for (int i = 0; i < q->count; i++)
        bytes += tp_qmatrix_bytes(q->matrices[i]);
    return bytes;
}
/* <<compute: the quantised GPT>> */
static tp_tensor *quantised_linear(tp_graph *g, tp_tensor *x, tp_tensor *w,
                                   tp_tensor *b, void *context)
{
    const tp_quant_gpt *q = context;
    const tp_qmatrix *mat = NULL;
    for (int i = 0; i < q->count && mat == NULL; i++)
        if (q->weights[i] == w)
            mat = q->matrices[i];
    if (mat == NULL)
        return tp_linear(g, x, w, b);
    tp_check(tp_tensor_is_contiguous(x)
                 && x->shape.dim[x->shape.ndim - 1] == mat->cols,
             "a quantised linear layer of %d inputs applied to %s",
             mat->cols, tp_shape_str(x->shape).text);
    tp_shape shape = x->shape;
    shape.dim[shape.ndim - 1] = mat->rows;
    tp_tensor *y = tp_tensor_new(g->arena, shape, TP_NO_GRAD);
    long n = tp_tensor_count(x) / mat->cols;
    tp_quant_matmul(x->data, (int)n, mat, y->data, q->path);
    for (long i = 0; b != NULL && i < n; i++)
        for (int o = 0; o < mat->rows; o++)
            y->data[i * mat->rows + o] += b->data[o];
    return y;
}

/* <<compute: a decoding step in loops, fused or not>> */
static int loop_decodable(const tp_gpt *m, const tp_quant_gpt *quant,
                          tp_error *error)
{
    if (m->config.positions != TP_POSITIONS_LEARNED || m->post_ln
        || m->depth != NULL || m->modern.rms_norm || m->modern.swiglu
        || m->modern.no_mlp || m->mlp != NULL || m->adapters != NULL
        || m->modern.kv_heads != m->config.n_head)
        return tp_error_set(error, "the decoder in loops runs GPT-2's pre-LN "
                            "block with learned positions only");
    if (quant != NULL && quant->model != m)
        return tp_error_set(error, "the quantised matrices are another "
                            "model's");
    return 0;
}

tp_decoder *tp_decoder_new(tp_gpt *m, const tp_quant_gpt *quant, bool fused,
                           tp_error *error)
{
    if (loop_decodable(m, quant, error) != 0)
        return NULL;
    long c = m->config.n_embd, h = m->config.n_head;
    long floats = c + c + 3 * c + c + 4 * c + c
                  + h * m->config.n_positions + m->config.vocab_size;
    tp_decoder *d = calloc(1, sizeof *d);
    float *all = calloc((size_t)floats, sizeof *all);
    tp_check(d != NULL && all != NULL, "out of memory");
    d->model = m, d->quant = quant, d->fused = fused;
    d->x = all, d->normal = d->x + c, d->qkv = d->normal + c;
    d->heads = d->qkv + 3 * c, d->hidden = d->heads + c;
    d->out = d->hidden + 4 * c, d->scores = d->out + c;
    d->logits = d->scores + h * m->config.n_positions;
    return d;
}

void tp_decoder_free(tp_decoder *d)
{
    if (d != NULL)
        free(d->x);
    free(d);
}
/* <<compute: a decoding step in loops, fused or not>> */
enum { OUTPUTS_AT_ONCE = 256 };

static void product_fp32(const float *x, const tp_tensor *w,
                         const float *bias, bool gelu, float *y)
{
    int in = w->shape.dim[0], out = w->shape.dim[1];
    int chunks = (out + OUTPUTS_AT_ONCE - 1) / OUTPUTS_AT_ONCE;
    TP_PARALLEL_FOR((long)in * out)
    for (int k = 0; k < chunks; k++) {
        int first = k * OUTPUTS_AT_ONCE;
        int n = out - first < OUTPUTS_AT_ONCE ? out - first : OUTPUTS_AT_ONCE;
        float sum[OUTPUTS_AT_ONCE] = {0};
        for (int i = 0; i < in; i++) {
            const float *row = w->data + (long)i * out + first;
            float xi = x[i];
            TP_SIMD
            for (int j = 0; j < n; j++)
                sum[j] += xi * row[j];
        }
        for (int j = 0; j < n; j++)
            y[first + j] = finish_output(sum[j], bias, first + j, gelu);
    }
}
/* <<compute: a decoding step in loops, fused or not>> */
static void linear_into(const tp_decoder *d, const float *x, int layer, int k,
                        bool gelu, float *y)
{
    tp_tensor *w[4];
    block_matrices(d->model, layer, w);
    const tp_block *b = &d->model->blocks[layer];
    const tp_tensor *biases[4] = {b->c_attn_b, b->c_proj_b, b->c_fc_b,
                                  b->mlp_proj_b};
    const float *bias = d->fused ? biases[k]->data : NULL;
    bool fused_gelu = d->fused && gelu;
    if (d->quant != NULL)
        quant_product(x, 1, d->quant->matrices[4 * layer + k], bias,
                      fused_gelu, y, d->quant->path);
    else
        product_fp32(x, w[k], bias, fused_gelu, y);
    if (d->fused)
        return;
    int out = w[k]->shape.dim[1];
    for (int o = 0; o < out; o++)
        y[o] += biases[k]->data[o];
    for (int o = 0; gelu && o < out; o++)
        y[o] = gelu_of(y[o]);
}
/* <<compute: a decoding step in loops, fused or not>> */
static void add_and_norm(tp_decoder *d, const float *f, const tp_tensor *gain,
                         const tp_tensor *bias)
{
    int c = d->model->config.n_embd;
    float *x = d->x;
    double sum = 0, squares = 0, mean, variance;
    if (d->fused) {
        for (int j = 0; j < c; j++) {
            x[j] += f != NULL ? f[j] : 0;
            sum += x[j], squares += (double)x[j] * x[j];
        }
        mean = sum / c, variance = squares / c - mean * mean;
    } else {
        for (int j = 0; f != NULL && j < c; j++)
            x[j] += f[j];
        for (int j = 0; j < c; j++)
            sum += x[j];
        mean = sum / c;
        for (int j = 0; j < c; j++)
            squares += (x[j] - mean) * (x[j] - mean);
        variance = squares / c;
    }
    double r = 1.0 / sqrt(variance + 1e-5);
    for (int j = 0; j < c; j++)
        d->normal[j] = (float)((x[j] - mean) * r) * gain->data[j]
                       + bias->data[j];
}
/* <<compute: a decoding step in loops, fused or not>> */
static void attend_heads(tp_decoder *d, tp_gpt_cache *cache, int layer)
{
    int c = d->model->config.n_embd, h = d->model->config.n_head;
    int hd = c / h, t = cache->length;
    const tp_tensor *keys = cache->k[layer], *values = cache->v[layer];
    float scale = 1.0f / sqrtf((float)hd);
    TP_PARALLEL_FOR((long)h * (t + 1) * hd)
    for (int head = 0; head < h; head++) {
        float *k = keys->data + head * keys->stride[1];
        float *v = values->data + head * values->stride[1];
        const float *q = d->qkv + head * hd;
        memcpy(k + t * keys->stride[2], d->qkv + c + head * hd,
               sizeof(float) * (size_t)hd);
        memcpy(v + t * values->stride[2], d->qkv + 2 * c + head * hd,
               sizeof(float) * (size_t)hd);
        float *s = d->scores + (long)head * d->model->config.n_positions;
        float most = -INFINITY, total = 0;
        for (int p = 0; p <= t; p++) {
            float dot = 0;
            for (int j = 0; j < hd; j++)
                dot += q[j] * k[p * keys->stride[2] + j];
            s[p] = dot * scale;
            most = fmaxf(most, s[p]);
        }
        for (int p = 0; p <= t; p++)
            total += s[p] = expf(s[p] - most);
        float *o = d->heads + head * hd;
        memset(o, 0, sizeof(float) * (size_t)hd);
        for (int p = 0; p <= t; p++)
            for (int j = 0; j < hd; j++)
                o[j] += s[p] / total * v[p * values->stride[2] + j];
    }
}
/* <<compute: a decoding step in loops, fused or not>> */
const float *tp_decoder_step(tp_decoder *d, tp_gpt_cache *cache, int token)
{
    const tp_gpt *m = d->model;
    int c = m->config.n_embd, layers = m->config.n_layer;
    tp_check(cache->length < cache->capacity,
             "the KV cache is full (%d positions)", cache->capacity);
    tp_check(token >= 0 && token < m->config.vocab_size,
             "tp_decoder_step: token %d of a vocabulary of %d", token,
             m->config.vocab_size);
    for (int j = 0; j < c; j++)
        d->x[j] = m->wte->data[(long)token * c + j]
                  + m->wpe->data[(long)cache->length * c + j];
    add_and_norm(d, NULL, m->blocks[0].ln_1_w, m->blocks[0].ln_1_b);
    for (int l = 0; l < layers; l++) {
        const tp_block *b = &m->blocks[l];
        const tp_block *next = l + 1 < layers ? &m->blocks[l + 1] : NULL;
        linear_into(d, d->normal, l, 0, false, d->qkv);
        attend_heads(d, cache, l);
        linear_into(d, d->heads, l, 1, false, d->out);
        add_and_norm(d, d->out, b->ln_2_w, b->ln_2_b);
        linear_into(d, d->normal, l, 2, true, d->hidden);
        linear_into(d, d->hidden, l, 3, false, d->out);
        add_and_norm(d, d->out, next != NULL ? next->ln_1_w : m->ln_f_w,
                     next != NULL ? next->ln_1_b : m->ln_f_b);
    }
    cache->length++;
    /* <<decoder step: the tied head>> */
    TP_PARALLEL_FOR((long)m->config.vocab_size * c)
    for (int v = 0; v < m->config.vocab_size; v++) {
        const float *row = m->wte->data + (long)v * c;
        float dot = 0;
        for (int j = 0; j < c; j++)
            dot += row[j] * d->normal[j];
        d->logits[v] = dot;
    }
    return d->logits;
}

/* <<compute: quantised checkpoints>> */
typedef struct piece {
    char name[80];
    const char *dtype;
    int shape[2], ndim;
    const void *bytes;
    size_t size;
} piece;

static int matrix_of(const tp_quant_gpt *q, const tp_tensor *t)
{
    for (int i = 0; i < q->count; i++)
        if (q->weights[i] == t)
            return i;
    return -1;
}
/* <<compute: quantised checkpoints>> */
static int file_pieces(const tp_quant_gpt *q, piece *out)
{
    const tp_params *p = &q->model->params;
    int n = 0;
    for (int i = 0; i < p->count; i++) {
        const tp_tensor *t = p->items[i].tensor;
        int k = matrix_of(q, t);
        if (k < 0) {
            out[n] = (piece){.dtype = "F32", .ndim = t->shape.ndim,
                             .bytes = t->data,
                             .size = (size_t)tp_tensor_count(t) * 4};
            for (int d = 0; d < t->shape.ndim && d < 2; d++)
                out[n].shape[d] = t->shape.dim[d];
            snprintf(out[n++].name, sizeof out->name, "%s", p->items[i].name);
            continue;
        }
        /* <<quantised checkpoints: the integers and the scales of matrix k>> */
        const tp_qmatrix *m = q->matrices[k];
        bool four = m->scheme == TP_QUANT_INT4;
        int groups = m->cols / m->group;
        out[n] = (piece){.dtype = four ? "U8" : "I8", .ndim = 2,
                         .shape = {m->rows, four ? m->cols / 2 : m->cols},
                         .bytes = m->q,
                         .size = (size_t)m->rows * (size_t)(four ? m->cols / 2
                                                                  : m->cols)};
        snprintf(out[n++].name, sizeof out->name, "%s.q", p->items[i].name);
        out[n] = (piece){.dtype = "F32", .ndim = 2, .shape = {m->rows, groups},
                         .bytes = m->scale,
                         .size = (size_t)m->rows * (size_t)groups * sizeof(float)};
        snprintf(out[n++].name, sizeof out->name, "%s.scale", p->items[i].name);
    }
    return n;
}
/* <<compute: quantised checkpoints>> */
static char *pieces_header(const piece *pieces, int n, const tp_quant_gpt *q)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    /* <<quantised checkpoints: the metadata>> */
    const tp_gpt_config *c = &q->model->config;
    const char *keys[5] = {"vocab_size", "n_positions", "n_layer", "n_head",
                           "n_embd"};
    int values[5] = {c->vocab_size, c->n_positions, c->n_layer, c->n_head,
                     c->n_embd};
    char number[32];
    for (int i = 0; i < 5; i++) {
        snprintf(number, sizeof number, "%d", values[i]);
        cJSON_AddStringToObject(meta, keys[i], number);
    }
    cJSON_AddStringToObject(meta, "quantisation", tp_quant_name(q->scheme));
    snprintf(number, sizeof number, "%d", q->matrices[0]->group);
    cJSON_AddStringToObject(meta, "group_size",
                            q->scheme == TP_QUANT_INT8 ? "row" : number);
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_AddObjectToObject(root, pieces[i].name);
        cJSON_AddStringToObject(e, "dtype", pieces[i].dtype);
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < pieces[i].ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber(pieces[i].shape[d]));
        cJSON *offsets = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
        offset += pieces[i].size;
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}
/* <<compute: quantised checkpoints>> */
typedef struct quant_file {
    const char *header;
    const piece *pieces;
    int n;
} quant_file;

static int write_quant_file(FILE *f, const void *contents)
{
    const quant_file *file = contents;
    size_t length = strlen(file->header), padded = (length + 7) / 8 * 8;
    unsigned char prefix[8];
    for (int i = 0; i < 8; i++)
        prefix[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    if (fwrite(prefix, 1, 8, f) != 8
        || fwrite(file->header, 1, length, f) != length
        || fwrite("        ", 1, padded - length, f) != padded - length)
        return -1;
    for (int i = 0; i < file->n; i++)
        if (fwrite(file->pieces[i].bytes, 1, file->pieces[i].size, f)
            != file->pieces[i].size)
            return -1;
    return 0;
}
/* <<compute: quantised checkpoints>> */
int tp_quant_gpt_save(const tp_quant_gpt *q, const char *path,
                      tp_error *error)
{
    piece *pieces = calloc((size_t)q->model->params.count + (size_t)q->count,
                           sizeof *pieces);
    tp_check(pieces != NULL, "out of memory");
    int n = file_pieces(q, pieces);
    char *header = pieces_header(pieces, n, q);
    int status = header == NULL
                     ? tp_error_set(error, "cannot save %s: out of memory", path)
                     : 0;
    quant_file file = {header, pieces, n};
    if (status == 0)
        status = tp_save_file(path, write_quant_file, &file, error);
    cJSON_free(header);
    free(pieces);
    return status;
}
/* <<compute: quantised checkpoints>> */
typedef struct quant_layout {
    tp_gpt_config config;
    tp_quant_scheme scheme;
    int group;  /* 0: one scale per row */
} quant_layout;

static int read_layout(const char *path, const tp_metadata *meta,
                       quant_layout *l, tp_error *error)
{
    const char *scheme = tp_metadata_get(meta, "quantisation");
    if (scheme == NULL)
        return tp_error_set(error, "%s is not a quantised checkpoint (no "
                            "quantisation in its metadata)", path);
    tp_error why;
    if (tp_quant_parse(scheme, &l->scheme, &why) != 0)
        return tp_error_set(error, "%s: %s", path, why.message);
    /* <<quantised loading: the configuration>> */
    const char *keys[5] = {"vocab_size", "n_positions", "n_layer", "n_head",
                           "n_embd"};
    const long limits[5] = {1 << 20, 1 << 20, 1024, 1024, 1 << 16};
    int *fields[5] = {&l->config.vocab_size, &l->config.n_positions,
                      &l->config.n_layer, &l->config.n_head, &l->config.n_embd};
    for (int i = 0; i < 5; i++) {
        long n;
        if (tp_metadata_get(meta, keys[i]) == NULL)
            return tp_error_set(error, "%s has no %s in its metadata", path,
                                keys[i]);
        if (tp_metadata_number(meta, path, keys[i], 1, limits[i], &n, error))
            return -1;
        *fields[i] = (int)n;
    }
    l->config.positions = TP_POSITIONS_LEARNED;
    if (l->config.n_embd % l->config.n_head != 0
        || l->config.n_embd % TP_QUANT_BLOCK != 0)
        return tp_error_set(error, "%s: the width %d is not a multiple of %d and "
                            "of its %d heads", path, l->config.n_embd,
                            TP_QUANT_BLOCK, l->config.n_head);
    /* <<quantised loading: the group>> */
    const char *group = tp_metadata_get(meta, "group_size");
    long g = 0;
    if (group == NULL)
        return tp_error_set(error, "%s has no group_size in its metadata", path);
    if (strcmp(group, "row") != 0
        && tp_metadata_number(meta, path, "group_size", 1, 1 << 20, &g, error))
        return -1;
    if (g % TP_QUANT_BLOCK != 0 || l->config.n_embd % (g ? g : 1) != 0)
        return tp_error_set(error, "%s: groups of %s inputs do not divide the "
                            "rows of %d into blocks of %d", path, group,
                            l->config.n_embd, TP_QUANT_BLOCK);
    l->group = (int)g;
    return 0;
}
/* <<compute: quantised checkpoints>> */
static int check_size(const char *path, const quant_layout *l, long size,
                      tp_error *error)
{
    double c = l->config.n_embd, bits = l->scheme == TP_QUANT_INT8 ? 8 : 4;
    double floats = ((double)l->config.vocab_size + l->config.n_positions) * c;
    double needed = 4 * floats + l->config.n_layer * 12 * c * c * bits / 8;
    if (needed > (double)size)
        return tp_error_set(error, "%s: its configuration needs %.0f bytes, "
                            "more than the file's %ld", path, needed, size);
    return 0;
}
/* <<compute: quantised checkpoints>> */
static int read_integers(const char *path, const unsigned char *file,
                         long size, const char *name, tp_qmatrix *m,
                         tp_error *error)
{
    uint64_t length = 0;
    for (int i = 0; size >= 8 && i < 8; i++)
        length |= (uint64_t)file[i] << (8 * i);
    if (size < 8 || length > (uint64_t)(size - 8))
        return tp_error_set(error, "%s changed while it was read", path);
    cJSON *header = cJSON_ParseWithLength((const char *)file + 8, length);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(header, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    bool four = m->scheme == TP_QUANT_INT4;
    long cols = four ? m->cols / 2 : m->cols;
    int status = 0;
    /* <<quantised loading: check the integers' entry and copy them>> */
    if (e == NULL)
        status = tp_error_set(error, "%s: tensor \"%s\" is missing", path, name);
    else if (!cJSON_IsString(dtype)
             || strcmp(dtype->valuestring, four ? "U8" : "I8") != 0
             || cJSON_GetArraySize(shape) != 2
             || tp_json_whole_number(cJSON_GetArrayItem(shape, 0), INT_MAX)
                    != m->rows
             || tp_json_whole_number(cJSON_GetArrayItem(shape, 1), INT_MAX)
                    != cols)
        status = tp_error_set(error, "%s: tensor \"%s\" must be %s of shape "
                              "[%d, %ld]", path, name, four ? "U8" : "I8",
                              m->rows, cols);
    else {
        long begin = tp_json_whole_number(cJSON_GetArrayItem(at, 0), size);
        long bytes = (long)m->rows * cols, data = size - 8 - (long)length;
        if (begin < 0 || begin > data - bytes)
            status = tp_error_set(error, "%s: tensor \"%s\" lies outside the "
                                  "file", path, name);
        else
            memcpy(m->q, file + 8 + length + begin, (size_t)bytes);
    }
    cJSON_Delete(header);
    return status;
}
/* <<compute: quantised checkpoints>> */
static void dequantise_into(const tp_qmatrix *m, tp_tensor *w)
{
    float *rows = malloc((size_t)m->rows * (size_t)m->cols * sizeof *rows);
    tp_check(rows != NULL, "out of memory");
    tp_qmatrix_dequantise(m, rows);
    for (int o = 0; o < m->rows; o++)
        for (int i = 0; i < m->cols; i++)
            w->data[(long)i * m->rows + o] = rows[(long)o * m->cols + i];
    free(rows);
}
/* <<compute: quantised checkpoints>> */
static unsigned char *file_bytes(const char *path, long *size,
                                 tp_error *error)
{
    FILE *f = fopen(path, "rb");
    unsigned char *bytes = NULL;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (*size = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0) {
        bytes = malloc((size_t)*size + 1);
        if (bytes != NULL && fread(bytes, 1, (size_t)*size, f) != (size_t)*size)
            free(bytes), bytes = NULL;
    }
    if (f != NULL)
        fclose(f);
    if (bytes == NULL)
        tp_error_set(error, "cannot read %s", path);
    return bytes;
}

static int load_integers(const char *path, tp_quant_gpt *q, tp_error *error)
{
    long size = 0;
    unsigned char *bytes = file_bytes(path, &size, error);
    if (bytes == NULL)
        return -1;
    const tp_params *p = &q->model->params;
    int status = 0;
    for (int i = 0; i < p->count && status == 0; i++) {
        int k = matrix_of(q, p->items[i].tensor);
        if (k < 0)
            continue;
        char name[80];
        snprintf(name, sizeof name, "%s.q", p->items[i].name);
        status = read_integers(path, bytes, size, name, q->matrices[k],
                               error);
        if (status == 0)
            dequantise_into(q->matrices[k], q->weights[k]);
    }
    free(bytes);
    return status;
}
/* <<compute: quantised checkpoints>> */
static int load_matrices(const char *path, tp_quant_gpt *q,
                         const quant_layout *l, tp_error *error);

tp_quant_gpt *tp_quant_gpt_load(const char *path, tp_error *error)
{
    tp_metadata meta;
    quant_layout l = {0};
    if (tp_safetensors_load(path, NULL, 0, &meta, error) != 0
        || read_layout(path, &meta, &l, error) != 0)
        return NULL;
    struct stat st;
    if (stat(path, &st) != 0 || check_size(path, &l, (long)st.st_size, error))
        return NULL;
    tp_quant_gpt *q = quant_gpt_empty(tp_gpt_new(l.config), l.scheme);
    q->owns_model = true;
    if (load_matrices(path, q, &l, error) != 0) {
        tp_quant_gpt_free(q);
        return NULL;
    }
    return q;
}
/* <<compute: quantised checkpoints>> */
static int load_matrices(const char *path, tp_quant_gpt *q,
                         const quant_layout *l, tp_error *error)
{
    tp_arena *arena = tp_arena_new("quantised checkpoint");
    const tp_params *p = &q->model->params;
    tp_param *wanted = tp_arena_zeroed(arena, (size_t)p->count, sizeof *wanted);
    int n = 0;
    for (int i = 0; i < p->count; i++) {
        int k = matrix_of(q, p->items[i].tensor);
        /* <<quantised loading: ask for parameter i, or matrix k's scales>> */
        wanted[n] = p->items[i];
        if (k >= 0) {
            const tp_tensor *w = q->weights[k];
            int in = w->shape.dim[0], out = w->shape.dim[1];
            q->matrices[k] = qmatrix_empty(out, in, l->scheme,
                                           l->group > 0 ? l->group : in);
            tp_check(in % q->matrices[k]->group == 0, "checked by read_layout");
            wanted[n].tensor = tp_tensor_empty(arena, tp_shape2(out,
                                               in / q->matrices[k]->group), TP_NO_GRAD);
            wanted[n].tensor->data = q->matrices[k]->scale;
            int length = snprintf(wanted[n].name, sizeof wanted[n].name, "%s.scale",
                                  p->items[i].name);
            tp_check(length < (int)sizeof wanted[n].name, "the name %s is too long",
                     p->items[i].name);
        }
        n++;
    }
    int status = tp_safetensors_load(path, wanted, n, NULL, error);
    if (status == 0)
        status = load_integers(path, q, error);
    tp_arena_free(arena);
    return status;
}
