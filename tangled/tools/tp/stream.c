/* Generated from book/360-streaming.nw; edit the book, not this file. */
#include "program.h"

/* <<tp stream: commands>> */
static const char *stream_model = "gpt.safetensors", *stream_xl = NULL,
                  *stream_tsv = NULL, *stream_cost_tsv = NULL;
static int stream_sinks = 4, stream_window = 0, stream_length = 0,
           stream_count = 4, stream_memory = 0;

static const option stream_compare_options[] = {
    {"--model", OPTION_STRING, &stream_model, 0, 0,
     "a GPT with rotary positions (tp gpt train --positions rope)"},
    {"--xl", OPTION_STRING, &stream_xl, 0, 0,
     "a Transformer-XL to read the same streams (default: none)"},
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file (default: the book)"},
    {"--sinks", OPTION_INT, &stream_sinks, 0, 65536,
     "S, the first tokens kept (default: 4)"},
    {"--window", OPTION_INT, &stream_window, 0, 65536,
     "W, the latest tokens kept (default: T - S)"},
    {"--length", OPTION_INT, &stream_length, 0, 1000000,
     "tokens in each stream (default: 16 T)"},
    {"--streams", OPTION_INT, &stream_count, 1, 1000,
     "streams, from the validation part (default: 4)"},
    {"--memory", OPTION_INT, &stream_memory, 0, 1000000,
     "M, the Transformer-XL's memory (default: its segment)"},
    {"--tsv", OPTION_STRING, &stream_tsv, 0, 0,
     "write the perplexity against the position here"},
    {"--cost-tsv", OPTION_STRING, &stream_cost_tsv, 0, 0,
     "write the time and memory per token here"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp stream: commands>> */
enum { DENSE, WINDOW, SINKS, RECOMPUTE, XL, METHODS };
enum { MAX_LAYERS = 64 };
static const char *const method_names[METHODS] = {
    "dense-cache", "window", "sinks+window", "recompute-window", "xl"};

typedef struct stream_run {
    tp_gpt *m;
    tp_xl *xl;              /* or NULL */
    int sinks, window, length, memory;
    tp_arena *scratch;
    const int *tokens;      /* the stream: length + 1 tokens */
    double *loss, *seconds; /* length each */
} stream_run;

static double token_loss(const float *logits, int vocab, int target)
{
    float most = logits[0];
    for (int i = 1; i < vocab; i++)
        most = fmaxf(most, logits[i]);
    double sum = 0.0;
    for (int i = 0; i < vocab; i++)
        sum += exp((double)logits[i] - most);
    return log(sum) + most - logits[target];
}
/* <<tp stream: commands>> */
static const float *recompute_window(stream_run *r, int t)
{
    int context = r->m->config.n_positions;
    int first = t + 1 > context ? t + 1 - context : 0, n = t + 1 - first;
    tp_graph g = tp_graph_on(r->scratch);
    tp_set_grad(&g, false);
    tp_tensor *logits = tp_gpt_forward(&g, r->m, r->tokens + first, 1, n);
    return logits->data + (long)(n - 1) * r->m->config.vocab_size;
}

static void read_with_gpt(stream_run *r, int method)
{
    int vocab = r->m->config.vocab_size;
    tp_gpt_cache *dense = method == DENSE
                              ? tp_gpt_cache_new(r->m, r->length) : NULL;
    tp_stream_cache *kept = method == WINDOW
        ? tp_stream_cache_new(r->m, 0, r->sinks + r->window)
        : method == SINKS ? tp_stream_cache_new(r->m, r->sinks, r->window)
                          : NULL;
    for (int t = 0; t < r->length; t++) {
        tp_arena_reset(r->scratch);
        double start = tp_seconds();
        const float *logits =
            dense != NULL ? tp_gpt_step(r->m, dense, r->tokens[t], r->scratch)
            : kept != NULL ? tp_stream_step(r->m, kept, r->tokens[t],
                                            r->scratch)
                           : recompute_window(r, t);
        r->seconds[t] = tp_seconds() - start;
        r->loss[t] = token_loss(logits, vocab, r->tokens[t + 1]);
    }
    tp_gpt_cache_free(dense);
    tp_stream_cache_free(kept);
}
/* <<tp stream: commands>> */
static void read_with_xl(stream_run *r)
{
    int l = r->xl->gpt->config.n_positions, vocab = r->xl->gpt->config.vocab_size;
    tp_xl_memory *memory = tp_xl_memory_new(r->xl, 1, r->memory);
    for (int first = 0; first < r->length; first += l) {
        int n = first + l <= r->length ? l : r->length - first;
        tp_arena_reset(r->scratch);
        tp_graph g = tp_graph_on(r->scratch);
        tp_set_grad(&g, false);
        double start = tp_seconds();
        tp_tensor *logits = tp_xl_forward(&g, r->xl, memory,
                                          r->tokens + first, 1, n);
        double each = (tp_seconds() - start) / n;
        for (int i = 0; i < n; i++) {
            r->seconds[first + i] = each;
            r->loss[first + i] = token_loss(logits->data + (long)i * vocab,
                                            vocab, r->tokens[first + i + 1]);
        }
    }
    tp_xl_memory_free(memory);
}
/* <<tp stream: commands>> */
static double time_prefix(stream_run *r, int t)
{
    double times[3];
    for (int round = 0; round < 3; round++) {
        tp_arena_reset(r->scratch);
        tp_graph g = tp_graph_on(r->scratch);
        tp_set_grad(&g, false);
        double start = tp_seconds();
        tp_gpt_forward(&g, r->m, r->tokens, 1, t);
        times[round] = tp_seconds() - start;
    }
    return tp_median(times, 3);
}
/* <<tp stream: commands>> */
static int stream_checks(tp_gpt *m, int *sinks, int *window, int *length)
{
    int context = m->config.n_positions;
    *window = option_given(&stream_window) ? stream_window
                                           : context - stream_sinks;
    *sinks = stream_sinks;
    *length = stream_length > 0 ? stream_length : 16 * context;
    const char *why = NULL;
    char text[256];
    if (m->config.positions != TP_POSITIONS_ROPE)
        snprintf(text, sizeof text, "%s has %s positions; --model needs "
                 "rotary ones (tp gpt train --positions rope)", stream_model,
                 tp_position_name(m->config.positions)), why = text;
    else if (*window < 1)
        why = "--window must keep at least 1 token";
    else if (*sinks + *window > context)
        snprintf(text, sizeof text, "--sinks %d and --window %d make a cache "
                 "of %d tokens; the model in %s was trained on %d", *sinks,
                 *window, *sinks + *window, stream_model, context), why = text;
    else if (*length <= context)
        snprintf(text, sizeof text, "--length %d is no longer than the "
                 "context of the model in %s, %d tokens", *length,
                 stream_model, context), why = text;
    if (why != NULL)
        fprintf(stderr, "tp stream compare: %s\n", why);
    return why != NULL ? 1 : 0;
}
/* <<tp stream: commands>> */
static int xl_checks(tp_xl **xl, int length)
{
    *xl = NULL;
    if (stream_xl == NULL)
        return 0;
    tp_error error;
    if ((*xl = tp_xl_load(stream_xl, &error)) == NULL) {
        fprintf(stderr, "tp stream compare: --xl: %s\n", error.message);
        return 1;
    }
    if (!option_given(&stream_memory))
        stream_memory = (*xl)->gpt->config.n_positions;
    if (stream_memory > length) {
        fprintf(stderr, "tp stream compare: --memory %d is longer than the "
                "stream (--length %d)\n", stream_memory, length);
        tp_xl_free(*xl);
        *xl = NULL;
        return 1;
    }
    return 0;
}
/* <<tp stream: commands>> */
static int stream_compare_on(stream_run *r, const tp_corpus *validation);

static int stream_compare(void)
{
    if ((stream_tsv != NULL && check_output("stream compare", stream_tsv))
        || (stream_cost_tsv != NULL
            && check_output("stream compare", stream_cost_tsv)))
        return 1;
    tp_error error;
    stream_run r = {0};
    if ((r.m = tp_gpt_load(stream_model, NULL, &error)) == NULL) {
        fprintf(stderr, "tp stream compare: %s\n", error.message);
        return 1;
    }
    int status = stream_checks(r.m, &r.sinks, &r.window, &r.length);
    if (status == 0)
        status = xl_checks(&r.xl, r.length);
    r.memory = stream_memory;
    tp_corpus corpus, train, validation;
    if (status == 0 && (status = load_corpus("stream compare", &corpus)) == 0) {
        tp_corpus_split(&corpus, &train, &validation);
        status = stream_compare_on(&r, &validation);
        tp_corpus_free(&corpus);
    }
    if (r.xl != NULL)
        tp_xl_free(r.xl);
    tp_gpt_free(r.m);
    return status;
}
/* <<tp stream: commands>> */
static void first_token_attention(const stream_run *r, const int *stream,
                                  double *share, double *uniform)
{
    int t = r->m->config.n_positions, heads = r->m->config.n_head;
    tp_arena_reset(r->scratch);
    tp_tensor **maps = tp_gpt_attention_maps(r->m, stream, t, r->scratch);
    *uniform = 0.0;
    for (int l = 0; l < r->m->config.n_layer && l < MAX_LAYERS; l++)
        for (int h = 0; h < heads; h++)
            for (int i = t / 2; i < t; i++) {
                share[l] += maps[l]->data[((long)h * t + i) * t]
                            / (heads * (t - t / 2));
                if (l == 0 && h == 0)
                    *uniform += 1.0 / (i + 1) / (t - t / 2);
            }
}
/* <<tp stream: commands>> */
typedef struct stream_sums {
    int length, streams;
    double *loss[METHODS], *seconds[METHODS];
    double first_share[MAX_LAYERS], uniform;  /* of first_token_attention */
} stream_sums;

static void read_every_way(stream_run *r, stream_sums *sums,
                           const int *stream, int index)
{
    double *loss = malloc(2 * (size_t)r->length * sizeof *loss);
    tp_check(loss != NULL, "out of memory");
    r->tokens = stream, r->loss = loss, r->seconds = loss + r->length;
    for (int method = 0; method < METHODS; method++) {
        if (method == XL && r->xl == NULL)
            continue;
        if (method == XL)
            read_with_xl(r);
        else
            read_with_gpt(r, method);
        for (int t = 0; t < r->length; t++) {
            sums->loss[method][t] += r->loss[t];
            if (index == 0)
                sums->seconds[method][t] = r->seconds[t];
        }
    }
    free(loss);
}
/* <<tp stream: commands>> */
static void report(const stream_run *r, const stream_sums *s);
static int write_tables(const stream_run *r, const stream_sums *s,
                        const int *first_stream);

static int stream_compare_on(stream_run *r, const tp_corpus *validation)
{
    long room = validation->size - r->length - 1;
    if (room < stream_count) {
        fprintf(stderr, "tp stream compare: the validation part (%ld bytes) "
                "is too short for %d streams of --length %d\n",
                validation->size, stream_count, r->length);
        return 1;
    }
    int *tokens = malloc((size_t)validation->size * sizeof *tokens);
    stream_sums s = {r->length, stream_count, {0}, {0}, {0}, 0.0};
    for (int i = 0; i < METHODS; i++) {
        s.loss[i] = calloc((size_t)r->length, sizeof(double));
        s.seconds[i] = calloc((size_t)r->length, sizeof(double));
        tp_check(s.loss[i] != NULL && s.seconds[i] != NULL, "out of memory");
    }
    tp_check(tokens != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, validation->bytes, validation->size, tokens);
    r->scratch = tp_arena_new("stream");
    /* <<stream compare: read every stream every way>> */
    for (int i = 0; i < stream_count; i++) {
        long first = room / stream_count * i;
        fprintf(stderr, "\rstream %d of %d", i + 1, stream_count);
        read_every_way(r, &s, tokens + first, i);
        first_token_attention(r, tokens + first, s.first_share, &s.uniform);
    }
    fprintf(stderr, "\n");
    report(r, &s);
    int status = write_tables(r, &s, tokens);
    tp_arena_free(r->scratch);
    for (int i = 0; i < METHODS; i++)
        free(s.loss[i]), free(s.seconds[i]);
    free(tokens);
    return status;
}
/* <<tp stream: commands>> */
static double perplexity(const stream_sums *s, int method, int from, int to)
{
    double sum = 0.0;
    for (int t = from; t < to; t++)
        sum += s->loss[method][t];
    return exp(sum / ((double)(to - from) * s->streams));
}

static double seconds_at(const stream_sums *s, int method, int from, int to)
{
    double times[4096];
    int n = 0;
    for (int t = from; t < to && n < 4096; t++)
        times[n++] = s->seconds[method][t];
    return tp_median(times, n);
}
/* <<tp stream: commands>> */
static double kib_held(const stream_run *r, int method, int t)
{
    const tp_gpt_config *c = &r->m->config;
    double per_token = 2.0 * c->n_layer * r->m->modern.kv_heads
                       * (c->n_embd / c->n_head) * sizeof(float) / 1024;
    int kept = method == DENSE ? t + 1
               : method == RECOMPUTE ? (t + 1 < c->n_positions ? t + 1
                                                              : c->n_positions)
               : t + 1 < r->sinks + r->window ? t + 1 : r->sinks + r->window;
    if (method == XL) {
        const tp_gpt_config *x = &r->xl->gpt->config;
        return (double)x->n_layer * x->n_embd * sizeof(float)
               * (t < r->memory ? t : r->memory) / 1024;
    }
    return per_token * kept;
}
/* <<tp stream: commands>> */
static void report(const stream_run *r, const stream_sums *s)
{
    int context = r->m->config.n_positions, n = r->length;
    printf("%d streams of %d tokens; the model's context T = %d; sinks %d, "
           "window %d\n%-17s %10s %10s %10s %12s %10s\n", s->streams, n,
           context, r->sinks, r->window, "method", "ppl t<T", "ppl t>=T",
           "ppl last T", "ms/token end", "KiB end");
    for (int m = 0; m < METHODS; m++) {
        if (m == XL && r->xl == NULL)
            continue;
        printf("%-17s %10.3f %10.3f %10.3f %12.3f %10.1f\n", method_names[m],
               perplexity(s, m, 0, context), perplexity(s, m, context, n),
               perplexity(s, m, n - context, n),
               1e3 * seconds_at(s, m, n - context, n), kib_held(r, m, n - 1));
    }
    double inside = perplexity(s, DENSE, 0, context);
    printf("sinks+window beyond T against the full cache inside T: %.3f; "
           "window alone: %.3f\n", perplexity(s, SINKS, context, n) / inside,
           perplexity(s, WINDOW, context, n) / inside);
    for (int l = 0; l < r->m->config.n_layer && l < MAX_LAYERS; l++)
        printf("layer %d: attention on the first token %.3f (uniform %.3f)\n",
               l, s->first_share[l] / s->streams, s->uniform);
}
/* <<tp stream: commands>> */
static void table_header(FILE *f, const stream_run *r)
{
    tp_describe_machine(f);
    fprintf(f, "# written by: tp stream compare --model %s%s%s --sinks %d "
            "--window %d --length %d --streams %d --memory %d\n"
            "# threads: %d\n", stream_model, r->xl != NULL ? " --xl " : "",
            r->xl != NULL ? stream_xl : "", r->sinks, r->window, r->length,
            stream_count, r->memory, tp_threads());
}

static void write_perplexity(FILE *f, const stream_run *r,
                             const stream_sums *s, int rows, int bucket)
{
    fprintf(f, "position");
    for (int m = 0; m < METHODS; m++)
        fprintf(f, "\t%s", method_names[m]);
    fprintf(f, "\n");
    for (int b = 0; b < rows; b++) {
        fprintf(f, "%d", b * bucket);
        for (int m = 0; m < METHODS; m++)
            fprintf(f, "\t%.4f", m == XL && r->xl == NULL
                                     ? NAN
                                     : perplexity(s, m, b * bucket,
                                                  (b + 1) * bucket));
        fprintf(f, "\n");
    }
}
/* <<tp stream: commands>> */
static void write_cost(FILE *f, stream_run *r, const stream_sums *s,
                       int rows, int bucket)
{
    fprintf(f, "position\trecompute-prefix_ms");
    for (int m = 0; m < METHODS; m++)
        fprintf(f, "\t%s_ms", method_names[m]);
    for (int m = 0; m < METHODS; m++)
        fprintf(f, "\t%s_KiB", method_names[m]);
    fprintf(f, "\n");
    for (int b = 0; b < rows; b++) {
        int end = (b + 1) * bucket;
        fprintf(f, "%d\t%.4f", end - 1, 1e3 * time_prefix(r, end));
        for (int m = 0; m < METHODS; m++)
            fprintf(f, "\t%.4f", m == XL && r->xl == NULL
                                     ? NAN
                                     : 1e3 * seconds_at(s, m, b * bucket, end));
        for (int m = 0; m < METHODS; m++)
            fprintf(f, "\t%.2f", m == XL && r->xl == NULL
                                     ? NAN : kib_held(r, m, end - 1));
        fprintf(f, "\n");
    }
}
/* <<tp stream: commands>> */
static int write_tables(const stream_run *r, const stream_sums *s,
                        const int *first_stream)
{
    int bucket = r->m->config.n_positions / 2 > 0 ? r->m->config.n_positions / 2
                                                  : 1;
    int rows = r->length / bucket;
    stream_run timed = *r;
    timed.tokens = first_stream;
    const char *paths[2] = {stream_tsv, stream_cost_tsv};
    for (int i = 0; i < 2; i++) {
        if (paths[i] == NULL)
            continue;
        FILE *f = fopen(paths[i], "w");
        if (f == NULL) {
            fprintf(stderr, "tp stream compare: cannot write %s\n", paths[i]);
            return 1;
        }
        table_header(f, r);
        for (int l = 0; l < r->m->config.n_layer && l < MAX_LAYERS; l++)
            fprintf(f, "# layer %d first-token attention %.4f uniform %.4f\n",
                    l, s->first_share[l] / s->streams, s->uniform);
        if (i == 0)
            write_perplexity(f, r, s, rows, bucket);
        else
            write_cost(f, &timed, s, rows, bucket);
        fclose(f);
    }
    return 0;
}

/* <<tp stream: figures>> */
static const char *const plotted[] = {"dense-cache", "window",
                                      "sinks+window", "recompute-window",
                                      "xl"};

static tp_color method_color(int m)
{
    static const int category[] = {5, 7, 2, 0, 4};
    return tp_category(category[m]);
}

static int column_series(const table *t, int column, double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows; r++)
        if (isfinite(t->value[r][column]) && t->value[r][column] > 0) {
            x[n] = strtod(t->label[r], NULL);
            y[n++] = t->value[r][column];
        }
    return n;
}
/* <<tp stream: figures>> */
static double column_max(const table *t, int from, int to)
{
    double most = 0;
    for (int r = 0; r < t->rows; r++)
        for (int c = from; c < to; c++)
            if (isfinite(t->value[r][c]))
                most = fmax(most, t->value[r][c]);
    return most;
}

static int read_stream_tables(table *p, table *c, tp_error *error)
{
    int status = read_table("figures/data/stream-perplexity.tsv", p, error);
    if (status == 0 && c != NULL)
        status = read_table("figures/data/stream-cost.tsv", c, error);
    return status;
}
/* <<tp stream: figures>> */
static void perplexity_panel(tp_plot *p, const table *t, bool legend)
{
    tp_plot_frame(p);
    tp_legend_entry entries[5];
    int n = 0;
    for (int m = 0; m < 5 && m < t->cols; m++) {
        double x[TABLE_ROWS], y[TABLE_ROWS];
        int k = column_series(t, m, x, y);
        if (k == 0)
            continue;
        tp_plot_line(p, x, y, k, method_color(m), m == RECOMPUTE, false);
        entries[n++] = (tp_legend_entry){plotted[m], method_color(m),
                                         m == RECOMPUTE};
    }
    double context = 2 * strtod(t->label[1], NULL);
    double xs[2] = {context, context}, ys[2] = {p->ay.lo, p->ay.hi};
    tp_plot_line(p, xs, ys, 2, tp_rgb(0x999999), true, false);
    if (legend)
        tp_plot_legend(p, entries, n, TP_TOP_LEFT);
}
/* <<tp stream: figures>> */
static void relative_to_recomputation(table *t)
{
    for (int r = 0; r < t->rows; r++) {
        double reference = t->value[r][RECOMPUTE];
        for (int m = 0; m < t->cols; m++)
            t->value[r][m] /= reference;
    }
}

static int draw_stream_perplexity(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_stream_tables(t, NULL, error);
    if (status == 0) {
        tp_axis position = {.lo = 0, .hi = strtod(t->label[t->rows - 1], NULL),
                            .label = "position in the stream"};
        tp_plot raw = {d, 46, 12, 165, 150, position,
                       {.lo = 0, .hi = 1.05 * column_max(t, 0, t->cols),
                        .label = "perplexity"}};
        perplexity_panel(&raw, t, false);
        relative_to_recomputation(t);
        tp_plot relative = {d, 262, 12, 165, 150, position,
                            {.lo = 0.8, .hi = 1.05 * column_max(t, 0, t->cols),
                             .label = "against the recomputed window"}};
        perplexity_panel(&relative, t, true);
    }
    free(t);
    return status;
}
/* <<tp stream: figures>> */
static void cost_panel(tp_plot *p, const table *t, int first, int count,
                       bool legend_top)
{
    tp_plot_frame(p);
    tp_legend_entry entries[6];
    int n = 0;
    for (int i = 0; i < count; i++) {
        int column = first + i, m = first == 0 ? i - 1 : i;
        double x[TABLE_ROWS], y[TABLE_ROWS];
        int k = column_series(t, column, x, y);
        if (k == 0 || (first != 0 && (m == WINDOW || m == RECOMPUTE)))
            continue;
        tp_color color = m < 0 ? tp_rgb(0x000000) : method_color(m);
        tp_plot_line(p, x, y, k, color, m == RECOMPUTE, false);
        entries[n++] = (tp_legend_entry){m < 0 ? "recompute-prefix"
                                               : plotted[m], color,
                                         m == RECOMPUTE};
    }
    tp_plot_legend(p, entries, n, legend_top ? TP_TOP_LEFT
                                          : TP_BOTTOM_RIGHT);
}
/* <<tp stream: figures>> */
static int draw_stream_cost(tp_draw *d, tp_error *error)
{
    table *p = calloc(1, sizeof *p), *t = calloc(1, sizeof *t);
    tp_check(p != NULL && t != NULL, "out of memory");
    int status = read_stream_tables(p, t, error);
    if (status == 0) {
        double last = strtod(t->label[t->rows - 1], NULL) + 1;
        tp_axis position = {.lo = 0, .hi = last, .label = "position"};
        tp_plot time = {d, 46, 12, 165, 150, position,
                        {.lo = 0.001, .hi = 2 * column_max(t, 0, 6),
                         .log = true, .label = "milliseconds per token"}};
        tp_plot memory = {d, 262, 12, 165, 150, position,
                          {.lo = 0, .hi = 1.05 * column_max(t, 6, 11),
                           .label = "KiB held"}};
        cost_panel(&time, t, 0, 6, false);
        cost_panel(&memory, t, 6, 5, true);
    }
    free(p), free(t);
    return status;
}
/* <<tp stream: figures>> */
static int draw_stream_cache(tp_draw *d, tp_error *error)
{
    (void)error;
    enum { N = 22, S = 3, W = 8 };
    double cell = 16, x0 = 40, y0 = 34;
    tp_text(d, x0 - 6, y0 + 6, 1.0, 0.5, 8, "stream");
    tp_text(d, x0 - 6, y0 + 30, 1.0, 0.5, 8, "position");
    for (int t = 0; t < N; t++) {
        bool sink = t < S, window = t >= N - W;
        tp_color fill = sink ? tp_category(4) : window ? tp_category(2)
                                                      : tp_rgb(0xdddddd);
        tp_rounded_box(d, x0 + t * cell, y0, cell - 2, 12, 2, fill,
                       tp_rgb(0x555555));
        char label[8];
        snprintf(label, sizeof label, "%d", sink ? t : window
                                                           ? S + t - (N - W)
                                                           : -1);
        if (sink || window)
            tp_text(d, x0 + t * cell + cell / 2 - 1, y0 + 30, 0.5, 0.5, 7,
                    label);
    }
    /* <<stream cache figure: the labels>> */
    tp_text(d, x0 + S * cell / 2, y0 - 10, 0.5, 0.5, 8, "S sinks");
    tp_text(d, x0 + (S + (N - W - S) / 2.0) * cell, y0 - 10, 0.5, 0.5, 8,
            "evicted");
    tp_text(d, x0 + (N - W / 2.0) * cell, y0 - 10, 0.5, 0.5, 8,
            "window of W, the new token last");
    tp_text(d, x0 + N * cell / 2, y0 + 50, 0.5, 0.5, 7,
            "keys kept unrotated; each step rotates them by their place in "
            "the cache, 0 to S + W \xe2\x88\x92 1");
    return 0;
}
/* <<tp stream: figures>> */
static double perplexity_beyond(const table *p, int m)
{
    double context = 2 * strtod(p->label[1], NULL), sum = 0;
    int n = 0;
    for (int r = 0; r < p->rows; r++)
        if (strtod(p->label[r], NULL) >= context) {
            sum += log(p->value[r][m]);
            n++;
        }
    return exp(sum / n);  /* buckets of equal size: exp of the mean loss */
}

static void card_stream_numbers(tp_draw *d, const table *p, const table *c,
                                double x, double y)
{
    int last = c->rows - 1;
    char line[160];
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    snprintf(line, sizeof line, "<b>past T: perplexity; at token %.0f: time, "
             "memory</b>", strtod(c->label[last], NULL) + 1);
    tp_text(d, x, y, 0.0, 0.0, 7, line);
    for (int m = 0, i = 0; m < METHODS; m++) {
        if (!isfinite(c->value[last][1 + m]))
            continue;
        snprintf(line, sizeof line, "%s: %.2f; %.2f ms, %.0f KiB",
                 plotted[m], perplexity_beyond(p, m), c->value[last][1 + m],
                 c->value[last][6 + m]);
        tp_set_color(d->cr, method_color(m));
        tp_text(d, x, y + 11 * ++i, 0.0, 0.0, 7, line);
    }
    snprintf(line, sizeof line, "recomputing the whole prefix: %.0f ms",
             c->value[last][0]);
    cairo_set_source_rgb(d->cr, 0, 0, 0);
    tp_text(d, x, y + 11 * 6 + 2, 0.0, 0.0, 7, line);
}
/* <<tp stream: figures>> */
static int draw_card_streaming(tp_draw *d, tp_error *error)
{
    table *p = calloc(1, sizeof *p), *c = calloc(1, sizeof *c);
    tp_check(p != NULL && c != NULL, "out of memory");
    int status = read_stream_tables(p, c, error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>12. No streaming</b>",
                "An endless stream: the cache grows, and past the trained "
                "context the model breaks",
                "Data: tp stream compare (make measure-stream)", &problem,
                &solutions);
        /* <<stream card: the problem>> */
        double px = problem.x, py = problem.y;
        double last = strtod(p->label[p->rows - 1], NULL);
        tp_plot plot = {d, px + 30, py + 30, 200, 100,
                        {.lo = 0, .hi = last, .label = "position"},
                        {.lo = 0, .hi = 1.05 * column_max(p, 0, p->cols)}};
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 130, py + 18, 0.5, 0.0, 7,
                "perplexity against the position (dashed: T)");
        perplexity_panel(&plot, p, false);
        card_stream_numbers(d, p, c, px + 12, py + 168);
        /* <<stream card: the solutions>> */
        static const char *const rows[][3] = {
            {"Transformer-XL", "segments, and the states of the last M positions",
             "Part II, Transformer-XL; read here"},
            {"Chunk attention", "a chunk and the one before: O(L) a token",
             "this chapter"},
            {"Attention sinks", "the first S tokens and a window of W",
             "this chapter (StreamingLLM)"},
            {"Delta attention", "only the new tokens' rows; keys appended",
             "this chapter"},
        };
        card_solutions(d, &solutions, rows, 4);
    }
    free(p), free(c);
    return status;
}

static const command stream_commands[] = {
    /* <<tp stream: command table>> */
    {"stream compare", "read long streams with a GPT: the full KV cache, a "
     "window, sinks and a window, a recomputed window, a Transformer-XL",
     stream_compare_options, stream_compare, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure stream_figures[] = {
    /* <<tp stream: figure table>> */
    {"stream-perplexity", "streams of 16 contexts: the perplexity against the "
     "position, each way of reading", 440, 200, draw_stream_perplexity},
    {"stream-cost", "streams of 16 contexts: time and memory per token against "
     "the position", 440, 200, draw_stream_cost},
    /* <<tp stream: figure table>> */
    {"stream-cache", "the cache of attention sinks and a window: what it keeps, "
     "and the positions it gives", 440, 100, draw_stream_cache},
    /* <<tp stream: figure table>> */
    {"card-streaming", "the card of no streaming", 440, 320,
     draw_card_streaming},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part stream_part = {stream_commands, stream_figures};
