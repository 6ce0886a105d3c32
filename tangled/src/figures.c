/* Generated from book/180-drawing.nw; edit the book, not this file. */
#include <cairo-pdf.h>
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp.h"

/* <<figures: reading measured tables>> */
enum { TABLE_ROWS = 512, TABLE_COLS = 32 };

typedef struct table {
    int rows, cols;
    char label[TABLE_ROWS][48];
    double value[TABLE_ROWS][TABLE_COLS];
    char comments[1024];  /* the comment lines, joined */
} table;
/* <<figures: reading measured tables>> */
static int read_table(const char *path, table *t, tp_error *error)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tp_error_set(error, "cannot open %s (%s): run the chapter's "
                            "make measure target", path, strerror(errno));
    char line[1024];
    bool header = true;
    *t = (table){0};
    while (fgets(line, sizeof line, f) != NULL && t->rows < TABLE_ROWS) {
        if (line[0] == '#') {
            strncat(t->comments, line + 1,
                    sizeof t->comments - strlen(t->comments) - 1);
            continue;
        }
        if (header) {
            header = false;
            continue;
        }
        /* <<figures: read one row of a table>> */
        char *field = strtok(line, "\t\n");
        if (field == NULL)
            continue;
        snprintf(t->label[t->rows], sizeof t->label[0], "%s", field);
        int c = 0;
        while ((field = strtok(NULL, "\t\n")) != NULL && c < TABLE_COLS)
            t->value[t->rows][c++] = strtod(field, NULL);
        t->cols = c;
        t->rows++;
    }
    fclose(f);
    return t->rows > 0 ? 0 : tp_error_set(error, "%s has no rows", path);
}

/* <<figures: drawings>> */
static void plot_roof(tp_plot *p, double peak, double bandwidth, double unit,
                      tp_color color, bool dashed)
{
    double lo = log10(p->ax.lo), hi = log10(p->ax.hi), x[64], y[64];
    for (int i = 0; i < 64; i++) {
        x[i] = pow(10.0, lo + (hi - lo) * i / 63);
        y[i] = fmin(peak, x[i] * bandwidth) / unit;
    }
    tp_plot_line(p, x, y, 64, color, dashed, false);
}
/* <<figures: drawings>> */
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
/* <<figures: drawings>> */
static int draw_activations(tp_draw *d, tp_error *error)
{
    (void)error;
    enum { N = 161 };
    tp_arena *arena = tp_arena_new("figure");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *x = tp_tensor_new(arena, tp_shape1(N), TP_NO_GRAD);
    double xs[N], ys[N];
    for (int i = 0; i < N; i++)
        xs[i] = x->data[i] = -4.0f + 8.0f * (float)i / (N - 1);
    tp_plot p = {d, 44, 12, 290, 160, {.lo = -4, .hi = 4, .label = "x"},
                 {.lo = -1, .hi = 4, .label = "f(x)"}};
    tp_plot_frame(&p);
    /* <<activations figure: one curve per operator>> */
    tp_tensor *(*const ops[4])(tp_graph *, tp_tensor *) = {tp_relu, tp_gelu,
                                                           tp_gelu_tanh, tp_silu};
    tp_legend_entry legend[4] = {{"ReLU", tp_category(0), false},
                                 {"GELU", tp_category(1), false},
                                 {"GELU, tanh form", tp_category(4), true},
                                 {"SiLU", tp_category(2), false}};
    for (int k = 0; k < 4; k++) {
        tp_tensor *y = ops[k](&g, x);
        for (int i = 0; i < N; i++)
            ys[i] = y->data[i];
        tp_plot_line(&p, xs, ys, N, legend[k].color, legend[k].dashed, false);
    }
    tp_plot_legend(&p, legend, 4, TP_TOP_LEFT);
    tp_arena_free(arena);
    return 0;
}
/* <<figures: drawings>> */
static bool window_of_two(int i, int j, void *context)
{
    (void)context;
    return abs(i - j) <= 2;
}

