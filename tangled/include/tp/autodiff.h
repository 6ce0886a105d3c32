/* Generated from book/140-autodiff.nw; edit the book, not this file. */
#ifndef TP_AUTODIFF_H
#define TP_AUTODIFF_H

#include <stdbool.h>

#include "tp/tensor.h"

/* <<autodiff: the graph>> */
typedef struct tp_node tp_node;
typedef struct tp_profile tp_profile;

typedef struct tp_graph {
    tp_arena *arena;  /* temporaries and the tape of one step */
    tp_node *last;    /* the most recent operation recorded */
    bool grad;        /* whether operations are recorded */
    long nodes;       /* operations recorded since the last reset */
    tp_profile *profile;  /* NULL: the tape is not timed */
} tp_graph;

tp_graph tp_graph_on(tp_arena *arena);
void tp_graph_reset(tp_graph *g);
bool tp_set_grad(tp_graph *g, bool enabled);
void tp_backward(tp_graph *g, tp_tensor *loss);
void tp_backward_from(tp_graph *g, tp_tensor *output, const tp_tensor *seed);

/* <<autodiff: recording an operation>> */
enum { TP_MAX_INPUTS = 4 };

struct tp_node {
    tp_node *previous;
    const char *op;                      /* the operator, for messages */
    void (*backward)(tp_node *node);
    tp_tensor *output;
    tp_tensor *input[TP_MAX_INPUTS];
    int inputs;
    void *saved;                         /* anything else backward needs */
    tp_arena *arena;                     /* the step's, for scratch space */
};

bool tp_needs_grad(const tp_graph *g, int n, tp_tensor *const inputs[]);
tp_node *tp_record(tp_graph *g, const char *op, void (*backward)(tp_node *),
                   tp_tensor *output, int n, tp_tensor *const inputs[]);
/* <<autodiff: recording an operation>> */
tp_tensor tp_grad_of(const tp_tensor *t);

/* <<autodiff: the first operators>> */
tp_tensor *tp_matmul(tp_graph *g, tp_tensor *a, tp_tensor *b);
tp_tensor *tp_sum(tp_graph *g, tp_tensor *x);

/* <<autodiff: checkpoints>> */
typedef tp_tensor *tp_segment(tp_graph *g, void *context, tp_tensor *x);

tp_tensor *tp_checkpoint(tp_graph *g, tp_segment *f, void *context,
                         tp_tensor *x, tp_arena *recompute);

/* <<autodiff: timing the tape>> */
enum { TP_PROFILE_OPS = 48 };

typedef struct tp_profile_entry {
    const char *op;
    long forward_calls, backward_calls;
    double forward_seconds, backward_seconds;
} tp_profile_entry;

struct tp_profile {
    tp_profile_entry entry[TP_PROFILE_OPS];
    int ops;        /* entries in use */
    double mark;    /* when the last forward half ended, tp_seconds() */
};

void tp_profile_start(tp_profile *p);

/* <<autodiff: checking gradients>> */
typedef tp_tensor *tp_forward_fn(tp_graph *g, tp_tensor *const inputs[],
                                 void *context);

typedef struct tp_gradcheck_result {
    double error;        /* the largest relative error found */
    int input;           /* where it was: which input */
    long element;        /* and which element, in row-major order */
    double analytic, numeric;
} tp_gradcheck_result;

tp_gradcheck_result tp_gradcheck(tp_forward_fn *forward,
                                 tp_tensor *const inputs[], int n,
                                 void *context);

#endif
