/* Generated from book/190-cuda.nw; edit the book, not this file. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/bench.h"
#include "tp/check.h"
#include "tp/gpu.h"
#include "tp/kernels.h"

#ifdef TP_CUDA
#include <cuda_runtime_api.h>
#endif

/* <<gpu: opening the device>> */
#ifdef TP_CUDA
void tp_cuda_fail(const char *file, int line, const char *call,
                  const char *reason)
{
    tp_fail(file, line, "CUDA", "%s failed: %s", call, reason);
}

void tp_cuda_check(int status, const char *call, const char *file, int line)
{
    if (status != cudaSuccess)
        tp_cuda_fail(file, line, call, cudaGetErrorString(status));
}

static double attribute(enum cudaDeviceAttr what)
{
    int value = 0;
    TP_CUDA_CHECK(cudaDeviceGetAttribute(&value, what, 0));
    return value;
}
/* <<gpu: opening the device>> */
int tp_gpu_open(tp_gpu *gpu, char *why, size_t why_size)
{
    memset(gpu, 0, sizeof *gpu);
    int count = 0;
    cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess || count == 0) {
        snprintf(why, why_size, "no CUDA device (%s)",
                 status == cudaSuccess ? "the driver sees none"
                                       : cudaGetErrorString(status));
        return -1;
    }
    TP_CUDA_CHECK(cudaSetDevice(0));
    struct cudaDeviceProp p;
    TP_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
    /* <<gpu: copy the properties>> */
    snprintf(gpu->name, sizeof gpu->name, "%s", p.name);
    gpu->major = p.major;
    gpu->minor = p.minor;
    gpu->sms = p.multiProcessorCount;
    gpu->clock_hz = 1e3 * attribute(cudaDevAttrClockRate);
    gpu->memory_clock_hz = 1e3 * attribute(cudaDevAttrMemoryClockRate);
    gpu->bus_bits = p.memoryBusWidth;
    gpu->l2_bytes = p.l2CacheSize;
    gpu->shared_per_sm = (long)p.sharedMemPerMultiprocessor;
    gpu->shared_per_block = (long)p.sharedMemPerBlockOptin;
    gpu->registers_per_sm = p.regsPerMultiprocessor;
    gpu->threads_per_sm = p.maxThreadsPerMultiProcessor;
    return 0;
}
/* <<gpu: opening the device>> */
#else
int tp_gpu_open(tp_gpu *gpu, char *why, size_t why_size)
{
    memset(gpu, 0, sizeof *gpu);
    snprintf(why, why_size, "no CUDA device (the library was built "
             "without CUDA: no nvcc was found)");
    return -1;
}
#endif

/* <<gpu: peaks>> */
static int fp32_lanes_per_sm(const tp_gpu *gpu)
{
    if (gpu->major == 7 || (gpu->major == 8 && gpu->minor == 0))
        return 64;
    return gpu->major >= 8 ? 128 : 0;
}

static int bf16_flops_per_sm_clock(const tp_gpu *gpu)
{
    if (gpu->major == 8 && gpu->minor == 0)
        return 2048;
    if (gpu->major == 9 && gpu->minor == 0)
        return 4096;
    return 0;
}
/* <<gpu: peaks>> */
double tp_gpu_fp32_peak(const tp_gpu *gpu)
{
    return 2.0 * fp32_lanes_per_sm(gpu) * gpu->sms * gpu->clock_hz;
}

double tp_gpu_bf16_peak(const tp_gpu *gpu)
{
    return (double)bf16_flops_per_sm_clock(gpu) * gpu->sms * gpu->clock_hz;
}

double tp_gpu_bandwidth(const tp_gpu *gpu)
{
    return 2.0 * gpu->memory_clock_hz * gpu->bus_bits / 8.0;
}
/* <<gpu: peaks>> */
tp_gpu tp_gpu_h100_sxm(void)
{
    return (tp_gpu){.name = "NVIDIA H100 SXM", .major = 9, .minor = 0,
                    .sms = 132, .clock_hz = 1.98e9,
                    .memory_clock_hz = 2.619e9, .bus_bits = 5120,
                    .l2_bytes = 50L << 20, .shared_per_sm = 228L << 10,
                    .shared_per_block = 227L << 10,
                    .registers_per_sm = 65536, .threads_per_sm = 2048};
}

