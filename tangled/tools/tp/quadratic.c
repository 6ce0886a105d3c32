/* Generated from book/305-quadratic.nw; edit the book, not this file. */
#include "program.h"

/* <<tp quadratic: commands>> */
static int scaling_threads = 0, scaling_max = 16384, scaling_rank = 256;
static const char *scaling_tsv = NULL;

static const option bench_attention_options[] = {
    {"--threads", OPTION_INT, &scaling_threads, 1, 1024,
     "the most threads (default: all cores); also measured on one"},
    {"--max", OPTION_INT, &scaling_max, 256, 65536,
     "the longest sequence; lengths double from 256 (default: 16384)"},
    {"--rank", OPTION_INT, &scaling_rank, 1, 65536,
     "the Linformer's rank r (default: 256)"},
    {"--tsv", OPTION_STRING, &scaling_tsv, 0, 0,
     "also write the results as a table, for the figures"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp quadratic: commands>> */
enum { NAIVE, TILED, LINEAR, LINFORMER, METHODS };
static const char *const method_names[METHODS] = {"naive", "tiled", "linear",
                                                  "linformer"};

static tp_tensor *attention_by(int method, tp_graph *g, tp_tensor *const in[5])
{
    return method == NAIVE    ? tp_attention(g, in[0], in[1], in[2], NULL)
           : method == TILED  ? tp_attention_tiled(g, in[0], in[1], in[2], NULL)
           : method == LINEAR ? tp_linear_attention(g, in[0], in[1], in[2], NULL)
                              : tp_linformer(g, in[0], in[1], in[2], in[3], in[4]);
}
/* <<tp quadratic: commands>> */
static tp_tensor *jl_projection(tp_arena *arena, int t, int r, tp_rng *rng,
                                tp_grad_mode grad)
{
    tp_tensor *e = tp_tensor_normal(arena, tp_shape2(t, r), grad, rng);
    float deviation = 1.0f / sqrtf((float)r);
    for (long i = 0, n = tp_tensor_count(e); i < n; i++)
        e->data[i] *= deviation;
    return e;
}
/* <<tp quadratic: commands>> */
typedef struct scaling_case {
    int method;
    bool training;
    tp_tensor *in[5], *seed;  /* q, k, v, and the Linformer's e and f */
    tp_arena *step;
} scaling_case;

static void scaling_step(void *context)
{
    scaling_case *c = context;
    tp_arena_reset(c->step);
    tp_graph g = tp_graph_on(c->step);
    tp_set_grad(&g, c->training);
    tp_tensor *out = attention_by(c->method, &g, c->in);
    if (c->training)
        tp_backward_from(&g, out, c->seed);
}
/* <<tp quadratic: commands>> */
typedef struct scaling_result {
    double ms, mib;
} scaling_result;

static scaling_result measure_scaling(scaling_case *c)
{
    tp_arena_reset(c->step);
    tp_arena_reset_peak(c->step);
    scaling_step(c);
    double mib = (double)tp_arena_peak(c->step) / (1 << 20);
    int n = c->in[0]->shape.dim[2], runs = n <= 1024 ? 10 : n <= 4096 ? 3 : 1;
    return (scaling_result){tp_time(scaling_step, c, runs).median * 1e3, mib};
}
/* <<tp quadratic: commands>> */
enum { MAX_LENGTHS = 16, SETTINGS = 2 };

typedef struct scaling_row {
    int n, threads;
    scaling_result forward, training;
} scaling_row;

typedef scaling_row scaling_rows[SETTINGS][METHODS];

static int measure_all(scaling_rows rows[], const int threads[SETTINGS],
                       tp_arena *inputs)
{
    tp_rng rng = tp_rng_seeded(3, 3);
    int lengths = 0;
    for (int n = 256; n <= scaling_max && lengths < MAX_LENGTHS; n *= 2) {
        scaling_case c = {.step = tp_arena_new("attention step")};
        tp_arena_reset(inputs);
        for (int i = 0; i < 3; i++)
            c.in[i] = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64),
                                       TP_WITH_GRAD, &rng);
        c.in[3] = jl_projection(inputs, n, scaling_rank, &rng, TP_WITH_GRAD);
        c.in[4] = jl_projection(inputs, n, scaling_rank, &rng, TP_WITH_GRAD);
        c.seed = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_NO_GRAD, &rng);
        /* <<bench attention: measure every method at this length>> */
        for (int t = 0; t < SETTINGS; t++) {
            tp_set_threads(threads[t]);
            for (c.method = 0; c.method < METHODS; c.method++) {
                scaling_row *r = &rows[lengths][t][c.method];
                r->n = n, r->threads = threads[t];
                c.training = false, r->forward = measure_scaling(&c);
                c.training = true, r->training = measure_scaling(&c);
                printf("%6d %3d  %-9s %11.2f %9.1f %13.2f %9.1f\n", n, threads[t],
                       method_names[c.method], r->forward.ms, r->forward.mib,
                       r->training.ms, r->training.mib);
                fflush(stdout);
            }
        }
        tp_set_threads(threads[SETTINGS - 1]);
        tp_arena_free(c.step);
        lengths++;
    }
    return lengths;
}
/* <<tp quadratic: commands>> */
static double exponent_of(scaling_rows rows[], int lengths, int setting,
                          int method, bool memory)
{
    double x[MAX_LENGTHS], y[MAX_LENGTHS], coefficient;
    int n = 0;
    for (int i = 0; i < lengths; i++) {
        const scaling_row *r = &rows[i][setting][method];
        if (r->n >= 1024) {
            x[n] = r->n;
            y[n++] = memory ? r->training.mib : r->training.ms;
        }
    }
    return n >= 2 ? tp_power_fit(x, y, n, &coefficient) : NAN;
}
/* <<tp quadratic: commands>> */
static void print_scaling_summary(scaling_rows rows[], int lengths,
                                  const int threads[SETTINGS])
{
    printf("# training step, fitted over T >= 1024: time ~ T^a, memory ~ T^b\n");
    for (int t = 0; t < SETTINGS; t++)
        for (int m = 0; m < METHODS; m++)
            printf("#   %-9s %2d thread(s)  a = %.2f   b = %.2f\n",
                   method_names[m], threads[t],
                   exponent_of(rows, lengths, t, m, false),
                   exponent_of(rows, lengths, t, m, true));
    printf("# tiled / naive, training time:     T   %d thread(s)  %d thread(s)"
           "   naive memory x\n", threads[0], threads[1]);
    for (int i = 0; i < lengths; i++)
        printf("#                              %6d %12.2f %12.2f %12.2f\n",
               rows[i][0][NAIVE].n,
               rows[i][0][TILED].training.ms / rows[i][0][NAIVE].training.ms,
               rows[i][1][TILED].training.ms / rows[i][1][NAIVE].training.ms,
               i == 0 ? NAN : rows[i][0][NAIVE].training.mib
                                  / rows[i - 1][0][NAIVE].training.mib);
}
/* <<tp quadratic: commands>> */
static double relative_error(const tp_tensor *a, const tp_tensor *exact)
{
    double diff = 0.0, norm = 0.0;
    for (long i = 0, n = tp_tensor_count(exact); i < n; i++) {
        diff += pow((double)a->data[i] - exact->data[i], 2);
        norm += pow((double)exact->data[i], 2);
    }
    return sqrt(diff / norm);
}
/* <<tp quadratic: commands>> */
static double norm_of(const float *x, long n)
{
    double total = 0.0;
    for (long i = 0; i < n; i++)
        total += (double)x[i] * x[i];
    return sqrt(total);
}

