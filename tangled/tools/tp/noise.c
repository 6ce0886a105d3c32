/* Generated from book/370-noise.nw; edit the book, not this file. */
#include "program.h"

/* <<tp noise: the book's lines>> */
typedef struct book_lines {
    int *ids;          /* the corpus as byte tokens */
    long *start;       /* where each line starts in ids */
    int *length;       /* its tokens, at most longest */
    int count, cut;    /* lines; lines that were longer */
} book_lines;

static int read_lines(const char *command, int longest, book_lines *l)
{
    tp_corpus corpus;
    if (load_corpus(command, &corpus) != 0)
        return 1;
    long n = corpus.size;
    l->ids = malloc(((size_t)n + 1) * sizeof *l->ids);
    l->start = malloc(((size_t)n / 2 + 1) * sizeof *l->start);
    l->length = malloc(((size_t)n / 2 + 1) * sizeof *l->length);
    tp_check(l->ids != NULL && l->start != NULL && l->length != NULL,
             "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, n, l->ids);
    l->ids[n] = '\n';  /* the target of an unterminated last line */
    l->count = l->cut = 0;
    for (long i = 0, first = 0; i <= n; i++)
        if (i == n || corpus.bytes[i] == '\n') {
            if (i > first) {
                l->start[l->count] = first;
                l->length[l->count++] = (int)(i - first < longest
                                                  ? i - first : longest);
                l->cut += i - first > longest;
            }
            first = i + 1;
        }
    tp_corpus_free(&corpus);
    return 0;
}

static void free_lines(book_lines *l)
{
    free(l->ids), free(l->start), free(l->length);
}

/* <<tp noise: commands>> */
static int padding_batch = 16, padding_longest = 128;

static const option noise_padding_options[] = {
    {"--batch", OPTION_INT, &padding_batch, 1, 1 << 20, "lines per batch"},
    {"--longest", OPTION_INT, &padding_longest, 1, 1 << 20,
     "cut lines at this many bytes"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static int shorter(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void waste_of(const book_lines *l, int batch, double waste[4])
{
    int *sorted = malloc((size_t)l->count * sizeof *sorted);
    tp_check(sorted != NULL, "out of memory");
    memcpy(sorted, l->length, (size_t)l->count * sizeof *sorted);
    qsort(sorted, (size_t)l->count, sizeof *sorted, shorter);
    tp_padding_cost in_order = tp_padding_waste(l->length, l->count, batch);
    tp_padding_cost by_length = tp_padding_waste(sorted, l->count, batch);
    waste[0] = 1 - in_order.real_tokens / in_order.computed_tokens;
    waste[1] = 1 - in_order.real_pairs / in_order.computed_pairs;
    waste[2] = 1 - by_length.real_tokens / by_length.computed_tokens;
    waste[3] = 1 - by_length.real_pairs / by_length.computed_pairs;
    free(sorted);
}

static int noise_padding(void)
{
    book_lines l;
    if (read_lines("noise padding", padding_longest, &l) != 0)
        return 1;
    double w[4];
    waste_of(&l, padding_batch, w);
    printf("%d lines (%d cut at %d bytes), batches of %d\n", l.count, l.cut,
           padding_longest, padding_batch);
    printf("padding, in order:  %.1f%% of the positions, %.1f%% of the "
           "attention pairs\n", 100 * w[0], 100 * w[1]);
    printf("padding, by length: %.1f%% of the positions, %.1f%% of the "
           "attention pairs\n", 100 * w[2], 100 * w[3]);
    free_lines(&l);
    return 0;
}
/* <<tp noise: commands>> */
static int compare_steps = 300, compare_lines = 512, compare_batch = 16,
           compare_rows = 5, compare_width = 64, compare_layers = 4,
           compare_heads = 4, compare_layer = 2, compare_rounds = 3;
static const char *compare_keep = "0.5", *compare_prefix = NULL;

static const option noise_compare_options[] = {
    {"--steps", OPTION_INT, &compare_steps, 1, 1000000,
     "training steps of each classifier"},
    {"--lines", OPTION_INT, &compare_lines, 1, 1 << 24,
     "the book's lines GPT trains on, padded and packed"},
    {"--batch", OPTION_INT, &compare_batch, 1, 4096,
     "lines per padded batch; examples per classifier batch, twice"},
    {"--rows", OPTION_INT, &compare_rows, 1, 4096,
     "rows of 128 tokens per packed batch (default 5)"},
    {"--width", OPTION_INT, &compare_width, 4, 4096, "the models' width C"},
    {"--layers", OPTION_INT, &compare_layers, 1, 64, "the models' blocks"},
    {"--heads", OPTION_INT, &compare_heads, 1, 64, "attention heads"},
    {"--layer", OPTION_INT, &compare_layer, -1000000, 1000000,
     "prune after this layer"},
    {"--keep", OPTION_STRING, &compare_keep, 0, 0,
     "the share of tokens kept (default 0.5)"},
    {"--rounds", OPTION_INT, &compare_rounds, 1, 100,
     "timed rounds (the median is kept)"},
    {"--tsv-prefix", OPTION_STRING, &compare_prefix, 0, 0,
     "write PREFIX-padding.tsv, -packing, -mask and -pruning"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp noise: commands>> */
enum { PACKED_WIDTH = 128 };

typedef struct line_steps {
    const book_lines *l;
    tp_gpt *m;
    int count, per_step, rows;
    const int *row, *offset;  /* packed: each line's place; else NULL */
    int *tokens, *targets, *segments;
} line_steps;

static void place_line(const line_steps *s, int line, int at)
{
    const int *ids = s->l->ids + s->l->start[line];
    for (int t = 0; t < s->l->length[line]; t++) {
        s->tokens[at + t] = ids[t], s->targets[at + t] = ids[t + 1];
        s->segments[at + t] = line;
    }
}

static void clear_steps(const line_steps *s, long positions)
{
    for (long i = 0; i < positions; i++)
        s->tokens[i] = 0, s->targets[i] = -1, s->segments[i] = -1;
}

static tp_tensor *padded_loss(tp_graph *g, long step, void *context)
{
    const line_steps *s = context;
    int first = (int)(step * s->per_step) % s->count, longest = 1;
    int n = s->count - first < s->per_step ? s->count - first : s->per_step;
    for (int i = first; i < first + n; i++)
        longest = s->l->length[i] > longest ? s->l->length[i] : longest;
    clear_steps(s, (long)n * longest);
    for (int i = 0; i < n; i++)
        place_line(s, first + i, i * longest);
    return tp_cross_entropy(g, tp_gpt_forward(g, s->m, s->tokens, n, longest),
                            s->targets, -1);
}

static tp_tensor *packed_loss(tp_graph *g, long step, void *context)
{
    const line_steps *s = context;
    int first = (int)(step * s->per_step) % s->rows;
    int n = s->rows - first < s->per_step ? s->rows - first : s->per_step;
    clear_steps(s, (long)n * PACKED_WIDTH);
    for (int i = 0; i < s->count; i++)
        if (s->row[i] >= first && s->row[i] < first + n)
            place_line(s, i, (s->row[i] - first) * PACKED_WIDTH + s->offset[i]);
    return tp_cross_entropy(g, tp_gpt_forward_packed(g, s->m, s->tokens,
                                                     s->segments, n,
                                                     PACKED_WIDTH),
                            s->targets, -1);
}
/* <<tp noise: commands>> */
static double timed_pass(line_steps *s, tp_loss_fn *loss, long steps)
{
    tp_optimizer *opt = tp_adamw_new(&s->m->params, 0.95f, 0.1f);
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_train_options o = {.steps = steps, .max_lr = 3e-4f, .min_lr = 3e-4f,
                          .clip = 1.0};
    tp_error error;
    double start = tp_seconds();
    int status = tp_train(&g, &s->m->params, opt, &o, loss, s, NULL, &error);
    double seconds = tp_seconds() - start;
    tp_check(status == 0, "tp noise compare: %s", error.message);
    tp_arena_free(arena);
    tp_optimizer_free(opt);
    return seconds;
}
/* <<tp noise: commands>> */
static void measure_packing(const book_lines *all, FILE *tsv)
{
    book_lines sample = *all, *l = &sample;  /* every step-th line, in order */
    int count = all->count < compare_lines ? all->count : compare_lines;
    int step = all->count / count;
    sample.start = malloc((size_t)count * sizeof *sample.start);
    sample.length = malloc((size_t)count * sizeof *sample.length);
    tp_check(sample.start != NULL && sample.length != NULL, "out of memory");
    for (int i = 0; i < count; i++)
        sample.start[i] = all->start[(long)i * step],
        sample.length[i] = all->length[(long)i * step];
    sample.count = count;
    int *row = malloc(2 * (size_t)count * sizeof *row), *offset = row + count;
    tp_check(row != NULL, "out of memory");
    int rows = tp_pack_lengths(l->length, count, PACKED_WIDTH, row, offset);
    long most = (long)(compare_batch > compare_rows ? compare_batch
                                                    : compare_rows)
                * PACKED_WIDTH;
    int *buffers = malloc(3 * (size_t)most * sizeof *buffers);
    tp_check(buffers != NULL, "out of memory");
    tp_gpt *m = tp_gpt_new((tp_gpt_config){256, PACKED_WIDTH, compare_layers,
                                           compare_heads, compare_width,
                                           TP_POSITIONS_LEARNED});
    tp_rng rng = tp_rng_seeded(3, 1);
    tp_gpt_init(m, &rng);
    line_steps padded = {l, m, count, compare_batch, 0, NULL, NULL, buffers,
                         buffers + most, buffers + 2 * most};
    line_steps packed = padded;
    packed.per_step = compare_rows, packed.rows = rows;
    packed.row = row, packed.offset = offset;
    long padded_steps = (count + compare_batch - 1) / compare_batch;
    long packed_steps = (rows + compare_rows - 1) / compare_rows;
    /* <<noise compare: time both layouts>> */
    double t_padded[100], t_packed[100], real = 0, padded_positions = 0;
    for (int i = 0; i < count; i++)
        real += l->length[i];
    tp_padding_cost c = tp_padding_waste(l->length, count, compare_batch);
    padded_positions = c.computed_tokens;
    for (int r = 0; r < compare_rounds; r++) {
        t_padded[r] = timed_pass(&padded, padded_loss, padded_steps);
        t_packed[r] = timed_pass(&packed, packed_loss, packed_steps);
    }
    double a = tp_median(t_padded, compare_rounds);
    double b = tp_median(t_packed, compare_rounds);
    printf("GPT steps on %d lines, one in %d of the book (%.0f tokens), "
           "%d thread(s):\n", count, step, real, tp_threads());
    printf("  padded, %2d lines a step: %7.0f positions, %6.2f s, %7.0f real "
           "tokens/s\n", compare_batch, padded_positions, a, real / a);
    printf("  packed, %2d rows a step:  %7.0f positions, %6.2f s, %7.0f real "
           "tokens/s (%.2fx)\n", compare_rows, (double)rows * PACKED_WIDTH, b,
           real / b, a / b);
    if (tsv != NULL)
        fprintf(tsv, "padded\t%.0f\t%.0f\t%.4f\t%.1f\npacked\t%.0f\t%.0f\t%.4f"
                "\t%.1f\n", real, padded_positions, a, real / a, real,
                (double)rows * PACKED_WIDTH, b, real / b);
    tp_gpt_free(m);
    free(buffers);
    free(row);
    free(sample.start), free(sample.length);
}
/* <<tp noise: commands>> */
enum { NEEDLE_CLASSES = 4, NEEDLES = 2, SHORTEST = 16, LONGEST = 64 };

typedef struct needle_batches {
    tp_bert *m;
    bool masked;
    int batch;
    tp_rng rng;
    int *tokens, *labels;
    unsigned char *padding;
} needle_batches;

static int needle_batch(int batch, int shortest, int longest, tp_rng *rng,
                        int *tokens, int *labels, unsigned char *padding)
{
    int lengths[4096], t = 1;
    for (int b = 0; b < batch; b++) {
        lengths[b] = shortest + (int)tp_rng_below(rng, (uint32_t)(longest
                                                     - shortest + 1));
        t = lengths[b] > t ? lengths[b] : t;
    }
    for (int b = 0; b < batch; b++) {
        labels[b] = tp_needle_example(lengths[b], NEEDLE_CLASSES, NEEDLES,
                                      rng, tokens + b * t);
        for (int j = 0; j < t; j++) {
            padding[b * t + j] = j >= lengths[b];
            if (j >= lengths[b])
                tokens[b * t + j] = TP_WORD_PAD;
        }
    }
    return t;
}

static tp_tensor *needle_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    needle_batches *n = context;
    int t = needle_batch(n->batch, SHORTEST, LONGEST, &n->rng, n->tokens,
                         n->labels, n->padding);
    tp_bert_input in = {n->tokens, NULL, n->masked ? n->padding : NULL,
                        n->batch, t};
    return tp_bert_class_loss(g, n->m, &in, n->labels);
}

static tp_bert *train_classifier(bool masked)
{
    tp_bert *m = tp_bert_new((tp_bert_config){
        tp_needle_vocabulary(NEEDLE_CLASSES), LONGEST, compare_layers,
        compare_heads, compare_width, NEEDLE_CLASSES});
    tp_rng init = tp_rng_seeded(5, 1);
    tp_bert_init(m, &init);
    int batch = 2 * compare_batch;
    needle_batches n = {m, masked, batch, tp_rng_seeded(5, 2),
                        malloc((size_t)batch * LONGEST * sizeof(int)),
                        malloc((size_t)batch * sizeof(int)),
                        malloc((size_t)batch * LONGEST)};
    tp_check(n.tokens && n.labels && n.padding, "out of memory");
    tp_optimizer *opt = tp_adamw_new(&m->params, 0.98f, 0.01f);
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_train_options o = {.steps = compare_steps, .warmup = compare_steps / 10,
                          .max_lr = 1e-3f, .min_lr = 1e-4f, .clip = 1.0};
    tp_error error;
    tp_check(tp_train(&g, &m->params, opt, &o, needle_loss, &n, NULL, &error)
                 == 0, "tp noise compare: %s", error.message);
    tp_arena_free(arena);
    tp_optimizer_free(opt);
    free(n.tokens), free(n.labels), free(n.padding);
    return m;
}
/* <<tp noise: commands>> */
enum { HELD_OUT = 256 };

static void measure_mask(tp_bert *m, bool masked, FILE *tsv)
{
    int *tokens = malloc((size_t)HELD_OUT * LONGEST * sizeof *tokens);
    int *labels = malloc((size_t)HELD_OUT * sizeof *labels);
    unsigned char *padding = malloc((size_t)HELD_OUT * LONGEST);
    tp_check(tokens && labels && padding, "out of memory");
    tp_rng rng = tp_rng_seeded(6, 1);
    int t = needle_batch(HELD_OUT, SHORTEST, 48, &rng, tokens, labels,
                         padding);
    tp_arena *arena = tp_arena_new("evaluation");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *batched = tp_bert_classify(&g, m, &(tp_bert_input){
        tokens, NULL, masked ? padding : NULL, HELD_OUT, t});
    int changed = 0, right_alone = 0, right_padded = 0;
    double moved = 0;  /* the mean of each example's largest logit change */
    for (int b = 0; b < HELD_OUT; b++) {
        int real = 0;
        while (real < t && !padding[b * t + real])
            real++;
        tp_tensor *alone = tp_bert_classify(&g, m, &(tp_bert_input){
            tokens + b * t, NULL, NULL, 1, real});
        const float *padded = batched->data + b * NEEDLE_CLASSES;
        int a = argmax(alone->data, NEEDLE_CLASSES);
        int p = argmax(padded, NEEDLE_CLASSES);
        changed += a != p, right_alone += a == labels[b];
        right_padded += p == labels[b];
        double most = 0;
        for (int k = 0; k < NEEDLE_CLASSES; k++)
            most = fmax(most, fabs(alone->data[k] - padded[k]));
        moved += most / HELD_OUT;
    }
    printf("  %-9s accuracy alone %5.1f%%, padded %5.1f%%; %5.1f%% of the "
           "answers change, the logits by %.2g\n", masked ? "masked"
                                                        : "unmasked",
           100.0 * right_alone / HELD_OUT, 100.0 * right_padded / HELD_OUT,
           100.0 * changed / HELD_OUT, moved);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%.4f\t%.4f\t%.4f\t%.3g\n",
                masked ? "masked" : "unmasked",
                (double)right_alone / HELD_OUT,
                (double)right_padded / HELD_OUT, (double)changed / HELD_OUT,
                moved);
    tp_arena_free(arena);
    free(tokens), free(labels), free(padding);
}
/* <<tp noise: commands>> */
enum { PRUNE_TEST = 512, PRUNE_TIMED = 64 };

typedef struct pruning_run {
    tp_bert *m;
    tp_bert_input in;
    double keep;
    tp_arena *arena;
} pruning_run;

static void run_full(void *context)
{
    pruning_run *r = context;
    tp_arena_reset(r->arena);
    tp_graph g = tp_graph_on(r->arena);
    tp_set_grad(&g, false);
    tp_bert_classify(&g, r->m, &r->in);
}

static void run_pruned(void *context)
{
    pruning_run *r = context;
    tp_arena_reset(r->arena);
    tp_graph g = tp_graph_on(r->arena);
    tp_set_grad(&g, false);
    tp_bert_classify_pruned(&g, r->m, &r->in, compare_layer, r->keep);
}

static double pruned_accuracy(pruning_run *r, const int *labels)
{
    tp_arena_reset(r->arena);
    tp_graph g = tp_graph_on(r->arena);
    tp_set_grad(&g, false);
    tp_tensor *logits = r->keep < 1.0
        ? tp_bert_classify_pruned(&g, r->m, &r->in, compare_layer, r->keep)
        : tp_bert_classify(&g, r->m, &r->in);
    int right = 0;
    for (int b = 0; b < r->in.batch; b++)
        right += argmax(logits->data + b * NEEDLE_CLASSES, NEEDLE_CLASSES)
                 == labels[b];
    return (double)right / r->in.batch;
}
/* <<tp noise: commands>> */
static void measure_pruning(tp_bert *m, double keep, FILE *tsv)
{
    int *tokens = malloc((size_t)PRUNE_TEST * LONGEST * sizeof *tokens);
    int *labels = malloc((size_t)PRUNE_TEST * sizeof *labels);
    tp_check(tokens && labels, "out of memory");
    tp_rng rng = tp_rng_seeded(6, 2);
    for (int b = 0; b < PRUNE_TEST; b++)
        labels[b] = tp_needle_example(LONGEST, NEEDLE_CLASSES, NEEDLES, &rng,
                                      tokens + b * LONGEST);
    double shares[5] = {1.0, 0.75, 0.5, 0.25, keep};
    int n = keep == 1.0 || keep == 0.75 || keep == 0.5 || keep == 0.25 ? 4 : 5;
    pruning_run r = {m, {tokens, NULL, NULL, PRUNE_TEST, LONGEST}, 1.0,
                     tp_arena_new("pruning")};
    printf("  keep after layer %d  accuracy  full ms  pruned ms  speed-up\n",
           compare_layer);
    for (int i = 0; i < n; i++) {
        r.keep = shares[i], r.in.batch = PRUNE_TEST;
        double accuracy = pruned_accuracy(&r, labels);
        r.in.batch = PRUNE_TIMED;
        tp_comparison c = tp_compare(run_full, shares[i] < 1.0 ? run_pruned
                                                               : run_full,
                                     &r, 2 * compare_rounds + 1);
        printf("  %18.2f  %7.1f%%  %7.2f  %9.2f  %7.2fx\n", shares[i],
               100 * accuracy, 1e3 * c.reference.median,
               1e3 * c.candidate.median, 1.0 / c.ratio);
        if (tsv != NULL)
            fprintf(tsv, "keep\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\n", shares[i],
                    accuracy, 1e3 * c.reference.median,
                    1e3 * c.candidate.median, 1.0 / c.ratio);
    }
    tp_arena_free(r.arena);
    free(tokens), free(labels);
}
/* <<tp noise: commands>> */
static FILE *open_table(const char *part, const char *columns)
{
    if (compare_prefix == NULL)
        return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s-%s.tsv", compare_prefix, part);
    FILE *f = fopen(path, "w");
    tp_check(f != NULL, "tp noise compare: cannot write %s", path);
    tp_describe_machine(f);
    fprintf(f, "# written by: tp noise compare --steps %d --lines %d --batch "
            "%d --rows %d --width %d --layers %d --heads %d --layer %d "
            "--keep %s --rounds %d, %d thread(s)\n%s\n", compare_steps,
            compare_lines, compare_batch, compare_rows, compare_width,
            compare_layers, compare_heads, compare_layer, compare_keep,
            compare_rounds, tp_threads(), columns);
    return f;
}

static void close_table(FILE *f)
{
    if (f != NULL)
        tp_check(fclose(f) == 0, "tp noise compare: cannot write a table");
}

static int compare_checks(double *keep)
{
    char *end;
    *keep = strtod(compare_keep, &end);
    tp_error error;
    if (end == compare_keep || *end != '\0') {
        fprintf(stderr, "tp noise compare: --keep must be a number, not "
                "'%s'\n", compare_keep);
        return 2;
    }
    if (tp_pruning_check(compare_layers, compare_layer, *keep, &error) != 0) {
        fprintf(stderr, "tp noise compare: %s\n", error.message);
        return 2;
    }
    if (compare_width % compare_heads != 0) {
        fprintf(stderr, "tp noise compare: --heads %d must divide --width "
                "%d\n", compare_heads, compare_width);
        return 2;
    }
    if (compare_prefix != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s-padding.tsv", compare_prefix);
        if (check_output("noise compare", path) != 0)
            return 1;
    }
    return 0;
}
/* <<tp noise: commands>> */
static int noise_compare(void)
{
    double keep;
    int status = compare_checks(&keep);
    book_lines l;
    if (status != 0 || read_lines("noise compare", PACKED_WIDTH, &l) != 0)
        return status != 0 ? status : 1;
    FILE *tsv = open_table("padding", "batch\tbatch_n\twaste_tokens\t"
                           "waste_pairs\tsorted_tokens\tsorted_pairs");
    printf("the book's %d lines (%d cut at %d bytes), padding in order and "
           "sorted by length:\n", l.count, l.cut, PACKED_WIDTH);
    for (int batch = 2; batch <= 64; batch *= 2) {
        double w[4];
        waste_of(&l, batch, w);
        printf("  batch %2d: %5.1f%% of positions, %5.1f%% of pairs; sorted "
               "%5.1f%%, %5.1f%%\n", batch, 100 * w[0], 100 * w[1],
               100 * w[2], 100 * w[3]);
        if (tsv != NULL)
            fprintf(tsv, "batch\t%d\t%.4f\t%.4f\t%.4f\t%.4f\n", batch, w[0],
                    w[1], w[2], w[3]);
    }
    close_table(tsv);
    tsv = open_table("packing", "layout\treal_tokens\tpositions\tseconds\t"
                     "tokens_per_second");
    measure_packing(&l, tsv);
    close_table(tsv);
    free_lines(&l);
    /* <<noise compare: the classifiers>> */
    printf("BERT classifiers of the needle task, trained %d steps with padding:"
           "\n", compare_steps);
    tsv = open_table("mask", "model\taccuracy_alone\taccuracy_padded\tchanged\t"
                     "logit_change");
    tp_bert *blind = train_classifier(false);
    measure_mask(blind, false, tsv);
    tp_bert_free(blind);
    tp_bert *masked = train_classifier(true);
    measure_mask(masked, true, tsv);
    close_table(tsv);
    tsv = open_table("pruning", "share\tkeep\taccuracy\tfull_ms\tpruned_ms\t"
                     "speedup");
    measure_pruning(masked, keep, tsv);
    close_table(tsv);
    tp_bert_free(masked);
    return 0;
}
/* <<tp noise: commands>> */
static int gating_steps = 200, gating_width = 32, gating_layers = 2,
           gating_heads = 2, gating_length = 32, gating_seeds = 3;
static const char *gating_tsv = NULL;
static const option noise_gating_options[] = {
    {"--steps", OPTION_INT, &gating_steps, 1, 1000000,
     "training steps of each classifier"},
    {"--width", OPTION_INT, &gating_width, 4, 4096, "the models' width C"},
    {"--layers", OPTION_INT, &gating_layers, 1, 64, "the models' blocks"},
    {"--heads", OPTION_INT, &gating_heads, 1, 64, "attention heads"},
    {"--length", OPTION_INT, &gating_length, 8, 512, "tokens per example"},
    {"--seeds", OPTION_INT, &gating_seeds, 1, 100,
     "training seeds per model (the accuracies are averaged)"},
    {"--tsv", OPTION_STRING, &gating_tsv, 0, 0, "write the table to PATH"},
    {NULL, 0, NULL, 0, 0, NULL},
};

enum { GATING_BATCH = 32, GATING_HELD_OUT = 512 };

typedef struct noisy_needles {
    tp_bert *m;
    const tp_attention_gates *gates;  /* NULL: ungated */
    double share;
    tp_rng rng;
    int *tokens, *labels;
} noisy_needles;

static void noisy_batch(int batch, double share, tp_rng *rng, int *tokens,
                        int *labels)
{
    for (int b = 0; b < batch; b++) {
        int *row = tokens + (long)b * gating_length;
        labels[b] = tp_needle_example(gating_length, NEEDLE_CLASSES, 1, rng,
                                      row);
        tp_needle_add_noise(row, gating_length, NEEDLE_CLASSES, share, rng);
    }
}

static tp_tensor *noisy_classify(tp_graph *g, const noisy_needles *n,
                                 int batch, tp_tensor **gate_values)
{
    tp_bert_input in = {n->tokens, NULL, NULL, batch, gating_length};
    return n->gates != NULL ? tp_bert_classify_gated(g, n->m, n->gates, &in,
                                                     gate_values)
                            : tp_bert_classify(g, n->m, &in);
}

static tp_tensor *noisy_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    noisy_needles *n = context;
    noisy_batch(GATING_BATCH, n->share, &n->rng, n->tokens, n->labels);
    return tp_cross_entropy(g, noisy_classify(g, n, GATING_BATCH, NULL),
                            n->labels, -1);
}
/* <<tp noise: commands>> */
static void train_noisy(noisy_needles *n)
{
    tp_optimizer *opt = tp_adamw_new(&n->m->params, 0.98f, 0.01f);
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_train_options o = {.steps = gating_steps, .warmup = gating_steps / 10,
                          .max_lr = 1e-3f, .min_lr = 1e-4f, .clip = 1.0};
    tp_error error;
    tp_check(tp_train(&g, &n->m->params, opt, &o, noisy_loss, n, NULL,
                      &error) == 0, "tp noise gating: %s", error.message);
    tp_arena_free(arena);
    tp_optimizer_free(opt);
}

static double noisy_accuracy(noisy_needles *n, double gate_means[2])
{
    n->rng = tp_rng_seeded(8, 1);  /* the same examples for every model */
    noisy_batch(GATING_HELD_OUT, n->share, &n->rng, n->tokens, n->labels);
    tp_arena *arena = tp_arena_new("evaluation");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor **gate = tp_arena_zeroed(arena, (size_t)gating_layers,
                                       sizeof *gate);
    tp_tensor *logits = noisy_classify(&g, n, GATING_HELD_OUT, gate);
    int right = 0, c = gating_width, noise = TP_WORD_SPECIALS
                                             + NEEDLE_CLASSES
                                             + TP_NEEDLE_FILLERS;
    double sum[2] = {0, 0}, count[2] = {0, 0};
    for (int b = 0; b < GATING_HELD_OUT; b++) {
        right += argmax(logits->data + b * NEEDLE_CLASSES, NEEDLE_CLASSES)
                 == n->labels[b];
        for (int t = 1; gate[0] != NULL && t < gating_length; t++) {
            long at = (long)b * gating_length + t;
            int k = n->tokens[at] >= noise;  /* 1: a noise word */
            for (int j = 0; j < c; j++)
                sum[k] += gate[0]->data[at * c + j];
            count[k] += c;
        }
    }
    for (int k = 0; k < 2; k++)
        gate_means[k] = count[k] > 0 ? sum[k] / count[k] : NAN;
    tp_arena_free(arena);
    return (double)right / GATING_HELD_OUT;
}
/* <<tp noise: commands>> */
static double noisy_run(double share, bool gated, int seed,
                        double gate_means[2])
{
    tp_bert *m = tp_bert_new((tp_bert_config){
        tp_needle_vocabulary(NEEDLE_CLASSES) + TP_NEEDLE_NOISE, gating_length,
        gating_layers, gating_heads, gating_width, NEEDLE_CLASSES});
    tp_rng init = tp_rng_seeded(9, (uint64_t)seed);
    tp_bert_init(m, &init);
    tp_rng gate_init = tp_rng_seeded(10, (uint64_t)seed);
    tp_attention_gates gates;
    if (gated)
        gates = tp_bert_add_gates(m, &gate_init);
    noisy_needles n = {m, gated ? &gates : NULL, share,
                       tp_rng_seeded(11, (uint64_t)seed),
                       malloc((size_t)GATING_HELD_OUT * gating_length
                              * sizeof(int)),
                       malloc((size_t)GATING_HELD_OUT * sizeof(int))};
    tp_check(n.tokens != NULL && n.labels != NULL, "out of memory");
    train_noisy(&n);
    double accuracy = noisy_accuracy(&n, gate_means);
    free(n.tokens), free(n.labels);
    tp_bert_free(m);
    return accuracy;
}

static int noise_gating(void)
{
    if (gating_width % gating_heads != 0) {
        fprintf(stderr, "tp noise gating: --heads %d must divide --width %d\n",
                gating_heads, gating_width);
        return 2;
    }
    if (gating_tsv != NULL && check_output("noise gating", gating_tsv) != 0)
        return 1;
    FILE *tsv = NULL;
    if (gating_tsv != NULL) {
        tsv = fopen(gating_tsv, "w");
        tp_check(tsv != NULL, "tp noise gating: cannot write %s", gating_tsv);
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp noise gating --steps %d --width %d "
                "--layers %d --heads %d --length %d --seeds %d, %d "
                "thread(s)\nrow\tshare\twords\tungated\tgated\t"
                "gate_noise\tgate_other\n", gating_steps, gating_width, gating_layers,
                gating_heads, gating_length, gating_seeds, tp_threads());
    }
    /* <<noise gating: the shares>> */
    static const double shares[3] = {0.0, 0.25, 0.5};
    printf("needle task, 1 needle in %d tokens, %d classes; %d steps, %d "
           "seed(s):\n  noise  words  ungated    gated  gate at noise  "
           "elsewhere\n", gating_length, NEEDLE_CLASSES, gating_steps,
           gating_seeds);
    for (int i = 0; i < 3; i++) {
        double plain = 0, gated = 0, means[2] = {0, 0};
        for (int seed = 1; seed <= gating_seeds; seed++) {
            double m[2], unused[2];
            plain += noisy_run(shares[i], false, seed, unused) / gating_seeds;
            gated += noisy_run(shares[i], true, seed, m) / gating_seeds;
            means[0] += m[1] / gating_seeds, means[1] += m[0] / gating_seeds;
        }
        int words = (int)lround(shares[i] * (gating_length - 1));
        printf("  %4.0f%%  %5d  %6.1f%%  %6.1f%%  %13.3f  %9.3f\n",
               100 * shares[i], words, 100 * plain, 100 * gated, means[0],
               means[1]);
        if (tsv != NULL)
            fprintf(tsv, "noise\t%.2f\t%d\t%.4f\t%.4f\t%.4f\t%.4f\n",
                    shares[i], words,
                    plain, gated, means[0], means[1]);
    }
    if (tsv != NULL)
        tp_check(fclose(tsv) == 0, "tp noise gating: cannot write %s",
                 gating_tsv);
    return 0;
}
/* <<tp noise: commands>> */
static int draw_noise_packing_mask(tp_draw *d, tp_error *error)
{
    (void)error;
    enum { W = 16 };
    static const int segments[W] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1,
                                     2, 2, 2, 2, 2, -1};
    tp_arena *arena = tp_arena_new("packing mask figure");
    tp_tensor *bias = tp_segment_mask(arena, segments, 1, W, 1);
    double x0 = 60, y0 = 30, cell = 11;
    for (int i = 0; i < W; i++)
        for (int j = 0; j < W; j++) {
            bool allowed = j <= i && isfinite(bias->data[i * W + j]);
            tp_color used = segments[i] >= 0 ? tp_category(segments[i])
                                             : tp_rgb(0x999999);
            tp_set_color(d->cr, allowed ? used : tp_rgb(0xF2F2F2));
            cairo_rectangle(d->cr, x0 + j * cell, y0 + i * cell, cell - 1,
                            cell - 1);
            cairo_fill(d->cr);
        }
    tp_arena_free(arena);
    tp_set_color(d->cr, tp_rgb(0x000000));
    tp_text(d, x0 + W * cell / 2, y0 - 8, 0.5, 1.0, 8, "key <i>j</i>");
    tp_text(d, x0 - 8, y0 + W * cell / 2, 1.0, 0.5, 8, "query <i>i</i>");
    tp_text(d, x0 + W * cell + 12, y0 + 3 * cell, 0.0, 0.5, 8,
            "sequence 1: 6 tokens");
    tp_text(d, x0 + W * cell + 12, y0 + 8 * cell, 0.0, 0.5, 8,
            "sequence 2: 4 tokens");
    tp_text(d, x0 + W * cell + 12, y0 + 12.5 * cell, 0.0, 0.5, 8,
            "sequence 3: 5 tokens");
    tp_text(d, x0 + W * cell + 12, y0 + 15.5 * cell, 0.0, 0.5, 8,
            "unused: only itself");
    return 0;
}

/* <<tp noise: figures>> */
static int read_noise(const char *part, table *t, tp_error *error)
{
    char path[128];
    snprintf(path, sizeof path, "figures/data/noise-%s.tsv", part);
    return read_table(path, t, error);
}

static const char *const batch_names[] = {"2", "4", "8", "16", "32", "64"};

static void padding_plot(tp_plot *p, const table *t, bool legend)
{
    static const char *const name[4] = {
        "positions, in order", "attention pairs, in order",
        "positions, sorted by length", "pairs, sorted by length"};
    tp_legend_entry entries[4];
    tp_plot_frame(p);
    for (int k = 0; k < 4; k++) {
        double x[16], y[16];
        int n = 0;
        for (int r = 0; r < t->rows && n < 16; r++)  /* x: log2 of B, less 1 */
            x[n] = log2(t->value[r][0]) - 1, y[n++] = 100 * t->value[r][1 + k];
        tp_color c = tp_category(k % 2);
        tp_plot_line(p, x, y, n, c, k >= 2, true);
        entries[k] = (tp_legend_entry){name[k], c, k >= 2};
    }
    if (legend)
        tp_plot_legend(p, entries, 4, TP_TOP_LEFT);
}

static int draw_noise_padding(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_noise("padding", t, error);
    if (status == 0) {
        tp_plot p = {d, 46, 12, 360, 190,
                     {.lo = -0.5, .hi = 5.5, .label = "lines per batch B",
                      .names = batch_names},
                     {.lo = 0, .hi = 100, .label = "% of the work on padding"}};
        padding_plot(&p, t, true);
    }
    free(t);
    return status;
}
/* <<tp noise: figures>> */
static int pruning_curve(const table *t, int column, double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 8; r++) {
        bool seen = false;  /* --keep may repeat a share of the sweep */
        for (int i = 0; i < n; i++)
            seen = seen || x[i] == t->value[r][0];
        if (!seen)
            x[n] = t->value[r][0], y[n++] = t->value[r][column];
    }
    for (int i = 1; i < n; i++)  /* by share, for the line */
        for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
            double a = x[j], b = y[j];
            x[j] = x[j - 1], y[j] = y[j - 1], x[j - 1] = a, y[j - 1] = b;
        }
    return n;
}

