/* Generated from book/375-interpretability.nw; edit the book, not this file. */
#include "program.h"

/* <<tp explain: commands>> */
static int ex_vocab = 64, ex_length = 32, ex_min_period = 6,
           ex_max_period = 16, ex_layers = 2, ex_heads = 2, ex_width = 32,
           ex_steps = 6000, ex_batch = 16, ex_seed = 1, ex_layer = 0,
           ex_head = 0, ex_period = 0, ex_position = -1, ex_ig_steps = 64;
static float ex_lr = 3e-3f;
static const char *ex_tsv = NULL, *ex_save = NULL, *ex_model = NULL,
                  *ex_text = NULL;
/* <<tp explain: commands>> */
static const option induction_options[] = {
    {"--vocab", OPTION_INT, &ex_vocab, 2, 65536, "random tokens"},
    {"--length", OPTION_INT, &ex_length, 4, 1024, "tokens per sequence T"},
    {"--min-period", OPTION_INT, &ex_min_period, 1, 1024,
     "the shortest period in training"},
    {"--max-period", OPTION_INT, &ex_max_period, 1, 1024,
     "the longest, at most T/2"},
    {"--layers", OPTION_INT, &ex_layers, 1, 16, "attention-only layers"},
    {"--heads", OPTION_INT, &ex_heads, 1, 64, "heads per layer"},
    {"--width", OPTION_INT, &ex_width, 2, 4096, "the model width C"},
    {"--steps", OPTION_INT, &ex_steps, 1, 10000000, "training steps"},
    {"--batch", OPTION_INT, &ex_batch, 1, 4096, "sequences per step"},
    {"--lr", OPTION_FLOAT, &ex_lr, 0, 1, "the peak learning rate"},
    {"--seed", OPTION_INT, &ex_seed, 0, 1000000000, "the seed"},
    {"--tsv", OPTION_STRING, &ex_tsv, 0, 0, "write the measures as a table"},
    {"--save", OPTION_STRING, &ex_save, 0, 0, "save the trained model"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp explain: commands>> */
#define MODEL_OPTIONS                                                        \
    {"--model", OPTION_STRING, &ex_model, 0, 0, "a GPT checkpoint"},         \
    {"--text", OPTION_STRING, &ex_text, 0, 0,                                \
     "the text to explain (a model of 256 tokens)"},                         \
    {"--period", OPTION_INT, &ex_period, 1, 1 << 20,                         \
     "without --text: random tokens repeated with this period"},            \
    {"--seed", OPTION_INT, &ex_seed, 0, 1000000000, "the seed"},             \
    {"--tsv", OPTION_STRING, &ex_tsv, 0, 0, "write the result as a table"}

static const option patch_options[] = {
    MODEL_OPTIONS,
    {"--layer", OPTION_INT, &ex_layer, 0, 1 << 20, "the head's layer"},
    {"--head", OPTION_INT, &ex_head, 0, 1 << 20, "the head"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static const option saliency_options[] = {
    MODEL_OPTIONS,
    {"--position", OPTION_INT, &ex_position, 0, 1 << 20,
     "the prediction explained; default: the last"},
    {"--steps", OPTION_INT, &ex_ig_steps, 1, 100000,
     "steps of integrated gradients"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static const option rollout_options[] = {
    MODEL_OPTIONS,
    {"--position", OPTION_INT, &ex_position, 0, 1 << 20,
     "the position whose row is shown; default: the last but one"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp explain: commands>> */
typedef struct repeats {
    tp_gpt *m;
    tp_rng rng;
    int *tokens, *targets;
} repeats;

static tp_tensor *repeats_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    repeats *r = context;
    int t = ex_length, span = ex_max_period - ex_min_period + 1;
    int period = ex_min_period + (int)tp_rng_below(&r->rng, (uint32_t)span);
    tp_repeated_tokens(ex_vocab, period, t, ex_batch, &r->rng, r->tokens);
    for (long i = 0; i < (long)ex_batch * t; i++)
        r->targets[i] = i % t + 1 < t ? r->tokens[i + 1] : -1;
    return tp_gpt_loss(g, r->m, r->tokens, r->targets, ex_batch, t);
}
/* <<tp explain: commands>> */
static int train_repeats(tp_gpt *m, float *losses)
{
    repeats r = {m, tp_rng_seeded((uint64_t)ex_seed, 2),
                 malloc((size_t)ex_batch * ex_length * sizeof(int)),
                 malloc((size_t)ex_batch * ex_length * sizeof(int))};
    tp_check(r.tokens != NULL && r.targets != NULL, "out of memory");
    tp_optimizer *opt = tp_adamw_new(&m->params, 0.95f, 0.0f);
    display shown = {.terminal = isatty(STDERR_FILENO)};
    tp_train_options o = {.steps = ex_steps, .warmup = ex_steps / 10 + 1,
                          .max_lr = ex_lr, .min_lr = ex_lr / 10, .clip = 1.0,
                          .tokens_per_step = (long)ex_batch * ex_length,
                          .progress = show_progress,
                          .progress_context = &shown};
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_error error;
    catch_interrupts();
    int status = tp_train(&g, &m->params, opt, &o, repeats_loss, &r, losses,
                          &error);
    if (status != 0)
        fprintf(stderr, "tp explain induction: %s\n", error.message);
    tp_arena_free(step), tp_optimizer_free(opt);
    free(r.tokens), free(r.targets);
    return status;
}
/* <<tp explain: commands>> */
enum { EVAL_BATCH = 64 };

static void repeat_losses(tp_gpt *m, const int *tokens, int length,
                          int period, const tp_head_edit *edits, int n,
                          double *first, double *second, double *each)
{
    tp_gpt_position_losses(m, tokens, EVAL_BATCH, length, edits, n, each);
    *first = *second = 0.0;
    for (int t = 0; t + 1 < period; t++)
        *first += each[t] / (period - 1);
    for (int t = period; t + 1 < length; t++)
        *second += each[t] / (length - 1 - period);
}

static void corrupt_first_period(int *tokens, int length, int period,
                                 int vocab, tp_rng *rng)
{
    for (int b = 0; b < EVAL_BATCH; b++)
        for (int i = 0; i < period; i++)
            tokens[(long)b * length + i] = (int)tp_rng_below(rng,
                                                            (uint32_t)vocab);
}
/* <<tp explain: commands>> */
typedef struct head_row {
    double previous, induction, first, second, restored;
} head_row;

typedef struct evaluation {
    tp_gpt *m;
    int *clean, *corrupt, length, period;
    double *each;              /* per position, scratch */
    double first, second;      /* the plain model's two losses */
    double corrupt_second;     /* the corrupted run's second repeat */
} evaluation;
/* <<tp explain: commands>> */
static evaluation evaluation_of(tp_gpt *m, int period)
{
    int length = 2 * period, vocab = m->config.vocab_size;
    long count = (long)EVAL_BATCH * length;
    evaluation e = {m, malloc((size_t)count * sizeof(int)),
                    malloc((size_t)count * sizeof(int)), length, period,
                    malloc((size_t)length * sizeof(double)), 0, 0, 0};
    tp_check(e.clean != NULL && e.corrupt != NULL && e.each != NULL,
             "out of memory");
    tp_rng rng = tp_rng_seeded((uint64_t)ex_seed, 3);
    tp_repeated_tokens(vocab, period, length, EVAL_BATCH, &rng, e.clean);
    memcpy(e.corrupt, e.clean, (size_t)count * sizeof(int));
    corrupt_first_period(e.corrupt, length, period, vocab, &rng);
    return e;
}

static void evaluation_free(evaluation *e)
{
    free(e->clean), free(e->corrupt), free(e->each);
}
/* <<tp explain: commands>> */
static void head_scores(evaluation *e, head_row *rows)
{
    int h = e->m->config.n_head, layers = e->m->config.n_layer;
    for (int s = 0; s < 8; s++) {
        tp_arena *arena = tp_arena_new("maps");
        tp_tensor **maps = tp_gpt_attention_maps(
            e->m, e->clean + (long)s * e->length, e->length, arena);
        for (int l = 0; l < layers; l++)
            for (int k = 0; k < h; k++) {
                rows[l * h + k].previous +=
                    tp_previous_token_score(maps[l], k) / 8;
                rows[l * h + k].induction +=
                    tp_induction_score(maps[l], k, e->period) / 8;
            }
        tp_arena_free(arena);
    }
}
/* <<tp explain: commands>> */
static void edit_one_head(evaluation *e, int layer, int head,
                          const tp_tensor *clean, head_row *row)
{
    tp_head_edit ablate = {layer, head, NULL}, patch = {layer, head, clean};
    repeat_losses(e->m, e->clean, e->length, e->period, &ablate, 1,
                  &row->first, &row->second, e->each);
    double ignored, patched;
    repeat_losses(e->m, e->corrupt, e->length, e->period, &patch, 1, &ignored,
                  &patched, e->each);
    row->restored = (e->corrupt_second - patched)
                    / (e->corrupt_second - e->second);
}

static void head_edits(evaluation *e, head_row *rows)
{
    int h = e->m->config.n_head, layers = e->m->config.n_layer;
    tp_arena *arena = tp_arena_new("clean heads");
    tp_tensor **clean = tp_arena_zeroed(arena, (size_t)layers, sizeof *clean);
    tp_gpt_edited_logits(e->m, e->clean, EVAL_BATCH, e->length, NULL, 0, clean,
                         arena);
    for (int l = 0; l < layers; l++)
        for (int k = 0; k < h; k++)
            edit_one_head(e, l, k, clean[l], &rows[l * h + k]);
    tp_arena_free(arena);
}
/* <<tp explain: commands>> */
static int find_circuit(const head_row *rows, int layers, int h,
                        tp_head_edit *induction, int *previous)
{
    int n = 0;
    *previous = 0;
    for (int i = 0; i < layers * h; i++) {
        if (rows[i].previous > rows[*previous].previous)
            *previous = i;
        if (rows[i].induction > 0.5 && induction != NULL)
            induction[n++] = (tp_head_edit){i / h, i % h, NULL};
    }
    return n;
}
/* <<tp explain: commands>> */
static void report_heads(const evaluation *e, const head_row *rows, FILE *tsv)
{
    int h = e->m->config.n_head;
    printf("head   previous  induction  ablated: 1st repeat  2nd repeat"
           "  patched back\n");
    for (int i = 0; i < e->m->config.n_layer * h; i++) {
        const head_row *r = &rows[i];
        printf("L%d.H%d  %8.3f  %9.3f  %19.3f  %10.3f  %12.3f\n", i / h,
               i % h, r->previous, r->induction, r->first, r->second,
               r->restored);
        if (tsv != NULL)
            fprintf(tsv, "head\t%d\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\n",
                    i / h, i % h, r->previous, r->induction, r->first,
                    r->second, r->restored);
    }
}
/* <<tp explain: commands>> */
static void position_curves(evaluation *e, const head_row *rows, FILE *tsv)
{
    int h = e->m->config.n_head, heads = e->m->config.n_layer * h, previous;
    tp_head_edit *induction = malloc((size_t)heads * sizeof *induction);
    tp_check(induction != NULL, "out of memory");
    int n = find_circuit(rows, e->m->config.n_layer, h, induction, &previous);
    tp_head_edit prev = {previous / h, previous % h, NULL};
    double curves[3][1024], first, second;
    repeat_losses(e->m, e->clean, e->length, e->period, NULL, 0, &first,
                  &second, curves[0]);
    repeat_losses(e->m, e->clean, e->length, e->period, induction, n, &first,
                  &second, curves[1]);
    printf("# ablating the %d induction heads: 1st repeat %.3f, 2nd %.3f\n",
           n, first, second);
    repeat_losses(e->m, e->clean, e->length, e->period, &prev, 1, &first,
                  &second, curves[2]);
    printf("# ablating the previous-token head L%d.H%d: 1st repeat %.3f, "
           "2nd %.3f\n", prev.layer, prev.head, first, second);
    for (int t = 0; tsv != NULL && t + 1 < e->length; t++)
        fprintf(tsv, "position\t%d\t%.4f\t%.4f\t%.4f\n", t, curves[0][t],
                curves[1][t], curves[2][t]);
    free(induction);
}
/* <<tp explain: commands>> */
static void write_maps(evaluation *e, const head_row *rows, FILE *tsv)
{
    int h = e->m->config.n_head, heads = e->m->config.n_layer * h, previous;
    int best = 0;
    for (int i = 0; i < heads; i++)
        if (rows[i].induction > rows[best].induction)
            best = i;
    find_circuit(rows, e->m->config.n_layer, h, NULL, &previous);
    tp_arena *arena = tp_arena_new("maps");
    tp_tensor **maps = tp_gpt_attention_maps(e->m, e->clean, e->length, arena);
    const int which[2] = {previous, best};
    const char *label[2] = {"map-previous", "map-induction"};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < e->length; i++) {
            fprintf(tsv, "%s", label[k]);
            for (int j = 0; j < e->length; j++)
                fprintf(tsv, "\t%.4f", (double)*tp_at4(maps[which[k] / h], 0,
                                                        which[k] % h, i, j));
            fprintf(tsv, "\n");
        }
    tp_arena_free(arena);
}
/* <<tp explain: commands>> */
static void plain_losses(evaluation *e)
{
    double ignored;
    repeat_losses(e->m, e->clean, e->length, e->period, NULL, 0, &e->first,
                  &e->second, e->each);
    repeat_losses(e->m, e->corrupt, e->length, e->period, NULL, 0, &ignored,
                  &e->corrupt_second, e->each);
}

static void evaluate(evaluation *e, FILE *tsv)
{
    int heads = e->m->config.n_layer * e->m->config.n_head;
    head_row *rows = calloc((size_t)heads, sizeof *rows);
    tp_check(rows != NULL, "out of memory");
    plain_losses(e);
    printf("# loss: 1st repeat %.3f, 2nd repeat %.3f (%.1f%% of the 1st); "
           "corrupted 2nd repeat %.3f\n", e->first, e->second,
           100 * e->second / e->first, e->corrupt_second);
    if (tsv != NULL)
        fprintf(tsv, "# loss %.4f %.4f %.4f\n", e->first, e->second,
                e->corrupt_second);
    head_scores(e, rows);
    head_edits(e, rows);
    report_heads(e, rows, tsv);
    position_curves(e, rows, tsv);
    if (tsv != NULL)
        write_maps(e, rows, tsv);
    free(rows);
}
/* <<tp explain: commands>> */
static int check_induction_options(void)
{
    const char *problem =
        ex_width % ex_heads != 0 ? "--heads must divide --width"
        : ex_min_period > ex_max_period ? "--min-period is above --max-period"
        : 2 * ex_max_period > ex_length ? "--max-period is above --length / 2"
        : NULL;
    if (problem != NULL) {
        fprintf(stderr, "tp explain induction: %s\n", problem);
        return 1;
    }
    if ((ex_tsv != NULL && check_output("explain induction", ex_tsv))
        || (ex_save != NULL && check_output("explain induction", ex_save)))
        return 1;
    return 0;
}
/* <<tp explain: commands>> */
static int explain_induction(void)
{
    if (check_induction_options() != 0)
        return 1;
    FILE *tsv = ex_tsv != NULL ? fopen(ex_tsv, "w") : NULL;
    /* <<explain induction: describe the run>> */
    tp_describe_machine(stdout);
    char about[256];
    snprintf(about, sizeof about, "# written by: tp explain induction\n"
             "# %d layers, %d heads, width %d, vocab %d, T = %d, periods %d-%d, "
             "%d steps of %d, rate %g, seed %d\n", ex_layers, ex_heads, ex_width,
             ex_vocab, ex_length, ex_min_period, ex_max_period, ex_steps,
             ex_batch, (double)ex_lr, ex_seed);
    fputs(about, stdout);
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fputs(about, tsv);
        fprintf(tsv, "row\tvalues\n");
    }
    tp_gpt *m = tp_gpt_attention_only((tp_gpt_config){
        ex_vocab, ex_length, ex_layers, ex_heads, ex_width, TP_POSITIONS_T5});
    tp_rng init = tp_rng_seeded((uint64_t)ex_seed, 1);
    tp_gpt_init(m, &init);
    float *losses = malloc((size_t)ex_steps * sizeof *losses);
    tp_check(losses != NULL, "out of memory");
    int status = train_repeats(m, losses);
    if (status == 0 && !interrupted) {
        /* <<explain induction: evaluate and save>> */
        evaluation e = evaluation_of(m, ex_length / 2);
        evaluate(&e, tsv);
        evaluation_free(&e);
        tp_error error;
        if (ex_save != NULL && tp_gpt_save(m, ex_save, NULL, 0, NULL, &error) != 0) {
            fprintf(stderr, "tp explain induction: %s\n", error.message);
            status = 1;
        }
    }
    /* <<explain induction: the training curve>> */
    long done = interrupted ? 0 : ex_steps, every = ex_steps / 100 + 1;
    for (long s = 0; tsv != NULL && s < done; s += every) {
        double mean = 0.0;
        long n = 0;
        for (long k = s; k < s + every && k < done; k++, n++)
            mean += losses[k];
        fprintf(tsv, "train\t%ld\t%.4f\n", s, mean / n);
    }
    free(losses);
    tp_gpt_free(m);
    if (tsv != NULL && fclose(tsv) != 0) {
        fprintf(stderr, "tp explain induction: cannot write %s\n", ex_tsv);
        return 1;
    }
    return exit_status(status);
}
/* <<tp explain: commands>> */
static tp_gpt *load_model(const char *command)
{
    if (ex_model == NULL) {
        fprintf(stderr, "tp %s: --model is required\n", command);
        return NULL;
    }
    tp_error error;
    tp_gpt *m = tp_gpt_load(ex_model, NULL, &error);
    if (m == NULL) {
        fprintf(stderr, "tp %s: %s\n", command, error.message);
        return NULL;
    }
    return m;
}
/* <<tp explain: commands>> */
static int *explained_tokens(const char *command, const tp_gpt *m,
                             int *length)
{
    int positions = m->config.n_positions;
    if (ex_text != NULL) {
        *length = (int)strlen(ex_text);
        if (*length < 2 || *length > positions || m->config.vocab_size < 256) {
            fprintf(stderr, "tp %s: --text needs 2 to %d bytes and a model "
                    "of 256 tokens (it has %d bytes, the model %d tokens)\n",
                    command, positions, *length, m->config.vocab_size);
            return NULL;
        }
        int *tokens = malloc((size_t)*length * sizeof *tokens);
        tp_check(tokens != NULL, "out of memory");
        for (int i = 0; i < *length; i++)
            tokens[i] = (unsigned char)ex_text[i];
        return tokens;
    }
    /* <<explain: a repeated random sequence>> */
    int period = ex_period > 0 ? ex_period : positions / 2;
    if (period < 1 || 2 * period > positions) {
        fprintf(stderr, "tp %s: --period %d, but the model has %d positions\n",
                command, period, positions);
        return NULL;
    }
    *length = 2 * period;
    int *tokens = malloc((size_t)*length * sizeof *tokens);
    tp_check(tokens != NULL, "out of memory");
    tp_rng rng = tp_rng_seeded((uint64_t)ex_seed, 4);
    tp_repeated_tokens(m->config.vocab_size, period, *length, 1, &rng, tokens);
    return tokens;
}
/* <<tp explain: commands>> */
static int explain_patch(void)
{
    tp_gpt *m = load_model("explain patch");
    if (m == NULL)
        return 1;
    int layers = m->config.n_layer, heads = m->config.n_head;
    int period = ex_period > 0 ? ex_period : m->config.n_positions / 2;
    const char *problem =
        ex_layer >= layers ? "--layer is past the model's last layer"
        : ex_head >= heads ? "--head is past the layer's last head"
        : 2 * period > m->config.n_positions ? "--period is above half the "
                                               "model's positions"
        : ex_text != NULL ? "--text: patching runs on repeated tokens"
        : NULL;
    if (problem != NULL) {
        fprintf(stderr, "tp explain patch: %s (%d layers of %d heads, %d "
                "positions)\n", problem, layers, heads, m->config.n_positions);
        tp_gpt_free(m);
        return 1;
    }
    /* <<explain patch: edit the head>> */
    evaluation e = evaluation_of(m, period);
    plain_losses(&e);
    tp_arena *arena = tp_arena_new("clean heads");
    tp_tensor **clean = tp_arena_zeroed(arena, (size_t)layers, sizeof *clean);
    tp_gpt_edited_logits(m, e.clean, EVAL_BATCH, e.length, NULL, 0, clean, arena);
    head_row row;
    edit_one_head(&e, ex_layer, ex_head, clean[ex_layer], &row);
    printf("loss, 1st repeat: %.3f, ablating L%d.H%d: %.3f\n", e.first, ex_layer,
           ex_head, row.first);
    printf("loss, 2nd repeat: %.3f, ablating L%d.H%d: %.3f\n", e.second,
           ex_layer, ex_head, row.second);
    printf("corrupted 2nd repeat: %.3f; patching L%d.H%d back gives %.3f of "
           "the difference\n", e.corrupt_second, ex_layer, ex_head, row.restored);
    tp_arena_free(arena);
    evaluation_free(&e);
    tp_gpt_free(m);
    return 0;
}
/* <<tp explain: commands>> */
static void token_label(const tp_gpt *m, int token, char *out, size_t size)
{
    if (m->config.vocab_size == 256 && token > 32 && token < 127)
        snprintf(out, size, "'%c'", token);
    else
        snprintf(out, size, "%d", token);
}
/* <<tp explain: commands>> */
static int *explained_prediction(const char *command, tp_gpt **m,
                                 int *length, int *position)
{
    *m = load_model(command);
    int *tokens = *m != NULL ? explained_tokens(command, *m, length) : NULL;
    *position = tokens != NULL && ex_position >= 0 ? ex_position
                                                   : *length - 2;
    if (tokens != NULL && *position + 1 >= *length) {
        fprintf(stderr, "tp %s: --position %d, but the tokens after it end "
                "at %d\n", command, *position, *length - 1);
        free(tokens), tokens = NULL;
    }
    if (tokens == NULL || (ex_tsv != NULL && check_output(command, ex_tsv))) {
        free(tokens), tp_gpt_free(*m);
        return NULL;
    }
    return tokens;
}
/* <<tp explain: commands>> */
static int explain_saliency(void)
{
    tp_gpt *m;
    int length, position;
    int *tokens = explained_prediction("explain saliency", &m, &length,
                                       &position);
    if (tokens == NULL)
        return 1;
    /* <<explain saliency: attribute and report>> */
    float *gxi = malloc((size_t)length * sizeof *gxi),
          *ig = malloc((size_t)length * sizeof *ig);
    tp_check(gxi != NULL && ig != NULL, "out of memory");
    int target = tokens[position + 1];
    double baseline, f = tp_integrated_gradients(m, tokens, length, position,
                                                 target, ex_ig_steps, ig,
                                                 &baseline);
    tp_gradient_times_input(m, tokens, length, position, target, gxi);
    FILE *tsv = ex_tsv != NULL ? fopen(ex_tsv, "w") : NULL;
    /* <<explain saliency: the table>> */
    double total = 0.0;
    printf("position  token  gradient x input  integrated gradients\n");
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp explain saliency\nrow\tposition\ttoken"
                "\tgradient_x_input\tintegrated_gradients\n");
    }
    for (int t = 0; t < length; t++) {
        char label[16];
        token_label(m, tokens[t], label, sizeof label);
        printf("%8d  %5s  %16.4f  %20.4f\n", t, label, gxi[t], ig[t]);
        if (tsv != NULL)
            fprintf(tsv, "token\t%d\t%d\t%.5f\t%.5f\n", t, tokens[t], gxi[t],
                    ig[t]);
        total += ig[t];
    }
    printf("# log p(%d | up to %d) = %.4f; at the baseline %.4f; integrated "
           "gradients add up to %.4f (%.2g%% off, %d steps)\n", target, position,
           f, baseline, total, 100 * fabs(total - (f - baseline))
           / fabs(f - baseline), ex_ig_steps);
    if (tsv != NULL)
        fprintf(tsv, "# f %.5f baseline %.5f sum %.5f position %d\n", f, baseline,
                total, position);
    if (tsv != NULL)
        fclose(tsv);
    free(gxi), free(ig);
    free(tokens), tp_gpt_free(m);
    return 0;
}
/* <<tp explain: commands>> */
static int explain_rollout(void)
{
    tp_gpt *m;
    int length, row;
    int *tokens = explained_prediction("explain rollout", &m, &length, &row);
    if (tokens == NULL)
        return 1;
    tp_arena *arena = tp_arena_new("rollout");
    tp_tensor **maps = tp_gpt_attention_maps(m, tokens, length, arena);
    float *r = malloc((size_t)length * length * sizeof *r);
    tp_check(r != NULL, "out of memory");
    tp_attention_rollout(maps, m->config.n_layer, 0, r);
    /* <<explain rollout: the last row>> */
    FILE *tsv = ex_tsv != NULL ? fopen(ex_tsv, "w") : NULL;
    const tp_tensor *last = maps[m->config.n_layer - 1];
    int heads = m->config.n_head, i = row;
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp explain rollout\nrow\tposition\ttoken"
                "\trollout\tlast_layer\n");
    }
    printf("position  token  rollout  last layer's weights\n");
    for (int j = 0; j < length; j++) {
        double raw = 0.0;
        for (int h = 0; h < heads; h++)
            raw += *tp_at4(last, 0, h, i, j) / heads;
        char label[16];
        token_label(m, tokens[j], label, sizeof label);
        printf("%8d  %5s  %7.4f  %20.4f\n", j, label, r[(long)i * length + j],
               raw);
        if (tsv != NULL)
            fprintf(tsv, "token\t%d\t%d\t%.5f\t%.5f\n", j, tokens[j],
                    r[(long)i * length + j], raw);
    }
    if (tsv != NULL)
        fclose(tsv);
    free(r), free(tokens);
    tp_arena_free(arena), tp_gpt_free(m);
    return 0;
}
/* <<tp explain: commands>> */
static const char *ex_property = NULL;
static int ex_windows = 48;

static const option probe_options[] = {
    {"--model", OPTION_STRING, &ex_model, 0, 0, "a GPT checkpoint of 256 "
     "tokens"},
    {"--property", OPTION_STRING, &ex_property, 0, 0,
     "code, paren or position (default: all three)"},
    {"--windows", OPTION_INT, &ex_windows, 3, 100000,
     "windows of the book, two thirds to train on"},
    {"--seed", OPTION_INT, &ex_seed, 0, 1000000000, "the seed"},
    {"--tsv", OPTION_STRING, &ex_tsv, 0, 0, "write the result as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};

enum { PROPERTIES = 3 };
static const char *const property_names[PROPERTIES] = {"code", "paren",
                                                       "position"};
static const int property_classes[PROPERTIES] = {2, 2, 4};
/* <<tp explain: commands>> */
static bool line_starts(const unsigned char *text, long n, long at,
                        const char *prefix)
{
    size_t k = strlen(prefix);
    return at + (long)k <= n && memcmp(text + at, prefix, k) == 0;
}

static bool opens_chunk(const unsigned char *text, long n, long at)
{
    if (!line_starts(text, n, at, "<<"))
        return false;
    long end = at;
    while (end < n && text[end] != '\n')
        end++;
    return end - at >= 5 && memcmp(text + end - 3, ">>=", 3) == 0;
}
/* <<tp explain: commands>> */
static void text_properties(const unsigned char *text, long n,
                            unsigned char *code, unsigned char *paren)
{
    bool inside = false;
    int depth = 0;
    for (long i = 0; i < n; i++) {
        if (i == 0 || text[i - 1] == '\n') {
            depth = 0;
            if (opens_chunk(text, n, i))
                inside = true;
            else if (text[i] == '@')
                inside = false;
        }
        code[i] = inside;
        paren[i] = depth > 0;
        depth += text[i] == '(' ? 1 : text[i] == ')' && depth > 0 ? -1 : 0;
    }
}
/* <<tp explain: commands>> */
static void probe_layers(tp_tensor **states, int layers, const int *tokens,
                         const int *labels, int rows, int classes,
                         int which, FILE *tsv)
{
    int train = rows * 2 / 3, dim = states[0]->shape.dim[2];
    int *control = malloc((size_t)rows * sizeof *control);
    tp_check(control != NULL, "out of memory");
    tp_control_labels(tokens, labels, rows, 256, (uint64_t)ex_seed, control);
    /* <<explain probe: the majority's accuracy>> */
    long count[4] = {0};
    for (int i = train; i < rows; i++)
        count[labels[i]]++;
    long most = 0;
    for (int k = 0; k < classes; k++)
        most = count[k] > most ? count[k] : most;
    double majority = (double)most / (rows - train);
    for (int l = 0; l <= layers; l++) {
        double a = tp_probe_accuracy(states[l]->data, labels, rows, dim,
                                     classes, train, 200);
        double c = tp_probe_accuracy(states[l]->data, control, rows, dim,
                                     classes, train, 200);
        printf("%-9s %5d  %8.3f  %7.3f  %11.3f  %8.3f\n",
               property_names[which], l, a, c, a - c, majority);
        if (tsv != NULL)
            fprintf(tsv, "probe\t%d\t%d\t%.4f\t%.4f\t%.4f\t%.4f\n", which, l,
                    a, c, a - c, majority);
    }
    free(control);
}
/* <<tp explain: commands>> */
static int probe_property(void)
{
    if (ex_property == NULL)
        return -1;
    for (int p = 0; p < PROPERTIES; p++)
        if (strcmp(ex_property, property_names[p]) == 0)
            return p;
    fprintf(stderr, "tp explain probe: --property %s: code, paren or "
            "position\n", ex_property);
    return -2;
}
/* <<tp explain: commands>> */
static int explain_probe(void)
{
    int chosen = probe_property();
    if (chosen == -2 || (ex_tsv != NULL && check_output("explain probe",
                                                         ex_tsv)))
        return 1;
    tp_gpt *m = load_model("explain probe");
    if (m != NULL && m->config.vocab_size != 256) {
        fprintf(stderr, "tp explain probe: the model has %d tokens, not the "
                "256 bytes of the book\n", m->config.vocab_size);
        tp_gpt_free(m), m = NULL;
    }
    if (m == NULL)
        return 1;
    /* <<explain probe: windows of the book>> */
    tp_corpus book = tp_corpus_book();
    int t = m->config.n_positions < 64 ? m->config.n_positions : 64;
    int rows = ex_windows * t;
    int *tokens = malloc((size_t)rows * sizeof *tokens),
        *labels = malloc((size_t)rows * sizeof *labels);
    unsigned char *code = malloc((size_t)book.size),
                  *paren = malloc((size_t)book.size);
    tp_check(tokens != NULL && labels != NULL && code != NULL && paren != NULL,
             "out of memory");
    text_properties(book.bytes, book.size, code, paren);
    tp_rng rng = tp_rng_seeded((uint64_t)ex_seed, 5);
    long *starts = malloc((size_t)ex_windows * sizeof *starts);
    tp_check(starts != NULL, "out of memory");
    for (int w = 0; w < ex_windows; w++) {
        starts[w] = (long)tp_rng_below(&rng, (uint32_t)(book.size - t));
        for (int i = 0; i < t; i++)
            tokens[w * t + i] = book.bytes[starts[w] + i];
    }
    /* <<explain probe: probe every layer>> */
    tp_arena *arena = tp_arena_new("probe");
    tp_tensor **states = tp_gpt_hidden_states(m, tokens, ex_windows, t, arena);
    FILE *tsv = ex_tsv != NULL ? fopen(ex_tsv, "w") : NULL;
    /* <<explain probe: describe the run>> */
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp explain probe\n# %s: %d windows of %d "
                "bytes of the book, two thirds to train on; properties 0 code, "
                "1 paren, 2 position\nrow\tproperty\tlayer\taccuracy\tcontrol"
                "\tselectivity\tmajority\n", ex_model, ex_windows, t);
    }
    printf("property  layer  accuracy  control  selectivity  majority\n");
    for (int p = 0; p < PROPERTIES; p++) {
        if (chosen >= 0 && p != chosen)
            continue;
        for (int w = 0; w < ex_windows; w++)
            for (int i = 0; i < t; i++)
                labels[w * t + i] = p == 0 ? code[starts[w] + i]
                                    : p == 1 ? paren[starts[w] + i]
                                             : i * 4 / t;
        probe_layers(states, m->config.n_layer, tokens, labels, rows,
                     property_classes[p], p, tsv);
    }
    if (tsv != NULL)
        fclose(tsv);
    tp_arena_free(arena);
    free(starts);
    free(tokens), free(code), free(paren), free(labels);
    tp_gpt_free(m);
    return 0;
}
/* <<tp explain: commands>> */
static int ex_lines = 600, ex_min_count = 8, ex_images = 1000;

static const option bert_rollout_options[] = {
    {"--model", OPTION_STRING, &ex_model, 0, 0,
     "a fine-tuned BERT checkpoint, with its .vocab"},
    {"--lines", OPTION_INT, &ex_lines, 1, 1000000,
     "held-out lines of the book to explain"},
    {"--min-count", OPTION_INT, &ex_min_count, 1, 1000000,
     "occurrences a word needs to be ranked"},
    {"--tsv", OPTION_STRING, &ex_tsv, 0, 0, "write the result as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp explain: commands>> */
typedef struct cls_rollout {
    int lines, code, right;
    double on_cls, on_sep, last_on_cls, last_on_sep;
    double *lift[2], *last_lift[2];  /* per word, by the line's class */
    int *count[2];
} cls_rollout;

static void cls_rollout_alloc(cls_rollout *c, int vocab)
{
    *c = (cls_rollout){0};
    for (int k = 0; k < 2; k++) {
        c->lift[k] = calloc((size_t)vocab, sizeof *c->lift[k]);
        c->last_lift[k] = calloc((size_t)vocab, sizeof *c->last_lift[k]);
        c->count[k] = calloc((size_t)vocab, sizeof *c->count[k]);
        tp_check(c->lift[k] && c->last_lift[k] && c->count[k],
                 "out of memory");
    }
}

static void cls_rollout_free(cls_rollout *c)
{
    for (int k = 0; k < 2; k++)
        free(c->lift[k]), free(c->last_lift[k]), free(c->count[k]);
}
/* <<tp explain: commands>> */
static void explain_line(tp_bert *m, const int *tokens, int t, int label,
                         tp_arena *arena, cls_rollout *c)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    int layers = m->config.n_layer, heads = m->config.n_head;
    tp_tensor **weights = tp_arena_zeroed(arena, (size_t)layers,
                                          sizeof *weights);
    tp_bert_input in = {tokens, NULL, NULL, 1, t};
    tp_bert_encode(&g, m, &in, weights);
    float *r = tp_arena_alloc(arena, (size_t)t * t * sizeof *r);
    tp_attention_rollout(weights, layers, 0, r);
    tp_tensor *logits = tp_bert_classify(&g, m, &in);
    c->right += argmax(logits->data, 2) == label;
    /* <<explain bert: add the line's row of [CLS]>> */
    double last[32];  /* a line is at most 30 words */
    for (int j = 0; j < t; j++) {
        last[j] = 0.0;
        for (int h = 0; h < heads; h++)
            last[j] += *tp_at4(weights[layers - 1], 0, h, 0, j) / heads;
    }
    c->lines++, c->code += label;
    c->on_cls += r[0], c->on_sep += r[t - 1];
    c->last_on_cls += last[0], c->last_on_sep += last[t - 1];
    for (int j = 1; j < t - 1; j++) {
        c->lift[label][tokens[j]] += r[j] * t;
        c->last_lift[label][tokens[j]] += last[j] * t;
        c->count[label][tokens[j]]++;
    }
    tp_arena_reset(arena);
}
/* <<tp explain: commands>> */
static void explain_book_lines(tp_bert *m, const tp_words *w, cls_rollout *c)
{
    tp_corpus book = tp_corpus_book();
    long n = tp_noweb_lines(book.bytes, book.size, NULL);
    tp_line *lines = malloc((size_t)(n + 1) * sizeof *lines);
    int longest = m->config.n_positions - 2 < 30 ? m->config.n_positions - 2
                                                 : 30;
    int *ids = malloc((size_t)(book.size + 2) * sizeof *ids);
    tp_check(lines != NULL && ids != NULL, "out of memory");
    tp_noweb_lines(book.bytes, book.size, lines);
    tp_arena *arena = tp_arena_new("bert rollout");
    for (long i = 0; i < n && c->lines < ex_lines; i++) {
        const unsigned char *text = book.bytes + lines[i].start;
        if (tp_fnv1a(text, (size_t)lines[i].length) % 5 != 0)
            continue;  /* a line fine-tuning trained on */
        long words = tp_words_encode(w, text, lines[i].length, ids + 1);
        if (words < 4)
            continue;
        int t = (words < longest ? (int)words : longest) + 2;
        ids[0] = TP_WORD_CLS, ids[t - 1] = TP_WORD_SEP;
        explain_line(m, ids, t, lines[i].code, arena, c);
    }
    tp_arena_free(arena);
    free(lines), free(ids);
}
/* <<tp explain: commands>> */
static void top_words(const cls_rollout *c, const tp_words *w, int label,
                      FILE *tsv)
{
    enum { TOP = 10 };
    int best[TOP], found = 0;
    for (int v = TP_WORD_SPECIALS; v < w->count; v++) {
        if (c->count[label][v] < ex_min_count)
            continue;
        double mean = c->lift[label][v] / c->count[label][v];
        int at = found < TOP ? found++ : TOP;
        while (at > 0 && c->lift[label][best[at - 1]]
                             / c->count[label][best[at - 1]] < mean) {
            if (at < TOP)
                best[at] = best[at - 1];
            at--;
        }
        if (at < TOP)
            best[at] = v;
    }
    /* <<explain bert: print the top words>> */
    const char *name = label ? "code" : "prose";
    printf("%s lines: the words of highest lift (at least %d times)\n"
           "  word                  count  rollout lift  last layer's lift\n",
           name, ex_min_count);
    for (int k = 0; k < found; k++) {
        int v = best[k], n = c->count[label][v];
        printf("  %-20.20s %6d  %12.2f  %17.2f\n", w->word[v], n,
               c->lift[label][v] / n, c->last_lift[label][v] / n);
        if (tsv != NULL)
            fprintf(tsv, "%s\t%d\t%d\t%.4f\t%.4f\t# %s\n", name, k, n,
                    c->lift[label][v] / n, c->last_lift[label][v] / n,
                    w->word[v]);
    }
}
/* <<tp explain: commands>> */
static int explain_bert(void)
{
    if (ex_model == NULL) {
        fprintf(stderr, "tp explain bert: --model is required\n");
        return 1;
    }
    if (ex_tsv != NULL && check_output("explain bert", ex_tsv))
        return 1;
    tp_words w;
    tp_bert *m = bert_load("explain bert", ex_model, &w);
    if (m == NULL)
        return 1;
    if (m->config.n_classes != 2 || m->config.n_positions < 6) {
        fprintf(stderr, "tp explain bert: %s is not a classifier of prose "
                "and code lines\n", ex_model);
        tp_words_free(&w), tp_bert_free(m);
        return 1;
    }
    cls_rollout c;
    cls_rollout_alloc(&c, w.count);
    explain_book_lines(m, &w, &c);
    /* <<explain bert: report>> */
    FILE *tsv = ex_tsv != NULL ? fopen(ex_tsv, "w") : NULL;
    int n = c.lines > 0 ? c.lines : 1;
    printf("%d held-out lines (%d code): the classifier is right on %.1f%%\n"
           "from [CLS], the rollout keeps %.3f on [CLS] and puts %.3f on [SEP];"
           " the last layer's weights %.3f and %.3f\n", c.lines, c.code,
           100.0 * c.right / n, c.on_cls / n, c.on_sep / n, c.last_on_cls / n,
           c.last_on_sep / n);
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp explain bert --model %s --lines %d\n"
                "# lines %d code %d right %d cls %.4f sep %.4f last_cls %.4f "
                "last_sep %.4f\nrow\trank\tcount\tlift\tlast_lift\n", ex_model,
                ex_lines, c.lines, c.code, c.right, c.on_cls / n, c.on_sep / n,
                c.last_on_cls / n, c.last_on_sep / n);
    }
    top_words(&c, &w, 1, tsv);
    top_words(&c, &w, 0, tsv);
    if (tsv != NULL)
        fclose(tsv);
    cls_rollout_free(&c);
    tp_words_free(&w), tp_bert_free(m);
    return 0;
}
/* <<tp explain: commands>> */
static const option vit_rollout_options[] = {
    {"--model", OPTION_STRING, &ex_model, 0, 0,
     "a ViT checkpoint trained on the shapes"},
    {"--images", OPTION_INT, &ex_images, 4, 1000000, "test images"},
    {"--tsv", OPTION_STRING, &ex_tsv, 0, 0, "write the result as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp explain: commands>> */
static void patches_on_shape(const float *pixels, int size, int patch,
                             unsigned char *on)
{
    int grid = size / patch;
    for (int p = 0; p < grid * grid; p++) {
        int bright = 0;
        for (int y = 0; y < patch; y++)
            for (int x = 0; x < patch; x++)
                bright += pixels[((p / grid) * patch + y) * size
                                 + (p % grid) * patch + x] > 0.5f;
        on[p] = 4 * bright >= patch * patch;
    }
}

static double share_on(const double *to_patch, const unsigned char *on,
                       int n)
{
    double on_shape = 0.0, all = 0.0;
    for (int p = 0; p < n; p++)
        on_shape += on[p] ? to_patch[p] : 0.0, all += to_patch[p];
    return all > 0.0 ? on_shape / all : 0.0;
}
/* <<tp explain: commands>> */
typedef struct shape_shares {
    int images, right;
    double patches, rollout, last, kept;  /* sums over the images */
} shape_shares;

static void explain_image(tp_vit *m, tp_tensor **weights, int b,
                          const float *pixels, float *r, shape_shares *s,
                          FILE *tsv)
{
    int size = m->config.image_size, patch = m->config.patch_size;
    int n = tp_patch_count(size, patch);
    int layers = m->config.n_layer, heads = m->config.n_head;
    unsigned char on[TABLE_COLS];  /* load_shapes_vit: n <= TABLE_COLS */
    double rolled[TABLE_COLS], last[TABLE_COLS];
    tp_attention_rollout(weights, layers, b, r);
    patches_on_shape(pixels, size, patch, on);
    for (int p = 0; p < n; p++) {
        rolled[p] = r[1 + p], last[p] = 0.0;
        for (int h = 0; h < heads; h++)
            last[p] += *tp_at4(weights[layers - 1], b, h, 0, 1 + p) / heads;
    }
    int count = 0;
    for (int p = 0; p < n; p++)
        count += on[p];
    s->patches += (double)count / n, s->kept += r[0];
    s->rollout += share_on(rolled, on, n), s->last += share_on(last, on, n);
    /* <<explain vit: write the first images>> */
    if (tsv != NULL && s->images < 4) {
        for (int y = 0; y < size; y++) {
            fprintf(tsv, "pixels");
            for (int x = 0; x < size; x++)
                fprintf(tsv, "\t%.3f", pixels[y * size + x]);
            fprintf(tsv, "\n");
        }
        const char *names[3] = {"rollout", "last", "on"};
        for (int k = 0; k < 3; k++) {
            fprintf(tsv, "%s", names[k]);
            for (int p = 0; p < n; p++)
                fprintf(tsv, "\t%.5f", k == 0 ? rolled[p] : k == 1 ? last[p]
                                                                   : on[p]);
            fprintf(tsv, "\n");
        }
    }
}
/* <<tp explain: commands>> */
static void explain_images(tp_vit *m, shape_shares *s, FILE *tsv)
{
    int size = m->config.image_size, chunk = 100;
    int t = tp_patch_count(size, m->config.patch_size) + 1;
    float *pixels = malloc((size_t)chunk * size * size * sizeof *pixels),
          *r = malloc((size_t)t * t * sizeof *r);
    int labels[100];
    tp_check(pixels != NULL && r != NULL, "out of memory");
    tp_rng rng = tp_rng_seeded(1, 2);  /* the test images of tp vit eval */
    tp_arena *arena = tp_arena_new("vit rollout");
    for (int start = 0; start < ex_images; start += chunk) {
        int batch = ex_images - start < chunk ? ex_images - start : chunk;
        for (int i = 0; i < batch; i++)
            labels[i] = (int)tp_shape_image(size, &rng,
                                            pixels + (long)i * size * size);
        /* <<explain vit: run a batch and measure each image>> */
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_tensor **weights = tp_arena_zeroed(arena, (size_t)m->config.n_layer,
                                              sizeof *weights);
        tp_tensor *logits = tp_vit_forward(&g, m, pixels, batch, weights);
        for (int b = 0; b < batch; b++) {
            int predicted = argmax(logits->data + (long)b * m->config.n_classes,
                                   m->config.n_classes);
            if (tsv != NULL && s->images < 4)
                fprintf(tsv, "# image %d: %s, predicted %s\n", s->images,
                        tp_shape_class_name(labels[b]),
                        tp_shape_class_name(predicted));
            explain_image(m, weights, b, pixels + (long)b * size * size, r, s, tsv);
            s->right += predicted == labels[b];
            s->images++;
        }
        tp_arena_reset(arena);
    }
    tp_arena_free(arena);
    free(pixels), free(r);
}
/* <<tp explain: commands>> */
static tp_vit *load_shapes_vit(void)
{
    if (ex_model == NULL) {
        fprintf(stderr, "tp explain vit: --model is required\n");
        return NULL;
    }
    tp_error error;
    tp_vit *m = tp_vit_load(ex_model, &error);
    if (m == NULL) {
        fprintf(stderr, "tp explain vit: %s\n", error.message);
        return NULL;
    }
    int n = tp_patch_count(m->config.image_size, m->config.patch_size);
    if (m->config.n_classes != TP_SHAPE_CLASSES || m->config.image_size > 32
        || m->config.image_size == 8 || n > TABLE_COLS) {
        fprintf(stderr, "tp explain vit: %s is not a ViT of the shapes, of "
                "at most 32 pixels and %d patches a side\n", ex_model,
                (int)sqrt(TABLE_COLS));
        tp_vit_free(m);
        return NULL;
    }
    return m;
}
/* <<tp explain: commands>> */
static int explain_vit(void)
{
    if (ex_tsv != NULL && check_output("explain vit", ex_tsv))
        return 1;
    tp_vit *m = load_shapes_vit();
    if (m == NULL)
        return 1;
    FILE *tsv = ex_tsv != NULL ? fopen(ex_tsv, "w") : NULL;
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp explain vit --model %s --images %d\n"
                "row\tvalues\ngrid\t%d\n", ex_model, ex_images,
                m->config.image_size / m->config.patch_size);
    }
    shape_shares s = {0};
    explain_images(m, &s, tsv);
    /* <<explain vit: report>> */
    int n = s.images;
    printf("%d test images of the shapes: the ViT is right on %.1f%%\n"
           "patches on the shape: %.3f of them\n"
           "the class token's rollout puts %.3f of its patches' share on them "
           "(and keeps %.3f on itself)\n"
           "its last layer's weights put %.3f on them\n", n,
           100.0 * s.right / n, s.patches / n, s.rollout / n, s.kept / n,
           s.last / n);
    if (tsv != NULL) {
        fprintf(tsv, "shares\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\n", s.patches / n,
                s.rollout / n, s.last / n, s.kept / n, (double)s.right / n);
        fclose(tsv);
    }
    tp_vit_free(m);
    return 0;
}

