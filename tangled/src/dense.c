/* Generated from book/380-dense-inputs.nw; edit the book, not this file. */
#include <stdlib.h>
#include <string.h>

#include "tp/dense.h"
#include "tp/exercise.h"
#include "tp/ops.h"

/* <<dense: counting tokens and work>> */
long tp_dense_tokens(tp_dense_input in)
{
    tp_check(in.patch >= 1 && in.size % in.patch == 0 && in.depth >= 1
                 && in.frames % in.depth == 0,
             "tp_dense_tokens: %d frames of %d pixels are not whole "
             "tubelets of %d x %d", in.frames, in.size, in.depth, in.patch);
    long grid = in.size / in.patch;
    return (long)(in.frames / in.depth) * grid * grid;
}

double tp_cost_total(tp_dense_cost c)
{
    return c.attention + c.linear + c.other;
}
/* <<dense: counting tokens and work>> */
tp_dense_cost tp_vit_cost(tp_dense_input in, int layers, int width,
                          int classes)
{
    double n = (double)tp_dense_tokens(in), c = width, with_cls = n + 1;
    double d = (double)in.depth * in.patch * in.patch;
    return (tp_dense_cost){
        .attention = 4.0 * layers * with_cls * with_cls * c,
        .linear = 24.0 * layers * with_cls * c * c,
        .other = 2.0 * n * d * c + 2.0 * c * classes};
}
/* <<dense: counting tokens and work>> */
static double node_flops(const tp_node *node)
{
    if (strcmp(node->op, "matmul") == 0) {
        const tp_tensor *a = node->input[0], *b = node->input[1];
        return 2.0 * (double)tp_tensor_count(a)
               * b->shape.dim[b->shape.ndim - 1];
    }
    if (strcmp(node->op, "attention") == 0) {
        const tp_shape q = node->input[0]->shape, k = node->input[1]->shape,
                       v = node->input[2]->shape;
        return 2.0 * q.dim[0] * q.dim[1] * q.dim[2] * k.dim[2]
               * (q.dim[3] + v.dim[3]);
    }
    return 0.0;
}

double tp_tape_flops(const tp_graph *g, const tp_node *since)
{
    double flops = 0.0;
    for (const tp_node *n = g->last; n != NULL && n != since; n = n->previous)
        flops += node_flops(n);
    return flops;
}

/* <<dense: merging patches>> */
static void merge_order(int batch, int grid, int *ids)
{
    /* <<solution: dense.merge-order>> */
    static const int row[4] = {0, 1, 0, 1}, column[4] = {0, 0, 1, 1};
    int half = grid / 2;
    long k = 0;
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < half; i++)
            for (int j = 0; j < half; j++)
                for (int q = 0; q < 4; q++)
                    ids[k++] = (b * grid + 2 * i + row[q]) * grid
                               + 2 * j + column[q];
}
/* <<dense: merging patches>> */
tp_tensor *tp_patch_merge(tp_graph *g, tp_tensor *x, int grid)
{
    tp_check(x->shape.ndim == 3 && grid % 2 == 0
                 && x->shape.dim[1] == grid * grid,
             "tp_patch_merge: %s tokens are not a grid of %d x %d with an "
             "even side", tp_shape_str(x->shape).text, grid, grid);
    int batch = x->shape.dim[0], c = x->shape.dim[2];
    long n = (long)batch * grid * grid;
    int *ids = tp_arena_alloc(g->arena, (size_t)n * sizeof *ids);
    merge_order(batch, grid, ids);
    tp_tensor *rows = tp_reshape(g->arena, tp_contiguous(g, x),
                                 tp_shape2((int)n, c));
    tp_tensor *groups = tp_embedding(g, rows, ids, tp_shape1((int)n));
    return tp_reshape(g->arena, groups,
                      tp_shape3(batch, grid * grid / 4, 4 * c));
}

/* <<dense: making the hierarchical ViT>> */
static bool hvit_valid(const tp_hvit_config *c)
{
    int grid = c->patch_size >= 1 ? c->image_size / c->patch_size : 0;
    return c->patch_size >= 1 && c->image_size % c->patch_size == 0
           && c->stages >= 1 && c->stages <= TP_HVIT_MAX_STAGES
           && grid % (1 << (c->stages - 1)) == 0 && c->n_classes >= 2
           && c->blocks >= 1 && c->n_head >= 1 && c->n_embd >= 1
           && c->n_embd % c->n_head == 0;
}

