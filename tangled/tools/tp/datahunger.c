/* Generated from book/330-data-hunger.nw; edit the book, not this file. */
#include "program.h"

/* <<tp datahunger: commands>> */
static const char *hunger_labels = "100,300,1000", *hunger_data = "shapes",
                  *hunger_tsv = NULL;
static int hunger_width = 32, hunger_layers = 2, hunger_heads = 4,
           hunger_steps = 400, hunger_pretrain = 2000, hunger_source = 500,
           hunger_batch = 32,
           hunger_seeds = 1, hunger_seed = 1;
static float hunger_mask = 0.75f;

static const option datahunger_options[] = {
    {"--labels", OPTION_STRING, &hunger_labels, 0, 0,
     "the labelled images of each run, a list (default 100,300,1000)"},
    {"--data", OPTION_STRING, &hunger_data, 0, 0,
     "shapes (default), or a file: a label and S*S pixels per line"},
    {"--width", OPTION_INT, &hunger_width, 4, 4096, "the ViT's width C"},
    {"--layers", OPTION_INT, &hunger_layers, 1, 64, "the ViT's blocks"},
    {"--heads", OPTION_INT, &hunger_heads, 1, 64, "attention heads"},
    {"--steps", OPTION_INT, &hunger_steps, 1, 1000000,
     "training steps on the labelled images, for every model"},
    {"--pretrain", OPTION_INT, &hunger_pretrain, 1, 1000000,
     "steps of masked image modelling"},
    {"--source", OPTION_INT, &hunger_source, 1, 1000000,
     "steps on the source task of transfer"},
    {"--mask", OPTION_FLOAT, &hunger_mask, -1000, 1000,
     "the MAE's mask ratio, strictly between 0 and 1 (default 0.75)"},
    {"--batch", OPTION_INT, &hunger_batch, 2, 4096, "images per step"},
    {"--seeds", OPTION_INT, &hunger_seeds, 1, 100, "runs per budget"},
    {"--seed", OPTION_INT, &hunger_seed, 0, 1000000000, "the first seed"},
    {"--tsv", OPTION_STRING, &hunger_tsv, 0, 0,
     "also write the accuracies as a table, for the figures"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp datahunger: commands>> */
typedef tp_image_set images;

static void images_alloc(images *s, int count, int size)
{
    *s = (images){count, size, 0, NULL, NULL};
    s->pixels = malloc((size_t)(count > 0 ? count : 1) * size * size
                       * sizeof *s->pixels);
    s->labels = malloc((size_t)(count > 0 ? count : 1) * sizeof *s->labels);
    tp_check(s->pixels != NULL && s->labels != NULL, "out of memory");
}
/* <<tp datahunger: commands>> */
static void split_images(const images *all, images *train, images *test)
{
    int n_test = all->count / 5, size = all->size;
    long pixels = (long)size * size;
    images_alloc(test, n_test, size);
    images_alloc(train, all->count - n_test, size);
    train->classes = test->classes = all->classes < 2 ? 2 : all->classes;
    for (int i = 0; i < all->count; i++) {
        images *to = i < train->count ? train : test;
        int k = i < train->count ? i : i - train->count;
        memcpy(to->pixels + k * pixels, all->pixels + i * pixels,
               (size_t)pixels * sizeof(float));
        to->labels[k] = all->labels[i];
    }
}

static int load_images(images *train, images *test, tp_error *error)
{
    if (strcmp(hunger_data, "shapes") == 0) {
        tp_image_set_shapes(train, 10000, 16, 1);
        tp_image_set_shapes(test, 1000, 16, 2);
        return 0;
    }
    images all = {0};
    if (tp_image_set_read(hunger_data, &all, error) != 0)
        return -1;
    split_images(&all, train, test);
    tp_image_set_free(&all);
    return 0;
}
/* <<tp datahunger: commands>> */
static int quadrant(const float *pixels, int size)
{
    double x = 0, y = 0, mass = 0;
    for (int r = 0; r < size; r++)
        for (int c = 0; c < size; c++)
            if (pixels[r * size + c] > 0.5f)
                x += c + 0.5, y += r + 0.5, mass += 1;
    if (mass == 0)
        return 0;
    return (x / mass >= size / 2.0) + 2 * (y / mass >= size / 2.0);
}
/* <<tp datahunger: commands>> */
typedef struct run {
    const images *pool;
    int labelled;          /* the first images of the pool with labels */
    const int *targets;    /* the labels it learns: pool->labels, or other */
    const int *teacher;    /* the teacher's labels of the whole pool */
    tp_vit *vit;
    tp_deit *deit;
    tp_mae *mae;
    tp_cnn *cnn;
    tp_rng rng;
    float *images;
    int *labels, *taught;
} run;

static void draw_batch(run *r, int from)
{
    long pixels = (long)r->pool->size * r->pool->size;
    for (int b = 0; b < hunger_batch; b++) {
        int i = (int)tp_rng_below(&r->rng, (uint32_t)from);
        memcpy(r->images + b * pixels, r->pool->pixels + i * pixels,
               (size_t)pixels * sizeof(float));
        r->labels[b] = i < r->labelled ? r->targets[i] : -1;
        if (r->teacher != NULL)
            r->taught[b] = r->teacher[i];
    }
}
/* <<tp datahunger: commands>> */
static tp_tensor *vit_labelled_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    run *r = context;
    draw_batch(r, r->labelled);
    return tp_vit_loss(g, r->vit, r->images, r->labels, hunger_batch);
}

static tp_tensor *cnn_labelled_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    run *r = context;
    draw_batch(r, r->labelled);
    return tp_cnn_loss(g, r->cnn, r->images, r->labels, hunger_batch);
}

