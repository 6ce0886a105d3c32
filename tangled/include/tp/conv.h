/* Generated from book/325-local-bias.nw; edit the book, not this file. */
#ifndef TP_CONV_H
#define TP_CONV_H

#include "tp/check.h"
#include "tp/train.h"
#include "tp/vit.h"

/* <<conv: the operators>> */
tp_tensor *tp_conv2d(tp_graph *g, tp_tensor *x, tp_tensor *w, tp_tensor *b);
tp_tensor *tp_avg_pool2d(tp_graph *g, tp_tensor *x, int pool);
tp_tensor *tp_depthwise_conv1d(tp_graph *g, tp_tensor *x, tp_tensor *w,
                               tp_tensor *b);

/* <<conv: the small CNN>> */
typedef struct tp_cnn_config {
    int image_size;  /* S: square, one channel, S divisible by 4 */
    int channels;    /* of the first convolution; the second has twice */
    int kernel;      /* k, odd */
    int n_classes;
} tp_cnn_config;

typedef struct tp_cnn {
    tp_cnn_config config;
    tp_arena *arena;
    tp_params params;
    tp_tensor *conv1_w, *conv1_b, *conv2_w, *conv2_b, *head_w, *head_b;
} tp_cnn;

tp_cnn *tp_cnn_new(tp_cnn_config config);
void tp_cnn_init(tp_cnn *m, tp_rng *rng);
void tp_cnn_free(tp_cnn *m);
tp_tensor *tp_cnn_forward(tp_graph *g, tp_cnn *m, const float *images,
                          int batch);
tp_tensor *tp_cnn_loss(tp_graph *g, tp_cnn *m, const float *images,
                       const int *labels, int batch);

/* <<conv: image sets and classifiers>> */
typedef struct tp_image_set {
    int count, size, classes;
    float *pixels;  /* [count, size, size], in [0, 1] */
    int *labels;    /* [count] */
} tp_image_set;

void tp_image_set_shapes(tp_image_set *set, int count, int size,
                         uint64_t stream);
void tp_image_set_free(tp_image_set *set);

typedef tp_tensor *tp_image_logits(tp_graph *g, void *model,
                                   const float *images, int batch);

typedef struct tp_classifier {
    void *model;
    tp_image_logits *logits;
    tp_params *params;
} tp_classifier;

tp_classifier tp_cnn_classifier(tp_cnn *m);
tp_classifier tp_vit_classifier(tp_vit *m);

typedef struct tp_fit_options {
    long steps;
    int batch;
    float max_lr;     /* AdamW, warm-up and cosine decay to max_lr / 100 */
    uint64_t seed;    /* which images make each batch */
} tp_fit_options;

int tp_classifier_fit(const tp_classifier *c, const tp_image_set *train,
                      const tp_fit_options *o, tp_error *error);
int tp_classifier_correct(const tp_classifier *c, const tp_image_set *test);

#endif
