/* Generated from book/330-data-hunger.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/data.h"
#include "tp/datahunger.h"
#include "tp/ops.h"

/* <<datahunger: drawing the mask>> */
int tp_mae_visible(int patches, float ratio)
{
    tp_check(ratio > 0.0f && ratio < 1.0f, "a mask ratio of %g is not "
             "between 0 and 1", (double)ratio);
    int visible = patches - (int)lroundf(ratio * (float)patches);
    tp_check(visible >= 1 && visible < patches, "a mask ratio of %g leaves "
             "%d of %d patches visible", (double)ratio, visible, patches);
    return visible;
}

void tp_mae_sample(int patches, int visible, int batch, tp_rng *rng,
                   int *keep)
{
    int *order = malloc((size_t)patches * sizeof *order);
    tp_check(order != NULL, "out of memory");
    for (int b = 0; b < batch; b++) {
        for (int k = 0; k < patches; k++)
            order[k] = k;
        tp_shuffle(order, patches, rng);
        memcpy(keep + (long)b * visible, order,
               (size_t)visible * sizeof *keep);
    }
    free(order);
}

/* <<datahunger: the encoder on some patches>> */
static tp_tensor *run_encoder(tp_graph *g, tp_vit *m, tp_tensor *tokens)
{
    tp_block_options o = {.heads = m->config.n_head, .activation = tp_gelu};
    for (int i = 0; i < m->config.n_layer; i++)
        tokens = tp_block_forward(g, &m->blocks[i], tokens, NULL, &o);
    return tp_layernorm(g, tokens, m->ln_f_w, m->ln_f_b, 1e-5f);
}

static tp_tensor *with_cls(tp_graph *g, tp_vit *m, tp_tensor *embedded)
{
    int batch = embedded->shape.dim[0];
    tp_tensor *zeros = tp_tensor_new(g->arena, tp_shape3(batch, 1,
                                     m->config.n_embd), TP_NO_GRAD);
    tp_fill(zeros, 0.0f);
    tp_tensor *parts[2] = {tp_add(g, zeros, m->cls), embedded};
    return tp_concat(g, 2, parts, 1);
}
/* <<datahunger: the encoder on some patches>> */
tp_tensor *tp_mae_encode(tp_graph *g, tp_vit *m, const float *patches,
                         int batch, int visible, const int *keep)
{
    const tp_vit_config *c = &m->config;
    int n = tp_patch_count(c->image_size, c->patch_size);
    int p2 = c->patch_size * c->patch_size, t = 1 + visible;
    tp_tensor *x = tp_tensor_new(g->arena, tp_shape3(batch, visible, p2),
                                 TP_NO_GRAD);
    int *places = tp_arena_alloc(g->arena, (size_t)batch * t * sizeof *places);
    for (int b = 0; b < batch; b++) {
        places[b * t] = 0;
        for (int v = 0; v < visible; v++) {
            int k = keep[b * visible + v];
            tp_check(k >= 0 && k < n, "patch %d of an image of %d", k, n);
            memcpy(x->data + ((long)b * visible + v) * p2,
                   patches + ((long)b * n + k) * p2,
                   (size_t)p2 * sizeof(float));
            places[b * t + 1 + v] = 1 + k;
        }
    }
    tp_tensor *tokens = with_cls(g, m, tp_linear(g, x, m->patch_w, m->patch_b));
    if (m->positions)
        tokens = tp_add(g, tokens, tp_embedding(g, m->wpe, places,
                                                tp_shape2(batch, t)));
    return run_encoder(g, m, tokens);
}

