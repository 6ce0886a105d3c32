/* Generated from book/310-order.nw; edit the book, not this file. */
#include "program.h"

/* <<tp order: commands>> */
static int order_steps = 600, order_letters = 12, order_batch = 32,
           order_width = 64, order_layers = 2, order_heads = 4,
           order_threads = 0;
static const char *order_tsv = NULL;

static const option order_compare_options[] = {
    {"--steps", OPTION_INT, &order_steps, 1, 1000000, "training steps"},
    {"--letters", OPTION_INT, &order_letters, 1, 100,
     "letters per string to reverse"},
    {"--batch", OPTION_INT, &order_batch, 1, 4096, "strings per step"},
    {"--width", OPTION_INT, &order_width, 4, 65536, "the model width C"},
    {"--layers", OPTION_INT, &order_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &order_heads, 1, 256, "attention heads"},
    {"--threads", OPTION_INT, &order_threads, 1, 1024,
     "threads (default: all cores)"},
    {"--tsv", OPTION_STRING, &order_tsv, 0, 0,
     "also write the results as a table, for the figures"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp order: commands>> */
typedef struct order_run {
    tp_gpt *m;
    tp_rng rng;
    int batch;
    int *inputs, *targets;
} order_run;

static void reversal_batch(order_run *r)
{
    int n = 2 * order_letters;
    for (int b = 0; b < r->batch; b++) {
        tp_example e;
        tp_task_example(TP_TASK_REVERSE, order_letters, &r->rng, &e);
        char text[sizeof e.input + sizeof e.target];
        snprintf(text, sizeof text, "%s%s", e.input, e.target);
        for (int i = 0; i < n; i++) {
            r->inputs[b * n + i] = (unsigned char)text[i];
            r->targets[b * n + i] = i >= order_letters
                                        ? (unsigned char)text[i + 1] : -1;
        }
    }
}

static tp_tensor *reversal_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    order_run *r = context;
    reversal_batch(r);
    return tp_cross_entropy(g, tp_gpt_forward(g, r->m, r->inputs, r->batch,
                                              2 * order_letters),
                            r->targets, -1);
}
/* <<tp order: commands>> */
typedef struct order_result {
    double loss, letters, strings;  /* accuracies as fractions */
} order_result;

static order_result reversal_test(order_run *r)
{
    order_result out = {0};
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    r->rng = tp_rng_seeded(999, 7);
    int n = 2 * order_letters, rounds = (512 + r->batch - 1) / r->batch;
    for (int round = 0; round < rounds; round++) {
        reversal_batch(r);
        tp_tensor *logits = tp_gpt_forward(&g, r->m, r->inputs, r->batch, n);
        out.loss += tp_cross_entropy(&g, logits, r->targets, -1)->data[0];
        /* <<order compare: count the right letters>> */
        for (int b = 0; b < r->batch; b++) {
            int right = 0;
            for (int i = order_letters; i < n; i++)
                right += argmax(logits->data + ((long)b * n + i) * 256, 256)
                         == r->targets[b * n + i];
            out.letters += right;
            out.strings += right == order_letters;
        }
        tp_graph_reset(&g);
    }
    out.loss /= rounds;
    out.letters /= (double)rounds * r->batch * order_letters;
    out.strings /= (double)rounds * r->batch;
    tp_arena_free(arena);
    return out;
}
/* <<tp order: commands>> */
static int train_reversal(tp_position_kind kind, order_result *result,
                          tp_error *error)
{
    order_run r = {.rng = tp_rng_seeded(1, 2), .batch = order_batch};
    r.m = tp_gpt_new((tp_gpt_config){256, 2 * order_letters, order_layers,
                                     order_heads, order_width, kind});
    tp_rng init = tp_rng_seeded(1, 1);
    tp_gpt_init(r.m, &init);
    r.inputs = malloc(4 * (size_t)order_batch * order_letters * sizeof(int));
    tp_check(r.inputs != NULL, "out of memory");
    r.targets = r.inputs + 2 * order_batch * order_letters;
    /* <<order compare: train>> */
    tp_optimizer *opt = tp_adamw_new(&r.m->params, 0.95f, 0.1f);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = order_steps, .warmup = order_steps / 10,
                          .max_lr = 3e-3f, .min_lr = 3e-4f, .clip = 1.0,
                          .tokens_per_step = 2L * order_batch * order_letters};
    int status = tp_train(&g, &r.m->params, opt, &o, reversal_loss, &r, NULL,
                          error);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    if (status == 0)
        *result = reversal_test(&r);
    free(r.inputs);
    tp_gpt_free(r.m);
    return status;
}
/* <<tp order: commands>> */
static int order_compare(void)
{
    if (order_tsv != NULL && check_output("order compare", order_tsv))
        return 1;
    if (order_width % order_heads != 0 || (order_width / order_heads) % 2) {
        fprintf(stderr, "tp order compare: --heads %d must divide --width %d "
                "into heads of even width\n", order_heads, order_width);
        return 2;
    }
    if (order_threads > 0)
        tp_set_threads(order_threads);
    FILE *tsv = order_tsv != NULL ? fopen(order_tsv, "w") : NULL;
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp order compare --steps %d --letters %d "
                "--batch %d --width %d --layers %d --heads %d\n"
                "positions\tloss\tletters\tstrings\n", order_steps,
                order_letters, order_batch, order_width, order_layers,
                order_heads);
    }
    printf("%-11s %8s %9s %9s\n", "positions", "loss", "letters", "strings");
    int status = 0;
    /* <<order compare: every encoding>> */
    for (int k = 0; k < TP_POSITION_KINDS && status == 0; k++) {
        order_result result;
        tp_error error;
        const char *name = tp_position_name((tp_position_kind)k);
        if (train_reversal((tp_position_kind)k, &result, &error) != 0) {
            fprintf(stderr, "tp order compare: %s\n", error.message);
            status = exit_status(1);
            break;
        }
        printf("%-11s %8.4f %8.1f%% %8.1f%%\n", name, result.loss,
               100 * result.letters, 100 * result.strings);
        fflush(stdout);
        if (tsv != NULL)
            fprintf(tsv, "%s\t%.4f\t%.4f\t%.4f\n", name, result.loss,
                    result.letters, result.strings);
    }
    if (tsv != NULL && fclose(tsv) != 0) {
        fprintf(stderr, "tp order compare: cannot write %s\n", order_tsv);
        status = 1;
    }
    return status;
}

