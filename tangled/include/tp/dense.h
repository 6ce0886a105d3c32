/* Generated from book/380-dense-inputs.nw; edit the book, not this file. */
#ifndef TP_DENSE_H
#define TP_DENSE_H

#include "tp/data.h"
#include "tp/vit.h"

/* <<dense: counting>> */
typedef struct tp_dense_input {
    int frames, depth, size, patch;  /* an image: frames = depth = 1 */
} tp_dense_input;

long tp_dense_tokens(tp_dense_input in);

typedef struct tp_dense_cost {
    double attention;  /* 4 L N'^2 C: scores and weighted values */
    double linear;     /* 24 L N' C^2: the blocks' matrices */
    double other;      /* the embedding 2 N D C and the head 2 C K */
} tp_dense_cost;

tp_dense_cost tp_vit_cost(tp_dense_input in, int layers, int width,
                          int classes);
double tp_cost_total(tp_dense_cost c);
double tp_tape_flops(const tp_graph *g, const tp_node *since);

/* <<dense: patch merging>> */
tp_tensor *tp_patch_merge(tp_graph *g, tp_tensor *x, int grid);

/* <<dense: the hierarchical ViT>> */
enum { TP_HVIT_MAX_STAGES = 4 };

typedef struct tp_hvit_config {
    int image_size, patch_size, n_classes, stages, blocks, n_head, n_embd;
} tp_hvit_config;

typedef struct tp_hvit_stage {
    tp_block *blocks;
    tp_tensor *norm_w, *norm_b, *reduction_w;  /* NULL after the last */
} tp_hvit_stage;

typedef struct tp_hvit {
    tp_hvit_config config;
    tp_arena *arena;
    tp_params params;
    tp_tensor *patch_w, *patch_b, *wpe, *ln_f_w, *ln_f_b, *head_w, *head_b;
    tp_hvit_stage stage[TP_HVIT_MAX_STAGES];
} tp_hvit;
/* <<dense: the hierarchical ViT>> */
tp_hvit *tp_hvit_new(tp_hvit_config config);
void tp_hvit_init(tp_hvit *m, tp_rng *rng);
void tp_hvit_free(tp_hvit *m);
tp_tensor *tp_hvit_embed(tp_graph *g, tp_hvit *m, const float *images,
                         int batch);
tp_tensor *tp_hvit_stage_forward(tp_graph *g, tp_hvit *m, int stage,
                                 tp_tensor *tokens);
tp_tensor *tp_hvit_classify(tp_graph *g, tp_hvit *m, tp_tensor *tokens);
tp_tensor *tp_hvit_forward(tp_graph *g, tp_hvit *m, const float *images,
                           int batch);
tp_tensor *tp_hvit_loss(tp_graph *g, tp_hvit *m, const float *images,
                        const int *labels, int batch);
tp_dense_cost tp_hvit_stage_cost(const tp_hvit_config *c, int stage);
double tp_hvit_total_cost(const tp_hvit_config *c);

/* <<dense: tubelets>> */
void tp_tubeletify(const float *video, int batch, tp_dense_input in,
                   float *tubelets);

/* <<dense: moving shapes>> */
typedef enum tp_direction {
    TP_RIGHT, TP_LEFT, TP_DOWN, TP_UP, TP_DIRECTIONS
} tp_direction;

void tp_roll_image(const float *in, int size, int dy, int dx, float *out);
void tp_motion_frames(const float *first, int size, int frames, int speed,
                      tp_direction d, float *video);
tp_direction tp_motion_video(int size, int frames, int speed, tp_rng *rng,
                             float *video);

/* <<dense: the video model>> */
typedef struct tp_vivit_config {
    tp_dense_input input;
    int n_classes, n_layer, n_head, n_embd;
} tp_vivit_config;

typedef struct tp_vivit {
    tp_vivit_config config;
    tp_vit *vit;       /* a ViT whose patch layer embeds tubelets */
    tp_params params;  /* the ViT's parameters */
} tp_vivit;

tp_vivit *tp_vivit_new(tp_vivit_config config);
void tp_vivit_init(tp_vivit *m, tp_rng *rng);
void tp_vivit_free(tp_vivit *m);
tp_tensor *tp_vivit_forward(tp_graph *g, tp_vivit *m, const float *video,
                            int batch);
tp_tensor *tp_vivit_loss(tp_graph *g, tp_vivit *m, const float *video,
                         const int *labels, int batch);

#endif
