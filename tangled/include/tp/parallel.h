/* Generated from book/130-matmul.nw; edit the book, not this file. */
#ifndef TP_PARALLEL_H
#define TP_PARALLEL_H

#ifdef _OPENMP
#define TP_PRAGMA(text) _Pragma(#text)
#define TP_PARALLEL_FOR _Pragma("omp parallel for schedule(static)")
#define TP_SIMD _Pragma("omp simd")
#define TP_SIMD_SUM(...) TP_PRAGMA(omp simd reduction(+ : __VA_ARGS__))
#else
#define TP_PARALLEL_FOR
#define TP_SIMD
#define TP_SIMD_SUM(...)
#endif

#endif
