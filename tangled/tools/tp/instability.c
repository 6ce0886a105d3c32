/* Generated from book/350-instability.nw; edit the book, not this file. */
#include "program.h"

/* <<tp instability: recipes>> */
typedef struct recipe {
    const char *name;
    bool pre_ln, warmup, adamw, clip, scaled_init, low_beta2, qk_norm;
} recipe;

enum { RECIPES = 12 };
static const recipe recipes[RECIPES] = {
    {"bare", 0, 0, 0, 0, 0, 0, 0},
    {"pre-LN", 1, 0, 0, 0, 0, 0, 0},
    {"warm-up", 0, 1, 0, 0, 0, 0, 0},
    {"pre-LN+warm-up", 1, 1, 0, 0, 0, 0, 0},
    {"AdamW", 0, 0, 1, 0, 0, 0, 0},
    {"clipping", 0, 0, 0, 1, 0, 0, 0},
    {"scaled-init", 0, 0, 0, 0, 1, 0, 0},
    {"beta2-0.95", 0, 0, 0, 0, 0, 1, 0},
    {"QK-norm", 0, 0, 0, 0, 0, 0, 1},
    {"GPT-2", 1, 1, 1, 1, 1, 1, 0},
    {"all", 1, 1, 1, 1, 1, 1, 1},
    {"pre-LN+warm-up+scaled-init", 1, 1, 0, 0, 1, 0, 0},
};

/* <<tp instability: commands>> */
static int inst_layers = 12, inst_width = 64, inst_heads = 4,
           inst_context = 32, inst_batch = 8, inst_steps = 150,
           inst_warmup = 30, inst_seed = 1, inst_log = 10,
           inst_validation = 8;
static float inst_lr = 1e-2f, inst_clip = 1.0f, inst_spike = 2.0f;
static const char *inst_tsv = NULL, *inst_only = NULL;

#define INSTABILITY_MODEL_OPTIONS                                             \
    {"--layers", OPTION_INT, &inst_layers, 1, 256, "blocks L"},               \
    {"--width", OPTION_INT, &inst_width, 4, 65536, "the model width C"},     \
    {"--heads", OPTION_INT, &inst_heads, 1, 256, "attention heads"},         \
    {"--context", OPTION_INT, &inst_context, 2, 4096, "tokens per sequence"},\
    {"--batch", OPTION_INT, &inst_batch, 1, 4096, "sequences per step"},     \
    {"--seed", OPTION_INT, &inst_seed, 0, 1000000000, "the seed"},           \
    {"--tsv", OPTION_STRING, &inst_tsv, 0, 0,                                \
     "also write the results as a table, for the figures"}

#define INSTABILITY_VALIDATION_OPTION                                         \
    {"--validation", OPTION_INT, &inst_validation, 1, 100000,                \
     "batches of the validation text a run's verdict is judged on"}
/* <<tp instability: commands>> */
static tp_gpt *recipe_model(const recipe *r)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){256, inst_context, inst_layers,
                                           inst_heads, inst_width,
                                           TP_POSITIONS_LEARNED});
    m->post_ln = !r->pre_ln;
    if (r->qk_norm)
        tp_gpt_add_qk_norm(m);
    tp_rng init = tp_rng_seeded((uint64_t)inst_seed, 1);
    tp_gpt_init(m, &init);
    if (!r->scaled_init)
        tp_scale_weights(&m->params, "c_proj.weight",
                         sqrtf(2.0f * (float)inst_layers));
    return m;
}

static tp_optimizer *recipe_optimizer(const recipe *r, const tp_gpt *m)
{
    return tp_optimizer_new(&m->params, (tp_optimizer_config){
        .kind = r->adamw ? TP_ADAMW : TP_ADAM, .beta1 = 0.9f,
        .beta2 = r->low_beta2 ? 0.95f : 0.999f, .eps = 1e-8f,
        .weight_decay = 0.1f});
}
/* <<tp instability: commands>> */
typedef struct book_bytes {
    int *tokens, *inputs;
    long train, total;
    double unigram;
} book_bytes;

static book_bytes load_book_bytes(int batch, int context)
{
    tp_corpus corpus = tp_corpus_book(), train, validation;
    tp_corpus_split(&corpus, &train, &validation);
    book_bytes b = {.train = train.size, .total = corpus.size,
                    .unigram = unigram_loss(&train, &validation)};
    b.tokens = malloc((size_t)corpus.size * sizeof *b.tokens);
    b.inputs = malloc(2 * (size_t)batch * context * sizeof *b.inputs);
    tp_check(b.tokens != NULL && b.inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, b.tokens);
    return b;
}

static gpt_windows book_windows(const book_bytes *b, tp_gpt *m)
{
    return (gpt_windows){.m = m, .tokens = b->tokens, .train = b->train,
                         .total = b->total, .batch = inst_batch,
                         .context = inst_context, .inputs = b->inputs,
                         .targets = b->inputs + inst_batch * inst_context,
                         .rng = tp_rng_seeded((uint64_t)inst_seed, 2)};
}
/* <<tp instability: commands>> */
typedef struct run_result {
    float first, last[10];
    long steps, spikes;
    double final, validation, largest_ratio, seconds;
    bool not_a_number;
} run_result;