/* <<gpu: describing the device>> */
void tp_gpu_describe(FILE *out, const tp_gpu *gpu)
{
    fprintf(out, "# %s, compute capability %d.%d: %d SMs at %.2f GHz, "
            "L2 %.0f MiB, shared memory %ld KiB per SM\n", gpu->name,
            gpu->major, gpu->minor, gpu->sms, gpu->clock_hz / 1e9,
            gpu->l2_bytes / 1048576.0, gpu->shared_per_sm / 1024);
    fprintf(out, "# peaks: FP32 %.1f TFLOP/s, bfloat16 %.0f TFLOP/s "
            "(0: unknown), memory %.0f GB/s\n", tp_gpu_fp32_peak(gpu) / 1e12,
            tp_gpu_bf16_peak(gpu) / 1e12, tp_gpu_bandwidth(gpu) / 1e9);
}

/* <<gpu: bfloat16 conversions>> */
uint16_t tp_bf16_from_float(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    if (isnan(x))
        return (uint16_t)((bits >> 16) | 0x0040);
    uint32_t half_unit = 0x7fff + ((bits >> 16) & 1);
    return (uint16_t)((bits + half_unit) >> 16);
}

float tp_float_from_bf16(uint16_t bits)
{
    uint32_t wide = (uint32_t)bits << 16;
    float x;
    memcpy(&x, &wide, sizeof x);
    return x;
}

/* <<gpu: the error bound>> */
double tp_gamma(double n, double unit)
{
    tp_check(n >= 0 && n * unit < 1, "tp_gamma: n u = %g is not below 1",
             n * unit);
    return n * unit / (1 - n * unit);
}

/* <<gpu: cases>> */
static void *allocate(size_t bytes)
{
    void *p = malloc(bytes > 0 ? bytes : 1);
    tp_check(p != NULL, "gpu: out of memory for %zu bytes", bytes);
    return p;
}

static float *case_floats(tp_gpu_case *c, int input, long count,
                          tp_rng *rng, float mean, float deviation)
{
    float *x = allocate((size_t)count * sizeof *x);
    for (long i = 0; i < count; i++)
        x[i] = mean + deviation * tp_rng_normal(rng);
    c->input[input] = x;
    c->input_bytes[input] = (size_t)count * sizeof *x;
    return x;
}
/* <<gpu: cases>> */
static void case_output(tp_gpu_case *c, int output, long count)
{
    c->output_count[output] = count;
    c->reference[output] = allocate((size_t)count * sizeof(float));
    c->tolerance[output] = allocate((size_t)count * sizeof(double));
}

tp_gpu_case *tp_gpu_case_new(const tp_gpu_operation *op, int rows, int cols,
                             int inner, uint64_t seed)
{
    tp_check(rows > 0 && cols > 0 && inner > 0, "gpu case %s: sizes %d x "
             "%d x %d must be positive", op->name, rows, cols, inner);
    tp_gpu_case *c = allocate(sizeof *c);
    *c = (tp_gpu_case){.op = op, .rows = rows, .cols = cols, .inner = inner};
    tp_rng rng = tp_rng_seeded(seed, 17);
    op->make(c, &rng);
    return c;
}
/* <<gpu: cases>> */
void tp_gpu_case_free(tp_gpu_case *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < TP_GPU_MAX_INPUTS; i++)
        free(c->input[i]);
    for (int i = 0; i < TP_GPU_MAX_OUTPUTS; i++) {
        free(c->reference[i]);
        free(c->tolerance[i]);
    }
    free(c);
}

/* <<gpu: the GEMM references>> */
static double *widen(const float *x, long count, bool absolute)
{
    double *y = allocate((size_t)count * sizeof *y);
    for (long i = 0; i < count; i++)
        y[i] = absolute ? fabs((double)x[i]) : x[i];
    return y;
}

