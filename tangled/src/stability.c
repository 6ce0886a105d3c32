/* Generated from book/350-instability.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/stability.h"

/* <<stability: per-layer options>> */
tp_block_depth *tp_gpt_depth(tp_gpt *m)
{
    if (m->depth == NULL)
        m->depth = tp_arena_zeroed(m->arena, (size_t)m->config.n_layer,
                                   sizeof(tp_block_depth));
    return m->depth;
}

void tp_gpt_add_qk_norm(tp_gpt *m)
{
    tp_block_depth *depth = tp_gpt_depth(m);
    int d = m->config.n_embd / m->config.n_head;
    for (int i = 0; i < m->config.n_layer; i++) {
        char name[64];
        snprintf(name, sizeof name, "h.%d.attn.ln_q.weight", i);
        depth[i].q_gain = tp_param_new(&m->params, m->arena, name, tp_shape1(d));
        snprintf(name, sizeof name, "h.%d.attn.ln_k.weight", i);
        depth[i].k_gain = tp_param_new(&m->params, m->arena, name, tp_shape1(d));
        tp_fill(depth[i].q_gain, 1.0f);
        tp_fill(depth[i].k_gain, 1.0f);
    }
}

/* <<stability: initialisation>> */
void tp_scale_weights(const tp_params *params, const char *part, float factor)
{
    for (int i = 0; i < params->count; i++) {
        tp_tensor *t = params->items[i].tensor;
        if (t->shape.ndim >= 2 && strstr(params->items[i].name, part) != NULL)
            for (long j = 0, n = tp_tensor_count(t); j < n; j++)
                t->data[j] *= factor;
    }
}

/* <<stability: diagnostics>> */
static int layer_of(const char *name)
{
    int layer, length = 0;
    if (sscanf(name, "h.%d.%n", &layer, &length) == 1 && length > 0)
        return layer;
    return -1;
}

void tp_layer_grad_norms(const tp_params *params, int layers, double *norms)
{
    for (int l = 0; l < layers; l++)
        norms[l] = 0.0;
    for (int i = 0; i < params->count; i++) {
        int l = layer_of(params->items[i].name);
        const tp_tensor *t = params->items[i].tensor;
        for (long j = 0, n = tp_tensor_count(t); l >= 0 && l < layers && j < n;
             j++)
            norms[l] += (double)t->grad[j] * t->grad[j];
    }
    for (int l = 0; l < layers; l++)
        norms[l] = sqrt(norms[l]);
}
/* <<stability: diagnostics>> */
float *tp_params_snapshot(const tp_params *params)
{
    float *copy = malloc((size_t)tp_params_count(params) * sizeof *copy + 1);
    tp_check(copy != NULL, "out of memory");
    long at = 0;
    for (int i = 0; i < params->count; i++) {
        const tp_tensor *t = params->items[i].tensor;
        memcpy(copy + at, t->data, (size_t)tp_tensor_count(t) * sizeof *copy);
        at += tp_tensor_count(t);
    }
    return copy;
}

double tp_update_ratio(const tp_params *params, float *previous)
{
    double moved = 0.0, size = 0.0;
    long at = 0;
    for (int i = 0; i < params->count; i++) {
        const tp_tensor *t = params->items[i].tensor;
        for (long j = 0, n = tp_tensor_count(t); j < n; j++, at++) {
            double step = (double)t->data[j] - previous[at];
            moved += step * step;
            size += (double)previous[at] * previous[at];
            previous[at] = t->data[j];
        }
    }
    return size > 0 ? sqrt(moved / size) : 0.0;
}
