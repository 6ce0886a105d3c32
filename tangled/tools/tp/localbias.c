/* Generated from book/325-local-bias.nw; edit the book, not this file. */
#include "program.h"

/* <<tp localbias: commands>> */
static int lb_size = 16, lb_patch = 4, lb_window = 2, lb_steps = 300,
           lb_width = 32, lb_layers = 2;
static float lb_lr = 2e-3f, lb_cnn_lr = 1e-2f;
static const char *lb_tsv = NULL, *lb_shuffle_tsv = NULL;

static const option localbias_options[] = {
    {"--size", OPTION_INT, &lb_size, 4, 256, "the side S of an image"},
    {"--patch", OPTION_INT, &lb_patch, 2, 256, "the side p of a patch (even)"},
    {"--window", OPTION_INT, &lb_window, 1, 256,
     "Swin's window M, in patches"},
    {"--steps", OPTION_INT, &lb_steps, 1, 1000000, "training steps per model"},
    {"--width", OPTION_INT, &lb_width, 4, 1024,
     "the width C of the Transformers"},
    {"--layers", OPTION_INT, &lb_layers, 2, 64, "their blocks"},
    {"--tsv", OPTION_STRING, &lb_tsv, 0, 0,
     "write accuracy against data size here"},
    {"--shuffle-tsv", OPTION_STRING, &lb_shuffle_tsv, 0, 0,
     "write the shuffled-patch accuracies here"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp localbias: commands>> */
static int check_geometry(void)
{
    if (lb_size % lb_patch != 0 || lb_patch % 2 != 0 || lb_size % 4 != 0) {
        fprintf(stderr, "tp localbias: an image of %d pixels is not cut into "
                "patches of %d (the patch must be even and divide the image, "
                "and the image divide by 4)\n", lb_size, lb_patch);
        return 1;
    }
    if ((lb_size / lb_patch) % lb_window != 0) {
        fprintf(stderr, "tp localbias: a grid of %d patches is not cut into "
                "windows of %d\n", lb_size / lb_patch, lb_window);
        return 1;
    }
    if (lb_width % 4 != 0) {
        fprintf(stderr, "tp localbias: --width %d is not a multiple of the "
                "4 heads\n", lb_width);
        return 1;
    }
    return 0;
}
/* <<tp localbias: commands>> */
enum { LB_MODELS = 4 };
static const char *const lb_names[LB_MODELS] = {"vit", "cnn", "hybrid",
                                                "swin"};

typedef struct lb_result {
    double accuracy, seconds;
    long parameters;
} lb_result;

static lb_result lb_train(int model, const tp_image_set *train,
                          const tp_image_set *test, bool positions)
{
    tp_rng rng = tp_rng_seeded(1, 0);
    tp_vit_config v = {lb_size, lb_patch, TP_SHAPE_CLASSES, lb_layers, 4,
                       lb_width};
    tp_vit *vit = NULL;
    tp_cnn *cnn = NULL;
    tp_hybrid *hybrid = NULL;
    tp_swin *swin = NULL;
    tp_classifier c;
    /* <<localbias compare: make model [[model]]>> */
    if (model == 0) {
        vit = tp_vit_new(v);
        vit->positions = positions;
        tp_vit_init(vit, &rng), c = tp_vit_classifier(vit);
    } else if (model == 1) {
        cnn = tp_cnn_new((tp_cnn_config){lb_size, 8, 3, TP_SHAPE_CLASSES});
        tp_cnn_init(cnn, &rng), c = tp_cnn_classifier(cnn);
    } else if (model == 2) {
        hybrid = tp_hybrid_new(v, 8);
        tp_hybrid_init(hybrid, &rng), c = tp_hybrid_classifier(hybrid);
    } else {
        swin = tp_swin_new((tp_swin_config){lb_size, lb_patch, lb_window,
                           TP_SHAPE_CLASSES, lb_layers, 4, lb_width, true});
        tp_swin_init(swin, &rng), c = tp_swin_classifier(swin);
    }
    tp_error error;
    double start = tp_seconds();
    float lr = model == 1 ? lb_cnn_lr : lb_lr;
    int status = tp_classifier_fit(&c, train, &(tp_fit_options){lb_steps, 32,
                                   lr, 1}, &error);
    tp_check(status == 0, "tp localbias: %s", error.message);
    lb_result r = {0, tp_seconds() - start, tp_params_count(c.params)};
    r.accuracy = (double)tp_classifier_correct(&c, test) / test->count;
    tp_vit_free(vit), tp_cnn_free(cnn), tp_hybrid_free(hybrid);
    tp_swin_free(swin);
    return r;
}
/* <<tp localbias: commands>> */
static tp_image_set first_images(const tp_image_set *all, int count)
{
    tp_image_set set = *all;
    set.count = count;
    return set;
}

static FILE *open_table(const char *path, const char *header)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "tp localbias compare: cannot write %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp localbias compare, %d steps of 32 images, "
            "%d-pixel shapes, patches of %d, Swin windows of %d; "
            "OMP_NUM_THREADS=%s\n%s\n", lb_steps, lb_size, lb_patch,
            lb_window, getenv("OMP_NUM_THREADS") != NULL
                           ? getenv("OMP_NUM_THREADS") : "unset", header);
    return f;
}
/* <<tp localbias: commands>> */
static const int lb_sizes[] = {100, 300, 1000, 3000};