typedef struct instability_run {
    gpt_windows w;
    const recipe *r;
    float *snapshot;  /* the parameters before the step */
    run_result result;
    FILE *tsv;
} instability_run;
/* <<tp instability: commands>> */
static bool instability_progress(const tp_progress *p, void *context)
{
    instability_run *run = context;
    run_result *res = &run->result;
    double ratio = tp_update_ratio(&run->w.m->params, run->snapshot);
    if (p->step == 0)
        res->first = p->loss;
    res->last[p->step % 10] = p->loss;
    res->steps = p->step + 1;
    res->spikes = p->spikes;
    res->largest_ratio = fmax(res->largest_ratio, ratio);
    if (p->spike)
        printf("%-12s spike at step %ld: loss %.3f, running mean %.3f\n",
               run->r->name, p->step + 1, (double)p->loss,
               (double)p->loss_mean);
    if (run->tsv != NULL && (p->step == 0 || (p->step + 1) % inst_log == 0))
        fprintf(run->tsv, "%s\t%ld\t%.4f\t%.4g\t%.4g\t%.4g\n", run->r->name,
                p->step + 1, (double)p->loss, p->grad_norm, ratio,
                (double)p->lr);
    return !interrupted;
}
/* <<tp instability: commands>> */
static run_result train_recipe(const recipe *r, const book_bytes *b,
                               float lr, long steps, FILE *tsv)
{
    tp_gpt *m = recipe_model(r);
    tp_optimizer *opt = recipe_optimizer(r, m);
    instability_run run = {.w = book_windows(b, m), .r = r, .tsv = tsv,
                           .snapshot = tp_params_snapshot(&m->params)};
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = steps, .warmup = r->warmup ? inst_warmup : 1,
                          .max_lr = lr, .min_lr = lr / 10,
                          .clip = r->clip ? inst_clip : 0.0,
                          .spike_factor = inst_spike,
                          .progress = instability_progress,
                          .progress_context = &run};
    double start = tp_seconds();
    tp_error error;
    run.result.not_a_number = tp_train(&g, &m->params, opt, &o,
                                       gpt_windows_loss, &run.w, NULL,
                                       &error) != 0;
    /* <<instability: the run's final numbers>> */
    run_result *res = &run.result;
    res->seconds = tp_seconds() - start;
    int kept = res->steps < 10 ? (int)res->steps : 10;
    res->final = 0.0;
    for (int i = 0; i < kept; i++)
        res->final += res->last[i] / kept;
    res->validation = res->not_a_number ? NAN
                                        : gpt_windows_validation(&run.w,
                                                                inst_validation);
    if (res->not_a_number)
        res->final = NAN;
    free(run.snapshot);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_gpt_free(m);
    return run.result;
}
/* <<tp instability: commands>> */
typedef enum verdict { TRAINED, STALLED, DIVERGED } verdict;
static const char *const verdict_names[3] = {"trained", "stalled",
                                             "diverged"};

static verdict judge(const run_result *r, double unigram)
{
    if (r->not_a_number || !(r->final < r->first))
        return DIVERGED;
    return r->validation > unigram ? STALLED : TRAINED;
}
/* <<tp instability: commands>> */
static const option instability_compare_options[] = {
    INSTABILITY_MODEL_OPTIONS,
    {"--steps", OPTION_INT, &inst_steps, 1, 1000000, "training steps"},
    {"--lr", OPTION_FLOAT, &inst_lr, 0, 1, "the peak learning rate"},
    {"--warmup", OPTION_INT, &inst_warmup, 1, 1000000,
     "warm-up steps of the recipes that warm up"},
    {"--clip", OPTION_FLOAT, &inst_clip, 0, 1000000,
     "the gradient norm of the recipes that clip"},
    {"--spike", OPTION_FLOAT, &inst_spike, 0, 1000,
     "a loss above this times the running mean is a spike (0: none)"},
    {"--log-every", OPTION_INT, &inst_log, 1, 1000000,
     "steps between rows of the table"},
    {"--only", OPTION_STRING, &inst_only, 0, 0,
     "the recipes to run, separated by commas (default: all)"},
    INSTABILITY_VALIDATION_OPTION,
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp instability: commands>> */
static bool chosen(const char *name)
{
    if (inst_only == NULL)
        return true;
    size_t n = strlen(name);
    for (const char *at = strstr(inst_only, name); at != NULL;
         at = strstr(at + 1, name))
        if ((at == inst_only || at[-1] == ',')
            && (at[n] == '\0' || at[n] == ','))
            return true;
    return false;
}

static int check_recipes(const char *command)
{
    int n = 0;
    for (int i = 0; i < RECIPES; i++)
        n += chosen(recipes[i].name);
    if (n > 0)
        return 0;
    fprintf(stderr, "tp %s: --only names no recipe (they are: bare, pre-LN, "
            "warm-up, pre-LN+warm-up, AdamW, clipping, scaled-init, "
            "beta2-0.95, QK-norm, GPT-2, all, pre-LN+warm-up+scaled-init)\n", command);
    return -1;
}
/* <<tp instability: commands>> */
static int check_settings(const char *command, long steps)
{
    const char *problem = NULL;
    char line[160];
    if (inst_warmup > steps)
        snprintf(line, sizeof line, "--warmup %d is longer than the run (%ld "
                 "steps)", inst_warmup, steps), problem = line;
    else if (inst_width % inst_heads != 0)
        snprintf(line, sizeof line, "--heads %d does not divide --width %d",
                 inst_heads, inst_width), problem = line;
    if (problem != NULL)
        fprintf(stderr, "tp %s: %s\n", command, problem);
    if (problem == NULL && inst_tsv != NULL
        && check_output(command, inst_tsv) != 0)
        return -1;
    return problem == NULL ? 0 : -1;
}
/* <<tp instability: commands>> */
static void describe_model(FILE *out, const char *command, long steps,
                           const char *rates, const book_bytes *b)
{
    fprintf(out, "# written by: tp %s\n# GPT: %d layers, width %d, %d heads; "
            "context %d, batch %d, %ld steps\n# peak learning rate%s %s, "
            "warm-up %d, clipping %g, spike factor %g\n# unigram baseline "
            "%.4f; validation loss on %d batches\n", command, inst_layers,
            inst_width, inst_heads, inst_context, inst_batch, steps,
            strchr(rates, ',') ? "s" : "", rates, inst_warmup,
            (double)inst_clip, (double)inst_spike, b->unigram,
            inst_validation);
}
/* <<tp instability: commands>> */
enum { RATES_TEXT = 160 };

static void rates_text(const float *rates, int n, char text[RATES_TEXT])
{
    int used = 0;
    text[0] = '\0';
    for (int k = 0; k < n && used < RATES_TEXT; k++)
        used += snprintf(text + used, RATES_TEXT - (size_t)used, "%s%g",
                         k > 0 ? ", " : "", (double)rates[k]);
}
/* <<tp instability: commands>> */
static FILE *open_table(const char *command, long steps, const float *rates,
                        int n_rates, const book_bytes *b, const char *columns)
{
    FILE *tsv = inst_tsv != NULL ? fopen(inst_tsv, "w") : NULL;
    char text[RATES_TEXT];
    rates_text(rates, n_rates, text);
    tp_describe_machine(stdout);
    describe_model(stdout, command, steps, text, b);
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        describe_model(tsv, command, steps, text, b);
        fprintf(tsv, "%s\n", columns);
    }
    return tsv;
}

