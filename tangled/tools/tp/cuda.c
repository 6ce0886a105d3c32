/* Generated from book/190-cuda.nw; edit the book, not this file. */
#include "program.h"

/* <<tp cuda: commands>> */
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
/* <<tp cuda: commands>> */
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
/* <<tp cuda: commands>> */
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
/* <<tp cuda: commands>> */
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
/* <<tp cuda: commands>> */
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

/* <<tp cuda: figures>> */
static void gpu_mark(tp_plot *p, double intensity, double peak,
                     double bandwidth, tp_color color, const char *label)
{
    double y = fmin(peak, intensity * bandwidth) / 1e12;
    bool on_the_flat = intensity * bandwidth > peak;  /* label above, left */
    tp_plot_line(p, &intensity, &y, 1, color, false, true);
    cairo_set_source_rgb(p->d->cr, 0.2, 0.2, 0.2);
    tp_text(p->d, tp_plot_x(p, intensity) + (on_the_flat ? -5 : 5),
            tp_plot_y(p, y) + (on_the_flat ? -3 : 3), on_the_flat ? 1 : 0,
            on_the_flat ? 1 : 0, 7, label);
}
/* <<tp cuda: figures>> */
static int draw_gpu_roofline(tp_draw *d, tp_error *error)
{
    (void)error;
    tp_gpu h100 = tp_gpu_h100_sxm();
    double fp32 = tp_gpu_fp32_peak(&h100), bf16 = tp_gpu_bf16_peak(&h100);
    double bandwidth = tp_gpu_bandwidth(&h100), n = 4096;
    tp_plot p = {d, 52, 12, 330, 160,
                 {.lo = 0.1, .hi = 10000, .log = true,
                  .label = "operations per byte of device memory"},
                 {.lo = 0.1, .hi = 3000, .log = true, .label = "TFLOP/s"}};
    tp_plot_frame(&p);
    plot_roof(&p, bf16, bandwidth, 1e12, tp_category(5), false);
    plot_roof(&p, fp32, bandwidth, 1e12, tp_category(4), false);
    /* <<gpu roofline figure: the operations>> */
    gpu_mark(&p, 2 * n * n * n / (3 * 4 * n * n), fp32, bandwidth,
             tp_category(4), "FP32 product, 4096\xc2\xb3");
    gpu_mark(&p, 2 * n * n * n / (2 * 2 * n * n + 4 * n * n), bf16, bandwidth,
             tp_category(5), "bfloat16 product, 4096\xc2\xb3");
    gpu_mark(&p, 5.0 / 8, fp32, bandwidth, tp_category(2), "softmax");
    gpu_mark(&p, 20.0 / 8, fp32, bandwidth, tp_category(2), "bias + GELU");
    /* <<gpu roofline figure: the legend>> */
    char fp32_label[64], bf16_label[64], memory[64];
    snprintf(bf16_label, sizeof bf16_label, "bfloat16 tensor cores, %.0f TFLOP/s",
             bf16 / 1e12);
    snprintf(fp32_label, sizeof fp32_label, "FP32, %.0f TFLOP/s", fp32 / 1e12);
    snprintf(memory, sizeof memory, "slopes: memory at %.2f TB/s",
             bandwidth / 1e12);
    tp_legend_entry legend[] = {{bf16_label, tp_category(5), false},
                                {fp32_label, tp_category(4), false},
                                {memory, tp_category(7), false}};
    tp_plot_legend(&p, legend, 3, TP_BOTTOM_RIGHT);
    return 0;
}

static const command cuda_commands[] = {
    /* <<tp cuda: command table>> */
    {"bench cuda", "check and time the CUDA kernels against their references",
     bench_cuda_options, bench_cuda, "[OPERATION...]"},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure cuda_figures[] = {
    /* <<tp cuda: figure table>> */
    {"gpu-roofline", "the roofline of an H100 SXM, from its properties", 420,
     205, draw_gpu_roofline},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part cuda_part = {cuda_commands, cuda_figures};
