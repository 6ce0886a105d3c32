/* Generated from book/140-autodiff.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "tp/autodiff.h"
#include "tp/bench.h"
#include "tp/check.h"
#include "tp/matmul.h"

/* <<autodiff: the profile's accounts>> */
static tp_profile_entry *profile_entry(tp_profile *p, const char *op)
{
    for (int i = 0; i < p->ops; i++)
        if (p->entry[i].op == op || strcmp(p->entry[i].op, op) == 0)
            return &p->entry[i];
    tp_check(p->ops < TP_PROFILE_OPS, "the profile holds at most %d "
             "operators; %s is one more", TP_PROFILE_OPS, op);
    p->entry[p->ops] = (tp_profile_entry){.op = op};
    return &p->entry[p->ops++];
}

void tp_profile_start(tp_profile *p)
{
    p->mark = tp_seconds();
}

static void profile_forward(tp_profile *p, const char *op)
{
    double now = tp_seconds();
    tp_profile_entry *e = profile_entry(p, op);
    e->forward_calls++;
    e->forward_seconds += now - p->mark;
    p->mark = tp_seconds();  /* the search above is the profile's, not op's */
}

static void profile_backward(tp_profile *p, tp_node *node)
{
    tp_profile_entry *e = profile_entry(p, node->op);
    double start = tp_seconds();
    node->backward(node);
    e->backward_seconds += tp_seconds() - start;
    e->backward_calls++;
}

/* <<autodiff: the tape>> */
tp_graph tp_graph_on(tp_arena *arena)
{
    return (tp_graph){.arena = arena, .last = NULL, .grad = true};
}

void tp_graph_reset(tp_graph *g)
{
    tp_arena_reset(g->arena);
    g->last = NULL;
    g->nodes = 0;
}

bool tp_set_grad(tp_graph *g, bool enabled)
{
    bool previous = g->grad;
    g->grad = enabled;
    return previous;
}
/* <<autodiff: the tape>> */
bool tp_needs_grad(const tp_graph *g, int n, tp_tensor *const inputs[])
{
    if (!g->grad)
        return false;
    for (int i = 0; i < n; i++)
        if (inputs[i] != NULL && inputs[i]->grad != NULL)
            return true;
    return false;
}

tp_node *tp_record(tp_graph *g, const char *op, void (*backward)(tp_node *),
                   tp_tensor *output, int n, tp_tensor *const inputs[])
{
    tp_check(n <= TP_MAX_INPUTS, "%s: %d inputs, at most %d", op, n,
             TP_MAX_INPUTS);
    tp_check(output->grad != NULL, "%s: a recorded output needs a gradient",
             op);
    tp_node *node = tp_arena_zeroed(g->arena, 1, sizeof *node);
    *node = (tp_node){.previous = g->last, .op = op, .backward = backward,
                      .output = output, .inputs = n, .arena = g->arena};
    memcpy(node->input, inputs, (size_t)n * sizeof *inputs);
    g->last = node;
    g->nodes++;
    if (g->profile != NULL)
        profile_forward(g->profile, op);
    return node;
}
/* <<autodiff: the tape>> */
tp_tensor tp_grad_of(const tp_tensor *t)
{
    tp_tensor gradient = *t;
    gradient.data = t->grad;
    gradient.grad = NULL;
    return gradient;
}

/* <<autodiff: the backward pass>> */
void tp_backward_from(tp_graph *g, tp_tensor *output, const tp_tensor *seed)
{
    tp_check(output->grad != NULL,
             "backward from a tensor without a gradient: did any input of "
             "the computation have one, and was the graph recording?");
    tp_check(tp_shape_equal(output->shape, seed->shape),
             "backward: the seed is %s but the output is %s",
             tp_shape_str(seed->shape).text, tp_shape_str(output->shape).text);
    tp_tensor gradient = *output;
    gradient.data = output->grad;
    tp_copy(&gradient, seed);
    for (tp_node *node = g->last; node != NULL; node = node->previous) {
        if (g->profile == NULL)
            node->backward(node);
        else
            profile_backward(g->profile, node);
    }
}
/* <<autodiff: the backward pass>> */
void tp_backward(tp_graph *g, tp_tensor *loss)
{
    tp_check(tp_tensor_count(loss) == 1,
             "backward: the loss must be a single number, not %s",
             tp_shape_str(loss->shape).text);
    tp_tensor one = *loss;
    float value = 1.0f;
    one.data = &value;
    for (int d = 0; d < one.shape.ndim; d++)
        one.stride[d] = 0;
    tp_backward_from(g, loss, &one);
}