/* <<datahunger: the decoder>> */
tp_mae *tp_mae_new(tp_vit *encoder, int width, int heads)
{
    tp_check(width >= 1 && heads >= 1 && width % heads == 0, "a decoder of "
             "width %d cannot have %d heads", width, heads);
    tp_mae *mae = calloc(1, sizeof *mae);
    tp_check(mae != NULL, "out of memory");
    const tp_vit_config *c = &encoder->config;
    int n = tp_patch_count(c->image_size, c->patch_size);
    int p2 = c->patch_size * c->patch_size;
    *mae = (tp_mae){.encoder = encoder, .width = width, .heads = heads,
                    .arena = tp_arena_new("MAE decoder")};
    tp_params *p = &mae->params;
    mae->embed_w = tp_param_new(p, mae->arena, "decoder_embed.weight",
                                tp_shape2(c->n_embd, width));
    mae->embed_b = tp_param_new(p, mae->arena, "decoder_embed.bias",
                                tp_shape1(width));
    mae->mask_token = tp_param_new(p, mae->arena, "mask_token",
                                   tp_shape2(1, width));
    mae->wpe = tp_param_new(p, mae->arena, "decoder_wpe.weight",
                            tp_shape2(1 + n, width));
    tp_block_make(&mae->block, p, mae->arena, "decoder.h.0.", width,
                  4 * width, false);
    mae->ln_d_w = tp_param_new(p, mae->arena, "ln_d.weight", tp_shape1(width));
    mae->ln_d_b = tp_param_new(p, mae->arena, "ln_d.bias", tp_shape1(width));
    mae->pixels_w = tp_param_new(p, mae->arena, "decoder_pred.weight",
                                 tp_shape2(width, p2));
    mae->pixels_b = tp_param_new(p, mae->arena, "decoder_pred.bias",
                                 tp_shape1(p2));
    return mae;
}

void tp_mae_init(tp_mae *mae, tp_rng *rng)
{
    tp_init_gpt2(&mae->params, rng, 1);
}

void tp_mae_free(tp_mae *mae)
{
    if (mae == NULL)
        return;
    tp_params_free(&mae->params);
    tp_arena_free(mae->arena);
    free(mae);
}
/* <<datahunger: the decoder>> */
static int *decoder_rows(tp_arena *arena, int batch, int n, int visible,
                         const int *keep)
{
    int t = 1 + visible, mask_row = batch * t;
    int *rows = tp_arena_alloc(arena, (size_t)batch * (1 + n) * sizeof *rows);
    for (int b = 0; b < batch; b++) {
        int *row = rows + (long)b * (1 + n);
        row[0] = b * t;
        for (int k = 0; k < n; k++)
            row[1 + k] = mask_row;
        for (int v = 0; v < visible; v++)
            row[1 + keep[b * visible + v]] = b * t + 1 + v;
    }
    return rows;
}
/* <<datahunger: the decoder>> */
tp_tensor *tp_mae_reconstruct(tp_graph *g, tp_mae *mae, const float *patches,
                              int batch, int visible, const int *keep)
{
    const tp_vit_config *c = &mae->encoder->config;
    int n = tp_patch_count(c->image_size, c->patch_size);
    tp_tensor *encoded = tp_mae_encode(g, mae->encoder, patches, batch,
                                       visible, keep);
    tp_tensor *narrow = tp_linear(g, encoded, mae->embed_w, mae->embed_b);
    tp_tensor *parts[2] = {
        tp_reshape(g->arena, narrow, tp_shape2(batch * (1 + visible),
                                               mae->width)),
        mae->mask_token};
    tp_tensor *table = tp_concat(g, 2, parts, 0);
    tp_tensor *x = tp_embedding(g, table, decoder_rows(g->arena, batch, n,
                                                       visible, keep),
                                tp_shape2(batch, 1 + n));
    x = tp_add(g, x, mae->wpe);
    tp_block_options o = {.heads = mae->heads, .activation = tp_gelu};
    x = tp_block_forward(g, &mae->block, x, NULL, &o);
    x = tp_layernorm(g, x, mae->ln_d_w, mae->ln_d_b, 1e-5f);
    tp_tensor *pixels = tp_linear(g, x, mae->pixels_w, mae->pixels_b);
    return tp_contiguous(g, tp_slice(g->arena, pixels, 1, 1, n));
}

/* <<datahunger: the loss on masked patches>> */
tp_tensor *tp_mae_masked_error(tp_graph *g, tp_tensor *predicted,
                               const float *patches, int visible,
                               const int *keep)
{
    int batch = predicted->shape.dim[0], n = predicted->shape.dim[1];
    int p2 = predicted->shape.dim[2];
    tp_tensor *minus = tp_tensor_new(g->arena, predicted->shape, TP_NO_GRAD);
    tp_tensor *masked = tp_tensor_new(g->arena, predicted->shape, TP_NO_GRAD);
    for (long i = 0; i < (long)batch * n * p2; i++)
        minus->data[i] = -patches[i];
    tp_fill(masked, 1.0f);
    for (int b = 0; b < batch; b++)
        for (int v = 0; v < visible; v++) {
            long first = ((long)b * n + keep[b * visible + v]) * p2;
            for (int j = 0; j < p2; j++)
                masked->data[first + j] = 0;
        }
    tp_tensor *error = tp_add(g, predicted, minus);
    tp_tensor *squares = tp_mul(g, tp_mul(g, error, error), masked);
    return tp_scale(g, tp_mean(g, squares), (float)n / (float)(n - visible));
}