static tp_tensor *mae_pool_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    run *r = context;
    draw_batch(r, r->pool->count);
    return tp_mae_loss(g, r->mae, r->images, hunger_batch, hunger_mask,
                       &r->rng);
}

static tp_tensor *deit_pool_loss(tp_graph *g, long step, void *context)
{
    run *r = context;
    draw_batch(r, step % 2 == 0 ? r->labelled : r->pool->count);
    return tp_deit_loss(g, r->deit, r->images, r->labels, r->taught,
                        hunger_batch);
}
/* <<tp datahunger: commands>> */
static const float VIT_RATE = 2e-3f, FINE_RATE = 1e-3f, CNN_RATE = 1e-2f;

static void train_model(run *r, const tp_params *params, tp_loss_fn *loss,
                        int steps, float beta2, float rate)
{
    long pixels = (long)r->pool->size * r->pool->size;
    r->images = malloc((size_t)hunger_batch * pixels * sizeof(float));
    r->labels = malloc(2 * (size_t)hunger_batch * sizeof(int));
    tp_check(r->images != NULL && r->labels != NULL, "out of memory");
    r->taught = r->labels + hunger_batch;
    tp_optimizer *opt = tp_adamw_new(params, beta2, 0.05f);
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_train_options o = {.steps = steps, .warmup = steps / 10 + 1,
                          .max_lr = rate, .min_lr = rate / 100, .clip = 1.0};
    tp_error error;
    if (tp_train(&g, params, opt, &o, loss, r, NULL, &error) != 0)
        fprintf(stderr, "tp datahunger compare: %s\n", error.message);
    tp_arena_free(arena);
    tp_optimizer_free(opt);
    free(r->images), free(r->labels);
}
/* <<tp datahunger: commands>> */
static double test_accuracy(tp_vit *vit, tp_deit *deit, tp_cnn *cnn,
                            const images *test, int *predicted)
{
    tp_arena *arena = tp_arena_new("evaluation");
    int right = 0, size = test->size, k = test->classes;
    float *p = malloc((size_t)100 * k * sizeof *p);
    tp_check(p != NULL, "out of memory");
    for (int start = 0; start < test->count; start += 100) {
        int count = test->count - start < 100 ? test->count - start : 100;
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        const float *x = test->pixels + (long)start * size * size;
        if (deit != NULL)
            tp_deit_predict(&g, deit, x, count, p);
        else if (cnn != NULL)
            memcpy(p, tp_cnn_forward(&g, cnn, x, count)->data,
                   (size_t)count * k * sizeof *p);
        else
            memcpy(p, tp_vit_forward(&g, vit, x, count, NULL)->data,
                   (size_t)count * k * sizeof *p);
        for (int i = 0; i < count; i++) {
            int best = argmax(p + i * k, k);
            right += best == test->labels[start + i];
            if (predicted != NULL)
                predicted[start + i] = best;
        }
        tp_arena_reset(arena);
    }
    free(p);
    tp_arena_free(arena);
    return (double)right / test->count;
}
/* <<tp datahunger: commands>> */
static tp_vit *copy_vit(const tp_vit *from, int classes, uint64_t seed)
{
    tp_vit_config c = from->config;
    c.n_classes = classes;
    tp_vit *to = tp_vit_new(c);
    tp_rng rng = tp_rng_seeded(seed, 3);
    tp_vit_init(to, &rng);
    for (int i = 0; i < to->params.count; i++) {
        tp_tensor *t = to->params.items[i].tensor;
        const tp_tensor *f = from->params.items[i].tensor;
        if (strncmp(to->params.items[i].name, "head.", 5) != 0
            || c.n_classes == from->config.n_classes)
            memcpy(t->data, f->data,
                   (size_t)tp_tensor_count(t) * sizeof(float));
    }
    return to;
}
/* <<tp datahunger: commands>> */
enum { METHODS = 6 };
static const char *const method_names[METHODS] = {
    "scratch", "MAE", "probe", "transfer", "DeiT", "CNN"};