/* <<tp explain: figures>> */
static int labelled(const table *t, const char *label, int x_column,
                    int y_column, double *x, double *y, int most)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < most; r++)
        if (strcmp(t->label[r], label) == 0) {
            x[n] = x_column < 0 ? n : t->value[r][x_column];
            y[n++] = t->value[r][y_column];
        }
    return n;
}

static table *read_explain_table(const char *path, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    if (read_table(path, t, error) != 0) {
        free(t);
        return NULL;
    }
    return t;
}
/* <<tp explain: figures>> */
static void position_panel(tp_plot *p, const table *t, bool legend)
{
    static const char *const names[3] = {
        "trained model", "induction heads ablated",
        "previous-token head ablated"};
    double x[TABLE_ROWS], y[TABLE_ROWS];
    tp_plot_frame(p);
    tp_legend_entry entries[3];
    for (int c = 0; c < 3; c++) {
        int n = labelled(t, "position", 0, c + 1, x, y, TABLE_ROWS);
        tp_plot_line(p, x, y, n, tp_category(c), c > 0, false);
        entries[c] = (tp_legend_entry){names[c], tp_category(c), c > 0};
    }
    double half = (p->ax.hi + 1) / 2, xs[2] = {half, half},
           ys[2] = {p->ay.lo, p->ay.hi};
    tp_plot_line(p, xs, ys, 2, tp_rgb(0x999999), true, false);
    if (legend)
        tp_plot_legend(p, entries, 3, TP_TOP_RIGHT);
}
/* <<tp explain: figures>> */
static void map_panel(tp_draw *d, const table *t, const char *label,
                      double x, double y, double size, const char *title)
{
    float values[TABLE_COLS * TABLE_COLS];
    int rows = 0;  /* a square: as many keys as queries */
    for (int r = 0; r < t->rows; r++)
        rows += strcmp(t->label[r], label) == 0;
    rows = rows < TABLE_COLS ? rows : TABLE_COLS;
    for (int r = 0, i = 0; r < t->rows && i < rows; r++)
        if (strcmp(t->label[r], label) == 0) {
            for (int j = 0; j < rows; j++)
                values[i * rows + j] = (float)t->value[r][j];
            i++;
        }
    tp_heatmap(d, x, y, size, size, values, rows, rows, NULL, 0.0, 1.0);
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x + size / 2, y - 4, 0.5, 1.0, 7, title);
    tp_text(d, x + size / 2, y + size + 4, 0.5, 0.0, 7, "key position");
}
/* <<tp explain: figures>> */
static double highest_loss(const table *t)
{
    double most = 1.0;
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], "position") == 0)
            for (int c = 1; c <= 3; c++)
                most = fmax(most, t->value[r][c]);
    return most;
}

