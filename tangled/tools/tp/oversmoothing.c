/* Generated from book/355-oversmoothing.nw; edit the book, not this file. */
#include "program.h"

/* <<tp oversmoothing: commands>> */
static int smooth_layers = 16, smooth_width = 64, smooth_heads = 4,
           smooth_context = 32, smooth_batch = 8, smooth_steps = 150,
           smooth_seed = 1;
static float smooth_lr = 3e-3f, smooth_drop = 0.1f, smooth_temperature = 0.5f;
static const char *smooth_tsv = NULL;

static const option oversmoothing_options[] = {
    {"--layers", OPTION_INT, &smooth_layers, 1, 256, "blocks L"},
    {"--width", OPTION_INT, &smooth_width, 4, 65536, "the model width C"},
    {"--heads", OPTION_INT, &smooth_heads, 1, 256, "attention heads"},
    {"--context", OPTION_INT, &smooth_context, 2, 4096, "tokens T"},
    {"--batch", OPTION_INT, &smooth_batch, 1, 4096, "sequences per step"},
    {"--steps", OPTION_INT, &smooth_steps, 1, 1000000, "training steps"},
    {"--lr", OPTION_FLOAT, &smooth_lr, 0, 1, "the peak learning rate"},
    {"--drop-head", OPTION_FLOAT, &smooth_drop, 0, 1,
     "DropHead's probability, below 1"},
    {"--temperature", OPTION_FLOAT, &smooth_temperature, 0, 100,
     "the attention temperature of that remedy"},
    {"--seed", OPTION_INT, &smooth_seed, 0, 1000000000, "the seed"},
    {"--tsv", OPTION_STRING, &smooth_tsv, 0, 0,
     "also write the measures per layer as a table, for the figures"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp oversmoothing: commands>> */
static void layer_row(FILE *tsv, const char *label, int layer,
                      const tp_tensor *x, double entropy)
{
    double cosine = tp_mean_cosine(x), rank = tp_effective_rank(x);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%d\t%.5f\t%.4f\t%.4f\n", label, layer, cosine, rank,
                entropy);
    if (layer % 4 == 0)
        printf("%-16s layer %3d  cosine %.3f  effective rank %6.2f  "
               "entropy %.3f\n", label, layer, cosine, rank, entropy);
}
/* <<tp oversmoothing: commands>> */
static void pure_stack(bool skip, FILE *tsv)
{
    tp_arena *arena = tp_arena_new("pure attention");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng weights = tp_rng_seeded((uint64_t)smooth_seed, 10);
    tp_rng tokens = tp_rng_seeded((uint64_t)smooth_seed, 11);
    int c = smooth_width;
    tp_tensor *x = tp_tensor_new(arena, tp_shape3(1, smooth_context, c),
                                 TP_NO_GRAD);
    tp_fill_normal(x, &tokens, 0.0f, 1.0f);
    const char *label = skip ? "attention+skip" : "attention";
    layer_row(tsv, label, 0, x, NAN);
    for (int l = 1; l <= smooth_layers; l++) {
        tp_tensor *w = tp_tensor_new(arena, tp_shape2(c, 3 * c), TP_NO_GRAD);
        tp_fill_normal(w, &weights, 0.0f, 1.0f / sqrtf((float)c));
        x = tp_pure_attention(&g, x, w, smooth_heads, skip);
        layer_row(tsv, label, l, x, NAN);
    }
    tp_arena_free(arena);
}
/* <<tp oversmoothing: commands>> */
enum { REMEDIES = 6 };
typedef enum remedy {
    BASELINE, NO_SKIP, REZERO, DEEPNORM, DROPHEAD, TEMPERATURE
} remedy;
static const char *const remedy_names[REMEDIES] = {
    "pre-LN", "no-skip", "ReZero", "DeepNorm", "DropHead", "temperature"};
/* <<tp oversmoothing: commands>> */
static void deepnorm(tp_gpt *m, tp_block_depth *depth)
{
    int layers = m->config.n_layer, c = m->config.n_embd;
    float alpha = powf(2.0f * layers, 0.25f), beta = powf(8.0f * layers, -0.25f);
    m->post_ln = true;
    tp_scale_weights(&m->params, "c_proj.weight", sqrtf(2.0f * layers) * beta);
    tp_scale_weights(&m->params, "mlp.c_fc.weight", beta);
    for (int l = 0; l < layers; l++) {
        depth[l].skip = alpha;
        tp_tensor *w = m->blocks[l].c_attn_w;
        for (int r = 0; r < c; r++)
            for (int j = 2 * c; j < 3 * c; j++)
                w->data[(long)r * 3 * c + j] *= beta;
    }
}
/* <<tp oversmoothing: commands>> */
static tp_gpt *remedy_model(remedy which, tp_rng *drop)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){256, smooth_context, smooth_layers,
                                           smooth_heads, smooth_width,
                                           TP_POSITIONS_LEARNED});
    tp_block_depth *depth = tp_gpt_depth(m);
    if (which == REZERO)
        tp_gpt_add_rezero(m);
    tp_rng init = tp_rng_seeded((uint64_t)smooth_seed, 1);
    tp_gpt_init(m, &init);
    if (which == DEEPNORM)
        deepnorm(m, depth);
    for (int l = 0; l < smooth_layers; l++) {
        depth[l].no_skip = which == NO_SKIP;
        depth[l].temperature = which == TEMPERATURE ? smooth_temperature : 0;
        depth[l].drop_head = which == DROPHEAD ? smooth_drop : 0;
        depth[l].rng = drop;
    }
    return m;
}
/* <<tp oversmoothing: commands>> */
static double mean_entropy(const tp_tensor *w)
{
    int h = w->shape.dim[1], t = w->shape.dim[2];
    double total = 0.0;
    for (long row = 0; row < (long)h * t; row++)
        for (int j = 0; j < t; j++) {
            double p = w->data[row * t + j];
            total -= p > 0 ? p * log(p) : 0.0;
        }
    return total / ((double)h * t);
}
/* <<tp oversmoothing: commands>> */
static void measure_gpt(tp_gpt *m, gpt_windows *w, const char *label,
                        FILE *tsv)
{
    int layers = m->config.n_layer;
    tp_arena *arena = tp_arena_new("measure");
    tp_tensor **hidden = tp_arena_zeroed(arena, (size_t)layers,
                                         sizeof *hidden);
    float saved = m->depth[0].drop_head;
    for (int l = 0; l < layers; l++)
        m->depth[l].output = &hidden[l], m->depth[l].drop_head = 0;
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng keep = w->rng;
    w->rng = tp_rng_seeded(4242, 4);
    gpt_windows_loss(&g, 0, w);
    w->rng = keep;
    for (int l = 0; l < layers; l++)
        m->depth[l].output = NULL;
    tp_tensor **maps = tp_gpt_attention_maps(m, w->inputs, w->context, arena);
    for (int l = 0; l < layers; l++) {
        layer_row(tsv, label, l + 1, hidden[l], mean_entropy(maps[l]));
        m->depth[l].drop_head = saved;
    }
    tp_arena_free(arena);
}
/* <<tp oversmoothing: commands>> */
static void train_remedy(remedy which, const tp_corpus *corpus, int *tokens,
                         int *inputs, long train, double unigram, FILE *tsv)
{
    tp_rng drop = tp_rng_seeded((uint64_t)smooth_seed, 5);
    tp_gpt *m = remedy_model(which, &drop);
    gpt_windows w = {.m = m, .tokens = tokens, .train = train,
                     .total = corpus->size, .batch = smooth_batch,
                     .context = smooth_context, .inputs = inputs,
                     .targets = inputs + smooth_batch * smooth_context,
                     .rng = tp_rng_seeded((uint64_t)smooth_seed, 2)};
    char label[64];
    snprintf(label, sizeof label, "%s@0", remedy_names[which]);
    if (which == BASELINE || which == NO_SKIP)
        measure_gpt(m, &w, label, tsv);
    /* <<oversmoothing: train, measure, report>> */
    tp_optimizer *opt = tp_adamw_new(&m->params, 0.95f, 0.1f);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = smooth_steps, .warmup = smooth_steps / 10 + 1,
                          .max_lr = smooth_lr, .min_lr = smooth_lr / 10,
                          .clip = 1.0};
    float *losses = malloc((size_t)smooth_steps * sizeof *losses);
    tp_check(losses != NULL, "out of memory");
    tp_error error;
    bool good = tp_train(&g, &m->params, opt, &o, gpt_windows_loss, &w, losses,
                         &error) == 0;
    double validation = good ? gpt_windows_validation(&w, 2) : NAN;
    snprintf(label, sizeof label, "%s", remedy_names[which]);
    if (good)
        measure_gpt(m, &w, label, tsv);
    printf("# loss %s %.4f %.4f (unigram %.4f)\n", label,
           good ? (double)losses[smooth_steps - 1] : NAN, validation, unigram);
    if (tsv != NULL)
        fprintf(tsv, "# loss %s %.4f %.4f\n", label,
                good ? (double)losses[smooth_steps - 1] : NAN, validation);
    free(losses);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_gpt_free(m);
}
/* <<tp oversmoothing: commands>> */
static int oversmoothing_compare(void)
{
    if (smooth_width % smooth_heads != 0) {
        fprintf(stderr, "tp oversmoothing compare: --heads %d does not divide "
                "--width %d\n", smooth_heads, smooth_width);
        return 1;
    }
    if (smooth_drop >= 1 || smooth_temperature <= 0) {
        fprintf(stderr, "tp oversmoothing compare: --drop-head must be below 1 "
                "and --temperature above 0\n");
        return 1;
    }
    if (smooth_tsv != NULL && check_output("oversmoothing compare", smooth_tsv))
        return 1;
    FILE *tsv = smooth_tsv != NULL ? fopen(smooth_tsv, "w") : NULL;
    /* <<oversmoothing compare: describe the run>> */
    tp_describe_machine(stdout);
    char about[256];
    snprintf(about, sizeof about, "# written by: tp oversmoothing compare\n"
             "# %d layers, width %d, %d heads, %d tokens; GPT: batch %d, %d steps, "
             "rate %g\n", smooth_layers, smooth_width, smooth_heads, smooth_context,
             smooth_batch, smooth_steps, (double)smooth_lr);
    fputs(about, stdout);
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fputs(about, tsv);
        fprintf(tsv, "model\tlayer\tcosine\teffective_rank\tentropy\n");
    }
    pure_stack(false, tsv);
    pure_stack(true, tsv);
    /* <<oversmoothing compare: train each remedy>> */
    tp_corpus corpus = tp_corpus_book(), train, validation;
    tp_corpus_split(&corpus, &train, &validation);
    int *tokens = malloc((size_t)corpus.size * sizeof *tokens);
    int *inputs = malloc(2 * (size_t)smooth_batch * smooth_context * sizeof(int));
    tp_check(tokens != NULL && inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, tokens);
    double unigram = unigram_loss(&train, &validation);
    catch_interrupts();
    for (int r = 0; r < REMEDIES && !interrupted; r++)
        train_remedy((remedy)r, &corpus, tokens, inputs, train.size, unigram, tsv);
    free(tokens), free(inputs);
    if (tsv != NULL && fclose(tsv) != 0) {
        fprintf(stderr, "tp oversmoothing compare: cannot write %s\n",
                smooth_tsv);
        return 1;
    }
    return interrupted ? EXIT_INTERRUPTED : 0;
}

