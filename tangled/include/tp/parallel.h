/* Generated from book/130-matmul.nw; edit the book, not this file. */
#ifndef TP_PARALLEL_H
#define TP_PARALLEL_H

#ifdef _OPENMP
#define TP_PARALLEL_FOR _Pragma("omp parallel for schedule(static)")
#else
#define TP_PARALLEL_FOR
#endif

#endif
