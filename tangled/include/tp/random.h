/* Generated from book/120-tensors.nw; edit the book, not this file. */
#ifndef TP_RANDOM_H
#define TP_RANDOM_H

#include <stdint.h>

typedef struct tp_rng {
    uint64_t state;
    uint64_t increment;  /* odd; selects the stream */
} tp_rng;

tp_rng tp_rng_seeded(uint64_t seed, uint64_t stream);
uint32_t tp_rng_next(tp_rng *rng);
uint32_t tp_rng_below(tp_rng *rng, uint32_t bound);
float tp_rng_uniform(tp_rng *rng);
float tp_rng_normal(tp_rng *rng);

#endif
