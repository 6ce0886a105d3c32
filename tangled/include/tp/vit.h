/* Generated from book/232-vit.nw; edit the book, not this file. */
#ifndef TP_VIT_H
#define TP_VIT_H

#include "tp/block.h"

/* <<vit: patches>> */
int tp_patch_count(int size, int patch);
void tp_patchify(const float *images, int batch, int size, int patch,
                 float *patches);
void tp_unpatchify(const float *patches, int batch, int size, int patch,
                   float *images);

/* <<vit: the model>> */
typedef struct tp_vit_config {
    int image_size, patch_size, n_classes, n_layer, n_head, n_embd;
} tp_vit_config;

typedef struct tp_vit {
    tp_vit_config config;
    tp_arena *arena;
    tp_params params;
    tp_tensor *patch_w, *patch_b, *cls, *wpe;
    tp_tensor *ln_f_w, *ln_f_b, *head_w, *head_b;
    tp_block *blocks;
    bool positions;  /* false: add no positions (a test's model) */
} tp_vit;

tp_vit *tp_vit_new(tp_vit_config config);
void tp_vit_init(tp_vit *m, tp_rng *rng);
void tp_vit_free(tp_vit *m);
/* <<vit: the model>> */
tp_vit *tp_vit_new_embedding(tp_vit_config config, const char *embedding,
                             int numbers, int tokens);

/* <<vit: running it>> */
tp_tensor *tp_vit_encode(tp_graph *g, tp_vit *m, const float *patches,
                         int batch, tp_tensor **weights);
tp_tensor *tp_vit_encode_tokens(tp_graph *g, tp_vit *m, tp_tensor *embedded,
                                tp_tensor **weights);
tp_tensor *tp_vit_classify(tp_graph *g, tp_vit *m, tp_tensor *encoded);
tp_tensor *tp_vit_forward(tp_graph *g, tp_vit *m, const float *images,
                          int batch, tp_tensor **weights);
tp_tensor *tp_vit_loss(tp_graph *g, tp_vit *m, const float *images,
                       const int *labels, int batch);
int tp_vit_save(const tp_vit *m, const char *path, tp_error *error);
tp_vit *tp_vit_load(const char *path, tp_error *error);

#endif
