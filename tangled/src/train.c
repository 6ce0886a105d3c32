/* Generated from book/165-training.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/bench.h"
#include "tp/exercise.h"
#include "tp/parallel.h"
#include "tp/train.h"

/* <<train: the parameter list>> */
void tp_params_add(tp_params *params, const char *name, tp_tensor *tensor)
{
    tp_check(strlen(name) < sizeof params->items[0].name,
             "parameter name \"%s\" is too long", name);
    tp_check(tp_params_find(params, name) == NULL,
             "two parameters are named \"%s\"", name);
    tp_check(tensor->grad != NULL && tp_tensor_is_contiguous(tensor),
             "parameter \"%s\" needs a gradient and a contiguous layout",
             name);
    if (params->count == params->capacity) {
        params->capacity = params->capacity ? 2 * params->capacity : 16;
        params->items = realloc(params->items,
                                (size_t)params->capacity * sizeof(tp_param));
        tp_check(params->items != NULL, "out of memory");
    }
    tp_param *p = &params->items[params->count++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->tensor = tensor;
    p->decay = tensor->shape.ndim >= 2;
}
/* <<train: the parameter list>> */
tp_tensor *tp_param_new(tp_params *params, tp_arena *arena, const char *name,
                        tp_shape shape)
{
    tp_tensor *t = tp_tensor_new(arena, shape, TP_WITH_GRAD);
    tp_params_add(params, name, t);
    return t;
}

tp_param *tp_params_find(const tp_params *params, const char *name)
{
    for (int i = 0; i < params->count; i++)
        if (strcmp(params->items[i].name, name) == 0)
            return &params->items[i];
    return NULL;
}
/* <<train: the parameter list>> */
long tp_params_count(const tp_params *params)
{
    long n = 0;
    for (int i = 0; i < params->count; i++)
        n += tp_tensor_count(params->items[i].tensor);
    return n;
}

void tp_params_free(tp_params *params)
{
    free(params->items);
    *params = (tp_params){0};
}

/* <<train: the parameter list>> */
typedef struct grad_slice {
    float *grad;
    long n;
} grad_slice;

enum { SLICE = 1 << 15 };

static grad_slice *grad_slices(const tp_params *params, long *count)
{
    long n = 0;
    for (int i = 0; i < params->count; i++)
        n += (tp_tensor_count(params->items[i].tensor) + SLICE - 1) / SLICE;
    grad_slice *slices = malloc((size_t)(n > 0 ? n : 1) * sizeof *slices);
    tp_check(slices != NULL, "out of memory");
    long k = 0;
    for (int i = 0; i < params->count; i++) {
        const tp_tensor *t = params->items[i].tensor;
        for (long start = 0, size = tp_tensor_count(t); start < size;
             start += SLICE)
            slices[k++] = (grad_slice){t->grad + start,
                                       size - start < SLICE ? size - start
                                                            : SLICE};
    }
    *count = n;
    return slices;
}

void tp_zero_grad(const tp_params *params)
{
    long n;
    grad_slice *slices = grad_slices(params, &n);
    TP_PARALLEL_FOR(n * SLICE)
    for (long k = 0; k < n; k++)
        memset(slices[k].grad, 0, (size_t)slices[k].n * sizeof(float));
    free(slices);
}

/* <<train: the optimiser>> */
struct tp_optimizer {
    tp_optimizer_config config;
    const tp_params *params;
    int count;          /* parameters when the optimiser was made */
    float **moment[2];  /* [0]: velocity or first moment; [1]: second */
    long steps;
};

tp_optimizer *tp_optimizer_new(const tp_params *params,
                               tp_optimizer_config config)
{
    tp_optimizer *opt = calloc(1, sizeof *opt);
    tp_check(opt != NULL, "out of memory");
    opt->config = config;
    opt->params = params;
    opt->count = params->count;
    for (int m = 0; m < 2; m++) {
        opt->moment[m] = calloc((size_t)params->count, sizeof(float *));
        tp_check(opt->moment[m] != NULL, "out of memory");
        for (int i = 0; i < params->count; i++) {
            opt->moment[m][i] = calloc(
                (size_t)tp_tensor_count(params->items[i].tensor),
                sizeof(float));
            tp_check(opt->moment[m][i] != NULL, "out of memory");
        }
    }
    return opt;
}

tp_optimizer *tp_adamw_new(const tp_params *params, float beta2,
                           float weight_decay)
{
    return tp_optimizer_new(params, (tp_optimizer_config){
        .kind = TP_ADAMW, .beta1 = 0.9f, .beta2 = beta2, .eps = 1e-8f,
        .weight_decay = weight_decay});
}
/* <<train: the optimiser>> */
void tp_optimizer_free(tp_optimizer *opt)
{
    if (opt == NULL)
        return;
    for (int m = 0; m < 2; m++) {
        for (int i = 0; i < opt->count; i++)
            free(opt->moment[m][i]);
        free(opt->moment[m]);
    }
    free(opt);
}

long tp_optimizer_steps(const tp_optimizer *opt) { return opt->steps; }

void tp_optimizer_set_steps(tp_optimizer *opt, long steps)
{
    tp_check(steps >= 0, "a negative step count, %ld", steps);
    opt->steps = steps;
}

float *tp_optimizer_state(const tp_optimizer *opt, int param, int moment)
{
    tp_check(param >= 0 && param < opt->count && moment >= 0 && moment < 2,
             "no optimiser state %d of parameter %d", moment, param);
    return opt->moment[moment][param];
}
/* <<train: the optimiser>> */
static void sgd_update(const tp_optimizer_config *c, float *theta,
                       const float *grad, float *u, long n, float lr,
                       bool decay)
{
    float lambda = decay ? c->weight_decay : 0.0f;
    for (long i = 0; i < n; i++) {
        float g = grad[i] + lambda * theta[i];
        u[i] = c->momentum * u[i] + g;
        theta[i] -= lr * u[i];
    }
}
/* <<train: the optimiser>> */
enum { ADAM_BLOCK = 4096 };  /* parameters per task of the parallel loop */

typedef struct adam_constants {
    float beta1, beta2, eps, lr;
    float coupled, decoupled;  /* weight decay, added to g or to theta */
    float c1, root_c2;         /* bias corrections: m / c1, sqrt(v / c2) */
} adam_constants;

static void adam_block(adam_constants k, float *theta, const float *grad,
                       float *m, float *v, long n)
{
    /* <<solution: train.adam-update>> */
    TP_SIMD
    for (long i = 0; i < n; i++) {
        float g = grad[i] + k.coupled * theta[i];
        m[i] = k.beta1 * m[i] + (1.0f - k.beta1) * g;
        v[i] = k.beta2 * v[i] + (1.0f - k.beta2) * g * g;
        theta[i] -= k.lr * k.decoupled * theta[i];
        theta[i] -= k.lr * (m[i] / k.c1) / (sqrtf(v[i]) / k.root_c2 + k.eps);
    }
}

static void adam_update(const tp_optimizer_config *c, float *theta,
                        const float *grad, float *m, float *v, long n,
                        float lr, bool decay, long t)
{
    float lambda = decay ? c->weight_decay : 0.0f;
    bool decoupled = c->kind == TP_ADAMW;
    adam_constants k = {
        .beta1 = c->beta1, .beta2 = c->beta2, .eps = c->eps, .lr = lr,
        .coupled = decoupled ? 0.0f : lambda,
        .decoupled = decoupled ? lambda : 0.0f,
        .c1 = (float)(1.0 - pow(c->beta1, (double)t)),
        .root_c2 = (float)sqrt(1.0 - pow(c->beta2, (double)t))};
    TP_PARALLEL_FOR(n)
    for (long start = 0; start < n; start += ADAM_BLOCK)
        adam_block(k, theta + start, grad + start, m + start, v + start,
                   n - start < ADAM_BLOCK ? n - start : ADAM_BLOCK);
}
/* <<train: the optimiser>> */
void tp_optimizer_step(tp_optimizer *opt, float lr)
{
    tp_check(opt->params->count == opt->count,
             "the parameter list changed after the optimiser was made");
    opt->steps++;
    for (int i = 0; i < opt->count; i++) {
        const tp_param *p = &opt->params->items[i];
        long n = tp_tensor_count(p->tensor);
        if (opt->config.kind == TP_SGD)
            sgd_update(&opt->config, p->tensor->data, p->tensor->grad,
                       opt->moment[0][i], n, lr, p->decay);
        else
            adam_update(&opt->config, p->tensor->data, p->tensor->grad,
                        opt->moment[0][i], opt->moment[1][i], n, lr,
                        p->decay, opt->steps);
    }
}

/* <<train: the schedule and the norm>> */
float tp_lr_warmup_cosine(long step, long warmup, long total, float max_lr,
                          float min_lr)
{
    /* <<solution: train.warmup-cosine>> */
    if (step < warmup)
        return max_lr * (float)(step + 1) / (float)warmup;
    if (step >= total)
        return min_lr;
    double progress = (double)(step - warmup) / (double)(total - warmup);
    double cosine = 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
    return min_lr + (float)(cosine * (max_lr - min_lr));
}
/* <<train: the schedule and the norm>> */
static double sum_of_squares(const float *x, long n)
{
    double sum = 0.0;
    TP_SIMD_SUM(sum)
    for (long j = 0; j < n; j++)
        sum += (double)x[j] * x[j];
    return sum;
}

double tp_grad_norm(const tp_params *params)
{
    long n;
    grad_slice *slices = grad_slices(params, &n);
    double *sums = malloc((size_t)(n > 0 ? n : 1) * sizeof *sums);
    tp_check(sums != NULL, "out of memory");
    TP_PARALLEL_FOR(n * SLICE)
    for (long k = 0; k < n; k++)
        sums[k] = sum_of_squares(slices[k].grad, slices[k].n);
    double total = 0.0;
    for (long k = 0; k < n; k++)
        total += sums[k];
    free(sums);
    free(slices);
    return sqrt(total);
}

double tp_clip_grad_norm(const tp_params *params, double max_norm)
{
    double norm = tp_grad_norm(params);
    if (norm > max_norm && norm > 0.0) {
        float scale = (float)(max_norm / norm);
        long n;
        grad_slice *slices = grad_slices(params, &n);
        TP_PARALLEL_FOR(n * SLICE)
        for (long k = 0; k < n; k++)
            for (long j = 0; j < slices[k].n; j++)
                slices[k].grad[j] *= scale;
        free(slices);
    }
    return norm;
}

/* <<train: the loop>> */
enum { SPIKE_HISTORY = 10 };  /* steps in the mean before a spike counts */

static bool spike(const tp_train_options *o, tp_progress *p)
{
    p->spike = o->spike_factor > 0 && p->watched >= SPIKE_HISTORY
               && p->loss > o->spike_factor * p->loss_mean;
    if (p->spike) {
        p->spikes++;
    } else {
        p->loss_mean = p->watched == 0 ? p->loss
                                       : 0.9f * p->loss_mean + 0.1f * p->loss;
        p->watched++;
    }
    return p->spike;
}
/* <<train: the loop>> */
static int train_step(tp_graph *g, const tp_params *params, tp_optimizer *opt,
                      const tp_train_options *o, tp_loss_fn *loss_fn,
                      void *context, tp_progress *p, tp_error *error)
{
    tp_tensor *loss = loss_fn(g, p->step, context);
    p->loss = loss->data[0];
    if (!isfinite(p->loss)) {
        tp_graph_reset(g);
        return tp_error_set(error, "the loss became %g at step %ld; the "
                            "parameters are those of step %ld", p->loss,
                            p->step, p->step - 1);
    }
    if (spike(o, p) && o->skip_spikes) {
        tp_graph_reset(g);
        tp_optimizer_set_steps(opt, tp_optimizer_steps(opt) + 1);
        p->grad_norm = 0.0, p->lr = 0.0f;
        return 0;
    }
    tp_backward(g, loss);
    p->grad_norm = o->clip > 0 ? tp_clip_grad_norm(params, o->clip)
                               : tp_grad_norm(params);
    p->lr = tp_lr_warmup_cosine(p->step, o->warmup, o->steps, o->max_lr,
                                o->min_lr);
    tp_optimizer_step(opt, p->lr);
    tp_zero_grad(params);
    tp_graph_reset(g);
    return 0;
}
/* <<train: the loop>> */
int tp_train(tp_graph *g, const tp_params *params, tp_optimizer *opt,
             const tp_train_options *options, tp_loss_fn *loss,
             void *context, float *losses, tp_error *error)
{
    tp_progress p = {.steps = options->steps};
    double start = tp_seconds();
    long first = tp_optimizer_steps(opt);
    tp_zero_grad(params);
    for (p.step = first; p.step < options->steps; p.step++) {
        if (train_step(g, params, opt, options, loss, context, &p, error) != 0)
            return -1;
        if (losses != NULL)
            losses[p.step] = p.loss;
        p.seconds = tp_seconds() - start;
        p.tokens_per_second = (double)options->tokens_per_step
                              * (double)(p.step + 1 - first) / p.seconds;
        p.seconds_left = p.seconds / (double)(p.step + 1 - first)
                         * (double)(options->steps - p.step - 1);
        if (options->progress != NULL
            && !options->progress(&p, options->progress_context))
            break;
    }
    return 0;
}
/* <<train: the loop>> */
void tp_progress_format(const tp_progress *p, char *out, size_t size)
{
    long left = lround(p->seconds_left);
    char time_left[32];
    if (left >= 3600)
        snprintf(time_left, sizeof time_left, "%ld:%02ld h", left / 3600,
                 left / 60 % 60);
    else
        snprintf(time_left, sizeof time_left, "%ld:%02ld", left / 60,
                 left % 60);
    long speed = lround(p->tokens_per_second);
    char rate[32];
    if (speed >= 1000)
        snprintf(rate, sizeof rate, "%ld,%03ld", speed / 1000, speed % 1000);
    else
        snprintf(rate, sizeof rate, "%ld", speed);
    snprintf(out, size, "step %ld/%ld | loss %.4f | lr %.2e | %s tok/s | %s "
             "left", p->step + 1, p->steps, (double)p->loss, (double)p->lr,
             rate, time_left);
}
