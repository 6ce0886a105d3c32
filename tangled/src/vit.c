/* Generated from book/232-vit.nw; edit the book, not this file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/ops.h"
#include "tp/vit.h"

/* <<vit: cutting and joining patches>> */
int tp_patch_count(int size, int patch)
{
    tp_check(patch >= 1 && size >= patch, "an image of %d pixels cannot "
             "have patches of %d", size, patch);
    return (size / patch) * (size / patch);
}

static void copy_patches(float *images, int batch, int size, int patch,
                         float *patches, bool to_patches)
{
    int grid = size / patch, n = grid * grid, p2 = patch * patch;
    for (int b = 0; b < batch; b++)
        for (int k = 0; k < n; k++)
            for (int u = 0; u < patch; u++)
                for (int v = 0; v < patch; v++) {
                    long pixel = ((long)b * size + (k / grid) * patch + u) * size
                                 + (k % grid) * patch + v;
                    long element = ((long)b * n + k) * p2 + u * patch + v;
                    if (to_patches)
                        patches[element] = images[pixel];
                    else
                        images[pixel] = patches[element];
                }
}
/* <<vit: cutting and joining patches>> */
void tp_patchify(const float *images, int batch, int size, int patch,
                 float *patches)
{
    tp_patch_count(size, patch);
    copy_patches((float *)images, batch, size, patch, patches, true);
}

void tp_unpatchify(const float *patches, int batch, int size, int patch,
                   float *images)
{
    tp_check(tp_patch_count(size, patch) * patch * patch == size * size,
             "tp_unpatchify: %d pixels are not whole patches of %d", size,
             patch);
    copy_patches(images, batch, size, patch, (float *)patches, false);
}

/* <<vit: making the model>> */
static bool valid(const tp_vit_config *c)
{
    return c->patch_size >= 1 && c->image_size >= c->patch_size
           && c->n_classes >= 2 && c->n_layer >= 1 && c->n_head >= 1
           && c->n_embd >= 1 && c->n_embd % c->n_head == 0;
}

tp_vit *tp_vit_new(tp_vit_config c)
{
    tp_check(valid(&c), "a Vision Transformer needs patches no larger than "
             "the image, two classes or more, and heads that divide the "
             "width (%d heads, width %d)", c.n_head, c.n_embd);
    return tp_vit_new_embedding(c, "patch", c.patch_size * c.patch_size,
                                tp_patch_count(c.image_size, c.patch_size));
}
/* <<vit: making the model>> */
tp_vit *tp_vit_new_embedding(tp_vit_config c, const char *embedding,
                             int numbers, int tokens)
{
    tp_check(valid(&c) && numbers >= 1 && tokens >= 1, "a Vision "
             "Transformer needs tokens, two classes or more, and heads that "
             "divide the width (%d heads, width %d)", c.n_head, c.n_embd);
    tp_vit *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->config = c;
    m->positions = true;
    m->arena = tp_arena_new("ViT parameters");
    m->blocks = tp_arena_zeroed(m->arena, (size_t)c.n_layer, sizeof(tp_block));
    /* <<vit: the parameters outside the blocks>> */
    int w = c.n_embd;
    tp_params *p = &m->params;
    char name[64];
    snprintf(name, sizeof name, "%s.weight", embedding);
    m->patch_w = tp_param_new(p, m->arena, name, tp_shape2(numbers, w));
    snprintf(name, sizeof name, "%s.bias", embedding);
    m->patch_b = tp_param_new(p, m->arena, name, tp_shape1(w));
    m->cls = tp_param_new(p, m->arena, "cls", tp_shape2(1, w));
    m->wpe = tp_param_new(p, m->arena, "wpe.weight", tp_shape2(1 + tokens, w));
    for (int i = 0; i < c.n_layer; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "h.%d.", i);
        tp_block_make(&m->blocks[i], p, m->arena, prefix, w, 4 * w, false);
    }
    m->ln_f_w = tp_param_new(p, m->arena, "ln_f.weight", tp_shape1(w));
    m->ln_f_b = tp_param_new(p, m->arena, "ln_f.bias", tp_shape1(w));
    m->head_w = tp_param_new(p, m->arena, "head.weight", tp_shape2(w, c.n_classes));
    m->head_b = tp_param_new(p, m->arena, "head.bias", tp_shape1(c.n_classes));
    return m;
}
/* <<vit: making the model>> */
void tp_vit_init(tp_vit *m, tp_rng *rng)
{
    tp_init_gpt2(&m->params, rng, m->config.n_layer);
}

void tp_vit_free(tp_vit *m)
{
    if (m == NULL)
        return;
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
    free(m);
}

