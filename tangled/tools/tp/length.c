/* Generated from book/345-length.nw; edit the book, not this file. */
#include "program.h"

/* <<tp length: evaluating at a length>> */
static double loss_at_length(tp_gpt *m, const int *tokens, long n,
                             int length, long budget)
{
    tp_arena *arena = tp_arena_new("evaluation");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng rng = tp_rng_seeded(54321, (uint64_t)length);
    int *inputs = malloc(2 * (size_t)length * sizeof *inputs);
    tp_check(inputs != NULL, "out of memory");
    long windows = budget / length > 0 ? budget / length : 1;
    double total = 0.0;
    for (long w = 0; w < windows; w++) {
        tp_random_windows(tokens, n, 1, length, &rng, inputs, inputs + length);
        total += tp_gpt_loss(&g, m, inputs, inputs + length, 1, length)->data[0];
        tp_graph_reset(&g);
    }
    free(inputs);
    tp_arena_free(arena);
    return total / (double)windows;
}
/* <<tp length: evaluating at a length>> */
static int check_length(const char *command, const tp_gpt *m, int length,
                        bool scaling)
{
    const tp_gpt_config *c = &m->config;
    if (c->positions == TP_POSITIONS_LEARNED && length > c->n_positions) {
        fprintf(stderr, "tp %s: the model has learned positions for %d "
                "tokens; it has no position for token %d\n", command,
                c->n_positions, c->n_positions + 1);
        return 1;
    }
    if (scaling && c->positions != TP_POSITIONS_ROPE) {
        fprintf(stderr, "tp %s: only a model with RoPE can be scaled (this "
                "one has %s positions)\n", command,
                tp_position_name(c->positions));
        return 2;
    }
    return 0;
}

/* <<tp length: commands>> */
static int eval_length = 256, eval_budget = 4096;
static const char *eval_model = "gpt.safetensors", *eval_scaling = "plain",
                  *eval_factor = NULL;

