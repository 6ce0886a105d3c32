/* Generated from book/380-dense-inputs.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "gradients.h"
#include "models.h"
#include "tap.h"
#include "tp.h"

static void random_values(float *x, long n, tp_rng *rng)
{
    for (long i = 0; i < n; i++)
        x[i] = tp_rng_uniform(rng);
}

/* <<t-dense: counting>> */
static double counted_vit_flops(int size, int patch)
{
    tp_vit *m = tp_vit_new((tp_vit_config){size, patch, 3, 2, 2, 16});
    tp_rng rng = tp_rng_seeded(1, 0);
    tp_vit_init(m, &rng);
    float *image = calloc((size_t)size * size, sizeof *image);
    tp_arena *arena = tp_arena_new("count");
    tp_graph g = tp_graph_on(arena);
    tp_vit_forward(&g, m, image, 1, NULL);
    double flops = tp_tape_flops(&g, NULL);
    tp_arena_free(arena), free(image), tp_vit_free(m);
    return flops;
}
/* <<t-dense: counting>> */
static void counting(void)
{
    bool tokens_agree = true;
    for (int size = 16; size <= 64; size *= 2)
        for (int patch = 4; patch <= 8; patch *= 2)
            tokens_agree = tokens_agree
                && tp_dense_tokens((tp_dense_input){1, 1, size, patch})
                       == tp_patch_count(size, patch);
    ok(tokens_agree, "images: N = (S/P)^2, the ViT's count of patches");
    ok(tp_dense_tokens((tp_dense_input){8, 2, 64, 8}) == 256,
       "a clip of 8 frames of 64 x 64, tubelets 2 x 8 x 8: 256 tokens");
    for (int size = 8; size <= 32; size *= 2) {
        double formula = tp_cost_total(tp_vit_cost(
            (tp_dense_input){1, 1, size, 4}, 2, 16, 3));
        double counted = counted_vit_flops(size, 4);
        ok(formula == counted, "a ViT on %d x %d, patches of 4: the formula "
           "(%.0f) is the work on the tape (%.0f)", size, size, formula,
           counted);
    }
}

/* <<t-dense: merging>> */
static double merge_direct(const float *x, const float *w, int grid, int c,
                           int b, int i, int j, int o)
{
    static const int row[4] = {0, 1, 0, 1}, column[4] = {0, 0, 1, 1};
    double sum = 0.0;
    for (int q = 0; q < 4; q++)
        for (int k = 0; k < c; k++) {
            long token = ((long)b * grid + 2 * i + row[q]) * grid + 2 * j
                         + column[q];
            sum += (double)x[token * c + k] * w[(q * c + k) * 3 + o];
        }
    return sum;
}
/* <<t-dense: merging>> */
static tp_tensor *merge_and_map(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)c;
    tp_tensor *merged = tp_patch_merge(g, in[0], 4);
    merged = tp_layernorm(g, merged, in[2], in[3], 1e-5f);
    return tp_linear(g, merged, in[1], NULL);
}

static void merging(void)
{
    tp_arena *arena = tp_arena_new("merge");
    tp_rng rng = tp_rng_seeded(2, 0);
    tp_tensor *x = tp_tensor_new(arena, tp_shape3(2, 16, 5), TP_WITH_GRAD),
              *w = tp_tensor_new(arena, tp_shape2(20, 3), TP_WITH_GRAD);
    tp_fill_normal(x, &rng, 0.0f, 1.0f), tp_fill_normal(w, &rng, 0.0f, 1.0f);
    /* <<t-dense: merging against the loop>> */
    tp_arena *step = tp_arena_new("merge step");
    tp_graph g = tp_graph_on(step);
    tp_tensor *y = tp_linear(&g, tp_patch_merge(&g, x, 4), w, NULL);
    double worst = 0.0;
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                for (int o = 0; o < 3; o++)
                    worst = fmax(worst, fabs(y->data[((b * 4) + i * 2 + j) * 3 + o]
                                             - merge_direct(x->data, w->data, 4,
                                                            5, b, i, j, o)));
    ok(y->shape.dim[1] == 4 && worst < 1e-5, "patch merging is the concatenation "
       "of 2 x 2 neighbours, then a linear map (largest difference %.1g)", worst);
    tp_arena_free(step);
    tp_tensor *gain = tp_tensor_new(arena, tp_shape1(20), TP_WITH_GRAD),
              *bias = tp_tensor_new(arena, tp_shape1(20), TP_WITH_GRAD);
    tp_fill_normal(gain, &rng, 1.0f, 0.3f), tp_fill_normal(bias, &rng, 0.0f, 0.3f);
    check_gradients(merge_and_map, (tp_tensor *[]){x, w, gain, bias}, 4, NULL,
                    "patch merging, normalisation and the linear map");
    tp_arena_free(arena);
}

/* <<t-dense: the hierarchical ViT>> */
static float hvit_images[2 * 16 * 16];
static const int hvit_labels[2] = {1, 0};