/* <<tp oversmoothing: figures>> */
static int model_series(const table *t, const char *label, int column,
                        double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 257; r++)
        if (strcmp(t->label[r], label) == 0 && isfinite(t->value[r][column]))
            x[n] = t->value[r][0], y[n++] = t->value[r][column];
    return n;
}

static void smoothing_panel(tp_plot *p, const table *t, const char *const *labels,
                            int n_labels, int column, bool legend)
{
    tp_plot_frame(p);
    tp_legend_entry entries[8];
    for (int i = 0; i < n_labels; i++) {
        double x[257], y[257];
        int n = model_series(t, labels[i], column, x, y);
        bool dashed = strchr(labels[i], '@') != NULL;
        tp_plot_line(p, x, y, n, tp_category(i), dashed, false);
        entries[i] = (tp_legend_entry){labels[i], tp_category(i), dashed};
    }
    if (legend)
        tp_plot_legend(p, entries, n_labels, TP_BOTTOM_RIGHT);
}
/* <<tp oversmoothing: figures>> */
static const char *const stacks[4] = {"attention", "attention+skip",
                                      "pre-LN@0", "no-skip@0"};
static const char *const remedies[6] = {"pre-LN", "no-skip", "ReZero",
                                        "DeepNorm", "DropHead", "temperature"};