static bool strided_with_global(int i, int j, void *context)
{
    (void)context;
    return j == 0 || (j <= i && (i - j) % 3 == 0);
}
/* <<figures: drawings>> */
static void mask_panel(tp_draw *d, tp_tensor *q, tp_tensor *k,
                       const tp_attention_options *options, double x,
                       const char *title, tp_arena *arena)
{
    enum { T = 12 };
    tp_tensor *weights = NULL;
    tp_attention_options o = *options;
    o.weights = &weights;
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_attention(&g, q, k, k, &o);
    unsigned char masked[T * T];
    for (int i = 0; i < T * T; i++)
        masked[i] = weights->data[i] == 0.0f;
    tp_heatmap(d, x, 30, 84, 84, weights->data, T, T, masked, 0.0, 1.0);
    cairo_set_source_rgb(d->cr, 0, 0, 0);
    tp_text(d, x + 42, 24, 0.5, 1.0, 8, title);
}
/* <<figures: drawings>> */
static int draw_attention_masks(tp_draw *d, tp_error *error)
{
    (void)error;
    tp_arena *arena = tp_arena_new("figure");
    tp_rng rng = tp_rng_seeded(2017, 6);
    tp_tensor *q = tp_tensor_new(arena, tp_shape4(1, 1, 12, 8), TP_NO_GRAD);
    tp_tensor *k = tp_tensor_new(arena, tp_shape4(1, 1, 12, 8), TP_NO_GRAD);
    tp_fill_normal(q, &rng, 0.0f, 1.0f);
    tp_fill_normal(k, &rng, 0.0f, 1.0f);
    static const unsigned char padding[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0,
                                              1, 1, 1};
    const tp_attention_options kinds[4] = {
        {.causal = true}, {.key_padding = padding},
        {.pattern = window_of_two}, {.pattern = strided_with_global}};
    const char *titles[4] = {"causal", "key padding", "local window",
                             "strided, global first"};
    for (int i = 0; i < 4; i++)
        mask_panel(d, q, k, &kinds[i], 12 + 100 * i, titles[i], arena);
    tp_colorbar(d, 410, 30, 8, 84, 0.0, 1.0, "weight");
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, 206, 122, 0.5, 0.0, 8,
            "rows: 12 queries; columns: 12 keys; hatched: masked");
    tp_arena_free(arena);
    return 0;
}
/* <<figures: drawings>> */
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
/* <<figures: drawings>> */
static void step(tp_draw *d, double x0, double y0, double x1, double y1,
                 const char *label)
{
    tp_arrow(d, x0, y0, x1, y1, tp_rgb(0x555555), 0.9);
    cairo_set_source_rgb(d->cr, 0.35, 0.35, 0.35);
    tp_text(d, (x0 + x1) / 2, (y0 + y1) / 2 - 2, 0.5, 1.0, 7, label);
}
/* <<figures: drawings>> */
static int draw_pipeline(tp_draw *d, tp_error *error)
{
    (void)error;
    const double w = 86, h = 30;
    tp_label_box(d, 8, 65, w, h, tp_category(4), 8, "<b>book/*.nw</b> chapters");
    tp_label_box(d, 124, 15, w, h, tp_category(2), 8, "tangled/ and tests/");
    tp_label_box(d, 240, 15, w, h, tp_category(2), 8, "libtp.a, tp, tests");
    tp_label_box(d, 350, 15, w, h, tp_category(2), 8, "test results (TAP)");
    tp_label_box(d, 240, 65, w, h, tp_category(0), 8, "figures/*.pdf");
    tp_label_box(d, 124, 115, w, h, tp_category(6), 8, "LaTeX");
    tp_label_box(d, 346, 115, w, h, tp_category(6), 8, "<b>the book</b> (PDF)");
    step(d, 94, 72, 124, 38, "");
    step(d, 210, 30, 240, 30, "cc");
    step(d, 326, 30, 350, 30, "prove");
    step(d, 283, 45, 283, 65, "");
    step(d, 94, 88, 124, 122, "");
    step(d, 210, 130, 346, 130, "pdflatex");
    step(d, 326, 88, 346, 118, "");
    cairo_set_source_rgb(d->cr, 0.35, 0.35, 0.35);
    tp_text(d, 287, 55, 0.0, 0.5, 7, "tp figures");
    tp_text(d, 104, 52, 1.0, 0.5, 7, "notangle");
    tp_text(d, 104, 108, 1.0, 0.5, 7, "noweave");
    return 0;
}
/* <<figures: drawings>> */
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
/* <<figures: drawings>> */
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
/* <<figures: drawings>> */
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
/* <<figures: drawings>> */
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
/* <<figures: drawings>> */
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
                "source digits");
    }
    free(t);
    return status;
}
/* <<figures: drawings>> */
static int draw_bert_architecture(tp_draw *d, tp_error *error)
{
    (void)error;
    static const char *const tokens[] = {"[CLS]", "attention", "is",
                                         "[MASK]", "[SEP]", "in", "n",
                                         "[SEP]"};
    tp_color grey = tp_rgb(0x555555);
    tp_token_row(d, 14, 168, 41, 16, tokens, 8, tp_category(4));
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, 116, 188, 0.5, 0.0, 7, "segment 0");
    tp_text(d, 280, 188, 0.5, 0.0, 7, "segment 1");
    tp_arrow(d, 180, 168, 180, 156, grey, 0.8);
    tp_label_box(d, 30, 132, 300, 22, tp_category(2), 7.5,
                 "word + position + segment embeddings, LayerNorm");
    tp_arrow(d, 180, 132, 180, 120, grey, 0.8);
    tp_label_box(d, 30, 84, 300, 34, tp_category(5), 7.5,
                 "post-LN encoder blocks\n"
                 "bidirectional attention, GELU");
    /* <<bert architecture figure: the two heads>> */
    tp_arrow(d, 74, 84, 74, 60, grey, 0.8);
    tp_arrow(d, 248, 84, 248, 60, grey, 0.8);
    tp_label_box(d, 14, 32, 120, 26, tp_category(0), 7,
                 "classifier on [CLS]\nprose or code?");
    tp_label_box(d, 150, 32, 196, 26, tp_category(1), 7,
                 "MLM head on masked rows\n"
                 "linear, GELU, LN, \xc3\x97 word embedding\xe1\xb5\x80");
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, 248, 18, 0.5, 0.0, 7, "\xe2\x86\x92 \xe2\x80\x9c" "quadratic\xe2\x80\x9d");
    tp_text(d, 74, 18, 0.5, 0.0, 7, "\xe2\x86\x92 prose");
    return 0;
}
/* <<figures: drawings>> */
static void prompt_label(char *out, size_t size, int byte);

