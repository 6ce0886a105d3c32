/* Generated from book/325-local-bias.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/attention.h"
#include "tp/conv.h"
#include "tp/data.h"
#include "tp/matmul.h"
#include "tp/ops.h"
#include "tp/vit.h"

/* <<conv: shapes and views>> */
typedef struct conv_dims {
    int batch, in, out, kernel, height, width;
} conv_dims;

static conv_dims conv_check(const tp_tensor *x, const tp_tensor *w,
                            const tp_tensor *b)
{
    tp_check(x->shape.ndim == 4 && w->shape.ndim == 4
             && tp_tensor_is_contiguous(x) && tp_tensor_is_contiguous(w),
             "tp_conv2d: contiguous x [B, C, H, W] and w [O, C, k, k], "
             "not %s and %s", tp_shape_str(x->shape).text,
             tp_shape_str(w->shape).text);
    conv_dims dims = {x->shape.dim[0], x->shape.dim[1], w->shape.dim[0],
                   w->shape.dim[2], x->shape.dim[2], x->shape.dim[3]};
    tp_check(w->shape.dim[1] == dims.in && w->shape.dim[3] == dims.kernel
             && dims.kernel % 2 == 1,
             "tp_conv2d: kernels %s do not fit images %s (square, odd, "
             "as many input channels)", tp_shape_str(w->shape).text,
             tp_shape_str(x->shape).text);
    tp_check(b == NULL || (b->shape.ndim == 1 && b->shape.dim[0] == dims.out),
             "tp_conv2d: the bias must be [%d]", dims.out);
    return dims;
}

static tp_tensor matrix(float *data, int rows, int cols)
{
    tp_tensor m = {.shape = tp_shape2(rows, cols), .data = data};
    m.stride[0] = cols, m.stride[1] = 1;
    return m;
}

/* <<conv: im2col and col2im>> */
static void walk_columns(const conv_dims *dims, float *image, float *cols,
                         bool to_columns)
{
    int k = dims->kernel, half = k / 2, h = dims->height, w = dims->width;
    for (int c = 0; c < dims->in; c++)
        for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v++) {
                float *row = cols + ((long)(c * k + u) * k + v) * h * w;
                /* <<conv: one row of the columns>> */
                for (int i = 0; i < h; i++) {
                    int y = i + u - half;
                    for (int j = 0; j < w; j++) {
                        int x = j + v - half;
                        bool inside = y >= 0 && y < h && x >= 0 && x < w;
                        float *pixel = inside ? &image[((long)c * h + y) * w + x] : NULL;
                        if (to_columns)
                            row[i * w + j] = inside ? *pixel : 0.0f;
                        else if (inside)
                            *pixel += row[i * w + j];
                    }
                }
            }
}

/* <<conv: the convolution>> */
static void conv_backward(tp_node *node);