typedef struct pretrained {
    tp_vit *mae_encoder, *source;
    tp_vit_config config;
} pretrained;
/* <<tp datahunger: commands>> */
static double pixel_variance(const float *x, long count)
{
    double mean = 0, squares = 0;
    for (long i = 0; i < count; i++)
        mean += x[i] / count;
    for (long i = 0; i < count; i++)
        squares += (x[i] - mean) * (x[i] - mean) / count;
    return squares;
}
/* <<tp datahunger: commands>> */
static tp_vit *pretrain_mae(const images *pool, tp_vit_config c)
{
    tp_vit *m = tp_vit_new(c);
    run r = {.pool = pool, .labelled = 0, .targets = pool->labels, .vit = m,
             .rng = tp_rng_seeded((uint64_t)hunger_seed, 20)};
    tp_vit_init(m, &r.rng);
    r.mae = tp_mae_new(m, 32, 4);
    tp_mae_init(r.mae, &r.rng);
    tp_params all = {0};
    for (int i = 0; i < m->params.count; i++)
        tp_params_add(&all, m->params.items[i].name, m->params.items[i].tensor);
    for (int i = 0; i < r.mae->params.count; i++)
        tp_params_add(&all, r.mae->params.items[i].name,
                      r.mae->params.items[i].tensor);
    train_model(&r, &all, mae_pool_loss, hunger_pretrain, 0.95f, FINE_RATE);
    /* <<datahunger: report the reconstruction error>> */
    {
        tp_arena *arena = tp_arena_new("reconstruction");
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_rng rng = tp_rng_seeded((uint64_t)hunger_seed, 21);
        int count = pool->count < 200 ? pool->count : 200;
        tp_tensor *loss = tp_mae_loss(&g, r.mae, pool->pixels, count, hunger_mask,
                                      &rng);
        printf("MAE: %d steps of masked image modelling (mask %.2f); "
               "reconstruction error on masked pixels %.4f; the pixels' variance "
               "%.4f\n", hunger_pretrain, (double)hunger_mask,
               (double)loss->data[0],
               pixel_variance(pool->pixels,
                              (long)count * pool->size * pool->size));
        tp_arena_free(arena);
    }
    tp_params_free(&all);
    tp_mae_free(r.mae);
    return m;
}
/* <<tp datahunger: commands>> */
static tp_vit *pretrain_source(const images *pool, tp_vit_config c)
{
    int *where = malloc((size_t)pool->count * sizeof *where);
    tp_check(where != NULL, "out of memory");
    for (int i = 0; i < pool->count; i++)
        where[i] = quadrant(pool->pixels + (long)i * pool->size * pool->size,
                            pool->size);
    c.n_classes = 4;
    tp_vit *m = tp_vit_new(c);
    run r = {.pool = pool, .labelled = pool->count, .targets = where,
             .vit = m, .rng = tp_rng_seeded((uint64_t)hunger_seed, 30)};
    tp_vit_init(m, &r.rng);
    train_model(&r, &m->params, vit_labelled_loss, hunger_source, 0.999f,
                VIT_RATE);
    images quadrants = *pool;
    quadrants.count = pool->count < 1000 ? pool->count : 1000;
    quadrants.labels = where, quadrants.classes = 4;
    printf("source task (the quadrant): %d steps on %d images; accuracy on "
           "the first %d of them %.1f%%\n", hunger_source, pool->count,
           quadrants.count, 100 * test_accuracy(m, NULL, NULL, &quadrants, NULL));
    free(where);
    return m;
}
/* <<tp datahunger: commands>> */
static void one_budget(const images *pool, const images *test,
                       const pretrained *p, int labelled, int seed,
                       double *accuracy)
{
    run r = {.pool = pool, .labelled = labelled, .targets = pool->labels,
             .rng = tp_rng_seeded((uint64_t)seed, 40 + (uint64_t)labelled)};
    tp_vit *scratch = tp_vit_new(p->config);
    tp_vit_init(scratch, &r.rng);
    tp_vit *mae = copy_vit(p->mae_encoder, pool->classes, (uint64_t)seed);
    tp_vit *probe = copy_vit(p->source, pool->classes, (uint64_t)seed);
    tp_vit *full = copy_vit(p->source, pool->classes, (uint64_t)seed);
    tp_vit *models[4] = {scratch, mae, probe, full};
    for (int m = 0; m < 4; m++) {
        r.vit = models[m];
        tp_params head = {0};
        tp_params_add(&head, "head.weight", probe->head_w);
        tp_params_add(&head, "head.bias", probe->head_b);
        train_model(&r, m == 2 ? &head : &models[m]->params, vit_labelled_loss,
                    hunger_steps, 0.999f, m % 2 == 1 ? FINE_RATE : VIT_RATE);
        tp_params_free(&head);
        accuracy[m] = test_accuracy(models[m], NULL, NULL, test, NULL);
    }
    /* <<datahunger: the student learns from the teacher>> */
    int *teacher = malloc((size_t)pool->count * sizeof *teacher);
    tp_check(teacher != NULL, "out of memory");
    r.cnn = tp_cnn_new((tp_cnn_config){pool->size, 8, 3, pool->classes});
    tp_cnn_init(r.cnn, &r.rng);
    train_model(&r, &r.cnn->params, cnn_labelled_loss, hunger_steps, 0.999f,
                CNN_RATE);
    accuracy[5] = test_accuracy(NULL, NULL, r.cnn, test, NULL);
    test_accuracy(NULL, NULL, r.cnn, pool, teacher);
    r.teacher = teacher, r.vit = NULL;
    r.deit = tp_deit_new(p->config);
    tp_deit_init(r.deit, &r.rng);
    train_model(&r, &r.deit->params, deit_pool_loss, hunger_steps, 0.999f,
                VIT_RATE);
    accuracy[4] = test_accuracy(NULL, r.deit, NULL, test, NULL);
    tp_deit_free(r.deit);
    tp_cnn_free(r.cnn);
    free(teacher);
    for (int m = 0; m < 4; m++)
        tp_vit_free(models[m]);
}
/* <<tp datahunger: commands>> */
static int parse_budgets(const char *list, int *budgets, int most,
                         int pool)
{
    int count = 0;
    const char *p = list;
    char *end;
    while (*p != '\0') {
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > pool || count == most
            || (*end != ',' && *end != '\0'))
            return -1;
        budgets[count++] = (int)v;
        p = *end == ',' ? end + 1 : end;
    }
    return count;
}
/* <<tp datahunger: commands>> */
static int hunger_check(void)
{
    if (!(hunger_mask > 0.0f && hunger_mask < 1.0f)) {
        fprintf(stderr, "tp datahunger compare: --mask %g is not strictly "
                "between 0 and 1\n", (double)hunger_mask);
        return 1;
    }
    if (hunger_width % hunger_heads != 0) {
        fprintf(stderr, "tp datahunger compare: --heads %d does not divide "
                "--width %d\n", hunger_heads, hunger_width);
        return 1;
    }
    if (hunger_tsv != NULL && check_output("datahunger compare", hunger_tsv))
        return 1;
    return 0;
}
/* <<tp datahunger: commands>> */
static bool leaves_both(int patches)
{
    int masked = (int)lroundf(hunger_mask * (float)patches);
    return masked >= 1 && masked < patches;
}

