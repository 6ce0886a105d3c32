/* Generated from book/325-local-bias.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradients.h"
#include "models.h"

static tp_rng rng;

/* <<t-localbias: shuffling>> */
static void random_order(int *order, int n)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)tp_rng_below(&rng, (uint32_t)i + 1), t = order[i];
        order[i] = order[j], order[j] = t;
    }
}

static float logits_change(tp_vit *m, const float *a, const float *b)
{
    tp_arena *arena = tp_arena_new("shuffle test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *x = tp_vit_forward(&g, m, a, 4, NULL);
    tp_tensor *y = tp_vit_forward(&g, m, b, 4, NULL);
    float d = tp_max_abs_diff(x, y);
    tp_arena_free(arena);
    return d;
}
/* <<t-localbias: shuffling>> */
static void shuffling(void)
{
    tp_image_set set;
    tp_image_set_shapes(&set, 4, 16, 3);
    int order[16], inverse[16];
    random_order(order, 16);
    for (int i = 0; i < 16; i++)
        inverse[order[i]] = i;
    float shuffled[4 * 256], back[4 * 256];
    tp_shuffle_patches(set.pixels, 4, 16, 4, order, shuffled);
    tp_shuffle_patches(shuffled, 4, 16, 4, inverse, back);
    ok(memcmp(back, set.pixels, sizeof back) == 0,
       "the inverse shuffle gives the images back");
    /* <<t-localbias: the position-free ViT does not see the shuffle>> */
    tp_vit *m = tp_vit_new((tp_vit_config){16, 4, 5, 2, 2, 16});
    tp_vit_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    float with = logits_change(m, set.pixels, shuffled);
    m->positions = false;
    float without = logits_change(m, set.pixels, shuffled);
    ok(without < 1e-5f && with > 1e-3f, "shuffled patches: a position-free "
       "ViT's logits move by %.1g, with positions by %.2g", without, with);
    tp_vit_free(m);
    tp_image_set_free(&set);
}

/* <<t-localbias: the windows of the paper>> */
static int strip(int rolled, int grid, int window, int shift)
{
    return rolled < grid - window ? 0 : rolled < grid - shift ? 1 : 2;
}

static bool paper_allows(int i, int j, int grid, int window, int shift)
{
    /* the rolled grid's (r, c) holds the token ((r + s) mod G, ...) */
    int ri = (i / grid - shift + grid) % grid, ci = (i % grid - shift + grid) % grid;
    int rj = (j / grid - shift + grid) % grid, cj = (j % grid - shift + grid) % grid;
    bool same_window = ri / window == rj / window && ci / window == cj / window;
    bool same_strips = strip(ri, grid, window, shift)
                           == strip(rj, grid, window, shift)
                       && strip(ci, grid, window, shift)
                              == strip(cj, grid, window, shift);
    return same_window && (shift == 0 || same_strips);
}
/* <<t-localbias: the windows of the paper>> */
static void windows(void)
{
    const int cases[][3] = {{8, 4, 2}, {8, 4, 0}, {4, 2, 1}, {6, 3, 1}};
    for (int k = 0; k < 4; k++) {
        int grid = cases[k][0], window = cases[k][1], shift = cases[k][2];
        int n = grid * grid, wrong = 0;
        unsigned char *allowed = malloc((size_t)(n * n));
        tp_swin_windows(grid, window, shift, allowed);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                wrong += allowed[i * n + j]
                         != paper_allows(i, j, grid, window, shift);
        ok(wrong == 0, "windows of %d on a grid of %d shifted by %d: the "
           "mask of the rolled grid (%d pairs differ)", window, grid, shift,
           wrong);
        free(allowed);
    }
}

/* <<t-localbias: information crosses the borders>> */
static float reach(bool shift)
{
    tp_swin *m = tp_swin_new((tp_swin_config){16, 2, 4, 5, 2, 2, 16, shift});
    tp_rng init = tp_rng_seeded(9, 0);
    tp_swin_init(m, &init);
    enlarge_weights(&m->params, &init);
    float image[256], changed[256];
    for (int i = 0; i < 256; i++)
        image[i] = changed[i] = tp_rng_uniform(&rng);
    changed[0] += 1.0f, changed[1] -= 1.0f;  /* the top-left patch */
    tp_arena *arena = tp_arena_new("reach");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *before = tp_swin_encode(&g, m, image, 1);
    tp_tensor *after = tp_swin_encode(&g, m, changed, 1);
    int far = 4 * 8 + 4;  /* the token at (M, M) on the 8 by 8 grid */
    float change = 0.0f;
    for (int c = 0; c < 16; c++)
        change = fmaxf(change, fabsf(*tp_at3(before, 0, far, c)
                                     - *tp_at3(after, 0, far, c)));
    tp_arena_free(arena);
    tp_swin_free(m);
    return change;
}
/* <<t-localbias: information crosses the borders>> */
static void crossing(void)
{
    float plain = reach(false), shifted = reach(true);
    ok(plain == 0.0f, "two layers of plain windows: the top-left patch "
       "does not reach the next window (change %g)", plain);
    ok(shifted > 1e-4f, "two layers, the second shifted: it does "
       "(change %.2g)", shifted);
}

/* <<t-localbias: gradients>> */
typedef struct model_case {
    tp_classifier c;
    const float *images;
    const int *labels;
} model_case;

static tp_tensor *model_loss(tp_graph *g, tp_tensor *const in[], void *ctx)
{
    (void)in;
    model_case *m = ctx;
    return tp_cross_entropy(g, m->c.logits(g, m->c.model, m->images, 2),
                            m->labels, -1);
}

static void check_classifier(tp_classifier c, const char *what)
{
    tp_image_set set;
    tp_image_set_shapes(&set, 2, 8, 4);
    model_case mc = {c, set.pixels, set.labels};
    enlarge_weights(c.params, &rng);
    int count = c.params->count;
    tp_tensor **inputs = calloc((size_t)(count > 0 ? count : 1),
                                sizeof *inputs);
    for (int i = 0; i < count; i++)
        inputs[i] = c.params->items[i].tensor;
    check_gradients(model_loss, inputs, count, &mc, what);
    free(inputs);
    tp_image_set_free(&set);
}
/* <<t-localbias: gradients>> */
static void gradients(void)
{
    tp_swin *swin = tp_swin_new((tp_swin_config){8, 2, 2, 5, 2, 2, 4, true});
    tp_swin_init(swin, &rng);
    check_classifier(tp_swin_classifier(swin), "Swin, every parameter");
    tp_swin_free(swin);
    tp_hybrid *hybrid = tp_hybrid_new((tp_vit_config){8, 4, 5, 1, 2, 4}, 2);
    tp_hybrid_init(hybrid, &rng);
    check_classifier(tp_hybrid_classifier(hybrid), "the hybrid, every "
                     "parameter");
    tp_hybrid_free(hybrid);
    tp_conformer *conformer = tp_conformer_new((tp_conformer_config){
        64, 16, 4, 1, 2, 4, 3, true});
    tp_conformer_init(conformer, &rng);
    check_classifier(tp_conformer_classifier(conformer), "the Conformer, "
                     "every parameter");
    tp_conformer_free(conformer);
}

int main(void)
{
    rng = tp_rng_seeded(325, 1);
    shuffling();
    windows();
    crossing();
    gradients();
    return done_testing();
}
