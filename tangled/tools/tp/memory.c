/* Generated from book/335-memory.nw; edit the book, not this file. */
#include "program.h"

/* <<tp memory: commands>> */
static int memory_layers = 8, memory_width = 256, memory_heads = 4,
           memory_context = 128, memory_batch = 8, memory_rounds = 3,
           memory_windows = 4, memory_page = 16;
static const char *memory_model = "gpt.safetensors", *memory_tsv = NULL;

static const option memory_options[] = {
    {"--model", OPTION_STRING, &memory_model, 0, 0,
     "a trained GPT, for the caches (default: gpt.safetensors)"},
    {"--layers", OPTION_INT, &memory_layers, 1, 64,
     "the most layers; steps at 1, 2, 4, ... (default: 8)"},
    {"--width", OPTION_INT, &memory_width, 4, 8192, "the model width C"},
    {"--heads", OPTION_INT, &memory_heads, 1, 256, "attention heads"},
    {"--context", OPTION_INT, &memory_context, 2, 65536, "tokens per sequence"},
    {"--batch", OPTION_INT, &memory_batch, 1, 4096, "sequences per step"},
    {"--rounds", OPTION_INT, &memory_rounds, 1, 1000,
     "steps timed; the median is kept"},
    {"--windows", OPTION_INT, &memory_windows, 1, 10000,
     "validation windows run through each cache"},
    {"--page-size", OPTION_INT, &memory_page, 1, 65536,
     "positions per page of the paged cache"},
    {"--tsv", OPTION_STRING, &memory_tsv, 0, 0,
     "also write the results as a table, for the figures"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp memory: commands>> */
static tp_step_memory measured_step(tp_gpt *m, const int *tokens, bool saving)
{
    double times[1000];
    tp_step_memory r = {0};
    tp_arena *step = tp_arena_new("step");
    m->checkpoint = saving ? tp_arena_new("recompute") : NULL;
    for (int i = 0; i < 2; i++)  /* the arenas grow, then settle in one block */
        tp_training_memory(m, step, tokens, tokens + 1, memory_batch,
                           memory_context);
    for (int i = 0; i < memory_rounds; i++) {
        r = tp_training_memory(m, step, tokens, tokens + 1, memory_batch,
                               memory_context);
        times[i] = r.seconds;
    }
    r.seconds = tp_median(times, memory_rounds);
    tp_arena_free(step);
    tp_arena_free(m->checkpoint);
    m->checkpoint = NULL;
    return r;
}
/* <<tp memory: commands>> */
static void memory_steps(FILE *tsv)
{
    long n = (long)memory_batch * memory_context + 1;
    int *tokens = malloc((size_t)n * sizeof *tokens);
    tp_check(tokens != NULL, "out of memory");
    tp_rng rng = tp_rng_seeded(1, 1);
    for (long i = 0; i < n; i++)
        tokens[i] = (int)tp_rng_below(&rng, 256);
    printf("layers  params  grads  moments  MiB: activations stored  "
           "checkpointed  x    ms: stored  checkpointed  x\n");
    for (int layers = 1; layers <= memory_layers; layers *= 2) {
        tp_gpt *m = tp_gpt_new((tp_gpt_config){256, memory_context, layers,
                                               memory_heads, memory_width,
                                               TP_POSITIONS_LEARNED});
        tp_rng init = tp_rng_seeded(1, 2);
        tp_gpt_init(m, &init);
        tp_step_memory stored = measured_step(m, tokens, false);
        tp_step_memory saved = measured_step(m, tokens, true);
        /* <<memory compare: print one configuration>> */
        double mib = 1.0 / (1 << 20);
        printf("%6d  %6.1f  %5.1f  %7.1f  %22.1f  %12.1f  %4.2f  %10.0f  %12.0f  "
               "%4.2f\n", layers, stored.parameters * mib, stored.gradients * mib,
               stored.moments * mib, stored.activations * mib,
               saved.activations * mib,
               (double)stored.activations / (double)saved.activations,
               stored.seconds * 1e3, saved.seconds * 1e3,
               saved.seconds / stored.seconds);
        if (tsv != NULL)
            fprintf(tsv, "step\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f\t%.2f\n",
                    layers, stored.parameters * mib, stored.gradients * mib,
                    stored.moments * mib, stored.activations * mib,
                    saved.activations * mib, stored.seconds * 1e3,
                    saved.seconds * 1e3);
        tp_gpt_free(m);
    }
    free(tokens);
}
/* <<tp memory: commands>> */
enum { FLOAT_CACHE, INT8_CACHE, PAGED_CACHE, CACHES };
static const char *const cache_names[CACHES] = {"float", "int8", "paged"};

static double window_loss(const float *logits, const int *targets, int n,
                          int vocab)
{
    double loss = 0.0;
    for (int t = 0; t < n; t++) {
        const float *row = logits + (long)t * vocab;
        double top = row[0], total = 0.0;
        for (int v = 1; v < vocab; v++)
            top = row[v] > top ? row[v] : top;
        for (int v = 0; v < vocab; v++)
            total += exp(row[v] - top);
        loss += top + log(total) - row[targets[t]];
    }
    return loss;
}
/* <<tp memory: commands>> */
static size_t cache_pass(tp_gpt *m, int kind, const int *window, int n,
                         tp_arena *scratch, double *loss)
{
    const tp_gpt_config *c = &m->config;
    size_t bytes;
    const float *logits;
    tp_error error;
    if (kind == FLOAT_CACHE) {
        tp_gpt_cache *cache = tp_gpt_cache_new(m, n);
        logits = tp_gpt_extend(m, cache, window, n, scratch);
        bytes = 2 * (size_t)c->n_layer * (size_t)n * (size_t)c->n_embd * 4;
        tp_gpt_cache_free(cache);
    } else if (kind == INT8_CACHE) {
        tp_kv_int8 *cache = tp_kv_int8_new(m, n);
        logits = tp_gpt_extend_int8(m, cache, window, n, scratch);
        bytes = tp_kv_int8_bytes(cache);
        tp_kv_int8_free(cache);
    } else {
        /* <<memory compare: one pass through pages>> */
        int pages = (n + memory_page - 1) / memory_page;
        tp_kv_pool *pool = tp_kv_pool_new(m, memory_page, pages);
        tp_kv_sequence *s = tp_kv_sequence_new(pool);
        logits = tp_gpt_extend_paged(m, s, window, n, scratch, &error);
        tp_check(logits != NULL, "memory compare: %s", error.message);
        bytes = 2 * (size_t)pages * (size_t)c->n_layer * (size_t)memory_page
                * (size_t)c->n_embd * 4;
        tp_kv_sequence_free(s);
        tp_kv_pool_free(pool);
    }
    *loss += window_loss(logits, window + 1, n, c->vocab_size);
    return bytes;
}
/* <<tp memory: commands>> */
static void memory_caches(FILE *tsv, tp_gpt *m)
{
    tp_corpus book = tp_corpus_book(), train, validation;
    tp_corpus_split(&book, &train, &validation);
    int n = m->config.n_positions;
    int *window = malloc(((size_t)n + 1) * sizeof *window);
    tp_check(window != NULL, "out of memory");
    tp_arena *scratch = tp_arena_new("caches");
    long stride = (validation.size - n - 1) / memory_windows;
    for (int kind = 0; kind < CACHES; kind++) {
        double loss = 0.0, start = tp_seconds();
        size_t bytes = 0;
        for (int w = 0; w < memory_windows; w++) {
            for (int t = 0; t <= n; t++)
                window[t] = validation.bytes[w * stride + t];
            bytes = cache_pass(m, kind, window, n, scratch, &loss);
            tp_arena_reset(scratch);
        }
        /* <<memory compare: report one cache>> */
        double mean = loss / ((double)n * memory_windows);
        double seconds = tp_seconds() - start;
        printf("%-6s cache  %d positions  %9zu bytes  validation loss %.5f  %.2f s\n",
               cache_names[kind], n, bytes, mean, seconds);
        if (tsv != NULL)
            fprintf(tsv, "%s\t%d\t%zu\t%.6f\t%.3f\n", cache_names[kind], n, bytes, mean,
                    seconds);
    }
    tp_arena_free(scratch);
    free(window);
}
/* <<tp memory: commands>> */
static int memory_compare(void)
{
    const char *command = "memory compare";
    tp_error error;
    if (memory_tsv != NULL && check_output(command, memory_tsv) != 0)
        return 1;
    tp_gpt *m = tp_gpt_load(memory_model, NULL, &error);
    if (m == NULL) {
        fprintf(stderr, "tp %s: %s\n", command, error.message);
        return 1;
    }
    if (m->config.positions != TP_POSITIONS_LEARNED) {
        fprintf(stderr, "tp %s: the caches of this chapter read a model with "
                "learned positions; %s has %s\n", command, memory_model,
                tp_position_name(m->config.positions));
        tp_gpt_free(m);
        return 1;
    }
    if (m->config.n_positions % memory_page != 0) {
        fprintf(stderr, "tp %s: --page-size %d does not divide the %d "
                "positions of %s\n", command, memory_page,
                m->config.n_positions, memory_model);
        tp_gpt_free(m);
        return 2;
    }
    /* <<memory compare: measure and write>> */
    FILE *tsv = memory_tsv != NULL ? fopen(memory_tsv, "w") : NULL;
    tp_describe_machine(stdout);
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp memory compare --model %s --tsv %s\n"
                "# step: GPT of width %d, %d heads, context %d, batch %d; MiB "
                "and ms\nwhat\tlayers\tparameters\tgradients\tmoments\tstored\t"
                "checkpointed\tms_stored\tms_checkpointed\n", memory_model,
                memory_tsv, memory_width, memory_heads, memory_context,
                memory_batch);
    }
    memory_steps(tsv);
    memory_caches(tsv, m);
    int status = tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
    tp_gpt_free(m);
    return status;
}