static double theorem_error(const tp_tensor *a, const tp_tensor *exact,
                            const tp_tensor *p, const tp_tensor *v)
{
    int t = exact->shape.dim[2], dv = exact->shape.dim[3];
    double v_norm = norm_of(v->data, tp_tensor_count(v)), total = 0.0;
    for (int i = 0; i < t; i++) {
        double diff = 0.0;
        for (int e = 0; e < dv; e++)
            diff += pow((double)a->data[i * dv + e] - exact->data[i * dv + e], 2);
        total += sqrt(diff) / (norm_of(p->data + (long)i * t, t) * v_norm);
    }
    return total / t;
}
/* <<tp quadratic: commands>> */
static void print_errors(tp_arena *arena)
{
    tp_rng rng = tp_rng_seeded(4, 4);
    tp_shape shape = tp_shape4(1, 1, 1024, 64);
    tp_tensor *q = tp_tensor_normal(arena, shape, TP_NO_GRAD, &rng);
    tp_tensor *k = tp_tensor_normal(arena, shape, TP_NO_GRAD, &rng);
    tp_tensor *v = tp_tensor_normal(arena, shape, TP_NO_GRAD, &rng);
    tp_graph g = tp_graph_on(arena);
    tp_tensor *p;
    tp_tensor *exact = tp_attention(&g, q, k, v,
                                    &(tp_attention_options){.weights = &p});
    printf("# error against exact attention at T = 1024 (relative, all outputs)\n");
    printf("#   tiled                %.1e\n", relative_error(
               tp_attention_tiled(&g, q, k, v, NULL), exact));
    printf("#   linear (elu+1)       %.3f\n", relative_error(
               tp_linear_attention(&g, q, k, v, NULL), exact));
    printf("#   linear (ReLU)        %.3f\n", relative_error(
               tp_linear_attention_relu(&g, q, k, v, NULL), exact));
    /* <<bench attention: the Linformer's error at several ranks>> */
    printf("#   Linformer     r   relative   Theorem 2's measure\n");
    for (int r = 16; r <= 1024; r *= 4) {
        tp_tensor *e = jl_projection(arena, 1024, r, &rng, TP_NO_GRAD);
        tp_tensor *f = jl_projection(arena, 1024, r, &rng, TP_NO_GRAD);
        tp_tensor *o = tp_linformer(&g, q, k, v, e, f);
        printf("#   Linformer %5d %10.3f %12.3f\n", r, relative_error(o, exact),
               theorem_error(o, exact, p, v));
    }
}
/* <<tp quadratic: commands>> */
static int write_scaling_table(scaling_rows rows[], int lengths)
{
    FILE *f = fopen(scaling_tsv, "w");
    if (f == NULL) {
        perror(scaling_tsv);
        return 1;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp bench attention --tsv %s\n", scaling_tsv);
    fprintf(f, "method\tn\tthreads\tforward_ms\tforward_mib\ttraining_ms\t"
            "training_mib\n");
    for (int i = 0; i < lengths; i++)
        for (int t = 0; t < SETTINGS; t++)
            for (int m = 0; m < METHODS; m++) {
                const scaling_row *r = &rows[i][t][m];
                fprintf(f, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\n",
                        method_names[m], r->n, r->threads, r->forward.ms,
                        r->forward.mib, r->training.ms, r->training.mib);
            }
    return fclose(f) == 0 ? 0 : 1;
}
/* <<tp quadratic: commands>> */
static int bench_attention(void)
{
    if (scaling_threads > 0)
        tp_set_threads(scaling_threads);
    int threads[SETTINGS] = {1, tp_threads()};
    tp_describe_machine(stdout);
    printf("# one head of width 64; milliseconds (median) and MiB (peak)\n");
    printf("%6s %3s  %-9s %11s %9s %13s %9s\n", "T", "thr", "method",
           "forward ms", "MiB", "training ms", "MiB");
    static scaling_rows rows[MAX_LENGTHS];
    tp_arena *inputs = tp_arena_new("attention inputs");
    int lengths = measure_all(rows, threads, inputs);
    print_scaling_summary(rows, lengths, threads);
    tp_arena_reset(inputs);
    print_errors(inputs);
    tp_arena_free(inputs);
    return scaling_tsv ? write_scaling_table(rows, lengths) : 0;
}
/* <<tp quadratic: commands>> */
static int quadratic_steps = 60, quadratic_context = 1024,
           quadratic_batch = 2, quadratic_width = 64, quadratic_layers = 2,
           quadratic_heads = 4, quadratic_eval = 15, quadratic_threads = 0;
static const char *quadratic_tsv = NULL;

static const option quadratic_compare_options[] = {
    {"--steps", OPTION_INT, &quadratic_steps, 1, 1000000, "training steps"},
    {"--context", OPTION_INT, &quadratic_context, 8, 65536,
     "tokens per sequence T"},
    {"--batch", OPTION_INT, &quadratic_batch, 1, 4096, "sequences per step"},
    {"--width", OPTION_INT, &quadratic_width, 4, 65536, "the model width C"},
    {"--layers", OPTION_INT, &quadratic_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &quadratic_heads, 1, 256, "attention heads"},
    {"--eval-every", OPTION_INT, &quadratic_eval, 1, 1000000,
     "steps between validation losses"},
    {"--threads", OPTION_INT, &quadratic_threads, 1, 1024,
     "threads (default: all cores)"},
    {"--tsv", OPTION_STRING, &quadratic_tsv, 0, 0,
     "also write the curves as a table, for the figure"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp quadratic: commands>> */
enum { QUADRATIC_METHODS = 3 };
static const char *const quadratic_names[QUADRATIC_METHODS] = {
    "exact", "tiled", "linear"};
static tp_attention_op *const quadratic_ops[QUADRATIC_METHODS] = {
    NULL, tp_attention_tiled, tp_linear_attention};

typedef struct quadratic_run {
    gpt_windows w;
    int method;
    double evaluating;  /* seconds spent on validation so far */
    FILE *tsv;
} quadratic_run;
/* <<tp quadratic: commands>> */
static bool quadratic_progress(const tp_progress *p, void *context)
{
    quadratic_run *r = context;
    if ((p->step + 1) % quadratic_eval != 0 && p->step + 1 != p->steps)
        return true;
    double start = tp_seconds(), validation = gpt_windows_validation(&r->w, 2);
    double seconds = p->seconds - r->evaluating;
    r->evaluating += tp_seconds() - start;
    printf("%-7s step %4ld  train %.3f  validation %.3f  %7.1f s\n",
           quadratic_names[r->method], p->step + 1, (double)p->loss,
           validation, seconds);
    fflush(stdout);
    if (r->tsv != NULL)
        fprintf(r->tsv, "%s\t%ld\t%.4f\t%.4f\t%.2f\n",
                quadratic_names[r->method], p->step + 1, (double)p->loss,
                validation, seconds);
    return true;
}
/* <<tp quadratic: commands>> */
static double quadratic_train(quadratic_run *r, tp_error *error)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){256, quadratic_context,
                                           quadratic_layers, quadratic_heads,
                                           quadratic_width,
                                           TP_POSITIONS_LEARNED});
    m->attention = quadratic_ops[r->method];
    tp_rng init = tp_rng_seeded(1, 1);
    tp_gpt_init(m, &init);
    r->w.m = m;
    r->w.rng = tp_rng_seeded(1, 2);
    r->evaluating = 0.0;
    tp_optimizer *opt = tp_adamw_new(&m->params, 0.95f, 0.1f);
    /* <<quadratic compare: train and measure the peak>> */
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = quadratic_steps, .warmup = quadratic_steps / 10,
                          .max_lr = 1e-3f, .min_lr = 1e-4f, .clip = 1.0,
                          .tokens_per_step = (long)quadratic_batch * quadratic_context,
                          .progress = quadratic_progress, .progress_context = r};
    int status = tp_train(&g, &m->params, opt, &o, gpt_windows_loss, &r->w, NULL,
                          error);
    double mib = status == 0 ? (double)tp_arena_peak(step) / (1 << 20) : -1.0;
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_gpt_free(m);
    return mib;
}
/* <<tp quadratic: commands>> */
static int quadratic_compare(void)
{
    if (quadratic_threads > 0)
        tp_set_threads(quadratic_threads);
    tp_corpus corpus = tp_corpus_book(), train, validation;
    tp_corpus_split(&corpus, &train, &validation);
    int *tokens = malloc((size_t)corpus.size * sizeof *tokens);
    int *inputs = malloc(2 * (size_t)quadratic_batch * quadratic_context
                         * sizeof *inputs);
    tp_check(tokens != NULL && inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, tokens);
    quadratic_run r = {.w = {.tokens = tokens, .train = train.size,
                             .total = corpus.size, .batch = quadratic_batch,
                             .context = quadratic_context, .inputs = inputs,
                             .targets = inputs
                                        + quadratic_batch * quadratic_context}};
    /* <<quadratic compare: open the table>> */
    tp_describe_machine(stdout);
    printf("# GPT: %d layers, width %d, %d heads; context %d, batch %d, %d steps\n",
           quadratic_layers, quadratic_width, quadratic_heads, quadratic_context,
           quadratic_batch, quadratic_steps);
    if (quadratic_tsv != NULL && (r.tsv = fopen(quadratic_tsv, "w")) != NULL) {
        tp_describe_machine(r.tsv);
        fprintf(r.tsv, "# written by: tp quadratic compare --threads %d --tsv %s\n"
                "# GPT: %d layers, width %d, %d heads; context %d, batch %d, %d "
                "steps\nmethod\tstep\ttrain_loss\tvalidation_loss\tseconds\n",
                tp_threads(), quadratic_tsv, quadratic_layers, quadratic_width,
                quadratic_heads, quadratic_context, quadratic_batch,
                quadratic_steps);
    }
    /* <<quadratic compare: run every method>> */
    int status = 0;
    double peak[QUADRATIC_METHODS];
    for (r.method = 0; r.method < QUADRATIC_METHODS && status == 0; r.method++) {
        tp_error error;
        peak[r.method] = quadratic_train(&r, &error);
        if (peak[r.method] < 0) {
            fprintf(stderr, "tp quadratic compare: %s\n", error.message);
            status = 1;
        }
    }
    for (int m = 0; m < QUADRATIC_METHODS && status == 0; m++) {
        printf("# peak %s %.1f MiB\n", quadratic_names[m], peak[m]);
        if (r.tsv != NULL)
            fprintf(r.tsv, "# peak %s %.1f MiB\n", quadratic_names[m], peak[m]);
    }
    if (r.tsv != NULL && fclose(r.tsv) != 0)
        status = 1;
    free(tokens), free(inputs);
    return status;
}

