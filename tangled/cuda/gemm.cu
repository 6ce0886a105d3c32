/* Generated from book/190-cuda.nw; edit the book, not this file. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

#include "tp/kernels.h"

/* <<gemm: cuBLAS, opened on first use>> */
#define TP_CUBLAS_LIBRARY "libcublas.so." TP_CUBLAS_NAME(CUBLAS_VER_MAJOR)

void *tp_cuda_cublas_symbol(const char *name)
{
    static void *library = dlopen(TP_CUBLAS_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL)
        tp_cuda_fail(__FILE__, __LINE__, "dlopen(" TP_CUBLAS_LIBRARY ")",
                     dlerror());
    void *function = dlsym(library, name);
    if (function == NULL)
        tp_cuda_fail(__FILE__, __LINE__, name, dlerror());
    return function;
}

/* <<gemm: cuBLAS, version 0>> */
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
/* <<gemm: cuBLAS, version 0>> */
void tp_cuda_gemm_cublas(const tp_kernel_args *g)
{
    const float one = 1, zero = 0;
    CUBLAS_CHECK(TP_CUBLAS(cublasSgemm)(
        cublas(), CUBLAS_OP_N, CUBLAS_OP_N, g->cols, g->rows, g->inner, &one,
        (const float *)g->in[1], g->cols, (const float *)g->in[0], g->inner,
        &zero, (float *)g->out[0], g->cols));
}

/* <<gemm: v1, the naive kernel>> */
static __global__ void gemm_v1(int m, int n, int k, const float *a,
                               const float *b, float *c)
{
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    int row = blockIdx.y * blockDim.y + threadIdx.y;
    if (row >= m || col >= n)
        return;
    float sum = 0;
    for (int p = 0; p < k; p++)
        sum += a[(size_t)row * k + p] * b[(size_t)p * n + col];
    c[(size_t)row * n + col] = sum;
}
/* <<gemm: v1, the naive kernel>> */
static unsigned tiles(int size, int tile)
{
    return (unsigned)((size + tile - 1) / tile);
}

void tp_cuda_gemm_v1(const tp_kernel_args *g)
{
    dim3 block(16, 16), grid(tiles(g->cols, 16), tiles(g->rows, 16));
    gemm_v1<<<grid, block>>>(g->rows, g->cols, g->inner,
                             (const float *)g->in[0],
                             (const float *)g->in[1], (float *)g->out[0]);
    TP_CUDA_CHECK(cudaGetLastError());
}

/* <<gemm: v2, tiles in shared memory>> */
enum { TILE2 = 32 };

static __global__ void gemm_v2(int m, int n, int k, const float *a,
                               const float *b, float *c)
{
    __shared__ float as[TILE2][TILE2], bs[TILE2][TILE2];
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * TILE2 + ty, col = blockIdx.x * TILE2 + tx;
    float sum = 0;
    for (int p0 = 0; p0 < k; p0 += TILE2) {
        /* <<gemm v2: load a tile of A and a tile of B>> */
        as[ty][tx] = row < m && p0 + tx < k ? a[(size_t)row * k + p0 + tx] : 0.0f;
        bs[ty][tx] = p0 + ty < k && col < n ? b[(size_t)(p0 + ty) * n + col] : 0.0f;
        __syncthreads();
        for (int p = 0; p < TILE2; p++)
            sum += as[ty][p] * bs[p][tx];
        __syncthreads();
    }
    if (row < m && col < n)
        c[(size_t)row * n + col] = sum;
}
/* <<gemm: v2, tiles in shared memory>> */
void tp_cuda_gemm_v2(const tp_kernel_args *g)
{
    dim3 block(TILE2, TILE2), grid(tiles(g->cols, TILE2),
                                   tiles(g->rows, TILE2));
    gemm_v2<<<grid, block>>>(g->rows, g->cols, g->inner,
                             (const float *)g->in[0],
                             (const float *)g->in[1], (float *)g->out[0]);
    TP_CUDA_CHECK(cudaGetLastError());
}

/* <<gemm: v3, a block of outputs per thread>> */
enum { BM3 = 128, BN3 = 128, BK3 = 8, TM3 = 8, TN3 = 8, THREADS3 = 256 };