static int hvit_grid(const tp_hvit_config *c, int stage)
{
    return c->image_size / c->patch_size >> stage;
}
/* <<dense: making the hierarchical ViT>> */
static void hvit_make_stage(tp_hvit *m, int s)
{
    const tp_hvit_config *c = &m->config;
    int w = c->n_embd << s;
    tp_hvit_stage *st = &m->stage[s];
    st->blocks = tp_arena_zeroed(m->arena, (size_t)c->blocks, sizeof(tp_block));
    for (int i = 0; i < c->blocks; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "layers.%d.blocks.%d.", s, i);
        tp_block_make(&st->blocks[i], &m->params, m->arena, prefix, w, 4 * w,
                      false);
    }
    if (s + 1 == c->stages)
        return;
    char name[80];
    snprintf(name, sizeof name, "layers.%d.downsample.norm.weight", s);
    st->norm_w = tp_param_new(&m->params, m->arena, name, tp_shape1(4 * w));
    snprintf(name, sizeof name, "layers.%d.downsample.norm.bias", s);
    st->norm_b = tp_param_new(&m->params, m->arena, name, tp_shape1(4 * w));
    snprintf(name, sizeof name, "layers.%d.downsample.reduction.weight", s);
    st->reduction_w = tp_param_new(&m->params, m->arena, name,
                                   tp_shape2(4 * w, 2 * w));
}
/* <<dense: making the hierarchical ViT>> */
tp_hvit *tp_hvit_new(tp_hvit_config c)
{
    tp_check(hvit_valid(&c), "a hierarchical ViT needs patches that divide "
             "the image (%d, %d), a grid that halves %d times, and heads "
             "that divide the width (%d, %d)", c.image_size, c.patch_size,
             c.stages - 1, c.n_head, c.n_embd);
    tp_hvit *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->config = c;
    m->arena = tp_arena_new("hierarchical ViT parameters");
    int w = c.n_embd, grid = hvit_grid(&c, 0), last = w << (c.stages - 1);
    tp_params *p = &m->params;
    m->patch_w = tp_param_new(p, m->arena, "patch.weight",
                              tp_shape2(c.patch_size * c.patch_size, w));
    m->patch_b = tp_param_new(p, m->arena, "patch.bias", tp_shape1(w));
    m->wpe = tp_param_new(p, m->arena, "wpe.weight", tp_shape2(grid * grid, w));
    for (int s = 0; s < c.stages; s++)
        hvit_make_stage(m, s);
    m->ln_f_w = tp_param_new(p, m->arena, "ln_f.weight", tp_shape1(last));
    m->ln_f_b = tp_param_new(p, m->arena, "ln_f.bias", tp_shape1(last));
    m->head_w = tp_param_new(p, m->arena, "head.weight",
                             tp_shape2(last, c.n_classes));
    m->head_b = tp_param_new(p, m->arena, "head.bias", tp_shape1(c.n_classes));
    return m;
}
/* <<dense: making the hierarchical ViT>> */
void tp_hvit_init(tp_hvit *m, tp_rng *rng)
{
    tp_init_gpt2(&m->params, rng, m->config.stages * m->config.blocks);
    for (int s = 0; s + 1 < m->config.stages; s++)
        tp_fill(m->stage[s].norm_w, 1.0f);
}

void tp_hvit_free(tp_hvit *m)
{
    if (m == NULL)
        return;
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
    free(m);
}

