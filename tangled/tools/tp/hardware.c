/* Generated from book/385-hardware.nw; edit the book, not this file. */
#include <time.h>

#include "program.h"

/* <<tp hardware: commands>> */
static int roof_rows = 4096, roof_cols = 1024, roof_size = 1024;
static int roof_repeat = 5, roof_threads = 0, roof_steps = 3;
static const char *roof_tsv = NULL, *roof_step_tsv = NULL;
static bool roof_no_step = false;

static const option hardware_roofline_options[] = {
    {"--rows", OPTION_INT, &roof_rows, 1, 1 << 20,
     "rows of the row operations (default: 4096)"},
    {"--cols", OPTION_INT, &roof_cols, 1, 1 << 16,
     "values per row (default: 1024)"},
    {"--size", OPTION_INT, &roof_size, 1, 8192,
     "n of the n x n product (default: 1024)"},
    {"--repeat", OPTION_INT, &roof_repeat, 1, 1000,
     "timed runs of each; the median is kept (default: 5)"},
    {"--steps", OPTION_INT, &roof_steps, 1, 1000,
     "timed GPT-T training steps (default: 3)"},
    {"--threads", OPTION_INT, &roof_threads, 1, 1024,
     "the most threads to measure (default: all cores)"},
    {"--no-step", OPTION_FLAG, &roof_no_step, 0, 0,
     "leave out the GPT-T step"},
    {"--tsv", OPTION_STRING, &roof_tsv, 0, 0, "write the operations' table"},
    {"--step-tsv", OPTION_STRING, &roof_step_tsv, 0, 0,
     "write the GPT-T step's table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp hardware: commands>> */
typedef enum { ROOF_PRODUCT, ROOF_SOFTMAX, ROOF_LAYERNORM, ROOF_GELU,
               ROOF_OPERATIONS } roof_operation;

static const char *const roof_names[] = {"matrix product", "softmax",
                                         "LayerNorm", "GELU"};
static const double roof_flops_per_element[] = {0, 5, 8, 20};

typedef struct roof_work {
    roof_operation op;
    tp_graph g;
    tp_tensor *a, *b, *c, *x, *gain, *bias;
} roof_work;

static void roof_run(void *context)
{
    roof_work *w = context;
    tp_graph_reset(&w->g);
    if (w->op == ROOF_PRODUCT)
        tp_gemm(w->c, w->a, w->b, 1.0f, 0.0f);
    else if (w->op == ROOF_SOFTMAX)
        tp_softmax(&w->g, w->x);
    else if (w->op == ROOF_LAYERNORM)
        tp_layernorm(&w->g, w->x, w->gain, w->bias, 1e-5f);
    else
        tp_gelu(&w->g, w->x);
}
/* <<tp hardware: commands>> */
static void roof_inputs(roof_work *w, tp_arena *inputs)
{
    tp_rng rng = tp_rng_seeded(1, 1);
    int n = roof_size;
    w->a = tp_tensor_new(inputs, tp_shape2(n, n), TP_NO_GRAD);
    w->b = tp_tensor_new(inputs, tp_shape2(n, n), TP_NO_GRAD);
    w->c = tp_tensor_new(inputs, tp_shape2(n, n), TP_NO_GRAD);
    w->x = tp_tensor_new(inputs, tp_shape2(roof_rows, roof_cols), TP_NO_GRAD);
    w->gain = tp_tensor_new(inputs, tp_shape1(roof_cols), TP_NO_GRAD);
    w->bias = tp_tensor_new(inputs, tp_shape1(roof_cols), TP_NO_GRAD);
    for (long i = 0; i < (long)n * n; i++)
        w->a->data[i] = tp_rng_normal(&rng), w->b->data[i] = tp_rng_normal(&rng);
    for (long i = 0; i < (long)roof_rows * roof_cols; i++)
        w->x->data[i] = tp_rng_normal(&rng);
    for (int i = 0; i < roof_cols; i++)
        w->gain->data[i] = 1, w->bias->data[i] = 0;
}
/* <<tp hardware: commands>> */
static void roof_measure(roof_work *w, int threads, double peak,
                         double bandwidth, FILE *tsv)
{
    double n = roof_size, elements = (double)roof_rows * roof_cols;
    for (int op = 0; op < ROOF_OPERATIONS; op++) {
        w->op = (roof_operation)op;
        double seconds = tp_time(roof_run, w, roof_repeat).median;
        double flops = op == ROOF_PRODUCT ? 2 * n * n * n
                                          : roof_flops_per_element[op] * elements;
        double bytes = op == ROOF_PRODUCT ? 12 * n * n : 8 * elements;
        printf("%-15s %7d %9.2f %9.3f %9.2f %8.1f %7.0f%%\n", roof_names[op],
               threads, flops / bytes, seconds * 1e3, flops / seconds / 1e9,
               bytes / seconds / 1e9,
               100 * flops / seconds / fmin(peak, flops / bytes * bandwidth));
        if (tsv != NULL)
            fprintf(tsv, "%s\t%d\t%.4f\t%.6g\t%.4f\t%.4f\t%.2f\t%.2f\n",
                    roof_names[op], threads, flops / bytes, seconds,
                    flops / seconds / 1e9, bytes / seconds / 1e9, peak / 1e9,
                    bandwidth / 1e9);
    }
}
/* <<tp hardware: commands>> */
typedef struct roof_step {
    tp_gpt *m;
    tp_graph g;
    int inputs[8 * 128], targets[8 * 128];
} roof_step;

static void roof_step_run(void *context)
{
    roof_step *s = context;
    tp_graph_reset(&s->g);
    tp_backward(&s->g, tp_gpt_loss(&s->g, s->m, s->inputs, s->targets, 8, 128));
    tp_zero_grad(&s->m->params);
}

static void roof_step_measure(roof_step *s, step_work *floor, int threads,
                              FILE *tsv)
{
    double step = tp_time(roof_step_run, s, roof_steps).median;
    double products = tp_time(run_step, floor, roof_steps).median;
    printf("GPT-T step      %7d  %8.1f ms; its products %8.1f ms: %.0f%% "
           "of the step outside them\n", threads, step * 1e3, products * 1e3,
           100 * (1 - products / step));
    if (tsv != NULL)
        fprintf(tsv, "%d\t%.6g\t%.6g\t%.4f\n", threads, step, products,
                1 - products / step);
}
/* <<tp hardware: commands>> */
static void roof_step_prepare(roof_step *s, step_work *floor, tp_arena *arena)
{
    tp_rng init = tp_rng_seeded(1, 1);
    s->m = tp_gpt_new(tp_gpt_t());
    tp_gpt_init(s->m, &init);
    s->g = tp_graph_on(tp_arena_new("hardware step"));
    tp_corpus book = tp_corpus_book();
    for (int i = 0; i < 8 * 128; i++) {
        long at = 1000 + i / 128 * 4096 + i % 128;
        s->inputs[i] = book.bytes[at], s->targets[i] = book.bytes[at + 1];
    }
    tp_gpt_config t = tp_gpt_t();
    gpt_config products = {8, 128, t.n_embd, t.n_layer, t.n_head,
                           t.vocab_size};
    make_step_work(floor, arena, &products);
}
/* <<tp hardware: commands>> */
static FILE *open_table(const char *path, const char *header)
{
    if (path == NULL)
        return NULL;
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "tp hardware roofline: cannot write %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    tp_describe_machine(f);
    fprintf(f, "%s\n", header);
    return f;
}

static int close_table(FILE *f, const char *path)
{
    if (f != NULL && fclose(f) != 0) {
        fprintf(stderr, "tp hardware roofline: cannot write %s\n", path);
        return 1;
    }
    return 0;
}
/* <<tp hardware: commands>> */
static int hardware_roofline(void)
{
    int most = roof_threads > 0 ? roof_threads : tp_threads();
    FILE *tsv = open_table(roof_tsv, "operation\tthreads\tflop_per_byte\t"
                           "seconds\tgflops\tgbs\tpeak_gflops\tbandwidth_gbs");
    FILE *steps = open_table(roof_step_tsv, "threads\tstep_seconds\t"
                             "products_seconds\toutside_share");
    if ((roof_tsv && !tsv) || (roof_step_tsv && !steps))
        return 1;
    tp_describe_machine(stdout);
    tp_arena *arena = tp_arena_new("hardware roofline");
    roof_work w = {.g = tp_graph_on(tp_arena_new("hardware runs"))};
    roof_inputs(&w, arena);
    static roof_step s;
    static step_work floor;
    if (!roof_no_step)
        roof_step_prepare(&s, &floor, arena);
    else
        s.g = tp_graph_on(tp_arena_new("hardware step"));
    /* <<hardware roofline: one thread, then all>> */
    for (int threads = 1;; threads = most) {
        tp_set_threads(threads);
        double peak = tp_peak_gflops() * 1e9, bandwidth = tp_copy_bandwidth() * 1e9;
        printf("\n%d thread%s: peak %.1f GFLOP/s, copy %.1f GB/s\n", threads,
               threads == 1 ? "" : "s", peak / 1e9, bandwidth / 1e9);
        printf("%-15s %7s %9s %9s %9s %8s %8s\n", "operation", "threads",
               "flop/byte", "ms", "GFLOP/s", "GB/s", "of roof");
        roof_measure(&w, threads, peak, bandwidth, tsv);
        if (!roof_no_step)
            roof_step_measure(&s, &floor, threads, steps);
        if (threads == most)
            break;
    }
    tp_arena_free(w.g.arena), tp_arena_free(s.g.arena), tp_arena_free(arena);
    if (s.m != NULL)
        tp_gpt_free(s.m);
    return close_table(tsv, roof_tsv) | close_table(steps, roof_step_tsv);
}
/* <<tp hardware: commands>> */
static const char *flash_contexts = "1024,4096", *flash_dims = "64,128";
static int flash_heads = 8, flash_cache = 32768, flash_repeat = 10;
static bool flash_list = false;
static const char *flash_tsv = NULL;

static const option bench_flash_options[] = {
    {"--contexts", OPTION_STRING, &flash_contexts, 0, 0,
     "lengths T, separated by commas (default: 1024,4096)"},
    {"--dims", OPTION_STRING, &flash_dims, 0, 0,
     "head widths d, separated by commas (default: 64,128)"},
    {"--heads", OPTION_INT, &flash_heads, 1, 65535,
     "heads computed at once (default: 8)"},
    {"--cache", OPTION_INT, &flash_cache, 1, 1 << 20,
     "keys in the cache when decoding (default: 32768)"},
    {"--repeat", OPTION_INT, &flash_repeat, 1, 10000,
     "timed runs per version; the median is printed (default: 10)"},
    {"--list", OPTION_FLAG, &flash_list, 0, 0,
     "list the operations and their versions; needs no GPU"},
    {"--tsv", OPTION_STRING, &flash_tsv, 0, 0,
     "also write the results as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp hardware: commands>> */
enum { MAX_SIZES = 16 };

static int parse_sizes(const char *text, const char *option, int *sizes)
{
    int count = 0;
    const char *p = text;
    while (count < MAX_SIZES) {
        char *end;
        long value = strtol(p, &end, 10);
        if (end == p || value <= 0 || value > 1 << 20
            || (*end != ',' && *end != '\0'))
            break;
        sizes[count++] = (int)value;
        if (*end == '\0')
            return count;
        p = end + 1;
    }
    fprintf(stderr, "tp bench flash: %s '%s': want up to %d positive "
            "numbers separated by commas\n", option, text, MAX_SIZES);
    return -1;
}
/* <<tp hardware: commands>> */
static bool flash_shapes_valid(const int *contexts, int nc, const int *dims,
                               int nd)
{
    char why[256];
    for (int c = 0; c < nc; c++)
        for (int d = 0; d < nd; d++) {
            int n = contexts[c] > flash_cache ? contexts[c] : flash_cache;
            if (tp_flash_validate(flash_heads, n, dims[d], why,
                                  sizeof why) != 0) {
                fprintf(stderr, "tp bench flash: %s\n", why);
                return false;
            }
        }
    return true;
}
/* <<tp hardware: commands>> */
static double flash_peak(const tp_gpu *gpu, tp_gpu_bound bound)
{
    return bound == TP_GPU_MEMORY_BOUND ? tp_gpu_bandwidth(gpu)
                                        : tp_gpu_fp32_peak(gpu);
}

static bool flash_version(const tp_gpu *gpu, const tp_gpu_case *c, int v,
                          double *first, FILE *tsv)
{
    const tp_gpu_operation *op = c->op;
    bool memory = op->bound == TP_GPU_MEMORY_BOUND;
    tp_gpu_mismatch worst;
    bool right = tp_gpu_check_version(c, v, &worst);
    double seconds = tp_gpu_time_version(c, v, flash_repeat);
    *first = v == 0 ? seconds : *first;
    double rate = op->work(c) / seconds, peak = flash_peak(gpu, op->bound);
    printf("  %-4s %-40s %9.3f %8.2f %6.1f%% %7.2fx %8.3f%s\n",
           op->version[v].name, op->version[v].idea, seconds * 1e3,
           rate / (memory ? 1e9 : 1e12), peak > 0 ? 100 * rate / peak : 0,
           *first / seconds, worst.ratio, right ? "" : "  WRONG");
    if (tsv != NULL)
        fprintf(tsv, "%s %s\t%d\t%d\t%d\t%.6g\t%.6g\t%.4f\t%.4g\t%d\n",
                op->name, op->version[v].name, c->inner, c->rows, c->cols,
                seconds, rate, peak > 0 ? rate / peak : 0, worst.ratio, right);
    fflush(stdout);
    return right;
}
/* <<tp hardware: commands>> */
static bool flash_operation(const tp_gpu *gpu, const tp_gpu_operation *op,
                            int n, int d, FILE *tsv)
{
    fprintf(stderr, "computing the reference of %s on the CPU ...\n",
            op->name);
    tp_gpu_case *c = tp_gpu_case_new(op, n, d, flash_heads, 1);
    printf("\n%s, %s: %d heads, T = %d, d = %d\n", op->name, op->summary,
           flash_heads, n, d);
    printf("  %-45s %9s %8s %7s %8s %8s\n", "version", "ms",
           op->bound == TP_GPU_MEMORY_BOUND ? "GB/s" : "TFLOP/s", "peak",
           "speed-up", "err/bound");
    bool right = true;
    double first = 0;
    for (int v = 0; v < op->versions; v++)
        right = flash_version(gpu, c, v, &first, tsv) && right;
    tp_gpu_case_free(c);
    return right;
}
/* <<tp hardware: commands>> */
static void list_flash_operations(void)
{
    for (int i = 0; i < tp_flash_operation_count; i++) {
        const tp_gpu_operation *op = &tp_flash_operations[i];
        printf("%-19s %s\n", op->name, op->summary);
        for (int v = 0; v < op->versions; v++)
            printf("    %-4s %s\n", op->version[v].name, op->version[v].idea);
    }
}

static int check_flash_operands(void)
{
    for (int i = 0; i < operand_count; i++)
        if (tp_flash_operation_named(operands[i]) == NULL) {
            fprintf(stderr, "tp bench flash: no operation '%s'; "
                    "'tp bench flash --list' lists them\n", operands[i]);
            return 2;
        }
    return 0;
}
/* <<tp hardware: commands>> */
static int bench_flash(void)
{
    if (flash_list) {
        list_flash_operations();
        return 0;
    }
    int contexts[MAX_SIZES], dims[MAX_SIZES], status = check_flash_operands();
    int nc = parse_sizes(flash_contexts, "--contexts", contexts);
    int nd = parse_sizes(flash_dims, "--dims", dims);
    if (status != 0)
        return status;
    if (nc < 0 || nd < 0 || !flash_shapes_valid(contexts, nc, dims, nd))
        return 1;
    tp_gpu gpu;
    char why[256];
    if (tp_gpu_open(&gpu, why, sizeof why) != 0) {
        fprintf(stderr, "tp bench flash: %s\n", why);
        return 1;
    }
    /* <<bench flash: run the operations, writing the table>> */
    FILE *tsv = flash_tsv ? fopen(flash_tsv, "w") : NULL;
    if (flash_tsv && tsv == NULL) {
        perror(flash_tsv);
        return 1;
    }
    tp_gpu_describe(stdout, &gpu);
    if (tsv != NULL) {
        tp_gpu_describe(tsv, &gpu);
        char today[32];
        time_t now = time(NULL);
        strftime(today, sizeof today, "%Y-%m-%d", gmtime(&now));
        fprintf(tsv, "# measured on %s by tp bench flash\n", today);
        fprintf(tsv, "version\theads\tT\td\tseconds\trate\t"
                "peak_fraction\terror_ratio\tright\n");
    }
    bool right = true;
    for (int i = 0; i < tp_flash_operation_count; i++) {
        const tp_gpu_operation *op = &tp_flash_operations[i];
        bool asked = operand_count == 0;
        for (int o = 0; o < operand_count; o++)
            asked = asked || strcmp(operands[o], op->name) == 0;
        bool decoding = op->bound == TP_GPU_MEMORY_BOUND;  /* one cache */
        for (int c = 0; asked && c < (decoding ? 1 : nc); c++)
            for (int d = 0; d < nd; d++)
                right = flash_operation(&gpu, op, decoding ? flash_cache
                                                           : contexts[c],
                                        dims[d], tsv) && right;
    }
    if (tsv != NULL && fclose(tsv) != 0) {
        perror(flash_tsv);
        return 1;
    }
    return right ? 0 : 1;
}

/* <<tp hardware: figures>> */
static void roofline_panel(tp_plot *p, const table *t, tp_corner legend)
{
    int threads = 0;
    for (int r = 0; r < t->rows; r++)
        threads = t->value[r][0] > threads ? (int)t->value[r][0] : threads;
    tp_plot_frame(p);
    double peak = 0, bandwidth = 0;
    tp_legend_entry entries[5];
    int n = 0;
    for (int r = 0; r < t->rows; r++) {
        if ((int)t->value[r][0] != threads)
            continue;
        peak = t->value[r][5], bandwidth = t->value[r][6];
        double x = t->value[r][1], y = t->value[r][3];
        tp_plot_line(p, &x, &y, 1, tp_category(n), false, true);
        entries[n] = (tp_legend_entry){t->label[r], tp_category(n), false};
        n++;
    }
    plot_roof(p, peak, bandwidth, 1, tp_category(7), true);
    tp_plot_legend(p, entries, n, legend);
}
/* <<tp hardware: figures>> */
static table *load_table(const char *path, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    if (read_table(path, t, error) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

static int draw_hardware_roofline(tp_draw *d, tp_error *error)
{
    table *t = load_table("figures/data/hardware-roofline.tsv", error);
    if (t == NULL)
        return -1;
    tp_plot p = {d, 52, 12, 300, 155,
                 {.lo = 0.1, .hi = 1000, .log = true,
                  .label = "operations per byte"},
                 {.lo = 0.01, .hi = 1000, .log = true, .label = "GFLOP/s"}};
    roofline_panel(&p, t, TP_BOTTOM_RIGHT);
    free(t);
    return 0;
}
/* <<tp hardware: figures>> */
static void card_step_line(tp_draw *d, const table *steps, double x, double y)
{
    for (int r = 0; r < steps->rows; r++) {
        char line[128];
        snprintf(line, sizeof line, "GPT-T step, %s thread%s: %.0f%% of its "
                 "time outside the products", steps->label[r],
                 strcmp(steps->label[r], "1") == 0 ? "" : "s",
                 100 * steps->value[r][2]);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, x, y + 11 * r, 0.0, 0.0, 7, line);
    }
}
/* <<tp hardware: figures>> */
static bool forward_row(const char *label)  /* a forward pass, ours or torch's */
{
    return strncmp(label, "attention v", 11) == 0
           || strncmp(label, "torch-sdpa attention ", 21) == 0;
}

static void card_gpu_lines(tp_draw *d, double x, double y)
{
    tp_error error;
    table *t = load_table("figures/data/flash-cuda.tsv", &error);
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x, y, 0.0, 0.0, 7, "<b>on a GPU (make measure-cuda)</b>");
    if (t == NULL) {
        tp_text(d, x, y + 12, 0.0, 0.0, 7, "not yet measured on a GPU: the "
                "kernels compile and");
        tp_text(d, x, y + 22, 0.0, 0.0, 7, "their references are tested; "
                "no speed is claimed");
        return;
    }
    char device[96];  /* the table's first comment names the GPU */
    snprintf(device, sizeof device, "%.60s",
             t->comments + strspn(t->comments, " "));
    device[strcspn(device, ",\n")] = '\0';
    tp_text(d, x + 150, y, 0.0, 0.0, 7, device);
    double longest = 0, widest = 0;  /* show the largest case only */
    for (int r = 0; r < t->rows; r++)
        if (forward_row(t->label[r]))
            longest = fmax(longest, t->value[r][1]),
            widest = fmax(widest, t->value[r][2]);
    for (int r = 0, line = 1; r < t->rows && line < 9; r++) {
        if (!forward_row(t->label[r]) || t->value[r][1] != longest
            || t->value[r][2] != widest)
            continue;
        char text[128];
        snprintf(text, sizeof text, "%s, T %.0f, d %.0f: %.2f ms, %.1f TFLOP/s",
                 t->label[r], t->value[r][1], t->value[r][2],
                 1e3 * t->value[r][3], t->value[r][4] / 1e12);
        tp_text(d, x, y + 11 * line++, 0.0, 0.0, 7, text);
    }
    free(t);
}
/* <<tp hardware: figures>> */
static int draw_card_hardware(tp_draw *d, tp_error *error)
{
    table *roof = load_table("figures/data/hardware-roofline.tsv", error);
    table *steps = roof ? load_table("figures/data/hardware-step.tsv", error)
                        : NULL;
    if (roof == NULL || steps == NULL) {
        free(roof);
        return -1;
    }
    tp_rect problem, solutions;
    tp_card(d, 440, 320, "<b>17. Hardware inefficiency</b>",
            "Outside the products a block waits for memory; on a GPU, "
            "attention's T\xc2\xb2 scores most of all",
            "Data: tp hardware roofline (make measure-hardware); "
            "tp bench flash (make measure-cuda)", &problem, &solutions);
    /* <<hardware card: the problem panel>> */
    tp_plot p = {d, problem.x + 40, problem.y + 26, problem.w - 54, 104,
                 {.lo = 0.1, .hi = 1000, .log = true,
                  .label = "operations per byte"},
                 {.lo = 0.01, .hi = 100000, .log = true, .label = "GFLOP/s"}};
    roofline_panel(&p, roof, TP_TOP_LEFT);
    card_step_line(d, steps, problem.x + 10, problem.y + 172);
    card_gpu_lines(d, problem.x + 10, problem.y + 198);
    /* <<hardware card: the solutions>> */
    static const char *const rows[][3] = {
        {"FlashAttention forward", "tiles, the running softmax in registers",
         "this chapter: versions 2, 4"},
        {"FlashAttention backward", "recomputed from the saved log-sum-exp",
         "this chapter"},
        {"Flash-Decoding", "one query, the keys split across blocks",
         "this chapter: version 4"},
        {"Fused row kernels", "softmax, LayerNorm, bias and GELU in one pass",
         "Chapter: the GPU"},
        {"Tensor cores, masks, fused decoding", "bfloat16 mma.sync; biases "
         "in the kernel", "exercises"},
    };
    card_solutions(d, &solutions, rows, 5);
    free(roof), free(steps);
    return 0;
}

static const command hardware_commands[] = {
    /* <<tp hardware: command table>> */
    {"hardware roofline", "time products, softmax, LayerNorm, GELU and a GPT-T "
     "step against the CPU's roofline", hardware_roofline_options,
     hardware_roofline, NULL},
    /* <<tp hardware: command table>> */
    {"bench flash", "check and time the attention kernels on the GPU",
     bench_flash_options, bench_flash, "[OPERATION...]"},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure hardware_figures[] = {
    /* <<tp hardware: figure table>> */
    {"hardware-roofline", "operations against the CPU's roofline", 420, 205,
     draw_hardware_roofline},
    {"card-hardware", "the card of hardware inefficiency", 440, 320,
     draw_card_hardware},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part hardware_part = {hardware_commands, hardware_figures};
