/* Generated from book/170-data.nw; edit the book, not this file. */
#include <time.h>

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
static int sample_length_of(tp_task task, bool all)
{
    int longest = tp_task_longest(task);
    if (sample_length <= longest)
        return sample_length;
    if (!all)
        return -1;
    fprintf(stderr, "tp data sample: the %s task takes a length of at "
            "most %d; its examples have %d\n", tp_task_name(task), longest,
            longest);
    return longest;
}

static int data_sample(void)
{
    bool all = strcmp(sample_task, "all") == 0, found = all;
    tp_rng rng = tp_rng_seeded((uint64_t)sample_seed, 0);
    for (int task = 0; task < TP_TASKS; task++) {
        if (!all && strcmp(sample_task, tp_task_name(task)) != 0)
            continue;
        found = true;
        int length = sample_length_of(task, all);
        if (length < 0) {
            fprintf(stderr, "tp data sample: --length %d is more than the "
                    "%s task takes (at most %d)\n", sample_length,
                    tp_task_name(task), tp_task_longest(task));
            return 2;
        }
        for (int i = 0; i < sample_count; i++) {
            tp_example e;
            tp_task_example(task, length, &rng, &e);
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
/* <<tp data: commands>> */
static const char *tokenize_with = "bytes";
static bool tokenize_decode = false, tokenize_pieces = false;

static const option tokenize_options[] = {
    {"--tokenizer", OPTION_STRING, &tokenize_with, 0, 0,
     "bytes, chars, a directory with GPT-2's vocab.json and merges.txt, "
     "or such a vocab.json (merges.txt beside it)"},
    {"--decode", OPTION_FLAG, &tokenize_decode, 0, 0,
     "read ids and write the text they stand for"},
    {"--pieces", OPTION_FLAG, &tokenize_pieces, 0, 0,
     "write each token as text, spaces made visible"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp data: commands>> */
static int named_tokenizer(const char *command, const char *name,
                           tp_tokenizer *t)
{
    if (strcmp(name, "bytes") == 0 || strcmp(name, "chars") == 0) {
        tp_corpus book = tp_corpus_book();
        data_tokenizer = name;
        return make_tokenizer(command, &book, t);
    }
    char vocab[4096], merges[4096];
    tp_error error;
    size_t length = strlen(name);
    const char *slash = strrchr(name, '/');
    if (length > 5 && strcmp(name + length - 5, ".json") == 0) {
        snprintf(vocab, sizeof vocab, "%s", name);
        snprintf(merges, sizeof merges, "%.*smerges.txt",
                 slash ? (int)(slash + 1 - name) : 0, name);
    } else {
        snprintf(vocab, sizeof vocab, "%s/vocab.json", name);
        snprintf(merges, sizeof merges, "%s/merges.txt", name);
    }
    if (tp_tokenizer_gpt2(vocab, merges, t, &error) != 0) {
        fprintf(stderr, "tp %s: %s\n", command, error.message);
        return -1;
    }
    return 0;
}
/* <<tp data: commands>> */
static unsigned char *read_input(const char *path, long *size)
{
    FILE *f = path ? fopen(path, "rb") : stdin;
    if (f == NULL) {
        fprintf(stderr, "tp tokenize: cannot read %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    unsigned char *text = NULL;
    long n = 0, capacity = 0;
    for (size_t got = 1; got > 0; n += (long)got) {
        if (n == capacity) {
            capacity = capacity ? 2 * capacity : 65536;
            text = realloc(text, (size_t)capacity);
            tp_check(text != NULL, "out of memory");
        }
        got = fread(text + n, 1, (size_t)(capacity - n), f);
    }
    if (path)
        fclose(f);
    *size = n;
    return text;
}
/* <<tp data: commands>> */
static void print_token_text(const unsigned char *s, long n)
{
    for (long i = 0; i < n; i++) {
        int need = s[i] >= 0xC2 && s[i] <= 0xDF ? 1
                   : s[i] >= 0xE0 && s[i] <= 0xEF ? 2
                   : s[i] >= 0xF0 && s[i] <= 0xF4 ? 3 : 0;
        bool whole = need > 0 && i + need < n;
        for (int k = 1; whole && k <= need; k++)
            whole = (s[i + k] & 0xC0) == 0x80;
        if (s[i] == ' ')
            fputs("\xe2\x90\xa3", stdout);
        else if (s[i] == '\n' || s[i] == '\t' || s[i] == '\r' || s[i] == '\\')
            printf("\\%c", s[i] == '\n' ? 'n' : s[i] == '\t' ? 't'
                           : s[i] == '\r' ? 'r' : '\\');
        else if (s[i] > ' ' && s[i] < 0x7F)
            putchar(s[i]);
        else if (whole)
            fwrite(s + i, 1, (size_t)need + 1, stdout), i += need;
        else
            printf("\\x%02x", s[i]);
    }
}
/* <<tp data: commands>> */
static int tokenize_encode(const tp_tokenizer *t, const unsigned char *text,
                           long n)
{
    int *ids = malloc(((size_t)n + 1) * sizeof *ids);
    tp_check(ids != NULL, "out of memory");
    long count = tp_encode(t, text, n, ids);
    for (long i = 0; i < count; i++) {
        if (i > 0)
            putchar(' ');
        if (tokenize_pieces) {
            unsigned char bytes[TP_TOKEN_MAX_BYTES];
            print_token_text(bytes, tp_decode(t, ids + i, 1, bytes));
        } else
            printf("%d", ids[i]);
    }
    putchar('\n');
    fflush(stdout);  /* the counts come after the ids */
    fprintf(stderr, "tp tokenize: %ld bytes, %ld tokens (vocabulary %d)\n",
            n, count, t->vocab_size);
    free(ids);
    return 0;
}
/* <<tp data: commands>> */
static int tokenize_decode_ids(const tp_tokenizer *t, const char *text)
{
    long count = 0, bytes = 0;
    int *ids = malloc((strlen(text) / 2 + 1) * sizeof *ids);
    tp_check(ids != NULL, "out of memory");
    for (const char *p = text + strspn(text, " \n\t\r"); *p != '\0';
         p += strspn(p, " \n\t\r")) {
        char *end;
        errno = 0;
        long id = strtol(p, &end, 10);
        if (end == p || errno != 0 || id < 0 || id >= t->vocab_size
            || !strchr(" \n\t\r", *end)) {
            fprintf(stderr, "tp tokenize: token %ld, '%.*s', is not an id "
                    "from 0 to %d\n", count + 1, (int)strcspn(p, " \n\t\r"),
                    p, t->vocab_size - 1);
            free(ids);
            return 1;
        }
        ids[count++] = (int)id, p = end;
    }
    for (long i = 0; i < count; i++) {  /* a GPT-2 token may be long */
        unsigned char out[TP_TOKEN_MAX_BYTES];
        long n = tp_decode(t, ids + i, 1, out);
        fwrite(out, 1, (size_t)n, stdout);
        bytes += n;
    }
    fflush(stdout);
    fprintf(stderr, "tp tokenize: %ld tokens, %ld bytes\n", count, bytes);
    free(ids);
    return 0;
}
/* <<tp data: commands>> */
static int tokenize(void)
{
    if (operand_count > 1) {
        fprintf(stderr, "tp tokenize: one file at most, or standard input\n");
        return 2;
    }
    tp_tokenizer t;
    if (named_tokenizer("tokenize", tokenize_with, &t) != 0)
        return 1;
    long n;
    unsigned char *text = read_input(operand_count ? operands[0] : NULL, &n);
    int status = 1;
    if (text != NULL && tokenize_decode) {
        char *ids = strndup((const char *)text, (size_t)n);
        status = tokenize_decode_ids(&t, ids);
        free(ids);
    } else if (text != NULL)
        status = tokenize_encode(&t, text, n);
    free(text);
    tp_tokenizer_free(&t);
    return status;
}
/* <<tp data: commands>> */
static const char *bench_tokenizer = NULL, *bench_save = NULL;
static int bench_repeat = 3, bench_merges = 50000;

static const option bench_tokenize_options[] = {
    {"--tokenizer", OPTION_STRING, &bench_tokenizer, 0, 0,
     "GPT-2's vocab.json and merges.txt, as for tp tokenize "
     "(default: the stand-in)"},
    {"--merges", OPTION_INT, &bench_merges, 1, 1000000,
     "merges of the stand-in learned from the book"},
    {"--save", OPTION_STRING, &bench_save, 0, 0,
     "a directory to keep the stand-in's files in (default: none)"},
    {"--repeat", OPTION_INT, &bench_repeat, 1, 100, "runs of each (best)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp data: commands>> */
static double thread_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static double time_encoding(const char *name, const tp_tokenizer *t,
                            const tp_corpus *book, int *ids)
{
    double best = 1e30, best_wall = 1e30;
    long count = 0;
    for (int r = 0; r < bench_repeat; r++) {
        double start = thread_seconds(), wall = tp_seconds();
        count = t ? tp_encode(t, book->bytes, book->size, ids)
                  : tp_gpt2_pieces(book->bytes, book->size, (long *)ids);
        double seconds = thread_seconds() - start;
        wall = tp_seconds() - wall;
        best = seconds < best ? seconds : best;
        best_wall = wall < best_wall ? wall : best_wall;
    }
    printf("%-13s %8.2f MB/s (wall clock %7.2f)  %9ld %s\n", name,
           book->size / best / 1e6, book->size / best_wall / 1e6, count,
           t ? "tokens" : "pieces");
    return best;
}
/* <<tp data: commands>> */
static long different_pieces(const tp_corpus *book, long *ends, long count)
{
    tp_string_table seen = {0};
    for (long k = 0, start = 0; k < count; start = ends[k++])
        tp_string_put(&seen, (const char *)book->bytes + start,
                      (size_t)(ends[k] - start), 1);
    long different = seen.count;
    tp_string_table_free(&seen);
    return different;
}
/* <<tp data: commands>> */
static void babble(const tp_corpus *book, unsigned char *out, long n)
{
    static long after[256][257];  /* after[a][b + 1]: bytes up to b after a */
    memset(after, 0, sizeof after);
    for (long i = 1; i < book->size; i++)
        after[book->bytes[i - 1]][book->bytes[i] + 1]++;
    for (int a = 0; a < 256; a++)
        for (int b = 0; b < 256; b++)
            after[a][b + 1] += after[a][b];
    tp_rng rng = tp_rng_seeded(170, 50000);
    for (long i = 0, a = ' '; i < n; a = out[i++]) {
        long total = after[a][256], pick, low = 0, high = 255;
        if (total == 0)
            a = ' ', total = after[a][256];
        pick = (long)tp_rng_below(&rng, (uint32_t)total);
        while (low < high) {  /* the b with after[a][b] <= pick < after[a][b + 1] */
            long middle = (low + high) / 2;
            if (after[a][middle + 1] <= pick)
                low = middle + 1;
            else
                high = middle;
        }
        out[i] = (unsigned char)low;
    }
}
/* <<tp data: commands>> */
static int learn_stand_in(const tp_corpus *book, const char *dir)
{
    tp_error error;
    double start = tp_seconds();
    unsigned char *text = malloc(2 * (size_t)book->size);
    tp_check(text != NULL, "out of memory");
    memcpy(text, book->bytes, (size_t)book->size);
    babble(book, text + book->size, book->size);
    tp_corpus both = {text, 2 * book->size, NULL};
    int learned = tp_gpt2_learn(&both, bench_merges, dir, &error);
    free(text);
    if (learned < 0) {
        fprintf(stderr, "tp bench tokenize: %s\n", error.message);
        return -1;
    }
    printf("stand-in: %d merges, %d tokens, learned from the book and "
           "babble in %.2f s\n", learned, 256 + learned + 1,
           tp_seconds() - start);
    return 0;
}
/* <<tp data: commands>> */
static int time_gpt2(const tp_corpus *book, int *ids, double cut)
{
    char temporary[] = "/tmp/tp-bench-XXXXXX", vocab[4096];
    const char *dir = bench_save ? bench_save : temporary;
    if (bench_save != NULL)
        mkdir(bench_save, 0777);  /* if it exists, it is used as it is */
    if (bench_tokenizer == NULL
        && ((bench_save == NULL && mkdtemp(temporary) == NULL)
            || learn_stand_in(book, dir) != 0))
        return -1;
    snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
    tp_tokenizer gpt2;
    double start = tp_seconds();
    int status = named_tokenizer("bench tokenize",
                                 bench_tokenizer ? bench_tokenizer : vocab,
                                 &gpt2);
    if (status == 0) {
        printf("GPT-2's kind: %d tokens, loaded in %.2f s\n", gpt2.vocab_size,
               tp_seconds() - start);
        double seconds = time_encoding("GPT-2 BPE", &gpt2, book, ids);
        printf("encoding takes %.1f times the cut, on one thread\n",
               seconds / cut);
        tp_tokenizer_free(&gpt2);
    }
    if (bench_tokenizer == NULL && bench_save == NULL) {
        char command[64];
        snprintf(command, sizeof command, "rm -rf '%s'", temporary);
        if (system(command) != 0)
            fprintf(stderr, "tp bench tokenize: could not remove %s\n",
                    temporary);
    }
    return status;
}
/* <<tp data: commands>> */
static int bench_tokenize(void)
{
    tp_corpus book = tp_corpus_book();
    int *ids = malloc((size_t)(book.size + 1) * sizeof(long));
    tp_check(ids != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes(), chars = tp_tokenizer_chars(&book);
    tp_describe_machine(stdout);
    printf("the book, %ld bytes; Unicode %s\n", book.size, tp_unicode_version);
    double cut = time_encoding("GPT-2 pieces", NULL, &book, ids);
    long count = tp_gpt2_pieces(book.bytes, book.size, (long *)ids);
    printf("%ld pieces, %ld different\n", count,
           different_pieces(&book, (long *)ids, count));
    time_encoding("bytes", &bytes, &book, ids);
    time_encoding("chars", &chars, &book, ids);
    int status = time_gpt2(&book, ids, cut);
    tp_tokenizer_free(&chars);
    free(ids);
    return status == 0 ? 0 : 1;
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
    {"tokenize", "turn a text into ids, or ids back into text",
     tokenize_options, tokenize, "[FILE]"},
    /* <<tp data: command table>> */
    {"bench tokenize", "time the tokenisers on the whole book (MB/s)",
     bench_tokenize_options, bench_tokenize, NULL},
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
