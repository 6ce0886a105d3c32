/* Generated from book/325-local-bias.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "gradients.h"
#include "models.h"

static tp_arena *arena;
static tp_rng rng;

/* <<t-conv: the direct loop>> */
static float direct_conv(const tp_tensor *x, const tp_tensor *w,
                         const tp_tensor *b, int item, int o, int i, int j)
{
    int in = x->shape.dim[1], h = x->shape.dim[2], wd = x->shape.dim[3];
    int k = w->shape.dim[2];
    double sum = b != NULL ? b->data[o] : 0.0;
    for (int c = 0; c < in; c++)
        for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v++) {
                int y = i + u - k / 2, z = j + v - k / 2;
                if (y >= 0 && y < h && z >= 0 && z < wd)
                    sum += (double)w->data[((o * in + c) * k + u) * k + v]
                           * x->data[(((long)item * in + c) * h + y) * wd + z];
            }
    return (float)sum;
}
/* <<t-conv: the direct loop>> */
static float conv_error(int batch, int in, int out, int k, int h, int w)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *x = tp_tensor_normal(arena, tp_shape4(batch, in, h, w),
                                    TP_NO_GRAD, &rng);
    tp_tensor *kw = tp_tensor_normal(arena, tp_shape4(out, in, k, k),
                                     TP_NO_GRAD, &rng);
    tp_tensor *b = tp_tensor_normal(arena, tp_shape1(out), TP_NO_GRAD, &rng);
    tp_tensor *y = tp_conv2d(&g, x, kw, b);
    float worst = 0.0f;
    for (int item = 0; item < batch; item++)
        for (int o = 0; o < out; o++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    worst = fmaxf(worst, fabsf(*tp_at4(y, item, o, i, j)
                                  - direct_conv(x, kw, b, item, o, i, j)));
    return worst;
}

/* <<t-conv: the operators>> */
static tp_tensor *conv_forward(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)c;
    return tp_conv2d(g, in[0], in[1], in[2]);
}

static tp_tensor *conv_pool_forward(tp_graph *g, tp_tensor *const in[],
                                    void *c)
{
    (void)c;
    return tp_avg_pool2d(g, tp_conv2d(g, in[0], in[1], NULL), 2);
}

static tp_tensor *depthwise_forward(tp_graph *g, tp_tensor *const in[],
                                    void *c)
{
    (void)c;
    return tp_depthwise_conv1d(g, in[0], in[1], in[2]);
}

