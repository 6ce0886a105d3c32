/* Generated from book/232-vit.nw; edit the book, not this file. */
#include "program.h"

/* <<tp vit: commands>> */
typedef struct image_set {
    int count, size, classes;
    float *pixels;  /* [count, size, size], in [0, 1] */
    int *labels;
} image_set;

static void image_set_alloc(image_set *s, int count, int size, int classes)
{
    *s = (image_set){count, size, classes, NULL, NULL};
    s->pixels = malloc((size_t)count * size * size * sizeof *s->pixels);
    s->labels = malloc((size_t)count * sizeof *s->labels);
    tp_check(s->pixels != NULL && s->labels != NULL, "out of memory");
}

static void image_set_free(image_set *s)
{
    free(s->pixels), free(s->labels);
}

static void make_shapes(image_set *s, int count, int size, uint64_t stream)
{
    tp_rng rng = tp_rng_seeded(1, stream);
    image_set_alloc(s, count, size, TP_SHAPE_CLASSES);
    for (int i = 0; i < count; i++)
        s->labels[i] = (int)tp_shape_image(size, &rng,
                                           s->pixels + (long)i * size * size);
}
/* <<tp vit: commands>> */
static const char *digits_path =
    "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

static int load_digits(image_set *all, tp_error *error)
{
    if (access(digits_path, R_OK) != 0 || strchr(digits_path, '\'') != NULL)
        return tp_error_set(error, "no digits at %s (apt-get install "
                            "python3-sklearn, or give --digits FILE)",
                            digits_path);
    char command[4200];
    snprintf(command, sizeof command, "gzip -dc '%s'", digits_path);
    FILE *f = popen(command, "r");
    if (f == NULL)
        return tp_error_set(error, "cannot run gzip on %s", digits_path);
    image_set_alloc(all, 1797, 8, 10);
    int n = 0;
    /* <<vit: read the lines of 64 pixels and a label>> */
    char line[1024];
    while (n < 1797 && fgets(line, sizeof line, f) != NULL) {
        char *p = line, *end;
        int j = 0;
        double v;
        for (; j < 65 && (v = strtod(p, &end), end != p); j++, p = end + 1) {
            if (j < 64)
                all->pixels[(long)n * 64 + j] = (float)(v / 16.0);
            else
                all->labels[n] = (int)v;
            if (*end != ',')
                break;
        }
        if (j >= 64 && all->labels[n] >= 0 && all->labels[n] <= 9)
            n++;
    }
    while (fgets(line, sizeof line, f) != NULL)
        ;  /* let gzip finish writing */
    int status = pclose(f);
    if (status != 0 || n != 1797) {
        image_set_free(all);
        return tp_error_set(error, "%s is not the 1,797 digits of 8x8 pixels "
                            "(read %d)", digits_path, n);
    }
    return 0;
}
/* <<tp vit: commands>> */
static void split_digits(const image_set *all, image_set *train,
                         image_set *test)
{
    int order[1797];
    for (int i = 0; i < all->count; i++)
        order[i] = i;
    tp_rng rng = tp_rng_seeded(1797, 0);
    tp_shuffle(order, all->count, &rng);
    int n_test = all->count / 5;
    image_set_alloc(test, n_test, 8, 10);
    image_set_alloc(train, all->count - n_test, 8, 10);
    for (int i = 0; i < all->count; i++) {
        image_set *to = i < n_test ? test : train;
        int k = i < n_test ? i : i - n_test;
        memcpy(to->pixels + (long)k * 64, all->pixels + (long)order[i] * 64,
               64 * sizeof(float));
        to->labels[k] = all->labels[order[i]];
    }
}
/* <<tp vit: commands>> */
static int vit_steps = 1500, vit_batch = 64, vit_layers = 4, vit_heads = 4,
           vit_width = 64, vit_seed = 1, vit_every = 250, vit_size = 16,
           vit_patch = 0;
