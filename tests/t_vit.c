/* Generated from book/232-vit.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

static tp_vit *tiny_model(int image_size, uint64_t seed)
{
    tp_vit *m = tp_vit_new((tp_vit_config){image_size, 4, 3, 2, 2, 8});
    tp_rng rng = tp_rng_seeded(seed, 0);
    tp_vit_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    return m;
}

static void random_pixels(float *x, long n, tp_rng *rng)
{
    for (long i = 0; i < n; i++)
        x[i] = tp_rng_uniform(rng);
}

/* <<t-vit: patches>> */
static void patches(void)
{
    float images[2 * 12 * 12], cut[2 * 9 * 16], back[2 * 12 * 12];
    tp_rng rng = tp_rng_seeded(1, 0);
    random_pixels(images, 2 * 144, &rng);
    tp_patchify(images, 2, 12, 4, cut);
    tp_unpatchify(cut, 2, 12, 4, back);
    ok(memcmp(images, back, sizeof images) == 0,
       "unpatchify(patchify(images)) is the identity");
    ok(cut[5 * 16] == images[4 * 12 + 8] && cut[5 * 16 + 4 + 3] == images[5 * 12 + 11]
           && cut[(9 + 0) * 16] == images[144],
       "patch 5 starts at pixel (4, 8), row by row, and the second image "
       "follows the first");
    ok(tp_patch_count(18, 4) == 16, "an 18-pixel image has 4 x 4 whole "
       "patches of 4");
}

/* <<t-vit: equivariance>> */
static void equivariance(void)
{
    tp_vit *m = tiny_model(16, 2);
    static const int order[16] = {3, 0, 7, 12, 1, 5, 15, 2,
                                  9, 4, 14, 6, 10, 13, 8, 11};
    float x[16 * 16], permuted[16 * 16];
    tp_rng rng = tp_rng_seeded(2, 1);
    random_pixels(x, 256, &rng);
    for (int j = 0; j < 16; j++)  /* patch j of the new order is order[j] */
        memcpy(permuted + j * 16, x + order[j] * 16, 16 * sizeof(float));
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    double worst[2];
    for (int positions = 0; positions <= 1; positions++) {
        m->positions = positions;
        tp_tensor *a = tp_vit_encode(&g, m, x, 1, NULL);       /* [1, 17, 8] */
        tp_tensor *b = tp_vit_encode(&g, m, permuted, 1, NULL);
        worst[positions] = 0;
        for (int c = 0; c < 8; c++) {
            worst[positions] = fmax(worst[positions],
                                    fabs(a->data[c] - b->data[c]));
            for (int j = 0; j < 16; j++)
                worst[positions] = fmax(worst[positions], fabs(
                    b->data[(1 + j) * 8 + c] - a->data[(1 + order[j]) * 8 + c]));
        }
    }
    near(worst[0], 0, 1e-5, "without positions, permuting the patches "
         "permutes the tokens and leaves CLS unchanged");
    ok(worst[1] > 1e-2, "with positions, it does not (%.3f)", worst[1]);
    tp_arena_free(arena);
    tp_vit_free(m);
}

/* <<t-vit: padding>> */
static void padding(void)
{
    tp_vit *m = tiny_model(18, 3);
    float a[18 * 18], b[18 * 18];
    tp_rng rng = tp_rng_seeded(3, 1);
    random_pixels(a, 18 * 18, &rng);
    memcpy(b, a, sizeof a);
    for (int i = 0; i < 18; i++)
        for (int j = 16; j < 18; j++)
            b[i * 18 + j] = b[j * 18 + i] = 5.0f * tp_rng_normal(&rng);
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *la = tp_vit_forward(&g, m, a, 1, NULL);
    tp_tensor *lb = tp_vit_forward(&g, m, b, 1, NULL);
    ok(memcmp(la->data, lb->data, 3 * sizeof(float)) == 0,
       "pixels outside the whole patches do not change the logits");
    tp_arena_free(arena);
    tp_vit_free(m);
}

/* <<t-vit: gradients and training>> */
static float grad_images[2 * 12 * 12];
static const int grad_labels[2] = {2, 0};

static tp_tensor *tiny_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)in;
    return tp_vit_loss(g, c, grad_images, grad_labels, 2);
}

static void gradients(void)
{
    tp_vit *m = tiny_model(12, 4);
    tp_rng rng = tp_rng_seeded(4, 1);
    random_pixels(grad_images, 2 * 144, &rng);
    check_model_gradients(tiny_loss, &m->params, m, "the ViT");
    tp_vit_free(m);
}
/* <<t-vit: gradients and training>> */
typedef struct shapes {
    tp_vit *m;
    tp_rng rng;
    float images[32 * 16 * 16];
    int labels[32];
} shapes;

static tp_tensor *shapes_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    shapes *s = context;
    for (int b = 0; b < 32; b++)
        s->labels[b] = (int)tp_shape_image(16, &s->rng, s->images + b * 256);
    return tp_vit_loss(g, s->m, s->images, s->labels, 32);
}
/* <<t-vit: gradients and training>> */
static void training(void)
{
    shapes *s = calloc(1, sizeof *s);
    s->m = tp_vit_new((tp_vit_config){16, 4, TP_SHAPE_CLASSES, 2, 2, 32});
    s->rng = tp_rng_seeded(5, 0);
    tp_vit_init(s->m, &s->rng);
    tp_optimizer *opt = tp_adamw_new(&s->m->params, 0.999f, 0.0f);
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_train_options o = {.steps = 300, .warmup = 30, .max_lr = 2e-3f,
                          .min_lr = 1e-4f, .clip = 1.0};
    tp_train(&g, &s->m->params, opt, &o, shapes_loss, s, NULL, NULL);
    /* <<t-vit: count the right answers on new shapes>> */
    tp_rng fresh = tp_rng_seeded(6, 0);
    int right = 0;
    for (int i = 0; i < 100; i++) {
        float image[256];
        int label = (int)tp_shape_image(16, &fresh, image);
        tp_graph e = tp_graph_on(arena);
        tp_set_grad(&e, false);
        tp_tensor *logits = tp_vit_forward(&e, s->m, image, 1, NULL);
        int best = 0;
        for (int c = 1; c < TP_SHAPE_CLASSES; c++)
            best = logits->data[c] > logits->data[best] ? c : best;
        right += best == label;
    }
    ok(right >= 45, "after 300 steps, %d of 100 new shapes are classified "
       "right, more than twice the 20 of guessing", right);
    char path[] = "/tmp/tp-vit-XXXXXX";
    close(mkstemp(path));
    tp_error error;
    tp_vit *back = tp_vit_save(s->m, path, &error) == 0
                       ? tp_vit_load(path, &error) : NULL;
    ok(back != NULL && back->config.n_embd == 32,
       "the trained model saves and loads");
    tp_vit_free(back);
    unlink(path);
    tp_arena_free(arena);
    tp_optimizer_free(opt);
    tp_vit_free(s->m);
    free(s);
}

int main(void)
{
    patches();
    equivariance();
    padding();
    gradients();
    training();
    return done_testing();
}