static int compare_sizes(const tp_image_set *all, const tp_image_set *test)
{
    FILE *f = lb_tsv != NULL ? open_table(lb_tsv, "model\tD\taccuracy\t"
                                          "seconds\tparameters") : NULL;
    if (lb_tsv != NULL && f == NULL)
        return 1;
    printf("%-7s %5s %9s %8s %10s\n", "model", "D", "accuracy", "seconds",
           "parameters");
    for (int i = 0; i < 4 && !interrupted; i++)
        for (int m = 0; m < LB_MODELS && !interrupted; m++) {
            tp_image_set train = first_images(all, lb_sizes[i]);
            lb_result r = lb_train(m, &train, test, true);
            printf("%-7s %5d %8.1f%% %8.1f %10ld\n", lb_names[m], lb_sizes[i],
                   100 * r.accuracy, r.seconds, r.parameters);
            fflush(stdout);
            if (f != NULL)
                fprintf(f, "%s\t%d\t%.4f\t%.2f\t%ld\n", lb_names[m],
                        lb_sizes[i], r.accuracy, r.seconds, r.parameters);
        }
    return f != NULL && fclose(f) != 0;
}
/* <<tp localbias: commands>> */
static void shuffled_copy(const tp_image_set *set, const int *order,
                          tp_image_set *out)
{
    *out = *set;
    long pixels = (long)set->count * set->size * set->size;
    out->pixels = malloc((size_t)pixels * sizeof(float));
    tp_check(out->pixels != NULL, "out of memory");
    tp_shuffle_patches(set->pixels, set->count, set->size, lb_patch, order,
                       out->pixels);
}

static void patch_order(int *order, int n)
{
    tp_rng rng = tp_rng_seeded(5, 0);
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)tp_rng_below(&rng, (uint32_t)i + 1), t = order[i];
        order[i] = order[j], order[j] = t;
    }
}
/* <<tp localbias: commands>> */
static int compare_shuffled(const tp_image_set *all, const tp_image_set *test)
{
    int n = tp_patch_count(lb_size, lb_patch);
    int *order = malloc((size_t)n * sizeof *order);
    tp_check(order != NULL, "out of memory");
    patch_order(order, n);
    tp_image_set train = first_images(all, 1000), strain, stest;
    shuffled_copy(&train, order, &strain), shuffled_copy(test, order, &stest);
    FILE *f = lb_shuffle_tsv != NULL
                  ? open_table(lb_shuffle_tsv, "model\tplain\tshuffled") : NULL;
    printf("\n1,000 images, patches shuffled:\n");
    static const int models[2] = {1, 0};
    static const char *const names[2] = {"cnn", "vit-no-positions"};
    for (int k = 0; k < 2 && !interrupted; k++) {
        lb_result plain = lb_train(models[k], &train, test, false);
        lb_result shuffled = lb_train(models[k], &strain, &stest, false);
        printf("%-17s plain %5.1f%%  shuffled %5.1f%%\n", names[k],
               100 * plain.accuracy, 100 * shuffled.accuracy);
        if (f != NULL)
            fprintf(f, "%s\t%.4f\t%.4f\n", names[k], plain.accuracy,
                    shuffled.accuracy);
    }
    free(order), free(strain.pixels), free(stest.pixels);
    return (lb_shuffle_tsv != NULL && f == NULL) || (f != NULL && fclose(f) != 0);
}
/* <<tp localbias: commands>> */
static int localbias_compare(void)
{
    if (check_geometry() != 0)
        return 1;
    tp_image_set all, test;
    tp_image_set_shapes(&all, 3000, lb_size, 1);
    tp_image_set_shapes(&test, 1000, lb_size, 2);
    tp_describe_machine(stdout);
    catch_interrupts();
    int status = compare_sizes(&all, &test);
    if (status == 0 && !interrupted)
        status = compare_shuffled(&all, &test);
    tp_image_set_free(&all), tp_image_set_free(&test);
    return interrupted ? EXIT_INTERRUPTED : status;
}
/* <<tp localbias: commands>> */
static const char *lb_waves_tsv = NULL;
static int lb_kernel = 7, lb_frame = 4;

