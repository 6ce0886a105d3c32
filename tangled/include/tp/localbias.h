/* Generated from book/325-local-bias.nw; edit the book, not this file. */
#ifndef TP_LOCALBIAS_H
#define TP_LOCALBIAS_H

#include "tp/conv.h"
#include "tp/vit.h"

/* <<localbias: shuffling patches>> */
void tp_shuffle_patches(const float *images, int batch, int size, int patch,
                        const int *order, float *out);

/* <<localbias: the hybrid>> */
typedef struct tp_hybrid {
    tp_vit *vit;     /* its blocks, CLS, positions and head; no patch layer */
    tp_arena *arena;
    tp_params params;
    int stem_channels;
    tp_tensor *stem1_w, *stem1_b, *stem2_w, *stem2_b;
} tp_hybrid;

tp_hybrid *tp_hybrid_new(tp_vit_config vit, int stem_channels);
void tp_hybrid_init(tp_hybrid *m, tp_rng *rng);
void tp_hybrid_free(tp_hybrid *m);
tp_tensor *tp_hybrid_forward(tp_graph *g, tp_hybrid *m, const float *images,
                             int batch);
tp_classifier tp_hybrid_classifier(tp_hybrid *m);

/* <<localbias: Swin>> */
typedef struct tp_swin_config {
    int image_size, patch_size;
    int window;      /* M: the side of a window, in patches */
    int n_classes, n_layer, n_head, n_embd;
    bool shift;      /* every other layer shifted by M / 2; false: never */
} tp_swin_config;

typedef struct tp_swin {
    tp_swin_config config;
    tp_arena *arena;
    tp_params params;
    tp_tensor *patch_w, *patch_b, *ln_f_w, *ln_f_b, *head_w, *head_b;
    tp_block *blocks;
    tp_tensor **bias_table;     /* per layer: [(2M - 1)^2, H] */
    int *relative;              /* [N, N]: each pair's row of the table */
    unsigned char *allowed[2];  /* [N, N]: plain and shifted windows */
} tp_swin;

void tp_swin_windows(int grid, int window, int shift, unsigned char *allowed);
tp_swin *tp_swin_new(tp_swin_config config);
void tp_swin_init(tp_swin *m, tp_rng *rng);
void tp_swin_free(tp_swin *m);
tp_tensor *tp_swin_encode(tp_graph *g, tp_swin *m, const float *images,
                          int batch);
tp_tensor *tp_swin_forward(tp_graph *g, tp_swin *m, const float *images,
                           int batch);
tp_classifier tp_swin_classifier(tp_swin *m);

/* <<localbias: Conformer>> */
enum { TP_WAVE_CLASSES = 4 };
void tp_image_set_waves(tp_image_set *set, int count, uint64_t stream);

typedef struct tp_conformer_config {
    int length, frame, n_classes, n_layer, n_head, n_embd, kernel;
    bool conv;  /* false: the plain pre-LN Transformer to compare with */
} tp_conformer_config;

typedef struct tp_conformer_layer {
    tp_tensor *ffn_w[2][6];  /* two halves: LN gain, LN bias, fc w, b, proj w, b */
    tp_tensor *conv_w[8];    /* gate w, b; value w, b; depthwise w, b;
                                LN gain, bias (the first LN: the block's) */
    tp_tensor *out_w, *out_b, *proj_w, *proj_b;
} tp_conformer_layer;

typedef struct tp_conformer {
    tp_conformer_config config;
    tp_arena *arena;
    tp_params params;
    tp_tensor *frame_w, *frame_b, *wpe, *head_w, *head_b;
    tp_block *blocks;
    tp_conformer_layer *layers;
} tp_conformer;

tp_conformer *tp_conformer_new(tp_conformer_config config);
void tp_conformer_init(tp_conformer *m, tp_rng *rng);
void tp_conformer_free(tp_conformer *m);
tp_tensor *tp_conformer_forward(tp_graph *g, tp_conformer *m,
                                const float *waves, int batch);
tp_classifier tp_conformer_classifier(tp_conformer *m);

#endif