static int datahunger_run(images *pool, images *test, FILE *tsv);

static int datahunger_compare(void)
{
    if (hunger_check() != 0)
        return 1;
    images pool, test;
    tp_error error;
    if (load_images(&pool, &test, &error) != 0) {
        fprintf(stderr, "tp datahunger compare: %s\n", error.message);
        return 1;
    }
    int status = 1;
    if (pool.size % 4 != 0)
        fprintf(stderr, "tp datahunger compare: images of %d pixels are not "
                "whole patches of 4\n", pool.size);
    else if (!leaves_both(tp_patch_count(pool.size, 4)))
        fprintf(stderr, "tp datahunger compare: --mask %g leaves no patch "
                "visible, or none masked\n", (double)hunger_mask);
    else {
        FILE *tsv = hunger_tsv != NULL ? fopen(hunger_tsv, "w") : NULL;
        status = datahunger_run(&pool, &test, tsv);
        if (tsv != NULL && fclose(tsv) != 0) {
            fprintf(stderr, "tp datahunger compare: cannot write %s\n",
                    hunger_tsv);
            status = 1;
        }
    }
    tp_image_set_free(&pool), tp_image_set_free(&test);
    return status;
}
/* <<tp datahunger: commands>> */
static void describe_run(FILE *out, const images *pool)
{
    tp_describe_machine(out);
    fprintf(out, "# written by: tp datahunger compare\n"
            "# %s: %d images of %dx%d to learn from, patches of 4; ViT of %d "
            "blocks, width %d, %d heads; %d steps per model, %d of MAE, %d "
            "on the source task; batch %d; mask %.2f\n",
            hunger_data, pool->count, pool->size, pool->size, hunger_layers,
            hunger_width, hunger_heads, hunger_steps, hunger_pretrain,
            hunger_source, hunger_batch, (double)hunger_mask);
}