static const option waves_options[] = {
    {"--frame", OPTION_INT, &lb_frame, 1, 64, "samples per token (divides 64)"},
    {"--kernel", OPTION_INT, &lb_kernel, 1, 63,
     "the depthwise kernel, in tokens (odd)"},
    {"--steps", OPTION_INT, &lb_steps, 1, 1000000, "training steps per model"},
    {"--tsv", OPTION_STRING, &lb_waves_tsv, 0, 0, "write the accuracies here"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp localbias: commands>> */
static lb_result wave_train(bool conv, const tp_image_set *train,
                            const tp_image_set *test)
{
    tp_rng rng = tp_rng_seeded(1, 0);
    tp_conformer *m = tp_conformer_new((tp_conformer_config){
        64, lb_frame, TP_WAVE_CLASSES, 2, 4, 32, lb_kernel, conv});
    tp_conformer_init(m, &rng);
    tp_classifier c = tp_conformer_classifier(m);
    tp_error error;
    double start = tp_seconds();
    int status = tp_classifier_fit(&c, train, &(tp_fit_options){lb_steps, 32,
                                   lb_lr, 1}, &error);
    tp_check(status == 0, "tp localbias waves: %s", error.message);
    lb_result r = {0, tp_seconds() - start, tp_params_count(c.params)};
    r.accuracy = (double)tp_classifier_correct(&c, test) / test->count;
    tp_conformer_free(m);
    return r;
}
/* <<tp localbias: commands>> */
static int localbias_waves(void)
{
    if (64 % lb_frame != 0 || lb_kernel % 2 == 0) {
        fprintf(stderr, "tp localbias waves: --frame %d must divide the 64 "
                "samples and --kernel %d be odd\n", lb_frame, lb_kernel);
        return 1;
    }
    FILE *f = lb_waves_tsv != NULL
                  ? open_table(lb_waves_tsv, "model\tD\taccuracy\tseconds\t"
                               "parameters") : NULL;
    if (lb_waves_tsv != NULL && f == NULL)
        return 1;
    tp_image_set all, test;
    tp_image_set_waves(&all, 1000, 1), tp_image_set_waves(&test, 1000, 2);
    static const char *const names[2] = {"transformer", "conformer"};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++) {
            tp_image_set train = first_images(&all, lb_sizes[i]);
            lb_result r = wave_train(k == 1, &train, &test);
            printf("%-11s %5d %8.1f%% %8.1f %10ld\n", names[k], lb_sizes[i],
                   100 * r.accuracy, r.seconds, r.parameters);
            if (f != NULL)
                fprintf(f, "%s\t%d\t%.4f\t%.2f\t%ld\n", names[k], lb_sizes[i],
                        r.accuracy, r.seconds, r.parameters);
        }
    tp_image_set_free(&all), tp_image_set_free(&test);
    return f != NULL && fclose(f) != 0;
}

/* <<tp localbias: figures>> */
static tp_color model_color(int m)
{
    static const int category[LB_MODELS] = {4, 5, 2, 1};
    return tp_category(category[m]);
}

static int model_series(const table *t, int m, double *x, double *y)
{
    int points = 0;
    for (int r = 0; r < t->rows && points < 8; r++)
        if (strcmp(t->label[r], lb_names[m]) == 0)
            x[points] = t->value[r][0], y[points++] = 100 * t->value[r][1];
    return points;
}
/* <<tp localbias: figures>> */
static void accuracy_panel(tp_plot *p, const table *t, int models,
                           bool legend)
{
    static const char *const shown[LB_MODELS] = {"ViT", "CNN", "hybrid",
                                                 "Swin"};
    tp_plot_frame(p);
    tp_legend_entry entries[LB_MODELS];
    for (int m = 0; m < models; m++) {
        double x[8], y[8];
        int points = model_series(t, m, x, y);
        tp_plot_line(p, x, y, points, model_color(m), false, true);
        entries[m] = (tp_legend_entry){shown[m], model_color(m), false};
    }
    if (legend)
        tp_plot_legend(p, entries, models, TP_BOTTOM_RIGHT);
}

static int draw_localbias_data(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/localbias-compare.tsv", t, error);
    if (status == 0) {
        tp_plot p = {d, 50, 14, 360, 190,
                     {.lo = 80, .hi = 4000, .log = true,
                      .label = "training images D"},
                     {.lo = 0, .hi = 100, .label = "test accuracy (%)"}};
        accuracy_panel(&p, t, LB_MODELS, true);
    }
    free(t);
    return status;
}
/* <<tp localbias: figures>> */
static void shuffle_lines(tp_draw *d, const table *shuffle, double x, double y)
{
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x, y, 0.0, 0.0, 7, "<b>patches shuffled, 1,000 images</b>");
    for (int r = 0; r < shuffle->rows && r < 2; r++) {
        char line[96];
        snprintf(line, sizeof line, "%s: %.0f%% \xe2\x86\x92 %.0f%%",
                 strcmp(shuffle->label[r], "cnn") == 0 ? "CNN"
                                                 : "ViT, no positions",
                 100 * shuffle->value[r][0], 100 * shuffle->value[r][1]);
        tp_set_color(d->cr,
                     model_color(strcmp(shuffle->label[r], "cnn") == 0));
        tp_text(d, x, y + 11 * (r + 1), 0.0, 0.0, 7, line);
    }
}

