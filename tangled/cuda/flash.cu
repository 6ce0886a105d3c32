/* Generated from book/385-hardware.nw; edit the book, not this file. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "tp/flash.h"
#include "tp/kernels.h"

/* <<flash kernels: shared pieces>> */
enum { WARP = 32, ROWS = 32, KEYS = 32, PARTS = 4,
       TILE_THREADS = ROWS * PARTS };

static void validate(const tp_kernel_args *a)
{
    char why[256];
    if (tp_flash_validate(a->inner, a->rows, a->cols, why, sizeof why) != 0)
        tp_cuda_fail(__FILE__, __LINE__, "tp_flash_validate", why);
}
/* <<flash kernels: shared pieces>> */
static __device__ float warp_sum(float v)
{
    for (int offset = WARP / 2; offset > 0; offset /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

template <int D>
static __device__ float block_sum(float v, float *partial)
{
    v = warp_sum(v);
    if (threadIdx.x % WARP == 0)
        partial[threadIdx.x / WARP] = v;
    __syncthreads();
    float total = 0;
#pragma unroll
    for (int w = 0; w < D / WARP; w++)
        total += partial[w];
    __syncthreads();
    return total;
}
/* <<flash kernels: shared pieces>> */
template <int D>
static __device__ void attend_row(const float *q, const float *k,
                                  const float *v, int keys, float scale,
                                  float *o, float *lse)
{
    __shared__ float partial[D / WARP];
    int c = threadIdx.x;
    float qc = q[c] * scale, max = -INFINITY, sum = 0, acc = 0;
    for (int j = 0; j < keys; j++) {
        float s = block_sum<D>(qc * k[(size_t)j * D + c], partial);
        float new_max = fmaxf(max, s);
        float correction = expf(max - new_max), p = expf(s - new_max);
        sum = sum * correction + p;
        acc = acc * correction + p * v[(size_t)j * D + c];
        max = new_max;
    }
    o[c] = acc / sum;
    if (c == 0)
        *lse = max + logf(sum);
}
/* <<flash kernels: shared pieces>> */
static __device__ float parts_sum(float v)  /* over the PARTS lanes of a row */
{
    for (int offset = PARTS / 2; offset > 0; offset /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

template <int D>
static __device__ void load_tile(float (*tile)[D], const float *x, int n,
                                 int row0)
{
    for (int e = threadIdx.x; e < KEYS * D; e += TILE_THREADS) {
        int r = e / D, c = e % D;
        tile[r][c] = row0 + r < n ? x[(size_t)(row0 + r) * D + c] : 0.0f;
    }
}
/* <<flash kernels: shared pieces>> */
static void *scratch(size_t bytes)
{
    static void *buffer = NULL;
    static size_t size = 0;
    if (bytes > size) {
        if (buffer != NULL)
            TP_CUDA_CHECK(cudaFree(buffer));
        TP_CUDA_CHECK(cudaMalloc(&buffer, bytes));
        size = bytes;
    }
    return buffer;
}

/* <<flash kernels: v1, a block per query row>> */
template <int D>
static __global__ void __launch_bounds__(D)
attention_v1(int n, const float *q, const float *k, const float *v, float *o,
             float *lse)
{
    int i = blockIdx.x;
    size_t head = (size_t)blockIdx.y * n * D;
    attend_row<D>(q + head + (size_t)i * D, k + head, v + head, i + 1,
                  1.0f / sqrtf((float)D), o + head + (size_t)i * D,
                  lse + (size_t)blockIdx.y * n + i);
}

/* <<flash kernels: v2 and v4, tiles with the running softmax>> */
template <int D, bool SKIP>
static __global__ void __launch_bounds__(TILE_THREADS)
attention_tiles(int n, const float *q, const float *k, const float *v,
                float *o, float *lse)
{
    enum { F = D / PARTS };
    __shared__ float ks[KEYS][D], vs[KEYS][D];
    int part = threadIdx.x % PARTS, i = blockIdx.x * ROWS + threadIdx.x / PARTS;
    size_t head = (size_t)blockIdx.y * n * D;
    q += head, k += head, v += head, o += head;
    float scale = 1.0f / sqrtf((float)D), qi[F], acc[F];
#pragma unroll
    for (int f = 0; f < F; f++) {
        qi[f] = i < n ? q[(size_t)i * D + part + PARTS * f] * scale : 0.0f;
        acc[f] = 0;
    }
    float max = -INFINITY, sum = 0;
    int end = SKIP ? min(n, (int)(blockIdx.x + 1) * ROWS) : n;
    for (int j0 = 0; j0 < end; j0 += KEYS) {
        load_tile<D>(ks, k, n, j0);
        load_tile<D>(vs, v, n, j0);
        __syncthreads();
        /* <<attention tiles: the tile's scores, rescaling, weighted values>> */
        float s[KEYS], tile_max = -INFINITY;
        #pragma unroll
        for (int j = 0; j < KEYS; j++) {
            float partial = 0;
        #pragma unroll
            for (int f = 0; f < F; f++)
                partial += qi[f] * ks[j][part + PARTS * f];
            float score = parts_sum(partial);  /* every lane takes part */
            s[j] = j0 + j <= i && j0 + j < n ? score : -INFINITY;
            tile_max = fmaxf(tile_max, s[j]);
        }
        float new_max = fmaxf(max, tile_max);
        float correction = new_max == -INFINITY ? 1.0f : expf(max - new_max);
        sum *= correction;
        #pragma unroll
        for (int f = 0; f < F; f++)
            acc[f] *= correction;
        #pragma unroll
        for (int j = 0; j < KEYS; j++) {
            float p = s[j] == -INFINITY ? 0.0f : expf(s[j] - new_max);
            sum += p;
        #pragma unroll
            for (int f = 0; f < F; f++)
                acc[f] += p * vs[j][part + PARTS * f];
        }
        max = new_max;
        __syncthreads();
    }
    /* <<attention tiles: store the row>> */
    if (i < n) {
    #pragma unroll
        for (int f = 0; f < F; f++)
            o[(size_t)i * D + part + PARTS * f] = acc[f] / sum;
        if (part == 0)
            lse[(size_t)blockIdx.y * n + i] = max + logf(sum);
    }
}

/* <<flash kernels: the backward pass>> */
template <int D>
static __global__ void __launch_bounds__(TILE_THREADS)
attention_backward_keys(int n, const float *q, const float *k, const float *v,
                        const float *o, const float *dout, const float *lse,
                        float *dk, float *dv)
{
    enum { F = D / PARTS };
    __shared__ float qs[ROWS][D], dos[ROWS][D], lses[ROWS], deltas[ROWS];
    int part = threadIdx.x % PARTS, j = blockIdx.x * KEYS + threadIdx.x / PARTS;
    size_t head = (size_t)blockIdx.y * n * D;
    q += head, k += head, v += head, o += head, dout += head, dk += head,
        dv += head, lse += (size_t)blockIdx.y * n;
    float scale = 1.0f / sqrtf((float)D), kj[F], vj[F], dkj[F], dvj[F];
#pragma unroll
    for (int f = 0; f < F; f++) {
        size_t at = (size_t)j * D + part + PARTS * f;
        kj[f] = j < n ? k[at] : 0.0f, vj[f] = j < n ? v[at] : 0.0f;
        dkj[f] = 0, dvj[f] = 0;
    }
    for (int i0 = blockIdx.x * KEYS / ROWS * ROWS; i0 < n; i0 += ROWS) {
        load_tile<D>(qs, q, n, i0);
        load_tile<D>(dos, dout, n, i0);
        /* <<backward keys: the tile's log-sum-exps and row sums>> */
        {
            int r = threadIdx.x / PARTS, i = i0 + r;
            float partial = 0;
        #pragma unroll
            for (int f = 0; f < F; f++) {
                size_t at = (size_t)i * D + part + PARTS * f;
                partial += i < n ? dout[at] * o[at] : 0.0f;
            }
            partial = parts_sum(partial);
            if (part == 0)
                deltas[r] = partial, lses[r] = i < n ? lse[i] : 0.0f;
        }
        __syncthreads();
        /* <<backward keys: each query of the tile>> */
        for (int r = 0; r < ROWS; r++) {
            float s = 0, dp = 0;
        #pragma unroll
            for (int f = 0; f < F; f++) {
                s += qs[r][part + PARTS * f] * kj[f];
                dp += dos[r][part + PARTS * f] * vj[f];
            }
            s = parts_sum(s) * scale, dp = parts_sum(dp);
            int i = i0 + r;
            float p = j <= i && i < n ? expf(s - lses[r]) : 0.0f;
            float ds = p * (dp - deltas[r]);
        #pragma unroll
            for (int f = 0; f < F; f++) {
                dvj[f] += p * dos[r][part + PARTS * f];
                dkj[f] += ds * qs[r][part + PARTS * f];
            }
        }
        __syncthreads();
    }
    /* <<backward keys: store the key's gradients>> */
    if (j < n)
    #pragma unroll
        for (int f = 0; f < F; f++) {
            size_t at = (size_t)j * D + part + PARTS * f;
            dk[at] = dkj[f] * scale, dv[at] = dvj[f];
        }
}
/* <<flash kernels: the backward pass>> */
template <int D>
static __global__ void __launch_bounds__(TILE_THREADS)
attention_backward_queries(int n, const float *q, const float *k,
                           const float *v, const float *o, const float *dout,
                           const float *lse, float *dq)
{
    enum { F = D / PARTS };
    __shared__ float ks[KEYS][D], vs[KEYS][D];
    int part = threadIdx.x % PARTS, i = blockIdx.x * ROWS + threadIdx.x / PARTS;
    size_t head = (size_t)blockIdx.y * n * D;
    q += head, k += head, v += head, o += head, dout += head, dq += head;
    float scale = 1.0f / sqrtf((float)D), qi[F], doi[F], dqi[F], delta = 0;
#pragma unroll
    for (int f = 0; f < F; f++) {
        size_t at = (size_t)i * D + part + PARTS * f;
        qi[f] = i < n ? q[at] : 0.0f, doi[f] = i < n ? dout[at] : 0.0f;
        delta += i < n ? doi[f] * o[at] : 0.0f;
        dqi[f] = 0;
    }
    delta = parts_sum(delta);
    float lse_i = i < n ? lse[(size_t)blockIdx.y * n + i] : 0.0f;
    int end = min(n, (int)(blockIdx.x + 1) * ROWS);
    for (int j0 = 0; j0 < end; j0 += KEYS) {
        load_tile<D>(ks, k, n, j0);
        load_tile<D>(vs, v, n, j0);
        __syncthreads();
        /* <<backward queries: each key of the tile>> */
        for (int c = 0; c < KEYS; c++) {
            float s = 0, dp = 0;
        #pragma unroll
            for (int f = 0; f < F; f++) {
                s += qi[f] * ks[c][part + PARTS * f];
                dp += doi[f] * vs[c][part + PARTS * f];
            }
            s = parts_sum(s) * scale, dp = parts_sum(dp);
            int j = j0 + c;
            float p = j <= i && i < n ? expf(s - lse_i) : 0.0f;
            float ds = p * (dp - delta);
        #pragma unroll
            for (int f = 0; f < F; f++)
                dqi[f] += ds * ks[c][part + PARTS * f];
        }
        __syncthreads();
    }
    if (i < n)
#pragma unroll
        for (int f = 0; f < F; f++)
            dq[(size_t)i * D + part + PARTS * f] = dqi[f] * scale;
}

/* <<flash kernels: decoding, split over the keys>> */
enum { SPLIT_KEYS = 256 };

template <int D>
static __global__ void __launch_bounds__(D)
decode_v1(int n, const float *q, const float *k, const float *v, float *o,
          float *lse)
{
    size_t h = blockIdx.y;
    attend_row<D>(q + h * D, k + h * n * D, v + h * n * D, n,
                  1.0f / sqrtf((float)D), o + h * D, lse + h);
}

template <int D>
static __global__ void __launch_bounds__(D)
decode_split(int n, const float *q, const float *k, const float *v,
             float *partial_o, float *partial_lse)
{
    size_t h = blockIdx.y, split = blockIdx.x, splits = gridDim.x;
    size_t j0 = split * SPLIT_KEYS;
    int keys = min(SPLIT_KEYS, n - (int)j0);
    attend_row<D>(q + h * D, k + (h * n + j0) * D, v + (h * n + j0) * D, keys,
                  1.0f / sqrtf((float)D), partial_o + (h * splits + split) * D,
                  partial_lse + h * splits + split);
}
/* <<flash kernels: decoding, split over the keys>> */
template <int D>
static __global__ void __launch_bounds__(D)
decode_combine(int splits, const float *partial_o, const float *partial_lse,
               float *o, float *lse)
{
    size_t h = blockIdx.x;
    int c = threadIdx.x;
    const float *l = partial_lse + h * splits;
    float max = -INFINITY, sum = 0, acc = 0;
    for (int s = 0; s < splits; s++)
        max = fmaxf(max, l[s]);
    for (int s = 0; s < splits; s++) {
        float w = expf(l[s] - max);
        sum += w;
        acc += w * partial_o[(h * splits + s) * D + c];
    }
    o[h * D + c] = acc / sum;
    if (c == 0)
        lse[h] = max + logf(sum);
}

/* <<flash kernels: v0, cuBLAS and the scores in memory>> */
#define CUBLAS_CHECK(call) cublas_check((call), #call, __FILE__, __LINE__)

static void cublas_check(cublasStatus_t status, const char *call,
                         const char *file, int line)
{
    if (status != CUBLAS_STATUS_SUCCESS)
        tp_cuda_fail(file, line, call,
                     TP_CUBLAS(cublasGetStatusString)(status));
}

static cublasHandle_t cublas(void)
{
    static cublasHandle_t handle = NULL;
    if (handle == NULL)
        CUBLAS_CHECK(TP_CUBLAS(cublasCreate)(&handle));
    return handle;
}
/* <<flash kernels: v0, cuBLAS and the scores in memory>> */
enum { SOFTMAX_THREADS = 256 };

static __device__ float block_max_or_sum(float v, bool max, float *shared)
{
    for (int offset = WARP / 2; offset > 0; offset /= 2) {
        float other = __shfl_xor_sync(0xffffffffu, v, offset);
        v = max ? fmaxf(v, other) : v + other;
    }
    if (threadIdx.x % WARP == 0)
        shared[threadIdx.x / WARP] = v;
    __syncthreads();
    v = shared[0];
    for (int w = 1; w < SOFTMAX_THREADS / WARP; w++)
        v = max ? fmaxf(v, shared[w]) : v + shared[w];
    __syncthreads();
    return v;
}
/* <<flash kernels: v0, cuBLAS and the scores in memory>> */
static __global__ void __launch_bounds__(SOFTMAX_THREADS)
causal_softmax(int n, float *scores, float *lse)
{
    __shared__ float shared[SOFTMAX_THREADS / WARP];
    size_t row = (size_t)blockIdx.y * n + blockIdx.x;
    int i = blockIdx.x;
    float *s = scores + row * n, max = -INFINITY, sum = 0;
    for (int j = threadIdx.x; j <= i; j += SOFTMAX_THREADS)
        max = fmaxf(max, s[j]);
    max = block_max_or_sum(max, true, shared);
    for (int j = threadIdx.x; j <= i; j += SOFTMAX_THREADS)
        sum += expf(s[j] - max);
    sum = block_max_or_sum(sum, false, shared);
    for (int j = threadIdx.x; j < n; j += SOFTMAX_THREADS)
        s[j] = j <= i ? expf(s[j] - max) / sum : 0.0f;
    if (threadIdx.x == 0)
        lse[row] = max + logf(sum);
}
/* <<flash kernels: v0, cuBLAS and the scores in memory>> */
void tp_cuda_attention_cublas(const tp_kernel_args *a)
{
    validate(a);
    int n = a->rows, d = a->cols, heads = a->inner;
    long long nd = (long long)n * d, nn = (long long)n * n;
    float *scores = (float *)scratch((size_t)nn * heads * sizeof(float));
    const float scale = 1.0f / sqrtf((float)d), one = 1, zero = 0;
    CUBLAS_CHECK(TP_CUBLAS(cublasSgemmStridedBatched)(
        cublas(), CUBLAS_OP_T, CUBLAS_OP_N, n, n, d, &scale,
        (const float *)a->in[1], d, nd, (const float *)a->in[0], d, nd, &zero,
        scores, n, nn, heads));
    causal_softmax<<<dim3(n, heads), SOFTMAX_THREADS>>>(n, scores,
                                                         (float *)a->out[1]);
    TP_CUDA_CHECK(cudaGetLastError());
    CUBLAS_CHECK(TP_CUBLAS(cublasSgemmStridedBatched)(
        cublas(), CUBLAS_OP_N, CUBLAS_OP_N, d, n, n, &one,
        (const float *)a->in[2], d, nd, scores, n, nn, &zero,
        (float *)a->out[0], d, nd, heads));
}

/* <<flash kernels: launchers>> */
#define FOR_HEAD_DIM(d, call)                  \
    do {                                       \
        if ((d) == 64) {                       \
            enum { D = 64 };                   \
            call;                              \
        } else {                               \
            enum { D = 128 };                  \
            call;                              \
        }                                      \
    } while (0)

static unsigned tiles(int size, int tile)
{
    return (unsigned)((size + tile - 1) / tile);
}

#define IN(i) ((const float *)a->in[i])
#define OUT(i) ((float *)a->out[i])
/* <<flash kernels: launchers>> */
void tp_cuda_attention_v1(const tp_kernel_args *a)
{
    validate(a);
    dim3 grid(a->rows, a->inner);
    FOR_HEAD_DIM(a->cols, (attention_v1<D><<<grid, D>>>(
                              a->rows, IN(0), IN(1), IN(2), OUT(0), OUT(1))));
    TP_CUDA_CHECK(cudaGetLastError());
}

template <bool SKIP>
static void attention_tiles_launch(const tp_kernel_args *a)
{
    validate(a);
    dim3 grid(tiles(a->rows, ROWS), a->inner);
    FOR_HEAD_DIM(a->cols, (attention_tiles<D, SKIP><<<grid, TILE_THREADS>>>(
                              a->rows, IN(0), IN(1), IN(2), OUT(0), OUT(1))));
    TP_CUDA_CHECK(cudaGetLastError());
}

void tp_cuda_attention_v2(const tp_kernel_args *a)
{
    attention_tiles_launch<false>(a);
}

void tp_cuda_attention_v4(const tp_kernel_args *a)
{
    attention_tiles_launch<true>(a);
}
/* <<flash kernels: launchers>> */
void tp_cuda_attention_backward_v1(const tp_kernel_args *a)
{
    validate(a);
    int n = a->rows;
    dim3 grid(tiles(n, ROWS), a->inner);
    FOR_HEAD_DIM(a->cols, (attention_backward_keys<D><<<grid, TILE_THREADS>>>(
                              n, IN(0), IN(1), IN(2), IN(3), IN(4), IN(5),
                              OUT(1), OUT(2))));
    TP_CUDA_CHECK(cudaGetLastError());
    FOR_HEAD_DIM(a->cols,
                 (attention_backward_queries<D><<<grid, TILE_THREADS>>>(
                     n, IN(0), IN(1), IN(2), IN(3), IN(4), IN(5), OUT(0))));
    TP_CUDA_CHECK(cudaGetLastError());
}
/* <<flash kernels: launchers>> */
void tp_cuda_decode_v1(const tp_kernel_args *a)
{
    validate(a);
    dim3 grid(1, a->inner);
    FOR_HEAD_DIM(a->cols, (decode_v1<D><<<grid, D>>>(
                              a->rows, IN(0), IN(1), IN(2), OUT(0), OUT(1))));
    TP_CUDA_CHECK(cudaGetLastError());
}

void tp_cuda_decode_v4(const tp_kernel_args *a)
{
    validate(a);
    int splits = (int)tiles(a->rows, SPLIT_KEYS), heads = a->inner;
    float *partial_o = (float *)scratch(
        (size_t)heads * splits * (a->cols + 1) * sizeof(float));
    float *partial_lse = partial_o + (size_t)heads * splits * a->cols;
    FOR_HEAD_DIM(a->cols, (decode_split<D><<<dim3(splits, heads), D>>>(
                              a->rows, IN(0), IN(1), IN(2), partial_o,
                              partial_lse)));
    TP_CUDA_CHECK(cudaGetLastError());
    FOR_HEAD_DIM(a->cols, (decode_combine<D><<<heads, D>>>(
                              splits, partial_o, partial_lse, OUT(0),
                              OUT(1))));
    TP_CUDA_CHECK(cudaGetLastError());
}