/* <<tp order: figures>> */
enum { MAP_SIDE = 40, MAP_WIDTH = 64, MAP_KINDS = 5 };

static const tp_position_kind map_kinds[MAP_KINDS] = {
    TP_POSITIONS_SINUSOIDAL, TP_POSITIONS_RELATIVE, TP_POSITIONS_T5,
    TP_POSITIONS_ROPE, TP_POSITIONS_ALIBI};

static const char *const map_titles[MAP_KINDS] = {
    "sinusoidal: p<sub>i</sub> \xc2\xb7 p<sub>j</sub> / 32",
    "relative: clip(j \xe2\x88\x92 i)", "T5: bucket of j \xe2\x88\x92 i",
    "RoPE: R<sub>i</sub>u \xc2\xb7 R<sub>j</sub>u / d",
    "ALiBi: \xe2\x88\x92m<sub>1</sub>(i \xe2\x88\x92 j)"};
/* <<tp order: figures>> */
static void rope_map(tp_arena *a, float *out)
{
    tp_rope r;
    tp_rope_init(&r, a, MAP_WIDTH);
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    tp_tensor *ones = tp_tensor_new(a, tp_shape4(1, 1, MAP_SIDE, MAP_WIDTH),
                                    TP_NO_GRAD);
    tp_fill(ones, 1.0f);
    const float *u = tp_rope_apply(&g, ones, 0, &r)->data;
    for (int i = 0; i < MAP_SIDE; i++)
        for (int j = 0; j < MAP_SIDE; j++) {
            double s = 0.0;
            for (int c = 0; c < MAP_WIDTH; c++)
                s += (double)u[i * MAP_WIDTH + c] * u[j * MAP_WIDTH + c];
            out[i * MAP_SIDE + j] = (float)(s / MAP_WIDTH);
        }
}
/* <<tp order: figures>> */
static void score_map(tp_position_kind kind, float *out)
{
    tp_arena *a = tp_arena_new("maps");
    tp_tensor *waves = tp_sinusoids(a, MAP_SIDE, MAP_WIDTH);
    tp_tensor *alibi = tp_alibi_bias(a, 4, 0, MAP_SIDE, MAP_SIDE);
    if (kind == TP_POSITIONS_ROPE)
        rope_map(a, out);
    for (int i = 0; i < MAP_SIDE && kind != TP_POSITIONS_ROPE; i++)
        for (int j = 0; j < MAP_SIDE; j++) {
            double v = 0.0, k = TP_RELATIVE_CLIP;
            if (kind == TP_POSITIONS_SINUSOIDAL)
                for (int c = 0; c < MAP_WIDTH; c++)
                    v += (double)waves->data[i * MAP_WIDTH + c]
                         * waves->data[j * MAP_WIDTH + c] / 32;
            else if (kind == TP_POSITIONS_RELATIVE)
                v = fmax(-k, fmin(k, j - i));
            else if (kind == TP_POSITIONS_T5)
                v = tp_t5_bucket(j - i, false, TP_T5_BUCKETS,
                                 TP_T5_MAX_DISTANCE);
            else
                v = alibi->data[i * MAP_SIDE + j];
            out[i * MAP_SIDE + j] = (float)v;
        }
    tp_arena_free(a);
}
/* <<tp order: figures>> */
static void draw_score_map(tp_draw *d, int which, double x, double y,
                           double side, bool title)
{
    float values[MAP_SIDE * MAP_SIDE];
    unsigned char masked[MAP_SIDE * MAP_SIDE];
    score_map(map_kinds[which], values);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < MAP_SIDE; i++)
        for (int j = 0; j < MAP_SIDE; j++) {
            masked[i * MAP_SIDE + j] = j > i;
            if (j <= i)
                lo = fmin(lo, values[i * MAP_SIDE + j]),
                hi = fmax(hi, values[i * MAP_SIDE + j]);
        }
    tp_heatmap(d, x, y, side, side, values, MAP_SIDE, MAP_SIDE, masked, lo, hi);
    char range[64];
    snprintf(range, sizeof range, "%.3g (dark) to %.3g", lo + 0.0,
             hi == 0.0 ? 0.0 : hi);
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, x + side / 2, y + side + 3, 0.5, 0.0, 6.5, range);
    if (title)
        tp_text(d, x + side / 2, y - 4, 0.5, 1.0, 7, map_titles[which]);
}

