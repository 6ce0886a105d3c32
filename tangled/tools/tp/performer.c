/* Generated from book/256-performer.nw; edit the book, not this file. */
#include <string.h>

#include "program.h"

/* <<tp performer: commands>> */
static int performer_draws = 8, performer_max = 16384, performer_threads = 0,
           performer_m = 256;
static const char *performer_error_tsv = NULL, *performer_time_tsv = NULL;

static const option performer_compare_options[] = {
    {"--draws", OPTION_INT, &performer_draws, 1, 10000,
     "draws of the directions averaged at each m (default: 8)"},
    {"--max", OPTION_INT, &performer_max, 256, 65536,
     "the longest sequence timed; lengths double from 256 (default: 16384)"},
    {"--features", OPTION_INT, &performer_m, 1, 65536,
     "m, the features of the timed Performer (default: 256)"},
    {"--threads", OPTION_INT, &performer_threads, 1, 1024,
     "the most threads (default: all cores); also timed on one"},
    {"--error-tsv", OPTION_STRING, &performer_error_tsv, 0, 0,
     "write the errors as a table, for the figure"},
    {"--time-tsv", OPTION_STRING, &performer_time_tsv, 0, 0,
     "write the times as a table, for the figure"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp performer: commands>> */
static FILE *open_table(const char *path, const char *columns)
{
    if (path == NULL)
        return NULL;
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp performer compare --draws %d --max %d "
            "--features %d\n%s\n", performer_draws, performer_max,
            performer_m, columns);
    return f;
}

static double distance_to(const tp_tensor *a, const tp_tensor *reference,
                          const tp_tensor *scale)
{
    double num = 0.0, den = 0.0;
    for (long i = 0, n = tp_tensor_count(a); i < n; i++) {
        double e = (double)a->data[i] - reference->data[i];
        num += e * e, den += (double)scale->data[i] * scale->data[i];
    }
    return sqrt(num / den);
}

static tp_tensor *scaled_normal(tp_arena *arena, int t, int d, float deviation,
                                tp_rng *rng)
{
    tp_tensor *x = tp_tensor_normal(arena, tp_shape4(1, 1, t, d), TP_NO_GRAD, rng);
    for (long i = 0, n = tp_tensor_count(x); i < n; i++)
        x->data[i] *= deviation;
    return x;
}
/* <<tp performer: commands>> */
static const char *const draw_names[2] = {"iid", "orthogonal"};

static void measure_errors(FILE *tsv)
{
    enum { T = 512, D = 64 };
    static const float deviations[2] = {0.5f, 1.0f};
    tp_arena *arena = tp_arena_new("performer errors");
    tp_rng rng = tp_rng_seeded(19, 2);
    printf("# error of the output relative to |O| and to |V|, T = %d, d = %d, "
           "mean of %d draws\n%5s %5s %9s %9s %9s %9s\n", T, D, performer_draws,
           "sigma", "m", "iid/|O|", "orth/|O|", "iid/|V|", "orth/|V|");
    for (int s = 0; s < 2; s++) {
        tp_arena_reset(arena);
        tp_tensor *q = scaled_normal(arena, T, D, deviations[s], &rng);
        tp_tensor *k = scaled_normal(arena, T, D, deviations[s], &rng);
        tp_tensor *v = scaled_normal(arena, T, D, 1.0f, &rng);
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_tensor *exact = tp_attention(&g, q, k, v, NULL);
        for (int m = 16; m <= 512; m *= 2) {
            double error[2] = {0.0, 0.0}, of_v[2] = {0.0, 0.0};
            for (int kind = 0; kind < 2; kind++)
                for (int r = 0; r < performer_draws; r++) {
                    tp_tensor *w = tp_performer_projection(arena, m, D, 1 + r, kind);
                    tp_tensor *o = tp_performer_attention(&g, q, k, v, w, NULL);
                    error[kind] += distance_to(o, exact, exact) / performer_draws;
                    of_v[kind] += distance_to(o, exact, v) / performer_draws;
                }
            printf("%5.1f %5d %9.4f %9.4f %9.4f %9.4f\n", deviations[s], m,
                   error[0], error[1], of_v[0], of_v[1]);
            for (int kind = 0; tsv != NULL && kind < 2; kind++)
                fprintf(tsv, "%s\t%.1f\t%d\t%.5f\t%.5f\n", draw_names[kind],
                        deviations[s], m, error[kind], of_v[kind]);
        }
    }
    tp_arena_free(arena);
}
/* <<tp performer: commands>> */
enum { EXACT, TILED, FAVOR, FAVOR_CAUSAL, TIMED };
static const char *const timed_names[TIMED] = {"exact", "tiled", "performer",
                                                "performer-causal"};

typedef struct timed_case {
    int method;
    tp_tensor *q, *k, *v, *w;
    tp_arena *step;
} timed_case;

static void timed_step(void *context)
{
    timed_case *c = context;
    tp_arena_reset(c->step);
    tp_graph g = tp_graph_on(c->step);
    tp_set_grad(&g, false);
    if (c->method == EXACT)
        tp_attention(&g, c->q, c->k, c->v, NULL);
    else if (c->method == TILED)
        tp_attention_tiled(&g, c->q, c->k, c->v, NULL);
    else {
        tp_attention_options o = {.causal = c->method == FAVOR_CAUSAL};
        tp_performer_attention(&g, c->q, c->k, c->v, c->w, &o);
    }
}
/* <<tp performer: commands>> */
static void time_length(timed_case *c, int n, const int threads[2], FILE *tsv,
                        double ms[2][TIMED])
{
    int runs = n <= 1024 ? 10 : n <= 4096 ? 5 : 3;
    for (int t = 0; t < 2; t++) {
        tp_set_threads(threads[t]);
        for (c->method = 0; c->method < TIMED; c->method++) {
            timed_step(c);  /* once to warm up */
            ms[t][c->method] = tp_time(timed_step, c, runs).median * 1e3;
            if (tsv != NULL)
                fprintf(tsv, "%s\t%d\t%d\t%.3f\n", timed_names[c->method], n,
                        threads[t], ms[t][c->method]);
        }
        printf("%6d %3d %11.2f %11.2f %11.2f %11.2f %8.1fx\n", n, threads[t],
               ms[t][EXACT], ms[t][TILED], ms[t][FAVOR], ms[t][FAVOR_CAUSAL],
               ms[t][EXACT] / ms[t][FAVOR]);
        fflush(stdout);
    }
    tp_set_threads(threads[1]);
}

static void measure_times(FILE *tsv)
{
    int threads[2] = {1, tp_threads()}, crossover = 0;
    tp_arena *inputs = tp_arena_new("performer inputs");
    tp_rng rng = tp_rng_seeded(19, 3);
    printf("# forward of one head, d = 64, m = %d; milliseconds (median)\n"
           "%6s %3s %11s %11s %11s %11s %9s\n", performer_m, "T", "thr",
           "exact", "tiled", "performer", "causal", "speed-up");
    for (int n = 256; n <= performer_max; n *= 2) {
        tp_arena_reset(inputs);
        timed_case c = {.q = scaled_normal(inputs, n, 64, 1.0f, &rng),
                        .k = scaled_normal(inputs, n, 64, 1.0f, &rng),
                        .v = scaled_normal(inputs, n, 64, 1.0f, &rng),
                        .w = tp_performer_projection(inputs, performer_m, 64, 1,
                                                     TP_FEATURES_ORTHOGONAL),
                        .step = tp_arena_new("performer step")};
        double ms[2][TIMED];
        time_length(&c, n, threads, tsv, ms);
        if (crossover == 0 && ms[0][FAVOR] < ms[0][EXACT])
            crossover = n;
        tp_arena_free(c.step);
    }
    printf("# one thread: the Performer is first faster than exact attention "
           "at T = %d\n", crossover);
    tp_arena_free(inputs);
}
/* <<tp performer: commands>> */
static int performer_compare(void)
{
    if (performer_threads > 0)
        tp_set_threads(performer_threads);
    tp_describe_machine(stdout);
    FILE *errors = open_table(performer_error_tsv, "draw\tsigma\tm\terror\terror_of_v");
    FILE *times = open_table(performer_time_tsv, "method\tn\tthreads\tforward_ms");
    if ((performer_error_tsv != NULL && errors == NULL)
        || (performer_time_tsv != NULL && times == NULL))
        return 1;
    measure_errors(errors);
    measure_times(times);
    int status = 0;
    if (errors != NULL && fclose(errors) != 0)
        status = 1;
    if (times != NULL && fclose(times) != 0)
        status = 1;
    return status;
}
/* <<tp performer: commands>> */
static int train_steps = 600, train_context = 256, train_batch = 4,
           train_width = 64, train_layers = 2, train_heads = 4,
           train_eval = 100;
static const char *train_tsv = NULL;

static const option performer_train_options[] = {
    {"--steps", OPTION_INT, &train_steps, 1, 1000000, "training steps"},
    {"--context", OPTION_INT, &train_context, 8, 65536, "tokens per sequence T"},
    {"--batch", OPTION_INT, &train_batch, 1, 4096, "sequences per step"},
    {"--width", OPTION_INT, &train_width, 4, 65536, "the model width C"},
    {"--layers", OPTION_INT, &train_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &train_heads, 1, 256, "attention heads"},
    {"--eval-every", OPTION_INT, &train_eval, 1, 1000000,
     "steps between validation losses"},
    {"--tsv", OPTION_STRING, &train_tsv, 0, 0,
     "also write the curves as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};

typedef struct performer_run {
    gpt_windows w;
    const char *name;
    FILE *tsv;
    double last;  /* the last validation loss */
} performer_run;
/* <<tp performer: commands>> */
tp_train_options lm_schedule(long steps, long tokens_per_step,
                             tp_progress_fn *progress, void *context)
{
    return (tp_train_options){.steps = steps, .warmup = steps / 10,
                              .max_lr = 1e-3f, .min_lr = 1e-4f, .clip = 1.0,
                              .tokens_per_step = tokens_per_step,
                              .progress = progress,
                              .progress_context = context};
}
/* <<tp performer: commands>> */
void lm_report(const char *name, const tp_progress *p, double validation,
               FILE *tsv)
{
    printf("%-9s step %5ld  train %.3f  validation %.3f  %7.1f s\n", name,
           p->step + 1, (double)p->loss, validation, p->seconds);
    fflush(stdout);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%ld\t%.4f\t%.4f\t%.2f\n", name, p->step + 1,
                (double)p->loss, validation, p->seconds);
}

static bool performer_progress(const tp_progress *p, void *context)
{
    performer_run *r = context;
    if ((p->step + 1) % train_eval != 0 && p->step + 1 != p->steps)
        return true;
    r->last = gpt_windows_validation(&r->w, 4);
    lm_report(r->name, p, r->last, r->tsv);
    return true;
}

static int performer_train_one(performer_run *r, tp_attention_op *attention)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){256, train_context, train_layers,
                                           train_heads, train_width,
                                           TP_POSITIONS_LEARNED});
    m->attention = attention;
    tp_rng init = tp_rng_seeded(1, 1);
    tp_gpt_init(m, &init);
    r->w.m = m, r->w.rng = tp_rng_seeded(1, 2);
    tp_optimizer *opt = tp_adamw_new(&m->params, 0.95f, 0.1f);
    tp_arena *step = tp_arena_new("performer step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = lm_schedule(train_steps,
                                     (long)train_batch * train_context,
                                     performer_progress, r);
    tp_error error;
    int status = tp_train(&g, &m->params, opt, &o, gpt_windows_loss, &r->w,
                          NULL, &error);
    if (status != 0)
        fprintf(stderr, "tp performer train: %s\n", error.message);
    tp_arena_free(step), tp_optimizer_free(opt), tp_gpt_free(m);
    return status;
}
/* <<tp performer: commands>> */
static int performer_train(void)
{
    tp_corpus corpus = tp_corpus_book(), train, validation;
    tp_corpus_split(&corpus, &train, &validation);
    int *tokens = malloc((size_t)corpus.size * sizeof *tokens);
    int *inputs = malloc(2 * (size_t)train_batch * train_context * sizeof *inputs);
    tp_check(tokens != NULL && inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, tokens);
    performer_run r = {.w = {.tokens = tokens, .train = train.size,
                             .total = corpus.size, .batch = train_batch,
                             .context = train_context, .inputs = inputs,
                             .targets = inputs + train_batch * train_context}};
    tp_describe_machine(stdout);
    if (train_tsv != NULL && (r.tsv = fopen(train_tsv, "w")) == NULL)
        perror(train_tsv);
    if (r.tsv != NULL) {
        tp_describe_machine(r.tsv);
        fprintf(r.tsv, "# written by: tp performer train --steps %d --tsv %s\n"
                "# GPT: %d layers, width %d, %d heads; context %d, batch %d\n"
                "method\tstep\ttrain_loss\tvalidation_loss\tseconds\n",
                train_steps, train_tsv, train_layers, train_width, train_heads,
                train_context, train_batch);
    }
    r.name = "exact";
    int status = performer_train_one(&r, NULL);
    double exact = r.last;
    r.name = "performer";
    status = status != 0 ? status : performer_train_one(&r, tp_performer_fixed);
    if (status == 0)
        printf("# validation after %d steps: exact %.3f, Performer %.3f\n",
               train_steps, exact, r.last);
    if (r.tsv != NULL && fclose(r.tsv) != 0)
        status = 1;
    free(tokens), free(inputs);
    return status;
}
/* <<tp performer: figures>> */
static int error_series(const table *t, const char *draw, double sigma,
                        int column, double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 16; r++)
        if (strcmp(t->label[r], draw) == 0 && fabs(t->value[r][0] - sigma) < 1e-6) {
            x[n] = t->value[r][1];
            y[n++] = t->value[r][column];
        }
    return n;
}