static int datahunger_run(images *pool, images *test, FILE *tsv)
{
    int budgets[16];
    int count = parse_budgets(hunger_labels, budgets, 16, pool->count);
    if (count <= 0) {
        fprintf(stderr, "tp datahunger compare: --labels %s is not a list of "
                "1 to 16 budgets from 1 to %d\n", hunger_labels, pool->count);
        return 1;
    }
    describe_run(stdout, pool);
    if (tsv != NULL) {
        describe_run(tsv, pool);
        fprintf(tsv, "method\tlabels\tseed\taccuracy\n");
    }
    pretrained p = {.config = {pool->size, 4, pool->classes, hunger_layers,
                               hunger_heads, hunger_width}};
    p.mae_encoder = pretrain_mae(pool, p.config);
    p.source = pretrain_source(pool, p.config);
    /* <<datahunger: every budget and seed>> */
    for (int b = 0; b < count; b++)
        for (int s = 0; s < hunger_seeds; s++) {
            double accuracy[METHODS];
            int seed = hunger_seed + s;
            one_budget(pool, test, &p, budgets[b], seed, accuracy);
            printf("%5d labels, seed %d:", budgets[b], seed);
            for (int m = 0; m < METHODS; m++) {
                printf("  %s %.1f%%", method_names[m], 100 * accuracy[m]);
                if (tsv != NULL)
                    fprintf(tsv, "%s\t%d\t%d\t%.4f\n", method_names[m],
                            budgets[b], seed, accuracy[m]);
            }
            printf("\n");
            fflush(stdout);
        }
    tp_vit_free(p.mae_encoder), tp_vit_free(p.source);
    return 0;
}

/* <<tp datahunger: figures>> */
static int method_curve(const table *t, const char *method, double *x,
                        double *y)
{
    int points = 0;
    for (int r = 0; r < t->rows; r++) {
        if (strcmp(t->label[r], method) != 0)
            continue;
        int at = 0;
        while (at < points && x[at] != t->value[r][0])
            at++;
        if (at == points && points < 16)
            x[points] = t->value[r][0], y[points] = 0, y[16 + points] = 0,
            points++;
        if (at < points)
            y[at] += t->value[r][2], y[16 + at] += 1;
    }
    for (int i = 0; i < points; i++)
        y[i] = 100 * y[i] / y[16 + i];
    return points;
}
/* <<tp datahunger: figures>> */
static double most_labels(const table *t)
{
    double most = 10;
    for (int r = 0; r < t->rows; r++)
        most = fmax(most, t->value[r][0]);
    return most;
}