static void headline(tp_draw *d, const table *t, double x, double y)
{
    static const char *const shown[LB_MODELS] = {"ViT", "CNN", "hybrid",
                                                 "Swin"};
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x, y, 0.0, 0.0, 7, "<b>accuracy with 300 training images</b>");
    for (int m = 0; m < LB_MODELS; m++) {
        double xs[8], ys[8];
        int points = model_series(t, m, xs, ys);
        for (int i = 0; i < points; i++)
            if (xs[i] == 300) {
                char line[64];
                snprintf(line, sizeof line, "%s %.0f%%", shown[m], ys[i]);
                tp_set_color(d->cr, model_color(m));
                tp_text(d, x + 52 * m, y + 11, 0.0, 0.0, 7, line);
            }
    }
}
/* <<tp localbias: figures>> */
static int draw_card_localbias(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t), *shuffle = calloc(1, sizeof *shuffle);
    tp_check(t != NULL && shuffle != NULL, "out of memory");
    int status = read_table("figures/data/localbias-compare.tsv", t, error);
    if (status == 0)
        status = read_table("figures/data/localbias-shuffle.tsv", shuffle,
                            error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>5. No local inductive bias</b>",
                "Patches are a set: nearness must be learned, and learning it "
                "takes data",
                "Data: tp localbias compare (make measure-localbias)",
                &problem, &solutions);
        /* <<localbias card: the panels>> */
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, problem.x + 10, problem.y + 16, 0.0, 0.0, 7,
                "<b>test accuracy (%) against training images</b>");
        tp_plot p = {d, problem.x + 30, problem.y + 30, problem.w - 44, 110,
                     {.lo = 80, .hi = 4000, .log = true},
                     {.lo = 0, .hi = 100}};
        accuracy_panel(&p, t, 2, true);
        headline(d, t, problem.x + 10, problem.y + 170);
        shuffle_lines(d, shuffle, problem.x + 10, problem.y + 200);
        static const char *const rows[][3] = {
            {"Conv + Transformer hybrid", "a convolutional stem makes the tokens",
             "this chapter"},
            {"Swin", "shifted windows, a relative position bias",
             "this chapter"},
            {"Conformer", "a depthwise convolution module in every block",
             "this chapter"},
            {"Hierarchical ViT", "patch merging between stages",
             "Chapter: dense inputs"},
        };
        card_solutions(d, &solutions, rows, 4);
    }
    free(t), free(shuffle);
    return status;
}

static const command localbias_commands[] = {
    /* <<tp localbias: command table>> */
    {"localbias waves", "the Conformer against the Transformer on waveforms",
     waves_options, localbias_waves, NULL},
    /* <<tp localbias: command table>> */
    {"localbias compare", "ViT, CNN, hybrid and Swin against training-set size; "
     "shuffled patches", localbias_options, localbias_compare, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure localbias_figures[] = {
    /* <<tp localbias: figure table>> */
    {"localbias-data", "Accuracy on 1,000 new shapes images against the number "
     "of training images, for the ViT, the CNN, the hybrid and Swin, at the same "
     "training budget (tp localbias compare).", 432, 240, draw_localbias_data},
    /* <<tp localbias: figure table>> */
    {"card-localbias", "The card of no local inductive bias, drawn from tp "
     "localbias compare.", 440, 320, draw_card_localbias},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part localbias_part = {localbias_commands, localbias_figures};
