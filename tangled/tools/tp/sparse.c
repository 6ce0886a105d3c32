/* Generated from book/248-sparse.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "program.h"

/* <<tp sparse: what every command shares>> */
enum { DENSE, STRIDED, FIXED, ATTENTIONS };
static const char *const attention_names[ATTENTIONS] = {"dense", "strided",
                                                        "fixed"};

static int attention_named(const char *name)
{
    for (int a = 0; a < ATTENTIONS; a++)
        if (strcmp(name, attention_names[a]) == 0)
            return a;
    return -1;
}
/* <<tp sparse: commands>> */
static int sc_min = 1024, sc_max = 16384, sc_stride = 0, sc_block = 32,
           sc_threads = 0;
static const char *sc_tsv = NULL;

static const option sparse_compare_options[] = {
    {"--min", OPTION_INT, &sc_min, 64, 1 << 20, "the shortest N (default: 1024)"},
    {"--max", OPTION_INT, &sc_max, 64, 1 << 20,
     "the longest N; lengths double from --min (default: 16384)"},
    {"--stride", OPTION_INT, &sc_stride, 0, 1 << 20,
     "l at every N (default: the power of two nearest sqrt(N))"},
    {"--block", OPTION_INT, &sc_block, 1, TP_BLOCK_MAX, "b (default: 32)"},
    {"--threads", OPTION_INT, &sc_threads, 1, 1024,
     "the most threads (default: all cores); also timed on one"},
    {"--tsv", OPTION_STRING, &sc_tsv, 0, 0, "write the table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp sparse: commands>> */
typedef struct timed_step {
    int method;
    tp_tensor *q, *k, *v, *seed;
    tp_sparse_config config[2];     /* strided, fixed */
    const tp_block_layout *causal;  /* dense: every block up to the diagonal */
    tp_arena *step;
} timed_step;

static tp_block_kind up_to_diagonal(int row, int col, void *context)
{
    (void)context;
    return col <= row ? TP_BLOCK_FULL : TP_BLOCK_EMPTY;
}

static void training_step(void *context)
{
    timed_step *timed = context;
    tp_arena_reset(timed->step);
    tp_graph g = tp_graph_on(timed->step);
    tp_attention_options o = {.causal = true};
    tp_tensor *out = timed->method == DENSE
        ? tp_attention_block_sparse(&g, timed->q, timed->k, timed->v,
                                    timed->causal, &o)
        : tp_sparse_attention(&g, timed->q, timed->k, timed->v,
                              &timed->config[timed->method - 1]);
    tp_backward_from(&g, out, timed->seed);
}
/* <<tp sparse: commands>> */
static void time_methods(timed_step *timed, int n, int threads, FILE *tsv)
{
    double ms[ATTENTIONS], mib[ATTENTIONS];
    tp_set_threads(threads);
    for (int m = 0; m < ATTENTIONS && !interrupted; m++) {
        timed->method = m;
        time_at_length(training_step, timed, timed->step, attention_names[m],
                       n, threads, tsv, &ms[m], &mib[m]);
    }
    if (interrupted)
        return;
    printf("%6d %3d %4d %10.1f %10.1f %10.1f %7.1fx %7.1fx %8.1f %8.1f %8.1f\n",
           n, threads, timed->config[0].stride, ms[DENSE], ms[STRIDED],
           ms[FIXED],
           ms[DENSE] / ms[STRIDED], ms[DENSE] / ms[FIXED], mib[DENSE],
           mib[STRIDED], mib[FIXED]);
    fflush(stdout);
}
/* <<tp sparse: commands>> */
void time_at_length(void (*step)(void *), void *context, tp_arena *arena,
                    const char *method, int n, int threads, FILE *tsv,
                    double *ms, double *mib)
{
    int runs = n <= 2048 ? 5 : n <= 4096 ? 3 : 1;
    tp_arena_reset(arena);  /* the last method's step, then its peak */
    tp_arena_reset_peak(arena);
    if (runs > 1)
        step(context);  /* once to warm up */
    *ms = tp_time(step, context, runs).median * 1e3;
    *mib = (double)tp_arena_peak(arena) / (1 << 20);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%d\t%d\t%.3f\t%.2f\n", method, n, threads, *ms,
                *mib);
}
/* <<tp sparse: commands>> */
static tp_sparse_config compare_config(tp_sparse_kind kind, int n)
{
    tp_sparse_config config = tp_sparse_default(kind, n);
    if (sc_stride > 0)
        config.stride = sc_stride,
        config.summary = sc_stride / 4 > 1 ? sc_stride / 4 : 1;
    config.block = sc_block;
    return config;
}

static void time_length(int n, const int threads[2], FILE *tsv, tp_rng *rng)
{
    tp_arena *inputs = tp_arena_new("sparse inputs");
    tp_shape shape = tp_shape4(1, 2, n, 64);
    timed_step timed = {
        .q = tp_tensor_normal(inputs, shape, TP_WITH_GRAD, rng),
        .k = tp_tensor_normal(inputs, shape, TP_WITH_GRAD, rng),
        .v = tp_tensor_normal(inputs, shape, TP_WITH_GRAD, rng),
        .seed = tp_tensor_normal(inputs, shape, TP_NO_GRAD, rng),
        .config = {compare_config(TP_SPARSE_STRIDED, n),
                   compare_config(TP_SPARSE_FIXED, n)},
        .causal = tp_block_layout_new(inputs, n, n, sc_block, up_to_diagonal,
                                      NULL),
        .step = tp_arena_new("sparse step")};
    for (int t = 0; t < 2; t++)
        if (t == 0 || threads[1] != 1)
            time_methods(&timed, n, threads[t], tsv);
    tp_arena_free(timed.step), tp_arena_free(inputs);
}
/* <<tp sparse: commands>> */
static int check_stride(const char *command, int stride, int length)
{
    tp_sparse_pattern p = {length, stride, 1, TP_SPARSE_PREVIOUS};
    tp_error error;
    if (tp_sparse_check(&p, &error) == 0)
        return 0;
    fprintf(stderr, "tp %s: --stride %d: %s\n", command, stride,
            error.message);
    return 1;
}

static int check_compare_options(void)
{
    if (option_given(&sc_stride)
        && check_stride("sparse compare", sc_stride, sc_min) != 0)
        return 1;
    if (sc_max < sc_min) {
        fprintf(stderr, "tp sparse compare: --max %d is below --min %d\n",
                sc_max, sc_min);
        return 1;
    }
    return 0;
}
/* <<tp sparse: commands>> */
static FILE *open_time_table(void)
{
    FILE *f = fopen(sc_tsv, "w");
    if (f == NULL) {
        perror(sc_tsv);
        return NULL;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp sparse compare --min %d --max %d --stride %d "
            "--block %d\n# two heads, d = 64, batch 1; forward and backward "
            "of the attention\nmethod\tn\tthreads\tstep_ms\tpeak_mib\n",
            sc_min, sc_max, sc_stride, sc_block);
    return f;
}

static int sparse_compare(void)
{
    if (check_compare_options() != 0)
        return 1;
    if (sc_threads > 0)
        tp_set_threads(sc_threads);
    catch_interrupts();
    FILE *tsv = sc_tsv != NULL ? open_time_table() : NULL;
    if (sc_tsv != NULL && tsv == NULL)
        return 1;
    /* <<tp sparse: time every length>> */
    tp_describe_machine(stdout);
    printf("# two heads, d = 64; training step of the attention (ms, median); "
           "blocks of %d\n%6s %3s %4s %10s %10s %10s %8s %8s %8s %8s %8s\n",
           sc_block, "N", "thr", "l", "dense", "strided", "fixed", "dns/str",
           "dns/fix", "MiB dns", "MiB str", "MiB fix");
    int threads[2] = {1, tp_threads()};
    tp_rng rng = tp_rng_seeded(248, 3);
    for (int n = sc_min; n <= sc_max && !interrupted; n *= 2)
        time_length(n, threads, tsv, &rng);
    return exit_status(tsv != NULL && fclose(tsv) != 0 ? 1 : 0);
}
/* <<tp sparse: commands>> */
static int st_steps = 300, st_batch = 4, st_width = 64, st_layers = 2,
           st_heads = 4, st_eval_every = 50, st_eval_images = 16,
           st_samples = 4;
static const char *st_attention = NULL, *st_tsv = NULL, *st_save = NULL,
                  *st_samples_tsv = NULL;

static const option sparse_train_options[] = {
    {"--steps", OPTION_INT, &st_steps, 1, 1000000, "training steps"},
    {"--batch", OPTION_INT, &st_batch, 1, 4096, "pictures per step"},
    {"--width", OPTION_INT, &st_width, 4, 65536, "the model width C"},
    {"--layers", OPTION_INT, &st_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &st_heads, 2, 256, "attention heads (even)"},
    {"--attention", OPTION_STRING, &st_attention, 0, 0,
     "dense, strided or fixed (default: all three)"},
    {"--eval-every", OPTION_INT, &st_eval_every, 1, 1000000,
     "steps between evaluations"},
    {"--eval-images", OPTION_INT, &st_eval_images, 1, 1 << 20,
     "held-out pictures of each evaluation (default: 16)"},
    {"--tsv", OPTION_STRING, &st_tsv, 0, 0, "also write the curves as a table"},
    {"--save", OPTION_STRING, &st_save, 0, 0,
     "save each model as PREFIX-NAME.safetensors"},
    {"--samples-tsv", OPTION_STRING, &st_samples_tsv, 0, 0,
     "draw pictures from each model, and real ones, into a table"},
    {"--samples", OPTION_INT, &st_samples, 1, 4,
     "pictures drawn per model for --samples-tsv (default: 4)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp sparse: commands>> */
typedef struct image_run {
    tp_gpt *m;
    int attention;
    tp_rng data;
    int *inputs, *targets;
    FILE *tsv;
    double bpp;  /* the last held-out bits per pixel */
} image_run;

static tp_tensor *image_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    image_run *r = context;
    tp_sparse_images(&r->data, st_batch, r->inputs, r->targets);
    return tp_gpt_loss(g, r->m, r->inputs, r->targets, st_batch,
                       TP_SPARSE_PIXELS);
}
/* <<tp sparse: commands>> */
static double held_out_bpp(tp_gpt *m, int images)
{
    enum { AT_ONCE = 4 };
    static int inputs[AT_ONCE * TP_SPARSE_PIXELS],
        targets[AT_ONCE * TP_SPARSE_PIXELS];
    tp_rng rng = tp_rng_seeded(248, 99);  /* never a training stream */
    tp_arena *arena = tp_arena_new("sparse evaluation");
    double nats = 0.0;
    for (int done = 0; done < images; done += AT_ONCE) {
        int n = images - done < AT_ONCE ? images - done : AT_ONCE;
        tp_arena_reset(arena);
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_sparse_images(&rng, n, inputs, targets);
        nats += n * (double)tp_gpt_loss(&g, m, inputs, targets, n,
                                        TP_SPARSE_PIXELS)->data[0];
    }
    tp_arena_free(arena);
    return nats / images / log(2.0);
}
/* <<tp sparse: commands>> */
static bool image_progress(const tp_progress *p, void *context)
{
    image_run *r = context;
    if ((p->step + 1) % st_eval_every != 0 && p->step + 1 != p->steps)
        return !interrupted;
    r->bpp = held_out_bpp(r->m, st_eval_images);
    const char *name = attention_names[r->attention];
    double train = p->loss / log(2.0);
    printf("%-7s step %5ld  train %.3f  held-out %.3f bits/pixel  %7.1f s\n",
           name, p->step + 1, train, r->bpp, p->seconds);
    fflush(stdout);
    if (r->tsv != NULL)
        fprintf(r->tsv, "%s\t%ld\t%.4f\t%.4f\t%.2f\n", name, p->step + 1,
                train, r->bpp, p->seconds);
    return !interrupted;
}
/* <<tp sparse: commands>> */
static tp_attention_op *const attention_ops[ATTENTIONS] = {
    tp_attention_tiled, tp_sparse_strided, tp_sparse_fixed};

static tp_gpt *image_model(int attention)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){TP_SPARSE_VOCAB, TP_SPARSE_PIXELS,
                                           st_layers, st_heads, st_width,
                                           TP_POSITIONS_LEARNED});
    m->attention = attention_ops[attention];
    tp_rng init = tp_rng_seeded(248, 1);
    tp_gpt_init(m, &init);
    return m;
}
/* <<tp sparse: commands>> */
static int save_model(const image_run *r, tp_error *error)
{
    char path[4096];
    snprintf(path, sizeof path, "%s-%s.safetensors", st_save,
             attention_names[r->attention]);
    tp_metadata meta = {0};
    tp_metadata_set(&meta, "attention", attention_names[r->attention]);
    int status = tp_gpt_save(r->m, path, NULL, 0, &meta, error);
    if (status == 0)
        printf("# saved %s\n", path);
    return status;
}
/* <<tp sparse: commands>> */
static int train_one(image_run *r)
{
    r->m = image_model(r->attention);
    r->data = tp_rng_seeded(248, 2);
    tp_optimizer *opt = tp_adamw_new(&r->m->params, 0.95f, 0.01f);
    tp_arena *step = tp_arena_new("sparse step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = st_steps, .warmup = st_steps / 10,
                          .max_lr = 3e-3f, .min_lr = 3e-4f, .clip = 1.0,
                          .tokens_per_step = (long)st_batch * TP_SPARSE_PIXELS,
                          .progress = image_progress, .progress_context = r};
    tp_error error;
    int status = tp_train(&g, &r->m->params, opt, &o, image_loss, r, NULL,
                          &error);
    if (status == 0 && st_save != NULL)
        status = save_model(r, &error);
    if (status != 0)
        fprintf(stderr, "tp sparse train: %s\n", error.message);
    tp_arena_free(step), tp_optimizer_free(opt);
    return status;
}
/* <<tp sparse: commands>> */
static int check_train_options(void)
{
    if (st_attention != NULL && attention_named(st_attention) < 0) {
        fprintf(stderr, "tp sparse train: --attention %s: not dense, strided "
                "or fixed\n", st_attention);
        return 1;
    }
    if (st_heads % 2 != 0 || st_width % st_heads != 0) {
        fprintf(stderr, "tp sparse train: --heads %d: the heads split in two "
                "halves, so their number must be even and divide --width "
                "%d\n", st_heads, st_width);
        return 1;
    }
    if (st_samples_tsv != NULL
        && check_output("sparse train", st_samples_tsv) != 0)
        return 1;
    return 0;
}
/* <<tp sparse: commands>> */
static FILE *open_train_table(void)
{
    FILE *f = fopen(st_tsv, "w");
    if (f == NULL) {
        perror(st_tsv);
        return NULL;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp sparse train --steps %d --batch %d --width %d "
            "--layers %d --heads %d --eval-images %d\n"
            "method\tstep\ttrain_bpp\theld_out_bpp\tseconds\n", st_steps,
            st_batch, st_width, st_layers, st_heads, st_eval_images);
    return f;
}
/* <<tp sparse: commands>> */
static FILE *open_samples_table(const char *path, const char *command);
static void write_samples(FILE *f, tp_gpt *m, int attention, int count,
                          tp_rng *rng);