tp_tensor *tp_conv2d(tp_graph *g, tp_tensor *x, tp_tensor *w, tp_tensor *b)
{
    conv_dims dims = conv_check(x, w, b);
    int rows = dims.in * dims.kernel * dims.kernel;
    int pixels = dims.height * dims.width;
    tp_tensor *in[3] = {x, w, b};
    bool grad = tp_needs_grad(g, b != NULL ? 3 : 2, in);
    tp_tensor *y = tp_tensor_empty(g->arena, tp_shape4(dims.batch, dims.out,
                                   dims.height, dims.width),
                                   grad ? TP_WITH_GRAD : TP_NO_GRAD);
    float *cols = tp_arena_alloc(g->arena, (size_t)rows * pixels
                                 * sizeof *cols);
    tp_tensor wm = matrix(w->data, dims.out, rows);
    tp_tensor cm = matrix(cols, rows, pixels);
    for (int i = 0; i < dims.batch; i++) {
        walk_columns(&dims, x->data + (long)i * dims.in * pixels, cols, true);
        tp_tensor ym = matrix(y->data + (long)i * dims.out * pixels, dims.out,
                              pixels);
        tp_gemm(&ym, &wm, &cm, 1.0f, 0.0f);
        /* <<conv: add the bias to image [[i]]>> */
        for (int o = 0; b != NULL && o < dims.out; o++)
            for (int p = 0; p < pixels; p++)
                y->data[((long)i * dims.out + o) * pixels + p] += b->data[o];
    }
    if (grad) {
        conv_dims *saved = tp_arena_alloc(g->arena, sizeof *saved);
        *saved = dims;
        tp_record(g, "conv2d", conv_backward, y, b != NULL ? 3 : 2, in)
            ->saved = saved;
    }
    return y;
}
/* <<conv: the convolution>> */
static void conv_backward(tp_node *node)
{
    const conv_dims *dims = node->saved;
    tp_tensor *x = node->input[0], *w = node->input[1];
    tp_tensor *b = node->inputs == 3 ? node->input[2] : NULL;
    int rows = dims->in * dims->kernel * dims->kernel;
    int pixels = dims->height * dims->width;
    float *cols = tp_arena_alloc(node->arena, (size_t)rows * pixels
                                 * sizeof *cols);
    tp_tensor cm = matrix(cols, rows, pixels), ct = tp_transposed_view(cm);
    tp_tensor wt = tp_transposed_view(matrix(w->data, dims->out, rows));
    for (int i = 0; i < dims->batch; i++) {
        float *dy = node->output->grad + (long)i * dims->out * pixels;
        tp_tensor dym = matrix(dy, dims->out, pixels);
        /* <<conv: the gradients of image [[i]]>> */
        float *image = x->data + (long)i * dims->in * pixels;
        if (w->grad != NULL) {
            walk_columns(dims, image, cols, true);
            tp_tensor dw = matrix(w->grad, dims->out, rows);
            tp_gemm(&dw, &dym, &ct, 1.0f, 1.0f);
        }
        if (x->grad != NULL) {
            tp_gemm(&cm, &wt, &dym, 1.0f, 0.0f);
            walk_columns(dims, x->grad + (long)i * dims->in * pixels, cols, false);
        }
        for (int o = 0; b != NULL && b->grad != NULL && o < dims->out; o++)
            for (int p = 0; p < pixels; p++)
                b->grad[o] += dy[(long)o * pixels + p];
    }
}

/* <<conv: average pooling>> */
static void pool_walk(const tp_tensor *x, int pool, float *big, float *small,
                      bool forward)
{
    int planes = x->shape.dim[0] * x->shape.dim[1];
    int h = x->shape.dim[2], w = x->shape.dim[3], ho = h / pool, wo = w / pool;
    float share = 1.0f / (float)(pool * pool);
    for (long q = 0; q < planes; q++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                float *out = &small[(q * ho + i / pool) * wo + j / pool];
                if (forward)
                    *out += share * big[(q * h + i) * w + j];
                else
                    big[(q * h + i) * w + j] += share * *out;
            }
}

static void pool_backward(tp_node *node)
{
    tp_tensor *x = node->input[0];
    int pool = *(const int *)node->saved;
    pool_walk(x, pool, x->grad, node->output->grad, false);
}
/* <<conv: average pooling>> */
tp_tensor *tp_avg_pool2d(tp_graph *g, tp_tensor *x, int pool)
{
    tp_check(x->shape.ndim == 4 && tp_tensor_is_contiguous(x) && pool >= 1
             && x->shape.dim[2] % pool == 0 && x->shape.dim[3] % pool == 0,
             "tp_avg_pool2d: squares of %d must tile contiguous [B, C, H, W], "
             "not %s", pool, tp_shape_str(x->shape).text);
    bool grad = tp_needs_grad(g, 1, &x);
    tp_tensor *y = tp_tensor_new(g->arena, tp_shape4(x->shape.dim[0],
                                 x->shape.dim[1], x->shape.dim[2] / pool,
                                 x->shape.dim[3] / pool),
                                 grad ? TP_WITH_GRAD : TP_NO_GRAD);
    pool_walk(x, pool, x->data, y->data, true);
    if (grad) {
        int *saved = tp_arena_alloc(g->arena, sizeof *saved);
        *saved = pool;
        tp_record(g, "avg_pool2d", pool_backward, y, 1, &x)->saved = saved;
    }
    return y;
}

