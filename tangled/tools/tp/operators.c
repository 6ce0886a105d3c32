/* Generated from book/150-operators.nw; edit the book, not this file. */
#include "program.h"

/* <<tp operators: figures>> */
static int draw_activations(tp_draw *d, tp_error *error)
{
    (void)error;
    enum { N = 161 };
    tp_arena *arena = tp_arena_new("figure");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *x = tp_tensor_new(arena, tp_shape1(N), TP_NO_GRAD);
    double xs[N], ys[N];
    for (int i = 0; i < N; i++)
        xs[i] = x->data[i] = -4.0f + 8.0f * (float)i / (N - 1);
    tp_plot p = {d, 44, 12, 290, 160, {.lo = -4, .hi = 4, .label = "x"},
                 {.lo = -1, .hi = 4, .label = "f(x)"}};
    tp_plot_frame(&p);
    /* <<activations figure: one curve per operator>> */
    tp_tensor *(*const ops[4])(tp_graph *, tp_tensor *) = {tp_relu, tp_gelu,
                                                           tp_gelu_tanh, tp_silu};
    tp_legend_entry legend[4] = {{"ReLU", tp_category(0), false},
                                 {"GELU", tp_category(1), false},
                                 {"GELU, tanh form", tp_category(4), true},
                                 {"SiLU", tp_category(2), false}};
    for (int k = 0; k < 4; k++) {
        tp_tensor *y = ops[k](&g, x);
        for (int i = 0; i < N; i++)
            ys[i] = y->data[i];
        tp_plot_line(&p, xs, ys, N, legend[k].color, legend[k].dashed, false);
    }
    tp_plot_legend(&p, legend, 4, TP_TOP_LEFT);
    tp_arena_free(arena);
    return 0;
}

static const tp_figure operators_figures[] = {
    /* <<tp operators: figure table>> */
    {"activations", "ReLU, GELU (exact and tanh) and SiLU", 360, 214,
     draw_activations},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part operators_part = {NULL, operators_figures};