static void pruning_plots(tp_draw *d, const table *t, double x0, double y0,
                          double w, double h)
{
    double x[8], y[8];
    int n = pruning_curve(t, 1, x, y);
    for (int i = 0; i < n; i++)
        y[i] *= 100;
    tp_plot a = {d, x0, y0, w, h, {.lo = 0, .hi = 1.05, .label = "share kept r"},
                 {.lo = 0, .hi = 105, .label = "accuracy (%)"}};
    tp_plot_frame(&a);
    tp_plot_line(&a, x, y, n, tp_category(0), false, true);
    n = pruning_curve(t, 4, x, y);
    double top = 1;
    for (int i = 0; i < n; i++)
        top = fmax(top, y[i]);
    tp_plot b = {d, x0 + w + 56, y0, w, h,
                 {.lo = 0, .hi = 1.05, .label = "share kept r"},
                 {.lo = 0, .hi = ceil(top * 2 + 0.5) / 2,
                  .label = "speed-up of inference"}};
    tp_plot_frame(&b);
    tp_plot_line(&b, x, y, n, tp_category(1), false, true);
}

static int draw_noise_pruning(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_noise("pruning", t, error);
    if (status == 0)
        pruning_plots(d, t, 46, 12, 160, 150);
    free(t);
    return status;
}
/* <<tp noise: figures>> */
static double row_value(const table *t, const char *label, int column)
{
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], label) == 0)
            return t->value[r][column];
    return NAN;
}