static const option length_eval_options[] = {
    {"--model", OPTION_STRING, &eval_model, 0, 0,
     "the checkpoint (default: gpt.safetensors)"},
    {"--length", OPTION_INT, &eval_length, 2, 65536, "tokens per window"},
    {"--tokens", OPTION_INT, &eval_budget, 1, 100000000,
     "about how many tokens to read in all"},
    {"--scaling", OPTION_STRING, &eval_scaling, 0, 0,
     "plain (default), interpolation, ntk or yarn"},
    {"--factor", OPTION_STRING, &eval_factor, 0, 0,
     "the scaling factor s (default: length / trained length)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp length: commands>> */
static int scale_for(const char *command, tp_gpt *m, const char *name,
                     double factor)
{
    tp_error error;
    tp_rope_scaling method;
    if (tp_rope_scaling_parse(name, &method, &error) != 0
        || (m->config.positions == TP_POSITIONS_ROPE
            && tp_rope_scale(&m->encoding.rope, method, factor,
                             m->config.n_positions, &error) != 0)) {
        fprintf(stderr, "tp %s: %s\n", command, error.message);
        return 2;
    }
    return 0;
}
/* <<tp length: commands>> */
static int book_tokens(const char *command, int **tokens, long *train,
                       long *total)
{
    tp_corpus corpus, training, validation;
    if (load_corpus(command, &corpus) != 0)
        return 1;
    tp_corpus_split(&corpus, &training, &validation);
    *tokens = malloc((size_t)corpus.size * sizeof **tokens);
    tp_check(*tokens != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, *tokens);
    *train = training.size, *total = corpus.size;
    tp_corpus_free(&corpus);
    return 0;
}
/* <<tp length: commands>> */
static int length_eval(void)
{
    tp_error error;
    tp_gpt *m = tp_gpt_load(eval_model, NULL, &error);
    if (m == NULL) {
        fprintf(stderr, "tp length eval: %s\n", error.message);
        return 1;
    }
    bool scaled = strcmp(eval_scaling, "plain") != 0 || eval_factor != NULL;
    double factor = (double)eval_length / m->config.n_positions;
    char *end = NULL;
    if (eval_factor != NULL)
        factor = strtod(eval_factor, &end);
    int status = check_length("length eval", m, eval_length, scaled);
    if (status == 0 && end != NULL && (end == eval_factor || *end != '\0')) {
        fprintf(stderr, "tp length eval: --factor must be a number, not "
                "'%s'\n", eval_factor);
        status = 2;
    }
    if (status == 0)
        status = scale_for("length eval", m, eval_scaling, factor);
    int *tokens = NULL;
    long train = 0, total = 0;
    if (status == 0)
        status = book_tokens("length eval", &tokens, &train, &total);
    /* <<length eval: measure and print>> */
    if (status == 0 && total - train <= eval_length) {
        fprintf(stderr, "tp length eval: the validation text (%ld tokens) is "
                "shorter than --length %d\n", total - train, eval_length);
        status = 1;
    }
    if (status == 0)
        printf("%s positions, %s scaling: loss %.4f at length %d\n",
               tp_position_name(m->config.positions), eval_scaling,
               loss_at_length(m, tokens + train, total - train, eval_length,
                              eval_budget), eval_length);
    free(tokens);
    tp_gpt_free(m);
    return status;
}
/* <<tp length: commands>> */
static int compare_steps = 200, compare_width = 64, compare_layers = 2,
           compare_heads = 4, compare_batch = 8, compare_context = 128,
           compare_longest = 2048, compare_budget = 4096, compare_threads = 0;
static const char *compare_tsv = NULL;

static const option length_compare_options[] = {
    {"--steps", OPTION_INT, &compare_steps, 1, 1000000, "training steps"},
    {"--context", OPTION_INT, &compare_context, 8, 65536,
     "the training length L"},
    {"--longest", OPTION_INT, &compare_longest, 8, 65536,
     "the longest evaluation length"},
    {"--tokens", OPTION_INT, &compare_budget, 1, 100000000,
     "about how many tokens each evaluation reads"},
    {"--batch", OPTION_INT, &compare_batch, 1, 4096, "sequences per step"},
    {"--width", OPTION_INT, &compare_width, 4, 65536, "the model width C"},
    {"--layers", OPTION_INT, &compare_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &compare_heads, 1, 256, "attention heads"},
    {"--threads", OPTION_INT, &compare_threads, 1, 1024,
     "threads (default: all cores)"},
    {"--tsv", OPTION_STRING, &compare_tsv, 0, 0,
     "also write the losses as a table, for the figure"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp length: commands>> */
typedef struct length_method {
    tp_position_kind kind;
    tp_rope_scaling scaling;
} length_method;

enum { LENGTH_METHODS = 10 };
static const length_method length_methods[LENGTH_METHODS] = {
    {TP_POSITIONS_LEARNED, TP_ROPE_PLAIN}, {TP_POSITIONS_SINUSOIDAL, TP_ROPE_PLAIN},
    {TP_POSITIONS_NONE, TP_ROPE_PLAIN}, {TP_POSITIONS_RELATIVE, TP_ROPE_PLAIN},
    {TP_POSITIONS_T5, TP_ROPE_PLAIN}, {TP_POSITIONS_ALIBI, TP_ROPE_PLAIN},
    {TP_POSITIONS_ROPE, TP_ROPE_PLAIN}, {TP_POSITIONS_ROPE, TP_ROPE_INTERPOLATION},
    {TP_POSITIONS_ROPE, TP_ROPE_NTK}, {TP_POSITIONS_ROPE, TP_ROPE_YARN}};

static void method_label(const length_method *m, char *out, size_t size)
{
    if (m->kind == TP_POSITIONS_ROPE && m->scaling != TP_ROPE_PLAIN)
        snprintf(out, size, "rope+%s", tp_rope_scaling_name(m->scaling));
    else
        snprintf(out, size, "%s", tp_position_name(m->kind));
}
/* <<tp length: commands>> */
static tp_gpt *train_with(tp_position_kind kind, const int *tokens,
                          long train, long total, tp_error *error)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){256, compare_context,
                                           compare_layers, compare_heads,
                                           compare_width, kind});
    tp_rng init = tp_rng_seeded(1, 1);
    tp_gpt_init(m, &init);
    gpt_windows w = {.m = m, .tokens = tokens, .train = train,
                     .total = total, .batch = compare_batch,
                     .context = compare_context, .rng = tp_rng_seeded(1, 2)};
    w.inputs = malloc(2 * (size_t)compare_batch * compare_context * sizeof(int));
    tp_check(w.inputs != NULL, "out of memory");
    w.targets = w.inputs + compare_batch * compare_context;
    /* <<length compare: run the training>> */
    tp_optimizer *opt = tp_adamw_new(&m->params, 0.95f, 0.1f);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = compare_steps, .warmup = compare_steps / 10,
                          .max_lr = 1e-3f, .min_lr = 1e-4f, .clip = 1.0,
                          .tokens_per_step = (long)compare_batch * compare_context};
    int status = tp_train(&g, &m->params, opt, &o, gpt_windows_loss, &w, NULL,
                          error);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    free(w.inputs);
    if (status != 0) {
        tp_gpt_free(m);
        return NULL;
    }
    return m;
}
/* <<tp length: commands>> */
static void measure_model(tp_gpt *m, const int *tokens, long train,
                          long total, FILE *tsv)
{
    for (int i = 0; i < LENGTH_METHODS; i++) {
        const length_method *method = &length_methods[i];
        if (method->kind != m->config.positions)
            continue;
        char label[32];
        method_label(method, label, sizeof label);
        printf("%-18s", label);
        for (int length = compare_context; length <= compare_longest;
             length *= 2) {
            /* <<length compare: one length>> */
            double loss = NAN;
            bool fits = m->config.positions != TP_POSITIONS_LEARNED
                        || length <= m->config.n_positions;
            tp_error error;
            if (method->kind == TP_POSITIONS_ROPE
                && tp_rope_scale(&m->encoding.rope, method->scaling,
                                 (double)length / compare_context, compare_context,
                                 &error) != 0)
                fits = false;
            if (fits)
                loss = loss_at_length(m, tokens + train, total - train, length,
                                      compare_budget);
            printf(" %8.4f", loss);
            if (tsv != NULL)
                fprintf(tsv, "%s\t%d\t%.4f\n", label, length, loss);
        }
        printf("\n");
        fflush(stdout);
    }
}
/* <<tp length: commands>> */
static int length_compare(void)
{
    if (compare_tsv != NULL && check_output("length compare", compare_tsv))
        return 1;
    if (compare_width % compare_heads != 0
        || (compare_width / compare_heads) % 2 != 0) {
        fprintf(stderr, "tp length compare: --heads %d must divide --width "
                "%d into heads of even width\n", compare_heads, compare_width);
        return 2;
    }
    if (compare_threads > 0)
        tp_set_threads(compare_threads);
    int *tokens;
    long train, total;
    if (book_tokens("length compare", &tokens, &train, &total) != 0)
        return 1;
    if (total - train <= compare_longest) {
        fprintf(stderr, "tp length compare: the validation text (%ld tokens) "
                "is shorter than --longest %d\n", total - train,
                compare_longest);
        free(tokens);
        return 1;
    }
    /* <<length compare: train and measure every encoding>> */
    FILE *tsv = compare_tsv != NULL ? fopen(compare_tsv, "w") : NULL;
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp length compare --steps %d --context %d "
                "--longest %d --tokens %d --batch %d --width %d --layers %d "
                "--heads %d\nmethod\tlength\tloss\n", compare_steps,
                compare_context, compare_longest, compare_budget, compare_batch,
                compare_width, compare_layers, compare_heads);
    }
    printf("%-18s", "loss at length");
    for (int length = compare_context; length <= compare_longest; length *= 2)
        printf(" %8d", length);
    printf("\n");
    int status = 0;
    static const tp_position_kind order[7] = {
        TP_POSITIONS_LEARNED, TP_POSITIONS_SINUSOIDAL, TP_POSITIONS_NONE,
        TP_POSITIONS_RELATIVE, TP_POSITIONS_T5, TP_POSITIONS_ALIBI,
        TP_POSITIONS_ROPE};
    for (int k = 0; k < 7 && status == 0; k++) {
        tp_error error;
        tp_gpt *m = train_with(order[k], tokens, train, total, &error);
        if (m == NULL) {
            fprintf(stderr, "tp length compare: %s\n", error.message);
            status = exit_status(1);
            break;
        }
        measure_model(m, tokens, train, total, tsv);
        tp_gpt_free(m);
    }
    if (tsv != NULL && fclose(tsv) != 0) {
        fprintf(stderr, "tp length compare: cannot write %s\n", compare_tsv);
        status = 1;
    }
    free(tokens);
    return status;
}

