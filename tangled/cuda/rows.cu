/* Generated from book/190-cuda.nw; edit the book, not this file. */
#include <cuda_runtime.h>
#include <math.h>

#include "tp/kernels.h"

/* <<rows: warps>> */
enum { WARP = 32, ROW_THREADS = 256 };

static __device__ float warp_sum(float v)
{
    for (int offset = WARP / 2; offset > 0; offset /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

static unsigned blocks_for(long threads)
{
    return (unsigned)((threads + ROW_THREADS - 1) / ROW_THREADS);
}

/* <<rows: softmax>> */
static __global__ void softmax_v1(int rows, int cols, const float *x,
                                  float *y)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows)
        return;
    const float *xr = x + (size_t)r * cols;
    float *yr = y + (size_t)r * cols, max = -INFINITY, sum = 0;
    for (int j = 0; j < cols; j++)
        max = fmaxf(max, xr[j]);
    for (int j = 0; j < cols; j++)
        sum += expf(xr[j] - max);
    for (int j = 0; j < cols; j++)
        yr[j] = expf(xr[j] - max) / sum;
}
/* <<rows: softmax>> */
struct online { float max, sum; };

static __device__ online online_add(online o, float x)
{
    float max = fmaxf(o.max, x);
    return {max, o.sum * expf(o.max - max) + expf(x - max)};
}

static __device__ online online_merge(online a, online b)
{
    float max = fmaxf(a.max, b.max);
    if (max == -INFINITY)
        return a;
    return {max, a.sum * expf(a.max - max) + b.sum * expf(b.max - max)};
}
/* <<rows: softmax>> */
static __global__ void softmax_v2(int rows, int cols, const float *x,
                                  float *y)
{
    int r = (blockIdx.x * blockDim.x + threadIdx.x) / WARP;
    int lane = threadIdx.x % WARP;
    if (r >= rows)
        return;  /* the whole warp: r is the same in every lane */
    const float *xr = x + (size_t)r * cols;
    float *yr = y + (size_t)r * cols;
    online o = {-INFINITY, 0};
    for (int j = lane; j < cols; j += WARP)
        o = online_add(o, xr[j]);
    for (int offset = WARP / 2; offset > 0; offset /= 2)
        o = online_merge(o, {__shfl_xor_sync(0xffffffffu, o.max, offset),
                             __shfl_xor_sync(0xffffffffu, o.sum, offset)});
    float inverse = 1 / o.sum;
    for (int j = lane; j < cols; j += WARP)
        yr[j] = expf(xr[j] - o.max) * inverse;
}
/* <<rows: softmax>> */
void tp_cuda_softmax_v1(const tp_kernel_args *s)
{
    softmax_v1<<<blocks_for(s->rows), ROW_THREADS>>>(
        s->rows, s->cols, (const float *)s->in[0], (float *)s->out[0]);
    TP_CUDA_CHECK(cudaGetLastError());
}

void tp_cuda_softmax_v2(const tp_kernel_args *s)
{
    softmax_v2<<<blocks_for((long)s->rows * WARP), ROW_THREADS>>>(
        s->rows, s->cols, (const float *)s->in[0], (float *)s->out[0]);
    TP_CUDA_CHECK(cudaGetLastError());
}

/* <<rows: layernorm>> */
static __global__ void layernorm_v1(int rows, int cols, const float *x,
                                    const float *gain, const float *bias,
                                    float *y, float *mean, float *rstd)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows)
        return;
    const float *xr = x + (size_t)r * cols;
    float *yr = y + (size_t)r * cols, sum = 0, squares = 0;
    for (int j = 0; j < cols; j++)
        sum += xr[j];
    float mu = sum / cols;
    for (int j = 0; j < cols; j++)
        squares += (xr[j] - mu) * (xr[j] - mu);
    float s = rsqrtf(squares / cols + TP_LAYERNORM_EPS);
    for (int j = 0; j < cols; j++)
        yr[j] = (xr[j] - mu) * s * gain[j] + bias[j];
    mean[r] = mu, rstd[r] = s;
}
/* <<rows: layernorm>> */
struct moments { float count, mean, m2; };

static __device__ moments moments_add(moments a, float x)
{
    float count = a.count + 1, delta = x - a.mean;
    float mean = a.mean + delta / count;
    return {count, mean, a.m2 + delta * (x - mean)};
}