static void write_real(FILE *f, int count);

static int sparse_train(void)
{
    if (check_train_options() != 0)
        return 1;
    catch_interrupts();
    tp_describe_machine(stdout);
    int *inputs = malloc(2 * (size_t)st_batch * TP_SPARSE_PIXELS * sizeof *inputs);
    tp_check(inputs != NULL, "out of memory");
    FILE *tsv = st_tsv != NULL ? open_train_table() : NULL;
    FILE *samples = st_samples_tsv != NULL
        ? open_samples_table(st_samples_tsv, "train") : NULL;
    int status = (st_tsv != NULL && tsv == NULL)
                 || (st_samples_tsv != NULL && samples == NULL) ? 1 : 0;
    if (samples != NULL)
        write_real(samples, st_samples);
    /* <<tp sparse: train each attention>> */
    double bpp[ATTENTIONS] = {NAN, NAN, NAN};
    for (int a = 0; a < ATTENTIONS && status == 0 && !interrupted; a++) {
        if (st_attention != NULL && attention_named(st_attention) != a)
            continue;
        image_run r = {.attention = a, .inputs = inputs, .tsv = tsv,
                       .targets = inputs + (long)st_batch * TP_SPARSE_PIXELS};
        status = train_one(&r);
        bpp[a] = r.bpp;
        tp_rng draws = tp_rng_seeded(248, 7);
        if (status == 0 && !interrupted && samples != NULL)
            write_samples(samples, r.m, a, st_samples, &draws);
        tp_gpt_free(r.m);
    }
    if (status == 0 && !interrupted)
        printf("# held-out bits per pixel after %d steps: dense %.3f, strided "
               "%.3f, fixed %.3f\n", st_steps, bpp[DENSE], bpp[STRIDED],
               bpp[FIXED]);
    if (tsv != NULL && fclose(tsv) != 0)
        status = 1;
    if (samples != NULL && fclose(samples) != 0)
        status = 1;
    free(inputs);
    return exit_status(status);
}
/* <<tp sparse: commands>> */
static void draw_picture(tp_gpt *m, int attention, tp_rng *rng, int *pixels)
{
    tp_gpt_cache *cache = tp_gpt_cache_new(m, TP_SPARSE_PIXELS);
    tp_arena *scratch = tp_arena_new("sparse sampling");
    int token = TP_SPARSE_START;
    for (int i = 0; i < TP_SPARSE_PIXELS; i++) {
        tp_arena_reset(scratch);
        const float *logits = attention == DENSE
            ? tp_gpt_extend(m, cache, &token, 1, scratch)
            : tp_sparse_extend(m, cache, (tp_sparse_kind)(attention - 1),
                               &token, 1, scratch);
        token = pixels[i] = tp_gpt_sample_token(logits, TP_SPARSE_LEVELS, 1.0f,
                                                0, 1.0f, rng);
    }
    tp_arena_free(scratch);
    tp_gpt_cache_free(cache);
}
/* <<tp sparse: commands>> */
static FILE *open_samples_table(const char *path, const char *command)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp sparse %s; one row of a 32x32 picture a "
            "line, levels 0..%d\nmodel", command, TP_SPARSE_LEVELS - 1);
    for (int x = 0; x < TP_SPARSE_SIDE; x++)
        fprintf(f, "\tx%d", x);
    fputc('\n', f);
    return f;
}