static void dgemm(int m, int n, int k, const double *a, const double *b,
                  double *c)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a,
                k, b, n, 0.0, c, n);
}
/* <<gpu: the GEMM references>> */
static void gemm_reference(tp_gpu_case *c, const float *a, const float *b,
                           double unit)
{
    int m = c->rows, n = c->cols, k = c->inner;
    long mk = (long)m * k, kn = (long)k * n, mn = (long)m * n;
    double *ad = widen(a, mk, false), *bd = widen(b, kn, false);
    double *exact = allocate((size_t)mn * sizeof *exact);
    dgemm(m, n, k, ad, bd, exact);
    free(ad);
    free(bd);
    ad = widen(a, mk, true);
    bd = widen(b, kn, true);
    double *scale = allocate((size_t)mn * sizeof *scale);
    dgemm(m, n, k, ad, bd, scale);
    /* <<gpu: round the answer and set the bound>> */
    case_output(c, 0, mn);
    double gamma = tp_gamma(k + 1.0, unit);
    for (long i = 0; i < mn; i++) {
        c->reference[0][i] = (float)exact[i];
        c->tolerance[0][i] = gamma * scale[i];
    }
    free(ad), free(bd), free(exact), free(scale);
}
/* <<gpu: the GEMM references>> */
static void make_gemm(tp_gpu_case *c, tp_rng *rng)
{
    float *a = case_floats(c, 0, (long)c->rows * c->inner, rng, 0, 1);
    float *b = case_floats(c, 1, (long)c->inner * c->cols, rng, 0, 1);
    gemm_reference(c, a, b, TP_FP32_UNIT);
}

static double gemm_flops(const tp_gpu_case *c)
{
    return 2.0 * c->rows * c->cols * c->inner;
}
/* <<gpu: the GEMM references>> */
static float *round_to_bf16(tp_gpu_case *c, int input)
{
    long count = (long)(c->input_bytes[input] / sizeof(float));
    float *x = c->input[input];
    uint16_t *bits = allocate((size_t)count * sizeof *bits);
    for (long i = 0; i < count; i++) {
        bits[i] = tp_bf16_from_float(x[i]);
        x[i] = tp_float_from_bf16(bits[i]);
    }
    c->input[input] = bits;
    c->input_bytes[input] = (size_t)count * sizeof *bits;
    return x;  /* the rounded values, as floats; the caller frees them */
}
/* <<gpu: the GEMM references>> */
static void make_gemm_bf16(tp_gpu_case *c, tp_rng *rng)
{
    case_floats(c, 0, (long)c->rows * c->inner, rng, 0, 1);
    case_floats(c, 1, (long)c->inner * c->cols, rng, 0, 1);
    float *a = round_to_bf16(c, 0), *b = round_to_bf16(c, 1);
    gemm_reference(c, a, b, 2 * TP_FP32_UNIT);  /* truncated sums */
    free(a);
    free(b);
}

/* <<gpu: the row references>> */
static void make_softmax(tp_gpu_case *c, tp_rng *rng)
{
    int rows = c->rows, cols = c->cols;
    const float *x = case_floats(c, 0, (long)rows * cols, rng, 0, 3);
    case_output(c, 0, (long)rows * cols);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * cols;
        double max = xr[0], min = xr[0], sum = 0;
        for (int j = 1; j < cols; j++)
            max = fmax(max, xr[j]), min = fmin(min, xr[j]);
        for (int j = 0; j < cols; j++)
            sum += exp(xr[j] - max);
        double gamma = tp_gamma(10.0 * cols + 2 * (max - min), TP_FP32_UNIT);
        /* <<gpu: the softmax of row r and its bound>> */
        for (int j = 0; j < cols; j++) {
            double p = exp(xr[j] - max) / sum;
            c->reference[0][(long)r * cols + j] = (float)p;
            c->tolerance[0][(long)r * cols + j] = gamma * p;
        }
    }
}
/* <<gpu: the row references>> */
static double softmax_bytes(const tp_gpu_case *c)
{
    return 2.0 * sizeof(float) * c->rows * c->cols;
}
/* <<gpu: the row references>> */
typedef struct row_moments {
    double mean, rstd;
    double mean_abs;    /* a: the mean of |x| */
    double spread;      /* s^2 */
} row_moments;

