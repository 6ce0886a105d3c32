/* Generated from book/120-tensors.nw; edit the book, not this file. */
#include "tap.h"
#include "tp.h"

/* <<t-random: the reference values>> */
static void reference_values(void)
{
    static const uint32_t expected[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                         0x83d2f293, 0xbfa4784b, 0xcbed606e};
    tp_rng rng = tp_rng_seeded(42, 54);
    for (int i = 0; i < 6; i++)
        is(tp_rng_next(&rng), expected[i],
           "PCG32(42, 54) output %d is the reference value 0x%08x", i + 1,
           (unsigned)expected[i]);
}

/* <<t-random: seeds and streams>> */
static void seeds_and_streams(void)
{
    tp_rng a = tp_rng_seeded(7, 1), b = tp_rng_seeded(7, 1),
           c = tp_rng_seeded(7, 2);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = tp_rng_next(&a);
        same &= x == tp_rng_next(&b);
        differ += x != tp_rng_next(&c);
    }
    ok(same, "the same seed and stream give the same sequence");
    ok(differ > 990, "another stream gives another sequence");
}

/* <<t-random: bounded integers>> */
static void bounded_integers(void)
{
    tp_rng rng = tp_rng_seeded(1, 1);
    long count[3] = {0, 0, 0};
    int below = 1;
    for (int i = 0; i < 300000; i++) {
        uint32_t r = tp_rng_below(&rng, 3);
        below &= r < 3;
        if (r < 3)
            count[r]++;
    }
    ok(below, "tp_rng_below(3) is always below 3");
    for (int v = 0; v < 3; v++)
        near(count[v], 100000, 5 * 258,
             "the value %d comes up a third of the time", v);
}

/* <<t-random: the distributions>> */
static void distributions(void)
{
    enum { N = 1000000 };
    tp_rng rng = tp_rng_seeded(2024, 3);
    double u_sum = 0, u_sq = 0, n_sum = 0, n_sq = 0;
    long within_one = 0;
    int in_range = 1;
    for (int i = 0; i < N; i++) {
        double u = tp_rng_uniform(&rng), z = tp_rng_normal(&rng);
        in_range &= u >= 0.0 && u < 1.0;
        u_sum += u, u_sq += u * u, n_sum += z, n_sq += z * z;
        within_one += fabs(z) < 1.0;
    }
    double u_mean = u_sum / N, n_mean = n_sum / N;
    ok(in_range, "uniform samples lie in [0, 1)");
    near(u_mean, 0.5, 5 * 2.9e-4, "uniform samples have mean 1/2");
    near(u_sq / N - u_mean * u_mean, 1.0 / 12, 5 * 7.5e-5,
         "uniform samples have variance 1/12");
    near(n_mean, 0.0, 5 * 1e-3, "normal samples have mean 0");
    near(n_sq / N - n_mean * n_mean, 1.0, 5 * 1.4e-3,
         "normal samples have variance 1");
    near((double)within_one / N, 0.6827, 5 * 4.7e-4,
         "68.27%% of normal samples lie within one standard deviation");
}

int main(void)
{
    reference_values();
    seeds_and_streams();
    bounded_integers();
    distributions();
    return done_testing();
}
