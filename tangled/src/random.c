/* Generated from book/120-tensors.nw; edit the book, not this file. */
#include <math.h>

#include "tp/check.h"
#include "tp/random.h"

uint32_t tp_rng_next(tp_rng *rng)
{
    uint64_t old = rng->state;
    rng->state = old * 6364136223846793005ULL + rng->increment;
    uint32_t folded = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rotation = (uint32_t)(old >> 59);
    return (folded >> rotation) | (folded << ((32 - rotation) & 31));
}
/* Generated from book/120-tensors.nw; edit the book, not this file. */
tp_rng tp_rng_seeded(uint64_t seed, uint64_t stream)
{
    tp_rng rng = {.state = 0, .increment = (stream << 1) | 1};
    tp_rng_next(&rng);
    rng.state += seed;
    tp_rng_next(&rng);
    return rng;
}
/* Generated from book/120-tensors.nw; edit the book, not this file. */
uint32_t tp_rng_below(tp_rng *rng, uint32_t bound)
{
    tp_check(bound > 0, "the bound must be positive");
    uint32_t threshold = (0u - bound) % bound;  /* 2^32 mod bound */
    for (;;) {
        uint32_t r = tp_rng_next(rng);
        if (r >= threshold)
            return r % bound;
    }
}
/* Generated from book/120-tensors.nw; edit the book, not this file. */
float tp_rng_uniform(tp_rng *rng)
{
    return (float)(tp_rng_next(rng) >> 8) * 0x1.0p-24f;
}

float tp_rng_normal(tp_rng *rng)
{
    double u1 = 1.0 - tp_rng_uniform(rng);
    double u2 = tp_rng_uniform(rng);
    const double two_pi = 6.283185307179586;
    return (float)(sqrt(-2.0 * log(u1)) * cos(two_pi * u2));
}