static void write_picture(FILE *f, const char *label, const int *pixels)
{
    for (int y = 0; y < TP_SPARSE_SIDE; y++) {
        fputs(label, f);
        for (int x = 0; x < TP_SPARSE_SIDE; x++)
            fprintf(f, "\t%d", pixels[y * TP_SPARSE_SIDE + x]);
        fputc('\n', f);
    }
}
/* <<tp sparse: commands>> */
static void print_picture(const int *pixels)
{
    static const char shades[TP_SPARSE_LEVELS] = {' ', '.', '+', '#'};
    for (int y = 0; y < TP_SPARSE_SIDE; y++) {
        for (int x = 0; x < TP_SPARSE_SIDE; x++)
            putchar(shades[pixels[y * TP_SPARSE_SIDE + x]]);
        putchar('\n');
    }
}

static void write_samples(FILE *f, tp_gpt *m, int attention, int count,
                          tp_rng *rng)
{
    int pixels[TP_SPARSE_PIXELS];
    for (int s = 0; s < count && !interrupted; s++) {
        draw_picture(m, attention, rng, pixels);
        if (f != NULL)
            write_picture(f, attention_names[attention], pixels);
        else
            print_picture(pixels);
    }
}

static void write_real(FILE *f, int count)
{
    int inputs[TP_SPARSE_PIXELS], pixels[TP_SPARSE_PIXELS];
    tp_rng rng = tp_rng_seeded(248, 99);
    for (int s = 0; s < count; s++) {
        tp_sparse_images(&rng, 1, inputs, pixels);
        write_picture(f, "real", pixels);
    }
}
/* <<tp sparse: commands>> */
static const char *ss_load = NULL, *ss_tsv = NULL;
static int ss_count = 2, ss_seed = 1;

