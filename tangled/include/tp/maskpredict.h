/* Generated from book/320-decoding.nw; edit the book, not this file. */
#ifndef TP_MASKPREDICT_H
#define TP_MASKPREDICT_H

#include "tp/vanilla.h"

/* <<maskpredict: interface>> */
typedef struct tp_maskpredict {
    tp_vanilla *m;        /* its decoder sees every position */
    tp_tensor *length_w;  /* [C, max_length + 1]: the length classifier */
    int mask;             /* the target id [MASK] */
    int length_token;     /* the source id LENGTH */
    int max_length;       /* N_max */
} tp_maskpredict;

tp_maskpredict *tp_maskpredict_new(tp_vanilla_config task);
void tp_maskpredict_init(tp_maskpredict *p, tp_rng *rng);
void tp_maskpredict_free(tp_maskpredict *p);
/* <<maskpredict: interface>> */
void tp_maskpredict_mask(tp_rng *rng, int mask, const int *target, int batch,
                         int length, int *input);
tp_tensor *tp_maskpredict_loss(tp_graph *g, tp_maskpredict *p,
                               const tp_source *s, const int *input,
                               const int *target, int length,
                               float smoothing);
/* <<maskpredict: interface>> */
void tp_maskpredict_least_confident(const float *confidence, int length,
                                    int n, unsigned char *chosen);
int tp_maskpredict_decode(tp_maskpredict *p, const int *source, int n_source,
                          int length, int iterations, int *out);

#endif