/* <<conv: the depthwise convolution>> */
typedef struct depthwise_dims {
    int batch, length, channels, kernel;
} depthwise_dims;

static void depthwise_walk(const depthwise_dims *dims, const float *x,
                           const float *w, float *y, const float *dy,
                           float *dx, float *dw)
{
    int half = dims->kernel / 2;
    for (int b = 0; b < dims->batch; b++)
        for (int t = 0; t < dims->length; t++)
            for (int u = 0; u < dims->kernel; u++) {
                int from = t + u - half;
                if (from < 0 || from >= dims->length)
                    continue;
                long out = ((long)b * dims->length + t) * dims->channels;
                long in = ((long)b * dims->length + from) * dims->channels;
                /* <<depthwise: one offset, every channel>> */
                for (int c = 0; c < dims->channels; c++) {
                    float weight = w[c * dims->kernel + u];
                    if (y != NULL)
                        y[out + c] += weight * x[in + c];
                    if (dx != NULL)
                        dx[in + c] += weight * dy[out + c];
                    if (dw != NULL)
                        dw[c * dims->kernel + u] += x[in + c] * dy[out + c];
                }
            }
}
/* <<conv: the depthwise convolution>> */
static void depthwise_backward(tp_node *node)
{
    const depthwise_dims *dims = node->saved;
    tp_tensor *x = node->input[0], *w = node->input[1];
    tp_tensor *b = node->inputs == 3 ? node->input[2] : NULL;
    const float *dy = node->output->grad;
    depthwise_walk(dims, x->data, w->data, NULL, dy, x->grad, w->grad);
    long rows = (long)dims->batch * dims->length;
    for (long r = 0; b != NULL && b->grad != NULL && r < rows; r++)
        for (int c = 0; c < dims->channels; c++)
            b->grad[c] += dy[r * dims->channels + c];
}
/* <<conv: the depthwise convolution>> */
tp_tensor *tp_depthwise_conv1d(tp_graph *g, tp_tensor *x, tp_tensor *w,
                               tp_tensor *b)
{
    tp_check(x->shape.ndim == 3 && w->shape.ndim == 2
             && w->shape.dim[0] == x->shape.dim[2] && w->shape.dim[1] % 2 == 1
             && tp_tensor_is_contiguous(x) && tp_tensor_is_contiguous(w)
             && (b == NULL || tp_shape_equal(b->shape, tp_shape1(w->shape.dim[0]))),
             "tp_depthwise_conv1d: x [B, T, C], w [C, k] with k odd, b [C]; "
             "not %s and %s", tp_shape_str(x->shape).text,
             tp_shape_str(w->shape).text);
    depthwise_dims dims = {x->shape.dim[0], x->shape.dim[1], x->shape.dim[2],
                        w->shape.dim[1]};
    tp_tensor *in[3] = {x, w, b};
    bool grad = tp_needs_grad(g, b != NULL ? 3 : 2, in);
    tp_tensor *y = tp_tensor_new(g->arena, x->shape,
                                 grad ? TP_WITH_GRAD : TP_NO_GRAD);
    for (long r = 0; b != NULL && r < (long)dims.batch * dims.length; r++)
        memcpy(y->data + r * dims.channels, b->data,
               (size_t)dims.channels * sizeof(float));
    depthwise_walk(&dims, x->data, w->data, y->data, NULL, NULL, NULL);
    if (grad) {
        depthwise_dims *saved = tp_arena_alloc(g->arena, sizeof *saved);
        *saved = dims;
        tp_record(g, "depthwise_conv1d", depthwise_backward, y,
                  b != NULL ? 3 : 2, in)->saved = saved;
    }
    return y;
}

