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
static int cuda_size = 4096, cuda_rows = 16384, cuda_cols = 4096;
static int cuda_repeat = 20;
static bool cuda_list = false;
static const char *cuda_tsv = NULL;

static const option bench_cuda_options[] = {
    {"--size", OPTION_INT, &cuda_size, 1, 32768,
     "M = N = K of the matrix products (default: 4096)"},
    {"--rows", OPTION_INT, &cuda_rows, 1, 1 << 22,
     "rows of the row operations (default: 16384)"},
    {"--cols", OPTION_INT, &cuda_cols, 1, 1 << 20,
     "values per row (default: 4096)"},
    {"--repeat", OPTION_INT, &cuda_repeat, 1, 10000,
     "timed runs per version; the median is printed (default: 20)"},
    {"--list", OPTION_FLAG, &cuda_list, 0, 0,
     "list the operations and their versions; needs no GPU"},
    {"--tsv", OPTION_STRING, &cuda_tsv, 0, 0,
     "also write the results as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
static void list_gpu_operations(FILE *out)
{
    for (int i = 0; i < tp_gpu_operation_count; i++) {
        const tp_gpu_operation *op = &tp_gpu_operations[i];
        fprintf(out, "%-19s %s\n", op->name, op->summary);
        for (int v = 0; v < op->versions; v++)
            fprintf(out, "    %-4s %s\n", op->version[v].name,
                    op->version[v].idea);
    }
}

static double gpu_peak(const tp_gpu *gpu, tp_gpu_bound bound)
{
    if (bound == TP_GPU_FP32_BOUND)
        return tp_gpu_fp32_peak(gpu);
    if (bound == TP_GPU_BF16_BOUND)
        return tp_gpu_bf16_peak(gpu);
    return tp_gpu_bandwidth(gpu);
}
/* <<tp: commands>> */
typedef struct gpu_timing {
    double seconds, rate, fraction, speedup;
    tp_gpu_mismatch worst;
    bool right;
} gpu_timing;

static void print_gpu_timing(const tp_gpu_case *c, const tp_gpu_version *v,
                             const gpu_timing *t, FILE *tsv)
{
    bool memory = c->op->bound == TP_GPU_MEMORY_BOUND;
    printf("  %-4s %-38s %9.3f %8.1f %6.0f%% %7.2fx %8.3f%s\n", v->name,
           v->idea, t->seconds * 1e3, t->rate / (memory ? 1e9 : 1e12),
           100 * t->fraction, t->speedup, t->worst.ratio,
           t->right ? "" : "  WRONG");
    if (!t->right)
        printf("       %ld outputs outside their bound; worst: %s[%ld] = %g, "
               "want %g within %g\n", t->worst.bad,
               c->op->output_name[t->worst.output], t->worst.index,
               t->worst.got, t->worst.want, t->worst.tolerance);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%s\t%d\t%d\t%d\t%.6g\t%.6g\t%.4f\t%.4f\t%.4g\t%d\n",
                c->op->name, v->name, c->rows, c->cols, c->inner, t->seconds,
                t->rate, t->fraction, t->speedup, t->worst.ratio, t->right);
}
/* <<tp: commands>> */
static bool bench_gpu_operation(const tp_gpu *gpu, const tp_gpu_operation *op,
                                FILE *tsv)
{
    bool product = op->bound != TP_GPU_MEMORY_BOUND;
    int rows = product ? cuda_size : cuda_rows;
    int cols = product ? cuda_size : cuda_cols;
    int inner = product ? cuda_size : 1;
    fprintf(stderr, "computing the reference of %s on the CPU ...\n",
            op->name);
    tp_gpu_case *c = tp_gpu_case_new(op, rows, cols, inner, 1);
    char size[64];
    if (product)
        snprintf(size, sizeof size, "%d x %d x %d", rows, cols, inner);
    else
        snprintf(size, sizeof size, "%d x %d", rows, cols);
    printf("\n%s, %s: %s\n", op->name, op->summary, size);
    printf("  %-43s %9s %8s %7s %8s %8s\n", "version", "ms",
           product ? "TFLOP/s" : "GB/s", "peak", "speed-up", "err/bound");
    bool all_right = true;
    double first = 0;
    for (int v = 0; v < op->versions; v++) {
        /* <<bench cuda: check and time version v>> */
        gpu_timing t = {.right = tp_gpu_check_version(c, v, &t.worst)};
        t.seconds = tp_gpu_time_version(c, v, cuda_repeat);
        first = v == 0 ? t.seconds : first;
        t.rate = op->work(c) / t.seconds;
        double peak = gpu_peak(gpu, op->bound);
        t.fraction = peak > 0 ? t.rate / peak : 0;
        t.speedup = first / t.seconds;
        print_gpu_timing(c, &op->version[v], &t, tsv);
        fflush(stdout);
        all_right = all_right && t.right;
    }
    tp_gpu_case_free(c);
    return all_right;
}
/* <<tp: commands>> */
static int bench_cuda(void)
{
    if (cuda_list) {
        list_gpu_operations(stdout);
        return 0;
    }
    for (int i = 0; i < operand_count; i++)
        if (tp_gpu_operation_named(operands[i]) == NULL) {
            fprintf(stderr, "tp bench cuda: no operation '%s'; "
                    "'tp bench cuda --list' lists them\n", operands[i]);
            return 2;
        }
    tp_gpu gpu;
    char why[256];
    if (tp_gpu_open(&gpu, why, sizeof why) != 0) {
        fprintf(stderr, "tp bench cuda: %s\n", why);
        return 1;
    }
    /* <<bench cuda: run the operations, writing the table>> */
    FILE *tsv = cuda_tsv ? fopen(cuda_tsv, "w") : NULL;
    if (cuda_tsv && tsv == NULL) {
        perror(cuda_tsv);
        return 1;
    }
    tp_gpu_describe(stdout, &gpu);
    if (tsv != NULL) {
        tp_gpu_describe(tsv, &gpu);
        fprintf(tsv, "operation\tversion\trows\tcols\tinner\tseconds\trate\t"
                "peak_fraction\tspeedup\terror_ratio\tright\n");
    }
    bool right = true;
    for (int i = 0; i < (operand_count > 0 ? operand_count
                                           : tp_gpu_operation_count); i++) {
        const tp_gpu_operation *op = operand_count > 0
            ? tp_gpu_operation_named(operands[i]) : &tp_gpu_operations[i];
        right = bench_gpu_operation(&gpu, op, tsv) && right;
    }
    if (tsv != NULL && fclose(tsv) != 0) {
        perror(cuda_tsv);
        return 1;
    }
    return right ? 0 : 1;
}
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
static int translate_train(void)
{
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
    status = status == 0 ? 0 : 1;
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_vanilla_free(r->m);
    free(r);
    return status;
}
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
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
/* <<tp: commands>> */
static int bert_steps = 1500, bert_batch = 32, bert_length = 64,
           bert_vocab = 2000, bert_layers = 4, bert_heads = 4,
           bert_width = 128, bert_seed = 1, bert_every = 250,
           bert_examples = 0, bert_tune_steps = 300, bert_top = 5;
static float bert_lr = 1e-3f, bert_tune_lr = 3e-4f;
static bool bert_scratch = false;
static const char *bert_out = "bert.safetensors",
                  *bert_model = "bert.safetensors", *bert_tuned = NULL,
                  *bert_attention = NULL;
/* <<tp: commands>> */
static const option bert_pretrain_options[] = {
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file or directory (default: the book)"},
    {"--steps", OPTION_INT, &bert_steps, 1, 100000000, "training steps"},
    {"--batch", OPTION_INT, &bert_batch, 1, 4096, "sequences per step"},
    {"--length", OPTION_INT, &bert_length, 8, 4096,
     "tokens per sequence, [CLS] and [SEP]s included"},
    {"--vocab", OPTION_INT, &bert_vocab, 6, 1000000,
     "words in the vocabulary, the 5 special tokens included"},
    {"--layers", OPTION_INT, &bert_layers, 1, 64, "blocks"},
    {"--heads", OPTION_INT, &bert_heads, 1, 64, "attention heads"},
    {"--width", OPTION_INT, &bert_width, 1, 4096, "the model width C"},
    {"--lr", OPTION_FLOAT, &bert_lr, 0, 1, "the peak learning rate"},
    {"--seed", OPTION_INT, &bert_seed, 0, 1000000000, "the seed"},
    {"--eval-every", OPTION_INT, &bert_every, 1, 100000000,
     "steps between validations"},
    {"--out", OPTION_STRING, &bert_out, 0, 0, "the checkpoint to write "
     "(default: bert.safetensors; the vocabulary goes beside it)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
static void vocab_path(const char *model, char *out, size_t size)
{
    size_t n = strlen(model), suffix = strlen(".safetensors");
    if (n > suffix && strcmp(model + n - suffix, ".safetensors") == 0)
        n -= suffix;
    snprintf(out, size, "%.*s.vocab", (int)n, model);
}

static int *encode_words(const tp_words *w, const tp_corpus *text, long *n)
{
    *n = tp_words_encode(w, text->bytes, text->size, NULL);
    int *ids = malloc((size_t)(*n + 1) * sizeof *ids);
    tp_check(ids != NULL, "out of memory");
    tp_words_encode(w, text->bytes, text->size, ids);
    return ids;
}
/* <<tp: commands>> */
typedef struct bert_run {
    tp_bert *m;
    int *train, *validation;  /* the corpus as ids, in two parts */
    long n_train, n_validation;
    tp_rng rng;
    int *tokens, *segments, *labels;        /* a training batch */
    int *v_tokens, *v_segments, *v_labels;  /* the validation batch */
    display shown;
} bert_run;

static void two_spans(const int *ids, long n, tp_rng *rng, int *tokens,
                      int *segments)
{
    int words = bert_length - 3, a = words / 2, k = 0;
    long start = (long)tp_rng_below(rng, (uint32_t)(n - words));
    tokens[k] = TP_WORD_CLS, segments[k++] = 0;
    for (int i = 0; i < words; i++) {
        if (i == a)
            tokens[k] = TP_WORD_SEP, segments[k++] = 0;
        tokens[k] = ids[start + i], segments[k++] = i >= a;
    }
    tokens[k] = TP_WORD_SEP, segments[k] = 1;
}
/* <<tp: commands>> */
static void masked_batch(bert_run *r, const int *ids, long n, int batch,
                         int *tokens, int *segments, int *labels)
{
    for (int b = 0; b < batch; b++)
        two_spans(ids, n, &r->rng, tokens + (long)b * bert_length,
                  segments + (long)b * bert_length);
    tp_mlm_mask(tokens, labels, batch, bert_length, r->m->config.vocab_size,
                &r->rng);
}

static tp_tensor *bert_pretrain_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    bert_run *r = context;
    masked_batch(r, r->train, r->n_train, bert_batch, r->tokens, r->segments,
                 r->labels);
    tp_bert_input in = {r->tokens, r->segments, NULL, bert_batch, bert_length};
    return tp_bert_mlm_loss(g, r->m, &in, r->labels);
}
/* <<tp: commands>> */
static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        best = x[i] > x[best] ? i : best;
    return best;
}

static double bert_validation(bert_run *r, double *right)
{
    tp_arena *arena = tp_arena_new("validation");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_bert_input in = {r->v_tokens, r->v_segments, NULL, 64, bert_length};
    tp_tensor *logits = tp_bert_mlm_logits(&g, r->m, &in, r->v_labels, NULL);
    int v = r->m->config.vocab_size, count = 0, *targets = tp_arena_alloc(
        arena, 64 * (size_t)bert_length * sizeof *targets);
    for (long i = 0; i < 64L * bert_length; i++)
        if (r->v_labels[i] >= 0)
            targets[count++] = r->v_labels[i];
    *right = 0;
    for (int k = 0; k < count; k++)
        *right += argmax(logits->data + (long)k * v, v) == targets[k];
    *right /= count;
    double loss = tp_cross_entropy(&g, logits, targets, -1)->data[0];
    tp_arena_free(arena);
    return loss;
}
/* <<tp: commands>> */
static bool bert_progress(const tp_progress *p, void *context)
{
    bert_run *r = context;
    bool going = show_progress(p, &r->shown);
    if ((p->step + 1) % bert_every == 0 || p->step + 1 == p->steps) {
        double right, loss = bert_validation(r, &right);
        printf("step %ld: validation loss %.3f, masked words right %.1f%%\n",
               p->step + 1, loss, 100 * right);
        fflush(stdout);
    }
    return going;
}
/* <<tp: commands>> */
static void print_commonest(const int *ids, long n, const tp_words *w)
{
    long *seen = calloc((size_t)w->count, sizeof *seen);
    tp_check(seen != NULL, "out of memory");
    for (long i = 0; i < n; i++)
        seen[ids[i]]++;
    int best = TP_WORD_UNK;
    for (int id = TP_WORD_SPECIALS; id < w->count; id++)
        best = seen[id] > seen[best] ? id : best;
    printf("always guessing '%s' would be right on %.1f%% of the validation "
           "words\n", w->word[best], 100.0 * seen[best] / n);
    free(seen);
}
/* <<tp: commands>> */
static int bert_pretrain_on(bert_run *r, const tp_words *words);

static int bert_pretrain(void)
{
    tp_corpus corpus, train, validation;
    if (load_corpus("bert pretrain", &corpus) != 0)
        return 1;
    if (bert_width % bert_heads != 0) {
        fprintf(stderr, "tp bert pretrain: --heads %d must divide --width "
                "%d\n", bert_heads, bert_width);
        tp_corpus_free(&corpus);
        return 2;
    }
    bert_run r = {.shown = {.terminal = isatty(STDERR_FILENO)}};
    tp_words words;
    tp_words_build(corpus.bytes, corpus.size, bert_vocab, &words);
    tp_corpus_split(&corpus, &train, &validation);
    r.train = encode_words(&words, &train, &r.n_train);
    r.validation = encode_words(&words, &validation, &r.n_validation);
    int status = bert_pretrain_on(&r, &words);
    free(r.train), free(r.validation);
    tp_words_free(&words);
    tp_corpus_free(&corpus);
    return status;
}
/* <<tp: commands>> */
static int bert_pretrain_on(bert_run *r, const tp_words *words)
{
    if (r->n_validation <= bert_length) {
        fprintf(stderr, "tp bert pretrain: the corpus is too small: %ld "
                "validation words for sequences of %d\n", r->n_validation,
                bert_length);
        return 1;
    }
    r->m = tp_bert_new((tp_bert_config){words->count, bert_length,
                                        bert_layers, bert_heads, bert_width,
                                        2});
    r->rng = tp_rng_seeded((uint64_t)bert_seed, 1);
    tp_bert_init(r->m, &r->rng);
    printf("BERT: %ld parameters, %d words, %ld training and %ld validation "
           "words\n", tp_params_count(&r->m->params), words->count,
           r->n_train, r->n_validation);
    print_commonest(r->validation, r->n_validation, words);
    /* <<bert pretrain: the batches>> */
    size_t batch = (size_t)bert_batch * bert_length, fixed = 64 * (size_t)bert_length;
    r->tokens = malloc(batch * sizeof(int)), r->segments = malloc(batch * sizeof(int));
    r->labels = malloc(batch * sizeof(int)), r->v_tokens = malloc(fixed * sizeof(int));
    r->v_segments = malloc(fixed * sizeof(int)), r->v_labels = malloc(fixed * sizeof(int));
    tp_check(r->tokens && r->segments && r->labels && r->v_tokens && r->v_segments
                 && r->v_labels, "out of memory");
    tp_rng training = r->rng;
    r->rng = tp_rng_seeded(0, 7);  /* the same validation batch in every run */
    masked_batch(r, r->validation, r->n_validation, 64, r->v_tokens,
                 r->v_segments, r->v_labels);
    r->rng = training;
    /* <<bert pretrain: train, save and report>> */
    tp_optimizer *opt = tp_optimizer_new(&r->m->params, (tp_optimizer_config){
        .kind = TP_ADAMW, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
        .weight_decay = 0.01f});
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = bert_steps, .warmup = bert_steps / 10 + 1,
                          .max_lr = bert_lr, .min_lr = bert_lr / 100, .clip = 1.0,
                          .tokens_per_step = (long)bert_batch * bert_length,
                          .progress = bert_progress, .progress_context = r};
    tp_error error;
    char vocab[4096];
    vocab_path(bert_out, vocab, sizeof vocab);
    catch_interrupts();
    int status = tp_train(&g, &r->m->params, opt, &o, bert_pretrain_loss, r, NULL,
                          &error);
    if (status == 0 && (status = tp_bert_save(r->m, bert_out, &error)) == 0)
        status = tp_words_save(words, vocab, &error);
    if (status != 0)
        fprintf(stderr, "tp bert pretrain: %s\n", error.message);
    else
        printf("%s; saved %s and %s\n", interrupted ? "interrupted" : "done",
               bert_out, vocab);
    free(r->tokens), free(r->segments), free(r->labels);
    free(r->v_tokens), free(r->v_segments), free(r->v_labels);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_bert_free(r->m);
    return status == 0 ? 0 : 1;
}
/* <<tp: commands>> */
static tp_bert *bert_load(const char *command, const char *path,
                          tp_words *words)
{
    tp_error error;
    char vocab[4096];
    vocab_path(path, vocab, sizeof vocab);
    tp_bert *m = tp_bert_load(path, &error);
    if (m != NULL && tp_words_load(vocab, words, &error) == 0) {
        if (words->count == m->config.vocab_size)
            return m;
        tp_error_set(&error, "%s has %d words, but %s was trained with %d",
                     vocab, words->count, path, m->config.vocab_size);
        tp_words_free(words);
    }
    fprintf(stderr, "tp %s: %s\n", command, error.message);
    tp_bert_free(m);
    return NULL;
}
/* <<tp: commands>> */
static const option bert_fill_options[] = {
    {"--model", OPTION_STRING, &bert_model, 0, 0,
     "the checkpoint (default: bert.safetensors, with bert.vocab)"},
    {"--top", OPTION_INT, &bert_top, 1, 100, "words to show per [MASK]"},
    {"--attention", OPTION_STRING, &bert_attention, 0, 0,
     "write every layer's attention over the first text to this table"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static int fill_one(tp_bert *m, const tp_words *w, const char *text,
                    bool attention);

static int bert_fill(void)
{
    tp_words words;
    tp_bert *m = bert_load("bert fill", bert_model, &words);
    if (m == NULL)
        return 1;
    int status = 0;
    for (int i = 0; status == 0 && i < operand_count; i++)
        status = fill_one(m, &words, operands[i], i == 0 && bert_attention);
    tp_words_free(&words);
    tp_bert_free(m);
    return status;
}
/* <<tp: commands>> */
static int fill_sequence(tp_bert *m, const tp_words *w, const char *text,
                         int *tokens, int *labels)
{
    long n = tp_words_encode(w, (const unsigned char *)text, (long)strlen(text),
                             NULL);
    if (n + 2 > m->config.n_positions) {
        fprintf(stderr, "tp bert fill: '%s' has %ld words, the model reads "
                "%d\n", text, n, m->config.n_positions - 2);
        return -1;
    }
    tokens[0] = TP_WORD_CLS, tokens[n + 1] = TP_WORD_SEP;
    tp_words_encode(w, (const unsigned char *)text, (long)strlen(text),
                    tokens + 1);
    int masks = 0;
    for (long i = 0; i < n + 2; i++)
        masks += (labels[i] = tokens[i] == TP_WORD_MASK ? 0 : -1) == 0;
    if (masks == 0)
        fprintf(stderr, "tp bert fill: no [MASK] in '%s'\n", text);
    return masks == 0 ? -1 : (int)n + 2;
}
/* <<tp: commands>> */
static void print_best_words(const float *logits, int v, const tp_words *w)
{
    double *p = malloc((size_t)v * sizeof *p), sum = 0;
    tp_check(p != NULL, "out of memory");
    float top = logits[argmax(logits, v)];
    for (int i = 0; i < v; i++)
        sum += p[i] = exp((double)logits[i] - top);
    for (int k = 0; k < bert_top && k < v; k++) {
        int best = 0;
        for (int i = 1; i < v; i++)
            best = p[i] > p[best] ? i : best;
        printf(" %s %.3f", w->word[best], p[best] / sum);
        p[best] = -1;
    }
    printf("\n");
    free(p);
}
/* <<tp: commands>> */
static int write_bert_attention(const tp_bert *m, const tp_words *w,
                                const char *text, const int *tokens, int n,
                                tp_tensor *const *weights);

static int fill_one(tp_bert *m, const tp_words *w, const char *text,
                    bool attention)
{
    int *tokens = malloc((size_t)m->config.n_positions * 2 * sizeof *tokens);
    tp_check(tokens != NULL, "out of memory");
    int *labels = tokens + m->config.n_positions;
    int n = fill_sequence(m, w, text, tokens, labels), status = 2;
    if (n > 0) {
        /* <<bert fill: predict and print>> */
        tp_arena *arena = tp_arena_new("fill");
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_tensor **weights = tp_arena_zeroed(arena, (size_t)m->config.n_layer,
                                              sizeof *weights);
        tp_bert_input in = {tokens, NULL, NULL, 1, n};
        tp_tensor *logits = tp_bert_mlm_logits(&g, m, &in, labels, weights);
        printf("%s\n", text);
        for (int i = 0, k = 0; i < n; i++)
            if (labels[i] == 0) {
                printf("  [MASK] %d:", k + 1);
                print_best_words(logits->data + (long)k++ * m->config.vocab_size,
                                 m->config.vocab_size, w);
            }
        status = attention ? write_bert_attention(m, w, text, tokens, n, weights) : 0;
        tp_arena_free(arena);
    }
    free(tokens);
    return status;
}
/* <<tp: commands>> */
typedef struct line_set {
    int count;
    int *start, *length, *label;  /* of line i, in ids; label 1: code */
    int *ids;
    long used;
} line_set;

static void line_set_alloc(line_set *s, long lines, long ids)
{
    *s = (line_set){0};
    s->start = malloc((size_t)(lines + 1) * sizeof(int));
    s->length = malloc((size_t)(lines + 1) * sizeof(int));
    s->label = malloc((size_t)(lines + 1) * sizeof(int));
    s->ids = malloc((size_t)(ids + 1) * sizeof(int));
    tp_check(s->start && s->length && s->label && s->ids, "out of memory");
}

static void line_set_free(line_set *s)
{
    free(s->start), free(s->length), free(s->label), free(s->ids);
}
/* <<tp: commands>> */
static void prose_and_code(const tp_corpus *text, const tp_words *w,
                           int longest, line_set *train, line_set *test)
{
    long n = tp_noweb_lines(text->bytes, text->size, NULL);
    tp_line *lines = malloc((size_t)(n + 1) * sizeof *lines);
    tp_check(lines != NULL, "out of memory");
    tp_noweb_lines(text->bytes, text->size, lines);
    line_set_alloc(train, n, text->size);
    line_set_alloc(test, n, text->size);
    for (long i = 0; i < n; i++) {
        const unsigned char *s = text->bytes + lines[i].start;
        line_set *to = tp_fnv1a(s, (size_t)lines[i].length) % 5 == 0 ? test
                                                                     : train;
        long units = tp_words_encode(w, s, lines[i].length, to->ids + to->used);
        if (units < 4)
            continue;
        to->start[to->count] = (int)to->used;
        to->length[to->count] = units < longest ? (int)units : longest;
        to->label[to->count++] = lines[i].code;
        to->used += units;
    }
    free(lines);
}
/* <<tp: commands>> */
static tp_bert_input line_batch(const line_set *s, const int *which,
                                int count, int *tokens,
                                unsigned char *padding)
{
    int t = 0;
    for (int i = 0; i < count; i++)
        t = s->length[which[i]] + 2 > t ? s->length[which[i]] + 2 : t;
    for (int i = 0; i < count; i++) {
        int n = s->length[which[i]], *row = tokens + (long)i * t;
        row[0] = TP_WORD_CLS, row[n + 1] = TP_WORD_SEP;
        memcpy(row + 1, s->ids + s->start[which[i]], (size_t)n * sizeof *row);
        for (int j = 0; j < t; j++) {
            padding[(long)i * t + j] = j >= n + 2;
            row[j] = j >= n + 2 ? TP_WORD_PAD : row[j];
        }
    }
    return (tp_bert_input){tokens, NULL, padding, count, t};
}
/* <<tp: commands>> */
typedef struct finetune_run {
    tp_bert *m;
    line_set train, test;
    int *chosen, n_chosen;  /* the training lines this run may use */
    tp_rng rng;
    int *tokens, *which, *labels;
    unsigned char *padding;
    display shown;
} finetune_run;

static tp_tensor *finetune_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    finetune_run *r = context;
    for (int b = 0; b < bert_batch; b++) {
        r->which[b] = r->chosen[tp_rng_below(&r->rng, (uint32_t)r->n_chosen)];
        r->labels[b] = r->train.label[r->which[b]];
    }
    tp_bert_input in = line_batch(&r->train, r->which, bert_batch, r->tokens,
                                  r->padding);
    return tp_bert_class_loss(g, r->m, &in, r->labels);
}
/* <<tp: commands>> */
static int test_accuracy(finetune_run *r)
{
    tp_arena *arena = tp_arena_new("test");
    int right = 0, *which = malloc(100 * sizeof *which);
    tp_check(which != NULL, "out of memory");
    for (int start = 0; start < r->test.count; start += 100) {
        int n = r->test.count - start < 100 ? r->test.count - start : 100;
        for (int i = 0; i < n; i++)
            which[i] = start + i;
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_bert_input in = line_batch(&r->test, which, n, r->tokens, r->padding);
        tp_tensor *logits = tp_bert_classify(&g, r->m, &in);
        for (int i = 0; i < n; i++)
            right += argmax(logits->data + 2 * i, 2) == r->test.label[start + i];
        tp_arena_reset(arena);
    }
    free(which);
    tp_arena_free(arena);
    return right;
}
/* <<tp: commands>> */
static const option bert_finetune_options[] = {
    {"--model", OPTION_STRING, &bert_model, 0, 0,
     "the pre-trained checkpoint (default: bert.safetensors)"},
    {"--scratch", OPTION_FLAG, &bert_scratch, 0, 0,
     "start from random weights instead (shaped by the options below)"},
    {"--examples", OPTION_INT, &bert_examples, 0, 100000000,
     "training lines to use (default 0: all)"},
    {"--steps", OPTION_INT, &bert_tune_steps, 1, 100000000, "training steps"},
    {"--batch", OPTION_INT, &bert_batch, 1, 4096, "lines per step"},
    {"--lr", OPTION_FLOAT, &bert_tune_lr, 0, 1, "the peak learning rate"},
    {"--seed", OPTION_INT, &bert_seed, 0, 1000000000, "the seed"},
    {"--out", OPTION_STRING, &bert_tuned, 0, 0,
     "write the fine-tuned model here (default: not written)"},
    {"--length", OPTION_INT, &bert_length, 8, 4096, "with --scratch: tokens"},
    {"--vocab", OPTION_INT, &bert_vocab, 6, 1000000, "with --scratch: words"},
    {"--layers", OPTION_INT, &bert_layers, 1, 64, "with --scratch: blocks"},
    {"--heads", OPTION_INT, &bert_heads, 1, 64, "with --scratch: heads"},
    {"--width", OPTION_INT, &bert_width, 1, 4096, "with --scratch: width"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
static tp_bert *finetune_model(const tp_corpus *corpus, tp_words *words)
{
    if (!bert_scratch)
        return bert_load("bert finetune", bert_model, words);
    if (bert_width % bert_heads != 0) {
        fprintf(stderr, "tp bert finetune: --heads %d must divide --width "
                "%d\n", bert_heads, bert_width);
        return NULL;
    }
    tp_words_build(corpus->bytes, corpus->size, bert_vocab, words);
    tp_bert *m = tp_bert_new((tp_bert_config){words->count, bert_length,
                                              bert_layers, bert_heads,
                                              bert_width, 2});
    tp_rng rng = tp_rng_seeded((uint64_t)bert_seed, 3);
    tp_bert_init(m, &rng);
    return m;
}
/* <<tp: commands>> */
static int finetune_on(finetune_run *r);

static int bert_finetune(void)
{
    tp_corpus corpus;
    if (load_corpus("bert finetune", &corpus) != 0)
        return 1;
    tp_words words;
    finetune_run r = {.shown = {.terminal = isatty(STDERR_FILENO)}};
    r.m = finetune_model(&corpus, &words);
    int status = 1;
    if (r.m != NULL) {
        int longest = r.m->config.n_positions - 2;
        prose_and_code(&corpus, &words, longest < 30 ? longest : 30, &r.train,
                       &r.test);
        status = finetune_on(&r);
        line_set_free(&r.train), line_set_free(&r.test);
        tp_words_free(&words);
        tp_bert_free(r.m);
    }
    tp_corpus_free(&corpus);
    return status;
}
/* <<tp: commands>> */
static void choose_examples(finetune_run *r)
{
    r->chosen = malloc((size_t)(r->train.count + 1) * sizeof *r->chosen);
    tp_check(r->chosen != NULL, "out of memory");
    for (int i = 0; i < r->train.count; i++)
        r->chosen[i] = i;
    tp_rng shuffle = tp_rng_seeded((uint64_t)bert_seed, 5);
    tp_shuffle(r->chosen, r->train.count, &shuffle);
    r->n_chosen = bert_examples > 0 && bert_examples < r->train.count
                      ? bert_examples : r->train.count;
}

static int count_code(const line_set *s, const int *which, int n)
{
    int code = 0;
    for (int i = 0; i < n; i++)
        code += s->label[which != NULL ? which[i] : i];
    return code;
}
/* <<tp: commands>> */
static int finetune_on(finetune_run *r)
{
    if (r->train.count == 0 || r->test.count == 0) {
        fprintf(stderr, "tp bert finetune: no lines of four words or more "
                "in the corpus to learn from and test on\n");
        return 1;
    }
    choose_examples(r);
    int code = count_code(&r->test, NULL, r->test.count);
    int majority = code > r->test.count - code ? code : r->test.count - code;
    printf("%d training lines (%d code), %d test lines; always answering "
           "\"%s\" gets %.1f%%\n", r->n_chosen,
           count_code(&r->train, r->chosen, r->n_chosen), r->test.count,
           2 * code > r->test.count ? "code" : "prose",
           100.0 * majority / r->test.count);
    /* <<bert finetune: train, test and report>> */
    int rows = bert_batch > 100 ? bert_batch : 100;
    r->tokens = malloc((size_t)rows * r->m->config.n_positions * sizeof(int));
    r->padding = malloc((size_t)rows * r->m->config.n_positions);
    r->which = malloc((size_t)bert_batch * sizeof(int));
    r->labels = malloc((size_t)bert_batch * sizeof(int));
    tp_check(r->tokens && r->padding && r->which && r->labels, "out of memory");
    r->rng = tp_rng_seeded((uint64_t)bert_seed, 4);
    tp_optimizer *opt = tp_optimizer_new(&r->m->params, (tp_optimizer_config){
        .kind = TP_ADAMW, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
        .weight_decay = 0.01f});
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = bert_tune_steps,
                          .warmup = bert_tune_steps / 10 + 1,
                          .max_lr = bert_tune_lr, .min_lr = bert_tune_lr / 100,
                          .clip = 1.0, .progress = show_progress,
                          .progress_context = &r->shown};
    tp_error error;
    catch_interrupts();
    int status = tp_train(&g, &r->m->params, opt, &o, finetune_loss, r, NULL,
                          &error);
    /* <<bert finetune: the verdict>> */
    if (status == 0) {
        int right = test_accuracy(r);
        printf("fine-tuned %s on %d lines: test accuracy %.1f%% (%d of %d)\n",
               bert_scratch ? "from scratch" : "after pre-training", r->n_chosen,
               100.0 * right / r->test.count, right, r->test.count);
        if (bert_tuned != NULL)
            status = tp_bert_save(r->m, bert_tuned, &error);
    }
    if (status != 0)
        fprintf(stderr, "tp bert finetune: %s\n", error.message);
    free(r->tokens), free(r->padding), free(r->which), free(r->labels);
    free(r->chosen);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    return status == 0 ? 0 : 1;
}
/* <<tp: commands>> */
static int write_bert_attention(const tp_bert *m, const tp_words *w,
                                const char *text, const int *tokens, int n,
                                tp_tensor *const *weights)
{
    FILE *f = fopen(bert_attention, "w");
    if (f == NULL) {
        fprintf(stderr, "tp bert fill: cannot write %s\n", bert_attention);
        return 1;
    }
    fprintf(f, "# written by: tp bert fill --model %s --attention %s '%s'\n"
            "# words", bert_model, bert_attention, text);
    for (int i = 0; i < n; i++)
        fprintf(f, " %s", w->word[tokens[i]]);
    fprintf(f, "\nlayer.query\tweights\n");
    /* <<bert attention: one row per layer and query>> */
    int heads = m->config.n_head;
    for (int l = 0; l < m->config.n_layer; l++)
        for (int i = 0; i < n; i++) {
            fprintf(f, "%d.%d", l, i);
            for (int j = 0; j < n; j++) {
                double mean = 0;
                for (int h = 0; h < heads; h++)
                    mean += *tp_at4(weights[l], 0, h, i, j) / heads;
                fprintf(f, "\t%.5f", mean);
            }
            fprintf(f, "\n");
        }
    return fclose(f) == 0 ? 0 : 1;
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

typedef struct torch_speed {
    double train, decode;  /* tokens per second */
} torch_speed;

static bool torch_installed(void);
static torch_speed torch_best(void);
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
enum { BENCH_TRAIN, BENCH_FLOOR, BENCH_DECODE, BENCH_REACH, TORCH_TRAIN,
       TORCH_DECODE, VS_TORCH_TRAIN, VS_TORCH_DECODE, BENCH_MEASURES };

static void gpt_bench_round(gpt_bench_state *b, step_work *floor_work,
                            tp_gpt *decoder, bool torch,
                            double m[BENCH_MEASURES][100], int r)
{
    torch_speed t = torch ? torch_best() : (torch_speed){0, 0};
    double train = 1024 / tp_time(gpt_bench_step, b, gpt_bench_steps).median;
    double floor = 1024 / tp_time(run_step, floor_work, gpt_bench_steps).median;
    double decode = 240 / tp_time(gpt_bench_decode, decoder, 3).median;
    m[BENCH_TRAIN][r] = train, m[BENCH_FLOOR][r] = floor;
    m[BENCH_DECODE][r] = decode, m[BENCH_REACH][r] = train / floor;
    m[TORCH_TRAIN][r] = t.train, m[TORCH_DECODE][r] = t.decode;
    m[VS_TORCH_TRAIN][r] = t.train > 0 ? train / t.train : 0;
    m[VS_TORCH_DECODE][r] = t.decode > 0 ? decode / t.decode : 0;
}

typedef struct spread {
    double median, low, high;
} spread;

static spread spread_of(const double *values, int n)
{
    double copy[100];
    memcpy(copy, values, (size_t)n * sizeof *copy);
    spread s = {tp_median(copy, n), copy[0], copy[n - 1]};  /* sorted */
    return s;
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
    /* <<gpt bench: the floor and the decoder>> */
    static step_work floor_work;
    gemm_case list[MAX_PRODUCTS];
    floor_work.n = step_products(&floor_config, list);
    tp_arena *arena = tp_arena_new("gemm floor");
    for (int i = 0; i < floor_work.n; i++)
        floor_work.products[i] = make_operands(arena, &list[i]);
    tp_gpt_config gpt_i = tp_gpt_t();
    gpt_i.n_positions = 256;
    tp_gpt *decoder = tp_gpt_new(gpt_i);
    tp_gpt_init(decoder, &init);
    /* <<gpt bench: run the rounds and report>> */
    bool torch = torch_installed();
    static double m[BENCH_MEASURES][100];
    int n = gpt_bench_rounds;
    for (int r = 0; r < n; r++)
        gpt_bench_round(b, &floor_work, decoder, torch, m, r);
    spread train = spread_of(m[BENCH_TRAIN], n);
    spread floor = spread_of(m[BENCH_FLOOR], n);
    spread decode = spread_of(m[BENCH_DECODE], n);
    spread reach = spread_of(m[BENCH_REACH], n);
    printf("# medians of %d rounds; the range of each ratio in brackets\n", n);
    printf("GPT-T training   %8.0f tokens/s   (%.1f ms per step)\n", train.median,
           1024e3 / train.median);
    printf("GEMM floor       %8.0f tokens/s   (%.1f ms; training reaches %.0f%% "
           "[%.0f-%.0f])\n", floor.median, 1024e3 / floor.median,
           100 * reach.median, 100 * reach.low, 100 * reach.high);
    printf("GPT-I decoding   %8.0f tokens/s   (240 tokens after a prompt of 16)\n",
           decode.median);
    /* <<gpt bench: report the comparison>> */
    if (!torch) {
        printf("PyTorch          (not installed, or not run from the source "
               "directory: skipped)\n");
    } else {
        spread tt = spread_of(m[TORCH_TRAIN], n);
        spread td = spread_of(m[TORCH_DECODE], n);
        spread vt = spread_of(m[VS_TORCH_TRAIN], n);
        spread vd = spread_of(m[VS_TORCH_DECODE], n);
        printf("PyTorch training %8.0f tokens/s   (ours is %.2fx [%.2f-%.2f])\n",
               tt.median, vt.median, vt.low, vt.high);
        printf("PyTorch decoding %8.0f tokens/s   (ours is %.2fx [%.2f-%.2f])\n",
               td.median, vd.median, vd.low, vd.high);
    }
    tp_gpt_free(decoder);
    tp_arena_free(arena);
    tp_arena_free(step);
    tp_optimizer_free(b->opt);
    tp_gpt_free(b->m);
    free(b);
    return 0;
}
/* <<tp: commands>> */
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

static torch_speed torch_best(void)
{
    torch_speed best = {0, 0};
    for (int threads = 1; threads <= tp_threads(); threads *= 2) {
        torch_speed s = {0, 0};
        if (torch_run(threads, &s)) {
            best.train = s.train > best.train ? s.train : best.train;
            best.decode = s.decode > best.decode ? s.decode : best.decode;
        }
    }
    return best;
}

static bool torch_installed(void)
{
    return system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0
           && access("tangled/tools/gpt_torch.py", R_OK) == 0;
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
typedef struct image_set {
    int count, size, classes;
    float *pixels;  /* [count, size, size], in [0, 1] */
    int *labels;
} image_set;

static void image_set_alloc(image_set *s, int count, int size, int classes)
{
    *s = (image_set){count, size, classes, NULL, NULL};
    s->pixels = malloc((size_t)count * size * size * sizeof *s->pixels);
    s->labels = malloc((size_t)count * sizeof *s->labels);
    tp_check(s->pixels != NULL && s->labels != NULL, "out of memory");
}

static void image_set_free(image_set *s)
{
    free(s->pixels), free(s->labels);
}

static void make_shapes(image_set *s, int count, int size, uint64_t stream)
{
    tp_rng rng = tp_rng_seeded(1, stream);
    image_set_alloc(s, count, size, TP_SHAPE_CLASSES);
    for (int i = 0; i < count; i++)
        s->labels[i] = (int)tp_shape_image(size, &rng,
                                           s->pixels + (long)i * size * size);
}
/* <<tp: commands>> */
static const char *digits_path =
    "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

static int load_digits(image_set *all, tp_error *error)
{
    if (access(digits_path, R_OK) != 0 || strchr(digits_path, '\'') != NULL)
        return tp_error_set(error, "no digits at %s (apt-get install "
                            "python3-sklearn, or give --digits FILE)",
                            digits_path);
    char command[4200];
    snprintf(command, sizeof command, "gzip -dc '%s'", digits_path);
    FILE *f = popen(command, "r");
    if (f == NULL)
        return tp_error_set(error, "cannot run gzip on %s", digits_path);
    image_set_alloc(all, 1797, 8, 10);
    int n = 0;
    /* <<vit: read the lines of 64 pixels and a label>> */
    char line[1024];
    while (n < 1797 && fgets(line, sizeof line, f) != NULL) {
        char *p = line, *end;
        int j = 0;
        double v;
        for (; j < 65 && (v = strtod(p, &end), end != p); j++, p = end + 1) {
            if (j < 64)
                all->pixels[(long)n * 64 + j] = (float)(v / 16.0);
            else
                all->labels[n] = (int)v;
            if (*end != ',')
                break;
        }
        if (j >= 64 && all->labels[n] >= 0 && all->labels[n] <= 9)
            n++;
    }
    while (fgets(line, sizeof line, f) != NULL)
        ;  /* let gzip finish writing */
    int status = pclose(f);
    if (status != 0 || n != 1797) {
        image_set_free(all);
        return tp_error_set(error, "%s is not the 1,797 digits of 8x8 pixels "
                            "(read %d)", digits_path, n);
    }
    return 0;
}
/* <<tp: commands>> */
static void split_digits(const image_set *all, image_set *train,
                         image_set *test)
{
    int order[1797];
    for (int i = 0; i < all->count; i++)
        order[i] = i;
    tp_rng rng = tp_rng_seeded(1797, 0);
    tp_shuffle(order, all->count, &rng);
    int n_test = all->count / 5;
    image_set_alloc(test, n_test, 8, 10);
    image_set_alloc(train, all->count - n_test, 8, 10);
    for (int i = 0; i < all->count; i++) {
        image_set *to = i < n_test ? test : train;
        int k = i < n_test ? i : i - n_test;
        memcpy(to->pixels + (long)k * 64, all->pixels + (long)order[i] * 64,
               64 * sizeof(float));
        to->labels[k] = all->labels[order[i]];
    }
}
/* <<tp: commands>> */
static int vit_steps = 1500, vit_batch = 64, vit_layers = 4, vit_heads = 4,
           vit_width = 64, vit_seed = 1, vit_every = 250, vit_size = 16,
           vit_patch = 0;
static const char *vit_data = "shapes", *vit_out = "vit.safetensors",
                  *vit_model = "vit.safetensors", *vit_attention = NULL;

static const option vit_train_options[] = {
    {"--data", OPTION_STRING, &vit_data, 0, 0,
     "shapes (default) or digits (needs python3-sklearn's digits.csv.gz)"},
    {"--digits", OPTION_STRING, &digits_path, 0, 0,
     "where digits.csv.gz is, if not where Debian puts it"},
    {"--size", OPTION_INT, &vit_size, 8, 256, "the side of a shape image"},
    {"--patch", OPTION_INT, &vit_patch, 0, 256,
     "the side of a patch (default: 4 for shapes, 2 for digits)"},
    {"--steps", OPTION_INT, &vit_steps, 1, 100000000, "training steps"},
    {"--batch", OPTION_INT, &vit_batch, 1, 4096, "images per step"},
    {"--layers", OPTION_INT, &vit_layers, 1, 64, "blocks"},
    {"--heads", OPTION_INT, &vit_heads, 1, 64, "attention heads"},
    {"--width", OPTION_INT, &vit_width, 1, 4096, "the model width C"},
    {"--seed", OPTION_INT, &vit_seed, 0, 1000000000, "the seed"},
    {"--eval-every", OPTION_INT, &vit_every, 1, 100000000,
     "steps between test accuracies"},
    {"--out", OPTION_STRING, &vit_out, 0, 0,
     "the checkpoint to write (default: vit.safetensors)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
static int vit_images(const char *data, int size, image_set *train,
                      image_set *test, tp_error *error)
{
    if (strcmp(data, "shapes") == 0) {
        make_shapes(train, 10000, size, 1);
        make_shapes(test, 1000, size, 2);
        return 0;
    }
    if (strcmp(data, "digits") != 0)
        return tp_error_set(error, "--data must be shapes or digits, not '%s'",
                            data);
    image_set all;
    if (load_digits(&all, error) != 0)
        return -1;
    split_digits(&all, train, test);
    image_set_free(&all);
    return 0;
}
/* <<tp: commands>> */
static int vit_accuracy(tp_vit *m, const image_set *test, int *predicted)
{
    tp_arena *arena = tp_arena_new("evaluation");
    int right = 0, size = test->size;
    for (int start = 0; start < test->count; start += 100) {
        int n = test->count - start < 100 ? test->count - start : 100;
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_tensor *logits = tp_vit_forward(
            &g, m, test->pixels + (long)start * size * size, n, NULL);
        int k = m->config.n_classes;
        for (int i = 0; i < n; i++) {
            int best = argmax(logits->data + i * k, k);
            right += best == test->labels[start + i];
            if (predicted != NULL)
                predicted[start + i] = best;
        }
        tp_arena_reset(arena);
    }
    tp_arena_free(arena);
    return right;
}
/* <<tp: commands>> */
typedef struct vit_run {
    tp_vit *m;
    image_set train, test;
    tp_rng rng;
    float *images;
    int *labels;
    display shown;
} vit_run;

static tp_tensor *vit_train_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    vit_run *r = context;
    long pixels = (long)r->train.size * r->train.size;
    for (int b = 0; b < vit_batch; b++) {
        int i = (int)tp_rng_below(&r->rng, (uint32_t)r->train.count);
        memcpy(r->images + b * pixels, r->train.pixels + i * pixels,
               (size_t)pixels * sizeof(float));
        r->labels[b] = r->train.labels[i];
    }
    return tp_vit_loss(g, r->m, r->images, r->labels, vit_batch);
}

static bool vit_progress(const tp_progress *p, void *context)
{
    vit_run *r = context;
    bool going = show_progress(p, &r->shown);
    if ((p->step + 1) % vit_every == 0 || p->step + 1 == p->steps) {
        int right = vit_accuracy(r->m, &r->test, NULL);
        printf("step %ld: test accuracy %.1f%% (%d of %d)\n", p->step + 1,
               100.0 * right / r->test.count, right, r->test.count);
        fflush(stdout);
    }
    return going;
}
/* <<tp: commands>> */
static int vit_train_on(vit_run *r);

static int vit_train(void)
{
    tp_error error;
    vit_run r = {.shown = {.terminal = isatty(STDERR_FILENO)}};
    bool digits = strcmp(vit_data, "digits") == 0;
    int patch = vit_patch > 0 ? vit_patch : digits ? 2 : 4;
    if (vit_images(vit_data, vit_size, &r.train, &r.test, &error) != 0) {
        fprintf(stderr, "tp vit train: %s\n", error.message);
        return 1;
    }
    int status = 2;
    if (vit_width % vit_heads != 0 || patch > r.train.size)
        fprintf(stderr, "tp vit train: --heads %d must divide --width %d, and "
                "--patch %d fit in images of %d\n", vit_heads, vit_width,
                patch, r.train.size);
    else {
        r.m = tp_vit_new((tp_vit_config){r.train.size, patch,
                                         r.train.classes, vit_layers,
                                         vit_heads, vit_width});
        status = vit_train_on(&r);
        tp_vit_free(r.m);
    }
    image_set_free(&r.train), image_set_free(&r.test);
    return status;
}
/* <<tp: commands>> */
static int vit_train_on(vit_run *r)
{
    tp_error error;
    r->rng = tp_rng_seeded((uint64_t)vit_seed, 1);
    tp_vit_init(r->m, &r->rng);
    printf("ViT on %s: %ld parameters, %d patches of %d pixels\n", vit_data,
           tp_params_count(&r->m->params),
           tp_patch_count(r->train.size, r->m->config.patch_size),
           r->m->config.patch_size * r->m->config.patch_size);
    r->images = malloc((size_t)vit_batch * r->train.size * r->train.size
                       * sizeof(float));
    r->labels = malloc((size_t)vit_batch * sizeof(int));
    tp_check(r->images != NULL && r->labels != NULL, "out of memory");
    tp_optimizer *opt = tp_optimizer_new(&r->m->params, (tp_optimizer_config){
        .kind = TP_ADAMW, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
        .weight_decay = 0.05f});
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    int tokens = 1 + tp_patch_count(r->train.size, r->m->config.patch_size);
    tp_train_options o = {.steps = vit_steps, .warmup = vit_steps / 10 + 1,
                          .max_lr = 1e-3f, .min_lr = 1e-5f, .clip = 1.0,
                          .tokens_per_step = (long)vit_batch * tokens,
                          .progress = vit_progress, .progress_context = r};
    catch_interrupts();
    int status = tp_train(&g, &r->m->params, opt, &o, vit_train_loss, r,
                          NULL, &error);
    /* <<vit train: save and report>> */
    if (status == 0)
        status = tp_vit_save(r->m, vit_out, &error);
    if (status != 0)
        fprintf(stderr, "tp vit train: %s\n", error.message);
    else
        printf("%s; saved %s\n", interrupted ? "interrupted" : "done", vit_out);
    free(r->images), free(r->labels);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    return status == 0 ? 0 : 1;
}
/* <<tp: commands>> */
static const option vit_eval_options[] = {
    {"--model", OPTION_STRING, &vit_model, 0, 0,
     "the checkpoint (default: vit.safetensors)"},
    {"--digits", OPTION_STRING, &digits_path, 0, 0,
     "where digits.csv.gz is, if not where Debian puts it"},
    {"--attention", OPTION_STRING, &vit_attention, 0, 0,
     "write the CLS attention of four test images to this table"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static int write_cls_attention(tp_vit *m, const image_set *test,
                               const int *predicted);
/* <<tp: commands>> */
static int vit_eval(void)
{
    tp_error error;
    tp_vit *m = tp_vit_load(vit_model, &error);
    image_set train, test;
    const char *data = m != NULL && m->config.image_size == 8 ? "digits"
                                                              : "shapes";
    if (m == NULL || vit_images(data, m->config.image_size, &train, &test,
                                &error) != 0) {
        fprintf(stderr, "tp vit eval: %s\n", error.message);
        tp_vit_free(m);
        return 1;
    }
    int *predicted = malloc((size_t)test.count * sizeof *predicted);
    tp_check(predicted != NULL, "out of memory");
    int right = vit_accuracy(m, &test, predicted);
    printf("test accuracy on %s: %.1f%% (%d of %d)\n", data,
           100.0 * right / test.count, right, test.count);
    int status = vit_attention != NULL
                     ? write_cls_attention(m, &test, predicted) : 0;
    free(predicted);
    image_set_free(&train), image_set_free(&test);
    tp_vit_free(m);
    return status;
}
/* <<tp: commands>> */
static int write_cls_attention(tp_vit *m, const image_set *test,
                               const int *predicted)
{
    int size = test->size, n = tp_patch_count(size, m->config.patch_size);
    tp_arena *arena = tp_arena_new("attention");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor **weights = tp_arena_zeroed(arena, (size_t)m->config.n_layer,
                                          sizeof *weights);
    tp_vit_forward(&g, m, test->pixels, 4, weights);
    const tp_tensor *w = weights[m->config.n_layer - 1];  /* [4, H, 1+N, 1+N] */
    FILE *f = fopen(vit_attention, "w");
    for (int k = 0; f != NULL && k < 4; k++) {
        /* <<vit attention: write one image and its weights>> */
        bool shapes = test->classes == TP_SHAPE_CLASSES;
        if (k == 0)
            fprintf(f, "# written by: tp vit eval --model %s --attention %s\n"
                    "row\tvalues\n", vit_model, vit_attention);
        fprintf(f, "# image %d: %s, predicted %s\n", k,
                shapes ? tp_shape_class_name(test->labels[k]) : "",
                shapes ? tp_shape_class_name(predicted[k]) : "");
        for (int y = 0; y < size; y++) {
            fprintf(f, "%d.pixels", k);
            for (int x = 0; x < size; x++)
                fprintf(f, "\t%.3f", test->pixels[((long)k * size + y) * size + x]);
            fprintf(f, "\n");
        }
        fprintf(f, "%d.cls", k);
        for (int j = 1; j <= n; j++) {
            double mean = 0;
            for (int h = 0; h < m->config.n_head; h++)
                mean += *tp_at4(w, k, h, 0, j) / m->config.n_head;
            fprintf(f, "\t%.5f", mean);
        }
        fprintf(f, "\n");
    }
    tp_arena_free(arena);
    if (f == NULL || fclose(f) != 0) {
        fprintf(stderr, "tp vit eval: cannot write %s\n", vit_attention);
        return 1;
    }
    return 0;
}
/* <<tp: commands>> */
static int scaling_max = 16384, scaling_rank = 256;
static const char *scaling_tsv = NULL;

static const option bench_attention_options[] = {
    {"--threads", OPTION_INT, &bench_threads, 1, 1024,
     "the most threads (default: all cores); also measured on one"},
    {"--max", OPTION_INT, &scaling_max, 256, 65536,
     "the longest sequence; lengths double from 256 (default: 16384)"},
    {"--rank", OPTION_INT, &scaling_rank, 1, 65536,
     "the Linformer's rank r (default: 256)"},
    {"--tsv", OPTION_STRING, &scaling_tsv, 0, 0,
     "also write the results as a table, for the figures"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
enum { NAIVE, TILED, LINEAR, LINFORMER, METHODS };
static const char *const method_names[METHODS] = {"naive", "tiled", "linear",
                                                  "linformer"};

static tp_tensor *attention_by(int method, tp_graph *g, tp_tensor *const in[5])
{
    return method == NAIVE    ? tp_attention(g, in[0], in[1], in[2], NULL)
           : method == TILED  ? tp_attention_tiled(g, in[0], in[1], in[2], NULL)
           : method == LINEAR ? tp_linear_attention(g, in[0], in[1], in[2], NULL)
                              : tp_linformer(g, in[0], in[1], in[2], in[3], in[4]);
}
/* <<tp: commands>> */
static tp_tensor *jl_projection(tp_arena *arena, int t, int r, tp_rng *rng,
                                tp_grad_mode grad)
{
    tp_tensor *e = tp_tensor_normal(arena, tp_shape2(t, r), grad, rng);
    float deviation = 1.0f / sqrtf((float)r);
    for (long i = 0, n = tp_tensor_count(e); i < n; i++)
        e->data[i] *= deviation;
    return e;
}
/* <<tp: commands>> */
typedef struct scaling_case {
    int method;
    bool training;
    tp_tensor *in[5], *seed;  /* q, k, v, and the Linformer's e and f */
    tp_arena *step;
} scaling_case;

static void scaling_step(void *context)
{
    scaling_case *c = context;
    tp_arena_reset(c->step);
    tp_graph g = tp_graph_on(c->step);
    tp_set_grad(&g, c->training);
    tp_tensor *out = attention_by(c->method, &g, c->in);
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
    int n = c->in[0]->shape.dim[2], runs = n <= 1024 ? 10 : n <= 4096 ? 3 : 1;
    return (scaling_result){tp_time(scaling_step, c, runs).median * 1e3, mib};
}
/* <<tp: commands>> */
enum { MAX_LENGTHS = 16, SETTINGS = 2 };

typedef struct scaling_row {
    int n, threads;
    scaling_result forward, training;
} scaling_row;

typedef scaling_row scaling_rows[SETTINGS][METHODS];

static int measure_all(scaling_rows rows[], const int threads[SETTINGS],
                       tp_arena *inputs)
{
    tp_rng rng = tp_rng_seeded(3, 3);
    int lengths = 0;
    for (int n = 256; n <= scaling_max && lengths < MAX_LENGTHS; n *= 2) {
        scaling_case c = {.step = tp_arena_new("attention step")};
        tp_arena_reset(inputs);
        for (int i = 0; i < 3; i++)
            c.in[i] = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64),
                                       TP_WITH_GRAD, &rng);
        c.in[3] = jl_projection(inputs, n, scaling_rank, &rng, TP_WITH_GRAD);
        c.in[4] = jl_projection(inputs, n, scaling_rank, &rng, TP_WITH_GRAD);
        c.seed = tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_NO_GRAD, &rng);
        /* <<bench attention: measure every method at this length>> */
        for (int t = 0; t < SETTINGS; t++) {
            tp_set_threads(threads[t]);
            for (c.method = 0; c.method < METHODS; c.method++) {
                scaling_row *r = &rows[lengths][t][c.method];
                r->n = n, r->threads = threads[t];
                c.training = false, r->forward = measure_scaling(&c);
                c.training = true, r->training = measure_scaling(&c);
                printf("%6d %3d  %-9s %11.2f %9.1f %13.2f %9.1f\n", n, threads[t],
                       method_names[c.method], r->forward.ms, r->forward.mib,
                       r->training.ms, r->training.mib);
                fflush(stdout);
            }
        }
        tp_set_threads(threads[SETTINGS - 1]);
        tp_arena_free(c.step);
        lengths++;
    }
    return lengths;
}
/* <<tp: commands>> */
static double exponent_of(scaling_rows rows[], int lengths, int setting,
                          int method, bool memory)
{
    double x[MAX_LENGTHS], y[MAX_LENGTHS], coefficient;
    int n = 0;
    for (int i = 0; i < lengths; i++) {
        const scaling_row *r = &rows[i][setting][method];
        if (r->n >= 1024) {
            x[n] = r->n;
            y[n++] = memory ? r->training.mib : r->training.ms;
        }
    }
    return n >= 2 ? tp_power_fit(x, y, n, &coefficient) : NAN;
}
/* <<tp: commands>> */
static void print_scaling_summary(scaling_rows rows[], int lengths,
                                  const int threads[SETTINGS])
{
    printf("# training step, fitted over T >= 1024: time ~ T^a, memory ~ T^b\n");
    for (int t = 0; t < SETTINGS; t++)
        for (int m = 0; m < METHODS; m++)
            printf("#   %-9s %2d thread(s)  a = %.2f   b = %.2f\n",
                   method_names[m], threads[t],
                   exponent_of(rows, lengths, t, m, false),
                   exponent_of(rows, lengths, t, m, true));
    printf("# tiled / naive, training time:     T   %d thread(s)  %d thread(s)"
           "   naive memory x\n", threads[0], threads[1]);
    for (int i = 0; i < lengths; i++)
        printf("#                              %6d %12.2f %12.2f %12.2f\n",
               rows[i][0][NAIVE].n,
               rows[i][0][TILED].training.ms / rows[i][0][NAIVE].training.ms,
               rows[i][1][TILED].training.ms / rows[i][1][NAIVE].training.ms,
               i == 0 ? NAN : rows[i][0][NAIVE].training.mib
                                  / rows[i - 1][0][NAIVE].training.mib);
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
static double norm_of(const float *x, long n)
{
    double total = 0.0;
    for (long i = 0; i < n; i++)
        total += (double)x[i] * x[i];
    return sqrt(total);
}

static double theorem_error(const tp_tensor *a, const tp_tensor *exact,
                            const tp_tensor *p, const tp_tensor *v)
{
    int t = exact->shape.dim[2], dv = exact->shape.dim[3];
    double v_norm = norm_of(v->data, tp_tensor_count(v)), total = 0.0;
    for (int i = 0; i < t; i++) {
        double diff = 0.0;
        for (int e = 0; e < dv; e++)
            diff += pow((double)a->data[i * dv + e] - exact->data[i * dv + e], 2);
        total += sqrt(diff) / (norm_of(p->data + (long)i * t, t) * v_norm);
    }
    return total / t;
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
    tp_tensor *p;
    tp_tensor *exact = tp_attention(&g, q, k, v,
                                    &(tp_attention_options){.weights = &p});
    printf("# error against exact attention at T = 1024 (relative, all outputs)\n");
    printf("#   tiled                %.1e\n", relative_error(
               tp_attention_tiled(&g, q, k, v, NULL), exact));
    printf("#   linear (elu+1)       %.3f\n", relative_error(
               tp_linear_attention(&g, q, k, v, NULL), exact));
    printf("#   linear (ReLU)        %.3f\n", relative_error(
               tp_linear_attention_relu(&g, q, k, v, NULL), exact));
    /* <<bench attention: the Linformer's error at several ranks>> */
    printf("#   Linformer     r   relative   Theorem 2's measure\n");
    for (int r = 16; r <= 1024; r *= 4) {
        tp_tensor *e = jl_projection(arena, 1024, r, &rng, TP_NO_GRAD);
        tp_tensor *f = jl_projection(arena, 1024, r, &rng, TP_NO_GRAD);
        tp_tensor *o = tp_linformer(&g, q, k, v, e, f);
        printf("#   Linformer %5d %10.3f %12.3f\n", r, relative_error(o, exact),
               theorem_error(o, exact, p, v));
    }
}
/* <<tp: commands>> */
static int write_scaling_table(scaling_rows rows[], int lengths)
{
    FILE *f = fopen(scaling_tsv, "w");
    if (f == NULL) {
        perror(scaling_tsv);
        return 1;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp bench attention --tsv %s\n", scaling_tsv);
    fprintf(f, "method\tn\tthreads\tforward_ms\tforward_mib\ttraining_ms\t"
            "training_mib\n");
    for (int i = 0; i < lengths; i++)
        for (int t = 0; t < SETTINGS; t++)
            for (int m = 0; m < METHODS; m++) {
                const scaling_row *r = &rows[i][t][m];
                fprintf(f, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\n",
                        method_names[m], r->n, r->threads, r->forward.ms,
                        r->forward.mib, r->training.ms, r->training.mib);
            }
    return fclose(f) == 0 ? 0 : 1;
}
/* <<tp: commands>> */
static int bench_attention(void)
{
    if (bench_threads > 0)
        tp_set_threads(bench_threads);
    int threads[SETTINGS] = {1, tp_threads()};
    tp_describe_machine(stdout);
    printf("# one head of width 64; milliseconds (median) and MiB (peak)\n");
    printf("%6s %3s  %-9s %11s %9s %13s %9s\n", "T", "thr", "method",
           "forward ms", "MiB", "training ms", "MiB");
    static scaling_rows rows[MAX_LENGTHS];
    tp_arena *inputs = tp_arena_new("attention inputs");
    int lengths = measure_all(rows, threads, inputs);
    print_scaling_summary(rows, lengths, threads);
    tp_arena_reset(inputs);
    print_errors(inputs);
    tp_arena_free(inputs);
    return scaling_tsv ? write_scaling_table(rows, lengths) : 0;
}
/* <<tp: commands>> */
static int quadratic_steps = 60, quadratic_context = 1024,
           quadratic_batch = 2, quadratic_width = 64, quadratic_layers = 2,
           quadratic_heads = 4, quadratic_eval = 15;
static const char *quadratic_tsv = NULL;

static const option quadratic_compare_options[] = {
    {"--steps", OPTION_INT, &quadratic_steps, 1, 1000000, "training steps"},
    {"--context", OPTION_INT, &quadratic_context, 8, 65536,
     "tokens per sequence T"},
    {"--batch", OPTION_INT, &quadratic_batch, 1, 4096, "sequences per step"},
    {"--width", OPTION_INT, &quadratic_width, 4, 65536, "the model width C"},
    {"--layers", OPTION_INT, &quadratic_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &quadratic_heads, 1, 256, "attention heads"},
    {"--eval-every", OPTION_INT, &quadratic_eval, 1, 1000000,
     "steps between validation losses"},
    {"--tsv", OPTION_STRING, &quadratic_tsv, 0, 0,
     "also write the curves as a table, for the figure"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp: commands>> */
enum { QUADRATIC_METHODS = 3 };
static const char *const quadratic_names[QUADRATIC_METHODS] = {
    "exact", "tiled", "linear"};
static tp_attention_op *const quadratic_ops[QUADRATIC_METHODS] = {
    NULL, tp_attention_tiled, tp_linear_attention};

typedef struct quadratic_run {
    int method;
    tp_gpt *m;
    const int *tokens;
    long train, total;
    tp_rng rng;
    int *inputs, *targets;
    double evaluating;  /* seconds spent on validation so far */
    FILE *tsv;
} quadratic_run;
/* <<tp: commands>> */
static tp_tensor *quadratic_batch_loss(tp_graph *g, quadratic_run *r,
                                       const int *tokens, long n)
{
    tp_random_windows(tokens, n, quadratic_batch, quadratic_context, &r->rng,
                      r->inputs, r->targets);
    return tp_gpt_loss(g, r->m, r->inputs, r->targets, quadratic_batch,
                       quadratic_context);
}

static tp_tensor *quadratic_train_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    quadratic_run *r = context;
    return quadratic_batch_loss(g, r, r->tokens, r->train);
}
/* <<tp: commands>> */
static double quadratic_validation(quadratic_run *r)
{
    tp_arena *arena = tp_arena_new("validation");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng saved = r->rng;
    r->rng = tp_rng_seeded(12345, 1);
    double total = 0;
    for (int i = 0; i < 2; i++) {
        total += quadratic_batch_loss(&g, r, r->tokens + r->train,
                                      r->total - r->train)->data[0];
        tp_graph_reset(&g);
    }
    r->rng = saved;
    tp_arena_free(arena);
    return total / 2;
}
/* <<tp: commands>> */
static bool quadratic_progress(const tp_progress *p, void *context)
{
    quadratic_run *r = context;
    if ((p->step + 1) % quadratic_eval != 0 && p->step + 1 != p->steps)
        return true;
    double start = tp_seconds(), validation = quadratic_validation(r);
    double seconds = p->seconds - r->evaluating;
    r->evaluating += tp_seconds() - start;
    printf("%-7s step %4ld  train %.3f  validation %.3f  %7.1f s\n",
           quadratic_names[r->method], p->step + 1, (double)p->loss,
           validation, seconds);
    fflush(stdout);
    if (r->tsv != NULL)
        fprintf(r->tsv, "%s\t%ld\t%.4f\t%.4f\t%.2f\n",
                quadratic_names[r->method], p->step + 1, (double)p->loss,
                validation, seconds);
    return true;
}
/* <<tp: commands>> */
static double quadratic_train(quadratic_run *r, tp_error *error)
{
    r->m = tp_gpt_new((tp_gpt_config){256, quadratic_context,
                                      quadratic_layers, quadratic_heads,
                                      quadratic_width});
    r->m->attention = quadratic_ops[r->method];
    tp_rng init = tp_rng_seeded(1, 1);
    tp_gpt_init(r->m, &init);
    r->rng = tp_rng_seeded(1, 2);
    r->evaluating = 0.0;
    tp_optimizer *opt = tp_optimizer_new(&r->m->params, (tp_optimizer_config){
        .kind = TP_ADAMW, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
        .weight_decay = 0.1f});
    /* <<quadratic compare: train and measure the peak>> */
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = quadratic_steps, .warmup = quadratic_steps / 10,
                          .max_lr = 1e-3f, .min_lr = 1e-4f, .clip = 1.0,
                          .tokens_per_step = (long)quadratic_batch * quadratic_context,
                          .progress = quadratic_progress, .progress_context = r};
    int status = tp_train(&g, &r->m->params, opt, &o, quadratic_train_loss, r,
                          NULL, error);
    double mib = status == 0 ? (double)tp_arena_peak(step) / (1 << 20) : -1.0;
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_gpt_free(r->m);
    return mib;
}
/* <<tp: commands>> */
static int quadratic_compare(void)
{
    tp_corpus corpus = tp_corpus_book(), train, validation;
    tp_corpus_split(&corpus, &train, &validation);
    int *tokens = malloc((size_t)corpus.size * sizeof *tokens);
    int *inputs = malloc(2 * (size_t)quadratic_batch * quadratic_context
                         * sizeof *inputs);
    tp_check(tokens != NULL && inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, tokens);
    quadratic_run r = {.tokens = tokens, .train = train.size,
                       .total = corpus.size, .inputs = inputs,
                       .targets = inputs + quadratic_batch * quadratic_context};
    /* <<quadratic compare: open the table>> */
    tp_describe_machine(stdout);
    printf("# GPT: %d layers, width %d, %d heads; context %d, batch %d, %d steps\n",
           quadratic_layers, quadratic_width, quadratic_heads, quadratic_context,
           quadratic_batch, quadratic_steps);
    if (quadratic_tsv != NULL && (r.tsv = fopen(quadratic_tsv, "w")) != NULL) {
        tp_describe_machine(r.tsv);
        fprintf(r.tsv, "# written by: tp quadratic compare --tsv %s\n# GPT: %d "
                "layers, width %d, %d heads; context %d, batch %d, %d steps\n"
                "method\tstep\ttrain_loss\tvalidation_loss\tseconds\n",
                quadratic_tsv, quadratic_layers, quadratic_width, quadratic_heads,
                quadratic_context, quadratic_batch, quadratic_steps);
    }
    /* <<quadratic compare: run every method>> */
    int status = 0;
    double peak[QUADRATIC_METHODS];
    for (r.method = 0; r.method < QUADRATIC_METHODS && status == 0; r.method++) {
        tp_error error;
        peak[r.method] = quadratic_train(&r, &error);
        if (peak[r.method] < 0) {
            fprintf(stderr, "tp quadratic compare: %s\n", error.message);
            status = 1;
        }
    }
    for (int m = 0; m < QUADRATIC_METHODS && status == 0; m++) {
        printf("# peak %s %.1f MiB\n", quadratic_names[m], peak[m]);
        if (r.tsv != NULL)
            fprintf(r.tsv, "# peak %s %.1f MiB\n", quadratic_names[m], peak[m]);
    }
    if (r.tsv != NULL && fclose(r.tsv) != 0)
        status = 1;
    free(tokens), free(inputs);
    return status;
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
    {"bench cuda", "check and time the CUDA kernels against their references",
     bench_cuda_options, bench_cuda, "[OPERATION...]"},
    /* <<tp: command table>> */
    {"translate train", "train the vanilla Transformer to write numbers in "
     "English", translate_train_options, translate_train, NULL},
    {"translate run", "write numbers in English with a trained model",
     translate_run_options, translate_run_command, "NUMBER..."},
    /* <<tp: command table>> */
    {"bert pretrain", "pre-train BERT on the book by masked language modelling",
     bert_pretrain_options, bert_pretrain, NULL},
    {"bert fill", "the likeliest words for each [MASK] in a text",
     bert_fill_options, bert_fill, "TEXT..."},
    /* <<tp: command table>> */
    {"bert finetune", "fine-tune BERT to tell prose lines from code lines",
     bert_finetune_options, bert_finetune, NULL},
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
    {"vit train", "train a Vision Transformer on shapes or digits",
     vit_train_options, vit_train, NULL},
    {"vit eval", "test accuracy and CLS attention of a trained ViT",
     vit_eval_options, vit_eval, NULL},
    /* <<tp: command table>> */
    {"bench attention", "time and memory of naive, tiled, linear attention and "
     "Linformer, on one thread and all", bench_attention_options,
     bench_attention, NULL},
    /* <<tp: command table>> */
    {"quadratic compare", "train GPT with exact, tiled and linear attention at a "
     "long context: loss, time, memory", quadratic_compare_options,
     quadratic_compare, NULL},
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