static int close_table(const char *command, FILE *tsv, book_bytes *b)
{
    free(b->tokens), free(b->inputs);
    if (tsv != NULL && fclose(tsv) != 0) {
        fprintf(stderr, "tp %s: cannot write %s\n", command, inst_tsv);
        return 1;
    }
    return interrupted ? EXIT_INTERRUPTED : 0;
}
/* <<tp instability: commands>> */
static int instability_compare(void)
{
    if (check_settings("instability compare", inst_steps) != 0
        || check_recipes("instability compare") != 0)
        return 1;
    book_bytes b = load_book_bytes(inst_batch, inst_context);
    FILE *tsv = open_table("instability compare", inst_steps, &inst_lr, 1,
                           &b, "recipe\tstep\tloss\tgrad_norm\tupdate_ratio\tlr");
    /* <<instability compare: run the recipes and report>> */
    catch_interrupts();
    printf("# recipe        first   final  validation  spikes  largest update  "
           "seconds  verdict\n");
    for (int i = 0; i < RECIPES && !interrupted; i++) {
        if (!chosen(recipes[i].name))
            continue;
        run_result r = train_recipe(&recipes[i], &b, inst_lr, inst_steps, tsv);
        char line[192];
        snprintf(line, sizeof line, "# %-12s %7.3f %7.3f %11.3f %7ld %15.3g "
                 "%8.1f  %s\n", recipes[i].name, (double)r.first, r.final,
                 r.validation, r.spikes, r.largest_ratio, r.seconds,
                 verdict_names[judge(&r, b.unigram)]);
        fputs(line, stdout);
        fflush(stdout);
        if (tsv != NULL)
            fputs(line, tsv);
    }
    return close_table("instability compare", tsv, &b);
}
/* <<tp instability: commands>> */
static int grad_steps = 50;

