/* Generated from book/325-local-bias.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/localbias.h"
#include "tp/ops.h"

/* <<localbias: implementing the shuffle>> */
void tp_shuffle_patches(const float *images, int batch, int size, int patch,
                        const int *order, float *out)
{
    int n = tp_patch_count(size, patch), pixels = patch * patch;
    float *in = malloc((size_t)batch * size * size * sizeof *in);
    float *moved = malloc((size_t)batch * size * size * sizeof *moved);
    tp_check(in != NULL && moved != NULL, "out of memory");
    tp_patchify(images, batch, size, patch, in);
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < n; i++)
            memcpy(moved + ((long)b * n + i) * pixels,
                   in + ((long)b * n + order[i]) * pixels,
                   (size_t)pixels * sizeof *in);
    tp_unpatchify(moved, batch, size, patch, out);
    free(in), free(moved);
}

/* <<localbias: implementing the hybrid>> */
tp_hybrid *tp_hybrid_new(tp_vit_config c, int stem_channels)
{
    tp_check(c.patch_size % 2 == 0 && stem_channels >= 1,
             "a hybrid needs an even patch side (not %d) and stem channels",
             c.patch_size);
    tp_hybrid *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->vit = tp_vit_new(c);
    m->arena = tp_arena_new("hybrid stem");
    m->stem_channels = stem_channels;
    tp_params *p = &m->params;
    m->stem1_w = tp_param_new(p, m->arena, "stem.conv1.weight",
                              tp_shape4(stem_channels, 1, 3, 3));
    m->stem1_b = tp_param_new(p, m->arena, "stem.conv1.bias",
                              tp_shape1(stem_channels));
    m->stem2_w = tp_param_new(p, m->arena, "stem.conv2.weight",
                              tp_shape4(c.n_embd, stem_channels, 3, 3));
    m->stem2_b = tp_param_new(p, m->arena, "stem.conv2.bias",
                              tp_shape1(c.n_embd));
    /* <<hybrid: take the ViT's parameters but its patch layer>> */
    for (int i = 0; i < m->vit->params.count; i++) {
        const tp_param *q = &m->vit->params.items[i];
        if (strncmp(q->name, "patch.", 6) != 0)
            tp_params_add(p, q->name, q->tensor);
    }
    return m;
}
/* <<localbias: implementing the hybrid>> */
void tp_hybrid_init(tp_hybrid *m, tp_rng *rng)
{
    tp_vit_init(m->vit, rng);
    tp_fill_normal(m->stem1_w, rng, 0.0f, sqrtf(2.0f / 9.0f));
    tp_fill_normal(m->stem2_w, rng, 0.0f,
                   sqrtf(2.0f / (9.0f * (float)m->stem_channels)));
    tp_fill(m->stem1_b, 0.0f), tp_fill(m->stem2_b, 0.0f);
}

void tp_hybrid_free(tp_hybrid *m)
{
    if (m == NULL)
        return;
    tp_vit_free(m->vit);
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
    free(m);
}
/* <<localbias: implementing the hybrid>> */
tp_tensor *tp_hybrid_forward(tp_graph *g, tp_hybrid *m, const float *images,
                             int batch)
{
    const tp_vit_config *c = &m->vit->config;
    int size = c->image_size, grid = size / c->patch_size;
    tp_tensor *x = tp_tensor_empty(g->arena, tp_shape4(batch, 1, size, size),
                                   TP_NO_GRAD);
    memcpy(x->data, images, (size_t)batch * size * size * sizeof *images);
    x = tp_silu(g, tp_conv2d(g, x, m->stem1_w, m->stem1_b));
    x = tp_avg_pool2d(g, x, 2);
    x = tp_silu(g, tp_conv2d(g, x, m->stem2_w, m->stem2_b));
    x = tp_avg_pool2d(g, x, c->patch_size / 2);
    x = tp_contiguous(g, tp_permute(g->arena, x, (const int[]){0, 2, 3, 1}));
    x = tp_reshape(g->arena, x, tp_shape3(batch, grid * grid, c->n_embd));
    return tp_vit_classify(g, m->vit, tp_vit_encode_tokens(g, m->vit, x,
                                                            NULL));
}
/* <<localbias: implementing the hybrid>> */
static tp_tensor *hybrid_logits(tp_graph *g, void *model, const float *images,
                                int batch)
{
    return tp_hybrid_forward(g, model, images, batch);
}

