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

#endif