static row_moments moments_of(const float *x, int cols)
{
    row_moments m = {0};
    double variance = 0, square = 0;
    for (int j = 0; j < cols; j++)
        m.mean += x[j], m.mean_abs += fabs((double)x[j]);
    m.mean /= cols, m.mean_abs /= cols;
    for (int j = 0; j < cols; j++) {
        double d = x[j] - m.mean, w = fabs((double)x[j]) + fabs(m.mean);
        variance += d * d, square += w * w;
    }
    m.rstd = 1 / sqrt(variance / cols + (double)TP_LAYERNORM_EPS);
    m.spread = m.rstd * m.rstd * square / cols;
    return m;
}
/* <<gpu: the row references>> */
static float *layernorm_inputs(tp_gpu_case *c, int input, tp_rng *rng)
{
    float *x = case_floats(c, input, (long)c->rows * c->cols, rng, 0, 1);
    for (int r = 0; r < c->rows; r++) {
        float offset = 4 * tp_rng_uniform(rng) - 2;
        for (int j = 0; j < c->cols; j++)
            x[(long)r * c->cols + j] += offset;
    }
    return x;
}
/* <<gpu: the row references>> */
static void make_layernorm(tp_gpu_case *c, tp_rng *rng)
{
    int rows = c->rows, cols = c->cols;
    const float *x = layernorm_inputs(c, 0, rng);
    const float *gain = case_floats(c, 1, cols, rng, 1, 0.1f);
    const float *bias = case_floats(c, 2, cols, rng, 0, 0.1f);
    case_output(c, 0, (long)rows * cols);
    case_output(c, 1, rows);
    case_output(c, 2, rows);
    double gamma = tp_gamma(4.0 * cols + 16, TP_FP32_UNIT);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * cols;
        row_moments m = moments_of(xr, cols);
        /* <<gpu: the normalised row r and its bound>> */
        c->reference[1][r] = (float)m.mean;
        c->tolerance[1][r] = gamma * m.mean_abs;
        c->reference[2][r] = (float)m.rstd;
        c->tolerance[2][r] = gamma * m.rstd * (1 + m.spread);
        for (int j = 0; j < cols; j++) {
            double xhat = (xr[j] - m.mean) * m.rstd, g = fabs((double)gain[j]);
            long i = (long)r * cols + j;
            c->reference[0][i] = (float)(xhat * gain[j] + bias[j]);
            c->tolerance[0][i] = gamma * (g * (m.rstd * (fabs((double)xr[j])
                                                         + m.mean_abs)
                                               + fabs(xhat) * (1 + m.spread))
                                          + fabs((double)bias[j]));
        }
    }
}
/* <<gpu: the row references>> */
static double layernorm_bytes(const tp_gpu_case *c)
{
    return sizeof(float) * (2.0 * c->rows * c->cols + 2.0 * c->cols
                            + 2.0 * c->rows);
}
/* <<gpu: the row references>> */
static void backward_row(tp_gpu_case *c, int r, double gamma, double *sums)
{
    int cols = c->cols;
    long at = (long)r * cols;
    const float *dy = (const float *)c->input[0] + at;
    const float *x = (const float *)c->input[1] + at;
    const float *gain = c->input[2];
    double mu = ((const float *)c->input[3])[r];
    double rstd = ((const float *)c->input[4])[r];
    double mean_h = 0, mean_hx = 0, mean_abs_h = 0, mean_hw = 0;
    /* <<gpu: the means of the row's gradient terms>> */
    for (int j = 0; j < cols; j++) {
        double h = (double)gain[j] * dy[j], xhat = (x[j] - mu) * rstd;
        double w = rstd * (fabs((double)x[j]) + fabs(mu));
        mean_h += h, mean_hx += h * xhat;
        mean_abs_h += fabs(h), mean_hw += fabs(h) * w;
    }
    mean_h /= cols, mean_hx /= cols, mean_abs_h /= cols, mean_hw /= cols;
    /* <<gpu: the row's input gradient and the column sums>> */
    for (int j = 0; j < cols; j++) {
        double h = (double)gain[j] * dy[j], xhat = (x[j] - mu) * rstd;
        double w = rstd * (fabs((double)x[j]) + fabs(mu));
        c->reference[0][at + j] = (float)(rstd * (h - mean_h - xhat * mean_hx));
        c->tolerance[0][at + j] =
            gamma * rstd * (fabs(h) + mean_abs_h + 2 * w * mean_hw);
        sums[j] += dy[j] * xhat;
        sums[cols + j] += dy[j];
        sums[2 * cols + j] += fabs((double)dy[j]) * w;
        sums[3 * cols + j] += fabs((double)dy[j]);
    }
}
/* <<gpu: the row references>> */
static void make_layernorm_backward(tp_gpu_case *c, tp_rng *rng)
{
    int rows = c->rows, cols = c->cols;
    case_floats(c, 0, (long)rows * cols, rng, 0, 1);  /* the gradient */
    const float *x = layernorm_inputs(c, 1, rng);
    case_floats(c, 2, cols, rng, 1, 0.1f);            /* the gain */
    float *mean = case_floats(c, 3, rows, rng, 0, 0);
    float *rstd = case_floats(c, 4, rows, rng, 0, 0);
    for (int r = 0; r < rows; r++) {
        row_moments m = moments_of(x + (long)r * cols, cols);
        mean[r] = (float)m.mean, rstd[r] = (float)m.rstd;
    }
    case_output(c, 0, (long)rows * cols);
    case_output(c, 1, cols);
    case_output(c, 2, cols);
    /* <<gpu: the backward references, row by row and down the columns>> */
    double *sums = calloc(4 * (size_t)cols, sizeof *sums);
    tp_check(sums != NULL, "gpu: out of memory");
    double row_gamma = tp_gamma(2.0 * cols + 16, TP_FP32_UNIT);
    for (int r = 0; r < rows; r++)
        backward_row(c, r, row_gamma, sums);
    double column_gamma = tp_gamma(rows + 8.0, TP_FP32_UNIT);
    for (int j = 0; j < cols; j++) {
        c->reference[1][j] = (float)sums[j];
        c->tolerance[1][j] = column_gamma * sums[2 * cols + j];
        c->reference[2][j] = (float)sums[cols + j];
        c->tolerance[2][j] = column_gamma * sums[3 * cols + j];
    }
    free(sums);
}
/* <<gpu: the row references>> */
static double layernorm_backward_bytes(const tp_gpu_case *c)
{
    return sizeof(float) * (3.0 * c->rows * c->cols + 3.0 * c->cols
                            + 2.0 * c->rows);
}
/* <<gpu: the row references>> */
static double gelu_tanh(double t)
{
    const double k = 0.7978845608028654;  /* sqrt(2 / pi) */
    return 0.5 * t * (1 + tanh(k * (t + 0.044715 * t * t * t)));
}

