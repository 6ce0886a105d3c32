/* Generated from book/130-matmul.nw; edit the book, not this file. */
#ifndef TP_PARALLEL_H
#define TP_PARALLEL_H

enum { TP_GRAIN = 1 << 15 };  /* the least work worth the threads */

#ifdef _OPENMP
#define TP_PRAGMA(text) _Pragma(#text)
#define TP_PARALLEL_FOR(work) \
    TP_PRAGMA(omp parallel for schedule(static) if ((work) >= TP_GRAIN))
#define TP_SIMD _Pragma("omp simd")
#define TP_SIMD_SUM(...) TP_PRAGMA(omp simd reduction(+ : __VA_ARGS__))
#else
#define TP_PARALLEL_FOR(work)
#define TP_SIMD
#define TP_SIMD_SUM(...)
#endif
#define TP_PARALLEL_PRODUCTS TP_PARALLEL_FOR(TP_GRAIN)

#endif