static const char *vit_data = "shapes", *vit_out = "vit.safetensors",
                  *vit_model = "vit.safetensors", *vit_attention = NULL;

static const option vit_train_options[] = {
    {"--data", OPTION_STRING, &vit_data, 0, 0,
     "shapes (default) or digits (needs python3-sklearn's digits.csv.gz)"},
    {"--digits", OPTION_STRING, &digits_path, 0, 0,
     "where digits.csv.gz is, if not where Debian puts it"},
    {"--size", OPTION_INT, &vit_size, 8, 256, "the side of a shape image"},
    {"--patch", OPTION_INT, &vit_patch, 0, 256,
     "the side of a patch (default: 4 for shapes, 2 for digits)"},
    {"--steps", OPTION_INT, &vit_steps, 1, 100000000, "training steps"},
    {"--batch", OPTION_INT, &vit_batch, 1, 4096, "images per step"},
    {"--layers", OPTION_INT, &vit_layers, 1, 64, "blocks"},
    {"--heads", OPTION_INT, &vit_heads, 1, 64, "attention heads"},
    {"--width", OPTION_INT, &vit_width, 1, 4096, "the model width C"},
    {"--seed", OPTION_INT, &vit_seed, 0, 1000000000, "the seed"},
    {"--eval-every", OPTION_INT, &vit_every, 1, 100000000,
     "steps between test accuracies"},
    {"--out", OPTION_STRING, &vit_out, 0, 0,
     "the checkpoint to write (default: vit.safetensors)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp vit: commands>> */
static int vit_images(const char *data, int size, image_set *train,
                      image_set *test, tp_error *error)
{
    if (strcmp(data, "shapes") == 0) {
        make_shapes(train, 10000, size, 1);
        make_shapes(test, 1000, size, 2);
        return 0;
    }
    if (strcmp(data, "digits") != 0)
        return tp_error_set(error, "--data must be shapes or digits, not '%s'",
                            data);
    image_set all;
    if (load_digits(&all, error) != 0)
        return -1;
    split_digits(&all, train, test);
    image_set_free(&all);
    return 0;
}
/* <<tp vit: commands>> */
static int vit_accuracy(tp_vit *m, const image_set *test, int *predicted)
{
    tp_arena *arena = tp_arena_new("evaluation");
    int right = 0, size = test->size;
    for (int start = 0; start < test->count; start += 100) {
        int n = test->count - start < 100 ? test->count - start : 100;
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_tensor *logits = tp_vit_forward(
            &g, m, test->pixels + (long)start * size * size, n, NULL);
        int k = m->config.n_classes;
        for (int i = 0; i < n; i++) {
            int best = argmax(logits->data + i * k, k);
            right += best == test->labels[start + i];
            if (predicted != NULL)
                predicted[start + i] = best;
        }
        tp_arena_reset(arena);
    }
    tp_arena_free(arena);
    return right;
}
/* <<tp vit: commands>> */
typedef struct vit_run {
    tp_vit *m;
    image_set train, test;
    tp_rng rng;
    float *images;
    int *labels;
    display shown;
} vit_run;

static tp_tensor *vit_train_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    vit_run *r = context;
    long pixels = (long)r->train.size * r->train.size;
    for (int b = 0; b < vit_batch; b++) {
        int i = (int)tp_rng_below(&r->rng, (uint32_t)r->train.count);
        memcpy(r->images + b * pixels, r->train.pixels + i * pixels,
               (size_t)pixels * sizeof(float));
        r->labels[b] = r->train.labels[i];
    }
    return tp_vit_loss(g, r->m, r->images, r->labels, vit_batch);
}

static bool vit_progress(const tp_progress *p, void *context)
{
    vit_run *r = context;
    bool going = show_progress(p, &r->shown);
    if ((p->step + 1) % vit_every == 0 || p->step + 1 == p->steps) {
        int right = vit_accuracy(r->m, &r->test, NULL);
        printf("step %ld: test accuracy %.1f%% (%d of %d)\n", p->step + 1,
               100.0 * right / r->test.count, right, r->test.count);
        fflush(stdout);
    }
    return going;
}
/* <<tp vit: commands>> */
static int vit_train_on(vit_run *r);

static int vit_train(void)
{
    if (check_output("vit train", vit_out) != 0)
        return 1;
    tp_error error;
    vit_run r = {.shown = {.terminal = isatty(STDERR_FILENO)}};
    bool digits = strcmp(vit_data, "digits") == 0;
    int patch = vit_patch > 0 ? vit_patch : digits ? 2 : 4;
    if (vit_images(vit_data, vit_size, &r.train, &r.test, &error) != 0) {
        fprintf(stderr, "tp vit train: %s\n", error.message);
        return 1;
    }
    int status = 2;
    if (vit_width % vit_heads != 0 || patch > r.train.size
        || r.train.size % patch != 0)
        fprintf(stderr, "tp vit train: --heads %d must divide --width %d, and "
                "--patch %d divide images of %d\n", vit_heads, vit_width,
                patch, r.train.size);
    else {
        r.m = tp_vit_new((tp_vit_config){r.train.size, patch,
                                         r.train.classes, vit_layers,
                                         vit_heads, vit_width});
        status = vit_train_on(&r);
        tp_vit_free(r.m);
    }
    image_set_free(&r.train), image_set_free(&r.test);
    return status;
}
/* <<tp vit: commands>> */
static int vit_train_on(vit_run *r)
{
    tp_error error;
    r->rng = tp_rng_seeded((uint64_t)vit_seed, 1);
    tp_vit_init(r->m, &r->rng);
    printf("ViT on %s: %ld parameters, %d patches of %d pixels\n", vit_data,
           tp_params_count(&r->m->params),
           tp_patch_count(r->train.size, r->m->config.patch_size),
           r->m->config.patch_size * r->m->config.patch_size);
    r->images = malloc((size_t)vit_batch * r->train.size * r->train.size
                       * sizeof(float));
    r->labels = malloc((size_t)vit_batch * sizeof(int));
    tp_check(r->images != NULL && r->labels != NULL, "out of memory");
    tp_optimizer *opt = tp_adamw_new(&r->m->params, 0.999f, 0.05f);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    int tokens = 1 + tp_patch_count(r->train.size, r->m->config.patch_size);
    tp_train_options o = {.steps = vit_steps, .warmup = vit_steps / 10 + 1,
                          .max_lr = 1e-3f, .min_lr = 1e-5f, .clip = 1.0,
                          .tokens_per_step = (long)vit_batch * tokens,
                          .progress = vit_progress, .progress_context = r};
    catch_interrupts();
    int status = tp_train(&g, &r->m->params, opt, &o, vit_train_loss, r,
                          NULL, &error);
    /* <<vit train: save and report>> */
    if (status == 0)
        status = tp_vit_save(r->m, vit_out, &error);
    if (status != 0)
        fprintf(stderr, "tp vit train: %s\n", error.message);
    else
        printf("%s; saved %s\n", interrupted ? "interrupted" : "done", vit_out);
    free(r->images), free(r->labels);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    return exit_status(status);
}
/* <<tp vit: commands>> */
static const option vit_eval_options[] = {
    {"--model", OPTION_STRING, &vit_model, 0, 0,
     "the checkpoint (default: vit.safetensors)"},
    {"--digits", OPTION_STRING, &digits_path, 0, 0,
     "where digits.csv.gz is, if not where Debian puts it"},
    {"--attention", OPTION_STRING, &vit_attention, 0, 0,
     "write the CLS attention of four test images to this table"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static int write_cls_attention(tp_vit *m, const image_set *test,
                               const int *predicted);
/* <<tp vit: commands>> */
static int vit_eval(void)
{
    tp_error error;
    tp_vit *m = tp_vit_load(vit_model, &error);
    image_set train, test;
    const char *data = m != NULL && m->config.image_size == 8 ? "digits"
                                                              : "shapes";
    if (m == NULL || vit_images(data, m->config.image_size, &train, &test,
                                &error) != 0) {
        fprintf(stderr, "tp vit eval: %s\n", error.message);
        tp_vit_free(m);
        return 1;
    }
    int *predicted = malloc((size_t)test.count * sizeof *predicted);
    tp_check(predicted != NULL, "out of memory");
    int right = vit_accuracy(m, &test, predicted);
    printf("test accuracy on %s: %.1f%% (%d of %d)\n", data,
           100.0 * right / test.count, right, test.count);
    int status = vit_attention != NULL
                     ? write_cls_attention(m, &test, predicted) : 0;
    free(predicted);
    image_set_free(&train), image_set_free(&test);
    tp_vit_free(m);
    return status;
}
/* <<tp vit: commands>> */
static int write_cls_attention(tp_vit *m, const image_set *test,
                               const int *predicted)
{
    int size = test->size, n = tp_patch_count(size, m->config.patch_size);
    tp_arena *arena = tp_arena_new("attention");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor **weights = tp_arena_zeroed(arena, (size_t)m->config.n_layer,
                                          sizeof *weights);
    tp_vit_forward(&g, m, test->pixels, 4, weights);
    const tp_tensor *w = weights[m->config.n_layer - 1];  /* [4, H, 1+N, 1+N] */
    FILE *f = fopen(vit_attention, "w");
    for (int k = 0; f != NULL && k < 4; k++) {
        /* <<vit attention: write one image and its weights>> */
        bool shapes = test->classes == TP_SHAPE_CLASSES;
        if (k == 0)
            fprintf(f, "# written by: tp vit eval --model %s --attention %s\n"
                    "row\tvalues\n", vit_model, vit_attention);
        fprintf(f, "# image %d: %s, predicted %s\n", k,
                shapes ? tp_shape_class_name(test->labels[k]) : "",
                shapes ? tp_shape_class_name(predicted[k]) : "");
        for (int y = 0; y < size; y++) {
            fprintf(f, "%d.pixels", k);
            for (int x = 0; x < size; x++)
                fprintf(f, "\t%.3f", test->pixels[((long)k * size + y) * size + x]);
            fprintf(f, "\n");
        }
        fprintf(f, "%d.cls", k);
        for (int j = 1; j <= n; j++) {
            double mean = 0;
            for (int h = 0; h < m->config.n_head; h++)
                mean += *tp_at4(w, k, h, 0, j) / m->config.n_head;
            fprintf(f, "\t%.5f", mean);
        }
        fprintf(f, "\n");
    }
    tp_arena_free(arena);
    if (f == NULL || fclose(f) != 0) {
        fprintf(stderr, "tp vit eval: cannot write %s\n", vit_attention);
        return 1;
    }
    return 0;
}

/* <<tp vit: figures>> */
static int draw_vit_architecture(tp_draw *d, tp_error *error)
{
    (void)error;
    tp_rng rng = tp_rng_seeded(3, 0);
    float pixels[16 * 16];
    tp_shape_image(16, &rng, pixels);
    tp_heatmap(d, 20, 62, 96, 96, pixels, 16, 16, NULL, 0.0, 1.0);
    cairo_set_source_rgb(d->cr, 1, 1, 1);
    cairo_set_line_width(d->cr, 1.2);
    for (int i = 1; i < 4; i++) {
        cairo_move_to(d->cr, 20 + 24 * i, 62);
        cairo_line_to(d->cr, 20 + 24 * i, 158);
        cairo_move_to(d->cr, 20, 62 + 24 * i);
        cairo_line_to(d->cr, 116, 62 + 24 * i);
    }
    cairo_stroke(d->cr);
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, 68, 166, 0.5, 0.0, 7, "16\xc3\x97" "16 image, 16 patches of 4\xc3\x97" "4");
    /* <<vit architecture figure: the sequence and the encoder>> */
    static const char *const tokens[] = {"CLS", "1", "2", "3", "\xe2\x80\xa6",
                                         "16"};
    tp_arrow(d, 120, 158, 152, 158, tp_rgb(0x555555), 0.8);
    tp_token_row(d, 156, 150, 30, 16, tokens, 6, tp_category(4));
    tp_text(d, 246, 172, 0.5, 0.0, 7, "patch \xc3\x97 W + b, + learned positions");
    tp_arrow(d, 246, 150, 246, 132, tp_rgb(0x555555), 0.8);
    tp_label_box(d, 156, 96, 180, 36, tp_category(5), 8,
                 "pre-LN encoder blocks\nbidirectional attention, GELU");
    tp_arrow(d, 171, 96, 171, 78, tp_rgb(0x555555), 0.8);
    tp_label_box(d, 156, 58, 120, 20, tp_category(2), 8,
                 "LayerNorm, CLS row");
    tp_arrow(d, 216, 58, 216, 44, tp_rgb(0x555555), 0.8);
    tp_label_box(d, 156, 24, 120, 20, tp_category(0), 8, "linear: 5 classes");
    return 0;
}
/* <<tp vit: figures>> */
static int draw_vit_attention(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/vit-attention.tsv", t, error);
    int size = t->rows / 4 - 1, n = t->cols;  /* the last row is weights */
    int grid = (int)lround(sqrt(n));
    if (status == 0 && (t->rows % 4 != 0 || size < 2 || size > 32
                        || grid * grid != n || size % grid != 0))
        status = tp_error_set(error, "vit-attention.tsv is not four images "
                              "and their CLS weights");
    if (status == 0) {
        /* <<vit figure: four images and their weights>> */
        float pixels[32 * 32], weights[32 * 32];
        double top = 0;
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < n; j++)
                top = fmax(top, t->value[k * (size + 1) + size][j]);
        for (int k = 0; k < 4; k++) {
            char key[16], caption[64] = "";
            snprintf(key, sizeof key, "image %d: ", k);
            const char *c = strstr(t->comments, key);
            if (c != NULL)
                sscanf(c + strlen(key), "%63[^\n]", caption);
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++) {
                    pixels[y * size + x] = (float)t->value[k * (size + 1) + y][x];
                    int patch = (y / (size / grid)) * grid + x / (size / grid);
                    weights[y * size + x] = (float)t->value[k * (size + 1) + size][patch];
                }
            double x0 = 6 + k * 100;
            tp_heatmap(d, x0, 20, 46, 46, pixels, size, size, NULL, 0.0, 1.0);
            tp_heatmap(d, x0 + 50, 20, 46, 46, weights, size, size, NULL, 0.0, top);
            cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
            tp_text(d, x0 + 23, 70, 0.5, 0.0, 6.5, "image");
            tp_text(d, x0 + 73, 70, 0.5, 0.0, 6.5, "CLS \xe2\x86\x92 patch");
            tp_text(d, x0 + 48, 6, 0.5, 0.0, 6.5, caption);
        }
        tp_colorbar(d, 406, 20, 6, 46, 0.0, top, "");
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, 414, 8, 0.5, 0.0, 6.5, "weight");
    }
    free(t);
    return status;
}

static const command vit_commands[] = {
    /* <<tp vit: command table>> */
    {"vit train", "train a Vision Transformer on shapes or digits",
     vit_train_options, vit_train, NULL},
    {"vit eval", "test accuracy and CLS attention of a trained ViT",
     vit_eval_options, vit_eval, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure vit_figures[] = {
    /* <<tp vit: figure table>> */
    {"vit-architecture", "a Vision Transformer reads an image as a sequence "
     "of patches", 360, 190, draw_vit_architecture},
    /* <<tp vit: figure table>> */
    {"vit-attention", "where a trained ViT's CLS token looks, last block", 440,
     84, draw_vit_attention},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part vit_part = {vit_commands, vit_figures};