static void make_bias_gelu(tp_gpu_case *c, tp_rng *rng)
{
    int rows = c->rows, cols = c->cols;
    const float *x = case_floats(c, 0, (long)rows * cols, rng, 0, 2);
    const float *bias = case_floats(c, 1, cols, rng, 0, 0.5f);
    case_output(c, 0, (long)rows * cols);
    double gamma = tp_gamma(16, TP_FP32_UNIT);
    for (long i = 0; i < (long)rows * cols; i++) {
        double b = bias[i % cols];
        c->reference[0][i] = (float)gelu_tanh(x[i] + b);
        c->tolerance[0][i] = gamma * (fabs((double)x[i]) + fabs(b));
    }
}
/* <<gpu: the row references>> */
static double bias_gelu_bytes(const tp_gpu_case *c)
{
    return sizeof(float) * (2.0 * c->rows * c->cols + c->cols);
}

/* <<gpu: the table of operations>> */
#ifdef TP_CUDA
#define DEVICE(launcher) launcher
#else
#define DEVICE(launcher) NULL
#endif

static const tp_gpu_version gemm_versions[] = {
    {"v0", "cuBLAS SGEMM, the reference", DEVICE(tp_cuda_gemm_cublas)},
    {"v1", "naive: a thread per output", DEVICE(tp_cuda_gemm_v1)},
    {"v2", "tiles in shared memory", DEVICE(tp_cuda_gemm_v2)},
    {"v3", "8x8 outputs per thread", DEVICE(tp_cuda_gemm_v3)},
    {"v4", "warp tiles, 16-byte loads", DEVICE(tp_cuda_gemm_v4)},
};

static const tp_gpu_version gemm_bf16_versions[] = {
    {"v0", "cuBLAS, bfloat16 in, FP32 sums", DEVICE(tp_cuda_gemm_bf16_cublas)},
    {"v5", "tensor cores through mma.sync", DEVICE(tp_cuda_gemm_bf16_v5)},
};
/* <<gpu: the table of operations>> */
static const tp_gpu_version softmax_versions[] = {
    {"v1", "naive: a thread per row", DEVICE(tp_cuda_softmax_v1)},
    {"v2", "a warp per row, online maximum", DEVICE(tp_cuda_softmax_v2)},
};