/* <<tp length: figures>> */
static tp_color method_color(int i, bool *dashed)
{
    static const int colour[LENGTH_METHODS] = {0, 1, -1, 2, 3, 4, 5, 6, 5, -2};
    *dashed = i == 8;
    return colour[i] == -1 ? tp_rgb(0x999999)
           : colour[i] == -2 ? tp_rgb(0x000000) : tp_category(colour[i]);
}

static int method_curve(const table *t, const char *label, double *x,
                        double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 16; r++)
        if (strcmp(t->label[r], label) == 0 && !isnan(t->value[r][1]))
            x[n] = t->value[r][0], y[n++] = t->value[r][1];
    return n;
}
/* <<tp length: figures>> */
static tp_axis loss_axis(const table *t, const char *label, double headroom)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < t->rows; r++)
        if (!isnan(t->value[r][1]))
            lo = fmin(lo, t->value[r][1]), hi = fmax(hi, t->value[r][1]);
    if (!(lo <= hi))
        lo = 0.0, hi = 1.0;
    return (tp_axis){.lo = floor(lo * 5 - 1) / 5,
                     .hi = ceil(hi * 5 + 1) / 5 + headroom, .label = label};
}
/* <<tp length: figures>> */
static void length_plot(tp_plot *p, const table *t, bool legend)
{
    tp_plot_frame(p);
    tp_legend_entry entries[LENGTH_METHODS];
    char labels[LENGTH_METHODS][32];
    for (int i = 0; i < LENGTH_METHODS; i++) {
        double x[16], y[16];
        bool dashed;
        tp_color c = method_color(i, &dashed);
        method_label(&length_methods[i], labels[i], sizeof labels[i]);
        int n = method_curve(t, labels[i], x, y);
        tp_plot_line(p, x, y, n, c, dashed, true);
        entries[i] = (tp_legend_entry){labels[i], c, dashed};
    }
    if (legend)
        tp_plot_legend(p, entries, LENGTH_METHODS, TP_TOP_LEFT);
}