static int draw_interpretability_induction(tp_draw *d, tp_error *error)
{
    table *t = read_explain_table(
        "figures/data/interpretability-induction.tsv", error);
    if (t == NULL)
        return -1;
    double x[TABLE_ROWS], y[TABLE_ROWS];
    int n = labelled(t, "position", 0, 1, x, y, TABLE_ROWS);
    tp_axis position = {.lo = 0, .hi = n > 0 ? x[n - 1] : 1,
                        .label = "position t"};
    tp_axis loss = {.lo = 0, .hi = highest_loss(t) * 1.35,
                    .label = "loss of token t + 1"};
    tp_plot p = {d, 50, 12, 190, 150, position, loss};
    position_panel(&p, t, true);
    map_panel(d, t, "map-previous", 258, 30, 66, "previous-token head");
    map_panel(d, t, "map-induction", 336, 30, 66, "induction head");
    tp_colorbar(d, 410, 30, 7, 66, 0.0, 1.0, "weight");
    free(t);
    return 0;
}
/* <<tp explain: figures>> */
static int draw_interpretability_circuit(tp_draw *d, tp_error *error)
{
    (void)error;
    static const char *const tokens[7] = {"x", "A", "B", "y", "z", "A",
                                          "?"};
    static const char *const records[7] = {"", "x", "A", "B", "y", "z",
                                           "A"};
    const double x0 = 40, cell = 52, row = 150, stream = 92;
    tp_color grey = tp_rgb(0x999999);
    tp_token_row(d, x0, row, cell, 18, tokens, 7, tp_category(4));
    for (int i = 1; i < 6; i++) {
        char label[32];
        snprintf(label, sizeof label, "after %s", records[i]);
        tp_label_box(d, x0 + i * cell + 4, stream, cell - 8, 18,
                     tp_category(i == 2 ? 1 : 7), 7, label);
        tp_arrow(d, x0 + (i - 0.5) * cell, row, x0 + (i + 0.5) * cell - 6,
                 stream + 18, grey, 0.6);
    }
    /* <<circuit: the induction head's look and its answer>> */
    double from_x = x0 + 5.5 * cell, to_x = x0 + 2.5 * cell,
           answer_x = x0 + 6.5 * cell;
    tp_arrow(d, from_x, stream - 4, to_x + 4, stream - 4, tp_category(0), 1.4);
    tp_text(d, (from_x + to_x) / 2, stream - 10, 0.5, 1.0, 7.5,
            "<b>induction head</b> (layer 1): the second A looks for "
            "\xe2\x80\x9c" "after A\xe2\x80\x9d");
    tp_text(d, x0 + 3.5 * cell, row + 24, 0.5, 0.0, 7.5,
            "<b>previous-token head</b> (layer 0): each position records the "
            "token before it");
    tp_set_color(d->cr, tp_category(0));
    cairo_set_line_width(d->cr, 1.0);
    cairo_move_to(d->cr, to_x, stream);
    cairo_line_to(d->cr, to_x, 22);
    cairo_stroke(d->cr);
    tp_arrow(d, to_x, 22, answer_x - 34, 22, tp_category(0), 1.0);
    tp_text(d, (to_x + answer_x) / 2, 18, 0.5, 1.0, 7.5,
            "and copies the token found there");
    tp_label_box(d, answer_x - 32, 14, 64, 16, tp_category(0), 7.5,
                 "predicts B");
    tp_arrow(d, answer_x, 30, answer_x, row - 2, grey, 0.6);
    return 0;
}
/* <<tp explain: figures>> */
static void token_panel(tp_plot *p, const table *t, const char *const names[2],
                        int first_color)
{
    double x[TABLE_ROWS], y[TABLE_ROWS];
    tp_plot_frame(p);
    tp_legend_entry entries[2];
    for (int c = 0; c < 2; c++) {
        int n = labelled(t, "token", 0, c + 2, x, y, TABLE_ROWS);
        tp_plot_line(p, x, y, n, tp_category(first_color + c), c > 0, true);
        entries[c] = (tp_legend_entry){names[c], tp_category(first_color + c),
                                       c > 0};
    }
    tp_plot_legend(p, entries, 2, TP_TOP_LEFT);
}

