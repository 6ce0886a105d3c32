/* Generated from book/110-testing.nw; edit the book, not this file. */
#ifndef TP_BENCH_H
#define TP_BENCH_H

typedef struct tp_timing {
    double median;  /* seconds per run */
    double best;    /* the fastest run */
    int runs;
} tp_timing;

typedef struct tp_comparison {
    tp_timing reference, candidate;
    double ratio;   /* median of candidate / reference, run by run */
} tp_comparison;

double tp_seconds(void);
double tp_median(double *values, int n);
tp_timing tp_time(void (*work)(void *context), void *context, int runs);
tp_comparison tp_compare(void (*reference)(void *context),
                         void (*candidate)(void *context), void *context,
                         int runs);

#endif