static __device__ moments moments_merge(moments a, moments b)
{
    float count = a.count + b.count;
    if (count == 0)
        return a;
    float delta = b.mean - a.mean, share = b.count / count;
    return {count, a.mean + delta * share,
            a.m2 + b.m2 + delta * delta * a.count * share};
}
/* <<rows: layernorm>> */
static __global__ void layernorm_v2(int rows, int cols, const float *x,
                                    const float *gain, const float *bias,
                                    float *y, float *mean, float *rstd)
{
    int r = (blockIdx.x * blockDim.x + threadIdx.x) / WARP;
    int lane = threadIdx.x % WARP;
    if (r >= rows)
        return;
    const float *xr = x + (size_t)r * cols;
    float *yr = y + (size_t)r * cols;
    /* <<layernorm v2: the row's moments, in every lane>> */
    moments o = {0, 0, 0};
    for (int j = lane; j < cols; j += WARP)
        o = moments_add(o, xr[j]);
    for (int offset = WARP / 2; offset > 0; offset /= 2)
        o = moments_merge(o, {__shfl_xor_sync(0xffffffffu, o.count, offset),
                              __shfl_xor_sync(0xffffffffu, o.mean, offset),
                              __shfl_xor_sync(0xffffffffu, o.m2, offset)});
    o.mean = __shfl_sync(0xffffffffu, o.mean, 0);
    o.m2 = __shfl_sync(0xffffffffu, o.m2, 0);
    float mu = o.mean, s = rsqrtf(o.m2 / cols + TP_LAYERNORM_EPS);
    for (int j = lane; j < cols; j += WARP)
        yr[j] = (xr[j] - mu) * s * gain[j] + bias[j];
    if (lane == 0)
        mean[r] = mu, rstd[r] = s;
}
/* <<rows: layernorm>> */
#define LAYERNORM_ARGS(a)                                                 \
    (a)->rows, (a)->cols, (const float *)(a)->in[0],                      \
        (const float *)(a)->in[1], (const float *)(a)->in[2],             \
        (float *)(a)->out[0], (float *)(a)->out[1], (float *)(a)->out[2]

void tp_cuda_layernorm_v1(const tp_kernel_args *a)
{
    layernorm_v1<<<blocks_for(a->rows), ROW_THREADS>>>(LAYERNORM_ARGS(a));
    TP_CUDA_CHECK(cudaGetLastError());
}

void tp_cuda_layernorm_v2(const tp_kernel_args *a)
{
    layernorm_v2<<<blocks_for((long)a->rows * WARP), ROW_THREADS>>>(
        LAYERNORM_ARGS(a));
    TP_CUDA_CHECK(cudaGetLastError());
}

/* <<rows: layernorm backward>> */
static __global__ void layernorm_backward_rows_v1(
    int rows, int cols, const float *dy, const float *x, const float *gain,
    const float *mean, const float *rstd, float *dx)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows)
        return;
    size_t at = (size_t)r * cols;
    float mu = mean[r], s = rstd[r], mean_h = 0, mean_hx = 0;
    for (int j = 0; j < cols; j++) {
        float h = gain[j] * dy[at + j];
        mean_h += h, mean_hx += h * (x[at + j] - mu) * s;
    }
    mean_h /= cols, mean_hx /= cols;
    for (int j = 0; j < cols; j++) {
        float xhat = (x[at + j] - mu) * s;
        dx[at + j] = s * (gain[j] * dy[at + j] - mean_h - xhat * mean_hx);
    }
}
/* <<rows: layernorm backward>> */
static __global__ void layernorm_backward_columns_v1(
    int rows, int cols, const float *dy, const float *x, const float *mean,
    const float *rstd, float *dgain, float *dbias)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= cols)
        return;
    float dg = 0, db = 0;
    for (int r = 0; r < rows; r++) {
        size_t at = (size_t)r * cols + j;
        dg += dy[at] * (x[at] - mean[r]) * rstd[r];
        db += dy[at];
    }
    dgain[j] = dg, dbias[j] = db;
}
/* <<rows: layernorm backward>> */
void tp_cuda_layernorm_backward_v1(const tp_kernel_args *a)
{
    const float *dy = (const float *)a->in[0], *x = (const float *)a->in[1];
    const float *gain = (const float *)a->in[2];
    const float *mean = (const float *)a->in[3];
    const float *rstd = (const float *)a->in[4];
    layernorm_backward_rows_v1<<<blocks_for(a->rows), ROW_THREADS>>>(
        a->rows, a->cols, dy, x, gain, mean, rstd, (float *)a->out[0]);
    TP_CUDA_CHECK(cudaGetLastError());
    layernorm_backward_columns_v1<<<blocks_for(a->cols), ROW_THREADS>>>(
        a->rows, a->cols, dy, x, mean, rstd, (float *)a->out[1],
        (float *)a->out[2]);
    TP_CUDA_CHECK(cudaGetLastError());
}
/* <<rows: layernorm backward>> */
static __global__ void layernorm_backward_v2(
    int rows, int cols, const float *dy, const float *x, const float *gain,
    const float *mean, const float *rstd, float *dx, float *dgain,
    float *dbias)
{
    extern __shared__ float column_sums[];  /* dgain, then dbias */
    for (int j = threadIdx.x; j < 2 * cols; j += blockDim.x)
        column_sums[j] = 0;
    __syncthreads();
    int warps = blockDim.x / WARP, lane = threadIdx.x % WARP;
    for (int r = blockIdx.x * warps + threadIdx.x / WARP; r < rows;
         r += gridDim.x * warps) {
        /* <<layernorm backward v2: one row, by one warp>> */
        size_t at = (size_t)r * cols;
        float mu = mean[r], s = rstd[r], mean_h = 0, mean_hx = 0;
        for (int j = lane; j < cols; j += WARP) {
            float h = gain[j] * dy[at + j];
            mean_h += h, mean_hx += h * (x[at + j] - mu) * s;
        }
        mean_h = warp_sum(mean_h) / cols, mean_hx = warp_sum(mean_hx) / cols;
        for (int j = lane; j < cols; j += WARP) {
            float g = dy[at + j], xhat = (x[at + j] - mu) * s;
            dx[at + j] = s * (gain[j] * g - mean_h - xhat * mean_hx);
            atomicAdd(&column_sums[j], g * xhat);
            atomicAdd(&column_sums[cols + j], g);
        }
    }
    __syncthreads();
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        atomicAdd(&dgain[j], column_sums[j]);
        atomicAdd(&dbias[j], column_sums[cols + j]);
    }
}
/* <<rows: layernorm backward>> */
void tp_cuda_layernorm_backward_v2(const tp_kernel_args *a)
{
    size_t shared = 2 * (size_t)a->cols * sizeof(float);
    /* <<layernorm backward v2: make room for the column sums>> */
    int most = 0;
    TP_CUDA_CHECK(cudaDeviceGetAttribute(
        &most, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
    if (shared > (size_t)most)
        tp_cuda_fail(__FILE__, __LINE__, "layernorm backward v2",
                     "rows too long for the column sums in shared memory");
    TP_CUDA_CHECK(cudaFuncSetAttribute(layernorm_backward_v2,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       (int)shared));
    int sms = 0;
    TP_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount,
                                         0));
    unsigned warps = ROW_THREADS / WARP;
    unsigned wanted = (a->rows + warps - 1) / warps;
    unsigned blocks = wanted < 4u * sms ? wanted : 4u * sms;
    TP_CUDA_CHECK(cudaMemsetAsync(a->out[1], 0, a->cols * sizeof(float), 0));
    TP_CUDA_CHECK(cudaMemsetAsync(a->out[2], 0, a->cols * sizeof(float), 0));
    layernorm_backward_v2<<<blocks, ROW_THREADS, shared>>>(
        a->rows, a->cols, (const float *)a->in[0], (const float *)a->in[1],
        (const float *)a->in[2], (const float *)a->in[3],
        (const float *)a->in[4], (float *)a->out[0], (float *)a->out[1],
        (float *)a->out[2]);
    TP_CUDA_CHECK(cudaGetLastError());
}