static double column_range(const table *t, int column, bool high)
{
    double v = 0.0;
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], "token") == 0)
            v = high ? fmax(v, t->value[r][column])
                     : fmin(v, t->value[r][column]);
    return v;
}
/* <<tp explain: figures>> */
static int draw_interpretability_attribution(tp_draw *d, tp_error *error)
{
    table *a = read_explain_table(
        "figures/data/interpretability-saliency.tsv", error);
    table *r = a != NULL ? read_explain_table(
                               "figures/data/interpretability-rollout.tsv",
                               error)
                         : NULL;
    if (r == NULL) {
        free(a);
        return -1;
    }
    static const char *const attributions[2] = {"gradient \xc3\x97 input",
                                                "integrated gradients"};
    static const char *const flows[2] = {"rollout", "last layer's weights"};
    double lo = fmin(column_range(a, 2, false), column_range(a, 3, false));
    double hi = fmax(column_range(a, 2, true), column_range(a, 3, true));
    tp_axis position = {.lo = 0, .hi = 32, .label = "input position"};
    tp_plot left = {d, 52, 12, 160, 150, position,
                    {.lo = lo - 0.1, .hi = hi * 1.15 + 0.1,
                     .label = "share of log p"}};
    tp_plot right = {d, 268, 12, 160, 150, position,
                     {.lo = 0, .hi = 1.05, .label = "weight"}};
    token_panel(&left, a, attributions, 0);
    token_panel(&right, r, flows, 2);
    free(a), free(r);
    return 0;
}
/* <<tp explain: figures>> */
static void outline_shape(tp_draw *d, double x, double y, double side,
                          const double *on, int grid)
{
    double cell = side / grid;
    cairo_set_source_rgb(d->cr, 1, 1, 1);
    cairo_set_line_width(d->cr, 0.6);
    for (int p = 0; p < grid * grid; p++)
        if (on[p] > 0.5)
            cairo_rectangle(d->cr, x + (p % grid) * cell + 0.3,
                            y + (p / grid) * cell + 0.3, cell - 0.6,
                            cell - 0.6);
    cairo_stroke(d->cr);
}