/* <<conv: the CNN>> */
tp_cnn *tp_cnn_new(tp_cnn_config c)
{
    tp_check(c.image_size >= 4 && c.image_size % 4 == 0 && c.channels >= 1
             && c.kernel >= 1 && c.kernel % 2 == 1 && c.n_classes >= 2,
             "a CNN needs images whose side divides by 4 (not %d), an odd "
             "kernel (not %d), channels and two classes or more",
             c.image_size, c.kernel);
    tp_cnn *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->config = c;
    m->arena = tp_arena_new("CNN parameters");
    int k = c.kernel, c1 = c.channels, c2 = 2 * c.channels;
    tp_params *p = &m->params;
    m->conv1_w = tp_param_new(p, m->arena, "conv1.weight", tp_shape4(c1, 1, k, k));
    m->conv1_b = tp_param_new(p, m->arena, "conv1.bias", tp_shape1(c1));
    m->conv2_w = tp_param_new(p, m->arena, "conv2.weight", tp_shape4(c2, c1, k, k));
    m->conv2_b = tp_param_new(p, m->arena, "conv2.bias", tp_shape1(c2));
    m->head_w = tp_param_new(p, m->arena, "head.weight", tp_shape2(c2, c.n_classes));
    m->head_b = tp_param_new(p, m->arena, "head.bias", tp_shape1(c.n_classes));
    return m;
}
/* <<conv: the CNN>> */
static void fill_he(tp_tensor *w, int fan_in, tp_rng *rng)
{
    tp_fill_normal(w, rng, 0.0f, sqrtf(2.0f / (float)fan_in));
}

void tp_cnn_init(tp_cnn *m, tp_rng *rng)
{
    int k = m->config.kernel, c1 = m->config.channels;
    fill_he(m->conv1_w, k * k, rng);
    fill_he(m->conv2_w, c1 * k * k, rng);
    fill_he(m->head_w, 2 * c1, rng);
    tp_fill(m->conv1_b, 0.0f), tp_fill(m->conv2_b, 0.0f);
    tp_fill(m->head_b, 0.0f);
}

void tp_cnn_free(tp_cnn *m)
{
    if (m == NULL)
        return;
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
    free(m);
}
/* <<conv: the CNN>> */
tp_tensor *tp_cnn_forward(tp_graph *g, tp_cnn *m, const float *images,
                          int batch)
{
    int size = m->config.image_size, c2 = 2 * m->config.channels;
    tp_tensor *x = tp_tensor_empty(g->arena, tp_shape4(batch, 1, size, size),
                                   TP_NO_GRAD);
    memcpy(x->data, images, (size_t)batch * size * size * sizeof *images);
    x = tp_silu(g, tp_conv2d(g, x, m->conv1_w, m->conv1_b));
    x = tp_avg_pool2d(g, x, 2);
    x = tp_silu(g, tp_conv2d(g, x, m->conv2_w, m->conv2_b));
    x = tp_avg_pool2d(g, tp_avg_pool2d(g, x, 2), size / 4);
    x = tp_reshape(g->arena, x, tp_shape2(batch, c2));
    return tp_linear(g, x, m->head_w, m->head_b);
}

tp_tensor *tp_cnn_loss(tp_graph *g, tp_cnn *m, const float *images,
                       const int *labels, int batch)
{
    return tp_cross_entropy(g, tp_cnn_forward(g, m, images, batch), labels,
                            -1);
}

/* <<conv: training and counting>> */
void tp_image_set_shapes(tp_image_set *set, int count, int size,
                         uint64_t stream)
{
    tp_rng rng = tp_rng_seeded(1, stream);
    *set = (tp_image_set){count, size, TP_SHAPE_CLASSES, NULL, NULL};
    set->pixels = malloc((size_t)count * size * size * sizeof *set->pixels);
    set->labels = malloc((size_t)(count > 0 ? count : 1)
                         * sizeof *set->labels);
    tp_check(set->pixels != NULL && set->labels != NULL, "out of memory");
    for (int i = 0; i < count; i++)
        set->labels[i] = (int)tp_shape_image(
            size, &rng, set->pixels + (long)i * size * size);
}