static const option instability_gradients_options[] = {
    INSTABILITY_MODEL_OPTIONS,
    {"--steps", OPTION_INT, &grad_steps, 1, 1000000,
     "training steps between the two measurements"},
    {"--lr", OPTION_FLOAT, &inst_lr, 0, 1, "the learning rate"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static void mean_layer_norms(gpt_windows *w, double *norms)
{
    int layers = w->m->config.n_layer;
    double *one = calloc((size_t)layers, sizeof *one);
    tp_check(one != NULL, "out of memory");
    tp_rng saved = w->rng;
    w->rng = tp_rng_seeded(777, 3);
    tp_arena *arena = tp_arena_new("gradients");
    tp_graph g = tp_graph_on(arena);
    for (int l = 0; l < layers; l++)
        norms[l] = 0.0;
    for (int batch = 0; batch < 8; batch++) {
        tp_zero_grad(&w->m->params);
        tp_backward(&g, gpt_windows_loss(&g, 0, w));
        tp_graph_reset(&g);
        tp_layer_grad_norms(&w->m->params, layers, one);
        for (int l = 0; l < layers; l++)
            norms[l] += one[l] / 8;
    }
    tp_zero_grad(&w->m->params);
    w->rng = saved;
    tp_arena_free(arena);
    free(one);
}
/* <<tp instability: commands>> */
static void gradients_of(const recipe *r, const book_bytes *b, FILE *tsv)
{
    tp_gpt *m = recipe_model(r);
    tp_optimizer *opt = recipe_optimizer(r, m);
    gpt_windows w = book_windows(b, m);
    double *norms = calloc((size_t)inst_layers, sizeof *norms);
    tp_check(norms != NULL, "out of memory");
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = grad_steps, .warmup = 1, .max_lr = inst_lr,
                          .min_lr = inst_lr};
    for (int when = 0; when < 2; when++) {
        mean_layer_norms(&w, norms);
        printf("%-7s step %4d  gradient norm per block:", r->name,
               when * grad_steps);
        for (int l = 0; l < inst_layers; l++) {
            printf(" %.3g", norms[l]);
            if (tsv != NULL)
                fprintf(tsv, "%s@%d\t%d\t%.5g\n", r->name, when * grad_steps,
                        l + 1, norms[l]);
        }
        printf("\n");
        if (when == 0)
            tp_train(&g, &m->params, opt, &o, gpt_windows_loss, &w, NULL, NULL);
    }
    free(norms);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_gpt_free(m);
}
/* <<tp instability: commands>> */
static int instability_gradients(void)
{
    if (inst_width % inst_heads != 0) {
        fprintf(stderr, "tp instability gradients: --heads %d does not divide "
                "--width %d\n", inst_heads, inst_width);
        return 1;
    }
    if (inst_tsv != NULL && check_output("instability gradients", inst_tsv))
        return 1;
    book_bytes b = load_book_bytes(inst_batch, inst_context);
    FILE *tsv = open_table("instability gradients", grad_steps, &inst_lr, 1,
                           &b, "model@step\tblock\tgrad_norm");
    gradients_of(&recipes[0], &b, tsv);  /* bare: post-LN */
    gradients_of(&recipes[1], &b, tsv);  /* pre-LN */
    return close_table("instability gradients", tsv, &b);
}
/* <<tp instability: commands>> */
static const char *grid_rates = "1e-3,1e-2,1e-1";
static int grid_steps = 100, grid_seeds = 1;

static const option instability_grid_options[] = {
    INSTABILITY_MODEL_OPTIONS,
    {"--steps", OPTION_INT, &grid_steps, 1, 1000000, "training steps a run"},
    {"--rates", OPTION_STRING, &grid_rates, 0, 0,
     "peak learning rates, separated by commas"},
    {"--warmup", OPTION_INT, &inst_warmup, 1, 1000000,
     "warm-up steps of the recipes that warm up"},
    {"--clip", OPTION_FLOAT, &inst_clip, 0, 1000000,
     "the gradient norm of the recipes that clip"},
    {"--only", OPTION_STRING, &inst_only, 0, 0,
     "the recipes (default: bare,pre-LN,warm-up,pre-LN+warm-up,GPT-2,all)"},
    {"--seeds", OPTION_INT, &grid_seeds, 1, 100,
     "runs of each recipe at each rate, from the seeds --seed, --seed + 1, ..."},
    INSTABILITY_VALIDATION_OPTION,
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp instability: commands>> */
enum { MAX_RATES = 8 };

static int parse_rates(float rates[MAX_RATES])
{
    int n = 0;
    const char *at = grid_rates;
    while (n < MAX_RATES) {
        char *end;
        errno = 0;
        double r = strtod(at, &end);
        if (end == at || errno != 0 || !(r > 0 && r <= 1)
            || (*end != ',' && *end != '\0'))
            break;
        rates[n++] = (float)r;
        if (*end == '\0')
            return n;
        at = end + 1;
    }
    fprintf(stderr, "tp instability grid: --rates must be up to %d numbers "
            "in (0, 1] separated by commas, not '%s'\n", MAX_RATES, grid_rates);
    return -1;
}
/* <<tp instability: commands>> */
static int instability_grid(void)
{
    float rates[MAX_RATES];
    int n = parse_rates(rates);
    if (inst_only == NULL)
        inst_only = "bare,pre-LN,warm-up,pre-LN+warm-up,GPT-2,all";
    if (n < 0 || check_settings("instability grid", grid_steps) != 0
        || check_recipes("instability grid") != 0)
        return 1;
    book_bytes b = load_book_bytes(inst_batch, inst_context);
    FILE *tsv = open_table("instability grid", grid_steps, rates, n, &b,
                           "recipe\tlr\tfirst\tfinal\tvalidation\tverdict"
                           "\tseed");
    /* <<instability grid: every recipe at every rate>> */
    catch_interrupts();
    printf("# recipe          rate  seed   first   final  validation  verdict\n");
    int first_seed = inst_seed;
    for (int i = 0; i < RECIPES && !interrupted; i++)
        for (int k = 0; k < n && chosen(recipes[i].name) && !interrupted; k++) {
            int trained = 0;
            for (int s = 0; s < grid_seeds && !interrupted; s++) {
                inst_seed = first_seed + s;
                /* <<instability grid: one run>> */
                run_result r = train_recipe(&recipes[i], &b, rates[k], grid_steps, NULL);
                verdict v = judge(&r, b.unigram);
                trained += v == TRAINED;
                printf("# %-14s %7.0e %5d %7.3f %7.3f %11.3f  %s\n", recipes[i].name,
                       (double)rates[k], inst_seed, (double)r.first, r.final, r.validation,
                       verdict_names[v]);
                fflush(stdout);
                if (tsv != NULL)
                    fprintf(tsv, "%s\t%g\t%.4f\t%.4f\t%.4f\t%d\t%d\n", recipes[i].name,
                            (double)rates[k], (double)r.first, r.final, r.validation, (int)v,
                            inst_seed);
            }
            /* <<instability grid: the seeds' count>> */
            if (grid_seeds > 1 && !interrupted) {
                char line[160];
                snprintf(line, sizeof line, "# %s at %g: %d of %d seeds trained\n",
                         recipes[i].name, (double)rates[k], trained, grid_seeds);
                fputs(line, stdout);
                if (tsv != NULL)
                    fputs(line, tsv);
            }
        }
    inst_seed = first_seed;
    return close_table("instability grid", tsv, &b);
}

/* <<tp instability: figures>> */
enum { CURVE_RECIPES = 6 };
static const char *const curve_recipes[CURVE_RECIPES] = {
    "bare", "pre-LN", "warm-up", "pre-LN+warm-up", "GPT-2", "all"};

static int recipe_series(const table *t, const char *name, int column,
                         double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 256; r++)
        if (strcmp(t->label[r], name) == 0 && isfinite(t->value[r][column])) {
            x[n] = t->value[r][0];
            y[n++] = t->value[r][column];
        }
    return n;
}
/* <<tp instability: figures>> */
static void curves_panel(tp_plot *p, const table *t, int column, bool legend)
{
    tp_plot_frame(p);
    tp_legend_entry entries[CURVE_RECIPES];
    for (int i = 0; i < CURVE_RECIPES; i++) {
        double x[256], y[256];
        int n = recipe_series(t, curve_recipes[i], column, x, y);
        tp_plot_line(p, x, y, n, tp_category(i), false, false);
        entries[i] = (tp_legend_entry){curve_recipes[i], tp_category(i),
                                       false};
    }
    if (legend)
        tp_plot_legend(p, entries, CURVE_RECIPES, TP_TOP_RIGHT);
}

static double last_step(const table *t)
{
    double most = 1;
    for (int r = 0; r < t->rows; r++)
        most = fmax(most, t->value[r][0]);
    return most;
}
/* <<tp instability: figures>> */
static int draw_instability_curves(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/instability-compare.tsv", t, error);
    if (status == 0) {
        tp_axis steps = {.lo = 0, .hi = last_step(t), .label = "step"};
        tp_plot loss = {d, 46, 12, 160, 150, steps,
                        {.lo = 2.0, .hi = 6.0, .label = "training loss"}};
        tp_plot norm = {d, 262, 12, 160, 150, steps,
                        {.lo = 0.01, .hi = 100, .log = true,
                         .label = "gradient norm (before clipping)"}};
        curves_panel(&loss, t, 1, true);
        curves_panel(&norm, t, 2, false);
    }
    free(t);
    return status;
}
/* <<tp instability: figures>> */
static const unsigned verdict_colours[3] = {0x009E73, 0xE69F00, 0xD55E00};

static int grid_rows(const table *t, const char *names[16], double rates[8],
                     int *n_rates)
{
    int rows = 0;
    *n_rates = 0;
    for (int r = 0; r < t->rows; r++) {
        bool seen = false;
        for (int i = 0; i < rows; i++)
            seen |= strcmp(names[i], t->label[r]) == 0;
        if (!seen && rows < 16)
            names[rows++] = t->label[r];
        seen = false;
        for (int k = 0; k < *n_rates; k++)
            seen |= rates[k] == t->value[r][0];
        if (!seen && *n_rates < 8)
            rates[(*n_rates)++] = t->value[r][0];
    }
    return rows;
}
/* <<tp instability: figures>> */
static int seed_span(const table *t, int *first)
{
    int lo = 0, hi = 0;
    for (int r = 0; r < t->rows && t->cols > 5; r++) {
        int seed = (int)t->value[r][5];
        lo = r == 0 || seed < lo ? seed : lo;
        hi = r == 0 || seed > hi ? seed : hi;
    }
    *first = lo;
    return hi - lo < 8 ? hi - lo + 1 : 1;
}

static void grid_cells(tp_draw *d, const table *t, double x0, double y0,
                       double cw, double ch, double size)
{
    const char *names[16];
    double rates[8];
    int n_rates, rows = grid_rows(t, names, rates, &n_rates);
    int first_seed, seeds = seed_span(t, &first_seed);
    double slice = cw / seeds;
    for (int r = 0; r < t->rows; r++) {
        int i = 0, k = 0;
        while (strcmp(names[i], t->label[r]) != 0)
            i++;
        while (rates[k] != t->value[r][0])
            k++;
        double x = x0 + k * cw
                   + (seeds > 1 ? slice * ((int)t->value[r][5] - first_seed)
                                : 0);
        tp_color fill = tp_rgb(verdict_colours[(int)t->value[r][4]]);
        tp_rounded_box(d, x, y0 + i * ch, slice - 2, ch - 2, 2, fill, fill);
        char text[32];
        snprintf(text, sizeof text, isfinite(t->value[r][3]) ? "%.2f" : "NaN",
                 t->value[r][3]);
        cairo_set_source_rgb(d->cr, 1, 1, 1);
        tp_text(d, x + slice / 2 - 1, y0 + (i + 0.5) * ch - 1, 0.5, 0.5, size,
                text);
    }
    /* <<instability grid figure: the labels>> */
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    for (int i = 0; i < rows; i++)
        tp_text(d, x0 - 4, y0 + (i + 0.5) * ch - 1, 1.0, 0.5, size, names[i]);
    for (int k = 0; k < n_rates; k++) {
        char rate[16];
        snprintf(rate, sizeof rate, "%g", rates[k]);
        tp_text(d, x0 + (k + 0.5) * cw - 1, y0 - 3, 0.5, 1.0, size, rate);
    }
}
/* <<tp instability: figures>> */
static int draw_instability_grid(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/instability-grid.tsv", t, error);
    if (status == 0) {
        grid_cells(d, t, 110, 38, 62, 22, 8);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, 110 + 2 * 62, 8, 0.5, 0.0, 8, "peak learning rate");
        static const char *const legend[3] = {"trained", "stalled",
                                              "diverged"};
        for (int v = 0; v < 3; v++) {
            tp_color c = tp_rgb(verdict_colours[v]);
            tp_rounded_box(d, 370, 40 + 18 * v, 10, 10, 2, c, c);
            cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
            tp_text(d, 385, 45 + 18 * v, 0.0, 0.5, 8, legend[v]);
        }
    }
    free(t);
    return status;
}
/* <<tp instability: figures>> */
static double unigram_of(const table *t)
{
    const char *at = strstr(t->comments, "unigram baseline ");
    return at != NULL ? strtod(at + strlen("unigram baseline "), NULL) : NAN;
}