static void word_label(char *out, size_t size, const char *word)
{
    if (word[0] != '\0' && word[1] == '\0')
        prompt_label(out, size, (unsigned char)word[0]);
    else
        snprintf(out, size, "%s", word);
}
/* <<figures: drawings>> */
static int read_bert_words(const table *t, char words[][48], int *n,
                           tp_error *error)
{
    const char *p = strstr(t->comments, "words ");
    *n = 0;
    if (p != NULL)
        for (int used; *n < TABLE_COLS
                       && sscanf(p += (*n ? 0 : 6), "%47s%n", words[*n], &used)
                              == 1;
             p += used)
            (*n)++;
    if (*n < 2 || t->cols != *n || t->rows % *n != 0)
        return tp_error_set(error, "bert-attention.tsv is not layers of "
                            "square maps over its words");
    return 0;
}
/* <<figures: drawings>> */
static void bert_map(tp_draw *d, const table *t, int row0, int n,
                     char words[][48], double x, double y, double top,
                     const char *title)
{
    float w[TABLE_COLS * TABLE_COLS] = {0};
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            w[i * n + j] = (float)t->value[row0 + i][j];
    double side = 140, cell = side / n;
    tp_heatmap(d, x, y, side, side, w, n, n, NULL, 0.0, top);
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x + side / 2, y - 4, 0.5, 1.0, 7.5, title);
    for (int i = 0; i < n; i++) {
        char label[64];
        word_label(label, sizeof label, words[i]);
        tp_text(d, x - 3, y + (i + 0.5) * cell, 1.0, 0.5, 6, label);
        cairo_save(d->cr);
        cairo_translate(d->cr, x + (i + 0.5) * cell, y + side + 3);
        cairo_rotate(d->cr, -acos(0.0));  /* a quarter turn */
        tp_text(d, 0, 0, 1.0, 0.5, 6, label);
        cairo_restore(d->cr);
    }
}
/* <<figures: drawings>> */
static int draw_bert_attention(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    char (*words)[48] = calloc(TABLE_COLS, sizeof *words);
    tp_check(t != NULL && words != NULL, "out of memory");
    int n, status = read_table("figures/data/bert-attention.tsv", t, error);
    if (status == 0)
        status = read_bert_words(t, words, &n, error);
    if (status == 0) {
        int last = (t->rows / n - 1) * n;
        double top = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                top = fmax(top, fmax(t->value[i][j], t->value[last + i][j]));
        char title[32];
        bert_map(d, t, 0, n, words, 50, 16, top, "layer 0");
        snprintf(title, sizeof title, "layer %d", last / n);
        bert_map(d, t, last, n, words, 250, 16, top, title);
        tp_colorbar(d, 402, 16, 6, 140, 0.0, top, "");
    }
    free(words), free(t);
    return status;
}
/* <<figures: drawings>> */
static int read_bert_finetune(double lines[2][8], double accuracy[2][8],
                              int count[2], double *majority, tp_error *error)
{
    FILE *f = fopen("figures/data/bert-finetune.txt", "r");
    if (f == NULL)
        return tp_error_set(error, "cannot read figures/data/bert-finetune.txt"
                            " (make measure-bert writes it)");
    char line[512], how[32];
    int runs[2][8];
    count[0] = count[1] = 0, *majority = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        /* <<bert figure: read one line of tp bert finetune>> */
        int n, i = 0;
        double a;
        const char *gets = strstr(line, "\" gets ");
        if (gets != NULL)
            sscanf(gets + 7, "%lf", majority);
        if (sscanf(line, "fine-tuned %31[^0-9]%d lines: test accuracy %lf", how, &n,
                   &a) == 3) {
            int k = strstr(how, "scratch") != NULL ? 0 : 1;
            while (i < count[k] && lines[k][i] != n)
                i++;
            if (i == count[k] && count[k] < 8)
                lines[k][count[k]++] = n, accuracy[k][i] = 0, runs[k][i] = 0;
            if (i < count[k])
                accuracy[k][i] += a, runs[k][i]++;
        }
    }
    fclose(f);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < count[k]; i++)
            accuracy[k][i] /= runs[k][i];
    if (count[0] < 2 || count[1] < 2 || *majority <= 0)
        return tp_error_set(error, "bert-finetune.txt does not hold runs "
                            "from scratch and after pre-training");
    return 0;
}
/* <<figures: drawings>> */
static int draw_bert_finetune(tp_draw *d, tp_error *error)
{
    double lines[2][8], accuracy[2][8], majority;
    int count[2];
    int status = read_bert_finetune(lines, accuracy, count, &majority, error);
    if (status != 0)
        return status;
    tp_plot p = {d, 44, 12, 300, 150,
                 {.lo = 10, .hi = 30000, .log = true,
                  .label = "labelled training lines"},
                 {.lo = 60, .hi = 100, .label = "test accuracy (%)"}};
    tp_plot_frame(&p);
    double bx[2] = {10, 30000}, by[2] = {majority, majority};
    tp_plot_line(&p, bx, by, 2, tp_category(7), true, false);
    tp_plot_line(&p, lines[0], accuracy[0], count[0], tp_category(0), false, true);
    tp_plot_line(&p, lines[1], accuracy[1], count[1], tp_category(4), false, true);
    tp_legend_entry legend[] = {
        {"always \xe2\x80\x9c" "code\xe2\x80\x9d", tp_category(7), true},
        {"from scratch", tp_category(0), false},
        {"after pre-training", tp_category(4), false}};
    tp_plot_legend(&p, legend, 3, TP_BOTTOM_RIGHT);
    return 0;
}
/* <<figures: drawings>> */
static void stage(tp_draw *d, double y, double h, tp_color color,
                  const char *what, const char *shape)
{
    tp_label_box(d, 130, y, 180, h, color, 8, what);
    cairo_set_source_rgb(d->cr, 0.35, 0.35, 0.35);
    tp_text(d, 318, y + h / 2, 0.0, 0.5, 7, shape);
}