/* <<vit: the forward pass>> */
tp_tensor *tp_vit_encode(tp_graph *g, tp_vit *m, const float *patches,
                         int batch, tp_tensor **weights)
{
    const tp_vit_config *c = &m->config;
    int n = tp_patch_count(c->image_size, c->patch_size);
    tp_tensor *x = tp_tensor_new(g->arena, tp_shape3(batch, n, c->patch_size
                                 * c->patch_size), TP_NO_GRAD);
    memcpy(x->data, patches, (size_t)tp_tensor_count(x) * sizeof(float));
    return tp_vit_encode_tokens(g, m, tp_linear(g, x, m->patch_w, m->patch_b),
                                weights);
}
/* <<vit: the forward pass>> */
tp_tensor *tp_vit_encode_tokens(tp_graph *g, tp_vit *m, tp_tensor *embedded,
                                tp_tensor **weights)
{
    const tp_vit_config *c = &m->config;
    int batch = embedded->shape.dim[0], w = c->n_embd;
    tp_tensor *zeros = tp_tensor_new(g->arena, tp_shape3(batch, 1, w),
                                     TP_NO_GRAD);
    tp_tensor *parts[2] = {tp_add(g, zeros, m->cls), embedded};
    tp_tensor *tokens = tp_concat(g, 2, parts, 1);
    if (m->positions)
        tokens = tp_add(g, tokens, m->wpe);
    tp_block_options o = {.heads = c->n_head, .activation = tp_gelu};
    for (int i = 0; i < c->n_layer; i++) {
        o.self.weights = weights != NULL ? &weights[i] : NULL;
        tokens = tp_block_forward(g, &m->blocks[i], tokens, NULL, &o);
    }
    return tp_layernorm(g, tokens, m->ln_f_w, m->ln_f_b, 1e-5f);
}
/* <<vit: the forward pass>> */
tp_tensor *tp_vit_forward(tp_graph *g, tp_vit *m, const float *images,
                          int batch, tp_tensor **weights)
{
    const tp_vit_config *c = &m->config;
    int n = tp_patch_count(c->image_size, c->patch_size);
    float *patches = tp_arena_alloc(g->arena, (size_t)batch * n
                                    * c->patch_size * c->patch_size
                                    * sizeof *patches);
    tp_patchify(images, batch, c->image_size, c->patch_size, patches);
    return tp_vit_classify(g, m, tp_vit_encode(g, m, patches, batch,
                                               weights));
}

tp_tensor *tp_vit_classify(tp_graph *g, tp_vit *m, tp_tensor *encoded)
{
    int batch = encoded->shape.dim[0];
    tp_tensor *cls = tp_contiguous(g, tp_slice(g->arena, encoded, 1, 0, 1));
    tp_tensor *rows = tp_reshape(g->arena, cls, tp_shape2(batch,
                                                         m->config.n_embd));
    return tp_linear(g, rows, m->head_w, m->head_b);
}

tp_tensor *tp_vit_loss(tp_graph *g, tp_vit *m, const float *images,
                       const int *labels, int batch)
{
    return tp_cross_entropy(g, tp_vit_forward(g, m, images, batch, NULL),
                            labels, -1);
}

/* <<vit: saving and loading>> */
static int config_fields(tp_vit_config *c, tp_config_field *f)
{
    const tp_config_field all[] = {
        {"image_size", &c->image_size}, {"patch_size", &c->patch_size},
        {"n_classes", &c->n_classes}, {"n_layer", &c->n_layer},
        {"n_head", &c->n_head}, {"n_embd", &c->n_embd}};
    memcpy(f, all, sizeof all);
    return (int)(sizeof all / sizeof *all);
}

int tp_vit_save(const tp_vit *m, const char *path, tp_error *error)
{
    tp_vit_config c = m->config;
    tp_config_field f[6];
    return tp_model_save(&m->params, "vit", f, config_fields(&c, f), path,
                         error);
}
/* <<vit: saving and loading>> */
tp_vit *tp_vit_load(const char *path, tp_error *error)
{
    tp_vit_config c;
    tp_config_field f[6];
    if (tp_model_config(path, "vit", f, config_fields(&c, f), error) != 0)
        return NULL;
    if (!valid(&c)) {
        tp_error_set(error, "%s: an impossible configuration", path);
        return NULL;
    }
    double width = c.n_embd, side = c.image_size / c.patch_size;
    if (tp_model_fits(path, (side * side + (double)c.patch_size * c.patch_size
                             + c.n_classes) * width
                                + c.n_layer * 4 * width * width,
                      error) != 0)
        return NULL;  /* positions, patches, head and attention alone */
    tp_vit *m = tp_vit_new(c);
    if (tp_safetensors_load(path, m->params.items, m->params.count, NULL,
                            error) != 0) {
        tp_vit_free(m);
        return NULL;
    }
    return m;
}