static __global__ void __launch_bounds__(THREADS3)
gemm_v3(int m, int n, int k, const float *a, const float *b, float *c)
{
    __shared__ float as[BK3][BM3];  /* the tile of A, transposed */
    __shared__ float bs[BK3][BN3];
    int t = threadIdx.x, tr = t / (BN3 / TN3), tc = t % (BN3 / TN3);
    int row0 = blockIdx.y * BM3, col0 = blockIdx.x * BN3;
    float acc[TM3][TN3] = {};
    for (int p0 = 0; p0 < k; p0 += BK3) {
        /* <<gemm v3: load the tiles, four elements per thread each>> */
        for (int i = t; i < BM3 * BK3; i += THREADS3) {
            int r = i / BK3, p = i % BK3;
            bool inside = row0 + r < m && p0 + p < k;
            as[p][r] = inside ? a[(size_t)(row0 + r) * k + p0 + p] : 0.0f;
        }
        for (int i = t; i < BK3 * BN3; i += THREADS3) {
            int p = i / BN3, j = i % BN3;
            bool inside = p0 + p < k && col0 + j < n;
            bs[p][j] = inside ? b[(size_t)(p0 + p) * n + col0 + j] : 0.0f;
        }
        __syncthreads();
        /* <<gemm v3: multiply the tiles into the thread's registers>> */
        #pragma unroll
        for (int p = 0; p < BK3; p++) {
            float ra[TM3], rb[TN3];
        #pragma unroll
            for (int i = 0; i < TM3; i++)
                ra[i] = as[p][tr * TM3 + i];
        #pragma unroll
            for (int j = 0; j < TN3; j++)
                rb[j] = bs[p][tc * TN3 + j];
        #pragma unroll
            for (int i = 0; i < TM3; i++)
        #pragma unroll
                for (int j = 0; j < TN3; j++)
                    acc[i][j] += ra[i] * rb[j];
        }
        __syncthreads();
    }
    /* <<gemm v3: store the thread's outputs>> */
    #pragma unroll
    for (int i = 0; i < TM3; i++)
    #pragma unroll
        for (int j = 0; j < TN3; j++) {
            int row = row0 + tr * TM3 + i, col = col0 + tc * TN3 + j;
            if (row < m && col < n)
                c[(size_t)row * n + col] = acc[i][j];
        }
}
/* <<gemm: v3, a block of outputs per thread>> */
void tp_cuda_gemm_v3(const tp_kernel_args *g)
{
    dim3 grid(tiles(g->cols, BN3), tiles(g->rows, BM3));
    gemm_v3<<<grid, THREADS3>>>(g->rows, g->cols, g->inner,
                                (const float *)g->in[0],
                                (const float *)g->in[1], (float *)g->out[0]);
    TP_CUDA_CHECK(cudaGetLastError());
}

/* <<gemm: helpers of v4>> */
static __device__ float4 load4(const float *p, int rows, int cols, int row,
                               int col)
{
    if (row < rows && col + 3 < cols && cols % 4 == 0)
        return *reinterpret_cast<const float4 *>(p + (size_t)row * cols + col);
    float v[4];
    for (int q = 0; q < 4; q++)
        v[q] = row < rows && col + q < cols ? p[(size_t)row * cols + col + q]
                                            : 0.0f;
    return make_float4(v[0], v[1], v[2], v[3]);
}
/* <<gemm: helpers of v4>> */
static __device__ void outer4(float acc[4][4], float4 a, float4 b)
{
    const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
            acc[i][j] += av[i] * bv[j];
}

/* <<gemm: v4, warp tiles>> */
enum { BM4 = 128, BN4 = 128, BK4 = 16, THREADS4 = 256 };