tp_classifier tp_hybrid_classifier(tp_hybrid *m)
{
    return (tp_classifier){m, hybrid_logits, &m->params};
}

/* <<localbias: implementing Swin>> */
void tp_swin_windows(int grid, int window, int shift, unsigned char *allowed)
{
    tp_check(window >= 1 && grid % window == 0 && shift >= 0
             && shift < window, "tp_swin_windows: windows of %d do not "
             "tile a grid of %d, or a shift of %d", window, grid, shift);
    int n = grid * grid;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int ri = (i / grid + window - shift) / window;
            int ci = (i % grid + window - shift) / window;
            int rj = (j / grid + window - shift) / window;
            int cj = (j % grid + window - shift) / window;
            allowed[(long)i * n + j] = ri == rj && ci == cj;
        }
}
/* <<localbias: implementing Swin>> */
static void relative_rows(int grid, int window, int *relative)
{
    int n = grid * grid, side = 2 * window - 1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int dr = i / grid - j / grid + window - 1;
            int dc = i % grid - j % grid + window - 1;
            bool near = dr >= 0 && dr < side && dc >= 0 && dc < side;
            relative[(long)i * n + j] = near ? dr * side + dc : 0;
        }
}
/* <<localbias: implementing Swin>> */
static void make_swin_parameters(tp_swin *m);

tp_swin *tp_swin_new(tp_swin_config c)
{
    int grid = c.patch_size >= 1 ? c.image_size / c.patch_size : 0;
    tp_check(c.patch_size >= 1 && c.image_size % c.patch_size == 0
             && c.window >= 1 && grid % c.window == 0 && c.n_classes >= 2
             && c.n_layer >= 1 && c.n_head >= 1 && c.n_embd % c.n_head == 0,
             "Swin needs patches that tile the image (%d by %d), windows "
             "that tile the grid (%d by %d) and heads that divide the width",
             c.image_size, c.patch_size, grid, c.window);
    tp_swin *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->config = c;
    m->arena = tp_arena_new("Swin parameters");
    make_swin_parameters(m);
    long n = (long)grid * grid;
    m->relative = tp_arena_alloc(m->arena, (size_t)(n * n) * sizeof(int));
    relative_rows(grid, c.window, m->relative);
    for (int k = 0; k < 2; k++) {
        m->allowed[k] = tp_arena_alloc(m->arena, (size_t)(n * n));
        tp_swin_windows(grid, c.window, k * (c.window / 2), m->allowed[k]);
    }
    return m;
}
/* <<localbias: implementing Swin>> */
static void make_swin_parameters(tp_swin *m)
{
    const tp_swin_config *c = &m->config;
    int w = c->n_embd, side = 2 * c->window - 1;
    tp_params *p = &m->params;
    m->patch_w = tp_param_new(p, m->arena, "patch.weight",
                              tp_shape2(c->patch_size * c->patch_size, w));
    m->patch_b = tp_param_new(p, m->arena, "patch.bias", tp_shape1(w));
    m->blocks = tp_arena_zeroed(m->arena, (size_t)c->n_layer, sizeof(tp_block));
    m->bias_table = tp_arena_zeroed(m->arena, (size_t)c->n_layer,
                                    sizeof(tp_tensor *));
    for (int i = 0; i < c->n_layer; i++) {
        char name[48];
        snprintf(name, sizeof name, "h.%d.", i);
        tp_block_make(&m->blocks[i], p, m->arena, name, w, 4 * w, false);
        snprintf(name, sizeof name, "h.%d.relative_position_bias_table", i);
        m->bias_table[i] = tp_param_new(p, m->arena, name,
                                        tp_shape2(side * side, c->n_head));
    }
    m->ln_f_w = tp_param_new(p, m->arena, "ln_f.weight", tp_shape1(w));
    m->ln_f_b = tp_param_new(p, m->arena, "ln_f.bias", tp_shape1(w));
    m->head_w = tp_param_new(p, m->arena, "head.weight",
                             tp_shape2(w, c->n_classes));
    m->head_b = tp_param_new(p, m->arena, "head.bias", tp_shape1(c->n_classes));
}
/* <<localbias: implementing Swin>> */
void tp_swin_init(tp_swin *m, tp_rng *rng)
{
    tp_init_gpt2(&m->params, rng, m->config.n_layer);
}