/* <<dense: running the hierarchical ViT>> */
tp_tensor *tp_hvit_embed(tp_graph *g, tp_hvit *m, const float *images,
                         int batch)
{
    const tp_hvit_config *c = &m->config;
    int n = tp_patch_count(c->image_size, c->patch_size),
        p2 = c->patch_size * c->patch_size;
    tp_tensor *x = tp_tensor_new(g->arena, tp_shape3(batch, n, p2),
                                 TP_NO_GRAD);
    tp_patchify(images, batch, c->image_size, c->patch_size, x->data);
    return tp_add(g, tp_linear(g, x, m->patch_w, m->patch_b), m->wpe);
}
/* <<dense: running the hierarchical ViT>> */
tp_tensor *tp_hvit_stage_forward(tp_graph *g, tp_hvit *m, int stage,
                                 tp_tensor *tokens)
{
    const tp_hvit_config *c = &m->config;
    const tp_hvit_stage *st = &m->stage[stage];
    tp_block_options o = {.heads = c->n_head << stage,
                          .activation = tp_gelu};
    for (int i = 0; i < c->blocks; i++)
        tokens = tp_block_forward(g, &st->blocks[i], tokens, NULL, &o);
    if (st->reduction_w == NULL)
        return tokens;
    tp_tensor *merged = tp_patch_merge(g, tokens, hvit_grid(c, stage));
    merged = tp_layernorm(g, merged, st->norm_w, st->norm_b, 1e-5f);
    return tp_linear(g, merged, st->reduction_w, NULL);
}
/* <<dense: running the hierarchical ViT>> */
tp_tensor *tp_hvit_classify(tp_graph *g, tp_hvit *m, tp_tensor *tokens)
{
    int batch = tokens->shape.dim[0], n = tokens->shape.dim[1],
        w = tokens->shape.dim[2];
    tokens = tp_layernorm(g, tokens, m->ln_f_w, m->ln_f_b, 1e-5f);
    tp_tensor *average = tp_tensor_new(g->arena, tp_shape2(n, 1), TP_NO_GRAD);
    tp_fill(average, 1.0f / (float)n);
    tp_tensor *columns = tp_contiguous(
        g, tp_permute(g->arena, tokens, (const int[]){0, 2, 1}));
    tp_tensor *pooled = tp_reshape(g->arena, tp_linear(g, columns, average,
                                                       NULL),
                                   tp_shape2(batch, w));
    return tp_linear(g, pooled, m->head_w, m->head_b);
}
/* <<dense: running the hierarchical ViT>> */
tp_tensor *tp_hvit_forward(tp_graph *g, tp_hvit *m, const float *images,
                           int batch)
{
    tp_tensor *tokens = tp_hvit_embed(g, m, images, batch);
    for (int s = 0; s < m->config.stages; s++)
        tokens = tp_hvit_stage_forward(g, m, s, tokens);
    return tp_hvit_classify(g, m, tokens);
}

tp_tensor *tp_hvit_loss(tp_graph *g, tp_hvit *m, const float *images,
                        const int *labels, int batch)
{
    return tp_cross_entropy(g, tp_hvit_forward(g, m, images, batch), labels,
                            -1);
}
/* <<dense: running the hierarchical ViT>> */
tp_dense_cost tp_hvit_stage_cost(const tp_hvit_config *c, int stage)
{
    double n = (double)hvit_grid(c, stage) * hvit_grid(c, stage),
           w = (double)(c->n_embd << stage), l = c->blocks;
    bool merges = stage + 1 < c->stages;
    return (tp_dense_cost){.attention = 4.0 * l * n * n * w,
                           .linear = 24.0 * l * n * w * w
                                     + (merges ? 4.0 * n * w * w : 0.0),
                           .other = 0.0};
}

double tp_hvit_total_cost(const tp_hvit_config *c)
{
    double total = 0.0, n0 = (double)hvit_grid(c, 0) * hvit_grid(c, 0),
           last = (double)(c->n_embd << (c->stages - 1)),
           n_last = (double)hvit_grid(c, c->stages - 1)
                    * hvit_grid(c, c->stages - 1);
    for (int s = 0; s < c->stages; s++)
        total += tp_cost_total(tp_hvit_stage_cost(c, s));
    return total + 2.0 * n0 * c->patch_size * c->patch_size * c->n_embd
           + 2.0 * n_last * last + 2.0 * last * c->n_classes;
}

/* <<dense: cutting tubelets>> */
void tp_tubeletify(const float *video, int batch, tp_dense_input in,
                   float *tubelets)
{
    long n = tp_dense_tokens(in);
    int grid = in.size / in.patch, per_slot = grid * grid, p = in.patch;
    long d = (long)in.depth * p * p, frame = (long)in.size * in.size;
    for (int b = 0; b < batch; b++)
        for (long k = 0; k < n; k++)
            for (int tau = 0; tau < in.depth; tau++)
                for (int u = 0; u < p; u++) {
                    int f = (int)(k / per_slot) * in.depth + tau,
                        place = (int)(k % per_slot);
                    const float *from = video + ((long)b * in.frames + f) * frame
                                        + (long)((place / grid) * p + u)
                                              * in.size
                                        + (place % grid) * p;
                    memcpy(tubelets + ((long)b * n + k) * d
                               + ((long)tau * p + u) * p,
                           from, (size_t)p * sizeof *from);
                }
}