static const tp_gpu_version layernorm_versions[] = {
    {"v1", "naive: a thread per row", DEVICE(tp_cuda_layernorm_v1)},
    {"v2", "a warp per row, one pass", DEVICE(tp_cuda_layernorm_v2)},
};

static const tp_gpu_version layernorm_backward_versions[] = {
    {"v1", "a thread per row, then per column",
     DEVICE(tp_cuda_layernorm_backward_v1)},
    {"v2", "one kernel, column sums in shared memory",
     DEVICE(tp_cuda_layernorm_backward_v2)},
};

static const tp_gpu_version bias_gelu_versions[] = {
    {"v1", "two kernels: add, then GELU", DEVICE(tp_cuda_bias_gelu_v1)},
    {"v2", "fused, 16-byte accesses", DEVICE(tp_cuda_bias_gelu_v2)},
};
/* <<gpu: the table of operations>> */
#define VERSIONS(table) (int)(sizeof table / sizeof table[0]), table

const tp_gpu_operation tp_gpu_operations[] = {
    {"gemm", "C = A B in FP32", 2, 1, {"C"}, TP_GPU_FP32_BOUND,
     make_gemm, gemm_flops, VERSIONS(gemm_versions)},
    {"gemm-bf16", "C = A B, A and B in bfloat16", 2, 1, {"C"},
     TP_GPU_BF16_BOUND, make_gemm_bf16, gemm_flops,
     VERSIONS(gemm_bf16_versions)},
    {"softmax", "softmax of each row", 1, 1, {"y"}, TP_GPU_MEMORY_BOUND,
     make_softmax, softmax_bytes, VERSIONS(softmax_versions)},
    {"layernorm", "LayerNorm of each row", 3, 3, {"y", "mean", "rstd"},
     TP_GPU_MEMORY_BOUND, make_layernorm, layernorm_bytes,
     VERSIONS(layernorm_versions)},
    {"layernorm-backward", "gradients of LayerNorm", 5, 3,
     {"dx", "dgain", "dbias"}, TP_GPU_MEMORY_BOUND, make_layernorm_backward,
     layernorm_backward_bytes, VERSIONS(layernorm_backward_versions)},
    {"bias-gelu", "GELU(x + bias) of each row", 2, 1, {"y"},
     TP_GPU_MEMORY_BOUND, make_bias_gelu, bias_gelu_bytes,
     VERSIONS(bias_gelu_versions)},
};
const int tp_gpu_operation_count =
    (int)(sizeof tp_gpu_operations / sizeof tp_gpu_operations[0]);
/* <<gpu: the table of operations>> */
const tp_gpu_operation *tp_gpu_operation_named(const char *name)
{
    for (int i = 0; i < tp_gpu_operation_count; i++)
        if (strcmp(tp_gpu_operations[i].name, name) == 0)
            return &tp_gpu_operations[i];
    return NULL;
}

/* <<gpu: checking a result>> */
static double error_ratio(double error, double tolerance)
{
    if (isnan(error))
        return INFINITY;
    if (tolerance > 0)
        return error / tolerance;
    return error > 0 ? INFINITY : 0;
}
/* <<gpu: checking a result>> */
bool tp_gpu_case_check(const tp_gpu_case *c, int output, const float *got,
                       tp_gpu_mismatch *worst)
{
    long bad = 0;
    for (long i = 0; i < c->output_count[output]; i++) {
        double want = c->reference[output][i];
        double tolerance = c->tolerance[output][i];
        double error = fabs((double)got[i] - want);
        double ratio = error_ratio(error, tolerance);
        if (!(error <= tolerance))
            bad++;
        if (ratio > worst->ratio)
            *worst = (tp_gpu_mismatch){worst->bad, ratio, output, i,
                                       got[i], want, tolerance};
    }
    worst->bad += bad;
    return bad == 0;
}

#ifdef TP_CUDA
/* <<gpu: device buffers>> */
typedef struct device_case {
    tp_kernel_args args;
    void *buffer[TP_GPU_MAX_INPUTS + TP_GPU_MAX_OUTPUTS + 1];  /* + flush */
    int buffers;
} device_case;