static void patch_map(tp_draw *d, double x, double y, double side,
                      const double *values, const double *on, int grid)
{
    float cells[TABLE_COLS] = {0};
    double top = 0.0;
    for (int p = 0; p < grid * grid; p++)
        cells[p] = (float)values[p], top = fmax(top, values[p]);
    tp_heatmap(d, x, y, side, side, cells, grid, grid, NULL, 0.0,
               top > 0.0 ? top : 1.0);
    outline_shape(d, x, y, side, on, grid);
}
/* <<tp explain: figures>> */
static int vit_rollout_rows(const table *t, int image, int *first)
{
    int seen = 0;
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], "rollout") == 0 && seen++ == image) {
            *first = r;
            return 0;
        }
    return -1;
}

static void vit_image_group(tp_draw *d, const table *t, int row, int grid,
                            double x0)
{
    int size = 0;
    while (row - size - 1 >= 0 && strcmp(t->label[row - size - 1], "pixels")
                                      == 0 && size < TABLE_COLS)
        size++;
    float pixels[TABLE_COLS * TABLE_COLS];
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
            pixels[y * size + x] = (float)t->value[row - size + y][x];
    const double side = 30;
    tp_heatmap(d, x0, 24, side, side, pixels, size, size, NULL, 0.0, 1.0);
    patch_map(d, x0 + side + 3, 24, side, t->value[row], t->value[row + 2],
              grid);
    patch_map(d, x0 + 2 * (side + 3), 24, side, t->value[row + 1],
              t->value[row + 2], grid);
}
/* <<tp explain: figures>> */
static int draw_interpretability_vit(tp_draw *d, tp_error *error)
{
    table *t = read_explain_table("figures/data/interpretability-vit.tsv",
                                  error);
    if (t == NULL)
        return -1;
    int rows[4], grid = strcmp(t->label[0], "grid") == 0
                            ? (int)t->value[0][0] : 0;
    int status = grid >= 1 && grid * grid <= TABLE_COLS ? 0 : -1;
    for (int k = 0; k < 4 && status == 0; k++)
        status = vit_rollout_rows(t, k, &rows[k]);
    if (status != 0 || rows[0] + 2 >= t->rows) {
        free(t);
        return tp_error_set(error, "interpretability-vit.tsv does not hold "
                            "four images and their rollouts");
    }
    static const char *const titles[3] = {"image", "rollout", "last layer"};
    for (int k = 0; k < 4; k++) {
        double x0 = 8 + k * 108;
        vit_image_group(d, t, rows[k], grid, x0);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        for (int i = 0; i < 3; i++)
            tp_text(d, x0 + 15 + 33 * i, 20, 0.5, 1.0, 6.5, titles[i]);
        /* <<interpretability vit figure: the image's class>> */
        char key[16], caption[64] = "";
        snprintf(key, sizeof key, "image %d: ", k);
        const char *c = strstr(t->comments, key);
        if (c != NULL)
            sscanf(c + strlen(key), "%63[^\n]", caption);
        tp_text(d, x0 + 48, 2, 0.5, 0.0, 6.5, caption);
    }
    free(t);
    return 0;
}
/* <<tp explain: figures>> */
static void card_interpretability_problem(tp_draw *d, tp_rect problem,
                                          const table *t)
{
    double px = problem.x, py = problem.y, x[TABLE_ROWS], y[TABLE_ROWS];
    int n = labelled(t, "position", 0, 1, x, y, TABLE_ROWS);
    tp_plot p = {d, px + 30, py + 34, 200, 90,
                 {.lo = 0, .hi = n > 0 ? x[n - 1] : 1},
                 {.lo = 0, .hi = highest_loss(t) * 1.05}};
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, px + 130, py + 22, 0.5, 0.0, 7,
            "loss at each position of a repeated random sequence");
    position_panel(&p, t, false);
    /* <<card interpretability: the heads>> */
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, px + 12, py + 164, 0.0, 0.0, 7,
            "<b>head   previous   induction   ablated: 2nd repeat</b>");
    double loss[3] = {NAN, NAN, NAN};
    const char *at = strstr(t->comments, " loss ");
    if (at != NULL)
        sscanf(at + 6, "%lf %lf %lf", &loss[0], &loss[1], &loss[2]);
    for (int r = 0, k = 0; r < t->rows && k < 6; r++)
        if (strcmp(t->label[r], "head") == 0) {
            char line[96];
            snprintf(line, sizeof line, "L%.0f.H%.0f   %.2f   %.2f   %.2f",
                     t->value[r][0], t->value[r][1], t->value[r][2],
                     t->value[r][3], t->value[r][5]);
            tp_text(d, px + 12, py + 176 + 10 * k++, 0.0, 0.0, 7, line);
        }
    char summary[128];
    snprintf(summary, sizeof summary, "1st repeat %.2f, 2nd repeat %.2f",
             loss[0], loss[1]);
    tp_text(d, px + 12, py + 148, 0.0, 0.0, 7, summary);
}
/* <<tp explain: figures>> */
static int draw_card_interpretability(tp_draw *d, tp_error *error)
{
    table *t = read_explain_table(
        "figures/data/interpretability-induction.tsv", error);
    if (t == NULL)
        return -1;
    static const char *const solution[6][3] = {
        {"Induction heads", "find a circuit by its attention patterns",
         "this chapter"},
        {"Activation patching", "one head's output from a clean run",
         "this chapter"},
        {"Gradient \xc3\x97 input", "first-order share of each token",
         "this chapter"},
        {"Integrated gradients", "shares that add up to the change",
         "this chapter"},
        {"Attention rollout", "weights multiplied through the layers",
         "this chapter"},
        {"Attention maps", "what each head looks at (not why)",
         "Chapter GPT"},
    };
    tp_rect problem, solutions;
    tp_card(d, 440, 320, "<b>15. Poor interpretability</b>",
            "A model that predicts well does not say why",
            "Data: tp explain induction (make measure-interpretability)",
            &problem, &solutions);
    card_interpretability_problem(d, problem, t);
    card_solutions(d, &solutions, solution, 6);
    free(t);
    return 0;
}