static void loss_range(const table *t, double unigram, tp_axis *a)
{
    double lo = unigram, hi = unigram;
    for (int r = 0; r < t->rows; r++)
        if (isfinite(t->value[r][3]))
            lo = fmin(lo, t->value[r][3]), hi = fmax(hi, t->value[r][3]);
    a->lo = floor(lo * 10 - 0.5) / 10;
    a->hi = ceil(hi * 10 + 0.5) / 10;
}
/* <<tp instability: figures>> */
enum { DEPTH24_ROWS = 16 };

static int depth24_row(const table *t, int r, const char *const *names,
                       const double *rates, int n_rates)
{
    int i = 0, k = 0;
    while (strcmp(names[i], t->label[r]) != 0)
        i++;
    while (rates[k] != t->value[r][0])
        k++;
    return i * n_rates + k;
}

static void depth24_points(tp_plot *p, const table *t, const char **names,
                           const double *rates, int n_rates, int rows)
{
    for (int r = 0; r < t->rows; r++) {
        int row = depth24_row(t, r, names, rates, n_rates);
        double x = t->value[r][3];
        double y = rows - 1 - row + 0.15 * ((int)t->value[r][5] % 3 - 1);
        if (row < rows && isfinite(x))
            tp_plot_line(p, &x, &y, 1,
                         tp_rgb(verdict_colours[(int)t->value[r][4]]), false,
                         true);
    }
}
/* <<tp instability: figures>> */
static void draw_depth24_plot(tp_draw *d, const table *t)
{
    const char *names[16], *upward[DEPTH24_ROWS];
    char labels[DEPTH24_ROWS][48];
    double rates[8], unigram = unigram_of(t);
    int n_rates, rows = grid_rows(t, names, rates, &n_rates) * n_rates;
    rows = rows < DEPTH24_ROWS ? rows : DEPTH24_ROWS;
    for (int row = 0; row < rows; row++) {
        snprintf(labels[row], sizeof labels[row], "%s at %g",
                 names[row / n_rates], rates[row % n_rates]);
        upward[rows - 1 - row] = labels[row];
    }
    tp_plot p = {d, 150, 12, 270, 190, {.label = "validation loss"},
                 {.lo = -0.5, .hi = rows - 0.5, .names = upward}};
    loss_range(t, unigram, &p.ax);
    tp_plot_frame(&p);
    double x[2] = {unigram, unigram}, y[2] = {-0.5, rows - 0.5};
    tp_plot_line(&p, x, y, 2, tp_rgb(0x555555), true, false);
    cairo_set_source_rgb(d->cr, 0.33, 0.33, 0.33);
    tp_text(d, tp_plot_x(&p, unigram), p.y - 2, 0.5, 1.0, 7,
            "unigram baseline");
    depth24_points(&p, t, names, rates, n_rates, rows);
}

