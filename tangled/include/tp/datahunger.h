/* Generated from book/330-data-hunger.nw; edit the book, not this file. */
#ifndef TP_DATAHUNGER_H
#define TP_DATAHUNGER_H

#include "tp/conv.h"
#include "tp/vit.h"

/* <<datahunger: masking>> */
int tp_mae_visible(int patches, float ratio);
void tp_mae_sample(int patches, int visible, int batch, tp_rng *rng,
                   int *keep);

/* <<datahunger: the masked autoencoder>> */
typedef struct tp_mae {
    tp_vit *encoder;  /* borrowed: the ViT it pre-trains */
    int width, heads;  /* the decoder's */
    tp_arena *arena;
    tp_params params;  /* the decoder's alone */
    tp_tensor *embed_w, *embed_b, *mask_token, *wpe;
    tp_tensor *ln_d_w, *ln_d_b, *pixels_w, *pixels_b;
    tp_block block;
} tp_mae;

tp_mae *tp_mae_new(tp_vit *encoder, int width, int heads);
void tp_mae_init(tp_mae *mae, tp_rng *rng);
void tp_mae_free(tp_mae *mae);
tp_tensor *tp_mae_encode(tp_graph *g, tp_vit *m, const float *patches,
                         int batch, int visible, const int *keep);
tp_tensor *tp_mae_reconstruct(tp_graph *g, tp_mae *mae, const float *patches,
                              int batch, int visible, const int *keep);
tp_tensor *tp_mae_masked_error(tp_graph *g, tp_tensor *predicted,
                               const float *patches, int visible,
                               const int *keep);
tp_tensor *tp_mae_loss(tp_graph *g, tp_mae *mae, const float *images,
                       int batch, float ratio, tp_rng *rng);

/* <<datahunger: the distilled ViT>> */
typedef struct tp_deit {
    tp_vit *vit;  /* owned */
    tp_arena *arena;
    tp_params params;  /* the ViT's, then the distillation token's */
    tp_tensor *dist, *dist_pos, *dist_w, *dist_b;
} tp_deit;

tp_deit *tp_deit_new(tp_vit_config config);
void tp_deit_init(tp_deit *d, tp_rng *rng);
void tp_deit_free(tp_deit *d);
void tp_deit_forward(tp_graph *g, tp_deit *d, const float *images, int batch,
                     tp_tensor **class_logits, tp_tensor **dist_logits);
tp_tensor *tp_deit_loss(tp_graph *g, tp_deit *d, const float *images,
                        const int *labels, const int *teacher, int batch);
void tp_deit_predict(tp_graph *g, tp_deit *d, const float *images, int batch,
                     float *probabilities);

/* <<datahunger: a file of images>> */
int tp_image_set_read(const char *path, tp_image_set *set, tp_error *error);

#endif