static __global__ void __launch_bounds__(THREADS4)
gemm_v4(int m, int n, int k, const float *a, const float *b, float *c)
{
    __shared__ __align__(16) float as[BK4][BM4];  /* transposed */
    __shared__ __align__(16) float bs[BK4][BN4];
    int t = threadIdx.x, warp = t / 32, lane = t % 32;
    int wm = warp / 4 * 64, wn = warp % 4 * 32;  /* the warp's region */
    int lr = lane / 4, lc = lane % 4;            /* the lane's place in it */
    int row0 = blockIdx.y * BM4, col0 = blockIdx.x * BN4;
    float acc[2][2][4][4] = {};
    for (int p0 = 0; p0 < k; p0 += BK4) {
        /* <<gemm v4: load the tiles, 16 bytes at a time>> */
        for (int j = 0; j < 2; j++) {
            int r = t / 4 + 64 * j, kq = t % 4 * 4;
            float4 v = load4(a, m, k, row0 + r, p0 + kq);
            as[kq][r] = v.x, as[kq + 1][r] = v.y;
            as[kq + 2][r] = v.z, as[kq + 3][r] = v.w;
            int kr = t / 32 + 8 * j, cq = t % 32 * 4;
            *reinterpret_cast<float4 *>(&bs[kr][cq]) =
                load4(b, k, n, p0 + kr, col0 + cq);
        }
        __syncthreads();
        /* <<gemm v4: multiply the tiles, one warp tile per warp>> */
        #pragma unroll
        for (int p = 0; p < BK4; p++) {
            float4 ra[2], rb[2];
        #pragma unroll
            for (int s = 0; s < 2; s++) {
                ra[s] = *reinterpret_cast<const float4 *>(&as[p][wm + s * 32
                                                                 + lr * 4]);
                rb[s] = *reinterpret_cast<const float4 *>(&bs[p][wn + s * 16
                                                                 + lc * 4]);
            }
        #pragma unroll
            for (int mi = 0; mi < 2; mi++)
        #pragma unroll
                for (int ni = 0; ni < 2; ni++)
                    outer4(acc[mi][ni], ra[mi], rb[ni]);
        }
        __syncthreads();
    }
    /* <<gemm v4: store the lane's outputs>> */
    #pragma unroll
    for (int mi = 0; mi < 2; mi++)
    #pragma unroll
        for (int ni = 0; ni < 2; ni++)
    #pragma unroll
            for (int i = 0; i < 4; i++)
    #pragma unroll
                for (int j = 0; j < 4; j++) {
                    int row = row0 + wm + mi * 32 + lr * 4 + i;
                    int col = col0 + wn + ni * 16 + lc * 4 + j;
                    if (row < m && col < n)
                        c[(size_t)row * n + col] = acc[mi][ni][i][j];
                }
}
/* <<gemm: v4, warp tiles>> */
void tp_cuda_gemm_v4(const tp_kernel_args *g)
{
    dim3 grid(tiles(g->cols, BN4), tiles(g->rows, BM4));
    gemm_v4<<<grid, THREADS4>>>(g->rows, g->cols, g->inner,
                                (const float *)g->in[0],
                                (const float *)g->in[1], (float *)g->out[0]);
    TP_CUDA_CHECK(cudaGetLastError());
}

/* <<gemm: helpers of v5>> */
static __device__ void mma_bf16_16x8x16(float d[4], const uint32_t a[4],
                                 const uint32_t b[2])
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]),
                   "r"(b[1]));
}
/* <<gemm: helpers of v5>> */
static __device__ uint4 load8(const uint16_t *p, int rows, int cols, int row,
                       int col)
{
    if (row < rows && col + 7 < cols && cols % 8 == 0)
        return *reinterpret_cast<const uint4 *>(p + (size_t)row * cols + col);
    uint16_t v[8];
    for (int i = 0; i < 8; i++)
        v[i] = row < rows && col + i < cols ? p[(size_t)row * cols + col + i]
                                            : 0;
    uint4 packed;
    memcpy(&packed, v, sizeof packed);
    return packed;
}
/* <<gemm: helpers of v5>> */
static __device__ uint32_t word(const uint16_t *pair)
{
    return *reinterpret_cast<const uint32_t *>(pair);
}

/* <<gemm: v5, tensor cores>> */
enum { BM5 = 128, BN5 = 128, BK5 = 32, PAD5 = 8, THREADS5 = 256 };

