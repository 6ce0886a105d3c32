/* Generated from book/110-testing.nw by notangle: edit the chapter, not this file. */
#ifndef TP_BENCH_H
#define TP_BENCH_H

typedef struct tp_timing {
    double median;  /* seconds per run */
    double best;    /* the fastest run */
    int runs;
} tp_timing;

double tp_seconds(void);
double tp_median(double *values, int n);
tp_timing tp_time(void (*work)(void *context), void *context, int runs);

#endif