static void up(tp_draw *d, double from, double to)
{
    tp_arrow(d, 220, from, 220, to, tp_rgb(0x555555), 0.8);
}
/* <<figures: drawings>> */
static void residual(tp_draw *d, double from, double x, double to)
{
    cairo_set_source_rgb(d->cr, 0.45, 0.45, 0.45);
    cairo_set_line_width(d->cr, 0.8);
    cairo_move_to(d->cr, 220, from);
    cairo_line_to(d->cr, x, from);
    cairo_line_to(d->cr, x, to);
    cairo_stroke(d->cr);
    tp_arrow(d, x, to, 215, to, tp_rgb(0x555555), 0.8);
    cairo_set_source_rgb(d->cr, 1, 1, 1);
    cairo_arc(d->cr, 220, to, 4.5, 0, 2 * 3.14159265358979);
    cairo_fill_preserve(d->cr);
    cairo_set_source_rgb(d->cr, 0.35, 0.35, 0.35);
    cairo_stroke(d->cr);
    tp_text(d, 220, to, 0.5, 0.5, 8, "+");
}
/* <<figures: drawings>> */
static int draw_gpt_architecture(tp_draw *d, tp_error *error)
{
    (void)error;
    tp_gpt_config c = tp_gpt_t();
    char text[128], shape[64];
    snprintf(shape, sizeof shape, "[B, T] bytes of %d", c.vocab_size);
    stage(d, 286, 20, tp_category(7), "tokens", shape);
    snprintf(shape, sizeof shape, "[B, T, %d]", c.n_embd);
    stage(d, 250, 24, tp_category(4), "token + position embedding", shape);
    up(d, 286, 274);
    /* <<gpt architecture figure: one block, drawn once>> */
    tp_rounded_box(d, 96, 80, 306, 162, 6, tp_rgb(0xFAFAFA), tp_rgb(0xBBBBBB));
    snprintf(text, sizeof text, "\xc3\x97 %d blocks", c.n_layer);
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, 396, 84, 1.0, 0.0, 8, text);
    up(d, 250, 226);
    stage(d, 206, 20, tp_category(2), "LayerNorm", "");
    snprintf(text, sizeof text, "causal self-attention, %d heads of %d",
             c.n_head, c.n_embd / c.n_head);
    up(d, 206, 192);
    stage(d, 168, 24, tp_category(5), text, "");
    up(d, 168, 164.5);
    residual(d, 238, 112, 160);
    up(d, 155.5, 152);
    stage(d, 132, 20, tp_category(2), "LayerNorm", "");
    snprintf(text, sizeof text, "MLP: %d \xe2\x86\x92 %d, GELU, \xe2\x86\x92 %d",
             c.n_embd, 4 * c.n_embd, c.n_embd);
    up(d, 132, 124);
    stage(d, 100, 24, tp_category(0), text, "");
    up(d, 100, 92.5);
    residual(d, 156, 104, 88);
    /* <<gpt architecture figure: the head>> */
    up(d, 83.5, 78);
    stage(d, 58, 20, tp_category(2), "LayerNorm", "");
    snprintf(shape, sizeof shape, "[B, T, %d]", c.vocab_size);
    up(d, 58, 46);
    stage(d, 22, 24, tp_category(4), "logits = x W<sub>te</sub><sup>T</sup> "
          "(tied embedding)", shape);
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, 220, 8, 0.5, 0.5, 7, "cross-entropy against the next byte");
    return 0;
}
/* <<figures: drawings>> */
static void prompt_label(char *out, size_t size, int byte)
{
    if (byte == ' ')
        snprintf(out, size, "\xe2\x90\xa3");  /* the visible space sign */
    else if (byte == '&' || byte == '<' || byte == '>')
        snprintf(out, size, "%s", byte == '&' ? "&amp;"
                                  : byte == '<' ? "&lt;" : "&gt;");
    else
        snprintf(out, size, "%c", byte >= 32 && byte < 127 ? byte : '?');
}
/* <<figures: drawings>> */
static void head_map(tp_draw *d, const table *t, int row0, int n,
                     const int *prompt, double x, double y, bool labels)
{
    float w[24 * 24] = {0};
    unsigned char future[24 * 24] = {0};
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            w[i * n + j] = (float)t->value[row0 + i][j];
            future[i * n + j] = j > i;
        }
    tp_heatmap(d, x, y, 92, 92, w, n, n, future, 0.0, 1.0);
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    for (int i = 0; labels && i < n; i++) {
        char c[16];
        prompt_label(c, sizeof c, prompt[i]);
        tp_text(d, x - 2, y + (i + 0.5) * 92 / n, 1.0, 0.5, 5, c);
        tp_text(d, x + (i + 0.5) * 92 / n, y + 94, 0.5, 0.0, 5, c);
    }
}
/* <<figures: drawings>> */
static int read_attention_maps(table *t, int prompt[24], int *n,
                               tp_error *error)
{
    int status = read_table("figures/data/gpt-attention.tsv", t, error);
    const char *p = status == 0 ? strstr(t->comments, "prompt") : NULL;
    *n = 0;
    for (int used; p != NULL && *n < 24
                   && sscanf(p + 6, " %d%n", &prompt[*n], &used) == 1;
         p += used)
        (*n)++;
    if (status == 0 && (*n == 0 || t->cols != *n || t->rows < 4 * 4 * *n))
        status = tp_error_set(error, "gpt-attention.tsv is not 4 layers of "
                              "4 heads of the prompt's weights");
    return status;
}