static int draw_instability_depth24(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/instability-depth24.tsv", t, error);
    if (status == 0)
        draw_depth24_plot(d, t);
    free(t);
    return status;
}
/* <<tp instability: figures>> */
static int read_seed_tables(const char *const *paths, int n, table *t,
                            tp_error *error)
{
    table *more = calloc(1, sizeof *more);
    tp_check(more != NULL, "out of memory");
    int status = read_table(paths[0], t, error);
    for (int i = 1; i < n && status == 0; i++) {
        status = read_table(paths[i], more, error);
        if (status == 0 && (more->cols != t->cols
                            || unigram_of(more) != unigram_of(t)
                            || t->rows + more->rows > TABLE_ROWS))
            status = tp_error_set(error, "%s does not match %s (its columns "
                                  "or its unigram baseline), or has too "
                                  "many rows", paths[i], paths[0]);
        for (int r = 0; status == 0 && r < more->rows; r++, t->rows++) {
            memcpy(t->label[t->rows], more->label[r], sizeof t->label[0]);
            memcpy(t->value[t->rows], more->value[r], sizeof t->value[0]);
        }
    }
    free(more);
    return status;
}

static const char *const depth24_wide_tables[2] = {
    "figures/data/instability-depth24-wide-1.tsv",
    "figures/data/instability-depth24-wide-2.tsv"};