static double keep_value(const table *t, double share, int column)
{
    for (int r = 0; r < t->rows; r++)
        if (fabs(t->value[r][0] - share) < 1e-9)
            return t->value[r][column];
    return NAN;
}

static void noise_numbers(tp_draw *d, const table *packing,
                          const table *mask, const table *pruning,
                          const table *gating, double x, double y)
{
    char line[5][160];
    snprintf(line[0], sizeof line[0], "packing: %.2f\xc3\x97 the real tokens "
             "per second of padding", row_value(packing, "packed", 3)
                                         / row_value(packing, "padded", 3));
    snprintf(line[1], sizeof line[1], "no mask: padding moves the logits by "
             "%.2g; %.1f%% of the answers change",
             row_value(mask, "unmasked", 3),
             100 * row_value(mask, "unmasked", 2));
    snprintf(line[2], sizeof line[2], "mask: the logits move by %.1g",
             row_value(mask, "masked", 3));
    snprintf(line[3], sizeof line[3], "pruning half after layer 2: "
             "%.1f%% \xe2\x86\x92 %.1f%%, %.2f\xc3\x97 faster",
             100 * keep_value(pruning, 1.0, 1),
             100 * keep_value(pruning, 0.5, 1), keep_value(pruning, 0.5, 4));
    snprintf(line[4], sizeof line[4], "half the tokens noise: %.1f%% "
             "ungated, %.1f%% gated", 100 * keep_value(gating, 0.5, 2),
             100 * keep_value(gating, 0.5, 3));
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    for (int i = 0; i < 5; i++)
        tp_text(d, x, y + 11 * i, 0.0, 0.0, 7, line[i]);
}
/* <<tp noise: figures>> */
static int draw_card_noise(tp_draw *d, tp_error *error)
{
    table *t = calloc(5, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_noise("padding", &t[0], error);
    if (status == 0)
        status = read_noise("packing", &t[1], error);
    if (status == 0)
        status = read_noise("mask", &t[2], error);
    if (status == 0)
        status = read_noise("pruning", &t[3], error);
    if (status == 0)
        status = read_noise("gating", &t[4], error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>14. Noise tokens and padding</b>",
                "Batches pad short lines; attention reads whatever it is "
                "given",
                "Data: tp noise compare, tp noise gating (make measure-noise)", &problem,
                &solutions);
        /* <<noise card: the problem>> */
        double px = problem.x, py = problem.y;
        tp_plot p = {d, px + 44, py + 38, 170, 92,
                     {.lo = -0.5, .hi = 5.5, .label = "lines per batch",
                      .names = batch_names},
                     {.lo = 0, .hi = 100, .label = "% padding"}};
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 130, py + 22, 0.5, 0.0, 7, "the book's lines: positions "
                "(orange), pairs (blue), sorted (dashed)");
        padding_plot(&p, &t[0], false);
        noise_numbers(d, &t[1], &t[2], &t[3], &t[4], px + 12, py + 168);
        /* <<noise card: the solutions>> */
        static const char *const solution[][3] = {
            {"Attention masking", "pad keys get no weight", "Attention; measured here"},
            {"Packing", "rows of whole sequences, block-diagonal mask",
             "this chapter"},
            {"Token pruning", "drop the least attended after layer k",
             "this chapter"},
            {"Gating", "a sigmoid gate on each head's output", "this chapter"},
            {"Sparse attention", "a fixed pattern of keys", "Part II, Sparse Transformer"},
        };
        card_solutions(d, &solutions, solution, 5);
    }
    free(t);
    return status;
}

static const command noise_commands[] = {
    /* <<tp noise: command table>> */
    {"noise padding", "the share of the work spent on padding in batches of "
     "the book's lines", noise_padding_options, noise_padding, NULL},
    {"noise compare", "padding, packing, the key-padding mask and token "
     "pruning, measured", noise_compare_options, noise_compare, NULL},
    /* <<tp noise: command table>> */
    {"noise gating", "gated against ungated classifiers of the needle task with "
     "0, 25 and 50% noise words", noise_gating_options, noise_gating, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure noise_figures[] = {
    /* <<tp noise: figure table>> */
    {"noise-packing-mask", "the block-diagonal causal mask of one packed row "
     "of three sequences", 340, 220, draw_noise_packing_mask},
    /* <<tp noise: figure table>> */
    {"noise-padding", "the share of the work spent on padding, against the "
     "batch size, on the book's lines", 420, 240, draw_noise_padding},
    {"noise-pruning", "token pruning: accuracy and speed-up against the share "
     "kept", 440, 200, draw_noise_pruning},
    /* <<tp noise: figure table>> */
    {"card-noise", "the card of noise tokens and padding", 440, 320,
     draw_card_noise},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part noise_part = {noise_commands, noise_figures};