static const option sparse_sample_options[] = {
    {"--load", OPTION_STRING, &ss_load, 0, 0,
     "a model of tp sparse train (required)"},
    {"--count", OPTION_INT, &ss_count, 1, 1000, "pictures (default: 2)"},
    {"--seed", OPTION_INT, &ss_seed, 0, 1 << 30, "of the draws (default: 1)"},
    {"--tsv", OPTION_STRING, &ss_tsv, 0, 0,
     "write the pictures as a table instead of printing them"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp sparse: commands>> */
static tp_gpt *load_image_model(const char *path, int *attention)
{
    tp_metadata meta;
    tp_error error;
    tp_gpt *m = tp_gpt_load(path, &meta, &error);
    if (m == NULL) {
        fprintf(stderr, "tp sparse sample: %s\n", error.message);
        return NULL;
    }
    const char *name = tp_metadata_get(&meta, "attention");
    *attention = name != NULL ? attention_named(name) : -1;
    if (*attention < 0 || m->config.vocab_size != TP_SPARSE_VOCAB
        || m->config.n_positions != TP_SPARSE_PIXELS) {
        fprintf(stderr, "tp sparse sample: %s: not a model of tp sparse "
                "train\n", path);
        tp_gpt_free(m);
        return NULL;
    }
    m->attention = attention_ops[*attention];
    return m;
}
/* <<tp sparse: commands>> */
static int sparse_sample(void)
{
    if (ss_load == NULL) {
        fprintf(stderr, "tp sparse sample: --load is required\n");
        return 1;
    }
    if (ss_tsv != NULL && check_output("sparse sample", ss_tsv) != 0)
        return 1;
    int attention;
    tp_gpt *m = load_image_model(ss_load, &attention);
    if (m == NULL)
        return 1;
    catch_interrupts();
    FILE *f = ss_tsv != NULL ? open_samples_table(ss_tsv, "sample") : NULL;
    int status = ss_tsv != NULL && f == NULL ? 1 : 0;
    tp_rng rng = tp_rng_seeded((uint64_t)ss_seed, 248);
    if (status == 0)
        write_samples(f, m, attention, ss_count, &rng);
    if (f != NULL && fclose(f) != 0)
        status = 1;
    tp_gpt_free(m);
    return exit_status(status);
}
/* <<tp sparse: commands>> */
static const char *sa_load = NULL, *sa_tsv = NULL;
static int sa_pixel = -1;

static const option sparse_attention_options[] = {
    {"--load", OPTION_STRING, &sa_load, 0, 0,
     "a model of tp sparse train (required)"},
    {"--pixel", OPTION_INT, &sa_pixel, 1, TP_SPARSE_PIXELS - 1,
     "the query pixel, in raster order (default: the first bright pixel "
     "from the middle row on)"},
    {"--tsv", OPTION_STRING, &sa_tsv, 0, 0, "write the weights as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static int bright_query(const int *pixels)
{
    for (int p = TP_SPARSE_PIXELS / 2; p < TP_SPARSE_PIXELS; p++)
        if (pixels[p] == TP_SPARSE_LEVELS - 1)
            return p;
    return TP_SPARSE_PIXELS / 2 + TP_SPARSE_SIDE / 2;
}
/* <<tp sparse: commands>> */
static void write_weights(FILE *f, const char *label, const tp_tensor *w,
                          int head, int query)
{
    const float *row = w->data + ((long)head * TP_SPARSE_PIXELS + query)
                                     * TP_SPARSE_PIXELS;
    for (int y = 0; y < TP_SPARSE_SIDE; y++) {
        fputs(label, f);
        for (int x = 0; x < TP_SPARSE_SIDE; x++) {
            int key = y * TP_SPARSE_SIDE + x + 1;  /* pixel p is input p + 1 */
            fprintf(f, "\t%.5f", key < TP_SPARSE_PIXELS ? row[key] : 0.0f);
        }
        fputc('\n', f);
    }
}
/* <<tp sparse: commands>> */
static int write_attention(FILE *f, tp_gpt *m, const int *inputs,
                           const int *pixels, int query)
{
    tp_arena *arena = tp_arena_new("sparse attention maps");
    tp_tensor **maps = tp_gpt_attention_maps(m, inputs, TP_SPARSE_PIXELS,
                                             arena);
    const tp_tensor *last = maps[m->config.n_layer - 1];
    fprintf(f, "# query pixel %d (row %d, column %d); the last layer\n",
            query, query / TP_SPARSE_SIDE, query % TP_SPARSE_SIDE);
    fprintf(f, "model");
    for (int x = 0; x < TP_SPARSE_SIDE; x++)
        fprintf(f, "\tx%d", x);
    fputc('\n', f);
    write_picture(f, "picture", pixels);
    write_weights(f, "first", last, 0, query);
    write_weights(f, "second", last, m->config.n_head - 1, query);
    tp_arena_free(arena);
    return 0;
}
/* <<tp sparse: commands>> */
static int sparse_attention(void)
{
    if (sa_load == NULL || sa_tsv == NULL) {
        fprintf(stderr, "tp sparse attention: --load and --tsv are required\n");
        return 1;
    }
    if (check_output("sparse attention", sa_tsv) != 0)
        return 1;
    int attention, inputs[TP_SPARSE_PIXELS], pixels[TP_SPARSE_PIXELS];
    tp_gpt *m = load_image_model(sa_load, &attention);
    if (m == NULL)
        return 1;
    tp_rng rng = tp_rng_seeded(248, 99);
    tp_sparse_images(&rng, 1, inputs, pixels);
    int query = sa_pixel >= 0 ? sa_pixel : bright_query(pixels);
    FILE *f = fopen(sa_tsv, "w");
    int status = f == NULL ? 1 : 0;
    if (f == NULL)
        perror(sa_tsv);
    else {
        tp_describe_machine(f);
        fprintf(f, "# written by: tp sparse attention --load %s; %s "
                "attention\n", sa_load, attention_names[attention]);
        status = write_attention(f, m, inputs, pixels, query);
        status = fclose(f) != 0 ? 1 : status;
    }
    tp_gpt_free(m);
    return status;
}
/* <<tp sparse: figures>> */
static void pattern_panel(tp_draw *d, double x0, double y0,
                          tp_sparse_kind kind, const char *title)
{
    enum { SIDE = 16, QUERY = 9 * SIDE + 10 };
    const double cell = 8.5;
    tp_sparse_pattern p[2];
    for (int h = 0; h < 2; h++)
        p[h] = (tp_sparse_pattern){SIDE * SIDE, SIDE, 4,
                                   (tp_sparse_head)(2 * kind + h)};
    tp_set_color(d->cr, tp_rgb(0x000000));
    tp_text(d, x0 + SIDE * cell / 2, y0 - 4, 0.5, 1.0, 9, title);
    for (int j = 0; j < SIDE * SIDE; j++) {
        bool a = tp_sparse_allows(QUERY, j, &p[0]);
        bool b = tp_sparse_allows(QUERY, j, &p[1]);
        tp_color color = j == QUERY ? tp_rgb(0x000000)
                     : a && b ? tp_category(2) : a ? tp_category(0)
                     : b ? tp_category(4) : j < QUERY ? tp_rgb(0xcccccc)
                     : tp_rgb(0xf2f2f2);
        tp_set_color(d->cr, color);
        cairo_rectangle(d->cr, x0 + j % SIDE * cell, y0 + j / SIDE * cell,
                        cell - 0.8, cell - 0.8);
        cairo_fill(d->cr);
    }
}
/* <<tp sparse: figures>> */
static int draw_sparse_patterns(tp_draw *d, tp_error *error)
{
    (void)error;
    pattern_panel(d, 14, 24, TP_SPARSE_STRIDED, "strided");
    pattern_panel(d, 176, 24, TP_SPARSE_FIXED, "fixed");
    static const char *const names[4] = {"first head", "second head", "both",
                                         "earlier, not seen"};
    tp_color colors[4] = {tp_category(0), tp_category(4), tp_category(2),
                          tp_rgb(0xcccccc)};
    for (int k = 0; k < 4; k++) {
        double x = 14 + 80 * k;
        tp_set_color(d->cr, colors[k]);
        cairo_rectangle(d->cr, x, 170, 8, 8);
        cairo_fill(d->cr);
        tp_set_color(d->cr, tp_rgb(0x000000));
        tp_text(d, x + 11, 174, 0.0, 0.5, 8, names[k]);
    }
    return 0;
}
/* <<tp sparse: figures>> */
static int length_series(const table *t, const char *method, int threads,
                         int column, double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 16; r++)
        if (strcmp(t->label[r], method) == 0 && (int)t->value[r][1] == threads)
            x[n] = t->value[r][0], y[n++] = t->value[r][column];
    return n;
}

static int most_threads(const table *t)
{
    int most = 1;
    for (int r = 0; r < t->rows; r++)
        most = t->value[r][1] > most ? (int)t->value[r][1] : most;
    return most;
}
/* <<tp sparse: figures>> */
static void length_panel(tp_plot *p, const table *t, const length_figure *f,
                         int column)
{
    tp_legend_entry entries[LENGTH_FIGURE_METHODS + 1];
    int most = most_threads(t);
    bool time = column == 2;
    tp_plot_frame(p);
    for (int m = 0; m < f->count; m++) {
        double x[16], y[16];
        tp_color color = tp_category(f->colors[m]);
        int n = length_series(t, f->methods[m], 1, column, x, y);
        tp_plot_line(p, x, y, n, color, false, true);
        if (most > 1 && time)
            tp_plot_line(p, x, y, length_series(t, f->methods[m], most,
                                                column, x, y),
                         color, true, false);
        entries[m] = (tp_legend_entry){f->methods[m], color, false};
    }
    entries[f->count] = (tp_legend_entry){"dashed: all threads",
                                          tp_rgb(0x999999), true};
    if (time)
        tp_plot_legend(p, entries, most > 1 ? f->count + 1 : f->count,
                       f->legend);
}
/* <<tp sparse: figures>> */
int draw_time_against_length(tp_draw *d, const length_figure *f,
                             tp_error *error)
{
    tp_check(f->count <= LENGTH_FIGURE_METHODS, "a figure of %d methods "
             "against the length; %d at most", f->count,
             LENGTH_FIGURE_METHODS);
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table(f->data, t, error);
    if (status == 0) {
        tp_axis n = {.lo = 1024, .hi = 16384, .log = true,
                     .label = f->length};
        tp_plot time = {d, 50, 12, 170, 160, n,
                        {.lo = f->fastest, .hi = f->slowest, .log = true,
                         .label = "training step (ms)"}};
        tp_plot memory = {d, 280, 12, 150, 160, n,
                          {.lo = 1, .hi = 10000, .log = true,
                           .label = "peak memory (MiB)"}};
        length_panel(&time, t, f, 2);
        length_panel(&memory, t, f, 3);
    }
    free(t);
    return status;
}
/* <<tp sparse: figures>> */
static int draw_sparse_time(tp_draw *d, tp_error *error)
{
    static const int colors[ATTENTIONS] = {5, 0, 4};
    length_figure f = {"figures/data/sparse-time.tsv", "sequence length N",
                       10, 1000000, attention_names, colors, ATTENTIONS,
                       TP_TOP_LEFT};
    return draw_time_against_length(d, &f, error);
}
/* <<tp sparse: figures>> */
static void picture(tp_draw *d, const table *t, int first, double x0,
                    double y0, double cell)
{
    for (int y = 0; y < TP_SPARSE_SIDE; y++)
        for (int x = 0; x < TP_SPARSE_SIDE; x++) {
            double level = t->value[first + y][x] / (TP_SPARSE_LEVELS - 1);
            tp_set_color(d->cr, (tp_color){level, level, level});
            cairo_rectangle(d->cr, x0 + x * cell, y0 + y * cell, cell, cell);
            cairo_fill(d->cr);
        }
}

static int draw_sparse_samples(tp_draw *d, tp_error *error)
{
    static const char *const rows[4] = {"real", "dense", "strided", "fixed"};
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/sparse-samples.tsv", t, error);
    for (int k = 0; k < 4 && status == 0; k++) {
        double y0 = 6 + k * 56;
        tp_set_color(d->cr, tp_rgb(0x000000));
        tp_text(d, 52, y0 + 24, 1.0, 0.5, 9, rows[k]);
        for (int r = 0, s = 0; r < t->rows && s < 4; r++)
            if (strcmp(t->label[r], rows[k]) == 0) {
                picture(d, t, r, 60 + s++ * 56, y0, 1.5);
                r += TP_SPARSE_SIDE - 1;
            }
    }
    free(t);
    return status;
}
/* <<tp sparse: figures>> */
static void weights_panel(tp_draw *d, const table *t, int first, int query,
                          double x0, const char *title)
{
    float values[TP_SPARSE_PIXELS];
    unsigned char later[TP_SPARSE_PIXELS];
    double most = 1e-9;
    for (int p = 0; p < TP_SPARSE_PIXELS; p++) {
        values[p] = (float)t->value[first + p / TP_SPARSE_SIDE][p % TP_SPARSE_SIDE];
        later[p] = p >= query;
        most = values[p] > most ? values[p] : most;
    }
    tp_set_color(d->cr, tp_rgb(0x000000));
    tp_text(d, x0 + 64, 10, 0.5, 1.0, 9, title);
    tp_heatmap(d, x0, 14, 128, 128, values, TP_SPARSE_SIDE, TP_SPARSE_SIDE,
               later, 0.0, most);
}
/* <<tp sparse: figures>> */
static int draw_sparse_attention(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/sparse-attention.tsv", t, error);
    const char *at = status == 0 ? strstr(t->comments, "query pixel ") : NULL;
    if (status == 0 && (at == NULL || t->rows < 3 * TP_SPARSE_SIDE))
        status = tp_error_set(error, "figures/data/sparse-attention.tsv: "
                              "not a table of tp sparse attention");
    if (status == 0) {
        int query = atoi(at + strlen("query pixel "));
        picture(d, t, 0, 10, 14, 4.0);
        tp_set_color(d->cr, tp_category(5));
        cairo_set_line_width(d->cr, 1.2);
        cairo_rectangle(d->cr, 10 + query % TP_SPARSE_SIDE * 4.0,
                        14 + query / TP_SPARSE_SIDE * 4.0, 4, 4);
        cairo_stroke(d->cr);
        tp_set_color(d->cr, tp_rgb(0x000000));
        tp_text(d, 74, 10, 0.5, 1.0, 9, "picture and query");
        weights_panel(d, t, TP_SPARSE_SIDE, query, 156, "first head");
        weights_panel(d, t, 2 * TP_SPARSE_SIDE, query, 302, "second head");
    }
    free(t);
    return status;
}

static const command sparse_commands[] = {
    /* <<tp sparse: command table>> */
    {"sparse compare", "the attention's training step against N: dense, "
     "strided and fixed; one thread and all", sparse_compare_options,
     sparse_compare, NULL},
    /* <<tp sparse: command table>> */
    {"sparse train", "train a GPT on 32x32 pictures, pixel by pixel, with dense, "
     "strided and fixed attention: bits per pixel", sparse_train_options,
     sparse_train, NULL},
    /* <<tp sparse: command table>> */
    {"sparse sample", "draw 32x32 pictures, pixel by pixel, from a model of tp "
     "sparse train", sparse_sample_options, sparse_sample, NULL},
    /* <<tp sparse: command table>> */
    {"sparse attention", "a saved model's attention weights for one pixel of a "
     "held-out picture, both heads of the last layer", sparse_attention_options,
     sparse_attention, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure sparse_figures[] = {
    /* <<tp sparse: figure table>> */
    {"sparse-patterns", "The Sparse Transformer's patterns in a 16x16 picture: "
     "the pixels the two heads of one query (black) see", 340, 186,
     draw_sparse_patterns},
    /* <<tp sparse: figure table>> */
    {"sparse-time", "Dense, strided and fixed attention: the training step's "
     "time and memory against N", 440, 210, draw_sparse_time},
    /* <<tp sparse: figure table>> */
    {"sparse-samples", "Pictures drawn pixel by pixel by GPTs with dense, "
     "strided and fixed attention, beside real ones", 290, 230,
     draw_sparse_samples},
    /* <<tp sparse: figure table>> */
    {"sparse-attention", "A trained strided model's attention for one pixel: "
     "the last layer's two heads", 440, 150, draw_sparse_attention},
    {NULL, 0, 0, 0, NULL}
};

const chapter_part sparse_part = {sparse_commands, sparse_figures};