/* <<autodiff: matrix product and sum>> */
static void add_product(tp_arena *arena, tp_tensor *into, const tp_tensor *a,
                        const tp_tensor *b)
{
    int n = into->shape.ndim;
    if (into->stride[n - 1] == 1 || into->shape.dim[n - 1] == 1) {
        tp_gemm(into, a, b, 1.0f, 1.0f);
        return;
    }
    tp_tensor *product = tp_tensor_empty(arena, into->shape, TP_NO_GRAD);
    tp_gemm(product, a, b, 1.0f, 0.0f);
    tp_axpy(into, 1.0f, product);
}
/* <<autodiff: matrix product and sum>> */
static void matmul_backward(tp_node *node)
{
    tp_tensor *a = node->input[0], *b = node->input[1];
    tp_tensor dy = tp_grad_of(node->output);
    int n = a->shape.ndim, nb = b->shape.ndim;
    tp_arena *arena = node->arena;
    if (a->grad != NULL) {
        tp_tensor da = tp_grad_of(a);
        add_product(arena, &da, &dy, tp_transpose(arena, b, nb - 2, nb - 1));
    }
    if (b->grad != NULL) {
        tp_tensor db = tp_grad_of(b);
        /* <<autodiff: add the gradient of the right-hand matrix>> */
        if (nb == n) {
            add_product(arena, &db, tp_transpose(arena, a, n - 2, n - 1), &dy);
        } else {
            long rows = tp_tensor_count(a) / a->shape.dim[n - 1];
            tp_tensor *a2 = tp_reshape(arena, a, tp_shape2((int)rows,
                                                           a->shape.dim[n - 1]));
            tp_tensor *dy2 = tp_reshape(arena, &dy, tp_shape2((int)rows,
                                                              dy.shape.dim[n - 1]));
            add_product(arena, &db, tp_transpose(arena, a2, 0, 1), dy2);
        }
    }
}
/* <<autodiff: matrix product and sum>> */
tp_tensor *tp_matmul(tp_graph *g, tp_tensor *a, tp_tensor *b)
{
    int n = a->shape.ndim;
    tp_shape shape = a->shape;
    shape.dim[n - 1] = b->shape.dim[b->shape.ndim - 1];
    bool grad = tp_needs_grad(g, 2, (tp_tensor *[]){a, b});
    tp_check(b->shape.ndim == n || b->grad == NULL || !grad
                 || tp_tensor_is_contiguous(a),
             "tp_matmul: a shared matrix's gradient needs a contiguous %s "
             "input", tp_shape_str(a->shape).text);
    tp_tensor *y = tp_tensor_empty(g->arena, shape,
                                   grad ? TP_WITH_GRAD : TP_NO_GRAD);
    tp_gemm(y, a, b, 1.0f, 0.0f);
    if (grad)
        tp_record(g, "matmul", matmul_backward, y, 2, (tp_tensor *[]){a, b});
    return y;
}
/* <<autodiff: matrix product and sum>> */
static void sum_backward(tp_node *node)
{
    tp_tensor *x = node->input[0];
    tp_tensor dx = tp_grad_of(x);
    tp_tensor spread = {.shape = x->shape, .data = node->output->grad};
    tp_axpy(&dx, 1.0f, &spread);
}
/* <<autodiff: matrix product and sum>> */
tp_tensor *tp_sum(tp_graph *g, tp_tensor *x)
{
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){x});
    tp_tensor *y = tp_tensor_empty(g->arena, tp_shape1(1),
                                   grad ? TP_WITH_GRAD : TP_NO_GRAD);
    tp_tensor *flat = tp_tensor_empty(g->arena, x->shape, TP_NO_GRAD);
    tp_copy(flat, x);
    double total = 0.0;
    for (long i = 0, n = tp_tensor_count(x); i < n; i++)
        total += flat->data[i];
    y->data[0] = (float)total;
    if (grad)
        tp_record(g, "sum", sum_backward, y, 1, (tp_tensor *[]){x});
    return y;
}

/* <<autodiff: recomputing a checkpoint>> */
typedef struct checkpoint {
    tp_segment *f;
    void *context;
    tp_arena *recompute;
} checkpoint;

