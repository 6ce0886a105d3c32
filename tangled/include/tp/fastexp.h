/* Generated from book/150-operators.nw; edit the book, not this file. */
#ifndef TP_FASTEXP_H
#define TP_FASTEXP_H

#include <stdint.h>
#include <string.h>

static inline float tp_exp_near_zero(float x)  /* |x| <= 30 */
{
    const float shift = 12582912.0f;  /* 1.5 * 2^23 */
    float shifted = x * 1.44269504f + shift;  /* x / ln 2, rounded */
    float n = shifted - shift;
    float r = x - n * 0.693145751953125f - n * 1.428606765330187e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24
              + r * (1.0f / 120 + r * (1.0f / 720))))));
    uint32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;  /* 2^n */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* <<fastexp: below zero>> */
static inline float tp_exp_nonpositive(float x)  /* x <= 0 (or a hair above) */
{
    float e = tp_exp_near_zero(x < -80.0f ? -80.0f : x);
    return x < -80.0f ? 0.0f : e;
}

#endif