static int draw_instability_depth24_wide(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_seed_tables(depth24_wide_tables, 2, t, error);
    if (status == 0)
        draw_depth24_plot(d, t);
    free(t);
    return status;
}
/* <<tp instability: figures>> */
static void gradients_panel(tp_plot *p, const table *t, bool legend)
{
    tp_plot_frame(p);
    tp_legend_entry entries[4];
    char names[4][48];
    int n_entries = 0;
    for (int r = 0; r < t->rows; r++) {
        if (r > 0 && strcmp(t->label[r], t->label[r - 1]) == 0)
            continue;
        double x[256], y[256];
        int n = 0;
        for (int q = r; q < t->rows && strcmp(t->label[q], t->label[r]) == 0
                        && n < 256; q++)
            x[n] = t->value[q][0], y[n++] = t->value[q][1];
        bool later = strstr(t->label[r], "@0") == NULL;
        tp_color c = tp_category(strncmp(t->label[r], "pre", 3) == 0 ? 1 : 0);
        tp_plot_line(p, x, y, n, c, later, true);
        if (n_entries < 4) {
            const char *at = strchr(t->label[r], '@');
            int length = at != NULL ? (int)(at - t->label[r])
                                    : (int)strlen(t->label[r]);
            snprintf(names[n_entries], sizeof names[0], "%.*s, step %s",
                     length, t->label[r], at != NULL ? at + 1 : "0");
            entries[n_entries] = (tp_legend_entry){names[n_entries], c, later};
            n_entries++;
        }
    }
    if (legend)
        tp_plot_legend(p, entries, n_entries, TP_TOP_RIGHT);
}

static int draw_instability_gradients(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/instability-gradients.tsv", t,
                            error);
    if (status == 0) {
        tp_plot p = {d, 50, 12, 300, 150,
                     {.lo = 0.5, .hi = t->value[t->rows - 1][0] + 0.5,
                      .label = "block"},
                     {.lo = 0.001, .hi = 100, .log = true,
                      .label = "gradient norm of the block"}};
        gradients_panel(&p, t, true);
    }
    free(t);
    return status;
}
/* <<tp instability: figures>> */
static void card_problem(tp_draw *d, tp_rect problem, const table *gradients,
                         const table *curves, const table *grid,
                         const table *deep)
{
    double px = problem.x, py = problem.y;
    tp_plot norms = {d, px + 34, py + 34, 84, 80,
                     {.lo = 0.5, .hi = gradients->value[gradients->rows - 1][0]
                                      + 0.5, .label = "block"},
                     {.lo = 0.001, .hi = 10, .log = true}};
    tp_plot loss = {d, px + 150, py + 34, 84, 80,
                    {.lo = 0, .hi = last_step(curves), .label = "step"},
                    {.lo = 2.0, .hi = 6.0}};
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, px + 76, py + 22, 0.5, 0.0, 7, "gradient norm per block");
    tp_text(d, px + 192, py + 22, 0.5, 0.0, 7, "training loss");
    gradients_panel(&norms, gradients, false);
    curves_panel(&loss, curves, 1, false);
    /* <<instability card: the verdicts at one rate>> */
    char line[96];
    snprintf(line, sizeof line, "<b>depth 12, 100 steps, rate %g</b>",
             (double)inst_lr);
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, px + 12, py + 152, 0.0, 0.0, 7, line);
    int shown = 0;
    for (int r = 0; r < grid->rows && shown < 6; r++) {
        if (fabs(grid->value[r][0] - inst_lr) > 1e-6 * inst_lr)
            continue;
        int v = (int)grid->value[r][4];
        snprintf(line, sizeof line, "%s  %.3f  %s", grid->label[r],
                 grid->value[r][3], verdict_names[v]);
        tp_set_color(d->cr, tp_rgb(verdict_colours[v]));
        tp_text(d, px + 12, py + 166 + 12 * shown++, 0.0, 0.0, 7, line);
    }
    /* <<instability card: the verdicts at depth 24>> */
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, px + 232, py + 152, 1.0, 0.0, 7,
            "<b>depth 24, width 64, 500 steps</b>");
    grid_cells(d, deep, px + 166, py + 178, 26, 16, 5.5);
}
/* <<tp instability: figures>> */
static void instability_solutions(tp_draw *d, tp_rect solutions)
{
    static const char *const solution[8][2] = {
        {"Pre-LN", "normalise the branch, not the sum"},
        {"Warm-up", "a rising rate while Adam's moments settle"},
        {"AdamW", "decay the weights, not the gradient"},
        {"Gradient clipping", "no step larger than a norm c"},
        {"Scaled init", "residual projections 1/\xe2\x88\x9a(2L)"},
        {"\xce\xb2\xe2\x82\x82 = 0.95", "a second moment that keeps up"},
        {"QK-LayerNorm", "bounded attention scores"},
        {"Spike skipping", "no update from a bad batch"},
    };
    for (int i = 0; i < 8; i++) {
        double y = solutions.y + 20 + 27 * i;
        char name[64];
        snprintf(name, sizeof name, "<b>%s</b>", solution[i][0]);
        cairo_set_source_rgb(d->cr, 0, 0, 0);
        tp_text(d, solutions.x + 8, y, 0.0, 0.0, 8, name);
        cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
        tp_text(d, solutions.x + 8, y + 10, 0.0, 0.0, 7, solution[i][1]);
    }
}
/* <<tp instability: figures>> */
static int draw_card_instability(tp_draw *d, tp_error *error)
{
    table *g = calloc(1, sizeof *g), *c = calloc(1, sizeof *c),
          *grid = calloc(1, sizeof *grid), *deep = calloc(1, sizeof *deep);
    tp_check(g != NULL && c != NULL && grid != NULL && deep != NULL,
             "out of memory");
    int status = read_table("figures/data/instability-gradients.tsv", g, error);
    if (status == 0)
        status = read_table("figures/data/instability-compare.tsv", c, error);
    if (status == 0)
        status = read_table("figures/data/instability-grid.tsv", grid, error);
    if (status == 0)
        status = read_seed_tables(depth24_wide_tables, 2, deep, error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>10. Training instability</b>",
                "Deep stacks, high rates, no warm-up: a loss that stalls "
                "or spikes",
                "Data: tp instability gradients, compare and grid "
                "(make measure-instability, measure-instability-depth24-wide)",
                &problem, &solutions);
        card_problem(d, problem, g, c, grid, deep);
        instability_solutions(d, solutions);
    }
    free(g), free(c), free(grid), free(deep);
    return status;
}
/* <<tp instability: figures>> */
static void block_box(tp_draw *d, double cx, double y, tp_color c,
                      const char *what)
{
    tp_label_box(d, cx - 55, y - 10, 110, 20, c, 8, what);
}