static tp_tensor *hvit_tiny_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)in;
    return tp_hvit_loss(g, c, hvit_images, hvit_labels, 2);
}
/* <<t-dense: the hierarchical ViT>> */
static void hierarchical(void)
{
    tp_hvit_config c = {16, 2, 3, 3, 1, 1, 4};
    tp_hvit *m = tp_hvit_new(c);
    tp_rng rng = tp_rng_seeded(3, 0);
    tp_hvit_init(m, &rng);
    random_values(hvit_images, 2 * 256, &rng);
    tp_arena *arena = tp_arena_new("hvit");
    tp_graph g = tp_graph_on(arena);
    tp_tensor *tokens = tp_hvit_embed(&g, m, hvit_images, 1);
    bool stages_agree = true;
    for (int s = 0; s < c.stages; s++) {
        const tp_node *before = g.last;
        tokens = tp_hvit_stage_forward(&g, m, s, tokens);
        stages_agree = stages_agree && tp_tape_flops(&g, before)
            == tp_cost_total(tp_hvit_stage_cost(&c, s));
    }
    /* <<t-dense: the shape after the stages and the whole count>> */
    ok(stages_agree && tokens->shape.dim[1] == 4 && tokens->shape.dim[2] == 16,
       "three stages: 64, 16, 4 tokens of width 4, 8, 16, each stage's work "
       "the formula");
    tp_graph_reset(&g);
    tp_hvit_forward(&g, m, hvit_images, 1);
    ok(tp_tape_flops(&g, NULL) == tp_hvit_total_cost(&c),
       "the whole hierarchical ViT's work is the formula (%.0f)",
       tp_hvit_total_cost(&c));
    tp_graph_reset(&g);
    tp_arena_free(arena);
    enlarge_weights(&m->params, &rng);
    check_model_gradients(hvit_tiny_loss, &m->params, m,
                          "the hierarchical ViT");
    tp_hvit_free(m);
}

/* <<t-dense: tubelets>> */
static void tubelets(void)
{
    tp_dense_input in = {6, 3, 8, 4};
    enum { B = 2, F = 6, S = 8, T = 3, P = 4, G2 = 4, N = 8, D = 48 };
    static float video[B * F * S * S], cut[B * N * D], patches[G2 * P * P];
    tp_rng rng = tp_rng_seeded(5, 0);
    random_values(video, B * F * S * S, &rng);
    tp_tubeletify(video, B, in, cut);
    bool same = true;
    for (int b = 0; b < B; b++)
        for (int f = 0; f < F; f++) {
            tp_patchify(video + (b * F + f) * S * S, 1, S, P, patches);
            for (int place = 0; place < G2; place++)
                same = same && memcmp(cut + (b * N + (f / T) * G2 + place) * D
                                          + (f % T) * P * P,
                                      patches + place * P * P,
                                      P * P * sizeof(float)) == 0;
        }
    ok(same, "tubelets of 3 x 4 x 4 are each frame's patches, in time order");
}

/* <<t-dense: moving shapes>> */
static void moving_shapes(void)
{
    enum { S = 12, F = 4, V = 2 };
    static float first[S * S], right[F * S * S], left[F * S * S],
        start[S * S], rolled[S * S];
    tp_rng rng = tp_rng_seeded(6, 0);
    tp_shape_image(S, &rng, first);
    tp_motion_frames(first, S, F, V, TP_RIGHT, right);
    tp_roll_image(first, S, 0, (F - 1) * V, start);
    tp_motion_frames(start, S, F, V, TP_LEFT, left);
    bool reversed = true;
    for (int f = 0; f < F; f++)
        reversed = reversed && memcmp(left + f * S * S,
                                      right + (F - 1 - f) * S * S,
                                      S * S * sizeof(float)) == 0;
    tp_roll_image(first, S, -V, 0, rolled);
    tp_motion_frames(first, S, F, V, TP_UP, right);
    ok(reversed && memcmp(right + S * S, rolled, sizeof rolled) == 0,
       "opposite directions are the same frames backwards; up rolls by -%d",
       V);
    /* <<t-dense: the directions are drawn evenly>> */
    int count[TP_DIRECTIONS] = {0};
    static float clip[F * S * S];
    for (int i = 0; i < 4000; i++)
        count[tp_motion_video(S, F, V, &rng, clip)]++;
    bool even = true;
    for (int d = 0; d < TP_DIRECTIONS; d++)
        even = even && abs(count[d] - 1000) < 100;
    ok(even, "4,000 clips: %d, %d, %d, %d of each direction", count[0],
       count[1], count[2], count[3]);
}

/* <<t-dense: the video model>> */
static float clip_pixels[2 * 4 * 8 * 8];
static const int clip_labels[2] = {3, 1};

static tp_tensor *vivit_tiny_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)in;
    return tp_vivit_loss(g, c, clip_pixels, clip_labels, 2);
}
/* <<t-dense: the video model>> */
static void video_model(void)
{
    tp_vivit_config c = {{4, 2, 8, 4}, 4, 1, 2, 8};
    tp_vivit *m = tp_vivit_new(c);
    tp_rng rng = tp_rng_seeded(7, 0);
    tp_vivit_init(m, &rng);
    random_values(clip_pixels, 2 * 4 * 64, &rng);
    tp_arena *arena = tp_arena_new("vivit");
    tp_graph g = tp_graph_on(arena);
    tp_vivit_forward(&g, m, clip_pixels, 1);
    double formula = tp_cost_total(tp_vit_cost(c.input, 1, 8, 4));
    ok(tp_tape_flops(&g, NULL) == formula, "a clip of 4 frames in tubelets "
       "of 2 x 4 x 4: the work on the tape is the formula (%.0f)", formula);
    tp_arena_free(arena);
    enlarge_weights(&m->params, &rng);
    check_model_gradients(vivit_tiny_loss, &m->params, m,
                          "the video Transformer");
    tp_vivit_free(m);
}

int main(void)
{
    counting();
    merging();
    hierarchical();
    tubelets();
    moving_shapes();
    video_model();
    return done_testing();
}