/* <<tp quadratic: figures>> */
enum { DIAGRAM_TILES = 8 };

static void diagram_tile(tp_draw *d, double x, double y, double size,
                         int row, int col, int owner)
{
    cairo_rectangle(d->cr, x + col * size + 1, y + row * size + 1, size - 2,
                    size - 2);
    if (col > row) {
        cairo_set_source_rgb(d->cr, 0.93, 0.93, 0.93);
        cairo_fill(d->cr);
        return;
    }
    tp_color c = tp_category(owner == 0 ? 1 : 4);
    cairo_set_source_rgba(d->cr, c.r, c.g, c.b, col == row ? 0.45 : 0.85);
    cairo_fill(d->cr);
}
/* <<tp quadratic: figures>> */
static void diagram_panel(tp_draw *d, double x, double y, double size,
                          bool by_rows, const char *title)
{
    for (int i = 0; i < DIAGRAM_TILES; i++)
        for (int j = 0; j < DIAGRAM_TILES; j++)
            diagram_tile(d, x, y, size, i, j,
                         (by_rows ? i : j) < DIAGRAM_TILES / 2 ? 0 : 1);
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x + DIAGRAM_TILES * size / 2, y - 16, 0.5, 0.0, 8, title);
    tp_text(d, x + DIAGRAM_TILES * size / 2, y + DIAGRAM_TILES * size + 3,
            0.5, 0.0, 7, "key tiles j\xe2\x82\x80 = 0, 64, \xe2\x80\xa6, 448");
    tp_text(d, x - 4, y + DIAGRAM_TILES * size / 2, 1.0, 0.5, 7,
            "query\ntiles i\xe2\x82\x80");
}
/* <<tp quadratic: figures>> */
static int draw_tiled_attention(tp_draw *d, tp_error *error)
{
    (void)error;
    double size = 16;
    diagram_panel(d, 56, 26, size, true,
                  "<b>forward</b>: a thread owns rows of query tiles");
    diagram_panel(d, 290, 26, size, false,
                  "<b>backward</b>: a part owns a column of key tiles");
    tp_legend_entry legend[3] = {
        {"thread 1", tp_category(1), false}, {"thread 2", tp_category(4), false},
        {"skipped (above the diagonal)", tp_rgb(0xdddddd), false}};
    for (int i = 0; i < 3; i++) {
        tp_set_color(d->cr, legend[i].color);
        cairo_rectangle(d->cr, 56 + 130 * i, 180, 10, 10);
        cairo_fill(d->cr);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, 70 + 130 * i, 180, 0.0, 0.0, 7, legend[i].label);
    }
    tp_text(d, 56, 196, 0.0, 0.0, 7, "pale: diagonal tiles, masked "
            "element by element; each part also adds into its own copy of "
            "dQ, summed in order at the end");
    return 0;
}
/* <<tp quadratic: figures>> */
static const char *const scaling_methods[] = {"naive", "tiled", "linear",
                                              "linformer"};