tp_tensor *tp_mae_loss(tp_graph *g, tp_mae *mae, const float *images,
                       int batch, float ratio, tp_rng *rng)
{
    const tp_vit_config *c = &mae->encoder->config;
    int n = tp_patch_count(c->image_size, c->patch_size);
    int visible = tp_mae_visible(n, ratio);
    float *patches = tp_arena_alloc(g->arena, (size_t)batch * n
                                    * c->patch_size * c->patch_size
                                    * sizeof *patches);
    tp_patchify(images, batch, c->image_size, c->patch_size, patches);
    int *keep = tp_arena_alloc(g->arena, (size_t)batch * visible
                                         * sizeof *keep);
    tp_mae_sample(n, visible, batch, rng, keep);
    tp_tensor *predicted = tp_mae_reconstruct(g, mae, patches, batch, visible,
                                              keep);
    return tp_mae_masked_error(g, predicted, patches, visible, keep);
}

/* <<datahunger: the distillation token>> */
tp_deit *tp_deit_new(tp_vit_config config)
{
    tp_deit *d = calloc(1, sizeof *d);
    tp_check(d != NULL, "out of memory");
    d->vit = tp_vit_new(config);
    d->arena = tp_arena_new("distillation token");
    for (int i = 0; i < d->vit->params.count; i++)
        tp_params_add(&d->params, d->vit->params.items[i].name,
                      d->vit->params.items[i].tensor);
    int w = config.n_embd;
    d->dist = tp_param_new(&d->params, d->arena, "dist", tp_shape2(1, w));
    d->dist_pos = tp_param_new(&d->params, d->arena, "dist_pos",
                               tp_shape2(1, w));
    d->dist_w = tp_param_new(&d->params, d->arena, "head_dist.weight",
                             tp_shape2(w, config.n_classes));
    d->dist_b = tp_param_new(&d->params, d->arena, "head_dist.bias",
                             tp_shape1(config.n_classes));
    return d;
}

void tp_deit_init(tp_deit *d, tp_rng *rng)
{
    tp_init_gpt2(&d->params, rng, d->vit->config.n_layer);
}

void tp_deit_free(tp_deit *d)
{
    if (d == NULL)
        return;
    tp_vit_free(d->vit);
    tp_params_free(&d->params);
    tp_arena_free(d->arena);
    free(d);
}
/* <<datahunger: the distillation token>> */
static tp_tensor *row_of(tp_graph *g, tp_tensor *tokens, int row)
{
    int batch = tokens->shape.dim[0], w = tokens->shape.dim[2];
    tp_tensor *one = tp_contiguous(g, tp_slice(g->arena, tokens, 1, row, 1));
    return tp_reshape(g->arena, one, tp_shape2(batch, w));
}

