/* Generated from book/208-vanilla.nw; edit the book, not this file. */
#include "program.h"

/* <<tp vanilla: commands>> */
static const char *const number_words[] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
    "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred",
    "thousand", "million", "-"};
enum {
    NUMBER_WORDS = sizeof number_words / sizeof *number_words,
    WORD_IDS = TP_EOS + 1 + NUMBER_WORDS,
    MAX_DIGITS = 9,
    TARGET_LENGTH = 20  /* BOS, at most 17 words, EOS, and room */
};
/* <<tp vanilla: commands>> */
static int word_id(const char *word, size_t length)
{
    for (int i = 0; i < NUMBER_WORDS; i++)
        if (strlen(number_words[i]) == length
            && strncmp(number_words[i], word, length) == 0)
            return TP_EOS + 1 + i;
    tp_check(false, "'%.*s' is not a number word", (int)length, word);
    return -1;
}

static int english_ids(long number, int *ids)
{
    char text[256];
    tp_number_to_english(number, text, sizeof text);
    int n = 0;
    ids[n++] = TP_BOS;
    for (const char *p = text; *p != '\0';) {
        size_t length = strcspn(p, " -");
        if (length > 0)
            ids[n++] = word_id(p, length);
        p += length;
        if (*p == '-')
            ids[n++] = word_id(p, 1);
        p += *p != '\0';
    }
    ids[n++] = TP_EOS;
    return n;
}
/* <<tp vanilla: commands>> */
static void english_text(const int *ids, int n, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n && used < size; i++) {
        int w = ids[i] - TP_EOS - 1;
        const char *word = w >= 0 && w < NUMBER_WORDS ? number_words[w] : "?";
        bool glued = i == 0 || strcmp(word, "-") == 0
                     || (i > 0 && ids[i - 1] == word_id("-", 1));
        used += (size_t)snprintf(out + used, size - used, "%s%s",
                                 glued ? "" : " ", word);
    }
}

static int digit_ids(long number, int *ids)
{
    char digits[16];
    int n = snprintf(digits, sizeof digits, "%ld", number);
    for (int i = 0; i < n; i++)
        ids[i] = digits[i] - '0';
    return n;
}
/* <<tp vanilla: commands>> */
static bool held_out(long number)
{
    uint64_t h = (uint64_t)number * 0x9E3779B97F4A7C15ULL;
    return number >= 100 && (h >> 32) % 10 == 0;
}

static long draw_number(tp_rng *rng, bool test)
{
    for (;;) {
        int digits = test ? 3 + (int)tp_rng_below(rng, MAX_DIGITS - 2)
                          : 1 + (int)tp_rng_below(rng, MAX_DIGITS);
        long low = 1;
        for (int i = 1; i < digits; i++)
            low *= 10;
        long first = digits == 1 ? 0 : low;
        long number = first + (long)tp_rng_below(rng, (uint32_t)(9 * low + (digits == 1)));
        if (held_out(number) == test)
            return number;
    }
}
/* <<tp vanilla: commands>> */
typedef struct number_batch {
    int source[MAX_DIGITS * 512], target[TARGET_LENGTH * 512];
    unsigned char padding[MAX_DIGITS * 512];
    tp_source s;
} number_batch;

static void draw_batch(number_batch *b, int batch, tp_rng *rng, bool test)
{
    for (int r = 0; r < batch; r++) {
        long number = draw_number(rng, test);
        int *source = b->source + r * MAX_DIGITS;
        int *target = b->target + r * TARGET_LENGTH;
        int n = digit_ids(number, source), t = english_ids(number, target);
        for (int j = 0; j < MAX_DIGITS; j++)
            b->padding[r * MAX_DIGITS + j] = j >= n;
        for (int j = n; j < MAX_DIGITS; j++)
            source[j] = 0;
        for (int j = t; j < TARGET_LENGTH; j++)
            target[j] = TP_PAD;
    }
    b->s = (tp_source){b->source, b->padding, batch, MAX_DIGITS};
}
/* <<tp vanilla: commands>> */
_Static_assert((int)NUMBER_MAX_DIGITS == (int)MAX_DIGITS
                   && (int)NUMBER_MAX_WORDS == (int)TARGET_LENGTH - 2,
               "the shared sizes of the numbers task");