enum { SCALING_METHODS = 4 };

static int most_threads(const table *t)
{
    int most = 1;
    for (int r = 0; r < t->rows; r++)
        most = t->value[r][1] > most ? (int)t->value[r][1] : most;
    return most;
}

static int scaling_series(const table *t, int method, int threads, int column,
                          double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 16; r++)
        if (strcmp(t->label[r], scaling_methods[method]) == 0
            && (int)t->value[r][1] == threads) {
            x[n] = t->value[r][0];
            y[n++] = t->value[r][column];
        }
    return n;
}
/* <<tp quadratic: figures>> */
static double slope_from_1024(const double *x, const double *y, int n)
{
    int first = 0;
    while (first < n && x[first] < 1024)
        first++;
    double coefficient;
    return n - first >= 2 ? tp_power_fit(x + first, y + first, n - first,
                                         &coefficient)
                          : NAN;
}
/* <<tp quadratic: figures>> */
enum { FORWARD_MS = 2, TRAINING_MS = 4, TRAINING_MIB = 5 };

static tp_color scaling_color(int method)
{
    static const int category[SCALING_METHODS] = {5, 4, 2, 6};
    return tp_category(category[method]);
}

static void scaling_panel(tp_plot *p, const table *t, int column,
                          bool legend_too)
{
    tp_plot_frame(p);
    tp_legend_entry legend[SCALING_METHODS + 1];
    char text[SCALING_METHODS][64];
    int most = most_threads(t);
    for (int m = 0; m < SCALING_METHODS; m++) {
        double x[16], y[16];
        int n = scaling_series(t, m, 1, column, x, y);
        tp_plot_line(p, x, y, n, scaling_color(m), false, true);
        snprintf(text[m], sizeof text[m], "%s, slope %.2f", scaling_methods[m],
                 slope_from_1024(x, y, n));
        legend[m] = (tp_legend_entry){text[m], scaling_color(m), false};
        if (column != TRAINING_MIB && most > 1) {
            n = scaling_series(t, m, most, column, x, y);
            tp_plot_line(p, x, y, n, scaling_color(m), true, false);
        }
    }
    legend[SCALING_METHODS] = (tp_legend_entry){
        column == TRAINING_MIB ? "any number of threads"
                               : "dashed: all threads", tp_rgb(0x999999), true};
    if (legend_too)
        tp_plot_legend(p, legend, SCALING_METHODS + 1, TP_TOP_LEFT);
}
/* <<tp quadratic: figures>> */
static int draw_attention_scaling(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/attention-scaling.tsv", t, error);
    if (status == 0) {
        tp_axis n = {.lo = 256, .hi = 16384, .log = true,
                     .label = "sequence length T"};
        tp_plot time = {d, 46, 12, 160, 160, n,
                        {.lo = 0.1, .hi = 100000, .log = true,
                         .label = "training step (ms)"}};
        tp_plot memory = {d, 268, 12, 160, 160, n,
                          {.lo = 0.1, .hi = 10000, .log = true,
                           .label = "peak memory (MiB)"}};
        scaling_panel(&time, t, TRAINING_MS, true);
        scaling_panel(&memory, t, TRAINING_MIB, true);
    }
    free(t);
    return status;
}
/* <<tp quadratic: figures>> */
enum { QUADRATIC_FIGURE_METHODS = 3 };