static void error_panel(tp_plot *p, const table *t, int column, bool legend_too)
{
    static const double sigmas[2] = {0.5, 1.0};
    char text[4][64];
    tp_legend_entry legend[4];
    tp_plot_frame(p);
    for (int s = 0; s < 2; s++)
        for (int kind = 0; kind < 2; kind++) {
            double x[16], y[16];
            int n = error_series(t, draw_names[kind], sigmas[s], column, x, y);
            tp_color c = tp_category(kind == 0 ? 5 : 2);
            tp_plot_line(p, x, y, n, c, s == 1, true);
            snprintf(text[2 * s + kind], sizeof text[0], "%s, \xcf\x83 = %.1f",
                     draw_names[kind], sigmas[s]);
            legend[2 * s + kind] = (tp_legend_entry){text[2 * s + kind], c, s == 1};
        }
    if (legend_too)
        tp_plot_legend(p, legend, 4, TP_BOTTOM_LEFT);
}

static int draw_performer_error(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/performer-error.tsv", t, error);
    if (status == 0) {
        tp_axis m = {.lo = 16, .hi = 512, .log = true, .label = "features m"};
        tp_plot of_output = {d, 46, 12, 160, 150, m,
                             {.lo = 0.01, .hi = 10, .log = true,
                              .label = "error / |O|"}};
        tp_plot of_values = {d, 268, 12, 160, 150, m,
                             {.lo = 0.01, .hi = 1, .log = true,
                              .label = "error / |V|"}};
        error_panel(&of_output, t, 2, true);
        error_panel(&of_values, t, 3, false);
    }
    free(t);
    return status;
}
/* <<tp performer: figures>> */
static int time_series(const table *t, const char *method, int threads,
                       double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 16; r++)
        if (strcmp(t->label[r], method) == 0 && (int)t->value[r][1] == threads) {
            x[n] = t->value[r][0];
            y[n++] = t->value[r][2];
        }
    return n;
}

