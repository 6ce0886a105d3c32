/* Generated from book/272-longformer.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "program.h"

/* <<tp longformer: commands>> */
static int lf_min = 1024, lf_max = 16384, lf_window = 256, lf_block = 64,
           lf_dilation = 1, lf_global = 0, lf_dense_max = 4096,
           lf_threads = 0;
static const char *lf_time_tsv = NULL;

static const option longformer_compare_options[] = {
    {"--min", OPTION_INT, &lf_min, 64, 1 << 20, "the shortest T (default: 1024)"},
    {"--max", OPTION_INT, &lf_max, 64, 1 << 20,
     "the longest T; lengths double from --min (default: 16384)"},
    {"--window", OPTION_INT, &lf_window, 0, 1 << 20, "w (default: 256)"},
    {"--dilation", OPTION_INT, &lf_dilation, 0, 1 << 20, "delta (default: 1)"},
    {"--block", OPTION_INT, &lf_block, 1, TP_BLOCK_MAX, "b (default: 64)"},
    {"--global", OPTION_INT, &lf_global, 0, 1 << 20,
     "the global token's position (default: 0)"},
    {"--dense-max", OPTION_INT, &lf_dense_max, 0, 1 << 20,
     "the longest T of quadratic-memory attention (default: 4096)"},
    {"--threads", OPTION_INT, &lf_threads, 1, 1024,
     "the most threads (default: all cores); also timed on one"},
    {"--tsv", OPTION_STRING, &lf_time_tsv, 0, 0, "write the table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp longformer: commands>> */
enum { DENSE, TILED, WINDOW, WINDOW_GLOBAL, METHODS };
static const char *const method_names[METHODS] = {"dense", "tiled", "window",
                                                  "window+global"};

typedef struct timed_step {
    int method;
    tp_tensor *in[6];  /* q, k, v; Q_g (one row), K_g, V_g */
    tp_tensor *seed;
    const tp_longformer_pattern *pattern[2];  /* window; window+global */
    const tp_block_layout *layout[2];
    tp_arena *step;
} timed_step;
/* <<tp longformer: commands>> */
static tp_tensor *attend(tp_graph *g, timed_step *c)
{
    tp_tensor **in = c->in;
    switch (c->method) {
    case DENSE: return tp_attention(g, in[0], in[1], in[2], NULL);
    case TILED: return tp_attention_tiled(g, in[0], in[1], in[2], NULL);
    case WINDOW:
        return tp_longformer_attention(g, in, NULL, c->pattern[0],
                                       c->layout[0], NULL);
    default:
        return tp_longformer_attention(g, in, in + 3, c->pattern[1],
                                       c->layout[1], NULL);
    }
}

static void training_step(void *context)
{
    timed_step *c = context;
    tp_arena_reset(c->step);
    tp_graph g = tp_graph_on(c->step);
    tp_backward_from(&g, attend(&g, c), c->seed);
}
/* <<tp longformer: commands>> */
static void time_methods(timed_step *c, int n, int threads, FILE *tsv,
                         double ms[METHODS], double mib[METHODS])
{
    tp_set_threads(threads);
    for (c->method = 0; c->method < METHODS; c->method++) {
        ms[c->method] = mib[c->method] = NAN;
        if (c->method == DENSE && n > lf_dense_max)
            continue;
        time_at_length(training_step, c, c->step, method_names[c->method],
                       n, threads, tsv, &ms[c->method], &mib[c->method]);
    }
    printf("%6d %3d %9.1f %9.1f %9.1f %9.1f %8.1fx %7.1f %7.1f %7.1f\n", n,
           threads, ms[DENSE], ms[TILED], ms[WINDOW], ms[WINDOW_GLOBAL],
           ms[TILED] / ms[WINDOW], mib[DENSE], mib[TILED], mib[WINDOW]);
    fflush(stdout);
}
/* <<tp longformer: commands>> */
static tp_tensor *normal_head(tp_arena *arena, int rows, tp_rng *rng)
{
    return tp_tensor_normal(arena, tp_shape4(1, 1, rows, 64), TP_WITH_GRAD, rng);
}

static void time_length(int n, const int threads[2], FILE *tsv, tp_rng *rng)
{
    tp_arena *inputs = tp_arena_new("longformer inputs");
    int at[1] = {lf_global};
    tp_longformer_pattern window = {n, lf_window, lf_dilation, false, 0, NULL,
                                    false};
    tp_longformer_pattern global = window;
    global.globals = 1, global.global = at;
    timed_step c = {.seed = normal_head(inputs, n, rng),
                    .pattern = {&window, &global},
                    .layout = {tp_longformer_layout(inputs, &window, lf_block),
                               tp_longformer_layout(inputs, &global, lf_block)},
                    .step = tp_arena_new("longformer step")};
    for (int i = 0; i < 6; i++)
        c.in[i] = normal_head(inputs, i == 3 ? 1 : n, rng);
    double ms[METHODS], mib[METHODS];
    for (int t = 0; t < 2; t++)
        if (t == 0 || threads[1] != 1)
            time_methods(&c, n, threads[t], tsv, ms, mib);
    tp_arena_free(c.step), tp_arena_free(inputs);
}
/* <<tp longformer: commands>> */
static FILE *open_time_table(void)
{
    FILE *f = fopen(lf_time_tsv, "w");
    if (f == NULL) {
        perror(lf_time_tsv);
        return NULL;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp longformer compare --min %d --max %d "
            "--window %d --dilation %d --block %d --global %d\n"
            "# one head, d = 64, batch 1; forward and backward of the "
            "attention\nmethod\tn\tthreads\tstep_ms\tpeak_mib\n", lf_min,
            lf_max, lf_window, lf_dilation, lf_block, lf_global);
    return f;
}
/* <<tp longformer: commands>> */
static int check_window(const char *command, int window, int dilation)
{
    tp_longformer_pattern p = {1, window, dilation, false, 0, NULL, false};
    tp_error error;
    if (tp_longformer_check(&p, &error) == 0)
        return 0;
    fprintf(stderr, "tp %s: --%s: %s\n", command,
            window < 1 ? "window" : "dilation", error.message);
    return 1;
}

static int check_compare_options(void)
{
    if (check_window("longformer compare", lf_window, lf_dilation) != 0)
        return 1;
    if (lf_global >= lf_min) {
        fprintf(stderr, "tp longformer compare: --global %d is outside the "
                "%d positions of the shortest sequence (--min)\n", lf_global,
                lf_min);
        return 1;
    }
    if (lf_max < lf_min) {
        fprintf(stderr, "tp longformer compare: --max %d is below --min %d\n",
                lf_max, lf_min);
        return 1;
    }
    return 0;
}

static int longformer_compare(void)
{
    if (check_compare_options() != 0)
        return 1;
    if (lf_threads > 0)
        tp_set_threads(lf_threads);
    FILE *tsv = lf_time_tsv != NULL ? open_time_table() : NULL;
    if (lf_time_tsv != NULL && tsv == NULL)
        return 1;
    /* <<tp longformer: time every length>> */
    tp_describe_machine(stdout);
    printf("# one head, d = 64; training step of the attention (ms, median); "
           "window %d, blocks of %d\n%6s %3s %9s %9s %9s %9s %9s %7s %7s %7s\n",
           lf_window, lf_block, "T", "thr", "dense", "tiled", "window",
           "+global", "tiled/win", "MiB dns", "MiB tld", "MiB win");
    int threads[2] = {1, tp_threads()};
    tp_rng rng = tp_rng_seeded(272, 3);
    for (int n = lf_min; n <= lf_max && !interrupted; n *= 2)
        time_length(n, threads, tsv, &rng);
    return tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
}
/* <<tp longformer: commands>> */
static int tr_steps = 250, tr_length = 2048, tr_batch = 4, tr_width = 32,
           tr_layers = 2, tr_heads = 2, tr_window = 64, tr_block = 32,
           tr_eval_docs = 128, tr_eval_every = 25, tr_markers = 64;
static const char *tr_tsv = NULL, *tr_save = NULL, *tr_load = NULL;

static const option longformer_train_options[] = {
    {"--steps", OPTION_INT, &tr_steps, 1, 1000000, "training steps"},
    {"--length", OPTION_INT, &tr_length, 16, 1 << 20, "tokens per document T"},
    {"--batch", OPTION_INT, &tr_batch, 1, 4096, "documents per step"},
    {"--width", OPTION_INT, &tr_width, 4, 65536, "the model width C"},
    {"--layers", OPTION_INT, &tr_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &tr_heads, 1, 256, "attention heads"},
    {"--window", OPTION_INT, &tr_window, 0, 1 << 20, "w (default: 64)"},
    {"--block", OPTION_INT, &tr_block, 1, TP_BLOCK_MAX, "b (default: 32)"},
    {"--markers", OPTION_INT, &tr_markers, 1, 1 << 20,
     "marker words in each document's second half (default: 64)"},
    {"--eval-docs", OPTION_INT, &tr_eval_docs, 1, 1 << 20,
     "documents of each evaluation"},
    {"--eval-every", OPTION_INT, &tr_eval_every, 1, 1000000,
     "steps between evaluations"},
    {"--tsv", OPTION_STRING, &tr_tsv, 0, 0, "also write the curves as a table"},
    {"--save", OPTION_STRING, &tr_save, 0, 0,
     "save the classifier with the global token (safetensors)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp longformer: commands>> */
typedef struct classifier_run {
    tp_longformer *m;
    const char *name;
    bool global;
    const tp_block_layout *layout;
    tp_rng data;
    int *tokens, *labels;
    FILE *tsv;
    double accuracy;
} classifier_run;

static tp_tensor *classifier_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    classifier_run *r = context;
    tp_longformer_documents(&r->data, tr_batch, r->m->config.length,
                            tr_markers, r->tokens, r->labels);
    tp_tensor *logits = tp_longformer_logits(g, r->m, r->tokens, tr_batch,
                                             r->global, r->layout);
    return tp_cross_entropy(g, logits, r->labels, -1);
}
/* <<tp longformer: commands>> */
static double accuracy(const tp_longformer *m, bool global,
                       const tp_block_layout *layout, int documents)
{
    int length = m->config.length, right = 0;
    int *tokens = malloc((size_t)length * sizeof *tokens), label;
    tp_check(tokens != NULL, "out of memory");
    tp_rng rng = tp_rng_seeded(272, 99);  /* never a training stream */
    tp_arena *arena = tp_arena_new("longformer evaluation");
    for (int d = 0; d < documents; d++) {
        tp_arena_reset(arena);
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_longformer_documents(&rng, 1, length, tr_markers, tokens, &label);
        tp_tensor *logits = tp_longformer_logits(&g, m, tokens, 1, global, layout);
        int best = 0;
        for (int c = 1; c < m->config.classes; c++)
            best = logits->data[c] > logits->data[best] ? c : best;
        right += best == label;
    }
    tp_arena_free(arena), free(tokens);
    return (double)right / documents;
}
/* <<tp longformer: commands>> */
static bool classifier_progress(const tp_progress *p, void *context)
{
    classifier_run *r = context;
    if ((p->step + 1) % tr_eval_every != 0 && p->step + 1 != p->steps)
        return !interrupted;
    r->accuracy = accuracy(r->m, r->global, r->layout, tr_eval_docs);
    printf("%-7s step %5ld  loss %.3f  accuracy %5.1f%%  %7.1f s\n", r->name,
           p->step + 1, (double)p->loss, 100 * r->accuracy, p->seconds);
    fflush(stdout);
    if (r->tsv != NULL)
        fprintf(r->tsv, "%s\t%ld\t%.4f\t%.4f\t%.2f\n", r->name, p->step + 1,
                (double)p->loss, r->accuracy, p->seconds);
    return !interrupted;
}
/* <<tp longformer: commands>> */
static tp_block_layout *layout_for(tp_arena *arena, const tp_longformer_config *c,
                                   bool global)
{
    static const int first[1] = {0};
    tp_longformer_pattern p = {c->length, c->window, 1, false, global ? 1 : 0,
                               first, false};
    return tp_longformer_layout(arena, &p, c->block);
}

static tp_longformer_config train_config(void)
{
    return (tp_longformer_config){TP_LONGFORMER_VOCAB, tr_length, tr_layers,
                                  tr_heads, tr_width, TP_LONGFORMER_CLASSES,
                                  tr_window, tr_block};
}
/* <<tp longformer: commands>> */
static int train_one(classifier_run *r)
{
    tp_longformer_config c = train_config();
    r->m = tp_longformer_new(&c, 1);
    r->data = tp_rng_seeded(272, 1);
    tp_arena *step = tp_arena_new("longformer step");
    r->layout = layout_for(r->m->arena, &c, r->global);
    tp_optimizer *opt = tp_adamw_new(&r->m->params, 0.95f, 0.01f);
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = tr_steps, .warmup = tr_steps / 10,
                          .max_lr = 2e-3f, .min_lr = 2e-4f, .clip = 1.0,
                          .tokens_per_step = (long)tr_batch * tr_length,
                          .progress = classifier_progress, .progress_context = r};
    tp_error error;
    int status = tp_train(&g, &r->m->params, opt, &o, classifier_loss, r,
                          NULL, &error);
    if (status != 0)
        fprintf(stderr, "tp longformer train: %s\n", error.message);
    tp_arena_free(step), tp_optimizer_free(opt);
    return status;
}
/* <<tp longformer: commands>> */
static FILE *open_train_table(void)
{
    FILE *f = fopen(tr_tsv, "w");
    if (f == NULL) {
        perror(tr_tsv);
        return NULL;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp longformer train --steps %d --length %d "
            "--batch %d --width %d --layers %d --heads %d --window %d "
            "--block %d --markers %d --eval-docs %d\n"
            "method\tstep\tloss\taccuracy\tseconds\n", tr_steps, tr_length,
            tr_batch, tr_width, tr_layers, tr_heads, tr_window, tr_block,
            tr_markers, tr_eval_docs);
    return f;
}
/* <<tp longformer: commands>> */
static int check_train_options(void)
{
    if (check_window("longformer train", tr_window, 1) != 0)
        return 1;
    if (tr_width % tr_heads != 0) {
        fprintf(stderr, "tp longformer train: --width %d is not a multiple "
                "of --heads %d\n", tr_width, tr_heads);
        return 1;
    }
    if (tr_save != NULL && check_output("longformer train", tr_save) != 0)
        return 1;
    return 0;
}
/* <<tp longformer: commands>> */
static int longformer_train(void)
{
    if (check_train_options() != 0)
        return 1;
    catch_interrupts();
    tp_describe_machine(stdout);
    int *tokens = malloc((size_t)tr_batch * tr_length * sizeof *tokens);
    int *labels = malloc((size_t)tr_batch * sizeof *labels);
    tp_check(tokens != NULL && labels != NULL, "out of memory");
    classifier_run runs[2] = {{.name = "global", .global = true},
                              {.name = "window", .global = false}};
    FILE *tsv = tr_tsv != NULL ? open_train_table() : NULL;
    int status = tr_tsv != NULL && tsv == NULL ? 1 : 0;
    /* <<tp longformer: train both and report>> */
    for (int i = 0; i < 2 && status == 0 && !interrupted; i++) {
        runs[i].tokens = tokens, runs[i].labels = labels, runs[i].tsv = tsv;
        status = train_one(&runs[i]);
    }
    if (status == 0 && !interrupted)
        printf("# accuracy after %d steps on %d documents of %d tokens: with the "
               "global token %.1f%%, window alone %.1f%% (chance 25%%)\n",
               tr_steps, tr_eval_docs, tr_length, 100 * runs[0].accuracy,
               100 * runs[1].accuracy);
    tp_error error;
    if (status == 0 && tr_save != NULL && runs[0].m != NULL
        && tp_longformer_save(runs[0].m, tr_save, &error) != 0) {
        fprintf(stderr, "tp longformer train: %s\n", error.message);
        status = 1;
    }
    tp_longformer_free(runs[0].m), tp_longformer_free(runs[1].m);
    if (tsv != NULL && fclose(tsv) != 0)
        status = 1;
    free(tokens), free(labels);
    return exit_status(status);
}
/* <<tp longformer: commands>> */
static const option longformer_eval_options[] = {
    {"--load", OPTION_STRING, &tr_load, 0, 0, "the classifier (required)"},
    {"--markers", OPTION_INT, &tr_markers, 1, 1 << 20,
     "marker words in each document's second half (default: 64)"},
    {"--eval-docs", OPTION_INT, &tr_eval_docs, 1, 1 << 20,
     "documents to classify"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static int longformer_eval(void)
{
    if (tr_load == NULL) {
        fprintf(stderr, "tp longformer eval: --load is required\n");
        return 1;
    }
    tp_error error;
    tp_longformer *m = tp_longformer_load(tr_load, &error);
    if (m == NULL) {
        fprintf(stderr, "tp longformer eval: %s\n", error.message);
        return 1;
    }
    double with = accuracy(m, true, layout_for(m->arena, &m->config, true),
                           tr_eval_docs);
    double without = accuracy(m, false, layout_for(m->arena, &m->config, false),
                              tr_eval_docs);
    printf("accuracy on %d documents: global token %.1f%%, without it "
           "%.1f%%\n", tr_eval_docs, 100 * with, 100 * without);
    tp_longformer_free(m);
    return 0;
}
/* <<tp longformer: figures>> */
static int draw_longformer_time(tp_draw *d, tp_error *error)
{
    static const int colors[METHODS] = {5, 4, 2, 6};
    length_figure f = {"figures/data/longformer-time.tsv",
                       "sequence length T", 1, 100000, method_names, colors,
                       METHODS, TP_BOTTOM_RIGHT};
    return draw_time_against_length(d, &f, error);
}
/* <<tp longformer: figures>> */
static int draw_longformer_task(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/longformer-task.tsv", t, error);
    if (status == 0) {
        static const char *const runs[2] = {"global", "window"};
        static const char *const names[2] = {"global token", "window alone"};
        double last = 1;
        for (int r = 0; r < t->rows; r++)
            last = t->value[r][0] > last ? t->value[r][0] : last;
        tp_plot p = {d, 50, 12, 220, 135,
                     {.lo = 0, .hi = last, .label = "training step"},
                     {.lo = 0, .hi = 1, .label = "held-out accuracy"}};
        tp_legend_entry legend[2];
        tp_plot_frame(&p);
        for (int k = 0; k < 2; k++) {
            double x[256], y[256];
            int n = 0;
            for (int r = 0; r < t->rows && n < 256; r++)
                if (strcmp(t->label[r], runs[k]) == 0)
                    x[n] = t->value[r][0], y[n++] = t->value[r][2];
            tp_color c = tp_category(k == 0 ? 6 : 2);
            tp_plot_line(&p, x, y, n, c, false, true);
            legend[k] = (tp_legend_entry){names[k], c, false};
        }
        tp_plot_legend(&p, legend, 2, TP_BOTTOM_RIGHT);
    }
    free(t);
    return status;
}

static const command longformer_commands[] = {
    /* <<tp longformer: command table>> */
    {"longformer compare", "the attention's training step against T: dense, "
     "tiled, a sliding window, a window and a global token; one thread and all",
     longformer_compare_options, longformer_compare, NULL},
    /* <<tp longformer: command table>> */
    {"longformer train", "train a long-document classifier with and without a "
     "global token: loss and accuracy", longformer_train_options,
     longformer_train, NULL},
    {"longformer eval", "the accuracy of a saved classifier, with and without "
     "its global token", longformer_eval_options, longformer_eval, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure longformer_figures[] = {
    /* <<tp longformer: figure table>> */
    {"longformer-task", "A classifier of 2,048-token documents: held-out "
     "accuracy with and without a global token", 300, 190,
     draw_longformer_task},
    /* <<tp longformer: figure table>> */
    {"longformer-time", "Longformer attention against dense: the training "
     "step's time and memory against T", 440, 210, draw_longformer_time},
    {NULL, 0, 0, 0, NULL}
};

const chapter_part longformer_part = {longformer_commands, longformer_figures};
