/* Generated from book/175-command.nw; edit the book, not this file. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "tp.h"

/* <<tp: commands and options>> */
typedef struct option option;

typedef struct command {
    const char *name;        /* one or two words: "bench matmul" */
    const char *summary;     /* one line, for tp help */
    const option *options;   /* ends with an entry whose name is NULL */
    int (*run)(void);        /* after the options are parsed */
    const char *operands;    /* what may follow the options, or NULL */
} command;
/* <<tp: commands and options>> */
typedef enum option_kind {
    OPTION_INT, OPTION_FLOAT, OPTION_STRING, OPTION_FLAG
} option_kind;

struct option {
    const char *name;       /* "--threads" */
    option_kind kind;
    void *value;            /* an int, a float, a const char *, or a bool */
    long min, max;          /* the range of a number */
    const char *help;       /* one line, for --help */
};

/* <<tp: parsing options>> */
static char **operands;
static int operand_count;

static int parse_int(const char *command_name, const option *o,
                     const char *text)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno != 0 || value < o->min
        || value > o->max) {
        fprintf(stderr, "tp %s: %s must be an integer from %ld to %ld, "
                "not '%s'\n", command_name, o->name, o->min, o->max, text);
        return -1;
    }
    *(int *)o->value = (int)value;
    return 0;
}
/* <<tp: parsing options>> */
static int parse_float(const char *command_name, const option *o,
                       const char *text)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || errno != 0 || !isfinite(value)
        || value < (double)o->min || value > (double)o->max) {
        fprintf(stderr, "tp %s: %s must be a number from %ld to %ld, not "
                "'%s'\n", command_name, o->name, o->min, o->max, text);
        return -1;
    }
    *(float *)o->value = (float)value;
    return 0;
}
/* <<tp: parsing options>> */
static const option *find_option(const option *options, const char *name)
{
    for (const option *o = options; o != NULL && o->name != NULL; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}
/* <<tp: parsing options>> */
static int parse_options(const command *c, int argc, char **argv)
{
    operands = argv;
    operand_count = 0;
    for (int i = 0; i < argc; i++) {
        const option *o = find_option(c->options, argv[i]);
        if (o == NULL && c->operands != NULL && argv[i][0] != '-') {
            operands[operand_count++] = argv[i];  /* never past i */
            continue;
        }
        if (o == NULL) {
            fprintf(stderr, "tp %s: unknown option '%s'; see 'tp %s --help'\n",
                    c->name, argv[i], c->name);
            return -1;
        }
        if (o->kind == OPTION_FLAG) {
            *(bool *)o->value = true;
            continue;
        }
        if (i + 1 == argc) {
            fprintf(stderr, "tp %s: %s needs a value\n", c->name, o->name);
            return -1;
        }
        const char *text = argv[++i];
        if (o->kind == OPTION_STRING)
            *(const char **)o->value = text;
        else if (o->kind == OPTION_FLOAT ? parse_float(c->name, o, text) != 0
                                         : parse_int(c->name, o, text) != 0)
            return -1;
    }
    return 0;
}

/* <<tp: progress and interruption>> */
static volatile sig_atomic_t interrupted = 0;

static void on_interrupt(int signal)
{
    (void)signal;
    interrupted = 1;
}

static void catch_interrupts(void)
{
    struct sigaction action = {.sa_handler = on_interrupt};
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}
/* <<tp: progress and interruption>> */
typedef struct display {
    bool terminal;
    long first;          /* the first step of this run */
    double last_printed;
} display;

static bool show_progress(const tp_progress *p, void *context)
{
    display *d = context;
    char line[192];
    tp_progress_format(p, line, sizeof line);
    bool last = p->step + 1 == p->steps || interrupted;
    if (d->terminal)
        fprintf(stderr, "\r%s\033[K%s", line, last ? "\n" : "");
    else if (p->step == d->first || last || p->seconds - d->last_printed >= 5) {
        fprintf(stderr, "%s\n", line);
        d->last_printed = p->seconds;
    }
    fflush(stderr);
    return !interrupted;
}

/* <<tp: commands>> */
typedef struct gemm_case {
    const char *label;
    int batch, m, k, n;
    bool transpose_a, transpose_b;
} gemm_case;

static const gemm_case matmul_cases[] = {
    {"qkv projection", 1, 1024, 256, 768, false, false},
    {"  its dX", 1, 1024, 768, 256, false, true},
    {"  its dW", 1, 256, 1024, 768, true, false},
    {"MLP up", 1, 1024, 256, 1024, false, false},
    {"  its dX", 1, 1024, 1024, 256, false, true},
    {"  its dW", 1, 256, 1024, 1024, true, false},
    {"MLP down", 1, 1024, 1024, 256, false, false},
    {"output head", 1, 1024, 256, 256, false, true},
    {"scores QK^T", 32, 128, 64, 128, false, true},
    {"weights x V", 32, 128, 128, 64, false, false},
    {"square 256", 1, 256, 256, 256, false, false},
    {"square 1024", 1, 1024, 1024, 1024, false, false},
};
/* <<tp: commands>> */
typedef struct gemm_operands {
    const gemm_case *c;
    tp_tensor *a, *b, *out;        /* as tp_gemm sees them */
    const float *a_memory, *b_memory;
} gemm_operands;

static tp_tensor *bench_operand(tp_arena *arena, tp_rng *rng, int batch,
                                int rows, int cols, bool transposed)
{
    tp_shape stored = transposed ? tp_shape3(batch, cols, rows)
                                 : tp_shape3(batch, rows, cols);
    tp_tensor *t = tp_tensor_normal(arena, stored, TP_NO_GRAD, rng);
    return transposed ? tp_transpose(arena, t, 1, 2) : t;
}
/* <<tp: commands>> */
static gemm_operands make_operands(tp_arena *arena, const gemm_case *c)
{
    tp_rng rng = tp_rng_seeded(2024, 1);
    gemm_operands g = {.c = c};
    g.a = bench_operand(arena, &rng, c->batch, c->m, c->k, c->transpose_a);
    g.b = bench_operand(arena, &rng, c->batch, c->k, c->n, c->transpose_b);
    g.out = tp_tensor_new(arena, tp_shape3(c->batch, c->m, c->n),
                          TP_NO_GRAD);
    g.a_memory = g.a->data;
    g.b_memory = g.b->data;
    return g;
}
/* <<tp: commands>> */
static void direct_blas(void *context)
{
    const gemm_operands *g = context;
    const gemm_case *c = g->c;
    int lda = c->transpose_a ? c->m : c->k, ldb = c->transpose_b ? c->k
                                                                 : c->n;
    for (int i = 0; i < c->batch; i++)
        cblas_sgemm(CblasRowMajor, c->transpose_a ? CblasTrans : CblasNoTrans,
                    c->transpose_b ? CblasTrans : CblasNoTrans, c->m, c->n,
                    c->k, 1.0f, g->a_memory + (long)i * c->m * c->k, lda,
                    g->b_memory + (long)i * c->k * c->n, ldb, 0.0f,
                    g->out->data + (long)i * c->m * c->n, c->n);
}

static void library_gemm(void *context)
{
    gemm_operands *g = context;
    tp_gemm(g->out, g->a, g->b, 1.0f, 0.0f);
}

static void naive_gemm(void *context)
{
    gemm_operands *g = context;
    tp_gemm_naive(g->out, g->a, g->b, 1.0f, 0.0f);
}
/* <<tp: commands>> */
static int bench_threads = 0, bench_repeat = 20;
static const char *bench_tsv = NULL;

static const option bench_matmul_options[] = {
    {"--threads", OPTION_INT, &bench_threads, 1, 1024,
     "threads for OpenBLAS (default: all cores)"},
    {"--repeat", OPTION_INT, &bench_repeat, 1, 10000,
     "timed runs per case; the median is printed (default: 20)"},
    {"--tsv", OPTION_STRING, &bench_tsv, 0, 0,
     "also write the results as a table, for the roofline figure"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static double case_gflop(const gemm_case *c)
{
    return 2.0 * c->batch * c->m * c->k * (double)c->n * 1e-9;
}
/* <<tp: commands>> */
static void print_matmul_row(const gemm_case *c, double naive,
                             const tp_comparison *cmp, double peak)
{
    char naive_ms[16] = "-";
    if (naive > 0)
        snprintf(naive_ms, sizeof naive_ms, "%.2f", naive * 1e3);
    double blas = cmp->reference.median, library = cmp->candidate.median;
    double gflops = case_gflop(c) / library;
    printf("%-15s %4d %5d %5d %5d  %6.3f %9s %8.3f %8.3f  %5.2f %8.1f", c->label,
           c->batch, c->m, c->k, c->n, case_gflop(c), naive_ms, blas * 1e3,
           library * 1e3, cmp->ratio, gflops);
    if (peak > 0)
        printf(" %5.0f%%", 100.0 * gflops / peak);
    printf("\n");
}
/* <<tp: commands>> */
typedef struct matmul_row {
    const gemm_case *c;
    double gflops;
} matmul_row;

static double intensity(const gemm_case *c)
{
    double m = c->m, k = c->k, n = c->n;
    return 2 * m * k * n / (4 * (m * k + k * n + m * n));
}

static int write_matmul_table(const matmul_row *rows, double peak,
                              double bandwidth)
{
    FILE *f = fopen(bench_tsv, "w");
    if (f == NULL) {
        perror(bench_tsv);
        return 1;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp bench matmul --tsv %s\n", bench_tsv);
    fprintf(f, "case\tbatch\tflop_per_byte\tgflops\tpeak_gflops\t"
            "bandwidth_gbs\n");
    for (size_t i = 0; i < sizeof matmul_cases / sizeof matmul_cases[0]; i++)
        fprintf(f, "%s\t%d\t%.3f\t%.2f\t%.1f\t%.2f\n", rows[i].c->label,
                rows[i].c->batch, intensity(rows[i].c), rows[i].gflops, peak,
                bandwidth);
    return fclose(f) == 0 ? 0 : 1;
}
/* <<tp: commands>> */
static int bench_matmul(void)
{
    if (bench_threads > 0)
        tp_set_threads(bench_threads);
    tp_describe_machine(stdout);
    double peak = tp_peak_gflops() * tp_threads();
    double bandwidth = tp_copy_bandwidth();
    matmul_row rows[sizeof matmul_cases / sizeof matmul_cases[0]];
    printf("# fp32 peak %.0f GFLOP/s (FMA loop, one core x %d threads); "
           "memcpy %.1f GB/s\n", peak, tp_threads(), bandwidth);
    printf("%-15s %4s %5s %5s %5s  %6s %9s %8s %8s  %5s %8s %6s\n", "case",
           "B", "M", "K", "N", "GFLOP", "naive ms", "BLAS ms", "tp ms",
           "tp/BL", "GFLOP/s", "peak");
    for (size_t i = 0; i < sizeof matmul_cases / sizeof matmul_cases[0]; i++) {
        const gemm_case *c = &matmul_cases[i];
        tp_arena *arena = tp_arena_new("bench");
        gemm_operands g = make_operands(arena, c);
        double naive = case_gflop(c) < 0.1 ? tp_time(naive_gemm, &g, 1).median
                                           : 0.0;
        tp_comparison cmp = tp_compare(direct_blas, library_gemm, &g,
                                       bench_repeat);
        print_matmul_row(c, naive, &cmp, peak);
        rows[i] = (matmul_row){c, case_gflop(c) / cmp.candidate.median};
        tp_arena_free(arena);
    }
    return bench_tsv ? write_matmul_table(rows, peak, bandwidth) : 0;
}
/* <<tp: commands>> */
typedef struct gpt_config {
    int batch, context, width, layers, heads, vocab;
} gpt_config;

static gpt_config floor_config = {8, 128, 256, 4, 4, 256};

static int add_product(gemm_case *list, int n, int batch, int m, int k,
                       int c, bool tb)
{
    list[n++] = (gemm_case){"forward", batch, m, k, c, false, tb};
    list[n++] = (gemm_case){"dA", batch, m, c, k, false, !tb};
    list[n++] = (gemm_case){"dB", batch, tb ? c : k, m, tb ? k : c, true,
                            false};
    return n;
}
/* <<tp: commands>> */
static int step_products(const gpt_config *g, gemm_case *list)
{
    int rows = g->batch * g->context, c = g->width, t = g->context;
    int heads = g->batch * g->heads, d = g->width / g->heads, n = 0;
    for (int layer = 0; layer < g->layers; layer++) {
        n = add_product(list, n, 1, rows, c, 3 * c, false);
        n = add_product(list, n, heads, t, d, t, true);
        n = add_product(list, n, heads, t, t, d, false);
        n = add_product(list, n, 1, rows, c, c, false);
        n = add_product(list, n, 1, rows, c, 4 * c, false);
        n = add_product(list, n, 1, rows, 4 * c, c, false);
    }
    return add_product(list, n, 1, rows, c, g->vocab, true);
}
/* <<tp: commands>> */
enum { MAX_PRODUCTS = 3 * (6 * 64 + 1) };

typedef struct step_work {
    gemm_operands products[MAX_PRODUCTS];
    int n;
} step_work;

static void run_step(void *context)
{
    step_work *w = context;
    for (int i = 0; i < w->n; i++)
        tp_gemm(w->products[i].out, w->products[i].a, w->products[i].b, 1.0f,
                0.0f);
}
/* <<tp: commands>> */
static const option gemm_floor_options[] = {
    {"--batch", OPTION_INT, &floor_config.batch, 1, 4096, "sequences"},
    {"--context", OPTION_INT, &floor_config.context, 1, 65536, "tokens"},
    {"--width", OPTION_INT, &floor_config.width, 1, 65536, "model width C"},
    {"--layers", OPTION_INT, &floor_config.layers, 1, 64, "layers"},
    {"--heads", OPTION_INT, &floor_config.heads, 1, 1024,
     "attention heads (must divide the width)"},
    {"--vocab", OPTION_INT, &floor_config.vocab, 1, 1 << 20, "vocabulary"},
    {"--threads", OPTION_INT, &bench_threads, 1, 1024,
     "threads for OpenBLAS (default: all cores)"},
    {"--repeat", OPTION_INT, &bench_repeat, 1, 10000,
     "timed steps; the median is printed (default: 20)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
static int bench_gemm_floor(void)
{
    gpt_config *g = &floor_config;
    if (g->width % g->heads != 0) {
        fprintf(stderr, "tp bench gemm-floor: --heads %d does not divide "
                "--width %d\n", g->heads, g->width);
        return 2;
    }
    if (bench_threads > 0)
        tp_set_threads(bench_threads);
    tp_describe_machine(stdout);
    static step_work work;
    gemm_case list[MAX_PRODUCTS];
    work.n = step_products(g, list);
    tp_arena *arena = tp_arena_new("gemm floor");
    double gflop = 0;
    for (int i = 0; i < work.n; i++) {
        work.products[i] = make_operands(arena, &list[i]);
        gflop += case_gflop(&list[i]);
    }
    /* <<gemm floor: time the step and print the floor>> */
    double seconds = tp_time(run_step, &work, bench_repeat).median;
    printf("# GPT: batch %d, context %d, width %d, %d layers, %d heads, "
           "vocabulary %d\n", g->batch, g->context, g->width, g->layers,
           g->heads, g->vocab);
    printf("products per step   %d\n", work.n);
    printf("GFLOP per step      %.2f\n", gflop);
    printf("floor ms per step   %.1f\n", seconds * 1e3);
    printf("GFLOP/s             %.1f\n", gflop / seconds);
    printf("floor tokens/s      %.0f\n", g->batch * g->context / seconds);
    tp_arena_free(arena);
    return 0;
}
/* <<tp: commands>> */
static const char *data_path = NULL, *data_tokenizer = "bytes";

static int load_corpus(const char *command, tp_corpus *corpus)
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
/* <<tp: commands>> */
static int make_tokenizer(const char *command, const tp_corpus *corpus,
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
static int bigram_steps = 1000, bigram_batch = 16, bigram_context = 64,
           bigram_seed = 1;
static const char *bigram_out = "bigram.safetensors";

static const option bigram_options[] = {
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file or a directory of them (default: the book)"},
    {"--steps", OPTION_INT, &bigram_steps, 1, 100000000, "training steps"},
    {"--batch", OPTION_INT, &bigram_batch, 1, 4096, "windows per step"},
    {"--context", OPTION_INT, &bigram_context, 1, 65536, "bytes per window"},
    {"--seed", OPTION_INT, &bigram_seed, 0, 1000000000, "the seed"},
    {"--out", OPTION_STRING, &bigram_out, 0, 0,
     "the checkpoint to write (default: bigram.safetensors)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
typedef struct bigram {
    tp_tensor *table;
    const int *tokens;
    long n;
    tp_rng rng;
    int *inputs, *targets;
} bigram;

static tp_tensor *bigram_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    bigram *m = context;
    tp_random_windows(m->tokens, m->n, bigram_batch, bigram_context, &m->rng,
                      m->inputs, m->targets);
    tp_tensor *scores = tp_embedding(g, m->table, m->inputs,
                                     tp_shape2(bigram_batch, bigram_context));
    return tp_cross_entropy(g, scores, m->targets, -1);
}
/* <<tp: commands>> */
static double bigram_validation(bigram *m, tp_arena *arena)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    double total = 0;
    for (int i = 0; i < 16; i++) {
        total += bigram_loss(&g, 0, m)->data[0];
        tp_graph_reset(&g);
    }
    return total / 16;
}
/* <<tp: commands>> */
static int bigram_train(void)
{
    tp_corpus corpus, train, validation;
    if (load_corpus("bigram train", &corpus) != 0)
        return 1;
    tp_corpus_split(&corpus, &train, &validation);
    if (validation.size <= bigram_context) {
        fprintf(stderr, "tp bigram train: the data (%ld bytes) is too short "
                "for windows of --context %d\n", corpus.size, bigram_context);
        tp_corpus_free(&corpus);
        return 1;
    }
    /* <<bigram: train, validate and save>> */
    tp_arena *arena = tp_arena_new("parameters"), *step = tp_arena_new("step");
    tp_params params = {0};
    int *tokens = malloc((size_t)corpus.size * sizeof *tokens);
    int *inputs = malloc(2 * (size_t)bigram_batch * (size_t)bigram_context
                         * sizeof *inputs);
    tp_check(tokens != NULL && inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, tokens);
    bigram m = {tp_param_new(&params, arena, "bigram.logits", tp_shape2(256, 256)),
                tokens, train.size, tp_rng_seeded((uint64_t)bigram_seed, 0),
                inputs, inputs + bigram_batch * bigram_context};
    /* <<bigram: run the training loop>> */
    tp_optimizer *opt = tp_optimizer_new(&params, (tp_optimizer_config){
        .kind = TP_ADAMW, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f});
    display shown = {.terminal = isatty(STDERR_FILENO)};
    tp_train_options o = {.steps = bigram_steps, .warmup = 20, .max_lr = 0.1f,
                          .min_lr = 0.01f, .clip = 1.0,
                          .tokens_per_step = (long)bigram_batch * bigram_context,
                          .progress = show_progress, .progress_context = &shown};
    tp_graph g = tp_graph_on(step);
    tp_error error;
    catch_interrupts();
    int status = tp_train(&g, &params, opt, &o, bigram_loss, &m, NULL, &error);
    long done = tp_optimizer_steps(opt);
    tp_optimizer_free(opt);
    if (status != 0)
        fprintf(stderr, "tp bigram train: %s\n", error.message);
    /* <<bigram: measure and save>> */
    if (status == 0) {
        m.tokens = tokens + train.size, m.n = validation.size;
        double loss = bigram_validation(&m, step);
        char steps_text[32];
        snprintf(steps_text, sizeof steps_text, "%ld", done);
        tp_metadata meta = {0};
        tp_metadata_set(&meta, "model", "bigram");
        tp_metadata_set(&meta, "steps", steps_text);
        status = tp_safetensors_save(bigram_out, params.items, params.count, &meta,
                                     &error);
        if (status != 0)
            fprintf(stderr, "tp bigram train: %s\n", error.message);
        else
            printf("%s after %ld steps: validation loss %.4f; saved %s\n",
                   interrupted ? "interrupted" : "trained", done, loss, bigram_out);
    }
    status = status == 0 ? 0 : 1;
    free(tokens), free(inputs);
    tp_params_free(&params);
    tp_arena_free(step), tp_arena_free(arena);
    tp_corpus_free(&corpus);
    return status;
}
/* <<tp: commands>> */
static bool figures_list = false, figures_all = false;
static const char *figures_out = "figures";

static const option figures_options[] = {
    {"--list", OPTION_FLAG, &figures_list, 0, 0, "list the figures"},
    {"--all", OPTION_FLAG, &figures_all, 0, 0, "render every figure"},
    {"--out", OPTION_STRING, &figures_out, 0, 0,
     "the directory to write into (default: figures)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
static int render_figure(const tp_figure *f)
{
    tp_figure_report report;
    tp_error error;
    if (tp_figure_render(f, figures_out, &report, &error) != 0) {
        fprintf(stderr, "tp figures: %s: %s\n", f->name, error.message);
        return 1;
    }
    printf("%-24s %s/%s.pdf, .png", f->name, figures_out, f->name);
    if (report.missing_glyphs || report.overflows)
        printf("  (%d missing glyphs, %d overflowing texts)",
               report.missing_glyphs, report.overflows);
    printf("\n");
    return report.missing_glyphs || report.overflows;
}
/* <<tp: commands>> */
static int figures_command(void)
{
    if (figures_list) {
        for (int i = 0; i < tp_figure_count(); i++)
            printf("%-24s %s\n", tp_figure_at(i)->name,
                   tp_figure_at(i)->caption);
        return 0;
    }
    if (!figures_all && operand_count == 0) {
        fprintf(stderr, "tp figures: name figures, or use --all or --list\n");
        return 2;
    }
    int failed = 0;
    for (int i = 0; figures_all && i < tp_figure_count(); i++)
        failed |= render_figure(tp_figure_at(i));
    for (int i = 0; !figures_all && i < operand_count; i++) {
        const tp_figure *f = tp_figure_find(operands[i]);
        if (f == NULL)
            fprintf(stderr, "tp figures: no figure is named '%s'; see "
                    "'tp figures --list'\n", operands[i]);
        failed |= f == NULL ? 2 : render_figure(f);
    }
    return failed;
}
/* <<tp: commands>> */
static int gpt_steps = 1000, gpt_batch = 8, gpt_context = 128, gpt_layers = 4,
           gpt_heads = 4, gpt_width = 256, gpt_seed = 1, gpt_eval = 100;
static const char *gpt_out = "gpt.safetensors", *gpt_resume = NULL,
                  *gpt_curve = NULL;

static const option gpt_train_options[] = {
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file or a directory of them (default: the book)"},
    {"--steps", OPTION_INT, &gpt_steps, 1, 100000000, "training steps in all"},
    {"--batch", OPTION_INT, &gpt_batch, 1, 4096, "sequences per step"},
    {"--context", OPTION_INT, &gpt_context, 2, 65536, "tokens per sequence"},
    {"--layers", OPTION_INT, &gpt_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &gpt_heads, 1, 256, "attention heads"},
    {"--width", OPTION_INT, &gpt_width, 1, 65536, "the model width C"},
    {"--seed", OPTION_INT, &gpt_seed, 0, 1000000000, "the seed"},
    {"--eval-every", OPTION_INT, &gpt_eval, 1, 100000000,
     "steps between validation losses"},
    {"--out", OPTION_STRING, &gpt_out, 0, 0,
     "the checkpoint to write (default: gpt.safetensors)"},
    {"--resume", OPTION_STRING, &gpt_resume, 0, 0,
     "continue the run saved in this checkpoint"},
    {"--curve", OPTION_STRING, &gpt_curve, 0, 0,
     "also write the losses as a table, for the learning-curve figure"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
static double unigram_loss(const tp_corpus *train, const tp_corpus *validation)
{
    double count[256];
    for (int b = 0; b < 256; b++)
        count[b] = 1.0;
    for (long i = 0; i < train->size; i++)
        count[train->bytes[i]]++;
    double total = (double)train->size + 256.0, loss = 0.0;
    for (long i = 0; i < validation->size; i++)
        loss -= log(count[validation->bytes[i]] / total);
    return loss / (double)validation->size;
}
/* <<tp: commands>> */
typedef struct gpt_run {
    tp_gpt *m;
    const int *tokens;
    long train, total;  /* tokens [0, train) train; [train, total) validate */
    tp_rng rng;
    int *inputs, *targets;
    display shown;
    FILE *curve;        /* the learning curve, or NULL */
} gpt_run;

static tp_tensor *gpt_batch_loss(tp_graph *g, gpt_run *r, const int *tokens,
                                 long n)
{
    tp_random_windows(tokens, n, gpt_batch, gpt_context, &r->rng, r->inputs,
                      r->targets);
    return tp_gpt_loss(g, r->m, r->inputs, r->targets, gpt_batch, gpt_context);
}

static tp_tensor *gpt_train_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    gpt_run *r = context;
    return gpt_batch_loss(g, r, r->tokens, r->train);
}
/* <<tp: commands>> */
static double gpt_validation(gpt_run *r)
{
    tp_arena *arena = tp_arena_new("validation");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng saved = r->rng;
    r->rng = tp_rng_seeded(12345, 1);
    double total = 0;
    for (int i = 0; i < 8; i++) {
        total += gpt_batch_loss(&g, r, r->tokens + r->train,
                                r->total - r->train)->data[0];
        tp_graph_reset(&g);
    }
    r->rng = saved;
    tp_arena_free(arena);
    return total / 8;
}

static bool gpt_progress(const tp_progress *p, void *context)
{
    gpt_run *r = context;
    bool going = show_progress(p, &r->shown);
    if ((p->step + 1) % gpt_eval == 0 || p->step + 1 == p->steps) {
        double validation = gpt_validation(r);
        printf("step %ld: validation loss %.4f\n", p->step + 1, validation);
        fflush(stdout);
        if (r->curve != NULL)
            fprintf(r->curve, "%ld\t%.4f\t%.4f\t%.1f\n", p->step + 1,
                    (double)p->loss, validation, p->seconds);
    }
    return going;
}
/* <<tp: commands>> */
static tp_gpt *gpt_model(tp_optimizer **opt, tp_rng *rng, tp_error *error)
{
    tp_gpt *m;
    if (gpt_resume != NULL) {
        m = tp_gpt_load(gpt_resume, NULL, error);
        if (m == NULL)
            return NULL;
    } else {
        m = tp_gpt_new((tp_gpt_config){256, gpt_context, gpt_layers,
                                       gpt_heads, gpt_width});
        tp_rng init = tp_rng_seeded((uint64_t)gpt_seed, 1);
        tp_gpt_init(m, &init);
    }
    *opt = tp_optimizer_new(&m->params, (tp_optimizer_config){
        .kind = TP_ADAMW, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
        .weight_decay = 0.1f});
    *rng = tp_rng_seeded((uint64_t)gpt_seed, 2);
    if (gpt_resume != NULL
        && tp_gpt_load_run(gpt_resume, m, *opt, rng, error) != 0) {
        tp_optimizer_free(*opt);
        tp_gpt_free(m);
        return NULL;
    }
    return m;
}
/* <<tp: commands>> */
static int gpt_train_on(const tp_corpus *corpus, const tp_corpus *train,
                        const tp_corpus *validation);

static int gpt_train(void)
{
    if (gpt_width % gpt_heads != 0) {
        fprintf(stderr, "tp gpt train: --heads %d does not divide --width "
                "%d\n", gpt_heads, gpt_width);
        return 2;
    }
    tp_corpus corpus, train, validation;
    if (load_corpus("gpt train", &corpus) != 0)
        return 1;
    tp_corpus_split(&corpus, &train, &validation);
    int status = 1;
    if (validation.size <= gpt_context)
        fprintf(stderr, "tp gpt train: the data (%ld bytes) is too short for "
                "--context %d\n", corpus.size, gpt_context);
    else
        status = gpt_train_on(&corpus, &train, &validation);
    tp_corpus_free(&corpus);
    return status;
}
/* <<tp: commands>> */
static int gpt_train_on(const tp_corpus *corpus, const tp_corpus *train,
                        const tp_corpus *validation)
{
    tp_error error;
    tp_optimizer *opt;
    gpt_run r = {.train = train->size, .total = corpus->size,
                 .shown = {.terminal = isatty(STDERR_FILENO)}};
    r.m = gpt_model(&opt, &r.rng, &error);
    if (r.m == NULL) {
        fprintf(stderr, "tp gpt train: %s\n", error.message);
        return 1;
    }
    /* <<gpt train: run the loop and save>> */
    int *tokens = malloc((size_t)corpus->size * sizeof *tokens);
    r.inputs = malloc(2 * (size_t)gpt_batch * (size_t)gpt_context * sizeof(int));
    tp_check(tokens != NULL && r.inputs != NULL, "out of memory");
    r.targets = r.inputs + gpt_batch * gpt_context;
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus->bytes, corpus->size, tokens);
    r.tokens = tokens;
    double unigram = unigram_loss(train, validation);
    printf("GPT: %ld parameters; unigram baseline %.4f\n",
           tp_params_count(&r.m->params), unigram);
    if (gpt_curve != NULL && (r.curve = fopen(gpt_curve, "w")) != NULL) {
        tp_describe_machine(r.curve);
        fprintf(r.curve, "# written by: tp gpt train --steps %d --curve %s\n"
                "# unigram baseline %.4f\nstep\ttrain_loss\tvalidation_loss\t"
                "seconds\n", gpt_steps, gpt_curve, unigram);
    }
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    long warmup = gpt_steps / 10 < 100 ? gpt_steps / 10 + 1 : 100;
    tp_train_options o = {.steps = gpt_steps, .warmup = warmup, .max_lr = 3e-4f,
                          .min_lr = 3e-5f, .clip = 1.0,
                          .tokens_per_step = (long)gpt_batch * gpt_context,
                          .progress = gpt_progress, .progress_context = &r};
    r.shown.first = tp_optimizer_steps(opt);
    catch_interrupts();
    int status = tp_train(&g, &r.m->params, opt, &o, gpt_train_loss, &r, NULL,
                          &error);
    /* <<gpt train: save the run>> */
    if (status == 0)
        status = tp_gpt_save_run(gpt_out, r.m, opt, &r.rng, &error);
    if (status != 0)
        fprintf(stderr, "tp gpt train: %s\n", error.message);
    else
        printf("%s at step %ld; saved %s\n", interrupted ? "interrupted" : "done",
               tp_optimizer_steps(opt), gpt_out);
    status = status == 0 ? 0 : 1;
    free(tokens), free(r.inputs);
    if (r.curve != NULL)
        fclose(r.curve);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_gpt_free(r.m);
    return status;
}
/* <<tp: commands>> */
static int sample_tokens = 240, sample_top_k = 0;
static float sample_temperature = 0.8f, sample_top_p = 1.0f;
static const char *sample_model = "gpt.safetensors", *sample_prompt = "The ",
                  *sample_tokenizer = NULL;

static const option gpt_sample_options[] = {
    {"--model", OPTION_STRING, &sample_model, 0, 0,
     "the checkpoint (default: gpt.safetensors)"},
    {"--tokenizer", OPTION_STRING, &sample_tokenizer, 0, 0,
     "a directory with GPT-2's vocab.json and merges.txt (default: bytes)"},
    {"--prompt", OPTION_STRING, &sample_prompt, 0, 0, "the text to continue"},
    {"--tokens", OPTION_INT, &sample_tokens, 1, 1000000, "tokens to write"},
    {"--temperature", OPTION_FLOAT, &sample_temperature, 0, 100,
     "0 for the most likely token (default: 0.8)"},
    {"--top-k", OPTION_INT, &sample_top_k, 0, 1000000,
     "keep the k most likely tokens (default: 0, all)"},
    {"--top-p", OPTION_FLOAT, &sample_top_p, 0, 1,
     "keep the most likely tokens up to this mass (default: 1)"},
    {"--seed", OPTION_INT, &sample_seed, 0, 1000000000, "the seed"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
static int sample_tokenizer_for(const tp_gpt *m, tp_tokenizer *t)
{
    tp_error error;
    *t = tp_tokenizer_bytes();
    if (sample_tokenizer != NULL) {
        char vocab[4096], merges[4096];
        snprintf(vocab, sizeof vocab, "%s/vocab.json", sample_tokenizer);
        snprintf(merges, sizeof merges, "%s/merges.txt", sample_tokenizer);
        if (tp_tokenizer_gpt2(vocab, merges, t, &error) != 0) {
            fprintf(stderr, "tp gpt sample: %s\n", error.message);
            return -1;
        }
    }
    if (t->vocab_size != m->config.vocab_size) {
        fprintf(stderr, "tp gpt sample: the tokenizer has %d tokens but the "
                "model %d\n", t->vocab_size, m->config.vocab_size);
        tp_tokenizer_free(t);
        return -1;
    }
    return 0;
}
/* <<tp: commands>> */
static int gpt_sample(void)
{
    tp_error error;
    tp_tokenizer t;
    tp_gpt *m = tp_gpt_load(sample_model, NULL, &error);
    if (m == NULL) {
        fprintf(stderr, "tp gpt sample: %s\n", error.message);
        return 1;
    }
    if (sample_tokenizer_for(m, &t) != 0) {
        tp_gpt_free(m);
        return 1;
    }
    long length = (long)strlen(sample_prompt);
    int *prompt = malloc(((size_t)length + 1) * sizeof *prompt);
    long n = tp_encode(&t, (const unsigned char *)sample_prompt, length, prompt);
    int status = 0, capacity = m->config.n_positions;
    if (n == 0 || n >= capacity) {
        fprintf(stderr, "tp gpt sample: the prompt must have 1 to %d tokens\n",
                capacity - 1);
        status = 2;
    } else
        /* <<gpt sample: feed the prompt and write>> */
        {
            int vocab = m->config.vocab_size;
            tp_gpt_cache *cache = tp_gpt_cache_new(m, capacity);
            tp_arena *scratch = tp_arena_new("sample");
            tp_rng rng = tp_rng_seeded((uint64_t)sample_seed, 3);
            const float *logits = NULL;
            fputs(sample_prompt, stdout);
            for (long i = 0; i < n; i++) {
                tp_arena_reset(scratch);  /* the logits of the last token must survive */
                logits = tp_gpt_step(m, cache, prompt[i], scratch);
            }
            float *next = malloc((size_t)vocab * sizeof *next);
            for (int written = 0; written < sample_tokens && cache->length < capacity;
                 written++) {
                memcpy(next, logits, (size_t)vocab * sizeof *next);
                tp_arena_reset(scratch);
                int token = tp_gpt_sample_token(next, vocab, sample_temperature,
                                                sample_top_k, sample_top_p, &rng);
                unsigned char bytes[1024];
                fwrite(bytes, 1, (size_t)tp_decode(&t, &token, 1, bytes), stdout);
                logits = tp_gpt_step(m, cache, token, scratch);
            }
            putchar('\n');
            free(next);
            tp_arena_free(scratch);
            tp_gpt_cache_free(cache);
        }
    free(prompt);
    tp_tokenizer_free(&t);
    tp_gpt_free(m);
    return status;
}
/* <<tp: commands>> */
static int gpt_bench_steps = 10, gpt_bench_rounds = 3;

static const option gpt_bench_options[] = {
    {"--threads", OPTION_INT, &bench_threads, 1, 1024,
     "threads (default: all cores)"},
    {"--steps", OPTION_INT, &gpt_bench_steps, 1, 10000,
     "timed training steps; the median is reported (default: 10)"},
    {"--rounds", OPTION_INT, &gpt_bench_rounds, 1, 100,
     "rounds of the comparison with PyTorch (default: 3)"},
    {NULL, 0, NULL, 0, 0, NULL},
};

typedef struct gpt_bench_state {
    tp_gpt *m;
    tp_optimizer *opt;
    tp_graph g;
    int tokens[8 * 129], inputs[8 * 128], targets[8 * 128];
    tp_rng rng;
} gpt_bench_state;

static void compare_with_torch(gpt_bench_state *b, tp_gpt *decoder);
/* <<tp: commands>> */
static void gpt_bench_step(void *context)
{
    gpt_bench_state *b = context;
    tp_corpus book = tp_corpus_book();
    for (int i = 0; i < 8; i++) {
        long start = (long)(tp_rng_uniform(&b->rng) * (double)(book.size - 130));
        for (int t = 0; t < 128; t++) {
            b->inputs[i * 128 + t] = book.bytes[start + t];
            b->targets[i * 128 + t] = book.bytes[start + t + 1];
        }
    }
    tp_backward(&b->g, tp_gpt_loss(&b->g, b->m, b->inputs, b->targets, 8, 128));
    tp_clip_grad_norm(&b->m->params, 1.0);
    tp_optimizer_step(b->opt, 3e-4f);
    tp_zero_grad(&b->m->params);
    tp_graph_reset(&b->g);
}
/* <<tp: commands>> */
static void gpt_bench_decode(void *context)
{
    tp_gpt *m = context;
    tp_gpt_cache *cache = tp_gpt_cache_new(m, 256);
    tp_arena *scratch = tp_arena_new("decode");
    const float *logits = NULL;
    int token = 'T';
    for (int i = 0; i < 16 + 240; i++) {
        tp_arena_reset(scratch);
        logits = tp_gpt_step(m, cache, token, scratch);
        token = i < 15 ? "The book is the "[i + 1]
                       : tp_gpt_sample_token(logits, 256, 0.0f, 0, 1.0f, NULL);
    }
    tp_arena_free(scratch);
    tp_gpt_cache_free(cache);
}
/* <<tp: commands>> */
static int gpt_bench(void)
{
    if (bench_threads > 0)
        tp_set_threads(bench_threads);
    tp_describe_machine(stdout);
    gpt_bench_state *b = calloc(1, sizeof *b);
    tp_check(b != NULL, "out of memory");
    tp_rng init = tp_rng_seeded(1, 1);
    b->m = tp_gpt_new(tp_gpt_t());
    tp_gpt_init(b->m, &init);
    b->opt = tp_optimizer_new(&b->m->params, (tp_optimizer_config){
        .kind = TP_ADAMW, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
        .weight_decay = 0.1f});
    tp_arena *step = tp_arena_new("step");
    b->g = tp_graph_on(step);
    b->rng = tp_rng_seeded(2, 2);
    double train = tp_time(gpt_bench_step, b, gpt_bench_steps).median;
    /* <<gpt bench: the floor, decoding, and the table>> */
    static step_work work;
    gemm_case list[MAX_PRODUCTS];
    work.n = step_products(&floor_config, list);
    tp_arena *arena = tp_arena_new("gemm floor");
    for (int i = 0; i < work.n; i++)
        work.products[i] = make_operands(arena, &list[i]);
    double floor_time = tp_time(run_step, &work, gpt_bench_steps).median;
    tp_gpt_config gpt_i = tp_gpt_t();
    gpt_i.n_positions = 256;
    tp_gpt *decoder = tp_gpt_new(gpt_i);
    tp_gpt_init(decoder, &init);
    double decode = tp_time(gpt_bench_decode, decoder, 3).median;
    printf("GPT-T training   %8.0f tokens/s   (%.1f ms per step)\n",
           1024 / train, train * 1e3);
    printf("GEMM floor       %8.0f tokens/s   (%.1f ms; training reaches %.0f%%)\n",
           1024 / floor_time, floor_time * 1e3, 100 * floor_time / train);
    printf("GPT-I decoding   %8.0f tokens/s   (240 tokens after a prompt of 16)\n",
           240 / decode);
    fflush(stdout);
    compare_with_torch(b, decoder);
    tp_gpt_free(decoder);
    tp_arena_free(arena);
    tp_arena_free(step);
    tp_optimizer_free(b->opt);
    tp_gpt_free(b->m);
    free(b);
    return 0;
}
/* <<tp: commands>> */
typedef struct torch_speed {
    double train, decode;
} torch_speed;

static bool torch_run(int threads, torch_speed *speed)
{
    char command[512], line[256];
    snprintf(command, sizeof command, "/usr/bin/python3 "
             "tangled/tools/gpt_torch.py --threads %d --steps %d 2>/dev/null",
             threads, gpt_bench_steps);
    FILE *p = popen(command, "r");
    if (p == NULL)
        return false;
    while (fgets(line, sizeof line, p) != NULL) {
        sscanf(line, "train_tokens_per_s %lf", &speed->train);
        sscanf(line, "decode_tokens_per_s %lf", &speed->decode);
    }
    return pclose(p) == 0 && speed->train > 0 && speed->decode > 0;
}
/* <<tp: commands>> */
static double median_of(double *values, int n)
{
    double copy[100];
    memcpy(copy, values, (size_t)n * sizeof *copy);
    return tp_median(copy, n);
}

static void compare_with_torch(gpt_bench_state *b, tp_gpt *decoder)
{
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0
        || access("tangled/tools/gpt_torch.py", R_OK) != 0) {
        printf("PyTorch          (not installed, or not run from the source "
               "directory: skipped)\n");
        return;
    }
    double torch_train[100] = {0}, torch_decode[100] = {0}, train[100] = {0},
           decode[100] = {0};
    int rounds = gpt_bench_rounds;
    for (int r = 0; r < rounds; r++) {
        /* <<gpt bench: one round of the comparison>> */
        torch_speed best = {0, 0};
        for (int threads = 1; threads <= tp_threads(); threads *= 2) {
            torch_speed s = {0, 0};
            if (torch_run(threads, &s)) {
                best.train = s.train > best.train ? s.train : best.train;
                best.decode = s.decode > best.decode ? s.decode : best.decode;
            }
        }
        torch_train[r] = best.train, torch_decode[r] = best.decode;
        double ours_train = 1024 / tp_time(gpt_bench_step, b, gpt_bench_steps).median;
        double ours_decode = 240 / tp_time(gpt_bench_decode, decoder, 3).median;
        train[r] = ours_train / best.train, decode[r] = ours_decode / best.decode;
    }
    /* <<gpt bench: report the comparison>> */
    double lo_t = train[0], hi_t = train[0], lo_d = decode[0], hi_d = decode[0];
    for (int r = 1; r < rounds; r++) {
        lo_t = fmin(lo_t, train[r]), hi_t = fmax(hi_t, train[r]);
        lo_d = fmin(lo_d, decode[r]), hi_d = fmax(hi_d, decode[r]);
    }
    printf("PyTorch training %8.0f tokens/s   (ours is %.2fx; %.2f to %.2f in %d "
           "rounds)\n", median_of(torch_train, rounds), median_of(train, rounds),
           lo_t, hi_t, rounds);
    printf("PyTorch decoding %8.0f tokens/s   (ours is %.2fx; %.2f to %.2f in %d "
           "rounds)\n", median_of(torch_decode, rounds), median_of(decode, rounds),
           lo_d, hi_d, rounds);
}
/* <<tp: commands>> */
static const char *attention_model = "gpt.safetensors",
                  *attention_prompt = "The book is the ",
                  *attention_tsv = "gpt-attention.tsv";

static const option gpt_attention_options[] = {
    {"--model", OPTION_STRING, &attention_model, 0, 0, "the checkpoint"},
    {"--prompt", OPTION_STRING, &attention_prompt, 0, 0,
     "the text to look at (at most 24 bytes)"},
    {"--tsv", OPTION_STRING, &attention_tsv, 0, 0, "the table to write"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
static int gpt_attention(void)
{
    tp_error error;
    tp_gpt *m = tp_gpt_load(attention_model, NULL, &error);
    if (m == NULL) {
        fprintf(stderr, "tp gpt attention: %s\n", error.message);
        return 1;
    }
    int t = (int)strlen(attention_prompt), tokens[24];
    if (t < 1 || t > 24 || t > m->config.n_positions) {
        fprintf(stderr, "tp gpt attention: the prompt must have 1 to 24 bytes\n");
        tp_gpt_free(m);
        return 2;
    }
    for (int i = 0; i < t; i++)
        tokens[i] = (unsigned char)attention_prompt[i];
    tp_arena *arena = tp_arena_new("attention");
    tp_tensor **maps = tp_gpt_attention_maps(m, tokens, t, arena);
    FILE *f = fopen(attention_tsv, "w");
    int status = f == NULL;
    /* <<gpt attention: write the table>> */
    if (f != NULL) {
        fprintf(f, "# written by: tp gpt attention --model %s --tsv %s\n# prompt",
                attention_model, attention_tsv);
        for (int i = 0; i < t; i++)
            fprintf(f, " %d", tokens[i]);
        fprintf(f, "\nlayer.head.query\tweights\n");
        for (int l = 0; l < m->config.n_layer; l++)
            for (int h = 0; h < m->config.n_head; h++)
                for (int i = 0; i < t; i++) {
                    fprintf(f, "%d.%d.%d", l, h, i);
                    for (int j = 0; j < t; j++)
                        fprintf(f, "\t%.5f", *tp_at4(maps[l], 0, h, i, j));
                    fprintf(f, "\n");
                }
        status = fclose(f) != 0;
    }
    if (status != 0)
        fprintf(stderr, "tp gpt attention: cannot write %s\n", attention_tsv);
    tp_arena_free(arena);
    tp_gpt_free(m);
    return status;
}
/* <<tp: commands>> */
static int scaling_max = 16384;
static const char *scaling_tsv = NULL;

static const option bench_attention_options[] = {
    {"--threads", OPTION_INT, &bench_threads, 1, 1024,
     "threads (default: all cores)"},
    {"--max", OPTION_INT, &scaling_max, 256, 65536,
     "the longest sequence; lengths double from 256 (default: 16384)"},
    {"--tsv", OPTION_STRING, &scaling_tsv, 0, 0,
     "also write the results as a table, for the figures"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
enum { NAIVE, TILED, LINEAR, METHODS };
static const char *const method_names[METHODS] = {"naive", "tiled", "linear"};

static tp_tensor *attention_by(int method, tp_graph *g, tp_tensor *q,
                               tp_tensor *k, tp_tensor *v)
{
    return method == NAIVE   ? tp_attention(g, q, k, v, NULL)
           : method == TILED ? tp_attention_tiled(g, q, k, v, NULL)
                             : tp_linear_attention(g, q, k, v);
}
/* <<tp: commands>> */
typedef struct scaling_case {
    int method;
    bool training;
    tp_tensor *q, *k, *v, *seed;
    tp_arena *step;
} scaling_case;

static void scaling_step(void *context)
{
    scaling_case *c = context;
    tp_arena_reset(c->step);
    tp_graph g = tp_graph_on(c->step);
    tp_set_grad(&g, c->training);
    tp_tensor *out = attention_by(c->method, &g, c->q, c->k, c->v);
    if (c->training)
        tp_backward_from(&g, out, c->seed);
}
/* <<tp: commands>> */
typedef struct scaling_result {
    double ms, mib;
} scaling_result;

static scaling_result measure_scaling(scaling_case *c)
{
    tp_arena_reset(c->step);
    tp_arena_reset_peak(c->step);
    scaling_step(c);
    double mib = (double)tp_arena_peak(c->step) / (1 << 20);
    int n = c->q->shape.dim[2], runs = n <= 1024 ? 10 : n <= 4096 ? 3 : 1;
    return (scaling_result){tp_time(scaling_step, c, runs).median * 1e3, mib};
}
/* <<tp: commands>> */
enum { MAX_LENGTHS = 16 };

typedef struct scaling_row {
    int n;
    scaling_result forward, training;
} scaling_row;

static int measure_all(scaling_row rows[][METHODS], tp_arena *inputs)
{
    tp_rng rng = tp_rng_seeded(3, 3);
    int lengths = 0;
    for (int n = 256; n <= scaling_max && lengths < MAX_LENGTHS; n *= 2) {
        scaling_case c = {.step = tp_arena_new("attention step")};
        tp_arena_reset(inputs);
        c.q = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_WITH_GRAD, &rng);
        c.k = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_WITH_GRAD, &rng);
        c.v = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_WITH_GRAD, &rng);
        c.seed = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_NO_GRAD, &rng);
        /* <<bench attention: measure every method at this length>> */
        for (c.method = 0; c.method < METHODS; c.method++) {
            scaling_row *r = &rows[lengths][c.method];
            r->n = n;
            c.training = false, r->forward = measure_scaling(&c);
            c.training = true, r->training = measure_scaling(&c);
            printf("%6d  %-7s %11.2f %9.1f %13.2f %9.1f\n", n,
                   method_names[c.method], r->forward.ms, r->forward.mib,
                   r->training.ms, r->training.mib);
            fflush(stdout);
        }
        tp_arena_free(c.step);
        lengths++;
    }
    return lengths;
}
/* <<tp: commands>> */
static double exponent_of(scaling_row rows[][METHODS], int lengths, int method,
                          bool memory)
{
    double x[MAX_LENGTHS], y[MAX_LENGTHS], coefficient;
    int n = 0;
    for (int i = 0; i < lengths; i++)
        if (rows[i][method].n >= 1024) {
            x[n] = rows[i][method].n;
            y[n++] = memory ? rows[i][method].training.mib
                            : rows[i][method].training.ms;
        }
    return n >= 2 ? tp_power_fit(x, y, n, &coefficient) : NAN;
}
/* <<tp: commands>> */
static void print_scaling_summary(scaling_row rows[][METHODS], int lengths)
{
    printf("# training step, fitted over N >= 1024: time ~ N^a, memory ~ N^b\n");
    for (int m = 0; m < METHODS; m++)
        printf("#   %-7s a = %.2f   b = %.2f\n", method_names[m],
               exponent_of(rows, lengths, m, false),
               exponent_of(rows, lengths, m, true));
    printf("# tiled / naive:      N   forward time   training time   "
           "training memory\n");
    for (int i = 0; i < lengths; i++) {
        const scaling_row *naive = &rows[i][NAIVE], *tiled = &rows[i][TILED];
        printf("#               %6d %13.2f %15.2f %14.1fx less\n", naive->n,
               tiled->forward.ms / naive->forward.ms,
               tiled->training.ms / naive->training.ms,
               naive->training.mib / tiled->training.mib);
    }
}
/* <<tp: commands>> */
static double relative_error(const tp_tensor *a, const tp_tensor *exact)
{
    double diff = 0.0, norm = 0.0;
    for (long i = 0, n = tp_tensor_count(exact); i < n; i++) {
        diff += pow((double)a->data[i] - exact->data[i], 2);
        norm += pow((double)exact->data[i], 2);
    }
    return sqrt(diff / norm);
}
/* <<tp: commands>> */
static void print_errors(tp_arena *arena)
{
    tp_rng rng = tp_rng_seeded(4, 4);
    tp_shape shape = tp_shape4(1, 1, 1024, 64);
    tp_tensor *q = tp_tensor_normal(arena, shape, TP_NO_GRAD, &rng);
    tp_tensor *k = tp_tensor_normal(arena, shape, TP_NO_GRAD, &rng);
    tp_tensor *v = tp_tensor_normal(arena, shape, TP_NO_GRAD, &rng);
    tp_graph g = tp_graph_on(arena);
    tp_tensor *exact = tp_attention(&g, q, k, v, NULL);
    printf("# error against exact attention at N = 1024 (relative, all outputs)\n");
    printf("#   tiled            %.1e\n", relative_error(
               tp_attention_tiled(&g, q, k, v, NULL), exact));
    printf("#   linear (ReLU)    %.3f\n", relative_error(
               tp_linear_attention(&g, q, k, v), exact));
    /* <<bench attention: the Linformer's error at several ranks>> */
    for (int r = 16; r <= 1024; r *= 4) {
        float deviation = 1.0f / sqrtf((float)r);
        tp_shape projection = tp_shape2(1024, r);
        tp_tensor *e = tp_scale(&g, tp_tensor_normal(arena, projection, TP_NO_GRAD,
                                                     &rng), deviation);
        tp_tensor *f = tp_scale(&g, tp_tensor_normal(arena, projection, TP_NO_GRAD,
                                                     &rng), deviation);
        printf("#   Linformer r=%-4d %.3f\n", r,
               relative_error(tp_linformer(&g, q, k, v, e, f), exact));
    }
}
/* <<tp: commands>> */
static int write_scaling_table(scaling_row rows[][METHODS], int lengths)
{
    FILE *f = fopen(scaling_tsv, "w");
    if (f == NULL) {
        perror(scaling_tsv);
        return 1;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp bench attention --tsv %s\n", scaling_tsv);
    fprintf(f, "method\tn\tforward_ms\tforward_mib\ttraining_ms\ttraining_mib\n");
    for (int i = 0; i < lengths; i++)
        for (int m = 0; m < METHODS; m++) {
            const scaling_row *r = &rows[i][m];
            fprintf(f, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\n", method_names[m], r->n,
                    r->forward.ms, r->forward.mib, r->training.ms,
                    r->training.mib);
        }
    return fclose(f) == 0 ? 0 : 1;
}
/* <<tp: commands>> */
static int bench_attention(void)
{
    if (bench_threads > 0)
        tp_set_threads(bench_threads);
    tp_describe_machine(stdout);
    printf("# one head of width 64; milliseconds (median) and MiB (peak)\n");
    printf("%6s  %-7s %11s %9s %13s %9s\n", "N", "method", "forward ms",
           "MiB", "training ms", "MiB");
    static scaling_row rows[MAX_LENGTHS][METHODS];
    tp_arena *inputs = tp_arena_new("attention inputs");
    int lengths = measure_all(rows, inputs);
    print_scaling_summary(rows, lengths);
    tp_arena_reset(inputs);
    print_errors(inputs);
    tp_arena_free(inputs);
    return scaling_tsv ? write_scaling_table(rows, lengths) : 0;
}

static const command commands[] = {
    /* <<tp: command table>> */
    {"bench matmul", "time matrix products: naive, OpenBLAS, tp_gemm",
     bench_matmul_options, bench_matmul, NULL},
    /* <<tp: command table>> */
    {"bench gemm-floor", "time the matrix products of one GPT training step",
     gemm_floor_options, bench_gemm_floor, NULL},
    /* <<tp: command table>> */
    {"data stats", "describe a corpus: bytes, lines, tokens, the split",
     data_stats_options, data_stats, NULL},
    {"data sample", "print examples of the synthetic tasks", data_sample_options,
     data_sample, NULL},
    /* <<tp: command table>> */
    {"bigram train", "train the simplest language model: next byte from this one",
     bigram_options, bigram_train, NULL},
    /* <<tp: command table>> */
    {"figures", "render the book's figures to PDF and PNG", figures_options,
     figures_command, "[NAME...]"},
    /* <<tp: command table>> */
    {"gpt train", "train a GPT on the book or --data (GPT-T by default)",
     gpt_train_options, gpt_train, NULL},
    {"gpt sample", "continue a prompt with a trained GPT", gpt_sample_options,
     gpt_sample, NULL},
    /* <<tp: command table>> */
    {"gpt bench", "training and decoding speed of GPT-T and GPT-I, and the floor",
     gpt_bench_options, gpt_bench, NULL},
    /* <<tp: command table>> */
    {"gpt attention", "write a trained GPT's attention weights for a prompt",
     gpt_attention_options, gpt_attention, NULL},
    /* <<tp: command table>> */
    {"bench attention", "time and memory of naive, tiled and linear attention",
     bench_attention_options, bench_attention, NULL},
};
enum { COMMANDS = sizeof commands / sizeof commands[0] };

/* <<tp: help>> */
static void list_commands(FILE *out)
{
    fprintf(out, "usage: tp COMMAND [OPTIONS]\n\ncommands:\n");
    for (int i = 0; i < COMMANDS; i++)
        fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'tp COMMAND --help' explains one command.\n");
}

static void command_help(const command *c)
{
    printf("usage: tp %s [OPTIONS]%s%s\n\n%s\n", c->name,
           c->operands ? " " : "", c->operands ? c->operands : "", c->summary);
    if (c->options != NULL && c->options[0].name != NULL)
        printf("\noptions:\n");
    for (const option *o = c->options; o != NULL && o->name != NULL; o++) {
        char flag[48];
        snprintf(flag, sizeof flag, "%s%s", o->name,
                 o->kind == OPTION_INT ? " N" : o->kind == OPTION_FLOAT ? " X"
                 : o->kind == OPTION_STRING ? " TEXT" : "");
        printf("  %-18s %s", flag, o->help);
        if (o->kind == OPTION_INT || o->kind == OPTION_FLOAT)
            printf(" (%ld to %ld)", o->min, o->max);
        printf("\n");
    }
}

/* <<tp: finding and running a command>> */
static int words_match(const char *name, int argc, char **argv)
{
    const char *space = strchr(name, ' ');
    if (space == NULL)
        return argc >= 1 && strcmp(argv[0], name) == 0 ? 1 : 0;
    size_t first = (size_t)(space - name);
    return argc >= 2 && strlen(argv[0]) == first
                   && strncmp(argv[0], name, first) == 0
                   && strcmp(argv[1], space + 1) == 0
               ? 2
               : 0;
}
/* <<tp: finding and running a command>> */
static int commands_starting_with(const char *word)
{
    int found = 0;
    size_t n = strlen(word);
    for (int i = 0; i < COMMANDS; i++)
        if (strncmp(commands[i].name, word, n) == 0
            && commands[i].name[n] == ' ') {
            if (found++ == 0)
                fprintf(stderr, "tp %s: choose one of:\n", word);
            fprintf(stderr, "  tp %-14s %s\n", commands[i].name,
                    commands[i].summary);
        }
    return found;
}
/* <<tp: finding and running a command>> */
int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0
        || strcmp(argv[1], "--help") == 0) {
        list_commands(stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; i < COMMANDS; i++) {
        int words = words_match(commands[i].name, argc - 1, argv + 1);
        if (words == 0)
            continue;
        int rest = argc - 1 - words;
        char **options = argv + 1 + words;
        if (rest >= 1 && strcmp(options[0], "--help") == 0) {
            command_help(&commands[i]);
            return 0;
        }
        if (parse_options(&commands[i], rest, options) != 0)
            return 2;
        return commands[i].run();
    }
    if (commands_starting_with(argv[1]) == 0)
        fprintf(stderr, "tp: unknown command '%s'; see 'tp help'\n", argv[1]);
    return 2;
}
