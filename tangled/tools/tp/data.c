/* Generated from book/170-data.nw; edit the book, not this file. */
#include "program.h"

/* <<tp data: commands>> */
const char *data_path = NULL, *data_tokenizer = "bytes";

int load_corpus(const char *command, tp_corpus *corpus)
{
    tp_error error;
    if (data_path == NULL) {
        *corpus = tp_corpus_book();
        return 0;
    }
    if (tp_corpus_load(data_path, corpus, &error) != 0) {
        fprintf(stderr, "tp %s: %s\n", command, error.message);
        return -1;
    }
    return 0;
}
/* <<tp data: commands>> */
int make_tokenizer(const char *command, const tp_corpus *corpus,
                   tp_tokenizer *t)
{
    if (strcmp(data_tokenizer, "bytes") == 0)
        *t = tp_tokenizer_bytes();
    else if (strcmp(data_tokenizer, "chars") == 0)
        *t = tp_tokenizer_chars(corpus);
    else {
        fprintf(stderr, "tp %s: --tokenizer must be bytes or chars, not "
                "'%s'\n", command, data_tokenizer);
        return -1;
    }
    return 0;
}
/* <<tp data: commands>> */
static const option data_stats_options[] = {
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file or a directory of them (default: the book)"},
    {"--tokenizer", OPTION_STRING, &data_tokenizer, 0, 0,
     "bytes or chars (default: bytes)"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static int data_stats(void)
{
    tp_corpus corpus;
    tp_tokenizer t;
    if (load_corpus("data stats", &corpus) != 0)
        return 1;
    if (make_tokenizer("data stats", &corpus, &t) != 0)
        return 2;
    /* <<data stats: count and print>> */
    int *ids = malloc((size_t)corpus.size * sizeof *ids);
    tp_check(ids != NULL, "out of memory");
    long tokens = tp_encode(&t, corpus.bytes, corpus.size, ids), lines = 0;
    for (long i = 0; i < corpus.size; i++)
        lines += corpus.bytes[i] == '\n';
    tp_corpus train, validation;
    tp_corpus_split(&corpus, &train, &validation);
    printf("corpus      %s\n", data_path ? data_path : "the book (embedded)");
    printf("bytes       %ld in %ld lines\n", corpus.size, lines);
    printf("tokenizer   %s, vocabulary %d, %ld tokens\n", data_tokenizer,
           t.vocab_size, tokens);
    printf("split       %ld bytes for training, %ld for validation\n", train.size,
           validation.size);
    free(ids);
    tp_tokenizer_free(&t);
    tp_corpus_free(&corpus);
    return 0;
}
/* <<tp data: commands>> */
static int sample_seed = 1, sample_count = 3, sample_length = 8;
static const char *sample_task = "all";

static const option data_sample_options[] = {
    {"--task", OPTION_STRING, &sample_task, 0, 0,
     "copy, reverse, sort, addition, english, retrieval, shapes or all"},
    {"--seed", OPTION_INT, &sample_seed, 0, 1000000000, "the seed"},
    {"--count", OPTION_INT, &sample_count, 1, 1000, "examples per task"},
    {"--length", OPTION_INT, &sample_length, 1, 200,
     "the size of each problem (default: 8)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp data: commands>> */
static void print_shape(tp_rng *rng)
{
    float pixels[16 * 16];
    tp_shape_class c = tp_shape_image(16, rng, pixels);
    printf("shapes     a %s:\n", tp_shape_class_name(c));
    for (int y = 0; y < 16; y++) {
        printf("    ");
        for (int x = 0; x < 16; x++)
            putchar(" .:-=+*#%@"[(int)(pixels[y * 16 + x] * 9.99f)]);
        putchar('\n');
    }
}
/* <<tp data: commands>> */
static int data_sample(void)
{
    bool all = strcmp(sample_task, "all") == 0, found = all;
    tp_rng rng = tp_rng_seeded((uint64_t)sample_seed, 0);
    for (int task = 0; task < TP_TASKS; task++) {
        if (!all && strcmp(sample_task, tp_task_name(task)) != 0)
            continue;
        found = true;
        for (int i = 0; i < sample_count; i++) {
            tp_example e;
            tp_task_example(task, sample_length, &rng, &e);
            printf("%-10s %s -> %s\n", tp_task_name(task), e.input, e.target);
        }
    }
    bool shapes = all || strcmp(sample_task, "shapes") == 0;
    for (int i = 0; shapes && i < (all ? 1 : sample_count); i++)
        print_shape(&rng);
    if (!found && !shapes) {
        fprintf(stderr, "tp data sample: no task is named '%s'; see "
                "'tp data sample --help'\n", sample_task);
        return 2;
    }
    return 0;
}

/* <<tp data: figures>> */
static int draw_data_shapes(tp_draw *d, tp_error *error)
{
    (void)error;
    static const int sizes[2] = {32, 16};
    float pixels[32 * 32];
    for (int row = 0; row < 2; row++) {
        tp_rng rng = tp_rng_seeded(7, (uint64_t)row);
        for (int c = 0; c < TP_SHAPE_CLASSES; c++) {
            while (tp_shape_image(sizes[row], &rng, pixels) != (tp_shape_class)c)
                ;  /* draw until this class comes up */
            double x = 20 + c * 84, y = 18 + row * 70;
            tp_heatmap(d, x, y, 56, 56, pixels, sizes[row], sizes[row], NULL,
                       0.0, 1.0);
            cairo_set_source_rgb(d->cr, 0, 0, 0);
            if (row == 0)
                tp_text(d, x + 28, y - 3, 0.5, 1.0, 8, tp_shape_class_name(c));
        }
        tp_text(d, 14, 46 + row * 70, 1.0, 0.5, 7,
                row == 0 ? "32\xc2\xb2" : "16\xc2\xb2");
    }
    return 0;
}

static const command data_commands[] = {
    /* <<tp data: command table>> */
    {"data stats", "describe a corpus: bytes, lines, tokens, the split",
     data_stats_options, data_stats, NULL},
    {"data sample", "print examples of the synthetic tasks", data_sample_options,
     data_sample, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure data_figures[] = {
    /* <<tp data: figure table>> */
    {"data-shapes", "the five shape classes at 32 and 16 pixels", 440, 150,
     draw_data_shapes},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part data_part = {data_commands, data_figures};