static const command explain_commands[] = {
    /* <<tp explain: command table>> */
    {"explain induction", "train an attention-only GPT on repeated tokens; "
     "find its induction heads, ablate and patch every head",
     induction_options, explain_induction, NULL},
    /* <<tp explain: command table>> */
    {"explain patch", "ablate one head of a GPT and patch it from a clean run "
     "into a corrupted one", patch_options, explain_patch, NULL},
    {"explain saliency", "gradient x input and integrated gradients of one "
     "prediction", saliency_options, explain_saliency, NULL},
    {"explain rollout", "attention rollout through every layer, against the "
     "last layer's weights", rollout_options, explain_rollout, NULL},
    {"explain probe", "linear probes of every layer for properties of the "
     "book, with control tasks", probe_options, explain_probe, NULL},
    {"explain bert", "attention rollout from [CLS] of a BERT that tells prose "
     "from code", bert_rollout_options, explain_bert, NULL},
    {"explain vit", "attention rollout from the class token of a ViT over the "
     "patches of the shapes", vit_rollout_options, explain_vit, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure explain_figures[] = {
    /* <<tp explain: figure table>> */
    {"interpretability-induction", "the loss at each position of repeated "
     "random tokens, with parts of the circuit ablated; the weights of the "
     "two kinds of head", 440, 200, draw_interpretability_induction},
    /* <<tp explain: figure table>> */
    {"interpretability-circuit", "the induction circuit: a previous-token "
     "head, then an induction head", 440, 190, draw_interpretability_circuit},
    /* <<tp explain: figure table>> */
    {"interpretability-attribution", "one prediction of the induction model "
     "explained: attributions and rollout against the input position", 440,
     200, draw_interpretability_attribution},
    /* <<tp explain: figure table>> */
    {"interpretability-vit", "where a ViT's class token draws from: the "
     "rollout and the last layer's weights over the patches of four shapes",
     440, 64, draw_interpretability_vit},
    /* <<tp explain: figure table>> */
    {"card-interpretability", "the card of interpretability", 440, 320,
     draw_card_interpretability},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part explain_part = {explain_commands, explain_figures};