static void checkpoint_backward(tp_node *node)
{
    checkpoint *c = node->saved;
    tp_graph again = tp_graph_on(c->recompute);
    tp_tensor *y = c->f(&again, c->context, node->input[0]);
    tp_tensor seed = tp_grad_of(node->output);
    tp_backward_from(&again, y, &seed);
    tp_graph_reset(&again);
}
/* <<autodiff: recomputing a checkpoint>> */
tp_tensor *tp_checkpoint(tp_graph *g, tp_segment *f, void *context,
                         tp_tensor *x, tp_arena *recompute)
{
    if (!g->grad)
        return f(g, context, x);
    tp_graph once = tp_graph_on(recompute);
    tp_set_grad(&once, false);
    tp_tensor *y0 = f(&once, context, x);
    tp_tensor *y = tp_tensor_empty(g->arena, y0->shape, TP_WITH_GRAD);
    tp_copy(y, y0);
    tp_graph_reset(&once);
    tp_node *node = tp_record(g, "checkpoint", checkpoint_backward, y, 1,
                              (tp_tensor *[]){x});
    checkpoint *c = tp_arena_alloc(g->arena, sizeof *c);
    *c = (checkpoint){f, context, recompute};
    node->saved = c;
    return y;
}

/* <<autodiff: the gradient checker>> */
static double weighted_sum(tp_arena *arena, const tp_tensor *y,
                           const tp_tensor *weights)
{
    tp_tensor *flat = tp_tensor_empty(arena, y->shape, TP_NO_GRAD);
    tp_copy(flat, y);
    double sum = 0.0;
    for (long j = 0, n = tp_tensor_count(y); j < n; j++)
        sum += (double)weights->data[j] * flat->data[j];
    return sum;
}
/* <<autodiff: the gradient checker>> */
static double evaluate(tp_forward_fn *forward, tp_tensor *const inputs[],
                       void *context, const tp_tensor *weights,
                       tp_arena *scratch)
{
    tp_graph g = tp_graph_on(scratch);
    tp_set_grad(&g, false);
    double loss = weighted_sum(scratch, forward(&g, inputs, context), weights);
    tp_arena_reset(scratch);
    return loss;
}
/* <<autodiff: the gradient checker>> */
static tp_tensor *analytic_gradients(tp_forward_fn *forward,
                                     tp_tensor *const inputs[], int n,
                                     void *context, tp_arena *keep,
                                     tp_arena *scratch)
{
    for (int i = 0; i < n; i++)
        if (inputs[i] != NULL && inputs[i]->grad != NULL) {
            tp_check(tp_tensor_is_contiguous(inputs[i]),
                     "tp_gradcheck: input %d must be contiguous", i);
            tp_tensor gradient = tp_grad_of(inputs[i]);
            tp_fill(&gradient, 0.0f);
        }
    tp_graph g = tp_graph_on(scratch);
    tp_tensor *y = forward(&g, inputs, context);
    tp_tensor *weights = tp_tensor_new(keep, y->shape, TP_NO_GRAD);
    tp_rng rng = tp_rng_seeded(20240601, 7);
    tp_fill_uniform(weights, &rng, -1.0f, 1.0f);
    tp_backward_from(&g, y, weights);
    tp_graph_reset(&g);
    return weights;
}
/* <<autodiff: the gradient checker>> */
static double central_difference(tp_forward_fn *forward,
                                 tp_tensor *const inputs[], void *context,
                                 const tp_tensor *weights, tp_arena *scratch,
                                 float *x)
{
    const float h = 1e-2f;
    float saved = *x, up = saved + h, down = saved - h;
    *x = up;
    double above = evaluate(forward, inputs, context, weights, scratch);
    *x = down;
    double below = evaluate(forward, inputs, context, weights, scratch);
    *x = saved;
    return (above - below) / ((double)up - (double)down);
}
/* <<autodiff: the gradient checker>> */
tp_gradcheck_result tp_gradcheck(tp_forward_fn *forward,
                                 tp_tensor *const inputs[], int n,
                                 void *context)
{
    tp_arena *keep = tp_arena_new("gradcheck"),
             *scratch = tp_arena_new("gradcheck scratch");
    const tp_tensor *weights = analytic_gradients(forward, inputs, n, context,
                                                  keep, scratch);
    tp_gradcheck_result worst = {.error = 0.0, .input = -1};
    for (int i = 0; i < n; i++) {
        if (inputs[i] == NULL || inputs[i]->grad == NULL)
            continue;
        for (long e = 0, count = tp_tensor_count(inputs[i]); e < count; e++) {
            double numeric = central_difference(forward, inputs, context,
                                                weights, scratch,
                                                &inputs[i]->data[e]);
            double analytic = inputs[i]->grad[e];
            double scale = fabs(analytic) + fabs(numeric);
            double error = fabs(analytic - numeric) / (scale > 1e-2 ? scale
                                                                    : 1e-2);
            if (!(error <= worst.error))  /* NaN counts as the worst */
                worst = (tp_gradcheck_result){error, i, e, analytic, numeric};
        }
    }
    tp_arena_free(scratch);
    tp_arena_free(keep);
    return worst;
}