static double quadratic_peak(const table *t, const char *method)
{
    char key[64];
    snprintf(key, sizeof key, " peak %s ", method);
    const char *at = strstr(t->comments, key);
    return at != NULL ? strtod(at + strlen(key), NULL) : NAN;
}

static int quadratic_curve(const table *t, const char *method, double *x,
                           double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 64; r++)
        if (strcmp(t->label[r], method) == 0) {
            x[n] = t->value[r][3];  /* seconds */
            y[n++] = t->value[r][2];  /* validation loss */
        }
    return n;
}
/* <<tp quadratic: figures>> */
static void quadratic_panels(tp_draw *d, const table *t, double x0, double y0,
                             double w, double h, bool legend_too)
{
    static const int colour[QUADRATIC_FIGURE_METHODS] = {5, 4, 2};
    static const char *const name[QUADRATIC_FIGURE_METHODS] = {
        "exact", "tiled", "linear"};
    double most = 1.0, peaks[QUADRATIC_FIGURE_METHODS], top = 1.0;
    for (int m = 0; m < QUADRATIC_FIGURE_METHODS; m++) {
        double x[64], y[64];
        int n = quadratic_curve(t, name[m], x, y);
        most = n > 0 && x[n - 1] > most ? x[n - 1] : most;
        peaks[m] = quadratic_peak(t, name[m]);
        top = peaks[m] > top ? peaks[m] : top;
    }
    /* <<quadratic figure: the loss against time>> */
    tp_plot loss = {d, x0, y0, w, h, {.lo = 0, .hi = most * 1.05,
                                      .label = "training time (s)"},
                    {.lo = 3.0, .hi = 5.0, .label = "validation loss"}};
    tp_plot_frame(&loss);
    tp_legend_entry legend[QUADRATIC_FIGURE_METHODS];
    for (int m = 0; m < QUADRATIC_FIGURE_METHODS; m++) {
        double x[64], y[64];
        int n = quadratic_curve(t, name[m], x, y);
        tp_plot_line(&loss, x, y, n, tp_category(colour[m]), false, true);
        legend[m] = (tp_legend_entry){name[m], tp_category(colour[m]), false};
    }
    if (legend_too)
        tp_plot_legend(&loss, legend, QUADRATIC_FIGURE_METHODS, TP_TOP_RIGHT);
    /* <<quadratic figure: the peak memory>> */
    tp_plot memory = {d, x0 + w + 70, y0, w * 0.6, h,
                      {.lo = -0.5, .hi = QUADRATIC_FIGURE_METHODS - 0.5,
                       .names = name},
                      {.lo = 0, .hi = top * 1.15, .label = "peak memory (MiB)"}};
    tp_plot_frame(&memory);
    for (int m = 0; m < QUADRATIC_FIGURE_METHODS; m++) {
        double bars[QUADRATIC_FIGURE_METHODS] = {0};
        char label[32];
        bars[m] = peaks[m];
        tp_plot_bars(&memory, bars, QUADRATIC_FIGURE_METHODS, tp_category(colour[m]));
        snprintf(label, sizeof label, "%.0f", peaks[m]);
        tp_set_color(d->cr, tp_category(colour[m]));
        tp_text(d, tp_plot_x(&memory, m), tp_plot_y(&memory, peaks[m]) - 9, 0.5,
                0.0, 7, label);
    }
}
/* <<tp quadratic: figures>> */
static int draw_quadratic_gpt(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/quadratic-gpt.tsv", t, error);
    if (status == 0)
        quadratic_panels(d, t, 46, 12, 200, 150, true);
    free(t);
    return status;
}
/* <<tp quadratic: figures>> */
static int draw_card_quadratic(tp_draw *d, tp_error *error)
{
    table *maps = calloc(1, sizeof *maps), *scaling = calloc(1, sizeof *scaling);
    tp_check(maps != NULL && scaling != NULL, "out of memory");
    int prompt[24], n;
    int status = read_attention_maps(maps, prompt, &n, error);
    if (status == 0)
        status = read_table("figures/data/attention-scaling.tsv", scaling,
                            error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>1. Quadratic complexity</b>",
                "Every query meets every key: twice the context, four times "
                "the work and the memory",
                "Data: tp bench attention (make measure-attention); the map, "
                "a trained GPT-T (make measure-gpt)", &problem, &solutions);
        /* <<quadratic card: the problem>> */
        double px = problem.x, py = problem.y;
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 64, py + 22, 0.5, 0.0, 7, "T \xc3\x97 T weights of one head");
        head_map(d, maps, (3 * 4 + 2) * n, n, prompt, px + 18, py + 34, true);
        tp_axis length = {.lo = 256, .hi = 16384, .log = true};
        tp_plot time = {d, px + 142, py + 34, 94, 66, length,
                        {.lo = 0.1, .hi = 100000, .log = true}};
        tp_plot memory = {d, px + 142, py + 140, 94, 66, length,
                          {.lo = 0.1, .hi = 10000, .log = true}};
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 189, py + 22, 0.5, 0.0, 7, "training step (ms) against T");
        tp_text(d, px + 189, py + 128, 0.5, 0.0, 7, "peak memory (MiB) against T");
        scaling_panel(&time, scaling, TRAINING_MS, false);
        scaling_panel(&memory, scaling, TRAINING_MIB, false);
        /* <<quadratic card: the numbers of the longest run>> */
        double x[16], ms[16], mib[16];
        for (int m = 0; m < SCALING_METHODS; m++) {
            int count = scaling_series(scaling, m, 1, TRAINING_MS, x, ms);
            scaling_series(scaling, m, 1, TRAINING_MIB, x, mib);
            char line[96];
            if (m == 0) {
                snprintf(line, sizeof line, "<b>one thread, T = %.0f</b>",
                         x[count - 1]);
                cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
                tp_text(d, px + 18, py + 156, 0.0, 0.0, 7, line);
            }
            snprintf(line, sizeof line, "%s  %.2f s  %.0f MiB", scaling_methods[m],
                     ms[count - 1] / 1e3, mib[count - 1]);
            tp_set_color(d->cr, scaling_color(m));
            tp_text(d, px + 18, py + 170 + 12 * m, 0.0, 0.0, 7, line);
        }
        /* <<quadratic card: the solutions>> */
        static const char *const solution[][3] = {
            {"FlashAttention", "exact, O(T) memory: this chapter",
             "as a GPU kernel: Hardware inefficiency"},
            {"Linear attention", "elu+1 features, a running state",
             "O(T d\xc2\xb2): this chapter"},
            {"Linformer", "keys and values mixed down to r",
             "O(Tr): this chapter"},
            {"Performer", "random features that approximate exp",
             "Part II, Performer"},
            {"Sparse attention", "strided patterns, O(T\xe2\x88\x9aT)",
             "Part II, Sparse Transformer"},
            {"Longformer", "a window and global tokens, O(Tw)", "Part II, Longformer"},
            {"Transformer-XL", "segments and a cached memory",
             "Part II, Transformer-XL"},
        };
        for (int i = 0; i < 7; i++) {
            double y = solutions.y + 20 + 31 * i;
            char name[64];
            snprintf(name, sizeof name, "<b>%s</b>", solution[i][0]);
            cairo_set_source_rgb(d->cr, 0, 0, 0);
            tp_text(d, solutions.x + 8, y, 0.0, 0.0, 8, name);
            cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
            tp_text(d, solutions.x + 8, y + 10, 0.0, 0.0, 7, solution[i][1]);
            tp_text(d, solutions.x + 8, y + 19, 0.0, 0.0, 7, solution[i][2]);
        }
    }
    free(maps), free(scaling);
    return status;
}

