/* Generated from book/110-testing.nw; edit the book, not this file. */
#include "tap.h"
#include "tp.h"

static void count_calls(void *context)
{
    ++*(int *)context;
}

static char order[32];

static void log_reference(void *context)
{
    (void)context;
    strcat(order, "r");
}

static void log_candidate(void *context)
{
    (void)context;
    strcat(order, "c");
}

int main(void)
{
    double odd[] = {5, 1, 4, 2, 3}, even[] = {10, 1, 7, 3}, one[] = {2.5};
    near(tp_median(odd, 5), 3, 0, "the median of 5 1 4 2 3 is 3");
    near(tp_median(even, 4), 5, 0, "the median of 10 1 7 3 is (3 + 7) / 2");
    near(tp_median(one, 1), 2.5, 0, "the median of one value is the value");
    int calls = 0;
    tp_timing t = tp_time(count_calls, &calls, 7);
    is(calls, 8, "tp_time warms up once, then times 7 runs");
    ok(t.best >= 0 && t.best <= t.median, "the best run is no slower than "
       "the median");
    tp_comparison cmp = tp_compare(log_reference, log_candidate, NULL, 3);
    is_str(order, "rcrcrcrc", "tp_compare warms up both, then alternates");
    ok(cmp.reference.runs == 3 && cmp.candidate.runs == 3,
       "and times 3 pairs");
    double before = tp_seconds(), after = tp_seconds();
    ok(after >= before, "the clock never goes backwards");
    return done_testing();
}