/* <<tp memory: figures>> */
enum { M_LAYERS, M_PARAMETERS, M_GRADIENTS, M_MOMENTS, M_STORED, M_SAVED,
       M_MS_STORED, M_MS_SAVED };

static int memory_series(const table *t, int column, double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 16; r++)
        if (strcmp(t->label[r], "step") == 0) {
            x[n] = t->value[r][M_LAYERS];
            y[n] = column == M_PARAMETERS
                       ? t->value[r][M_PARAMETERS] + t->value[r][M_GRADIENTS]
                             + t->value[r][M_MOMENTS]
                       : t->value[r][column];
            n++;
        }
    return n;
}
/* <<tp memory: figures>> */
static void memory_panel(tp_plot *p, const table *t, bool time, bool legend_too)
{
    static const char *const name[3] = {"parameters, gradients, moments",
                                        "activations, stored",
                                        "activations, checkpointed"};
    int columns[3] = {M_PARAMETERS, M_STORED, M_SAVED}, colour[3] = {7, 5, 2};
    if (time)
        columns[1] = M_MS_STORED, columns[2] = M_MS_SAVED;
    tp_plot_frame(p);
    tp_legend_entry legend[3];
    for (int i = time ? 1 : 0; i < 3; i++) {
        double x[16], y[16];
        int n = memory_series(t, columns[i], x, y);
        tp_plot_line(p, x, y, n, tp_category(colour[i]), false, true);
        legend[i] = (tp_legend_entry){name[i], tp_category(colour[i]), false};
    }
    if (legend_too)
        tp_plot_legend(p, time ? legend + 1 : legend, time ? 2 : 3,
                       TP_TOP_LEFT);
}
/* <<tp memory: figures>> */
static double memory_most(const table *t, int column)
{
    double x[16], y[16], most = 1.0;
    int n = memory_series(t, column, x, y);
    for (int i = 0; i < n; i++)
        most = y[i] > most ? y[i] : most;
    return most;
}