int number_target_ids(void)
{
    return WORD_IDS;
}

long number_example(tp_rng *rng, bool test, int *digits, int *n_digits,
                    int *words, int *n_words)
{
    long number = draw_number(rng, test);
    int ids[TARGET_LENGTH];
    *n_digits = digit_ids(number, digits);
    *n_words = english_ids(number, ids) - 2;
    memcpy(words, ids + 1, (size_t)*n_words * sizeof *words);
    return number;
}
/* <<tp vanilla: commands>> */
static int translate_steps = 2000, translate_batch = 64, translate_layers = 2,
           translate_heads = 4, translate_width = 128, translate_seed = 1,
           translate_eval = 500;
static float translate_smoothing = 0.1f, translate_lr = 1e-3f;
static bool translate_pre_ln = false;
static const char *translate_out = "translate.safetensors";

static const option translate_train_options[] = {
    {"--steps", OPTION_INT, &translate_steps, 1, 100000000, "training steps"},
    {"--batch", OPTION_INT, &translate_batch, 1, 512, "numbers per step"},
    {"--layers", OPTION_INT, &translate_layers, 1, 64,
     "blocks in the encoder, and in the decoder"},
    {"--heads", OPTION_INT, &translate_heads, 1, 64, "attention heads"},
    {"--width", OPTION_INT, &translate_width, 2, 4096, "the model width C"},
    {"--pre-ln", OPTION_FLAG, &translate_pre_ln, 0, 0,
     "normalise before each step, not after (default: post-LN, as in 2017)"},
    {"--smoothing", OPTION_FLOAT, &translate_smoothing, 0, 1,
     "label smoothing, below 1 (default: 0.1)"},
    {"--lr", OPTION_FLOAT, &translate_lr, 0, 1, "the peak learning rate "
     "(default: 0.001)"},
    {"--seed", OPTION_INT, &translate_seed, 0, 1000000000, "the seed"},
    {"--eval-every", OPTION_INT, &translate_eval, 1, 100000000,
     "steps between accuracies on held-out numbers"},
    {"--out", OPTION_STRING, &translate_out, 0, 0,
     "the checkpoint to write (default: translate.safetensors)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp vanilla: commands>> */
static int translate_number(tp_vanilla *m, long number, int beam, int *words)
{
    int digits[MAX_DIGITS];
    int n = digit_ids(number, digits);
    return beam <= 1 ? tp_vanilla_greedy(m, digits, n, TARGET_LENGTH, words)
                     : tp_vanilla_beam(m, digits, n, beam, TARGET_LENGTH, words);
}

static int exact_matches(tp_vanilla *m, int count, int beam, FILE *errors)
{
    tp_rng rng = tp_rng_seeded(2017, 1);
    int right = 0, shown = 0;
    for (int i = 0; i < count; i++) {
        long number = draw_number(&rng, true);
        int expected[TARGET_LENGTH], words[TARGET_LENGTH];
        int n = english_ids(number, expected) - 2;
        int k = translate_number(m, number, beam, words);
        bool same = k == n && memcmp(words, expected + 1, (size_t)n * sizeof(int)) == 0;
        right += same;
        if (!same && errors != NULL && shown++ < 5) {
            char text[512];
            english_text(words, k, text, sizeof text);
            fprintf(errors, "  %ld -> %s\n", number, text);
        }
    }
    return right;
}
/* <<tp vanilla: commands>> */
typedef struct translate_run {
    tp_vanilla *m;
    tp_rng rng;
    number_batch batch;
    display shown;
} translate_run;

static tp_tensor *translate_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    translate_run *r = context;
    draw_batch(&r->batch, translate_batch, &r->rng, false);
    return tp_vanilla_loss(g, r->m, &r->batch.s, r->batch.target,
                           TARGET_LENGTH, translate_smoothing);
}

static bool translate_progress(const tp_progress *p, void *context)
{
    translate_run *r = context;
    bool going = show_progress(p, &r->shown);
    if ((p->step + 1) % translate_eval == 0 || p->step + 1 == p->steps) {
        int right = exact_matches(r->m, 200, 1, NULL);
        printf("step %ld: held-out exact match %.1f%% (%d of 200)\n",
               p->step + 1, right / 2.0, right);
        fflush(stdout);
    }
    return going;
}
/* <<tp vanilla: commands>> */
static int translate_train(void)
{
    if (check_output("translate train", translate_out) != 0)
        return 1;
    if (translate_width % (2 * translate_heads) != 0
        || translate_smoothing >= 1.0f) {
        fprintf(stderr, "tp translate train: --width %d must be a multiple of "
                "twice --heads %d, and --smoothing below 1\n",
                translate_width, translate_heads);
        return 2;
    }
    translate_run *r = calloc(1, sizeof *r);
    tp_check(r != NULL, "out of memory");
    r->m = tp_vanilla_new((tp_vanilla_config){
        .source_vocab = 10, .target_vocab = WORD_IDS,
        .n_positions = TARGET_LENGTH, .n_layer = translate_layers,
        .n_head = translate_heads, .n_embd = translate_width,
        .n_inner = 4 * translate_width, .post_ln = !translate_pre_ln});
    r->rng = tp_rng_seeded((uint64_t)translate_seed, 1);
    tp_vanilla_init(r->m, &r->rng);
    r->shown.terminal = isatty(STDERR_FILENO);
    printf("vanilla Transformer (%s): %ld parameters\n",
           translate_pre_ln ? "pre-LN" : "post-LN",
           tp_params_count(&r->m->params));
    /* <<translate train: run the loop and save>> */
    tp_optimizer *opt = tp_optimizer_new(&r->m->params, (tp_optimizer_config){
        .kind = TP_ADAM, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-9f});
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    long warmup = translate_steps / 10 < 200 ? translate_steps / 10 + 1 : 200;
    tp_train_options o = {.steps = translate_steps, .warmup = warmup,
                          .max_lr = translate_lr, .min_lr = translate_lr / 10,
                          .clip = 1.0,
                          .tokens_per_step = (long)translate_batch * TARGET_LENGTH,
                          .progress = translate_progress, .progress_context = r};
    tp_error error;
    catch_interrupts();
    int status = tp_train(&g, &r->m->params, opt, &o, translate_loss, r, NULL,
                          &error);
    if (status == 0)
        status = tp_vanilla_save(r->m, translate_out, &error);
    if (status != 0)
        fprintf(stderr, "tp translate train: %s\n", error.message);
    else
        printf("%s; saved %s\n", interrupted ? "interrupted" : "done",
               translate_out);
    status = exit_status(status);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_vanilla_free(r->m);
    free(r);
    return status;
}
/* <<tp vanilla: commands>> */
static const char *translate_model = "translate.safetensors",
                  *translate_attention = NULL;
static int translate_beam = 1, translate_test = 0;

static const option translate_run_options[] = {
    {"--model", OPTION_STRING, &translate_model, 0, 0,
     "the checkpoint (default: translate.safetensors)"},
    {"--beam", OPTION_INT, &translate_beam, 1, 64,
     "the width of the beam search (default: 1, greedy)"},
    {"--test", OPTION_INT, &translate_test, 0, 1000000,
     "measure the exact-match accuracy on this many held-out numbers"},
    {"--attention", OPTION_STRING, &translate_attention, 0, 0,
     "write the cross-attention of the first number to this table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp vanilla: commands>> */
static int write_cross_attention(tp_vanilla *m, long number);

static int translate_one(tp_vanilla *m, const char *text)
{
    char *end;
    errno = 0;
    long number = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno != 0 || number < 0
        || number > 999999999L) {
        fprintf(stderr, "tp translate run: '%s' is not a number from 0 to "
                "999999999\n", text);
        return 2;
    }
    int words[TARGET_LENGTH];
    char english[512];
    english_text(words, translate_number(m, number, translate_beam, words),
                 english, sizeof english);
    printf("%ld\t%s\n", number, english);
    return 0;
}
/* <<tp vanilla: commands>> */
static int translate_run_command(void)
{
    tp_error error;
    tp_vanilla *m = tp_vanilla_load(translate_model, &error);
    if (m == NULL) {
        fprintf(stderr, "tp translate run: %s\n", error.message);
        return 1;
    }
    int status = 0;
    if (m->config.source_vocab != 10 || m->config.target_vocab != WORD_IDS) {
        fprintf(stderr, "tp translate run: %s was not trained on numbers\n",
                translate_model);
        status = 1;
    }
    if (status == 0 && translate_test > 0) {
        int right = exact_matches(m, translate_test, translate_beam, stdout);
        printf("held-out exact match, %s: %.1f%% (%d of %d)\n",
               translate_beam > 1 ? "beam" : "greedy",
               100.0 * right / translate_test, right, translate_test);
    }
    for (int i = 0; status == 0 && i < operand_count; i++)
        status = translate_one(m, operands[i]);
    if (status == 0 && translate_attention != NULL && operand_count > 0)
        status = write_cross_attention(m, strtol(operands[0], NULL, 10));
    tp_vanilla_free(m);
    return status;
}
/* <<tp vanilla: commands>> */
static int write_cross_attention(tp_vanilla *m, long number)
{
    int digits[MAX_DIGITS], words[TARGET_LENGTH + 1];
    int s = digit_ids(number, digits);
    int n = tp_vanilla_greedy(m, digits, s, TARGET_LENGTH - 1, words + 1);
    words[0] = TP_BOS;
    tp_arena *arena = tp_arena_new("attention");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_source source = {.tokens = digits, .batch = 1, .length = s};
    tp_tensor **cross = tp_arena_zeroed(arena, (size_t)m->config.n_layer,
                                        sizeof *cross);
    tp_vanilla_decode(&g, m, tp_vanilla_encode(&g, m, &source), &source,
                      words, n + 1, cross);
    FILE *f = fopen(translate_attention, "w");
    if (f != NULL) {
        /* <<translate attention: write the table>> */
        const tp_tensor *w = cross[m->config.n_layer - 1];  /* [1, H, n + 1, s] */
        int heads = m->config.n_head;
        fprintf(f, "# written by: tp translate run --model %s --attention %s %ld\n"
                "# number %ld\nword", translate_model, translate_attention, number,
                number);
        for (int j = 0; j < s; j++)
            fprintf(f, "\t%d", digits[j]);
        for (int i = 0; i <= n; i++) {
            char word[32] = "(end)";
            if (i < n)
                english_text(&words[i + 1], 1, word, sizeof word);
            fprintf(f, "\n%s", word);
            for (int j = 0; j < s; j++) {
                double mean = 0;
                for (int h = 0; h < heads; h++)
                    mean += *tp_at4(w, 0, h, i, j) / heads;
                fprintf(f, "\t%.4f", mean);
            }
        }
        fprintf(f, "\n");
    }
    tp_arena_free(arena);
    if (f == NULL || fclose(f) != 0) {
        fprintf(stderr, "tp translate run: cannot write %s\n",
                translate_attention);
        return 1;
    }
    return 0;
}

/* <<tp vanilla: figures>> */
static void vanilla_stack(tp_draw *d, double x, double y, int layers,
                          const char *const steps[], int n, const char *title)
{
    double h = 22.0 * n + 14.0;
    char text[64];
    tp_rounded_box(d, x - 8, y - 6, 176, h + 4, 6, tp_rgb(0xFAFAFA),
                   tp_rgb(0xBBBBBB));
    snprintf(text, sizeof text, "%s \xc3\x97 %d", title, layers);
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, x + 164, y - 3, 1.0, 0.0, 7.5, text);
    for (int i = 0; i < n; i++) {
        double top = y + h - 26.0 - 22.0 * i;
        tp_label_box(d, x, top, 160, 16, tp_category(i == n - 1 ? 0 : 5), 7.5,
                     steps[i]);
        if (i > 0)
            tp_arrow(d, x + 80, top + 22, x + 80, top + 16, tp_rgb(0x555555),
                     0.8);
    }
}
/* <<tp vanilla: figures>> */
static int draw_vanilla_architecture(tp_draw *d, tp_error *error)
{
    (void)error;
    static const char *const encoder[] = {"self-attention (all positions)",
                                          "add, LayerNorm", "MLP, ReLU",
                                          "add, LayerNorm"};
    static const char *const decoder[] = {
        "causal self-attention", "add, LayerNorm", "cross-attention to memory",
        "add, LayerNorm", "MLP, ReLU", "add, LayerNorm"};
    vanilla_stack(d, 24, 108, 2, encoder, 4, "encoder");
    vanilla_stack(d, 236, 40, 2, decoder, 6, "decoder");
    tp_label_box(d, 24, 232, 160, 18, tp_category(4), 7.5,
                 "digits + sinusoids");
    tp_label_box(d, 236, 232, 160, 18, tp_category(4), 7.5,
                 "words so far + sinusoids");
    tp_label_box(d, 236, 8, 160, 18, tp_category(2), 7.5,
                 "logits of the next word");
    tp_arrow(d, 104, 232, 104, 210, tp_rgb(0x555555), 0.8);
    tp_arrow(d, 316, 232, 316, 210, tp_rgb(0x555555), 0.8);
    tp_arrow(d, 316, 40, 316, 26, tp_rgb(0x555555), 0.8);
    /* the memory enters every decoder block's cross-attention */
    cairo_set_source_rgb(d->cr, 0.45, 0.45, 0.45);
    cairo_set_line_width(d->cr, 0.8);
    cairo_move_to(d->cr, 104, 106);
    cairo_line_to(d->cr, 104, 96);
    cairo_line_to(d->cr, 210, 96);
    cairo_line_to(d->cr, 210, 116);
    cairo_stroke(d->cr);
    tp_arrow(d, 210, 116, 236, 116, tp_rgb(0x555555), 0.8);
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, 157, 92, 0.5, 1.0, 7, "memory [S, C]");
    return 0;
}
/* <<tp vanilla: figures>> */
static int draw_vanilla_attention(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/vanilla-attention.tsv", t, error);
    const char *number = status == 0 ? strstr(t->comments, "number ") : NULL;
    if (status == 0 && (number == NULL || t->cols < 1 || t->cols > 9
                        || t->rows > 24))
        status = tp_error_set(error, "vanilla-attention.tsv is not a map of "
                              "at most 24 words by 9 digits");
    if (status == 0) {
        /* <<vanilla figure: the map with its digits and words>> */
        float w[24 * 9];
        int rows = t->rows, cols = t->cols;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                w[i * cols + j] = (float)t->value[i][j];
        double cell = 150.0 / rows < 24 ? 150.0 / rows : 24, x = 170, y = 14;
        tp_heatmap(d, x, y, cell * cols, cell * rows, w, rows, cols, NULL, 0.0, 1.0);
        tp_colorbar(d, x + cell * cols + 14, y, 8, cell * rows, 0.0, 1.0,
                    "weight");
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        for (int i = 0; i < rows; i++)
            tp_text(d, x - 4, y + (i + 0.5) * cell, 1.0, 0.5, 7, t->label[i]);
        for (int j = 0; j < cols; j++) {
            char digit[2] = {number[7 + j], '\0'};
            tp_text(d, x + (j + 0.5) * cell, y + rows * cell + 3, 0.5, 0.0, 8, digit);
        }
        tp_text(d, x + cell * cols / 2, y + rows * cell + 16, 0.5, 0.0, 7,
                "keys: the source digits");
        cairo_save(d->cr);
        cairo_translate(d->cr, x - 52, y + cell * rows / 2);
        cairo_rotate(d->cr, -acos(0.0));  /* a quarter turn */
        tp_text(d, 0, 0, 0.5, 1.0, 7, "queries: the words written");
        cairo_restore(d->cr);
    }
    free(t);
    return status;
}

static const command vanilla_commands[] = {
    /* <<tp vanilla: command table>> */
    {"translate train", "train the vanilla Transformer to write numbers in "
     "English", translate_train_options, translate_train, NULL},
    {"translate run", "write numbers in English with a trained model",
     translate_run_options, translate_run_command, "NUMBER..."},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure vanilla_figures[] = {
    /* <<tp vanilla: figure table>> */
    {"vanilla-architecture", "The encoder-decoder of 2017, post-LN, as this "
     "chapter trains it", 420, 260, draw_vanilla_architecture},
    /* <<tp vanilla: figure table>> */
    {"vanilla-attention", "where a trained vanilla Transformer looks while it "
     "writes a number in words", 420, 200, draw_vanilla_attention},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part vanilla_part = {vanilla_commands, vanilla_figures};
