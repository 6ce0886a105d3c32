/* Generated from book/330-data-hunger.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

/* <<t-datahunger: helpers>> */
static tp_vit *tiny_vit(tp_rng *rng)
{
    tp_vit *m = tp_vit_new((tp_vit_config){8, 2, 3, 1, 2, 8});
    tp_vit_init(m, rng);
    enlarge_weights(&m->params, rng);
    return m;
}

static void random_pixels(float *x, long count, tp_rng *rng)
{
    for (long i = 0; i < count; i++)
        x[i] = tp_rng_uniform(rng);
}

/* <<t-datahunger: masking>> */
static void masking(void)
{
    ok(tp_mae_visible(16, 0.75f) == 4 && tp_mae_visible(196, 0.75f) == 49
           && tp_mae_visible(16, 0.5f) == 8,
       "a ratio of 0.75 keeps 4 of 16 patches and 49 of 196 (the paper's)");
    tp_rng rng = tp_rng_seeded(7, 0);
    int keep[50 * 4];
    tp_mae_sample(16, 4, 50, &rng, keep);
    bool distinct = true;
    int seen[16] = {0};
    for (int b = 0; b < 50; b++)
        for (int v = 0; v < 4; v++) {
            int k = keep[b * 4 + v];
            distinct = distinct && k >= 0 && k < 16;
            for (int u = 0; u < v && distinct; u++)
                distinct = keep[b * 4 + u] != k;
            seen[k < 0 || k > 15 ? 0 : k]++;
        }
    bool every = true;
    for (int k = 0; k < 16; k++)
        every = every && seen[k] > 0;
    ok(distinct && every, "each image keeps 4 different patches, and over 50 "
       "images every patch is kept somewhere");
}

/* <<t-datahunger: the encoder never sees a masked patch>> */
static void encoder_blind_to_masked(void)
{
    tp_rng rng = tp_rng_seeded(8, 0);
    tp_vit *m = tiny_vit(&rng);
    float patches[2 * 16 * 4], changed[2 * 16 * 4];
    random_pixels(patches, 2 * 16 * 4, &rng);
    int keep[2 * 4] = {3, 0, 9, 15, 12, 5, 6, 1};
    memcpy(changed, patches, sizeof patches);
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < 16; k++) {
            bool visible = false;
            for (int v = 0; v < 4; v++)
                visible = visible || keep[b * 4 + v] == k;
            for (int j = 0; !visible && j < 4; j++)
                changed[(b * 16 + k) * 4 + j] += 5.0f;
        }
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_tensor *a = tp_mae_encode(&g, m, patches, 2, 4, keep);
    tp_tensor *b = tp_mae_encode(&g, m, changed, 2, 4, keep);
    ok(tp_tensor_count(a) == 2 * 5 * 8
           && memcmp(a->data, b->data, 2 * 5 * 8 * sizeof(float)) == 0,
       "changing every masked pixel leaves the encoder's output identical");
    changed[(1 * 16 + 6) * 4 + 2] += 0.5f;  /* patch 6 of image 1 is visible */
    tp_tensor *c = tp_mae_encode(&g, m, changed, 2, 4, keep);
    ok(memcmp(a->data, c->data, 2 * 5 * 8 * sizeof(float)) != 0,
       "changing one visible pixel changes it");
    tp_arena_free(arena);
    tp_vit_free(m);
}

/* <<t-datahunger: the loss counts masked patches only>> */
static void masked_loss(void)
{
    tp_rng rng = tp_rng_seeded(9, 0);
    tp_vit *m = tiny_vit(&rng);
    tp_mae *mae = tp_mae_new(m, 8, 2);
    tp_mae_init(mae, &rng);
    float patches[2 * 16 * 4];
    random_pixels(patches, 2 * 16 * 4, &rng);
    int keep[2 * 4] = {3, 0, 9, 15, 12, 5, 6, 1};
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_tensor *predicted = tp_mae_reconstruct(&g, mae, patches, 2, 4, keep);
    tp_tensor *loss = tp_mae_masked_error(&g, predicted, patches, 4, keep);
    /* <<t-datahunger: the reference over masked patches>> */
    bool masked[2 * 16];
    for (int i = 0; i < 2 * 16; i++)
        masked[i] = true;
    for (int v = 0; v < 8; v++)
        masked[(v / 4) * 16 + keep[v]] = false;
    double sum = 0.0;
    int count = 0;
    for (int i = 0; i < 2 * 16 * 4; i++)
        if (masked[i / 4]) {
            double e = (double)predicted->data[i] - patches[i];
            sum += e * e, count++;
        }
    double reference = sum / count;
    ok(fabs(loss->data[0] - reference) <= 1e-6 * reference,
       "the loss is the mean squared error over the 24 masked patches "
       "(%.6f against %.6f)", (double)loss->data[0], reference);
    tp_backward(&g, loss);
    double worst = 0.0;
    for (int i = 0; i < 2 * 16 * 4; i++) {
        double want = masked[i / 4] ? 2.0 * (predicted->data[i] - patches[i])
                                          / (2 * 12 * 4) : 0.0;
        worst = fmax(worst, fabs(predicted->grad[i] - want));
    }
    ok(worst <= 1e-7, "its gradient is 0 on visible patches and "
       "2(x' - x)/96 on masked ones (largest difference %.2g)", worst);
    tp_arena_free(arena);
    tp_mae_free(mae);
    tp_vit_free(m);
}

/* <<t-datahunger: gradients>> */
static float grad_patches[2 * 16 * 4], grad_images[2 * 64];
static const int grad_keep[2 * 4] = {3, 0, 9, 15, 12, 5, 6, 1};
static const int grad_labels[2] = {2, -1}, grad_teacher[2] = {1, 0};

