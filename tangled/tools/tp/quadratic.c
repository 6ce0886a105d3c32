/* Generated from book/305-quadratic.nw; edit the book, not this file. */
#include "program.h"

/* <<tp quadratic: commands>> */
static int scaling_threads = 0, scaling_max = 16384;
static const char *scaling_tsv = NULL;

static const option bench_attention_options[] = {
    {"--threads", OPTION_INT, &scaling_threads, 1, 1024,
     "threads (default: all cores)"},
    {"--max", OPTION_INT, &scaling_max, 256, 65536,
     "the longest sequence; lengths double from 256 (default: 16384)"},
    {"--tsv", OPTION_STRING, &scaling_tsv, 0, 0,
     "also write the results as a table, for the figures"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp quadratic: commands>> */
enum { NAIVE, TILED, LINEAR, METHODS };
static const char *const method_names[METHODS] = {"naive", "tiled", "linear"};

static tp_tensor *attention_by(int method, tp_graph *g, tp_tensor *q,
                               tp_tensor *k, tp_tensor *v)
{
    return method == NAIVE   ? tp_attention(g, q, k, v, NULL)
           : method == TILED ? tp_attention_tiled(g, q, k, v, NULL)
                             : tp_linear_attention(g, q, k, v);
}
/* <<tp quadratic: commands>> */
typedef struct scaling_case {
    int method;
    bool training;
    tp_tensor *q, *k, *v, *seed;
    tp_arena *step;
} scaling_case;

static void scaling_step(void *context)
{
    scaling_case *c = context;
    tp_arena_reset(c->step);
    tp_graph g = tp_graph_on(c->step);
    tp_set_grad(&g, c->training);
    tp_tensor *out = attention_by(c->method, &g, c->q, c->k, c->v);
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
    int n = c->q->shape.dim[2], runs = n <= 1024 ? 10 : n <= 4096 ? 3 : 1;
    return (scaling_result){tp_time(scaling_step, c, runs).median * 1e3, mib};
}
/* <<tp quadratic: commands>> */
enum { MAX_LENGTHS = 16 };

typedef struct scaling_row {
    int n;
    scaling_result forward, training;
} scaling_row;

static int measure_all(scaling_row rows[][METHODS], tp_arena *inputs)
{
    tp_rng rng = tp_rng_seeded(3, 3);
    int lengths = 0;
    for (int n = 256; n <= scaling_max && lengths < MAX_LENGTHS; n *= 2) {
        scaling_case c = {.step = tp_arena_new("attention step")};
        tp_arena_reset(inputs);
        c.q = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_WITH_GRAD, &rng);
        c.k = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_WITH_GRAD, &rng);
        c.v = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_WITH_GRAD, &rng);
        c.seed = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_NO_GRAD, &rng);
        /* <<bench attention: measure every method at this length>> */
        for (c.method = 0; c.method < METHODS; c.method++) {
            scaling_row *r = &rows[lengths][c.method];
            r->n = n;
            c.training = false, r->forward = measure_scaling(&c);
            c.training = true, r->training = measure_scaling(&c);
            printf("%6d  %-7s %11.2f %9.1f %13.2f %9.1f\n", n,
                   method_names[c.method], r->forward.ms, r->forward.mib,
                   r->training.ms, r->training.mib);
            fflush(stdout);
        }
        tp_arena_free(c.step);
        lengths++;
    }
    return lengths;
}
/* <<tp quadratic: commands>> */
static double exponent_of(scaling_row rows[][METHODS], int lengths, int method,
                          bool memory)
{
    double x[MAX_LENGTHS], y[MAX_LENGTHS], coefficient;
    int n = 0;
    for (int i = 0; i < lengths; i++)
        if (rows[i][method].n >= 1024) {
            x[n] = rows[i][method].n;
            y[n++] = memory ? rows[i][method].training.mib
                            : rows[i][method].training.ms;
        }
    return n >= 2 ? tp_power_fit(x, y, n, &coefficient) : NAN;
}
/* <<tp quadratic: commands>> */
static void print_scaling_summary(scaling_row rows[][METHODS], int lengths)
{
    printf("# training step, fitted over N >= 1024: time ~ N^a, memory ~ N^b\n");
    for (int m = 0; m < METHODS; m++)
        printf("#   %-7s a = %.2f   b = %.2f\n", method_names[m],
               exponent_of(rows, lengths, m, false),
               exponent_of(rows, lengths, m, true));
    printf("# tiled / naive:      N   forward time   training time   "
           "training memory\n");
    for (int i = 0; i < lengths; i++) {
        const scaling_row *naive = &rows[i][NAIVE], *tiled = &rows[i][TILED];
        printf("#               %6d %13.2f %15.2f %14.1fx less\n", naive->n,
               tiled->forward.ms / naive->forward.ms,
               tiled->training.ms / naive->training.ms,
               naive->training.mib / tiled->training.mib);
    }
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
static void print_errors(tp_arena *arena)
{
    tp_rng rng = tp_rng_seeded(4, 4);
    tp_shape shape = tp_shape4(1, 1, 1024, 64);
    tp_tensor *q = tp_tensor_normal(arena, shape, TP_NO_GRAD, &rng);
    tp_tensor *k = tp_tensor_normal(arena, shape, TP_NO_GRAD, &rng);
    tp_tensor *v = tp_tensor_normal(arena, shape, TP_NO_GRAD, &rng);
    tp_graph g = tp_graph_on(arena);
    tp_tensor *exact = tp_attention(&g, q, k, v, NULL);
    printf("# error against exact attention at N = 1024 (relative, all outputs)\n");
    printf("#   tiled            %.1e\n", relative_error(
               tp_attention_tiled(&g, q, k, v, NULL), exact));
    printf("#   linear (ReLU)    %.3f\n", relative_error(
               tp_linear_attention(&g, q, k, v), exact));
    /* <<bench attention: the Linformer's error at several ranks>> */
    for (int r = 16; r <= 1024; r *= 4) {
        float deviation = 1.0f / sqrtf((float)r);
        tp_shape projection = tp_shape2(1024, r);
        tp_tensor *e = tp_scale(&g, tp_tensor_normal(arena, projection, TP_NO_GRAD,
                                                     &rng), deviation);
        tp_tensor *f = tp_scale(&g, tp_tensor_normal(arena, projection, TP_NO_GRAD,
                                                     &rng), deviation);
        printf("#   Linformer r=%-4d %.3f\n", r,
               relative_error(tp_linformer(&g, q, k, v, e, f), exact));
    }
}
/* <<tp quadratic: commands>> */
static int write_scaling_table(scaling_row rows[][METHODS], int lengths)
{
    FILE *f = fopen(scaling_tsv, "w");
    if (f == NULL) {
        perror(scaling_tsv);
        return 1;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp bench attention --tsv %s\n", scaling_tsv);
    fprintf(f, "method\tn\tforward_ms\tforward_mib\ttraining_ms\ttraining_mib\n");
    for (int i = 0; i < lengths; i++)
        for (int m = 0; m < METHODS; m++) {
            const scaling_row *r = &rows[i][m];
            fprintf(f, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\n", method_names[m], r->n,
                    r->forward.ms, r->forward.mib, r->training.ms,
                    r->training.mib);
        }
    return fclose(f) == 0 ? 0 : 1;
}
/* <<tp quadratic: commands>> */
static int bench_attention(void)
{
    if (scaling_threads > 0)
        tp_set_threads(scaling_threads);
    tp_describe_machine(stdout);
    printf("# one head of width 64; milliseconds (median) and MiB (peak)\n");
    printf("%6s  %-7s %11s %9s %13s %9s\n", "N", "method", "forward ms",
           "MiB", "training ms", "MiB");
    static scaling_row rows[MAX_LENGTHS][METHODS];
    tp_arena *inputs = tp_arena_new("attention inputs");
    int lengths = measure_all(rows, inputs);
    print_scaling_summary(rows, lengths);
    tp_arena_reset(inputs);
    print_errors(inputs);
    tp_arena_free(inputs);
    return scaling_tsv ? write_scaling_table(rows, lengths) : 0;
}

/* <<tp quadratic: figures>> */
static const char *const scaling_methods[] = {"naive", "tiled", "linear"};

static int scaling_series(const table *t, int method, int column, double *x,
                          double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 16; r++)
        if (strcmp(t->label[r], scaling_methods[method]) == 0) {
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
enum { FORWARD_MS = 1, TRAINING_MS = 3, TRAINING_MIB = 4 };

static tp_color scaling_color(int method)
{
    return tp_category(method == 0 ? 5 : method == 1 ? 4 : 2);
}

static void scaling_panel(tp_plot *p, const table *t, int column,
                          bool legend_too)
{
    tp_plot_frame(p);
    tp_legend_entry legend[3];
    char text[3][64];
    for (int m = 0; m < 3; m++) {
        double x[16], y[16];
        int n = scaling_series(t, m, column, x, y);
        tp_plot_line(p, x, y, n, scaling_color(m), false, true);
        snprintf(text[m], sizeof text[m], "%s, slope %.2f", scaling_methods[m],
                 slope_from_1024(x, y, n));
        legend[m] = (tp_legend_entry){text[m], scaling_color(m), false};
    }
    if (legend_too)
        tp_plot_legend(p, legend, 3, TP_TOP_LEFT);
}
/* <<tp quadratic: figures>> */
static int draw_attention_scaling(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/attention-scaling.tsv", t, error);
    if (status == 0) {
        tp_axis n = {.lo = 256, .hi = 16384, .log = true,
                     .label = "sequence length N"};
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
        tp_text(d, px + 64, py + 22, 0.5, 0.0, 7, "N \xc3\x97 N weights of one head");
        head_map(d, maps, (3 * 4 + 2) * n, n, prompt, px + 18, py + 34, true);
        tp_axis length = {.lo = 256, .hi = 16384, .log = true};
        tp_plot time = {d, px + 142, py + 34, 94, 66, length,
                        {.lo = 0.1, .hi = 100000, .log = true}};
        tp_plot memory = {d, px + 142, py + 140, 94, 66, length,
                          {.lo = 0.1, .hi = 10000, .log = true}};
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 189, py + 22, 0.5, 0.0, 7, "training step (ms) against N");
        tp_text(d, px + 189, py + 128, 0.5, 0.0, 7, "peak memory (MiB) against N");
        scaling_panel(&time, scaling, TRAINING_MS, false);
        scaling_panel(&memory, scaling, TRAINING_MIB, false);
        /* <<quadratic card: the numbers of the longest run>> */
        double x[16], ms[16], mib[16];
        for (int m = 0; m < 3; m++) {
            int count = scaling_series(scaling, m, TRAINING_MS, x, ms);
            scaling_series(scaling, m, TRAINING_MIB, x, mib);
            char line[96];
            if (m == 0) {
                snprintf(line, sizeof line, "<b>one step, N = %.0f</b>", x[count - 1]);
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
            {"FlashAttention", "exact, O(N) memory: this chapter",
             "as a GPU kernel: Hardware inefficiency"},
            {"Linformer", "keys and values mixed down to r",
             "O(Nr): this chapter"},
            {"Performer", "random features instead of exp",
             "Part II; ReLU features: this chapter"},
            {"Sparse attention", "strided patterns, O(N\xe2\x88\x9aN)",
             "Part II, Sparse Transformer"},
            {"Longformer", "a window and global tokens, O(Nw)", "Part II, Longformer"},
            {"Transformer-XL", "segments and a cached memory",
             "Part II, Transformer-XL"},
        };
        for (int i = 0; i < 6; i++) {
            double y = solutions.y + 22 + 36 * i;
            char name[64];
            snprintf(name, sizeof name, "<b>%s</b>", solution[i][0]);
            cairo_set_source_rgb(d->cr, 0, 0, 0);
            tp_text(d, solutions.x + 8, y, 0.0, 0.0, 8, name);
            cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
            tp_text(d, solutions.x + 8, y + 11, 0.0, 0.0, 7, solution[i][1]);
            tp_text(d, solutions.x + 8, y + 20, 0.0, 0.0, 7, solution[i][2]);
        }
    }
    free(maps), free(scaling);
    return status;
}

static const command quadratic_commands[] = {
    /* <<tp quadratic: command table>> */
    {"bench attention", "time and memory of naive, tiled and linear attention",
     bench_attention_options, bench_attention, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure quadratic_figures[] = {
    /* <<tp quadratic: figure table>> */
    {"attention-scaling", "time and memory of one head's training step, "
     "naive, tiled and linear", 440, 210, draw_attention_scaling},
    /* <<tp quadratic: figure table>> */
    {"card-quadratic", "the card of quadratic complexity", 440, 320,
     draw_card_quadratic},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part quadratic_part = {quadratic_commands, quadratic_figures};