static void *device_buffer(device_case *d, size_t bytes)
{
    void *p = NULL;
    TP_CUDA_CHECK(cudaMalloc(&p, bytes > 0 ? bytes : 1));
    d->buffer[d->buffers++] = p;
    return p;
}
/* <<gpu: device buffers>> */
static device_case upload(const tp_gpu_case *c)
{
    device_case d = {.args = {c->rows, c->cols, c->inner, {0}, {0}}};
    for (int i = 0; i < c->op->inputs; i++) {
        void *p = device_buffer(&d, c->input_bytes[i]);
        TP_CUDA_CHECK(cudaMemcpy(p, c->input[i], c->input_bytes[i],
                                 cudaMemcpyHostToDevice));
        d.args.in[i] = p;
    }
    for (int o = 0; o < c->op->outputs; o++) {
        size_t bytes = (size_t)c->output_count[o] * sizeof(float);
        d.args.out[o] = device_buffer(&d, bytes);
        TP_CUDA_CHECK(cudaMemset(d.args.out[o], 0xff, bytes));
    }
    return d;
}

static void release(device_case *d)
{
    for (int i = 0; i < d->buffers; i++)
        TP_CUDA_CHECK(cudaFree(d->buffer[i]));
}

/* <<gpu: running on the device>> */
static const tp_gpu_version *version_of(const tp_gpu_case *c, int version)
{
    tp_check(version >= 0 && version < c->op->versions, "gpu: %s has no "
             "version %d", c->op->name, version);
    return &c->op->version[version];
}

bool tp_gpu_check_version(const tp_gpu_case *c, int version,
                          tp_gpu_mismatch *worst)
{
    const tp_gpu_version *v = version_of(c, version);
    device_case d = upload(c);
    v->launch(&d.args);
    TP_CUDA_CHECK(cudaDeviceSynchronize());
    *worst = (tp_gpu_mismatch){.ratio = -1};
    bool right = true;
    /* <<gpu: download and check every output>> */
    for (int o = 0; o < c->op->outputs; o++) {
        size_t bytes = (size_t)c->output_count[o] * sizeof(float);
        float *got = allocate(bytes);
        TP_CUDA_CHECK(cudaMemcpy(got, d.args.out[o], bytes,
                                 cudaMemcpyDeviceToHost));
        right = tp_gpu_case_check(c, o, got, worst) && right;
        free(got);
    }
    release(&d);
    return right;
}
/* <<gpu: running on the device>> */
double tp_gpu_time_version(const tp_gpu_case *c, int version, int repeats)
{
    tp_check(repeats > 0, "gpu: cannot time %d runs", repeats);
    const tp_gpu_version *v = version_of(c, version);
    device_case d = upload(c);
    size_t flush_bytes = 2 * (size_t)attribute(cudaDevAttrL2CacheSize);
    void *flush = device_buffer(&d, flush_bytes);
    cudaEvent_t start, stop;
    TP_CUDA_CHECK(cudaEventCreate(&start));
    TP_CUDA_CHECK(cudaEventCreate(&stop));
    v->launch(&d.args);
    v->launch(&d.args);
    double *seconds = allocate((size_t)repeats * sizeof *seconds);
    /* <<gpu: time each run between a flush and two events>> */
    for (int r = 0; r < repeats; r++) {
        TP_CUDA_CHECK(cudaMemsetAsync(flush, r & 0xff, flush_bytes, 0));
        TP_CUDA_CHECK(cudaEventRecord(start, 0));
        v->launch(&d.args);
        TP_CUDA_CHECK(cudaEventRecord(stop, 0));
        TP_CUDA_CHECK(cudaEventSynchronize(stop));
        float milliseconds = 0;
        TP_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start, stop));
        seconds[r] = milliseconds / 1e3;
    }
    double median = tp_median(seconds, repeats);
    free(seconds);
    TP_CUDA_CHECK(cudaEventDestroy(start));
    TP_CUDA_CHECK(cudaEventDestroy(stop));
    release(&d);
    return median;
}
#else
/* <<gpu: running without a device>> */
bool tp_gpu_check_version(const tp_gpu_case *c, int version,
                          tp_gpu_mismatch *worst)
{
    (void)worst;
    tp_fail(__FILE__, __LINE__, __func__, "%s %d: the library was built "
            "without CUDA", c->op->name, version);
}

double tp_gpu_time_version(const tp_gpu_case *c, int version, int repeats)
{
    (void)repeats;
    tp_fail(__FILE__, __LINE__, __func__, "%s %d: the library was built "
            "without CUDA", c->op->name, version);
}
#endif