static tp_tensor *random_grad(tp_shape shape)
{
    return tp_tensor_normal(arena, shape, TP_WITH_GRAD, &rng);
}
/* <<t-conv: the operators>> */
static void operators(void)
{
    ok(conv_error(2, 3, 4, 3, 5, 6) < 1e-5f,
       "the convolution (3x3, 3 to 4 channels) equals the direct loop");
    ok(conv_error(1, 2, 3, 5, 4, 4) < 1e-5f,
       "so does a 5x5 kernel wider than half the image");
    ok(conv_error(3, 1, 2, 1, 3, 7) < 1e-5f,
       "and a 1x1 kernel, which is a linear layer per pixel");
    tp_tensor *x = random_grad(tp_shape4(2, 2, 4, 5));
    tp_tensor *w = random_grad(tp_shape4(3, 2, 3, 3));
    tp_tensor *b = random_grad(tp_shape1(3));
    check_gradients(conv_forward, (tp_tensor *[]){x, w, b}, 3, NULL,
                    "tp_conv2d (images, kernels, bias)");
    tp_tensor *x2 = random_grad(tp_shape4(2, 2, 4, 6));
    tp_tensor *w2 = random_grad(tp_shape4(2, 2, 3, 3));
    check_gradients(conv_pool_forward, (tp_tensor *[]){x2, w2}, 2, NULL,
                    "tp_avg_pool2d over tp_conv2d without a bias");
    /* <<t-conv: the depthwise convolution>> */
    tp_tensor *seq = random_grad(tp_shape3(2, 7, 3));
    tp_tensor *dw = random_grad(tp_shape2(3, 5)), *db = random_grad(tp_shape1(3));
    check_gradients(depthwise_forward, (tp_tensor *[]){seq, dw, db}, 3, NULL,
                    "tp_depthwise_conv1d");
    tp_graph dg = tp_graph_on(arena);
    tp_set_grad(&dg, false);
    tp_tensor *full = tp_tensor_new(arena, tp_shape4(3, 3, 5, 5), TP_NO_GRAD);
    tp_tensor *images = tp_tensor_new(arena, tp_shape4(2, 3, 1, 7), TP_NO_GRAD);
    for (int c = 0; c < 3; c++) {
        for (int u = 0; u < 5; u++)
            *tp_at4(full, c, c, 2, u) = *tp_at2(dw, c, u);
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 7; t++)
                *tp_at4(images, b, c, 0, t) = *tp_at3(seq, b, t, c);
    }
    tp_tensor *yd = tp_depthwise_conv1d(&dg, seq, dw, db);
    tp_tensor *yf = tp_conv2d(&dg, images, full, db);
    float worst = 0.0f;
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 7; t++)
            for (int c = 0; c < 3; c++)
                worst = fmaxf(worst, fabsf(*tp_at3(yd, b, t, c)
                                           - *tp_at4(yf, b, c, 0, t)));
    ok(worst < 1e-5f, "the depthwise convolution equals the full one with "
       "kernels zero off their channel");
    /* <<t-conv: pooling equals the mean of each square>> */
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *p = tp_avg_pool2d(&g, x2, 2);
    float mean = (*tp_at4(x2, 1, 1, 2, 4) + *tp_at4(x2, 1, 1, 2, 5)
                  + *tp_at4(x2, 1, 1, 3, 4) + *tp_at4(x2, 1, 1, 3, 5)) / 4;
    ok(fabsf(*tp_at4(p, 1, 1, 1, 2) - mean) < 1e-6f,
       "average pooling gives the mean of each square");
}

/* <<t-conv: the CNN>> */
typedef struct cnn_case {
    tp_cnn *m;
    const float *images;
    const int *labels;
} cnn_case;

static tp_tensor *cnn_loss_forward(tp_graph *g, tp_tensor *const in[],
                                   void *context)
{
    (void)in;
    cnn_case *c = context;
    return tp_cnn_loss(g, c->m, c->images, c->labels, 3);
}
/* <<t-conv: the CNN>> */
static void cnn(void)
{
    tp_cnn *m = tp_cnn_new((tp_cnn_config){8, 3, 3, 5});
    tp_cnn_init(m, &rng);
    tp_image_set set;
    tp_image_set_shapes(&set, 3, 8, 5);
    cnn_case c = {m, set.pixels, set.labels};
    enlarge_weights(&m->params, &rng);  /* biases off zero, away from kinks */
    tp_tensor *weights[6];
    for (int i = 0; i < 6; i++)
        weights[i] = m->params.items[i].tensor;
    check_gradients(cnn_loss_forward, weights, 6, &c,
                    "the CNN's loss, through all its parameters");
    tp_image_set_free(&set);
    tp_cnn_free(m);
    /* <<t-conv: the CNN learns the shapes>> */
    tp_image_set train, test;
    tp_image_set_shapes(&train, 1000, 16, 11);
    tp_image_set_shapes(&test, 500, 16, 12);
    tp_cnn *learner = tp_cnn_new((tp_cnn_config){16, 8, 3, TP_SHAPE_CLASSES});
    tp_rng init = tp_rng_seeded(1, 0);
    tp_cnn_init(learner, &init);
    tp_classifier clf = tp_cnn_classifier(learner);
    tp_error error;
    int status = tp_classifier_fit(&clf, &train, &(tp_fit_options){300, 32,
                                   1e-2f, 1}, &error);
    int right = tp_classifier_correct(&clf, &test);
    ok(status == 0 && right > 300, "a CNN trained on 1,000 shapes classifies "
       "%d of 500 new ones (more than 300, three times chance, wanted)", right);
    tp_cnn_free(learner);
    tp_image_set_free(&train), tp_image_set_free(&test);
}

int main(void)
{
    arena = tp_arena_new("t_conv");
    rng = tp_rng_seeded(325, 0);
    operators();
    cnn();
    tp_arena_free(arena);
    return done_testing();
}