static int draw_gpt_attention(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int prompt[24], n;
    int status = read_attention_maps(t, prompt, &n, error);
    /* <<gpt figure: draw layers 0 and 3>> */
    for (int row = 0; status == 0 && row < 2; row++) {
        int layer = row == 0 ? 0 : 3;
        for (int h = 0; h < 4; h++) {
            double x = 30 + h * 104, y = 16 + row * 122;
            head_map(d, t, (layer * 4 + h) * n, n, prompt, x, y, true);
            char title[32];
            snprintf(title, sizeof title, "layer %d, head %d", layer, h);
            cairo_set_source_rgb(d->cr, 0, 0, 0);
            tp_text(d, x + 46, y - 2, 0.5, 1.0, 7, title);
        }
    }
    free(t);
    return status;
}
/* <<figures: drawings>> */
static int draw_gpt_curve(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    double unigram = 0;
    const char *baseline = NULL;
    int status = read_table("figures/data/gpt-curve.tsv", t, error);
    if (status == 0 && ((baseline = strstr(t->comments, "unigram baseline"))
                            == NULL
                        || sscanf(baseline, "unigram baseline %lf", &unigram)
                               != 1))
        status = tp_error_set(error, "gpt-curve.tsv has no unigram baseline");
    if (status == 0)
        /* <<gpt figure: plot the curve>> */
        {
            double steps[TABLE_ROWS], train[TABLE_ROWS], validation[TABLE_ROWS];
            for (int r = 0; r < t->rows; r++) {
                steps[r] = strtod(t->label[r], NULL);
                train[r] = t->value[r][0], validation[r] = t->value[r][1];
            }
            double last = steps[t->rows - 1];
            tp_plot p = {d, 44, 12, 300, 150,
                         {.lo = 0, .hi = last, .label = "training step"},
                         {.lo = 0, .hi = 6, .label = "loss (nats per byte)"}};
            tp_plot_frame(&p);
            double bx[2] = {0, last}, by[2] = {unigram, unigram};
            tp_plot_line(&p, bx, by, 2, tp_category(7), true, false);
            tp_plot_line(&p, steps, train, t->rows, tp_category(0), false, false);
            tp_plot_line(&p, steps, validation, t->rows, tp_category(4), false, true);
            tp_legend_entry legend[] = {{"unigram baseline", tp_category(7), true},
                                        {"training loss", tp_category(0), false},
                                        {"validation loss", tp_category(4), false}};
            tp_plot_legend(&p, legend, 3, TP_TOP_RIGHT);
        }
    free(t);
    return status;
}
/* <<figures: drawings>> */
static int draw_vit_architecture(tp_draw *d, tp_error *error)
{
    (void)error;
    tp_rng rng = tp_rng_seeded(3, 0);
    float pixels[16 * 16];
    tp_shape_image(16, &rng, pixels);
    tp_heatmap(d, 20, 62, 96, 96, pixels, 16, 16, NULL, 0.0, 1.0);
    cairo_set_source_rgb(d->cr, 1, 1, 1);
    cairo_set_line_width(d->cr, 1.2);
    for (int i = 1; i < 4; i++) {
        cairo_move_to(d->cr, 20 + 24 * i, 62);
        cairo_line_to(d->cr, 20 + 24 * i, 158);
        cairo_move_to(d->cr, 20, 62 + 24 * i);
        cairo_line_to(d->cr, 116, 62 + 24 * i);
    }
    cairo_stroke(d->cr);
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, 68, 166, 0.5, 0.0, 7, "16\xc3\x97" "16 image, 16 patches of 4\xc3\x97" "4");
    /* <<vit architecture figure: the sequence and the encoder>> */
    static const char *const tokens[] = {"CLS", "1", "2", "3", "\xe2\x80\xa6",
                                         "16"};
    tp_arrow(d, 120, 158, 152, 158, tp_rgb(0x555555), 0.8);
    tp_token_row(d, 156, 150, 30, 16, tokens, 6, tp_category(4));
    tp_text(d, 246, 172, 0.5, 0.0, 7, "patch \xc3\x97 W + b, + learned positions");
    tp_arrow(d, 246, 150, 246, 132, tp_rgb(0x555555), 0.8);
    tp_label_box(d, 156, 96, 180, 36, tp_category(5), 8,
                 "pre-LN encoder blocks\nbidirectional attention, GELU");
    tp_arrow(d, 171, 96, 171, 78, tp_rgb(0x555555), 0.8);
    tp_label_box(d, 156, 58, 120, 20, tp_category(2), 8,
                 "LayerNorm, CLS row");
    tp_arrow(d, 216, 58, 216, 44, tp_rgb(0x555555), 0.8);
    tp_label_box(d, 156, 24, 120, 20, tp_category(0), 8, "linear: 5 classes");
    return 0;
}
/* <<figures: drawings>> */
static int draw_vit_attention(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/vit-attention.tsv", t, error);
    int size = t->rows / 4 - 1, n = t->cols;  /* the last row is weights */
    int grid = (int)lround(sqrt(n));
    if (status == 0 && (t->rows % 4 != 0 || size < 2 || size > 32
                        || grid * grid != n || size % grid != 0))
        status = tp_error_set(error, "vit-attention.tsv is not four images "
                              "and their CLS weights");
    if (status == 0) {
        /* <<vit figure: four images and their weights>> */
        float pixels[32 * 32], weights[32 * 32];
        double top = 0;
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < n; j++)
                top = fmax(top, t->value[k * (size + 1) + size][j]);
        for (int k = 0; k < 4; k++) {
            char key[16], caption[64] = "";
            snprintf(key, sizeof key, "image %d: ", k);
            const char *c = strstr(t->comments, key);
            if (c != NULL)
                sscanf(c + strlen(key), "%63[^\n]", caption);
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++) {
                    pixels[y * size + x] = (float)t->value[k * (size + 1) + y][x];
                    int patch = (y / (size / grid)) * grid + x / (size / grid);
                    weights[y * size + x] = (float)t->value[k * (size + 1) + size][patch];
                }
            double x0 = 6 + k * 100;
            tp_heatmap(d, x0, 20, 46, 46, pixels, size, size, NULL, 0.0, 1.0);
            tp_heatmap(d, x0 + 50, 20, 46, 46, weights, size, size, NULL, 0.0, top);
            cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
            tp_text(d, x0 + 23, 70, 0.5, 0.0, 6.5, "image");
            tp_text(d, x0 + 73, 70, 0.5, 0.0, 6.5, "CLS \xe2\x86\x92 patch");
            tp_text(d, x0 + 48, 6, 0.5, 0.0, 6.5, caption);
        }
        tp_colorbar(d, 406, 20, 6, 46, 0.0, top, "");
    }
    free(t);
    return status;
}
/* <<figures: drawings>> */
enum { DIAGRAM_TILES = 8 };

static void diagram_tile(tp_draw *d, double x, double y, double size,
                         int row, int col, int owner)
{
    cairo_rectangle(d->cr, x + col * size + 1, y + row * size + 1, size - 2,
                    size - 2);
    if (col > row) {
        cairo_set_source_rgb(d->cr, 0.93, 0.93, 0.93);
        cairo_fill(d->cr);
        return;
    }
    tp_color c = tp_category(owner == 0 ? 1 : 4);
    cairo_set_source_rgba(d->cr, c.r, c.g, c.b, col == row ? 0.45 : 0.85);
    cairo_fill(d->cr);
}
/* <<figures: drawings>> */
static void diagram_panel(tp_draw *d, double x, double y, double size,
                          bool by_rows, const char *title)
{
    for (int i = 0; i < DIAGRAM_TILES; i++)
        for (int j = 0; j < DIAGRAM_TILES; j++)
            diagram_tile(d, x, y, size, i, j,
                         (by_rows ? i : j) < DIAGRAM_TILES / 2 ? 0 : 1);
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x + DIAGRAM_TILES * size / 2, y - 16, 0.5, 0.0, 8, title);
    tp_text(d, x + DIAGRAM_TILES * size / 2, y + DIAGRAM_TILES * size + 3,
            0.5, 0.0, 7, "key tiles j\xe2\x82\x80 = 0, 64, \xe2\x80\xa6, 448");
    tp_text(d, x - 4, y + DIAGRAM_TILES * size / 2, 1.0, 0.5, 7,
            "query\ntiles i\xe2\x82\x80");
}
/* <<figures: drawings>> */
static int draw_tiled_attention(tp_draw *d, tp_error *error)
{
    (void)error;
    double size = 16;
    diagram_panel(d, 56, 26, size, true,
                  "<b>forward</b>: a thread owns rows of query tiles");
    diagram_panel(d, 290, 26, size, false,
                  "<b>backward</b>: a part owns a column of key tiles");
    tp_legend_entry legend[3] = {
        {"thread 1", tp_category(1), false}, {"thread 2", tp_category(4), false},
        {"skipped (above the diagonal)", tp_rgb(0xdddddd), false}};
    for (int i = 0; i < 3; i++) {
        tp_set_color(d->cr, legend[i].color);
        cairo_rectangle(d->cr, 56 + 130 * i, 180, 10, 10);
        cairo_fill(d->cr);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, 70 + 130 * i, 180, 0.0, 0.0, 7, legend[i].label);
    }
    tp_text(d, 56, 196, 0.0, 0.0, 7, "pale: diagonal tiles, masked "
            "element by element; each part also adds into its own copy of "
            "dQ, summed in order at the end");
    return 0;
}
/* <<figures: drawings>> */
static const char *const scaling_methods[] = {"naive", "tiled", "linear",
                                              "linformer"};