static void plus(tp_draw *d, double cx, double y)
{
    cairo_set_source_rgb(d->cr, 1, 1, 1);
    cairo_arc(d->cr, cx, y, 5, 0, 2 * 3.14159265358979);
    cairo_fill_preserve(d->cr);
    cairo_set_source_rgb(d->cr, 0.35, 0.35, 0.35);
    cairo_set_line_width(d->cr, 0.8);
    cairo_stroke(d->cr);
    tp_text(d, cx, y, 0.5, 0.5, 8, "+");
    cairo_new_path(d->cr);
}

static void skip_path(tp_draw *d, double cx, double from, double to)
{
    cairo_set_source_rgb(d->cr, 0.45, 0.45, 0.45);
    cairo_set_line_width(d->cr, 0.8);
    cairo_move_to(d->cr, cx, from);
    cairo_line_to(d->cr, cx + 75, from);
    cairo_line_to(d->cr, cx + 75, to);
    cairo_stroke(d->cr);
    tp_arrow(d, cx + 75, to, cx + 6, to, tp_rgb(0x555555), 0.8);
}
/* <<tp instability: figures>> */
static void one_block(tp_draw *d, double cx, bool pre_ln)
{
    tp_color ln = tp_category(2), f = tp_category(4), grey = tp_rgb(0x555555);
    double first = pre_ln ? 150 : 128, second = pre_ln ? 112 : 62;
    double sum = pre_ln ? 72 : 95;
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, cx, 190, 0.5, 0.5, 9, "x<sub>i</sub>");
    tp_text(d, cx, 22, 0.5, 0.5, 9, "x<sub>i+1</sub>");
    tp_text(d, cx + 20, 6, 0.5, 0.0, 9, pre_ln ? "<b>pre-LN</b>"
                                               : "<b>post-LN</b>");
    tp_arrow(d, cx, 182, cx, first + 10, grey, 0.8);
    block_box(d, cx, first, pre_ln ? ln : f, pre_ln ? "LayerNorm"
                                                   : "f: attention or MLP");
    if (pre_ln) {
        tp_arrow(d, cx, first - 10, cx, second + 10, grey, 0.8);
        block_box(d, cx, second, f, "f: attention or MLP");
    }
    tp_arrow(d, cx, (pre_ln ? second : first) - 10, cx, sum + 5, grey, 0.8);
    plus(d, cx, sum);
    skip_path(d, cx, 182, sum);
    if (!pre_ln) {
        tp_arrow(d, cx, sum - 5, cx, second + 10, grey, 0.8);
        block_box(d, cx, second, ln, "LayerNorm");
    }
    tp_arrow(d, cx, (pre_ln ? sum - 5 : second - 10), cx, 30, grey, 0.8);
}

static int draw_instability_blocks(tp_draw *d, tp_error *error)
{
    (void)error;
    one_block(d, 110, false);
    one_block(d, 320, true);
    return 0;
}

static const command instability_commands[] = {
    /* <<tp instability: command table>> */
    {"instability compare", "train a deep GPT with each fix for instability "
     "alone, and with all: losses, gradients, spikes", instability_compare_options,
     instability_compare, NULL},
    /* <<tp instability: command table>> */
    {"instability gradients", "the gradient norm of each block of a deep GPT, "
     "post-LN and pre-LN, at initialisation and after some steps",
     instability_gradients_options, instability_gradients, NULL},
    /* <<tp instability: command table>> */
    {"instability grid", "train recipes at several learning rates: which "
     "diverge, stall or train", instability_grid_options, instability_grid,
     NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure instability_figures[] = {
    /* <<tp instability: figure table>> */
    {"instability-curves", "a deep GPT trained with each recipe: the loss and "
     "the gradient norm against the step", 440, 200, draw_instability_curves},
    /* <<tp instability: figure table>> */
    {"instability-grid", "which recipes train, stall or diverge at each "
     "learning rate", 440, 180, draw_instability_grid},
    /* <<tp instability: figure table>> */
    {"instability-depth24", "post-LN without warm-up and pre-LN with it, at "
     "depth 24, four rates, three seeds: the validation losses", 440, 235,
     draw_instability_depth24},
    /* <<tp instability: figure table>> */
    {"instability-depth24-wide", "post-LN without warm-up, pre-LN with it and "
     "GPT-2's recipe at depth 24 and width 64, three rates, two seeds: the "
     "validation losses", 440, 235, draw_instability_depth24_wide},
    /* <<tp instability: figure table>> */
    {"instability-gradients", "the gradient norm of each block, post-LN and "
     "pre-LN, at initialisation and after the first steps", 440, 200,
     draw_instability_gradients},
    /* <<tp instability: figure table>> */
    {"card-instability", "the card of training instability", 440, 320,
     draw_card_instability},
    /* <<tp instability: figure table>> */
    {"instability-blocks", "one residual step of a post-LN and of a pre-LN "
     "block", 440, 200, draw_instability_blocks},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part instability_part = {instability_commands,
                                       instability_figures};