void tp_swin_free(tp_swin *m)
{
    if (m == NULL)
        return;
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
    free(m);
}
/* <<localbias: implementing Swin>> */
tp_tensor *tp_swin_encode(tp_graph *g, tp_swin *m, const float *images,
                          int batch)
{
    const tp_swin_config *c = &m->config;
    int n = tp_patch_count(c->image_size, c->patch_size);
    int pixels = c->patch_size * c->patch_size;
    tp_tensor *x = tp_tensor_empty(g->arena, tp_shape3(batch, n, pixels),
                                   TP_NO_GRAD);
    tp_patchify(images, batch, c->image_size, c->patch_size, x->data);
    tp_tensor *tokens = tp_linear(g, x, m->patch_w, m->patch_b);
    tp_block_options o = {.heads = c->n_head, .activation = tp_gelu};
    for (int i = 0; i < c->n_layer; i++) {
        /* <<swin: the bias and the windows of layer [[i]]>> */
        tp_tensor *bias = tp_embedding(g, m->bias_table[i], m->relative,
                                       tp_shape2(n, n));
        o.self.bias = tp_contiguous(g, tp_permute(g->arena, bias,
                                                  (const int[]){2, 0, 1}));
        o.self.allowed = m->allowed[c->shift ? i % 2 : 0];
        tokens = tp_block_forward(g, &m->blocks[i], tokens, NULL, &o);
    }
    return tp_layernorm(g, tokens, m->ln_f_w, m->ln_f_b, 1e-5f);
}
/* <<localbias: implementing Swin>> */
static tp_tensor *token_mean(tp_graph *g, tp_tensor *tokens)
{
    int batch = tokens->shape.dim[0], n = tokens->shape.dim[1];
    int w = tokens->shape.dim[2];
    tp_tensor *mean = tp_tensor_empty(g->arena, tp_shape2(n, 1), TP_NO_GRAD);
    tp_fill(mean, 1.0f / (float)n);
    tp_tensor *rows = tp_contiguous(g, tp_permute(g->arena, tokens,
                                                  (const int[]){0, 2, 1}));
    rows = tp_reshape(g->arena, rows, tp_shape2(batch * w, n));
    return tp_reshape(g->arena, tp_linear(g, rows, mean, NULL),
                      tp_shape2(batch, w));
}

tp_tensor *tp_swin_forward(tp_graph *g, tp_swin *m, const float *images,
                           int batch)
{
    tp_tensor *tokens = tp_swin_encode(g, m, images, batch);
    return tp_linear(g, token_mean(g, tokens), m->head_w, m->head_b);
}

static tp_tensor *swin_logits(tp_graph *g, void *model, const float *images,
                              int batch)
{
    return tp_swin_forward(g, model, images, batch);
}

tp_classifier tp_swin_classifier(tp_swin *m)
{
    return (tp_classifier){m, swin_logits, &m->params};
}

/* <<localbias: waveforms>> */
static float wave(int kind, float phase)
{
    float f = phase - floorf(phase);  /* where in the period, [0, 1) */
    switch (kind) {
    case 0: return sinf(6.2831853f * f);
    case 1: return f < 0.5f ? 1.0f : -1.0f;
    case 2: return f < 0.5f ? 4.0f * f - 1.0f : 3.0f - 4.0f * f;
    default: return 2.0f * f - 1.0f;
    }
}