static __global__ void __launch_bounds__(THREADS5)
gemm_v5(int m, int n, int k, const uint16_t *a, const uint16_t *b, float *c)
{
    __shared__ __align__(16) uint16_t as[BM5][BK5 + PAD5];
    __shared__ __align__(16) uint16_t bs[BN5][BK5 + PAD5];  /* transposed */
    int t = threadIdx.x, warp = t / 32, lane = t % 32;
    int wm = warp / 4 * 64, wn = warp % 4 * 32;
    int g = lane / 4, q = lane % 4;
    int row0 = blockIdx.y * BM5, col0 = blockIdx.x * BN5;
    float acc[4][4][4] = {};
    for (int p0 = 0; p0 < k; p0 += BK5) {
        /* <<gemm v5: load the tiles, B transposed>> */
        for (int j = 0; j < 2; j++) {
            int r = t / 4 + 64 * j, kc = t % 4 * 8;
            *reinterpret_cast<uint4 *>(&as[r][kc]) = load8(a, m, k, row0 + r, p0 + kc);
            int kr = t / 16 + 16 * j, nc = t % 16 * 8;
            uint4 v = load8(b, k, n, p0 + kr, col0 + nc);
            uint16_t e[8];
            memcpy(e, &v, sizeof e);
            for (int i = 0; i < 8; i++)
                bs[nc + i][kr] = e[i];
        }
        __syncthreads();
        /* <<gemm v5: two steps of tensor-core products>> */
        #pragma unroll
        for (int ks = 0; ks < BK5; ks += 16) {
            uint32_t fa[4][4], fb[4][2];
        #pragma unroll
            for (int mi = 0; mi < 4; mi++) {
                const uint16_t *top = &as[wm + mi * 16 + g][ks + 2 * q];
                const uint16_t *bottom = &as[wm + mi * 16 + g + 8][ks + 2 * q];
                fa[mi][0] = word(top), fa[mi][1] = word(bottom);
                fa[mi][2] = word(top + 8), fa[mi][3] = word(bottom + 8);
            }
        #pragma unroll
            for (int ni = 0; ni < 4; ni++) {
                const uint16_t *column = &bs[wn + ni * 8 + g][ks + 2 * q];
                fb[ni][0] = word(column), fb[ni][1] = word(column + 8);
            }
        #pragma unroll
            for (int mi = 0; mi < 4; mi++)
        #pragma unroll
                for (int ni = 0; ni < 4; ni++)
                    mma_bf16_16x8x16(acc[mi][ni], fa[mi], fb[ni]);
        }
        __syncthreads();
    }
    /* <<gemm v5: store the sums>> */
    #pragma unroll
    for (int mi = 0; mi < 4; mi++)
    #pragma unroll
        for (int ni = 0; ni < 4; ni++)
    #pragma unroll
            for (int i = 0; i < 4; i++) {
                int row = row0 + wm + mi * 16 + g + i / 2 * 8;
                int col = col0 + wn + ni * 8 + 2 * q + i % 2;
                if (row < m && col < n)
                    c[(size_t)row * n + col] = acc[mi][ni][i];
            }
}
/* <<gemm: v5, tensor cores>> */
void tp_cuda_gemm_bf16_v5(const tp_kernel_args *g)
{
    dim3 grid(tiles(g->cols, BN5), tiles(g->rows, BM5));
    gemm_v5<<<grid, THREADS5>>>(g->rows, g->cols, g->inner,
                                (const uint16_t *)g->in[0],
                                (const uint16_t *)g->in[1],
                                (float *)g->out[0]);
    TP_CUDA_CHECK(cudaGetLastError());
}

/* the library's cublasGemmEx; C++ also sees an inline overload */
typedef cublasStatus_t gemm_ex(cublasHandle_t, cublasOperation_t,
                               cublasOperation_t, int, int, int,
                               const void *, const void *, cudaDataType,
                               int, const void *, cudaDataType, int,
                               const void *, void *, cudaDataType, int,
                               cublasComputeType_t, cublasGemmAlgo_t);

void tp_cuda_gemm_bf16_cublas(const tp_kernel_args *g)
{
    const float one = 1, zero = 0;
    CUBLAS_CHECK(TP_CUBLAS_AS(gemm_ex, cublasGemmEx)(
        cublas(), CUBLAS_OP_N, CUBLAS_OP_N, g->cols, g->rows, g->inner, &one,
        g->in[1], CUDA_R_16BF, g->cols, g->in[0], CUDA_R_16BF, g->inner,
        &zero, g->out[0], CUDA_R_32F, g->cols, CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT));
}
