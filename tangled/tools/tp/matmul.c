/* Generated from book/130-matmul.nw; edit the book, not this file. */
#include <cblas.h>

#include "program.h"

/* <<tp matmul: commands>> */

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
/* <<tp matmul: commands>> */

static tp_tensor *bench_operand(tp_arena *arena, tp_rng *rng, int batch,
                                int rows, int cols, bool transposed)
{
    tp_shape stored = transposed ? tp_shape3(batch, cols, rows)
                                 : tp_shape3(batch, rows, cols);
    tp_tensor *t = tp_tensor_normal(arena, stored, TP_NO_GRAD, rng);
    return transposed ? tp_transpose(arena, t, 1, 2) : t;
}
/* <<tp matmul: commands>> */
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
/* <<tp matmul: commands>> */
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
/* <<tp matmul: commands>> */
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
/* <<tp matmul: commands>> */
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
/* <<tp matmul: commands>> */
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
/* <<tp matmul: commands>> */
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
/* <<tp matmul: commands>> */
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
/* <<tp matmul: commands>> */
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
/* <<tp matmul: commands>> */
void make_step_work(step_work *w, tp_arena *arena, const gpt_config *g)
{
    gemm_case list[MAX_PRODUCTS];
    w->n = step_products(g, list);
    w->gflop = 0;
    for (int i = 0; i < w->n; i++) {
        w->products[i] = make_operands(arena, &list[i]);
        w->gflop += case_gflop(&list[i]);
    }
}

void run_step(void *context)
{
    step_work *w = context;
    for (int i = 0; i < w->n; i++)
        tp_gemm(w->products[i].out, w->products[i].a, w->products[i].b, 1.0f,
                0.0f);
}
/* <<tp matmul: commands>> */
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
/* <<tp matmul: commands>> */
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
    tp_arena *arena = tp_arena_new("gemm floor");
    make_step_work(&work, arena, g);
    /* <<gemm floor: time the step and print the floor>> */
    double seconds = tp_time(run_step, &work, bench_repeat).median;
    printf("# GPT: batch %d, context %d, width %d, %d layers, %d heads, "
           "vocabulary %d\n", g->batch, g->context, g->width, g->layers,
           g->heads, g->vocab);
    printf("products per step   %d\n", work.n);
    printf("GFLOP per step      %.2f\n", work.gflop);
    printf("floor ms per step   %.1f\n", seconds * 1e3);
    printf("GFLOP/s             %.1f\n", work.gflop / seconds);
    printf("floor tokens/s      %.0f\n", g->batch * g->context / seconds);
    tp_arena_free(arena);
    return 0;
}

/* <<tp matmul: figures>> */
void plot_roof(tp_plot *p, double peak, double bandwidth, double unit,
               tp_color color, bool dashed)
{
    double lo = log10(p->ax.lo), hi = log10(p->ax.hi), x[64], y[64];
    for (int i = 0; i < 64; i++) {
        x[i] = pow(10.0, lo + (hi - lo) * i / 63);
        y[i] = fmin(peak, x[i] * bandwidth) / unit;
    }
    tp_plot_line(p, x, y, 64, color, dashed, false);
}
/* <<tp matmul: figures>> */
static int draw_matmul_roofline(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    if (read_table("figures/data/matmul.tsv", t, error) != 0) {
        free(t);
        return -1;
    }
    double peak = t->value[0][3], bandwidth = t->value[0][4];
    tp_plot p = {d, 52, 12, 300, 170,
                 {.lo = 1, .hi = 1000, .log = true, .label = "FLOP per byte"},
                 {.lo = 10, .hi = 1000, .log = true, .label = "GFLOP/s"}};
    tp_plot_frame(&p);
    plot_roof(&p, peak, bandwidth, 1, tp_category(7), true);
    /* <<matmul figure: the measured products>> */
    for (int r = 0; r < t->rows; r++) {
        int kind = t->value[r][0] > 1 ? 1 : strncmp(t->label[r], "square", 6) == 0
                                                ? 2 : 0;
        double x = t->value[r][1], y = t->value[r][2];
        tp_plot_line(&p, &x, &y, 1, tp_category(kind == 0 ? 4 : kind == 1 ? 5 : 2),
                     false, true);
    }
    char roof[96];
    snprintf(roof, sizeof roof, "roofline: %.0f GFLOP/s, %.0f GB/s", peak,
             bandwidth);
    tp_legend_entry legend[] = {{roof, tp_category(7), true},
                                {"linear layers", tp_category(4), false},
                                {"attention, per head", tp_category(5), false},
                                {"squares", tp_category(2), false}};
    tp_plot_legend(&p, legend, 4, TP_BOTTOM_RIGHT);
    free(t);
    return 0;
}

static const command matmul_commands[] = {
    /* <<tp matmul: command table>> */
    {"bench matmul", "time matrix products: naive, OpenBLAS, tp_gemm",
     bench_matmul_options, bench_matmul, NULL},
    /* <<tp matmul: command table>> */
    {"bench gemm-floor", "time the matrix products of one GPT training step",
     gemm_floor_options, bench_gemm_floor, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure matmul_figures[] = {
    /* <<tp matmul: figure table>> */
    {"matmul-roofline", "the roofline of this machine, and the measured "
     "matrix products", 380, 220, draw_matmul_roofline},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part matmul_part = {matmul_commands, matmul_figures};
