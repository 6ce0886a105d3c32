/* Generated from book/140-autodiff.nw; edit the book, not this file. */
#include "gradients.h"

static tp_arena *arena;
static tp_rng rng;

/* <<t-autodiff: helpers>> */
static tp_tensor *random_tensor(tp_shape shape, tp_grad_mode grad)
{
    return tp_tensor_normal(arena, shape, grad, &rng);
}


/* <<t-autodiff: a gradient known in closed form>> */
static void known_gradient(void)
{
    tp_arena *step = tp_arena_new("step");
    tp_tensor *x = random_tensor(tp_shape2(5, 3), TP_WITH_GRAD);
    tp_tensor *w = random_tensor(tp_shape2(3, 2), TP_WITH_GRAD);
    tp_graph g = tp_graph_on(step);
    tp_backward(&g, tp_sum(&g, tp_matmul(&g, x, w)));
    double worst_w = 0, worst_x = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) {
            double column = 0;
            for (int n = 0; n < 5; n++)
                column += *tp_at2(x, n, i);
            worst_w = fmax(worst_w, fabs(w->grad[i * 2 + j] - column));
        }
    for (int n = 0; n < 5; n++)
        for (int i = 0; i < 3; i++)
            worst_x = fmax(worst_x, fabs(x->grad[n * 3 + i]
                                         - (*tp_at2(w, i, 0) + *tp_at2(w, i, 1))));
    near(worst_w, 0, 1e-5, "d/dW of sum(XW) is the column sums of X");
    near(worst_x, 0, 1e-5, "d/dX of sum(XW) is the row sums of W");
    tp_arena_free(step);
}

/* <<t-autodiff: accumulation and no-grad>> */
static void accumulation_and_no_grad(void)
{
    tp_arena *step = tp_arena_new("step");
    tp_tensor *x = random_tensor(tp_shape2(4, 3), TP_NO_GRAD);
    tp_tensor *w = random_tensor(tp_shape2(3, 2), TP_WITH_GRAD);
    tp_graph g = tp_graph_on(step);
    tp_backward(&g, tp_sum(&g, tp_matmul(&g, x, w)));
    float once = w->grad[5];
    tp_graph_reset(&g);
    tp_backward(&g, tp_sum(&g, tp_matmul(&g, x, w)));
    near(w->grad[5], 2 * once, 1e-5, "a second backward pass adds to the "
         "gradient");
    tp_graph_reset(&g);
    bool was = tp_set_grad(&g, false);
    tp_tensor *y = tp_matmul(&g, x, w);
    ok(was && y->grad == NULL && g.nodes == 0,
       "in no-grad mode nothing is recorded and results have no gradient");
    tp_arena_free(step);
}

/* <<t-autodiff: the checker fails on a wrong backward>> */
static void wrong_square_backward(tp_node *node)
{
    tp_tensor *x = node->input[0];
    for (long i = 0, n = tp_tensor_count(x); i < n; i++)
        x->grad[i] += x->data[i] * node->output->grad[i];  /* 2 forgotten */
}

static tp_tensor *wrong_square(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)c;
    tp_tensor *x = in[0];
    bool grad = tp_needs_grad(g, 1, in);
    tp_tensor *y = tp_tensor_empty(g->arena, x->shape,
                                   grad ? TP_WITH_GRAD : TP_NO_GRAD);
    for (long i = 0, n = tp_tensor_count(x); i < n; i++)
        y->data[i] = x->data[i] * x->data[i];
    if (grad)
        tp_record(g, "wrong square", wrong_square_backward, y, 1, in);
    return y;
}

static void checker_fails_on_a_wrong_backward(void)
{
    tp_tensor *x = random_tensor(tp_shape1(6), TP_WITH_GRAD);
    tp_gradcheck_result r = tp_gradcheck(wrong_square, (tp_tensor *[]){x}, 1,
                                         NULL);
    near(r.error, 1.0 / 3, 0.01, "the checker finds the missing factor 2");
}

/* <<t-autodiff: checking the matrix product and the sum>> */
typedef struct product_form {
    bool transpose_a, transpose_b;
} product_form;

static tp_tensor *product(tp_graph *g, tp_tensor *const in[], void *context)
{
    const product_form *form = context;
    int na = in[0]->shape.ndim, nb = in[1]->shape.ndim;
    tp_tensor *a = form->transpose_a
                       ? tp_transpose(g->arena, in[0], na - 2, na - 1) : in[0];
    tp_tensor *b = form->transpose_b
                       ? tp_transpose(g->arena, in[1], nb - 2, nb - 1) : in[1];
    return tp_matmul(g, a, b);
}