static tp_tensor *mae_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)in;
    tp_mae *mae = c;
    return tp_mae_masked_error(g, tp_mae_reconstruct(g, mae, grad_patches, 2,
                                                     4, grad_keep),
                               grad_patches, 4, grad_keep);
}

static tp_tensor *deit_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)in;
    return tp_deit_loss(g, c, grad_images, grad_labels, grad_teacher, 2);
}
/* <<t-datahunger: gradients>> */
static void gradients(void)
{
    tp_rng rng = tp_rng_seeded(10, 0);
    tp_vit *m = tiny_vit(&rng);
    tp_mae *mae = tp_mae_new(m, 8, 2);
    tp_mae_init(mae, &rng);
    enlarge_weights(&mae->params, &rng);
    random_pixels(grad_patches, 2 * 16 * 4, &rng);
    tp_params all = {0};
    for (int i = 0; i < m->params.count; i++)
        tp_params_add(&all, m->params.items[i].name, m->params.items[i].tensor);
    for (int i = 0; i < mae->params.count; i++)
        tp_params_add(&all, mae->params.items[i].name,
                      mae->params.items[i].tensor);
    check_model_gradients(mae_loss, &all, mae, "the masked autoencoder");
    tp_params_free(&all);
    tp_mae_free(mae);
    tp_vit_free(m);
    tp_deit *d = tp_deit_new((tp_vit_config){8, 2, 3, 1, 2, 8});
    tp_deit_init(d, &rng);
    enlarge_weights(&d->params, &rng);
    random_pixels(grad_images, 2 * 64, &rng);
    check_model_gradients(deit_loss, &d->params, d, "the distilled ViT");
    tp_deit_free(d);
}

/* <<t-datahunger: the distilled ViT>> */
static double cross_entropy(const float *logits, int k, int label)
{
    double most = logits[0], sum = 0.0;
    for (int j = 1; j < k; j++)
        most = fmax(most, logits[j]);
    for (int j = 0; j < k; j++)
        sum += exp(logits[j] - most);
    return most + log(sum) - logits[label];
}

static void distilled(void)
{
    tp_rng rng = tp_rng_seeded(11, 0);
    tp_deit *d = tp_deit_new((tp_vit_config){8, 2, 3, 1, 2, 8});
    tp_deit_init(d, &rng);
    enlarge_weights(&d->params, &rng);
    float images[2 * 64], probabilities[2 * 3];
    random_pixels(images, 2 * 64, &rng);
    int labels[2] = {2, 0}, teacher[2] = {1, 0};
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_tensor *cls, *dist;
    tp_deit_forward(&g, d, images, 2, &cls, &dist);
    double want = 0.0;
    for (int b = 0; b < 2; b++)
        want += 0.25 * (cross_entropy(cls->data + 3 * b, 3, labels[b])
                        + cross_entropy(dist->data + 3 * b, 3, teacher[b]));
    tp_tensor *loss = tp_deit_loss(&g, d, images, labels, teacher, 2);
    ok(fabs(loss->data[0] - want) <= 1e-5 * want,
       "the loss is half each head's cross-entropy (%.6f, %.6f)",
       (double)loss->data[0], want);
    /* <<t-datahunger: the prediction averages the heads>> */
    tp_deit_predict(&g, d, images, 2, probabilities);
    double worst = 0.0;
    for (int b = 0; b < 2; b++) {
        double za = 0, zb = 0;
        for (int j = 0; j < 3; j++)
            za += exp(cls->data[3 * b + j]), zb += exp(dist->data[3 * b + j]);
        for (int j = 0; j < 3; j++)
            worst = fmax(worst, fabs(probabilities[3 * b + j]
                                     - 0.5 * (exp(cls->data[3 * b + j]) / za
                                              + exp(dist->data[3 * b + j]) / zb)));
    }
    ok(worst <= 1e-6, "the prediction is the mean of the two heads' softmax "
       "(largest difference %.2g)", worst);
    float before = cls->data[0];
    d->dist->data[0] += 1.0f;
    tp_tensor *cls2, *dist2;
    tp_deit_forward(&g, d, images, 2, &cls2, &dist2);
    ok(cls2->data[0] != before, "the distillation token reaches the class head "
       "through attention");
    tp_arena_free(arena);
    tp_deit_free(d);
}

/* <<t-datahunger: reading a file of images>> */
static void reading_images(void)
{
    char path[] = "/tmp/tp-datahunger-images-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    tp_image_set shapes, read = {0};
    tp_image_set_shapes(&shapes, 70, 16, 5);
    for (int i = 0; f != NULL && i < shapes.count; i++) {
        fprintf(f, "%d", shapes.labels[i]);
        for (int j = 0; j < 256; j++)
            fprintf(f, "%s%.9g", j % 2 ? ", " : " ",
                    shapes.pixels[i * 256 + j]);
        fputc('\n', f);
    }
    tp_error error;
    int status = f != NULL && fclose(f) == 0
                 ? tp_image_set_read(path, &read, &error) : -1;
    ok(status == 0 && read.count == 70 && read.size == 16
           && memcmp(read.pixels, shapes.pixels, 70 * 256 * sizeof(float)) == 0
           && memcmp(read.labels, shapes.labels, 70 * sizeof(int)) == 0,
       "70 shapes of 16x16 written as text are read back bit for bit");
    unlink(path);
    tp_image_set_free(&shapes), tp_image_set_free(&read);
}

int main(void)
{
    masking();
    encoder_blind_to_masked();
    masked_loss();
    gradients();
    distilled();
    reading_images();
    return done_testing();
}
