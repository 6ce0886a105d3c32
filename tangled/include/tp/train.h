/* Generated from book/165-training.nw; edit the book, not this file. */
#ifndef TP_TRAIN_H
#define TP_TRAIN_H

#include <stdbool.h>

#include "tp/autodiff.h"
#include "tp/check.h"

/* <<train: parameters>> */
typedef struct tp_param {
    char name[64];
    tp_tensor *tensor;
    bool decay;  /* whether weight decay applies */
} tp_param;

typedef struct tp_params {
    tp_param *items;
    int count, capacity;
} tp_params;

tp_tensor *tp_param_new(tp_params *params, tp_arena *arena, const char *name,
                        tp_shape shape);
void tp_params_add(tp_params *params, const char *name, tp_tensor *tensor);
tp_param *tp_params_find(const tp_params *params, const char *name);
long tp_params_count(const tp_params *params);
void tp_params_free(tp_params *params);
void tp_zero_grad(const tp_params *params);

/* <<train: optimisers>> */
typedef enum tp_optimizer_kind { TP_SGD, TP_ADAM, TP_ADAMW } tp_optimizer_kind;

typedef struct tp_optimizer_config {
    tp_optimizer_kind kind;
    float momentum;      /* SGD */
    float beta1, beta2;  /* Adam, AdamW */
    float eps;
    float weight_decay;
} tp_optimizer_config;

typedef struct tp_optimizer tp_optimizer;

tp_optimizer *tp_optimizer_new(const tp_params *params,
                               tp_optimizer_config config);
tp_optimizer *tp_adamw_new(const tp_params *params, float beta2,
                           float weight_decay);
void tp_optimizer_step(tp_optimizer *opt, float lr);
void tp_optimizer_free(tp_optimizer *opt);
long tp_optimizer_steps(const tp_optimizer *opt);
void tp_optimizer_set_steps(tp_optimizer *opt, long steps);
float *tp_optimizer_state(const tp_optimizer *opt, int param, int moment);

/* <<train: schedule and clipping>> */
float tp_lr_warmup_cosine(long step, long warmup, long total, float max_lr,
                          float min_lr);
double tp_grad_norm(const tp_params *params);
double tp_clip_grad_norm(const tp_params *params, double max_norm);

/* <<train: the training loop>> */
typedef tp_tensor *tp_loss_fn(tp_graph *g, long step, void *context);

typedef struct tp_progress {
    long step, steps;
    float loss, lr;
    double grad_norm, seconds, seconds_left;
    double tokens_per_second;
    bool spike;       /* this step's loss was a spike */
    long spikes;      /* spikes so far in this call */
    long watched;     /* steps in the running mean */
    float loss_mean;  /* the running mean of the losses that were not */
} tp_progress;

typedef bool tp_progress_fn(const tp_progress *progress, void *context);

typedef struct tp_train_options {
    long steps, warmup;
    float max_lr, min_lr;
    double clip;           /* 0: no clipping */
    long tokens_per_step;  /* for the progress report */
    tp_progress_fn *progress;
    void *progress_context;
    float spike_factor;    /* a loss above this times the mean; 0: none */
    bool skip_spikes;      /* apply no update for a spike's batch */
} tp_train_options;

int tp_train(tp_graph *g, const tp_params *params, tp_optimizer *opt,
             const tp_train_options *options, tp_loss_fn *loss,
             void *context, float *losses, tp_error *error);
void tp_progress_format(const tp_progress *p, char *out, size_t size);

#endif