static int draw_order_scores(tp_draw *d, tp_error *error)
{
    (void)error;
    for (int k = 0; k < MAP_KINDS; k++)
        draw_score_map(d, k, 10 + 86 * k, 22, 76, true);
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, 10, 118, 0.0, 0.0, 7, "query position i down, key position j "
            "across, 0 to 39; keys after the query masked");
    return 0;
}
/* <<tp order: figures>> */
static void accuracy_bars(tp_draw *d, const table *t, double x, double y)
{
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x, y, 0.0, 0.0, 7, "<b>letters right, reversing 12 letters</b>");
    for (int r = 0; r < t->rows; r++) {
        double row = y + 14 + 13 * r, share = t->value[r][1];
        char value[32];
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, x + 52, row, 1.0, 0.0, 7, t->label[r]);
        tp_set_color(d->cr, strcmp(t->label[r], "none") == 0
                                ? tp_rgb(0x999999) : tp_category(4));
        cairo_rectangle(d->cr, x + 56, row + 1, 130 * share, 8);
        cairo_fill(d->cr);
        snprintf(value, sizeof value, "%.0f%%", 100 * share);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, x + 60 + 130 * share, row, 0.0, 0.0, 7, value);
    }
}
/* <<tp order: figures>> */
void card_solutions(tp_draw *d, const tp_rect *panel,
                    const char *const rows[][3], int n)
{
    for (int i = 0; i < n; i++) {
        double y = panel->y + 20 + (panel->h - 24) / n * i;
        char name[64];
        snprintf(name, sizeof name, "<b>%s</b>", rows[i][0]);
        cairo_set_source_rgb(d->cr, 0, 0, 0);
        tp_text(d, panel->x + 8, y, 0.0, 0.0, 8, name);
        cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
        tp_text(d, panel->x + 8, y + 10, 0.0, 0.0, 7, rows[i][1]);
        tp_text(d, panel->x + 8, y + 19, 0.0, 0.0, 7, rows[i][2]);
    }
}
/* <<tp order: figures>> */
static int draw_card_order(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/order-reverse.tsv", t, error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>2. No sense of order</b>",
                "Attention compares every query with every key and ignores "
                "where they are",
                "Data: tp order compare (make measure-positions); maps: "
                "the library's encodings", &problem, &solutions);
        /* <<order card: the problem>> */
        double px = problem.x, py = problem.y;
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 10, py + 20, 0.0, 0.0, 7, "Without positions, \xe2\x80\x9c"
                "dog bites man.\xe2\x80\x9d = \xe2\x80\x9cman bites dog.\xe2\x80\x9d");
        tp_text(d, px + 10, py + 30, 0.0, 0.0, 7, "for one layer (a test); a causal "
                "stack learns order only indirectly");
        accuracy_bars(d, t, px + 10, py + 48);
        draw_score_map(d, 3, px + 30, py + 180, 54, false);
        draw_score_map(d, 4, px + 140, py + 180, 54, false);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 57, py + 176, 0.5, 1.0, 7, "RoPE: score of u with u");
        tp_text(d, px + 167, py + 176, 0.5, 1.0, 7, "ALiBi: bias of head 1");
        /* <<order card: the solutions>> */
        static const char *const solution[][3] = {
            {"Sinusoidal", "fixed waves added to tokens", "The vanilla Transformer"},
            {"Learned", "a table of vectors, one per position", "GPT"},
            {"Relative (Shaw)", "learned vectors of clipped distances", "this chapter"},
            {"T5 bias", "a learned number per distance bucket", "this chapter"},
            {"RoPE", "queries and keys rotated by position",
             "this chapter; scaled in Length generalisation"},
            {"ALiBi", "a fixed bias, linear in the distance",
             "this chapter; measured in Length generalisation"},
        };
        card_solutions(d, &solutions, solution, 6);
    }
    free(t);
    return status;
}

static const command order_commands[] = {
    /* <<tp order: command table>> */
    {"order compare", "train GPT to reverse strings with every encoding of "
     "positions", order_compare_options, order_compare, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure order_figures[] = {
    /* <<tp order: figure table>> */
    {"order-scores", "what each encoding adds to the scores, over query and "
     "key positions", 440, 132, draw_order_scores},
    /* <<tp order: figure table>> */
    {"card-order", "the card of no sense of order", 440, 320, draw_card_order},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part order_part = {order_commands, order_figures};
