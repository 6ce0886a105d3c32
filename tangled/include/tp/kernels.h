/* Generated from book/190-cuda.nw; edit the book, not this file. */
#ifndef TP_KERNELS_H
#define TP_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_kernel_args {
    int rows, cols, inner;  /* GEMM: M, N, K; row operations: rows x cols */
    const void *in[6];      /* device pointers */
    void *out[3];
} tp_kernel_args;

#define TP_LAYERNORM_EPS 1e-5f  /* GPT-2's */

void tp_cuda_check(int status, const char *call, const char *file,
                   int line);
void tp_cuda_fail(const char *file, int line, const char *call,
                  const char *reason);
#define TP_CUDA_CHECK(call) \
    tp_cuda_check((int)(call), #call, __FILE__, __LINE__)

/* cuBLAS's function NAME, from the library opened on first use; in the
   CUDA files TP_CUBLAS(cublasSgemm)(...) calls it with its own type,
   TP_CUBLAS_AS(type, f) with the type of one of f's C++ overloads */
void *tp_cuda_cublas_symbol(const char *name);
#define TP_CUBLAS_NAME(f) TP_CUBLAS_STRING(f)  /* after cublas_v2.h's */
#define TP_CUBLAS_STRING(f) #f                 /* renaming to f_v2 */
#define TP_CUBLAS(f) TP_CUBLAS_AS(decltype(f), f)
#define TP_CUBLAS_AS(type, f) \
    ([] { \
        static type *p = reinterpret_cast<type *>( \
            tp_cuda_cublas_symbol(TP_CUBLAS_NAME(f))); \
        return p; \
    }())

/* <<kernels: launchers>> */
/* gemm: C = A B in FP32; A is M x K, B is K x N, C is M x N, row-major */
void tp_cuda_gemm_cublas(const tp_kernel_args *args);
void tp_cuda_gemm_v1(const tp_kernel_args *args);
void tp_cuda_gemm_v2(const tp_kernel_args *args);
void tp_cuda_gemm_v3(const tp_kernel_args *args);
void tp_cuda_gemm_v4(const tp_kernel_args *args);
/* gemm-bf16: the same with A and B in bfloat16; C and the sums in FP32 */
void tp_cuda_gemm_bf16_cublas(const tp_kernel_args *args);
void tp_cuda_gemm_bf16_v5(const tp_kernel_args *args);
/* <<kernels: launchers>> */
/* rows x cols row operations; inputs and outputs as tp/gpu.c lists them */
void tp_cuda_softmax_v1(const tp_kernel_args *args);
void tp_cuda_softmax_v2(const tp_kernel_args *args);
void tp_cuda_layernorm_v1(const tp_kernel_args *args);
void tp_cuda_layernorm_v2(const tp_kernel_args *args);
void tp_cuda_layernorm_backward_v1(const tp_kernel_args *args);
void tp_cuda_layernorm_backward_v2(const tp_kernel_args *args);
void tp_cuda_bias_gelu_v1(const tp_kernel_args *args);
void tp_cuda_bias_gelu_v2(const tp_kernel_args *args);

#ifdef __cplusplus
}
#endif

#endif