void tp_deit_forward(tp_graph *g, tp_deit *d, const float *images, int batch,
                     tp_tensor **class_logits, tp_tensor **dist_logits)
{
    tp_vit *m = d->vit;
    const tp_vit_config *c = &m->config;
    int n = tp_patch_count(c->image_size, c->patch_size);
    float *patches = tp_arena_alloc(g->arena, (size_t)batch * n
                                    * c->patch_size * c->patch_size
                                    * sizeof *patches);
    tp_patchify(images, batch, c->image_size, c->patch_size, patches);
    tp_tensor *x = tp_tensor_new(g->arena, tp_shape3(batch, n, c->patch_size
                                 * c->patch_size), TP_NO_GRAD);
    memcpy(x->data, patches, (size_t)tp_tensor_count(x) * sizeof(float));
    tp_tensor *tokens = with_cls(g, m, tp_linear(g, x, m->patch_w, m->patch_b));
    tokens = tp_add(g, tokens, m->wpe);
    tp_tensor *zeros = tp_tensor_new(g->arena, tp_shape3(batch, 1, c->n_embd),
                                     TP_NO_GRAD);
    tp_fill(zeros, 0.0f);
    tp_tensor *parts[2] = {tokens, tp_add(g, tp_add(g, zeros, d->dist),
                                          d->dist_pos)};
    tokens = run_encoder(g, m, tp_concat(g, 2, parts, 1));
    *class_logits = tp_linear(g, row_of(g, tokens, 0), m->head_w, m->head_b);
    *dist_logits = tp_linear(g, row_of(g, tokens, 1 + n), d->dist_w,
                             d->dist_b);
}
/* <<datahunger: the distillation token>> */
tp_tensor *tp_deit_loss(tp_graph *g, tp_deit *d, const float *images,
                        const int *labels, const int *teacher, int batch)
{
    tp_tensor *class_logits, *dist_logits;
    tp_deit_forward(g, d, images, batch, &class_logits, &dist_logits);
    tp_tensor *dist = tp_cross_entropy(g, dist_logits, teacher, -1);
    bool any = false;
    for (int b = 0; b < batch; b++)
        any = any || labels[b] >= 0;
    if (!any)
        return tp_scale(g, dist, 0.5f);  /* no labels: the teacher's half */
    tp_tensor *truth = tp_cross_entropy(g, class_logits, labels, -1);
    return tp_scale(g, tp_add(g, truth, dist), 0.5f);
}

void tp_deit_predict(tp_graph *g, tp_deit *d, const float *images, int batch,
                     float *probabilities)
{
    tp_tensor *class_logits, *dist_logits;
    tp_deit_forward(g, d, images, batch, &class_logits, &dist_logits);
    tp_tensor *a = tp_softmax(g, class_logits), *b = tp_softmax(g, dist_logits);
    for (long i = 0; i < tp_tensor_count(a); i++)
        probabilities[i] = 0.5f * (a->data[i] + b->data[i]);
}

/* <<datahunger: reading a file of images>> */
static int parse_image_line(char *line, float *pixels, int most, int *label)
{
    char *p = line, *end;
    int count = -1;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '\n' || *p == '\0')
            break;
        double v = strtod(p, &end);
        if (end == p || !isfinite(v) || count >= most)
            return -1;
        if (count < 0) {
            if (v < 0 || v != floor(v) || v > 1000)
                return -1;
            *label = (int)v;
        } else
            pixels[count] = (float)v;
        count++, p = end;
    }
    return count;
}
/* <<datahunger: reading a file of images>> */
enum { MOST_PIXELS = 256 * 256, LINE_BYTES = 1 << 20 };

int tp_image_set_read(const char *path, tp_image_set *set, tp_error *error)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tp_error_set(error, "cannot read %s", path);
    *set = (tp_image_set){0};
    char *line = malloc(LINE_BYTES);
    float *row = malloc(MOST_PIXELS * sizeof *row);
    tp_check(line != NULL && row != NULL, "out of memory");
    int capacity = 0, lineno = 0, status = 0;
    while (status == 0 && fgets(line, LINE_BYTES, f) != NULL) {
        lineno++;
        /* <<datahunger: take one line of the file>> */
        int label = 0, values = parse_image_line(line, row, MOST_PIXELS, &label);
        int side = values > 0 ? (int)lround(sqrt(values)) : 0;
        if (values <= 0 || side * side != values || side < 8
            || (set->count > 0 && side != set->size))
            status = tp_error_set(error, "%s, line %d: not a label and the same "
                                  "square number (at least 8x8) of pixels as the "
                                  "first line", path, lineno);
        else {
            if (set->count == capacity) {
                capacity = capacity == 0 ? 64 : 2 * capacity;
                set->pixels = realloc(set->pixels, (size_t)capacity * values
                                                       * sizeof(float));
                set->labels = realloc(set->labels, (size_t)capacity * sizeof(int));
                tp_check(set->pixels != NULL && set->labels != NULL, "out of memory");
            }
            memcpy(set->pixels + (long)set->count * values, row,
                   (size_t)values * sizeof *row);
            set->size = side;
            set->labels[set->count++] = label;
            set->classes = label + 1 > set->classes ? label + 1 : set->classes;
        }
    }
    fclose(f);
    free(line), free(row);
    if (status == 0 && set->count < 10)
        status = tp_error_set(error, "%s: %d images; at least 10 are needed",
                              path, set->count);
    if (status != 0)
        tp_image_set_free(set);
    return status;
}