void tp_image_set_free(tp_image_set *set)
{
    free(set->pixels), free(set->labels);
    set->pixels = NULL, set->labels = NULL;
}
/* <<conv: training and counting>> */
static tp_tensor *cnn_logits(tp_graph *g, void *model, const float *images,
                             int batch)
{
    return tp_cnn_forward(g, model, images, batch);
}

static tp_tensor *vit_logits(tp_graph *g, void *model, const float *images,
                             int batch)
{
    return tp_vit_forward(g, model, images, batch, NULL);
}

tp_classifier tp_cnn_classifier(tp_cnn *m)
{
    return (tp_classifier){m, cnn_logits, &m->params};
}

tp_classifier tp_vit_classifier(tp_vit *m)
{
    return (tp_classifier){m, vit_logits, &m->params};
}
/* <<conv: training and counting>> */
typedef struct fit_run {
    const tp_classifier *c;
    const tp_image_set *train;
    tp_rng rng;
    int batch;
    float *images;
    int *labels;
} fit_run;

static tp_tensor *fit_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    fit_run *r = context;
    long pixels = (long)r->train->size * r->train->size;
    for (int i = 0; i < r->batch; i++) {
        int k = (int)tp_rng_below(&r->rng, (uint32_t)r->train->count);
        memcpy(r->images + i * pixels, r->train->pixels + k * pixels,
               (size_t)pixels * sizeof(float));
        r->labels[i] = r->train->labels[k];
    }
    return tp_cross_entropy(g, r->c->logits(g, r->c->model, r->images,
                                            r->batch), r->labels, -1);
}
/* <<conv: training and counting>> */
int tp_classifier_fit(const tp_classifier *c, const tp_image_set *train,
                      const tp_fit_options *o, tp_error *error)
{
    tp_check(train->count > 0 && o->batch > 0 && o->steps > 0,
             "tp_classifier_fit: %d images, batches of %d, %ld steps",
             train->count, o->batch, o->steps);
    long pixels = (long)train->size * train->size;
    fit_run r = {c, train, tp_rng_seeded(o->seed, 7), o->batch,
                 malloc((size_t)o->batch * pixels * sizeof(float)),
                 malloc((size_t)o->batch * sizeof(int))};
    tp_check(r.images != NULL && r.labels != NULL, "out of memory");
    tp_optimizer *opt = tp_adamw_new(c->params, 0.999f, 0.05f);
    tp_arena *arena = tp_arena_new("classifier step");
    tp_graph g = tp_graph_on(arena);
    tp_train_options t = {.steps = o->steps, .warmup = o->steps / 10 + 1,
                          .max_lr = o->max_lr, .min_lr = o->max_lr / 100,
                          .clip = 1.0};
    int status = tp_train(&g, c->params, opt, &t, fit_loss, &r, NULL, error);
    tp_arena_free(arena);
    tp_optimizer_free(opt);
    free(r.images), free(r.labels);
    return status;
}
/* <<conv: training and counting>> */
int tp_classifier_correct(const tp_classifier *c, const tp_image_set *test)
{
    tp_arena *arena = tp_arena_new("classifier evaluation");
    long pixels = (long)test->size * test->size;
    int right = 0;
    for (int start = 0; start < test->count; start += 100) {
        int count = test->count - start < 100 ? test->count - start : 100;
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_tensor *logits = c->logits(&g, c->model, test->pixels
                                      + start * pixels, count);
        int k = logits->shape.dim[1];
        for (int i = 0; i < count; i++) {
            int best = 0;
            for (int j = 1; j < k; j++)
                best = logits->data[i * k + j] > logits->data[i * k + best]
                           ? j : best;
            right += best == test->labels[start + i];
        }
        tp_arena_reset(arena);
    }
    tp_arena_free(arena);
    return right;
}
