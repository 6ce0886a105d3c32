/* Generated from book/160-attention.nw; edit the book, not this file. */
#include "program.h"

/* <<tp attention: figures>> */
static bool window_of_two(int i, int j, void *context)
{
    (void)context;
    return abs(i - j) <= 2;
}

static bool strided_with_global(int i, int j, void *context)
{
    (void)context;
    return j == 0 || (j <= i && (i - j) % 3 == 0);
}
/* <<tp attention: figures>> */
static void mask_panel(tp_draw *d, tp_tensor *q, tp_tensor *k,
                       const tp_attention_options *options, double x,
                       const char *title, tp_arena *arena)
{
    enum { T = 12 };
    tp_tensor *weights = NULL;
    tp_attention_options o = *options;
    o.weights = &weights;
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_attention(&g, q, k, k, &o);
    unsigned char masked[T * T];
    for (int i = 0; i < T * T; i++)
        masked[i] = weights->data[i] == 0.0f;
    tp_heatmap(d, x, 30, 84, 84, weights->data, T, T, masked, 0.0, 1.0);
    cairo_set_source_rgb(d->cr, 0, 0, 0);
    tp_text(d, x + 42, 24, 0.5, 1.0, 8, title);
}
/* <<tp attention: figures>> */
static int draw_attention_masks(tp_draw *d, tp_error *error)
{
    (void)error;
    tp_arena *arena = tp_arena_new("figure");
    tp_rng rng = tp_rng_seeded(2017, 6);
    tp_tensor *q = tp_tensor_new(arena, tp_shape4(1, 1, 12, 8), TP_NO_GRAD);
    tp_tensor *k = tp_tensor_new(arena, tp_shape4(1, 1, 12, 8), TP_NO_GRAD);
    tp_fill_normal(q, &rng, 0.0f, 1.0f);
    tp_fill_normal(k, &rng, 0.0f, 1.0f);
    static const unsigned char padding[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0,
                                              1, 1, 1};
    const tp_attention_options kinds[4] = {
        {.causal = true}, {.key_padding = padding},
        {.pattern = window_of_two}, {.pattern = strided_with_global}};
    const char *titles[4] = {"causal", "key padding", "local window",
                             "strided, global first"};
    for (int i = 0; i < 4; i++)
        mask_panel(d, q, k, &kinds[i], 12 + 100 * i, titles[i], arena);
    tp_colorbar(d, 410, 30, 8, 84, 0.0, 1.0, "weight");
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, 206, 122, 0.5, 0.0, 8,
            "rows: 12 queries; columns: 12 keys; hatched: masked");
    tp_arena_free(arena);
    return 0;
}

static const tp_figure attention_figures[] = {
    /* <<tp attention: figure table>> */
    {"attention-masks", "attention weights under four masks", 440, 140,
     draw_attention_masks},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part attention_part = {NULL, attention_figures};