void tp_image_set_waves(tp_image_set *set, int count, uint64_t stream)
{
    tp_rng rng = tp_rng_seeded(2, stream);
    *set = (tp_image_set){count, 8, TP_WAVE_CLASSES, NULL, NULL};
    set->pixels = malloc((size_t)count * 64 * sizeof *set->pixels);
    set->labels = malloc((size_t)(count > 0 ? count : 1)
                         * sizeof *set->labels);
    tp_check(set->pixels != NULL && set->labels != NULL, "out of memory");
    for (int i = 0; i < count; i++) {
        int kind = (int)tp_rng_below(&rng, TP_WAVE_CLASSES);
        float periods = 2.0f + 4.0f * tp_rng_uniform(&rng);
        float start = tp_rng_uniform(&rng);
        float amplitude = 0.5f + 0.5f * tp_rng_uniform(&rng);
        for (int t = 0; t < 64; t++)
            set->pixels[(long)i * 64 + t] =
                amplitude * wave(kind, start + periods * (float)t / 64.0f)
                + 0.1f * tp_rng_normal(&rng);
        set->labels[i] = kind;
    }
}

/* <<localbias: implementing the Conformer>> */
static tp_tensor *named(tp_conformer *m, int layer, const char *part,
                        tp_shape shape)
{
    char name[64];
    snprintf(name, sizeof name, "h.%d.%s", layer, part);
    return tp_param_new(&m->params, m->arena, name, shape);
}

static void make_ffn(tp_conformer *m, int i, int half, tp_tensor **w)
{
    int c = m->config.n_embd;
    static const char *const parts[2][6] = {
        {"ffn_1.ln_1.weight", "ffn_1.ln_1.bias", "ffn_1.fc.weight",
         "ffn_1.fc.bias", "ffn_1.proj.weight", "ffn_1.proj.bias"},
        {"ffn_2.ln_1.weight", "ffn_2.ln_1.bias", "ffn_2.fc.weight",
         "ffn_2.fc.bias", "ffn_2.proj.weight", "ffn_2.proj.bias"}};
    const tp_shape shapes[6] = {tp_shape1(c), tp_shape1(c),
                                tp_shape2(c, 4 * c), tp_shape1(4 * c),
                                tp_shape2(4 * c, c), tp_shape1(c)};
    for (int k = 0; k < 6; k++)
        w[k] = named(m, i, parts[half][k], shapes[k]);
}
/* <<localbias: implementing the Conformer>> */
static void make_conv_module(tp_conformer *m, int i, tp_tensor **w)
{
    int c = m->config.n_embd, k = m->config.kernel;
    static const char *const parts[8] = {
        "conv.gate.weight", "conv.gate.bias", "conv.value.weight",
        "conv.value.bias", "conv.depthwise.weight", "conv.depthwise.bias",
        "conv.ln_2.weight", "conv.ln_2.bias"};
    const tp_shape shapes[8] = {
        tp_shape2(c, c), tp_shape1(c), tp_shape2(c, c), tp_shape1(c),
        tp_shape2(c, k), tp_shape1(c), tp_shape1(c), tp_shape1(c)};
    for (int j = 0; j < 8; j++)
        w[j] = named(m, i, parts[j], shapes[j]);
}
/* <<localbias: implementing the Conformer>> */
tp_conformer *tp_conformer_new(tp_conformer_config c)
{
    tp_check(c.frame >= 1 && c.length % c.frame == 0 && c.kernel % 2 == 1
             && c.n_embd % c.n_head == 0 && c.n_layer >= 1 && c.n_classes >= 2,
             "a Conformer needs frames that cut the sequence (%d by %d), an "
             "odd kernel and heads that divide the width", c.length, c.frame);
    tp_conformer *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->config = c;
    m->arena = tp_arena_new("Conformer parameters");
    int w = c.n_embd, frames = c.length / c.frame;
    tp_params *p = &m->params;
    m->frame_w = tp_param_new(p, m->arena, "frame.weight", tp_shape2(c.frame, w));
    m->frame_b = tp_param_new(p, m->arena, "frame.bias", tp_shape1(w));
    m->wpe = tp_param_new(p, m->arena, "wpe.weight", tp_shape2(frames, w));
    m->blocks = tp_arena_zeroed(m->arena, (size_t)c.n_layer, sizeof(tp_block));
    m->layers = tp_arena_zeroed(m->arena, (size_t)c.n_layer,
                                sizeof(tp_conformer_layer));
    for (int i = 0; i < c.n_layer; i++)
        /* <<conformer: make layer [[i]]>> */
        {
            char prefix[16];
            snprintf(prefix, sizeof prefix, "h.%d.", i);
            tp_conformer_layer *l = &m->layers[i];
            if (!c.conv) {
                tp_block_make(&m->blocks[i], p, m->arena, prefix, w, 4 * w, false);
                continue;
            }
            tp_block_make_variant(&m->blocks[i], p, m->arena, prefix, w, 4 * w,
                                  &(tp_block_variant){.no_mlp = true});
            make_ffn(m, i, 0, l->ffn_w[0]), make_ffn(m, i, 1, l->ffn_w[1]);
            make_conv_module(m, i, l->conv_w);
            l->proj_w = named(m, i, "conv.proj.weight", tp_shape2(w, w));
            l->proj_b = named(m, i, "conv.proj.bias", tp_shape1(w));
            l->out_w = named(m, i, "ln_out.weight", tp_shape1(w));
            l->out_b = named(m, i, "ln_out.bias", tp_shape1(w));
        }
    m->head_w = tp_param_new(p, m->arena, "head.weight", tp_shape2(w, c.n_classes));
    m->head_b = tp_param_new(p, m->arena, "head.bias", tp_shape1(c.n_classes));
    return m;
}
/* <<localbias: implementing the Conformer>> */
void tp_conformer_init(tp_conformer *m, tp_rng *rng)
{
    tp_init_gpt2(&m->params, rng, m->config.n_layer);
}