/* <<dense: moving a shape>> */
void tp_roll_image(const float *in, int size, int dy, int dx, float *out)
{
    dy = ((dy % size) + size) % size, dx = ((dx % size) + size) % size;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
            out[((y + dy) % size) * size + (x + dx) % size] = in[y * size + x];
}

void tp_motion_frames(const float *first, int size, int frames, int speed,
                      tp_direction d, float *video)
{
    static const int step_y[TP_DIRECTIONS] = {0, 0, 1, -1},
                     step_x[TP_DIRECTIONS] = {1, -1, 0, 0};
    for (int f = 0; f < frames; f++)
        tp_roll_image(first, size, f * speed * step_y[d],
                      f * speed * step_x[d], video + (long)f * size * size);
}
/* <<dense: moving a shape>> */
tp_direction tp_motion_video(int size, int frames, int speed, tp_rng *rng,
                             float *video)
{
    float *shape = malloc(2 * (size_t)size * size * sizeof *shape);
    tp_check(shape != NULL, "out of memory");
    tp_direction d = (tp_direction)tp_rng_below(rng, TP_DIRECTIONS);
    tp_shape_image(size, rng, shape);
    int dy = (int)tp_rng_below(rng, (uint32_t)size),
        dx = (int)tp_rng_below(rng, (uint32_t)size);
    tp_roll_image(shape, size, dy, dx, shape + (long)size * size);
    tp_motion_frames(shape + (long)size * size, size, frames, speed, d, video);
    free(shape);
    return d;
}

/* <<dense: making the video model>> */
tp_vivit *tp_vivit_new(tp_vivit_config c)
{
    tp_dense_input in = c.input;
    long n = tp_dense_tokens(in);
    tp_check(c.n_classes >= 2 && c.n_layer >= 1 && c.n_head >= 1
                 && c.n_embd % c.n_head == 0,
             "a video Transformer needs two classes or more and heads that "
             "divide the width (%d heads, width %d)", c.n_head, c.n_embd);
    tp_vivit *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->config = c;
    tp_vit_config image = {in.size, in.patch, c.n_classes, c.n_layer,
                           c.n_head, c.n_embd};
    m->vit = tp_vit_new_embedding(image, "tubelet",
                                  in.depth * in.patch * in.patch, (int)n);
    for (int i = 0; i < m->vit->params.count; i++)
        tp_params_add(&m->params, m->vit->params.items[i].name,
                      m->vit->params.items[i].tensor);
    return m;
}
/* <<dense: making the video model>> */
void tp_vivit_init(tp_vivit *m, tp_rng *rng)
{
    tp_vit_init(m->vit, rng);
}

void tp_vivit_free(tp_vivit *m)
{
    if (m == NULL)
        return;
    tp_vit_free(m->vit);
    tp_params_free(&m->params);
    free(m);
}

/* <<dense: running the video model>> */
tp_tensor *tp_vivit_forward(tp_graph *g, tp_vivit *m, const float *video,
                            int batch)
{
    tp_dense_input in = m->config.input;
    int n = (int)tp_dense_tokens(in);
    tp_tensor *x = tp_tensor_new(g->arena, tp_shape3(batch, n, in.depth
                                 * in.patch * in.patch), TP_NO_GRAD);
    tp_tubeletify(video, batch, in, x->data);
    tp_tensor *embedded = tp_linear(g, x, m->vit->patch_w, m->vit->patch_b);
    return tp_vit_classify(g, m->vit, tp_vit_encode_tokens(g, m->vit,
                                                           embedded, NULL));
}

tp_tensor *tp_vivit_loss(tp_graph *g, tp_vivit *m, const float *video,
                         const int *labels, int batch)
{
    return tp_cross_entropy(g, tp_vivit_forward(g, m, video, batch), labels,
                            -1);
}