static void hunger_curves(tp_plot *p, const table *t, bool legend)
{
    tp_plot_frame(p);
    tp_legend_entry entries[6];
    static const char *const names[6] = {
        "scratch", "MAE", "probe", "transfer", "DeiT", "CNN"};
    static const char *const shown[6] = {
        "ViT from scratch", "MAE, fine-tuned", "transfer, linear probe",
        "transfer, fine-tuned", "DeiT, distilled", "CNN (the teacher)"};
    for (int m = 0; m < 6; m++) {
        double x[16], y[32];
        int points = method_curve(t, names[m], x, y);
        bool dashed = m == 2 || m == 5;
        tp_plot_line(p, x, y, points, tp_category(m), dashed, true);
        entries[m] = (tp_legend_entry){shown[m], tp_category(m), dashed};
    }
    if (legend)
        tp_plot_legend(p, entries, 6, TP_BOTTOM_RIGHT);
}
/* <<tp datahunger: figures>> */
static int draw_datahunger_curves(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/datahunger.tsv", t, error);
    if (status == 0) {
        tp_plot p = {d, 46, 12, 360, 170,
                     {.lo = 50, .hi = most_labels(t) * 1.5, .log = true,
                      .label = "labelled images"},
                     {.lo = 0, .hi = 100, .label = "test accuracy (%)"}};
        hunger_curves(&p, t, true);
    }
    free(t);
    return status;
}
/* <<tp datahunger: figures>> */
static void card_hunger_problem(tp_draw *d, tp_rect problem, const table *t)
{
    tp_plot p = {d, problem.x + 30, problem.y + 30, 200, 110,
                 {.lo = 50, .hi = most_labels(t) * 1.5, .log = true},
                 {.lo = 0, .hi = 100}};
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, problem.x + 130, problem.y + 18, 0.5, 0.0, 7,
            "test accuracy (%) against labelled images");
    hunger_curves(&p, t, false);
    static const char *const names[6] = {
        "scratch", "MAE", "probe", "transfer", "DeiT", "CNN"};
    double x[16], y[32];
    for (int m = 0; m < 6; m++) {
        int points = method_curve(t, names[m], x, y);
        char line[64];
        snprintf(line, sizeof line, "%s at %.0f labels: %.1f%%", names[m],
                 points > 0 ? x[0] : NAN, points > 0 ? y[0] : NAN);
        tp_set_color(d->cr, tp_category(m));
        tp_text(d, problem.x + 12 + 118 * (m / 3),
                problem.y + 168 + 12 * (m % 3), 0.0, 0.0, 7, line);
    }
}
/* <<tp datahunger: figures>> */
static int draw_card_datahunger(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/datahunger.tsv", t, error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>06. Data hunger</b>",
                "A Transformer has no built-in locality: it needs labels",
                "Data: tp datahunger compare (make measure-datahunger)",
                &problem, &solutions);
        card_hunger_problem(d, problem, t);
        static const char *const rows[][3] = {
            {"Pre-training (BERT)", "learn from unlabelled text first",
             "Chapter: BERT"},
            {"Masked image modelling", "MAE: rebuild 75% hidden patches",
             "this chapter"},
            {"Transfer learning", "start from another task's model",
             "this chapter"},
            {"Knowledge distillation", "DeiT: a token taught by a teacher",
             "this chapter"},
        };
        card_solutions(d, &solutions, rows, 4);
    }
    free(t);
    return status;
}

static const command datahunger_commands[] = {
    /* <<tp datahunger: command table>> */
    {"datahunger compare", "accuracy against labelled images: a ViT from "
     "scratch, after masked image modelling, after transfer, and distilled",
     datahunger_options, datahunger_compare, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure datahunger_figures[] = {
    /* <<tp datahunger: figure table>> */
    {"datahunger-curves", "test accuracy against labelled images: from "
     "scratch, after MAE, after transfer, distilled", 420, 215,
     draw_datahunger_curves},
    /* <<tp datahunger: figure table>> */
    {"card-datahunger", "the card of data hunger", 440, 320,
     draw_card_datahunger},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part datahunger_part = {datahunger_commands, datahunger_figures};