enum { SCALING_METHODS = 4 };

static int most_threads(const table *t)
{
    int most = 1;
    for (int r = 0; r < t->rows; r++)
        most = t->value[r][1] > most ? (int)t->value[r][1] : most;
    return most;
}

static int scaling_series(const table *t, int method, int threads, int column,
                          double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 16; r++)
        if (strcmp(t->label[r], scaling_methods[method]) == 0
            && (int)t->value[r][1] == threads) {
            x[n] = t->value[r][0];
            y[n++] = t->value[r][column];
        }
    return n;
}
/* <<figures: drawings>> */
static double slope_from_1024(const double *x, const double *y, int n)
{
    int first = 0;
    while (first < n && x[first] < 1024)
        first++;
    double coefficient;
    return n - first >= 2 ? tp_power_fit(x + first, y + first, n - first,
                                         &coefficient)
                          : NAN;
}
/* <<figures: drawings>> */
enum { FORWARD_MS = 2, TRAINING_MS = 4, TRAINING_MIB = 5 };

static tp_color scaling_color(int method)
{
    static const int category[SCALING_METHODS] = {5, 4, 2, 6};
    return tp_category(category[method]);
}

static void scaling_panel(tp_plot *p, const table *t, int column,
                          bool legend_too)
{
    tp_plot_frame(p);
    tp_legend_entry legend[SCALING_METHODS + 1];
    char text[SCALING_METHODS][64];
    int most = most_threads(t);
    for (int m = 0; m < SCALING_METHODS; m++) {
        double x[16], y[16];
        int n = scaling_series(t, m, 1, column, x, y);
        tp_plot_line(p, x, y, n, scaling_color(m), false, true);
        snprintf(text[m], sizeof text[m], "%s, slope %.2f", scaling_methods[m],
                 slope_from_1024(x, y, n));
        legend[m] = (tp_legend_entry){text[m], scaling_color(m), false};
        if (column != TRAINING_MIB && most > 1) {
            n = scaling_series(t, m, most, column, x, y);
            tp_plot_line(p, x, y, n, scaling_color(m), true, false);
        }
    }
    legend[SCALING_METHODS] = (tp_legend_entry){
        column == TRAINING_MIB ? "any number of threads"
                               : "dashed: all threads", tp_rgb(0x999999), true};
    if (legend_too)
        tp_plot_legend(p, legend, SCALING_METHODS + 1, TP_TOP_LEFT);
}
/* <<figures: drawings>> */
static int draw_attention_scaling(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/attention-scaling.tsv", t, error);
    if (status == 0) {
        tp_axis n = {.lo = 256, .hi = 16384, .log = true,
                     .label = "sequence length T"};
        tp_plot time = {d, 46, 12, 160, 160, n,
                        {.lo = 0.1, .hi = 100000, .log = true,
                         .label = "training step (ms)"}};
        tp_plot memory = {d, 268, 12, 160, 160, n,
                          {.lo = 0.1, .hi = 10000, .log = true,
                           .label = "peak memory (MiB)"}};
        scaling_panel(&time, t, TRAINING_MS, true);
        scaling_panel(&memory, t, TRAINING_MIB, true);
    }
    free(t);
    return status;
}
/* <<figures: drawings>> */
enum { QUADRATIC_FIGURE_METHODS = 3 };

static double quadratic_peak(const table *t, const char *method)
{
    char key[64];
    snprintf(key, sizeof key, " peak %s ", method);
    const char *at = strstr(t->comments, key);
    return at != NULL ? strtod(at + strlen(key), NULL) : NAN;
}

