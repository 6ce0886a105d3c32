/* Generated from book/390-deployment.nw; edit the book, not this file. */
#ifndef TP_DEPLOY_H
#define TP_DEPLOY_H

#include <stdbool.h>

#include "tp/gpt.h"

/* <<deploy: interface>> */
double tp_percentile(double *values, int n, double p);

typedef struct tp_sampling {
    float temperature;  /* 0: the most likely token */
    int top_k;          /* 0: every token */
    float top_p;        /* 1: every token */
} tp_sampling;

typedef bool tp_token_sink(int token, void *context);

int tp_gpt_stream(tp_gpt *m, const int *prompt, int n, int tokens,
                  tp_sampling sampling, tp_rng *rng, tp_token_sink *sink,
                  void *context);
int tp_gpt_token_times(tp_gpt *m, const int *prompt, int n, int tokens,
                       double *times);
/* <<deploy: interface>> */
double tp_gpt_checkpoint_bytes(tp_gpt_config config, int bits);
int tp_gpt_widest(double budget, tp_gpt_config config, int bits);

#endif
