/* Generated from book/130-matmul.nw; edit the book, not this file. */
#ifndef TP_PARALLEL_H
#define TP_PARALLEL_H

#ifdef _OPENMP
#define TP_PARALLEL_FOR _Pragma("omp parallel for schedule(static)")
#define TP_SIMD _Pragma("omp simd")
#else
#define TP_PARALLEL_FOR
#define TP_SIMD
#endif

#endif