static tp_tensor *sum_of_transpose(tp_graph *g, tp_tensor *const in[],
                                   void *context)
{
    (void)context;
    return tp_sum(g, tp_transpose(g->arena, in[0], 0, 1));
}
/* <<t-autodiff: checking the matrix product and the sum>> */
static void matmul_and_sum_gradients(void)
{
    product_form plain = {false, false}, ta = {true, false}, tb = {false, true};
    tp_tensor *a = random_tensor(tp_shape2(4, 3), TP_WITH_GRAD);
    tp_tensor *b = random_tensor(tp_shape2(3, 5), TP_WITH_GRAD);
    check_gradients(product, (tp_tensor *[]){a, b}, 2, &plain, "A B");
    tp_tensor *at = random_tensor(tp_shape2(3, 4), TP_WITH_GRAD);
    check_gradients(product, (tp_tensor *[]){at, b}, 2, &ta, "A^T B");
    tp_tensor *bt = random_tensor(tp_shape2(5, 3), TP_WITH_GRAD);
    check_gradients(product, (tp_tensor *[]){a, bt}, 2, &tb, "A B^T");
    tp_tensor *a3 = random_tensor(tp_shape3(2, 4, 3), TP_WITH_GRAD);
    tp_tensor *b3 = random_tensor(tp_shape3(2, 3, 5), TP_WITH_GRAD);
    check_gradients(product, (tp_tensor *[]){a3, b3}, 2, &plain,
                    "a batch of products");
    check_gradients(product, (tp_tensor *[]){a3, b}, 2, &plain,
                    "a batch sharing one matrix");
    tp_tensor *q = random_tensor(tp_shape4(2, 2, 3, 4), TP_WITH_GRAD);
    tp_tensor *k = random_tensor(tp_shape4(2, 2, 3, 4), TP_WITH_GRAD);
    check_gradients(product, (tp_tensor *[]){q, k}, 2, &tb,
                    "Q K^T over [2, 2] heads");
    check_gradients(sum_of_transpose, (tp_tensor *[]){a}, 1, NULL,
                    "the sum of a transposed view");
}

/* <<t-autodiff: the profile>> */
static float *profiled_gradient(tp_tensor *x, tp_tensor *w, tp_profile *p)
{
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    g.profile = p;
    if (p != NULL)
        tp_profile_start(p);
    tp_tensor gradient_of_w = tp_grad_of(w);
    tp_fill(&gradient_of_w, 0.0f);
    tp_backward(&g, tp_sum(&g, tp_matmul(&g, tp_matmul(&g, x, w), w)));
    float *gradient = tp_arena_alloc(arena, 9 * sizeof *gradient);
    memcpy(gradient, w->grad, 9 * sizeof *gradient);
    tp_arena_free(step);
    return gradient;
}

static void profile_counts_and_changes_nothing(void)
{
    tp_tensor *x = random_tensor(tp_shape2(4, 3), TP_NO_GRAD);
    tp_tensor *w = random_tensor(tp_shape2(3, 3), TP_WITH_GRAD);
    tp_profile *p = tp_arena_zeroed(arena, 1, sizeof *p);
    float *plain = profiled_gradient(x, w, NULL);
    float *timed = profiled_gradient(x, w, p);
    ok(memcmp(plain, timed, 9 * sizeof *plain) == 0,
       "profiling a step leaves its gradients bit for bit as they were");
    bool counted = p->ops == 2;
    for (int i = 0; i < p->ops; i++) {
        long nodes = strcmp(p->entry[i].op, "matmul") == 0 ? 2 : 1;
        counted = counted && p->entry[i].forward_calls == nodes
                  && p->entry[i].backward_calls == nodes
                  && p->entry[i].forward_seconds >= 0
                  && p->entry[i].backward_seconds >= 0;
    }
    ok(counted, "the profile counts each node once forward and once "
       "backward, by operator");
}

/* <<t-autodiff: broken contracts>> */
static int backward_without_gradient(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_tensor *x = random_tensor(tp_shape2(2, 2), TP_NO_GRAD);
    tp_backward(&g, tp_sum(&g, x));
    return 0;
}

static int backward_from_a_matrix(void)
{
    tp_graph g = tp_graph_on(arena);
    tp_tensor *x = random_tensor(tp_shape2(2, 2), TP_WITH_GRAD);
    tp_backward(&g, tp_matmul(&g, x, x));
    return 0;
}

static void broken_contracts(void)
{
    dies_with(backward_without_gradient, "without a gradient",
              "backward from a result that has no gradient says why");
    dies_with(backward_from_a_matrix, "must be a single number, not [2, 2]",
              "the loss of tp_backward must be a scalar");
}

int main(void)
{
    arena = tp_arena_new("test");
    rng = tp_rng_seeded(3, 3);
    known_gradient();
    accumulation_and_no_grad();
    checker_fails_on_a_wrong_backward();
    matmul_and_sum_gradients();
    profile_counts_and_changes_nothing();
    broken_contracts();
    tp_arena_free(arena);
    return done_testing();
}