static double deepest(const table *t)
{
    double most = 1;
    for (int r = 0; r < t->rows; r++)
        most = fmax(most, t->value[r][0]);
    return most;
}

static int draw_oversmoothing_layers(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/oversmoothing.tsv", t, error);
    if (status == 0) {
        tp_axis layers = {.lo = 0, .hi = deepest(t), .label = "layer"};
        tp_axis cosine = {.lo = -0.1, .hi = 1.05,
                          .label = "mean cosine between tokens"};
        tp_plot before = {d, 46, 12, 165, 150, layers, cosine};
        tp_plot after = {d, 262, 12, 165, 150, layers, cosine};
        smoothing_panel(&before, t, stacks, 4, 1, true);
        smoothing_panel(&after, t, remedies, 6, 1, true);
    }
    free(t);
    return status;
}
/* <<tp oversmoothing: figures>> */
static double remedy_loss(const table *t, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, " loss %s ", name);
    const char *at = strstr(t->comments, key);
    double train, validation = NAN;
    if (at == NULL || sscanf(at + strlen(key), "%lf %lf", &train,
                             &validation) != 2)
        return NAN;
    return validation;
}

static void card_smoothing_problem(tp_draw *d, tp_rect problem, const table *t)
{
    double px = problem.x, py = problem.y;
    tp_axis layers = {.lo = 0, .hi = deepest(t)};
    tp_plot p = {d, px + 30, py + 34, 200, 80, layers,
                 {.lo = -0.1, .hi = 1.05}};
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, px + 130, py + 22, 0.5, 0.0, 7,
            "mean cosine between tokens, against the layer");
    smoothing_panel(&p, t, stacks, 4, 1, true);
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, px + 12, py + 142, 0.0, 0.0, 7,
            "<b>validation loss of the trained GPT</b>");
    for (int i = 0; i < 6; i++) {
        char line[64];
        snprintf(line, sizeof line, "%s  %.3f", remedies[i],
                 remedy_loss(t, remedies[i]));
        tp_set_color(d->cr, tp_category(i));
        tp_text(d, px + 12 + 115 * (i / 3), py + 158 + 12 * (i % 3), 0.0,
                0.0, 7, line);
    }
}
/* <<tp oversmoothing: figures>> */
static void card_smoothing_solutions(tp_draw *d, tp_rect solutions)
{
    static const char *const solution[5][2] = {
        {"Skip connections", "x + f(x): the input is never averaged"},
        {"ReZero", "x + g f(x), a gate that starts at 0"},
        {"DeepNorm", "LN(\xce\xb1x + f(x)), small branches"},
        {"DropHead", "drop whole heads in training"},
        {"Attention temperature", "sharper weights, less averaging"},
    };
    for (int i = 0; i < 5; i++) {
        double y = solutions.y + 22 + 40 * i;
        char name[64];
        snprintf(name, sizeof name, "<b>%s</b>", solution[i][0]);
        cairo_set_source_rgb(d->cr, 0, 0, 0);
        tp_text(d, solutions.x + 8, y, 0.0, 0.0, 8, name);
        cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
        tp_text(d, solutions.x + 8, y + 11, 0.0, 0.0, 7, solution[i][1]);
        tp_text(d, solutions.x + 8, y + 21, 0.0, 0.0, 7, "this chapter");
    }
}

static int draw_card_oversmoothing(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/oversmoothing.tsv", t, error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>11. Over-smoothing</b>",
                "Attention averages: with depth, every token becomes the same",
                "Data: tp oversmoothing compare (make measure-oversmoothing)",
                &problem, &solutions);
        card_smoothing_problem(d, problem, t);
        card_smoothing_solutions(d, solutions);
    }
    free(t);
    return status;
}

static const command oversmoothing_commands[] = {
    /* <<tp oversmoothing: command table>> */
    {"oversmoothing compare", "how alike the tokens become with depth: pure "
     "attention, and a deep GPT with each remedy", oversmoothing_options,
     oversmoothing_compare, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure oversmoothing_figures[] = {
    /* <<tp oversmoothing: figure table>> */
    {"oversmoothing-layers", "how alike the tokens are, layer by layer: random "
     "stacks, and a deep GPT trained with each remedy", 440, 200,
     draw_oversmoothing_layers},
    /* <<tp oversmoothing: figure table>> */
    {"card-oversmoothing", "the card of over-smoothing", 440, 320,
     draw_card_oversmoothing},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part oversmoothing_part = {oversmoothing_commands,
                                         oversmoothing_figures};