static const command quadratic_commands[] = {
    /* <<tp quadratic: command table>> */
    {"bench attention", "time and memory of naive, tiled, linear attention and "
     "Linformer, on one thread and all", bench_attention_options,
     bench_attention, NULL},
    /* <<tp quadratic: command table>> */
    {"quadratic compare", "train GPT with exact, tiled and linear attention at a "
     "long context: loss, time, memory", quadratic_compare_options,
     quadratic_compare, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure quadratic_figures[] = {
    /* <<tp quadratic: figure table>> */
    {"tiled-attention", "the tiles of a causal head and the threads that own "
     "them, forward and backward", 440, 212, draw_tiled_attention},
    /* <<tp quadratic: figure table>> */
    {"attention-scaling", "time and memory of one head's training step, "
     "naive, tiled, linear and Linformer", 440, 210, draw_attention_scaling},
    /* <<tp quadratic: figure table>> */
    {"quadratic-gpt", "GPT trained with exact, tiled and linear attention: "
     "validation loss against time, and peak memory", 440, 200,
     draw_quadratic_gpt},
    /* <<tp quadratic: figure table>> */
    {"card-quadratic", "the card of quadratic complexity", 440, 320,
     draw_card_quadratic},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part quadratic_part = {quadratic_commands, quadratic_figures};