static int draw_memory(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/memory.tsv", t, error);
    if (status == 0) {
        tp_axis layers = {.lo = 0, .hi = 9, .label = "layers L"};
        tp_plot bytes = {d, 46, 12, 170, 150, layers,
                         {.lo = 0, .hi = 1.15 * memory_most(t, M_STORED),
                          .label = "MiB"}};
        tp_plot time = {d, 270, 12, 150, 150, layers,
                        {.lo = 0, .hi = 1.15 * memory_most(t, M_MS_SAVED),
                         .label = "ms per training step"}};
        memory_panel(&bytes, t, false, true);
        memory_panel(&time, t, true, true);
    }
    free(t);
    return status;
}
/* <<tp memory: figures>> */
static void memory_card_numbers(tp_draw *d, const table *t, double x, double y)
{
    char line[128];
    int last = -1, caches[3] = {-1, -1, -1};
    static const char *const kind[3] = {"float", "int8", "paged"};
    for (int r = 0; r < t->rows; r++) {
        if (strcmp(t->label[r], "step") == 0)
            last = r;
        for (int k = 0; k < 3; k++)
            if (strcmp(t->label[r], kind[k]) == 0)
                caches[k] = r;
    }
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    if (last >= 0) {
        const double *v = t->value[last];
        snprintf(line, sizeof line, "<b>%.0f layers</b>: parameters %.0f, "
                 "gradients %.0f, moments %.0f MiB", v[M_LAYERS],
                 v[M_PARAMETERS], v[M_GRADIENTS], v[M_MOMENTS]);
        tp_text(d, x, y, 0.0, 0.0, 7, line);
        snprintf(line, sizeof line, "activations %.0f MiB; checkpointed %.0f "
                 "(\xc3\xb7%.1f), gradients bit for bit", v[M_STORED],
                 v[M_SAVED], v[M_STORED] / v[M_SAVED]);
        tp_text(d, x, y + 12, 0.0, 0.0, 7, line);
    }
    /* <<memory card: the caches' numbers>> */
    if (caches[0] >= 0 && caches[1] >= 0) {
        const double *f = t->value[caches[0]], *q = t->value[caches[1]];
        snprintf(line, sizeof line, "KV cache, %.0f positions: float %.0f KiB, "
                 "int8 %.0f KiB (\xc3\xb7%.2f)", f[0], f[1] / 1024, q[1] / 1024,
                 f[1] / q[1]);
        tp_text(d, x, y + 28, 0.0, 0.0, 7, line);
        snprintf(line, sizeof line, "validation loss %.4f against %.4f (%+.2f%%)",
                 q[2], f[2], 100 * (q[2] - f[2]) / f[2]);
        tp_text(d, x, y + 40, 0.0, 0.0, 7, line);
    }
}
/* <<tp memory: figures>> */
static int draw_card_memory(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/memory.tsv", t, error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>7. Memory footprint</b>",
                "Weights, gradients, moments, activations, and at inference "
                "a cache that grows with every token",
                "Data: tp memory compare (make measure-memory)", &problem,
                &solutions);
        tp_axis layers = {.lo = 0, .hi = 9};
        tp_plot bytes = {d, problem.x + 30, problem.y + 34, 200, 120, layers,
                         {.lo = 0, .hi = 1.15 * memory_most(t, M_STORED)}};
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, problem.x + 130, problem.y + 20, 0.5, 0.0, 7,
                "MiB of a training step against layers");
        memory_panel(&bytes, t, false, true);
        memory_card_numbers(d, t, problem.x + 10, problem.y + 182);
        /* <<memory card: the solutions>> */
        static const char *const solution[][3] = {
            {"Gradient checkpointing", "recompute each block in the backward pass",
             "this chapter; the tape's primitive"},
            {"Int8 KV cache", "8 bits and a scale per head and position",
             "this chapter"},
            {"Paged KV cache", "pages from a pool, a table per sequence",
             "this chapter"},
            {"MQA / GQA", "fewer key-value heads than query heads",
             "attention accepts them; an exercise"},
            {"Memory-efficient attention", "never stores T \xc3\x97 T weights",
             "Quadratic complexity"},
        };
        card_solutions(d, &solutions, solution, 5);
    }
    free(t);
    return status;
}

static const command memory_commands[] = {
    /* <<tp memory: command table>> */
    {"memory compare", "count and time a training step's memory with and "
     "without checkpoints; float, int8 and paged KV caches", memory_options,
     memory_compare, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure memory_figures[] = {
    /* <<tp memory: figure table>> */
    {"memory", "a training step's memory and time against layers, with and "
     "without checkpoints", 440, 200, draw_memory},
    /* <<tp memory: figure table>> */
    {"card-memory", "the card of memory footprint", 440, 320, draw_card_memory},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part memory_part = {memory_commands, memory_figures};
