/* Generated from book/224-gpt.nw; edit the book, not this file. */
#ifndef TP_GPT_H
#define TP_GPT_H

#include "tp/attention.h"
#include "tp/block.h"
#include "tp/checkpoint.h"
#include "tp/data.h"
#include "tp/ops.h"
#include "tp/positions.h"
#include "tp/train.h"

/* <<gpt: configuration and parameters>> */
typedef struct tp_gpt_config {
    int vocab_size, n_positions, n_layer, n_head, n_embd;
    tp_position_kind positions;  /* how tokens know where they are */
} tp_gpt_config;

tp_gpt_config tp_gpt_t(void);
/* <<gpt: configuration and parameters>> */
typedef struct tp_gpt_modern {
    int kv_heads;   /* of keys and values (GQA, MQA); 0: n_head */
    bool rms_norm;  /* RMSNorm instead of LayerNorm */
    bool swiglu;    /* a SwiGLU MLP instead of GELU's */
    bool no_mlp;    /* blocks without MLP: mlp gives it, or none */
} tp_gpt_modern;

typedef tp_tensor *tp_gpt_mlp(tp_graph *g, tp_tensor *x, int layer,
                              void *context);
typedef tp_tensor *tp_gpt_linear(tp_graph *g, tp_tensor *x, tp_tensor *w,
                                 tp_tensor *b, void *context);

typedef struct tp_gpt {
    tp_gpt_config config;
    tp_arena *arena;
    tp_params params;
    tp_tensor *wte, *wpe, *ln_f_w, *ln_f_b;
    tp_block *blocks;
    tp_attention_op *attention;  /* the blocks' self-attention; NULL: exact */
    tp_position_encoding encoding;  /* config.positions' parameters */
    bool post_ln;                /* post-LN blocks (Chapter 350) */
    tp_block_depth *depth;       /* per layer (Chapters 350, 355), or NULL */
    tp_arena *checkpoint;  /* non-NULL: blocks recompute in it (backward) */
    tp_gpt_modern modern;  /* the block's variant, saved in checkpoints */
    tp_gpt_mlp *mlp;       /* with no_mlp: each layer's MLP */
    void *mlp_context;
    const tp_metadata *mlp_metadata;  /* what checkpoints say of mlp */
    tp_gpt_linear *linear;  /* decoding's linear layers (Chapter 340) */
    void *linear_context;
    tp_linear_op *adapters;  /* the blocks' projections (Chapter 365) */
    const void *adapters_context;
} tp_gpt;

tp_gpt *tp_gpt_new(tp_gpt_config config);
tp_gpt *tp_gpt_new_modern(tp_gpt_config config, tp_gpt_modern modern);
void tp_gpt_init(tp_gpt *m, tp_rng *rng);
void tp_gpt_free(tp_gpt *m);

/* <<gpt: forward and loss>> */
tp_tensor *tp_gpt_forward(tp_graph *g, tp_gpt *m, const int *tokens,
                          int batch, int length);
tp_tensor *tp_gpt_loss(tp_graph *g, tp_gpt *m, const int *tokens,
                       const int *targets, int batch, int length);
tp_tensor **tp_gpt_attention_maps(tp_gpt *m, const int *tokens, int length,
                                  tp_arena *arena);
tp_tensor *tp_gpt_forward_embedded(tp_graph *g, tp_gpt *m, tp_tensor *x);

/* <<gpt: decoding>> */
typedef struct tp_gpt_cache {
    tp_arena *arena;
    tp_tensor **k, **v;  /* per layer: [1, H, capacity, d] */
    int length, capacity;
} tp_gpt_cache;

tp_gpt_cache *tp_gpt_cache_new(const tp_gpt *m, int capacity);
void tp_gpt_cache_free(tp_gpt_cache *cache);
const float *tp_gpt_step(tp_gpt *m, tp_gpt_cache *cache, int token,
                         tp_arena *scratch);
int tp_gpt_sample_token(const float *logits, int vocab, float temperature,
                        int top_k, float top_p, tp_rng *rng);
/* <<gpt: decoding>> */
typedef tp_tensor *tp_kv_attend(void *store, tp_graph *g, int layer, int at,
                                tp_tensor *q, tp_tensor *k, tp_tensor *v);

const float *tp_gpt_extend(tp_gpt *m, tp_gpt_cache *cache, const int *tokens,
                           int n, tp_arena *scratch);
const float *tp_gpt_extend_with(tp_gpt *m, tp_kv_attend *attend, void *store,
                                int at, const int *tokens, int n,
                                tp_arena *scratch);

/* <<gpt: checkpoints>> */
int tp_gpt_save(const tp_gpt *m, const char *path, const tp_param *extra,
                int n_extra, const tp_metadata *metadata, tp_error *error);
tp_gpt *tp_gpt_load(const char *path, tp_metadata *metadata, tp_error *error);
/* <<gpt: checkpoints>> */
tp_gpt *tp_gpt_load_hooked(const char *path, const char *mlp,
                           tp_metadata *metadata, tp_error *error);
/* <<gpt: checkpoints>> */
int tp_gpt_save_run(const char *path, const tp_gpt *m,
                    const tp_optimizer *opt, const tp_rng *data,
                    tp_error *error);
int tp_gpt_load_run(const char *path, const tp_gpt *m, tp_optimizer *opt,
                    tp_rng *data, tp_error *error);

/* <<gpt: where a step's time goes>> */
typedef enum tp_gpt_op_class {
    TP_OPS_PRODUCTS, TP_OPS_ATTENTION, TP_OPS_NORMS, TP_OPS_ACTIVATION,
    TP_OPS_RESIDUALS, TP_OPS_LOSS, TP_OPS_OTHER, TP_OPS_CLASSES
} tp_gpt_op_class;

extern const char *const tp_gpt_op_class_names[TP_OPS_CLASSES];
tp_gpt_op_class tp_gpt_op_class_of(const char *op);

#endif