static int draw_length_extrapolation(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/length-extrapolation.tsv", t, error);
    if (status == 0) {
        tp_plot p = {d, 46, 12, 380, 200,
                     {.lo = 100, .hi = 2600, .log = true,
                      .label = "evaluation length L\xe2\x80\xb2 (trained at 128)"},
                     loss_axis(t, "validation loss", 1.2)};
        length_plot(&p, t, true);
    }
    free(t);
    return status;
}
/* <<tp length: figures>> */
static double loss_of(const table *t, const char *label, int length)
{
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], label) == 0 && t->value[r][0] == length)
            return t->value[r][1];
    return NAN;
}

static void length_numbers(tp_draw *d, const table *t, double x, double y)
{
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x, y, 0.0, 0.0, 7, "<b>loss at L\xe2\x80\xb2 = 128 and 1,024</b>");
    for (int i = 0; i < LENGTH_METHODS; i++) {
        double lx = x + 116 * (i / 5), ly = y + 12 + 11 * (i % 5);
        char label[32], line[96];
        bool dashed;
        method_label(&length_methods[i], label, sizeof label);
        double a = loss_of(t, label, 128), b = loss_of(t, label, 1024);
        if (isnan(b))
            snprintf(line, sizeof line, "%s  %.2f  refused", label, a);
        else
            snprintf(line, sizeof line, "%s  %.2f  %.2f", label, a, b);
        tp_set_color(d->cr, method_color(i, &dashed));
        cairo_rectangle(d->cr, lx, ly + 3, 8, 3);
        cairo_fill(d->cr);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, lx + 11, ly, 0.0, 0.0, 7, line);
    }
}
/* <<tp length: figures>> */
static int draw_card_length(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/length-extrapolation.tsv", t, error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>9. Length generalisation</b>",
                "Trained at 128 tokens, read at 2,048: which encodings of "
                "positions survive",
                "Data: tp length compare (make measure-positions)",
                &problem, &solutions);
        /* <<length card: the problem>> */
        double px = problem.x, py = problem.y;
        tp_plot p = {d, px + 44, py + 30, 186, 100,
                     {.lo = 100, .hi = 2600, .log = true, .label = "length L\xe2\x80\xb2"},
                     loss_axis(t, "loss", 0.0)};
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 132, py + 20, 0.5, 0.0, 7, "validation loss against the "
                "length read");
        length_plot(&p, t, false);
        length_numbers(d, t, px + 12, py + 168);
        /* <<length card: the solutions>> */
        static const char *const solution[][3] = {
            {"Relative positions", "clipped or bucketed distances",
             "No sense of order; measured here"},
            {"ALiBi", "a fixed penalty linear in distance",
             "No sense of order; measured here"},
            {"Position interpolation", "RoPE's angles divided by s", "this chapter"},
            {"NTK-aware scaling", "RoPE's base raised: slow pairs slowed",
             "this chapter"},
            {"YaRN", "per-pair ramp, sharper softmax", "this chapter"},
            {"Extrapolation, measured", "every method at 128 to 2,048 tokens",
             "this chapter"},
        };
        card_solutions(d, &solutions, solution, 6);
    }
    free(t);
    return status;
}

static const command length_commands[] = {
    /* <<tp length: command table>> */
    {"length eval", "the loss of a GPT checkpoint at one length, RoPE scaled "
     "or not", length_eval_options, length_eval, NULL},
    {"length compare", "train GPT with every encoding of positions; measure "
     "each past its training length", length_compare_options, length_compare,
     NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure length_figures[] = {
    /* <<tp length: figure table>> */
    {"length-extrapolation", "loss against evaluation length, one line per "
     "encoding and RoPE scaling", 440, 250, draw_length_extrapolation},
    /* <<tp length: figure table>> */
    {"card-length", "the card of length generalisation", 440, 320,
     draw_card_length},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part length_part = {length_commands, length_figures};