static int draw_performer_time(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/performer-time.tsv", t, error);
    if (status == 0) {
        tp_plot p = {d, 50, 12, 220, 160,
                     {.lo = 256, .hi = 16384, .log = true,
                      .label = "sequence length T"},
                     {.lo = 0.1, .hi = 100000, .log = true,
                      .label = "forward pass (ms)"}};
        static const int category[TIMED] = {5, 4, 2, 6};
        tp_legend_entry legend[TIMED + 1];
        int most = 1;
        for (int r = 0; r < t->rows; r++)
            most = t->value[r][1] > most ? (int)t->value[r][1] : most;
        tp_plot_frame(&p);
        for (int m = 0; m < TIMED; m++) {
            double x[16], y[16];
            tp_color c = tp_category(category[m]);
            tp_plot_line(&p, x, y, time_series(t, timed_names[m], 1, x, y), c,
                         false, true);
            if (most > 1)
                tp_plot_line(&p, x, y, time_series(t, timed_names[m], most, x, y),
                             c, true, false);
            legend[m] = (tp_legend_entry){timed_names[m], c, false};
        }
        legend[TIMED] = (tp_legend_entry){"dashed: all threads",
                                          tp_rgb(0x999999), true};
        tp_plot_legend(&p, legend, TIMED + 1, TP_TOP_LEFT);
    }
    free(t);
    return status;
}

static const command performer_commands[] = {
    /* <<tp performer: command table>> */
    {"performer compare", "FAVOR+ against exact attention: the error against m "
     "(independent and orthogonal features) and the time against T",
     performer_compare_options, performer_compare, NULL},
    /* <<tp performer: command table>> */
    {"performer train", "train a small GPT on the book with exact attention "
     "and with the Performer: the losses", performer_train_options,
     performer_train, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure performer_figures[] = {
    /* <<tp performer: figure table>> */
    {"performer-time", "FAVOR+ against exact and tiled attention: the forward "
     "pass of one head against T, one thread and all", 300, 210,
     draw_performer_time},
    /* <<tp performer: figure table>> */
    {"performer-error", "FAVOR+: the relative error of the attention output "
     "against the number of features, independent and orthogonal", 440, 200,
     draw_performer_error},
    {NULL, 0, 0, 0, NULL}
};

const chapter_part performer_part = {performer_commands, performer_figures};
