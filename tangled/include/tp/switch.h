/* Generated from book/280-switch.nw; edit the book, not this file. */
#ifndef TP_SWITCH_H
#define TP_SWITCH_H

#include "tp/block.h"
#include "tp/gpt.h"

/* <<switch: the layer>> */
enum { TP_SWITCH_MAX_EXPERTS = 256 };

typedef struct tp_switch {
    int width, hidden, experts;
    int top;            /* experts per token: 1 (Switch) or 2 */
    tp_tensor *router;  /* [width, experts]; no bias, as in the paper */
    tp_block *expert;   /* [experts]: only the MLP's tensors are made */
} tp_switch;

void tp_switch_make(tp_switch *s, tp_params *params, tp_arena *arena,
                    const char *prefix, int width, int hidden, int experts);
int tp_switch_capacity(int tokens, int experts, int top, float factor);

/* <<switch: running it>> */
typedef struct tp_switch_routing {
    int tokens, experts, top, capacity;
    int *expert;  /* [tokens, top]: the router's best, then second */
    int *slot;    /* [tokens, top]: its row among the expert's; -1: dropped */
    int *routed;  /* [experts]: tokens whose best it is */
    int *kept;    /* [experts]: rows it computes, at most capacity */
    int dropped;  /* choices dropped */
} tp_switch_routing;

typedef struct tp_switch_output {
    tp_tensor *y;        /* x's shape; zero rows for dropped tokens */
    tp_tensor *balance;  /* [1]: E sum_e f_e P_e */
    tp_tensor *z;        /* [1]: mean over tokens of logsumexp(h)^2 */
    tp_switch_routing routing;
} tp_switch_output;

tp_switch_output tp_switch_forward(tp_graph *g, const tp_switch *s,
                                   tp_tensor *x, float factor);
int tp_switch_dropped_at(const tp_switch_routing *r, float factor);

/* <<switch: a Switch GPT>> */
typedef struct tp_switch_gpt {
    tp_gpt *gpt;                 /* its blocks have no MLP of their own */
    tp_switch *layers;           /* one per block */
    float factor;                /* the capacity factor */
    tp_tensor *balance, *z;      /* summed over the layers by a forward */
    tp_switch_routing *routing;  /* per layer, by the last forward */
    tp_metadata metadata;        /* what its checkpoints say of the layers */
} tp_switch_gpt;

tp_switch_gpt *tp_switch_gpt_new(tp_gpt_config config, int experts, int top,
                                 float factor);
void tp_switch_gpt_free(tp_switch_gpt *s);
tp_switch_gpt *tp_switch_gpt_load(const char *path, tp_error *error);
tp_tensor *tp_switch_gpt_loss(tp_graph *g, tp_switch_gpt *s,
                              const int *tokens, const int *targets,
                              int batch, int length, float alpha, float beta);

#endif