void tp_conformer_free(tp_conformer *m)
{
    if (m == NULL)
        return;
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
    free(m);
}
/* <<localbias: implementing the Conformer>> */
static tp_tensor *half_ffn(tp_graph *g, tp_tensor *x, tp_tensor *const *w)
{
    tp_tensor *h = tp_layernorm(g, x, w[0], w[1], 1e-5f);
    h = tp_linear(g, tp_silu(g, tp_linear(g, h, w[2], w[3])), w[4], w[5]);
    return tp_add(g, x, tp_scale(g, h, 0.5f));
}

static tp_tensor *conv_module(tp_graph *g, tp_tensor *u, const void *context)
{
    const tp_conformer_layer *l = context;
    tp_tensor *const *w = l->conv_w;
    /* u is already normalised, by the block's ln_2 */
    tp_tensor *h = tp_swiglu(g, tp_linear(g, u, w[0], w[1]),
                             tp_linear(g, u, w[2], w[3]));
    h = tp_depthwise_conv1d(g, h, w[4], w[5]);
    h = tp_silu(g, tp_layernorm(g, h, w[6], w[7], 1e-5f));
    return tp_linear(g, h, l->proj_w, l->proj_b);
}
/* <<localbias: implementing the Conformer>> */
tp_tensor *tp_conformer_forward(tp_graph *g, tp_conformer *m,
                                const float *waves, int batch)
{
    const tp_conformer_config *c = &m->config;
    int frames = c->length / c->frame;
    tp_tensor *x = tp_tensor_empty(g->arena,
                                   tp_shape3(batch, frames, c->frame),
                                   TP_NO_GRAD);
    memcpy(x->data, waves, (size_t)batch * c->length * sizeof(float));
    x = tp_add(g, tp_linear(g, x, m->frame_w, m->frame_b), m->wpe);
    for (int i = 0; i < c->n_layer; i++) {
        tp_conformer_layer *l = &m->layers[i];
        tp_block_options o = {.heads = c->n_head, .activation = tp_gelu,
                              .mlp = c->conv ? conv_module : NULL,
                              .mlp_context = l};
        if (c->conv)
            x = half_ffn(g, x, l->ffn_w[0]);
        x = tp_block_forward(g, &m->blocks[i], x, NULL, &o);
        if (c->conv)
            x = tp_layernorm(g, half_ffn(g, x, l->ffn_w[1]), l->out_w,
                             l->out_b, 1e-5f);
    }
    return tp_linear(g, token_mean(g, x), m->head_w, m->head_b);
}
/* <<localbias: implementing the Conformer>> */
static tp_tensor *conformer_logits(tp_graph *g, void *model,
                                   const float *images, int batch)
{
    return tp_conformer_forward(g, model, images, batch);
}

tp_classifier tp_conformer_classifier(tp_conformer *m)
{
    return (tp_classifier){m, conformer_logits, &m->params};
}
