/* Generated from book/110-testing.nw; edit the book, not this file. */
#include <stdlib.h>
#include <time.h>

#include "tp/bench.h"
#include "tp/check.h"

double tp_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}
/* Generated from book/110-testing.nw; edit the book, not this file. */
static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double tp_median(double *values, int n)
{
    tp_check(n > 0, "the median of nothing");
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}
/* Generated from book/110-testing.nw; edit the book, not this file. */
tp_timing tp_time(void (*work)(void *context), void *context, int runs)
{
    tp_check(runs > 0 && runs <= 100000, "cannot time %d runs", runs);
    double *seconds = malloc((size_t)runs * sizeof *seconds);
    tp_check(seconds != NULL, "out of memory");
    work(context);
    for (int i = 0; i < runs; i++) {
        double start = tp_seconds();
        work(context);
        seconds[i] = tp_seconds() - start;
    }
    tp_timing timing = {.median = tp_median(seconds, runs), .best = seconds[0],
                        .runs = runs};
    free(seconds);
    return timing;
}
/* Generated from book/110-testing.nw; edit the book, not this file. */
static double timed_run(void (*work)(void *), void *context)
{
    double start = tp_seconds();
    work(context);
    return tp_seconds() - start;
}

tp_comparison tp_compare(void (*reference)(void *context),
                         void (*candidate)(void *context), void *context,
                         int runs)
{
    tp_check(runs > 0 && runs <= 100000, "cannot time %d runs", runs);
    double *r = malloc(3 * (size_t)runs * sizeof *r), *c = r + runs,
           *ratio = c + runs;
    tp_check(r != NULL, "out of memory");
    reference(context);
    candidate(context);
    for (int i = 0; i < runs; i++) {
        r[i] = timed_run(reference, context);
        c[i] = timed_run(candidate, context);
        ratio[i] = c[i] / r[i];
    }
    tp_comparison result = {
        .ratio = tp_median(ratio, runs),
        .reference = {tp_median(r, runs), r[0], runs},
        .candidate = {tp_median(c, runs), c[0], runs}};
    free(r);
    return result;
}