/* <<rows: bias and GELU>> */
static __device__ float gelu(float t)
{
    const float k = 0.7978845608f;  /* sqrt(2 / pi) */
    return 0.5f * t * (1 + tanhf(k * (t + 0.044715f * t * t * t)));
}

static __global__ void add_bias(long count, int cols, const float *x,
                                const float *bias, float *y)
{
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count)
        y[i] = x[i] + bias[i % cols];
}

static __global__ void gelu_in_place(long count, float *y)
{
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count)
        y[i] = gelu(y[i]);
}
/* <<rows: bias and GELU>> */
void tp_cuda_bias_gelu_v1(const tp_kernel_args *a)
{
    long count = (long)a->rows * a->cols;
    float *y = (float *)a->out[0];
    add_bias<<<blocks_for(count), ROW_THREADS>>>(
        count, a->cols, (const float *)a->in[0], (const float *)a->in[1], y);
    TP_CUDA_CHECK(cudaGetLastError());
    gelu_in_place<<<blocks_for(count), ROW_THREADS>>>(count, y);
    TP_CUDA_CHECK(cudaGetLastError());
}
/* <<rows: bias and GELU>> */
static __global__ void bias_gelu_v2(long quads, int cols, const float4 *x,
                                    const float *bias, float4 *y)
{
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= quads)
        return;
    float4 v = x[i];
    int j = (int)(i * 4 % cols);  /* four columns of one row */
    y[i] = make_float4(gelu(v.x + bias[j]), gelu(v.y + bias[j + 1]),
                       gelu(v.z + bias[j + 2]), gelu(v.w + bias[j + 3]));
}

static __global__ void bias_gelu_v2_single(long count, int cols,
                                           const float *x, const float *bias,
                                           float *y)
{
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count)
        y[i] = gelu(x[i] + bias[i % cols]);
}
/* <<rows: bias and GELU>> */
void tp_cuda_bias_gelu_v2(const tp_kernel_args *a)
{
    long count = (long)a->rows * a->cols;
    const float *x = (const float *)a->in[0], *bias = (const float *)a->in[1];
    float *y = (float *)a->out[0];
    if (a->cols % 4 == 0)
        bias_gelu_v2<<<blocks_for(count / 4), ROW_THREADS>>>(
            count / 4, a->cols, (const float4 *)x, bias, (float4 *)y);
    else
        bias_gelu_v2_single<<<blocks_for(count), ROW_THREADS>>>(
            count, a->cols, x, bias, y);
    TP_CUDA_CHECK(cudaGetLastError());
}
