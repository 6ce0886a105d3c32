/* Generated from book/208-vanilla.nw; edit the book, not this file. */
#ifndef TP_BLOCK_H
#define TP_BLOCK_H

#include "tp/attention.h"
#include "tp/checkpoint.h"
#include "tp/random.h"
#include "tp/train.h"

/* <<block: the parameters of a block>> */
typedef struct tp_block {
    tp_tensor *ln_1_w, *ln_1_b, *c_attn_w, *c_attn_b, *c_proj_w, *c_proj_b;
    tp_tensor *ln_x_w, *ln_x_b, *q_attn_w, *q_attn_b, *kv_attn_w, *kv_attn_b,
        *x_proj_w, *x_proj_b;  /* cross-attention: decoders only, else NULL */
    tp_tensor *ln_2_w, *ln_2_b, *c_fc_w, *c_fc_b, *mlp_proj_w, *mlp_proj_b;
    tp_tensor *mlp_gate_w;  /* SwiGLU's gate; NULL: the activation */
} tp_block;

void tp_block_make(tp_block *b, tp_params *params, tp_arena *arena,
                   const char *prefix, int width, int hidden, bool cross);

typedef struct tp_block_variant {
    int kv_width;   /* of the keys and of the values (GQA); 0: width */
    bool rms_norm;  /* RMSNorm, without biases, instead of LayerNorm */
    bool swiglu;    /* a SwiGLU MLP: a gate beside c_fc */
    bool no_mlp;    /* none: the options' mlp gives it (Chapter 280) */
} tp_block_variant;

void tp_block_make_variant(tp_block *b, tp_params *params, tp_arena *arena,
                           const char *prefix, int width, int hidden,
                           const tp_block_variant *variant);
void tp_init_gpt2(const tp_params *params, tp_rng *rng, int layers);

/* <<block: options for deep stacks>> */
typedef tp_tensor *tp_heads_hook(tp_graph *g, tp_tensor *heads,
                                 void *context);

typedef struct tp_block_depth {
    float skip;              /* the input's weight: a x + f(x); 0: 1 */
    bool no_skip;            /* no residual at all: f(x) */
    tp_tensor *gain;         /* [1]: x + g f(x) (ReZero); NULL: 1 */
    tp_tensor *q_gain, *k_gain;  /* [d]: QK-LayerNorm; NULL: none */
    float temperature;       /* scores divided by it too; 0: 1 */
    float drop_head;         /* DropHead's probability; 0: none */
    tp_rng *rng;             /* DropHead's draws */
    tp_tensor **output;      /* receives the block's output */
    tp_heads_hook *heads;    /* sees, may replace, the heads' outputs */
    void *heads_context;
} tp_block_depth;

/* <<block: running a block>> */
typedef tp_tensor *tp_activation(tp_graph *g, tp_tensor *x);
typedef tp_tensor *tp_attention_op(tp_graph *g, tp_tensor *q, tp_tensor *k,
                                   tp_tensor *v, const tp_attention_options *o);
typedef tp_tensor *tp_position_op(tp_graph *g, tp_tensor **q, tp_tensor **k,
                                  const void *context);
typedef tp_tensor *tp_mlp_op(tp_graph *g, tp_tensor *x, const void *context);
typedef tp_tensor *tp_linear_op(tp_graph *g, tp_tensor *x, tp_tensor *w,
                                tp_tensor *bias, const void *context);

typedef struct tp_block_options {
    int heads;
    bool post_ln;                /* x = LN(x + f(x)) as in 2017; else pre-LN */
    tp_activation *activation;   /* of the MLP; NULL: tp_gelu_tanh */
    tp_attention_options self;   /* the masks of the self-attention */
    tp_attention_options cross;  /* and of the cross-attention */
    tp_attention_op *attend;     /* the self-attention; NULL: tp_attention */
    tp_position_op *positions;   /* rotates q and k, gives a bias; or NULL */
    const void *positions_context;
    const tp_block_depth *depth; /* Chapters 350 and 355; NULL: none */
    int kv_heads;                /* of keys and values (GQA); 0: heads */
    tp_mlp_op *mlp;              /* replaces the block's MLP; or NULL */
    const void *mlp_context;
    tp_linear_op *linear;        /* the projections; NULL: tp_linear */
    const void *linear_context;
} tp_block_options;

tp_tensor *tp_block_forward(tp_graph *g, const tp_block *b, tp_tensor *x,
                            tp_tensor *memory, const tp_block_options *o);

/* <<block: the pieces>> */
tp_tensor *tp_split_heads(tp_graph *g, tp_tensor *packed, int which,
                          int parts, int heads);
void tp_split_qkv(tp_graph *g, tp_tensor *qkv, int heads, int kv_heads,
                  tp_tensor *views[3]);
tp_tensor *tp_merge_heads(tp_graph *g, tp_tensor *o);
tp_tensor *tp_block_mlp(tp_graph *g, const tp_block *b, tp_tensor *x,
                        tp_activation *activation);
tp_tensor *tp_block_norm(tp_graph *g, tp_tensor *x, tp_tensor *gain,
                         tp_tensor *bias);
tp_tensor *tp_sinusoids(tp_arena *arena, int positions, int width);

/* <<block: configurations in checkpoints>> */
typedef struct tp_config_field {
    const char *key;
    int *value;
} tp_config_field;

int tp_model_save(const tp_params *params, const char *kind,
                  const tp_config_field *fields, int n, const char *path,
                  tp_error *error);
int tp_model_config(const char *path, const char *kind,
                    const tp_config_field *fields, int n, tp_error *error);
int tp_model_fits(const char *path, double parameters, tp_error *error);

#endif
