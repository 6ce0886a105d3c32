/* Generated from book/130-matmul.nw; edit the book, not this file. */
#ifndef TP_MATMUL_H
#define TP_MATMUL_H

#include "tp/tensor.h"

void tp_gemm(tp_tensor *c, const tp_tensor *a, const tp_tensor *b,
             float alpha, float beta);
void tp_gemm_naive(tp_tensor *c, const tp_tensor *a, const tp_tensor *b,
                   float alpha, float beta);

/* <<matmul: threads>> */
void tp_set_threads(int threads);
int tp_threads(void);
/* <<matmul: threads>> */
double tp_peak_gflops(void);
double tp_copy_bandwidth(void);
void tp_describe_machine(FILE *out);

/* <<matmul: the processor>> */
typedef struct tp_cpu_cache {
    int level;    /* 1, 2, 3; 0 where there is no cache */
    char type;    /* 'd' data, 'i' instructions, 'u' unified */
    long kib;     /* its size in KiB */
    int sharing;  /* the logical processors that share it; 0: not said */
} tp_cpu_cache;

enum { TP_CPU_CACHES = 8 };

typedef struct tp_processor {
    char vendor[16], brand[52];
    int family, model, stepping;
    char vector[72];  /* the vector extensions the book's kernels use */
    int caches;
    tp_cpu_cache cache[TP_CPU_CACHES];
    const char *cache_source;  /* where the sizes came from */
} tp_processor;
/* <<matmul: the processor>> */
void tp_processor_read(tp_processor *p);
void tp_processor_line(const tp_processor *p, char *line, size_t size);
void tp_cpuid_signature(unsigned eax, int *family, int *model,
                        int *stepping);
tp_cpu_cache tp_cpuid_cache(unsigned eax, unsigned ebx, unsigned ecx);
void tp_cpuid_legacy_caches(unsigned ecx5, unsigned ecx6, unsigned edx6,
                            tp_cpu_cache cache[3]);
void tp_cpuid_vector(unsigned ecx1, unsigned ebx7, unsigned ecx7,
                     unsigned eax7_1, char *text, size_t size);

#endif
