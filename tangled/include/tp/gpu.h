/* Generated from book/190-cuda.nw; edit the book, not this file. */
#ifndef TP_GPU_H
#define TP_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tp/random.h"

/* <<gpu: the device and its peaks>> */
typedef struct tp_gpu {
    char name[256];
    int major, minor;        /* compute capability: 8.0 A100, 9.0 H100 */
    int sms;                 /* streaming multiprocessors */
    double clock_hz;         /* the SMs' peak clock */
    double memory_clock_hz;  /* the memory's peak clock */
    int bus_bits;            /* width of the memory bus */
    long l2_bytes;
    long shared_per_sm;      /* shared memory of one SM, in bytes */
    long shared_per_block;   /* the most one block may ask for */
    int registers_per_sm;    /* 32-bit registers */
    int threads_per_sm;      /* resident threads, at most */
} tp_gpu;

int tp_gpu_open(tp_gpu *gpu, char *why, size_t why_size);
double tp_gpu_fp32_peak(const tp_gpu *gpu);  /* FLOP/s, FMA counted as 2 */
double tp_gpu_bf16_peak(const tp_gpu *gpu);  /* dense, on tensor cores */
double tp_gpu_bandwidth(const tp_gpu *gpu);  /* device memory, bytes/s */
void tp_gpu_describe(FILE *out, const tp_gpu *gpu);
tp_gpu tp_gpu_h100_sxm(void);

/* <<gpu: bfloat16 and error bounds>> */
uint16_t tp_bf16_from_float(float x);
float tp_float_from_bf16(uint16_t bits);

#define TP_FP32_UNIT (1.0 / 16777216.0)  /* 2^-24 */
double tp_gamma(double n, double unit);

/* <<gpu: operations and their cases>> */
enum { TP_GPU_MAX_INPUTS = 6, TP_GPU_MAX_OUTPUTS = 3 };

typedef enum tp_gpu_bound {
    TP_GPU_FP32_BOUND,    /* measured against the FP32 peak */
    TP_GPU_BF16_BOUND,    /* against the tensor cores' bfloat16 peak */
    TP_GPU_MEMORY_BOUND   /* against the memory bandwidth */
} tp_gpu_bound;

struct tp_kernel_args;
typedef struct tp_gpu_version {
    const char *name;  /* "v0", "v1", ... */
    const char *idea;  /* what it does differently, in a few words */
    void (*launch)(const struct tp_kernel_args *args);  /* NULL: no CUDA */
} tp_gpu_version;

typedef struct tp_gpu_case tp_gpu_case;
typedef struct tp_gpu_operation {
    const char *name;
    const char *summary;
    int inputs, outputs;
    const char *output_name[TP_GPU_MAX_OUTPUTS];
    tp_gpu_bound bound;
    void (*make)(tp_gpu_case *c, tp_rng *rng);  /* inputs and reference */
    double (*work)(const tp_gpu_case *c);  /* FLOPs; bytes if memory-bound */
    int versions;
    const tp_gpu_version *version;
} tp_gpu_operation;

extern const tp_gpu_operation tp_gpu_operations[];
extern const int tp_gpu_operation_count;
const tp_gpu_operation *tp_gpu_operation_named(const char *name);
/* <<gpu: operations and their cases>> */
struct tp_gpu_case {
    const tp_gpu_operation *op;
    int rows, cols, inner;  /* GEMM: M, N, K; row operations: rows x cols */
    void *input[TP_GPU_MAX_INPUTS];
    size_t input_bytes[TP_GPU_MAX_INPUTS];
    long output_count[TP_GPU_MAX_OUTPUTS];
    float *reference[TP_GPU_MAX_OUTPUTS];   /* the exact answer, rounded */
    double *tolerance[TP_GPU_MAX_OUTPUTS];  /* how far a result may be */
};

tp_gpu_case *tp_gpu_case_new(const tp_gpu_operation *op, int rows, int cols,
                             int inner, uint64_t seed);
void tp_gpu_case_free(tp_gpu_case *c);
/* <<gpu: operations and their cases>> */
typedef struct tp_gpu_mismatch {
    long bad;            /* elements outside their tolerance */
    double ratio;        /* the largest error / tolerance seen */
    int output;          /* where it was */
    long index;
    double got, want, tolerance;
} tp_gpu_mismatch;

bool tp_gpu_case_check(const tp_gpu_case *c, int output, const float *got,
                       tp_gpu_mismatch *worst);

/* <<gpu: running a version on the device>> */
bool tp_gpu_check_version(const tp_gpu_case *c, int version,
                          tp_gpu_mismatch *worst);
double tp_gpu_time_version(const tp_gpu_case *c, int version, int repeats);

#endif