static int quadratic_curve(const table *t, const char *method, double *x,
                           double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 64; r++)
        if (strcmp(t->label[r], method) == 0) {
            x[n] = t->value[r][3];  /* seconds */
            y[n++] = t->value[r][2];  /* validation loss */
        }
    return n;
}
/* <<figures: drawings>> */
static void quadratic_panels(tp_draw *d, const table *t, double x0, double y0,
                             double w, double h, bool legend_too)
{
    static const int colour[QUADRATIC_FIGURE_METHODS] = {5, 4, 2};
    static const char *const name[QUADRATIC_FIGURE_METHODS] = {
        "exact", "tiled", "linear"};
    double most = 1.0, peaks[QUADRATIC_FIGURE_METHODS], top = 1.0;
    for (int m = 0; m < QUADRATIC_FIGURE_METHODS; m++) {
        double x[64], y[64];
        int n = quadratic_curve(t, name[m], x, y);
        most = n > 0 && x[n - 1] > most ? x[n - 1] : most;
        peaks[m] = quadratic_peak(t, name[m]);
        top = peaks[m] > top ? peaks[m] : top;
    }
    /* <<quadratic figure: the loss against time>> */
    tp_plot loss = {d, x0, y0, w, h, {.lo = 0, .hi = most * 1.05,
                                      .label = "training time (s)"},
                    {.lo = 3.0, .hi = 5.0, .label = "validation loss"}};
    tp_plot_frame(&loss);
    tp_legend_entry legend[QUADRATIC_FIGURE_METHODS];
    for (int m = 0; m < QUADRATIC_FIGURE_METHODS; m++) {
        double x[64], y[64];
        int n = quadratic_curve(t, name[m], x, y);
        tp_plot_line(&loss, x, y, n, tp_category(colour[m]), false, true);
        legend[m] = (tp_legend_entry){name[m], tp_category(colour[m]), false};
    }
    if (legend_too)
        tp_plot_legend(&loss, legend, QUADRATIC_FIGURE_METHODS, TP_TOP_RIGHT);
    /* <<quadratic figure: the peak memory>> */
    tp_plot memory = {d, x0 + w + 70, y0, w * 0.6, h,
                      {.lo = -0.5, .hi = QUADRATIC_FIGURE_METHODS - 0.5,
                       .names = name},
                      {.lo = 0, .hi = top * 1.15, .label = "peak memory (MiB)"}};
    tp_plot_frame(&memory);
    for (int m = 0; m < QUADRATIC_FIGURE_METHODS; m++) {
        double bars[QUADRATIC_FIGURE_METHODS] = {0};
        char label[32];
        bars[m] = peaks[m];
        tp_plot_bars(&memory, bars, QUADRATIC_FIGURE_METHODS, tp_category(colour[m]));
        snprintf(label, sizeof label, "%.0f", peaks[m]);
        tp_set_color(d->cr, tp_category(colour[m]));
        tp_text(d, tp_plot_x(&memory, m), tp_plot_y(&memory, peaks[m]) - 9, 0.5,
                0.0, 7, label);
    }
}
/* <<figures: drawings>> */
static int draw_quadratic_gpt(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/quadratic-gpt.tsv", t, error);
    if (status == 0)
        quadratic_panels(d, t, 46, 12, 200, 150, true);
    free(t);
    return status;
}
/* <<figures: drawings>> */
static int draw_card_quadratic(tp_draw *d, tp_error *error)
{
    table *maps = calloc(1, sizeof *maps), *scaling = calloc(1, sizeof *scaling);
    tp_check(maps != NULL && scaling != NULL, "out of memory");
    int prompt[24], n;
    int status = read_attention_maps(maps, prompt, &n, error);
    if (status == 0)
        status = read_table("figures/data/attention-scaling.tsv", scaling,
                            error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>1. Quadratic complexity</b>",
                "Every query meets every key: twice the context, four times "
                "the work and the memory",
                "Data: tp bench attention (make measure-attention); the map, "
                "a trained GPT-T (make measure-gpt)", &problem, &solutions);
        /* <<quadratic card: the problem>> */
        double px = problem.x, py = problem.y;
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 64, py + 22, 0.5, 0.0, 7, "T \xc3\x97 T weights of one head");
        head_map(d, maps, (3 * 4 + 2) * n, n, prompt, px + 18, py + 34, true);
        tp_axis length = {.lo = 256, .hi = 16384, .log = true};
        tp_plot time = {d, px + 142, py + 34, 94, 66, length,
                        {.lo = 0.1, .hi = 100000, .log = true}};
        tp_plot memory = {d, px + 142, py + 140, 94, 66, length,
                          {.lo = 0.1, .hi = 10000, .log = true}};
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 189, py + 22, 0.5, 0.0, 7, "training step (ms) against T");
        tp_text(d, px + 189, py + 128, 0.5, 0.0, 7, "peak memory (MiB) against T");
        scaling_panel(&time, scaling, TRAINING_MS, false);
        scaling_panel(&memory, scaling, TRAINING_MIB, false);
        /* <<quadratic card: the numbers of the longest run>> */
        double x[16], ms[16], mib[16];
        for (int m = 0; m < SCALING_METHODS; m++) {
            int count = scaling_series(scaling, m, 1, TRAINING_MS, x, ms);
            scaling_series(scaling, m, 1, TRAINING_MIB, x, mib);
            char line[96];
            if (m == 0) {
                snprintf(line, sizeof line, "<b>one thread, T = %.0f</b>",
                         x[count - 1]);
                cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
                tp_text(d, px + 18, py + 156, 0.0, 0.0, 7, line);
            }
            snprintf(line, sizeof line, "%s  %.2f s  %.0f MiB", scaling_methods[m],
                     ms[count - 1] / 1e3, mib[count - 1]);
            tp_set_color(d->cr, scaling_color(m));
            tp_text(d, px + 18, py + 170 + 12 * m, 0.0, 0.0, 7, line);
        }
        /* <<quadratic card: the solutions>> */
        static const char *const solution[][3] = {
            {"FlashAttention", "exact, O(T) memory: this chapter",
             "as a GPU kernel: Hardware inefficiency"},
            {"Linear attention", "elu+1 features, a running state",
             "O(T d\xc2\xb2): this chapter"},
            {"Linformer", "keys and values mixed down to r",
             "O(Tr): this chapter"},
            {"Performer", "random features that approximate exp",
             "Part II, Performer"},
            {"Sparse attention", "strided patterns, O(T\xe2\x88\x9aT)",
             "Part II, Sparse Transformer"},
            {"Longformer", "a window and global tokens, O(Tw)", "Part II, Longformer"},
            {"Transformer-XL", "segments and a cached memory",
             "Part II, Transformer-XL"},
        };
        for (int i = 0; i < 7; i++) {
            double y = solutions.y + 20 + 31 * i;
            char name[64];
            snprintf(name, sizeof name, "<b>%s</b>", solution[i][0]);
            cairo_set_source_rgb(d->cr, 0, 0, 0);
            tp_text(d, solutions.x + 8, y, 0.0, 0.0, 8, name);
            cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
            tp_text(d, solutions.x + 8, y + 10, 0.0, 0.0, 7, solution[i][1]);
            tp_text(d, solutions.x + 8, y + 19, 0.0, 0.0, 7, solution[i][2]);
        }
    }
    free(maps), free(scaling);
    return status;
}

static const tp_figure figures[] = {
    /* <<figures: registry>> */
    {"matmul-roofline", "the roofline of this machine, and the measured "
     "matrix products", 380, 220, draw_matmul_roofline},
    /* <<figures: registry>> */
    {"activations", "ReLU, GELU (exact and tanh) and SiLU", 360, 214,
     draw_activations},
    /* <<figures: registry>> */
    {"attention-masks", "attention weights under four masks", 440, 140,
     draw_attention_masks},
    /* <<figures: registry>> */
    {"data-shapes", "the five shape classes at 32 and 16 pixels", 440, 150,
     draw_data_shapes},
    /* <<figures: registry>> */
    {"pipeline", "how the book becomes a library, tests, figures and a PDF",
     440, 152, draw_pipeline},
    /* <<figures: registry>> */
    {"gpu-roofline", "the roofline of an H100 SXM, from its properties", 420,
     205, draw_gpu_roofline},
    /* <<figures: registry>> */
    {"vanilla-architecture", "The encoder-decoder of 2017, post-LN, as this "
     "chapter trains it", 420, 260, draw_vanilla_architecture},
    /* <<figures: registry>> */
    {"vanilla-attention", "where a trained vanilla Transformer looks while it "
     "writes a number in words", 420, 200, draw_vanilla_attention},
    /* <<figures: registry>> */
    {"bert-architecture", "BERT: an encoder with a head for masked words and "
     "one on [CLS]", 360, 200, draw_bert_architecture},
    /* <<figures: registry>> */
    {"bert-attention", "where a pre-trained BERT looks, averaged over heads",
     440, 200, draw_bert_attention},
    /* <<figures: registry>> */
    {"bert-finetune", "prose or code: accuracy against labelled lines, with and "
     "without pre-training", 360, 204, draw_bert_finetune},
    /* <<figures: registry>> */
    {"gpt-architecture", "GPT as this chapter builds it, with GPT-T's sizes",
     420, 312, draw_gpt_architecture},
    /* <<figures: registry>> */
    {"gpt-attention", "what the heads of a trained GPT-T attend to", 440, 262,
     draw_gpt_attention},
    /* <<figures: registry>> */
    {"gpt-curve", "GPT-T learning the book: losses and the unigram baseline",
     360, 204, draw_gpt_curve},
    /* <<figures: registry>> */
    {"vit-architecture", "a Vision Transformer reads an image as a sequence "
     "of patches", 360, 190, draw_vit_architecture},
    /* <<figures: registry>> */
    {"vit-attention", "where a trained ViT's CLS token looks, last block", 440,
     84, draw_vit_attention},
    /* <<figures: registry>> */
    {"tiled-attention", "the tiles of a causal head and the threads that own "
     "them, forward and backward", 440, 212, draw_tiled_attention},
    /* <<figures: registry>> */
    {"attention-scaling", "time and memory of one head's training step, "
     "naive, tiled, linear and Linformer", 440, 210, draw_attention_scaling},
    /* <<figures: registry>> */
    {"quadratic-gpt", "GPT trained with exact, tiled and linear attention: "
     "validation loss against time, and peak memory", 440, 200,
     draw_quadratic_gpt},
    /* <<figures: registry>> */
    {"card-quadratic", "the card of quadratic complexity", 440, 320,
     draw_card_quadratic},
};

/* <<figures: finding and rendering>> */
int tp_figure_count(void)
{
    return (int)(sizeof figures / sizeof figures[0]);
}

const tp_figure *tp_figure_at(int i)
{
    tp_check(i >= 0 && i < tp_figure_count(), "no figure %d", i);
    return &figures[i];
}

const tp_figure *tp_figure_find(const char *name)
{
    for (int i = 0; i < tp_figure_count(); i++)
        if (strcmp(figures[i].name, name) == 0)
            return &figures[i];
    return NULL;
}
/* <<figures: finding and rendering>> */
static cairo_surface_t *record(const tp_figure *f, tp_figure_report *report,
                               tp_error *error, int *status)
{
    cairo_rectangle_t extents = {0, 0, f->width, f->height};
    cairo_surface_t *recording =
        cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents);
    cairo_t *cr = cairo_create(recording);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    tp_draw d = {.cr = cr};
    *status = f->draw(&d, error);
    cairo_destroy(cr);
    report->missing_glyphs = d.missing_glyphs;
    report->overflows = d.overflows;
    return recording;
}
/* <<figures: finding and rendering>> */
static int write_pdf(cairo_surface_t *recording, const tp_figure *f,
                     const char *path)
{
    cairo_surface_t *pdf = cairo_pdf_surface_create(path, f->width, f->height);
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_CREATE_DATE,
                                   "2000-01-01T00:00:00Z");
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_TITLE, f->caption);
    cairo_t *cr = cairo_create(pdf);
    cairo_set_source_surface(cr, recording, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_finish(pdf);
    int status = cairo_surface_status(pdf) == CAIRO_STATUS_SUCCESS ? 0 : -1;
    cairo_surface_destroy(pdf);
    return status;
}
/* <<figures: finding and rendering>> */
static int write_png(cairo_surface_t *recording, const tp_figure *f,
                     const char *path)
{
    const double scale = 2.0;
    cairo_surface_t *image = cairo_image_surface_create(
        CAIRO_FORMAT_ARGB32, (int)ceil(f->width * scale),
        (int)ceil(f->height * scale));
    cairo_surface_set_device_scale(image, scale, scale);
    cairo_t *cr = cairo_create(image);
    cairo_set_source_surface(cr, recording, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    int status = cairo_surface_write_to_png(image, path) == CAIRO_STATUS_SUCCESS
                     ? 0 : -1;
    cairo_surface_destroy(image);
    return status;
}
/* <<figures: finding and rendering>> */
static bool same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa != NULL && fb != NULL;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa != NULL)
        fclose(fa);
    if (fb != NULL)
        fclose(fb);
    return same;
}

static int replace_if_changed(const char *fresh, const char *path)
{
    if (same_bytes(fresh, path))
        return remove(fresh);
    return rename(fresh, path);
}
/* <<figures: finding and rendering>> */
int tp_figure_render(const tp_figure *f, const char *directory,
                     tp_figure_report *report, tp_error *error)
{
    int status;
    cairo_surface_t *recording = record(f, report, error, &status);
    char pdf[4096], png[4096], fresh[4200];
    snprintf(pdf, sizeof pdf, "%s/%s.pdf", directory, f->name);
    snprintf(png, sizeof png, "%s/%s.png", directory, f->name);
    snprintf(fresh, sizeof fresh, "%s.new", pdf);
    if (status == 0 && (write_pdf(recording, f, fresh) != 0
                        || replace_if_changed(fresh, pdf) != 0))
        status = tp_error_set(error, "cannot write %s: %s", pdf,
                              strerror(errno));
    snprintf(fresh, sizeof fresh, "%s.new", png);
    if (status == 0 && (write_png(recording, f, fresh) != 0
                        || replace_if_changed(fresh, png) != 0))
        status = tp_error_set(error, "cannot write %s: %s", png,
                              strerror(errno));
    cairo_surface_destroy(recording);
    return status;
}
