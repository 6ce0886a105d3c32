/* Generated from book/340-compute.nw; edit the book, not this file. */
#include "program.h"

/* <<tp compute: commands>> */
static int flops_threads = 1, flops_steps = 3, flops_width = 256,
           flops_layers = 4;
static float flops_watts = 10;
static const char *flops_tsv = NULL;

static const option compute_flops_options[] = {
    {"--threads", OPTION_INT, &flops_threads, 1, 1024,
     "threads (default: 1)"},
    {"--steps", OPTION_INT, &flops_steps, 1, 1000,
     "timed training steps; the median is kept (default: 3)"},
    {"--width", OPTION_INT, &flops_width, 32, 4096,
     "the models' width, a multiple of 32 (default: 256, GPT-T's)"},
    {"--layers", OPTION_INT, &flops_layers, 1, 96,
     "the models' layers (default: 4)"},
    {"--watts", OPTION_FLOAT, &flops_watts, 0, 10000,
     "the power one core draws, assumed (default: 10)"},
    {"--tsv", OPTION_STRING, &flops_tsv, 0, 0,
     "also write the results as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp compute: commands>> */
typedef struct train_state {
    tp_gpt *m;
    tp_optimizer *opt;
    tp_graph g;
    tp_rng rng;
    int inputs[8 * 128], targets[8 * 128];
} train_state;

static void train_step(void *context)
{
    train_state *s = context;
    tp_corpus book = tp_corpus_book();
    for (int i = 0; i < 8; i++) {
        long at = (long)tp_rng_below(&s->rng, (uint32_t)(book.size - 130));
        for (int t = 0; t < 128; t++) {
            s->inputs[i * 128 + t] = book.bytes[at + t];
            s->targets[i * 128 + t] = book.bytes[at + t + 1];
        }
    }
    tp_backward(&s->g, tp_gpt_loss(&s->g, s->m, s->inputs, s->targets, 8, 128));
    tp_optimizer_step(s->opt, 3e-4f);
    tp_zero_grad(&s->m->params);
    tp_graph_reset(&s->g);
}
/* <<tp compute: commands>> */
typedef struct decode_run {
    tp_gpt *m;
    int tokens;
    tp_decoder *loops;  /* or NULL: tp_gpt_step */
} decode_run;

static void decode(void *context)
{
    const decode_run *r = context;
    tp_gpt_cache *cache = tp_gpt_cache_new(r->m, 16 + r->tokens);
    tp_arena *scratch = tp_arena_new("decode");
    const char *prompt = "The book is the ";
    const float *logits = NULL;
    for (int i = 0; i < 16 + r->tokens; i++) {
        int token = i < 16 ? (unsigned char)prompt[i]
                           : tp_gpt_sample_token(logits, r->m->config.vocab_size,
                                                 0.0f, 0, 1.0f, NULL);
        tp_arena_reset(scratch);
        logits = r->loops != NULL ? tp_decoder_step(r->loops, cache, token)
                                  : tp_gpt_step(r->m, cache, token, scratch);
    }
    tp_arena_free(scratch);
    tp_gpt_cache_free(cache);
}
/* <<tp compute: commands>> */
typedef struct flops_row {
    const char *what;
    double parameters, per_token, tokens_per_s;
} flops_row;

static void print_flops_row(FILE *tsv, const flops_row *r, double peak,
                            int threads)
{
    double gflops = r->per_token * r->tokens_per_s * 1e-9;
    double joules = flops_watts * threads / r->tokens_per_s;
    printf("%-9s %10.0f %12.3e %12.1f %9.1f %7.1f%% %11.3e\n", r->what,
           r->parameters, r->per_token, r->tokens_per_s, gflops,
           100 * gflops / peak, joules);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%d\t%.0f\t%.6e\t%.3f\t%.3f\t%.4f\t%.6e\n", r->what,
                threads, r->parameters, r->per_token, r->tokens_per_s, gflops,
                gflops / peak, joules);
}
/* <<tp compute: commands>> */
static flops_row measure_training(tp_gpt *m)
{
    tp_arena *arena = tp_arena_new("flops");
    train_state s = {.m = m, .g = tp_graph_on(arena),
                     .rng = tp_rng_seeded(340, 3)};
    s.opt = tp_adamw_new(&m->params, 0.95f, 0.0f);
    train_step(&s);  /* warm: the arena grows to its size once */
    double seconds = tp_time(train_step, &s, flops_steps).median;
    tp_optimizer_free(s.opt);
    tp_arena_free(arena);
    tp_flops f = tp_gpt_flops(m, 128);
    return (flops_row){"training", f.parameters, f.train, 1024 / seconds};
}

static flops_row measure_decoding(tp_gpt *m)
{
    decode_run r = {m, 240, NULL};
    decode(&r);
    double seconds = tp_time(decode, &r, 3).median;
    tp_flops f = tp_gpt_flops(m, 16 + r.tokens);  /* the causal window */
    return (flops_row){"decoding", f.parameters, f.forward,
                       (16 + r.tokens) / seconds};
}
/* <<tp compute: commands>> */
static void price_gpt3(const flops_row *training, int threads)
{
    double n = 175e9, d = 300e9, flops = 6 * n * d;
    double rate = training->per_token * training->tokens_per_s;
    double seconds = flops / rate, joules = seconds * flops_watts * threads;
    printf("GPT-3: 6 N D = 6 x %.3g x %.3g = %.3e operations; at %.1f GFLOP/s, "
           "%.3g years; at %.0f W, %.3g GWh\n", n, d, flops, rate * 1e-9,
           seconds / (365.25 * 86400), flops_watts * threads,
           joules / 3.6e12);
}
/* <<tp compute: commands>> */
static int compute_flops(void)
{
    if (flops_width % 64 != 0) {
        fprintf(stderr, "tp compute flops: the width must be a multiple of "
                "64 (heads of 64)\n");
        return 1;
    }
    FILE *tsv = NULL;
    if (flops_tsv != NULL && (check_output("compute flops", flops_tsv) != 0
                              || (tsv = fopen(flops_tsv, "w")) == NULL))
        return 1;
    tp_set_threads(flops_threads);
    /* <<compute flops: measure and print>> */
    tp_gpt_config c = {256, 256, flops_layers, flops_width / 64, flops_width,
                       TP_POSITIONS_LEARNED};
    tp_gpt *m = tp_gpt_new(c);
    tp_rng rng = tp_rng_seeded(340, 4);
    tp_gpt_init(m, &rng);
    double peak = tp_peak_gflops() * flops_threads;
    tp_describe_machine(stdout);
    printf("width %d, %d layers; %d thread(s); peak %.1f GFLOP/s; %.0f W a core "
           "(assumed)\n%-9s %10s %12s %12s %9s %8s %11s\n", flops_width,
           flops_layers, flops_threads, peak, flops_watts, "what", "N",
           "FLOP/token", "tokens/s", "GFLOP/s", "of peak", "J/token");
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# width %d, %d layers; peak %.2f GFLOP/s; %.1f W a core "
                "(assumed)\nwhat\tthreads\tparameters\tflops_per_token\t"
                "tokens_per_s\tgflops\tof_peak\tjoules_per_token\n", flops_width,
                flops_layers, peak, flops_watts);
    }
    flops_row training = measure_training(m), decoding = measure_decoding(m);
    print_flops_row(tsv, &training, peak, flops_threads);
    print_flops_row(tsv, &decoding, peak, flops_threads);
    price_gpt3(&training, flops_threads);
    tp_gpt_free(m);
    return tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
}
/* <<tp compute: commands>> */
static const char *quantise_scheme = "int8";

static const option gpt_quantise_options[] = {
    {"--scheme", OPTION_STRING, &quantise_scheme, 0, 0,
     "int8 (one scale per row) or int4 (per 32 inputs); default int8"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static int gpt_quantise(void)
{
    tp_error error;
    tp_quant_scheme scheme;
    if (operand_count != 2) {
        fprintf(stderr, "tp gpt quantise: give the checkpoint to read and "
                "the one to write\n");
        return 1;
    }
    if (tp_quant_parse(quantise_scheme, &scheme, &error) != 0) {
        fprintf(stderr, "tp gpt quantise: %s\n", error.message);
        return 1;
    }
    /* <<gpt quantise: load, quantise, save>> */
    tp_gpt *m = tp_gpt_load(operands[0], NULL, &error);
    tp_quant_gpt *q = m != NULL ? tp_quant_gpt_new(m, scheme, &error) : NULL;
    int status = 1;
    if (q == NULL)
        fprintf(stderr, "tp gpt quantise: %s\n", error.message);
    else if (check_output("gpt quantise", operands[1]) != 0)
        ;  /* it said why */
    else if (tp_quant_gpt_save(q, operands[1], &error) != 0)
        fprintf(stderr, "tp gpt quantise: %s\n", error.message);
    else {
        printf("%s: %s; decoding reads %.2f MB a token, against %.2f MB in 32 "
               "bits\n", operands[1], tp_quant_name(scheme),
               (double)tp_quant_gpt_bytes(q) * 1e-6,
               4e-6 * (double)(tp_params_count(&m->params)
                               - tp_tensor_count(m->wpe) + m->config.n_embd));
        status = 0;
    }
    tp_quant_gpt_free(q);
    tp_gpt_free(m);
    return status;
}
/* <<tp compute: commands>> */
static int quant_width = 1024, quant_layers = 12, quant_tokens = 32,
           quant_rounds = 3, quant_threads = 0;
static const char *quant_tsv = NULL;

static const option bench_quant_options[] = {
    {"--width", OPTION_INT, &quant_width, 64, 8192,
     "the model's width, a multiple of 64 (default: 1024)"},
    {"--layers", OPTION_INT, &quant_layers, 1, 96,
     "its layers (default: 12)"},
    {"--tokens", OPTION_INT, &quant_tokens, 1, 4096,
     "tokens decoded after a 16-byte prompt (default: 32)"},
    {"--rounds", OPTION_INT, &quant_rounds, 1, 100,
     "rounds; medians are reported (default: 3)"},
    {"--threads", OPTION_INT, &quant_threads, 1, 1024,
     "the most threads (default: the cores); also measured on one"},
    {"--tsv", OPTION_STRING, &quant_tsv, 0, 0,
     "also write the results as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp compute: commands>> */
enum { FP32, INT8, INT4, SCHEMES };
static const char *const scheme_names[SCHEMES] = {"fp32", "int8", "int4"};

typedef struct quant_bench {
    tp_gpt *m;
    tp_quant_gpt *q[SCHEMES];  /* q[FP32] is NULL */
    double bytes[SCHEMES];     /* read per token */
} quant_bench;

static void use_scheme(quant_bench *b, int s)
{
    if (s == FP32)
        b->m->linear = NULL;
    else
        tp_quant_gpt_attach(b->q[s]);
}
/* <<tp compute: commands>> */
static void quant_bench_make(quant_bench *b, int width, int layers,
                             int tokens)
{
    tp_gpt_config c = {256, 16 + tokens, layers, width / 64, width,
                       TP_POSITIONS_LEARNED};
    b->m = tp_gpt_new(c);
    tp_rng rng = tp_rng_seeded(340, 5);
    tp_gpt_init(b->m, &rng);
    tp_error error;
    b->q[INT8] = tp_quant_gpt_new(b->m, TP_QUANT_INT8, &error);
    b->q[INT4] = tp_quant_gpt_new(b->m, TP_QUANT_INT4, &error);
    b->bytes[FP32] = 4.0 * (double)(tp_params_count(&b->m->params)
                                    - tp_tensor_count(b->m->wpe) + width);
    b->bytes[INT8] = (double)tp_quant_gpt_bytes(b->q[INT8]);
    b->bytes[INT4] = (double)tp_quant_gpt_bytes(b->q[INT4]);
}
/* <<tp compute: commands>> */
static void quant_bench_threads(quant_bench *b, int threads, FILE *tsv)
{
    double rate[SCHEMES][100], ratio[SCHEMES][100];
    decode_run run = {b->m, quant_tokens, NULL};
    tp_set_threads(threads);
    for (int r = 0; r < quant_rounds; r++)
        for (int s = 0; s < SCHEMES; s++) {
            use_scheme(b, s);
            rate[s][r] = (16 + quant_tokens) / tp_time(decode, &run, 1).median;
            ratio[s][r] = rate[s][r] / rate[FP32][r];
        }
    for (int s = 0; s < SCHEMES; s++) {
        double tokens = tp_median(rate[s], quant_rounds);
        double speedup = tp_median(ratio[s], quant_rounds);
        /* <<bench quant: print and record a scheme>> */
        printf("%-5s %2d thread(s) %9.1f tokens/s %8.1f MB/token %7.2f GB/s  "
               "x%.2f\n", scheme_names[s], threads, tokens, b->bytes[s] * 1e-6,
               tokens * b->bytes[s] * 1e-9, speedup);
        if (tsv != NULL)
            fprintf(tsv, "%s\t%d\t%s\t%.3f\t%.0f\t%.4f\t%.4f\n", scheme_names[s],
                    threads, s == FP32 ? "openblas"
                    : tp_quant_path_name(tp_quant_path_resolve(b->q[s]->path)),
                    tokens, b->bytes[s], tokens * b->bytes[s] * 1e-9, speedup);
    }
}
/* <<tp compute: commands>> */
static int bench_quant(void)
{
    if (quant_width % 64 != 0) {
        fprintf(stderr, "tp bench quant: the width must be a multiple of 64\n");
        return 1;
    }
    FILE *tsv = NULL;
    if (quant_tsv != NULL && (check_output("bench quant", quant_tsv) != 0
                              || (tsv = fopen(quant_tsv, "w")) == NULL))
        return 1;
    quant_bench b = {0};
    quant_bench_make(&b, quant_width, quant_layers, quant_tokens);
    int most = quant_threads > 0 ? quant_threads
                                 : (int)sysconf(_SC_NPROCESSORS_ONLN);
    /* <<bench quant: describe the run>> */
    tp_set_threads(1);
    double peak = tp_peak_gflops(), bandwidth = tp_copy_bandwidth();
    tp_describe_machine(stdout);
    printf("# width %d, %d layers, %d tokens after a 16-byte prompt; the "
           "products' path: %s\n# one core: peak %.1f GFLOP/s, copy bandwidth "
           "%.1f GB/s, %.1f operations a byte\n", quant_width, quant_layers,
           quant_tokens, tp_quant_path_name(tp_quant_path_resolve(TP_QUANT_BEST)),
           peak, bandwidth, peak / bandwidth);
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# one core: peak %.1f GFLOP/s, copy bandwidth %.1f GB/s\n",
                peak, bandwidth);
        fprintf(tsv, "# width %d, %d layers, %d tokens after a 16-byte prompt, "
                "%d rounds\nscheme\tthreads\tpath\ttokens_per_s\t"
                "bytes_per_token\tgb_per_s\tspeedup\n", quant_width, quant_layers,
                quant_tokens,
                quant_rounds);
    }
    quant_bench_threads(&b, 1, tsv);
    if (most > 1)
        quant_bench_threads(&b, most, tsv);
    tp_quant_gpt_free(b.q[INT8]);
    tp_quant_gpt_free(b.q[INT4]);
    tp_gpt_free(b.m);
    return tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
}
/* <<tp compute: commands>> */
static int fusion_width = 1024, fusion_layers = 12, fusion_tokens = 16,
           fusion_rounds = 3, fusion_threads = 0;
static const char *fusion_tsv = NULL;

static const option compute_fusion_options[] = {
    {"--width", OPTION_INT, &fusion_width, 64, 8192,
     "the model's width, a multiple of 64 (default: 1024)"},
    {"--layers", OPTION_INT, &fusion_layers, 1, 96,
     "its layers (default: 12)"},
    {"--tokens", OPTION_INT, &fusion_tokens, 1, 4096,
     "tokens decoded after a 16-byte prompt (default: 16)"},
    {"--rounds", OPTION_INT, &fusion_rounds, 1, 100,
     "rounds; medians are reported (default: 3)"},
    {"--threads", OPTION_INT, &fusion_threads, 1, 1024,
     "the most threads (default: the cores); also measured on one"},
    {"--tsv", OPTION_STRING, &fusion_tsv, 0, 0,
     "also write the results as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp compute: commands>> */
static double loop_tokens_per_s(quant_bench *b, tp_quant_gpt *q, bool fused)
{
    tp_error error;
    tp_decoder *d = tp_decoder_new(b->m, q, fused, &error);
    tp_check(d != NULL, "%s", error.message);
    decode_run run = {b->m, fusion_tokens, d};
    double start = tp_seconds();
    decode(&run);
    double seconds = tp_seconds() - start;
    tp_decoder_free(d);
    return (16 + fusion_tokens) / seconds;
}

static void fusion_threads_run(quant_bench *b, int threads, FILE *tsv)
{
    double rate[2][2][100], ratio[2][100];
    tp_set_threads(threads);
    for (int r = 0; r < fusion_rounds; r++)
        for (int s = 0; s < 2; s++) {
            for (int fused = 0; fused <= 1; fused++)
                rate[s][fused][r] = loop_tokens_per_s(b, s == 0 ? NULL
                                                      : b->q[INT8], fused);
            ratio[s][r] = rate[s][1][r] / rate[s][0][r];
        }
    for (int s = 0; s < 2; s++) {
        double unfused = tp_median(rate[s][0], fusion_rounds);
        double fused = tp_median(rate[s][1], fusion_rounds);
        double speedup = tp_median(ratio[s], fusion_rounds);
        /* <<compute fusion: print and record a scheme>> */
        const char *path = s == 0 ? "loops" : tp_quant_path_name(
                                                  tp_quant_path_resolve(TP_QUANT_BEST));
        printf("%-5s %2d thread(s)  unfused %7.2f tokens/s  fused %7.2f tokens/s  "
               "fused/unfused x%.3f  (%s)\n", s == 0 ? "fp32" : "int8", threads,
               unfused, fused, speedup, path);
        if (tsv != NULL)
            fprintf(tsv, "%s\t%d\t%s\t%.3f\t%.3f\t%.4f\n", s == 0 ? "fp32" : "int8",
                    threads, path, unfused, fused, speedup);
    }
}
/* <<tp compute: commands>> */
static int compute_fusion(void)
{
    if (fusion_width % 64 != 0) {
        fprintf(stderr, "tp compute fusion: the width must be a multiple of "
                "64\n");
        return 1;
    }
    FILE *tsv = NULL;
    if (fusion_tsv != NULL && (check_output("compute fusion", fusion_tsv) != 0
                               || (tsv = fopen(fusion_tsv, "w")) == NULL))
        return 1;
    quant_bench b = {0};
    quant_bench_make(&b, fusion_width, fusion_layers, fusion_tokens);
    int most = fusion_threads > 0 ? fusion_threads
                                  : (int)sysconf(_SC_NPROCESSORS_ONLN);
    /* <<compute fusion: describe the run>> */
    tp_describe_machine(stdout);
    printf("# width %d, %d layers, %d tokens after a 16-byte prompt, %d rounds; "
           "the decoder in loops, unfused and fused\n", fusion_width,
           fusion_layers, fusion_tokens, fusion_rounds);
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# width %d, %d layers, %d tokens after a 16-byte prompt, "
                "%d rounds\nscheme\tthreads\tpath\tunfused_tokens_per_s\t"
                "fused_tokens_per_s\tspeedup\n", fusion_width, fusion_layers,
                fusion_tokens, fusion_rounds);
    }
    fusion_threads_run(&b, 1, tsv);
    if (most > 1)
        fusion_threads_run(&b, most, tsv);
    tp_quant_gpt_free(b.q[INT8]);
    tp_quant_gpt_free(b.q[INT4]);
    tp_gpt_free(b.m);
    return tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
}
/* <<tp compute: commands>> */
static const char *loss_model = "gpt.safetensors", *loss_tsv = NULL;
static int loss_windows = 16;

static const option compute_loss_options[] = {
    {"--model", OPTION_STRING, &loss_model, 0, 0,
     "the checkpoint (default: gpt.safetensors)"},
    {"--windows", OPTION_INT, &loss_windows, 1, 100000,
     "windows of validation text (default: 16)"},
    {"--tsv", OPTION_STRING, &loss_tsv, 0, 0,
     "also write the losses as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp compute: commands>> */
static double window_loss(tp_gpt *m, const unsigned char *text, int n)
{
    int *tokens = malloc((size_t)n * sizeof *tokens);
    tp_check(tokens != NULL, "out of memory");
    for (int i = 0; i < n; i++)
        tokens[i] = text[i];
    tp_gpt_cache *cache = tp_gpt_cache_new(m, n - 1);
    tp_arena *scratch = tp_arena_new("loss");
    const float *logits = tp_gpt_extend(m, cache, tokens, n - 1, scratch);
    double loss = 0;
    int v = m->config.vocab_size;
    for (int t = 0; t + 1 < n; t++) {
        const float *row = logits + (long)t * v;
        double top = row[0], sum = 0;
        for (int j = 1; j < v; j++)
            top = fmax(top, row[j]);
        for (int j = 0; j < v; j++)
            sum += exp(row[j] - top);
        loss += top + log(sum) - row[tokens[t + 1]];
    }
    tp_arena_free(scratch);
    tp_gpt_cache_free(cache);
    free(tokens);
    return loss / (n - 1);
}
/* <<tp compute: commands>> */
static double validation_loss(tp_gpt *m, const tp_corpus *validation)
{
    int n = m->config.n_positions + 1;
    double sum = 0;
    int used = 0;
    for (int w = 0; w < loss_windows && (long)(w + 1) * n <= validation->size;
         w++, used++)
        sum += window_loss(m, validation->bytes + (long)w * n, n);
    return sum / used;
}
/* <<tp compute: commands>> */
static int compute_loss(void)
{
    tp_error error;
    tp_gpt *m = tp_gpt_load(loss_model, NULL, &error);
    if (m == NULL || m->config.vocab_size != 256) {
        fprintf(stderr, "tp compute loss: %s\n", m == NULL ? error.message
                : "the model must read bytes (256 tokens)");
        tp_gpt_free(m);
        return 1;
    }
    tp_corpus train, validation, book = tp_corpus_book();
    tp_corpus_split(&book, &train, &validation);
    if (validation.size < m->config.n_positions + 1) {
        fprintf(stderr, "tp compute loss: the validation text is shorter "
                "than a window\n");
        tp_gpt_free(m);
        return 1;
    }
    /* <<compute loss: each scheme>> */
    FILE *tsv = NULL;
    int status = loss_tsv != NULL && (check_output("compute loss", loss_tsv) != 0
                                      || (tsv = fopen(loss_tsv, "w")) == NULL);
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# model: %s; %d windows of %d bytes\n"
                "scheme\tvalidation_loss\trelative\n", loss_model, loss_windows,
                m->config.n_positions + 1);
    }
    double fp32 = 0;
    for (int s = FP32; s < SCHEMES && status == 0; s++) {
        tp_quant_gpt *q = s == FP32 ? NULL
                          : tp_quant_gpt_new(m, s == INT8 ? TP_QUANT_INT8
                                                          : TP_QUANT_INT4, &error);
        if (s != FP32 && q == NULL) {
            fprintf(stderr, "tp compute loss: %s\n", error.message);
            status = 1;
            break;
        }
        double loss = validation_loss(m, &validation);
        fp32 = s == FP32 ? loss : fp32;
        printf("%-5s validation loss %.4f  (%+.2f%% of fp32's)\n",
               scheme_names[s], loss, 100 * (loss / fp32 - 1));
        if (tsv != NULL)
            fprintf(tsv, "%s\t%.5f\t%.5f\n", scheme_names[s], loss, loss / fp32);
        tp_quant_gpt_free(q);
    }
    /* <<compute loss: each quantised checkpoint named>> */
    for (int i = 0; i < operand_count && status == 0; i++) {
        tp_quant_gpt *q = tp_quant_gpt_load(operands[i], &error);
        if (q == NULL) {
            fprintf(stderr, "tp compute loss: %s\n", error.message);
            status = 1;
            break;
        }
        double loss = validation_loss(q->model, &validation);
        printf("%s validation loss %.4f  (%+.2f%% of fp32's)\n", operands[i],
               loss, 100 * (loss / fp32 - 1));
        if (tsv != NULL)
            fprintf(tsv, "%s\t%.5f\t%.5f\n", operands[i], loss, loss / fp32);
        tp_quant_gpt_free(q);
    }
    if (tsv != NULL && fclose(tsv) != 0)
        status = 1;
    tp_gpt_free(m);
    return status;
}
/* <<tp compute: commands>> */
static const char *frontier_tsv = NULL;

static const option compute_frontier_options[] = {
    {"--windows", OPTION_INT, &loss_windows, 1, 100000,
     "windows of validation text (default: 16)"},
    {"--tsv", OPTION_STRING, &frontier_tsv, 0, 0,
     "also write the costs, the losses and the frontier as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};

typedef struct frontier_point {
    int width, layers;
    tp_flops flops;
    double loss;
} frontier_point;
/* <<tp compute: commands>> */
static int frontier_measure(const char *path, const tp_corpus *validation,
                            frontier_point *p)
{
    tp_error error;
    tp_gpt *m = tp_gpt_load(path, NULL, &error);
    const char *wrong = m == NULL ? error.message
        : m->config.vocab_size != 256 ? "the model must read bytes (256 tokens)"
        : validation->size < m->config.n_positions + 1
            ? "the validation text is shorter than a window" : NULL;
    if (wrong != NULL) {
        fprintf(stderr, "tp compute frontier: %s%s%s\n",
                m == NULL ? "" : path, m == NULL ? "" : ": ", wrong);
        tp_gpt_free(m);
        return 1;
    }
    *p = (frontier_point){m->config.n_embd, m->config.n_layer,
                          tp_gpt_flops(m, m->config.n_positions),
                          validation_loss(m, validation)};
    tp_gpt_free(m);
    return 0;
}
/* <<tp compute: commands>> */
static void frontier_print(FILE *tsv, const frontier_point *p,
                           const bool *front, int n)
{
    printf("%-36s %5s %6s %10s %12s %9s %s\n", "model", "width", "layers",
           "N", "FLOP/token", "val.loss", "frontier");
    if (tsv != NULL)
        fprintf(tsv, "# validation: %d windows of the book's last tenth\n"
                "model\twidth\tlayers\tparameters\tflops_per_token\t"
                "train_flops_per_token\tvalidation_loss\tfrontier\n",
                loss_windows);
    for (int i = 0; i < n; i++) {
        printf("%-36s %5d %6d %10.0f %12.4e %9.4f%s\n", operands[i],
               p[i].width, p[i].layers, p[i].flops.parameters,
               p[i].flops.forward, p[i].loss, front[i] ? " *" : "");
        if (tsv != NULL)
            fprintf(tsv, "%s\t%d\t%d\t%.0f\t%.6e\t%.6e\t%.5f\t%d\n",
                    operands[i], p[i].width, p[i].layers,
                    p[i].flops.parameters, p[i].flops.forward,
                    p[i].flops.train, p[i].loss, front[i] ? 1 : 0);
    }
}
/* <<tp compute: commands>> */
static int compute_frontier(void)
{
    if (operand_count == 0) {
        fprintf(stderr, "tp compute frontier: name the GPT checkpoints to "
                "compare\n");
        return 1;
    }
    if (frontier_tsv != NULL
        && check_output("compute frontier", frontier_tsv) != 0)
        return 1;
    tp_corpus train, validation, book = tp_corpus_book();
    tp_corpus_split(&book, &train, &validation);
    frontier_point *p = calloc((size_t)operand_count, sizeof *p);
    double *cost = calloc((size_t)operand_count, 2 * sizeof *cost);
    bool *front = calloc((size_t)operand_count, sizeof *front);
    tp_check(p != NULL && cost != NULL && front != NULL, "out of memory");
    /* <<compute frontier: measure, select and write>> */
    double *loss = cost + operand_count;
    int status = 0;
    for (int i = 0; i < operand_count && status == 0; i++) {
        status = frontier_measure(operands[i], &validation, &p[i]);
        cost[i] = p[i].flops.forward, loss[i] = p[i].loss;
    }
    FILE *tsv = NULL;
    if (status == 0 && frontier_tsv != NULL
        && (tsv = fopen(frontier_tsv, "w")) == NULL) {
        fprintf(stderr, "tp compute frontier: cannot write %s\n", frontier_tsv);
        status = 1;
    }
    if (status == 0) {
        tp_pareto_front(cost, loss, operand_count, front);
        if (tsv != NULL)
            tp_describe_machine(tsv);
        frontier_print(tsv, p, front, operand_count);
    }
    if (tsv != NULL && fclose(tsv) != 0)
        status = 1;
    free(p), free(cost), free(front);
    return status;
}

/* <<tp compute: figures>> */
static const char *const quant_names[SCHEMES] = {"fp32", "int8", "int4"};
static const int quant_colour[SCHEMES] = {7, 4, 2};

static const double *quant_row(const table *t, int scheme, int threads)
{
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], quant_names[scheme]) == 0
            && (int)t->value[r][0] == threads)
            return t->value[r];
    return NULL;
}

/* The column of tokens per second: 2 after the threads and the kernel's
   path; 1 in tables written before they named the path. */
static int quant_first_rate(const table *t)
{
    return t->cols >= 6 ? 2 : 1;
}

static int quant_most_threads(const table *t)
{
    int most = 1;
    for (int r = 0; r < t->rows; r++)
        most = t->value[r][0] > most ? (int)t->value[r][0] : most;
    return most;
}
/* <<tp compute: figures>> */
static void quant_bars(tp_draw *d, const table *t, int threads, double x,
                       double y, double w, double h)
{
    double rate[SCHEMES] = {0}, ratio[SCHEMES] = {0}, top = 1;
    for (int s = 0; s < SCHEMES; s++) {
        const double *row = quant_row(t, s, threads);
        int at = quant_first_rate(t);
        rate[s] = row != NULL ? row[at] : 0;
        ratio[s] = row != NULL ? row[at + 3] : 0;
        top = rate[s] > top ? rate[s] : top;
    }
    tp_plot p = {d, x, y, w, h, {.lo = -0.5, .hi = SCHEMES - 0.5,
                                 .names = quant_names},
                 {.lo = 0, .hi = top * 1.25, .label = "tokens/s"}};
    tp_plot_frame(&p);
    /* <<compute figure: a bar per scheme, its ratio above>> */
    for (int s = 0; s < SCHEMES; s++) {
        double bars[SCHEMES] = {0};
        char label[32];
        bars[s] = rate[s];
        tp_plot_bars(&p, bars, SCHEMES, tp_category(quant_colour[s]));
        snprintf(label, sizeof label, "\xc3\x97%.2f", ratio[s]);
        tp_set_color(d->cr, tp_category(quant_colour[s]));
        tp_text(d, tp_plot_x(&p, s), tp_plot_y(&p, rate[s]) - 12, 0.5, 0.0, 7,
                label);
    }
}
/* <<tp compute: figures>> */
static int draw_compute_quant(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/compute-quant.tsv", t, error);
    if (status == 0) {
        int most = quant_most_threads(t);
        char title[64];
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        double left = most > 1 ? 50 : 155;  /* one panel: centred */
        tp_text(d, left + 80, 4, 0.5, 0.0, 8, "one thread");
        quant_bars(d, t, 1, left, 20, 160, 140);
        if (most > 1) {
            snprintf(title, sizeof title, "%d threads", most);
            cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
            tp_text(d, 340, 4, 0.5, 0.0, 8, title);
            quant_bars(d, t, most, 260, 20, 160, 140);
        }
    }
    free(t);
    return status;
}
/* <<tp compute: figures>> */
static void group_cells(tp_draw *d, double x, double y, double cell,
                        bool packed)
{
    for (int i = 0; i < (packed ? 16 : 32); i++) {
        double cx = x + i * (packed ? 2 * cell : cell);
        if (packed) {
            tp_rounded_box(d, cx, y, cell, 12, 1, tp_category(1),
                           tp_category(7));
            tp_rounded_box(d, cx + cell, y, cell, 12, 1, tp_category(0),
                           tp_category(7));
        } else
            tp_rounded_box(d, cx, y, cell - 1, 12, 1,
                           tp_category(i < 16 ? 1 : 0), tp_category(7));
    }
}
/* <<tp compute: figures>> */
static int draw_compute_int4(tp_draw *d, tp_error *error)
{
    (void)error;
    const double cell = 9.5;
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, 10, 8, 0.0, 0.0, 8, "32 weights of a group: q<sub>0</sub> "
            "\xe2\x80\xa6 q<sub>15</sub> (blue), q<sub>16</sub> \xe2\x80\xa6 "
            "q<sub>31</sub> (orange), each in [\xe2\x88\x92" "7, 7]");
    group_cells(d, 10, 22, cell, false);
    tp_arrow(d, 10 + 16 * cell, 36, 10 + 16 * cell, 50, tp_category(7), 0.8);
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, 10, 54, 0.0, 0.0, 8, "16 bytes: byte j = (q<sub>j</sub> + 8) "
            "| (q<sub>j+16</sub> + 8) \xc2\xab 4, and one 32-bit scale "
            "s<sub>o,g</sub>: 5 bits a weight");
    group_cells(d, 10, 68, cell, true);
    tp_label_box(d, 10 + 32 * cell + 8, 66, 60, 16, tp_category(3), 8,
                 "s<sub>o,g</sub>");
    /* <<int4 figure: the kernel's steps>> */
    static const char *const steps[] = {
        "unpack q + 8: one load into both halves, vpsrlvq, mask",
        "32 products, 8 sums: vpmaddubsw + vpmaddwd, or vpdpbusd",
        "take away 8 \xce\xa3 r: add c<sub>k</sub>, or start vpdpbusd at it",
        "\xc3\x97 t<sub>b</sub> s<sub>o,g</sub>, into 8 float lanes: vfmadd",
    };
    for (int i = 0; i < 4; i++) {
        double y = 96 + 17 * i;
        tp_label_box(d, 10, y, 300, 14, tp_category(i == 1 ? 4 : 7), 8,
                     steps[i]);
        if (i < 3)
            tp_arrow(d, 160, y + 14, 160, y + 17, tp_category(7), 0.8);
    }
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text_box(d, 318, 96, 110, 64, 7, "for each block b of 32 inputs; "
                "r and c<sub>k</sub> made once per input row; the lanes added "
                "once per output");
    return 0;
}
/* <<tp compute: figures>> */
static void card_flops_lines(tp_draw *d, const table *flops, double x,
                             double y)
{
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x, y, 0.0, 0.0, 7, "<b>GPT-T, one thread: 6N per token</b>");
    for (int r = 0; r < flops->rows && r < 2; r++) {
        char line[96];
        snprintf(line, sizeof line, "%s  %.1f GFLOP/s, %.1f%% of the peak",
                 flops->label[r], flops->value[r][4],
                 100 * flops->value[r][5]);
        tp_text(d, x, y + 12 + 11 * r, 0.0, 0.0, 7, line);
    }
}

static void card_loss_lines(tp_draw *d, const table *loss, double x, double y)
{
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x, y, 0.0, 0.0, 7, "<b>validation loss of a trained GPT-T</b>");
    for (int r = 0; r < loss->rows && r < SCHEMES; r++) {
        char line[96];
        snprintf(line, sizeof line, "%s  %.4f  (%+.2f%%)", loss->label[r],
                 loss->value[r][0], 100 * (loss->value[r][1] - 1));
        tp_set_color(d->cr, tp_category(quant_colour[r]));
        tp_text(d, x, y + 12 + 11 * r, 0.0, 0.0, 7, line);
    }
}
/* <<tp compute: figures>> */
static void card_fusion_line(const table *fusion, char *line, size_t size)
{
    double ratio[2] = {0, 0};
    for (int r = 0; r < fusion->rows; r++)
        if ((int)fusion->value[r][0] == 1 && fusion->cols >= 5)
            ratio[strcmp(fusion->label[r], "int8") == 0]
                = fusion->value[r][4];
    snprintf(line, size, "fused/unfused: \xc3\x97%.2f fp32, \xc3\x97%.2f int8",
             ratio[0], ratio[1]);
}
/* <<tp compute: figures>> */
static int draw_card_compute(tp_draw *d, tp_error *error)
{
    table *t[4];
    const char *path[4] = {"figures/data/compute-flops.tsv",
                           "figures/data/compute-quant.tsv",
                           "figures/data/compute-loss.tsv",
                           "figures/data/compute-fusion.tsv"};
    int status = 0;
    for (int i = 0; i < 4; i++) {
        t[i] = calloc(1, sizeof *t[i]);
        tp_check(t[i] != NULL, "out of memory");
        if (status == 0)
            status = read_table(path[i], t[i], error);
    }
    if (status == 0) {
        /* <<compute card: the panels>> */
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>8. Compute and power cost</b>",
                "Every token costs 2N operations forward, 6N in training; "
                "decoding waits for the weights",
                "Data: tp compute flops, tp bench quant, tp compute loss, tp "
                "compute fusion (make measure-compute)", &problem, &solutions);
        card_flops_lines(d, t[0], problem.x + 10, problem.y + 20);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, problem.x + 10, problem.y + 62, 0.0, 0.0, 7,
                "<b>decoding, width 1024, 12 layers, one thread</b>");
        quant_bars(d, t[1], 1, problem.x + 46, problem.y + 80, problem.w - 70, 90);
        card_loss_lines(d, t[2], problem.x + 10, problem.y + 196);
        char fusion[96];
        card_fusion_line(t[3], fusion, sizeof fusion);
        const char *const rows[][3] = {
            {"Quantisation, int8", "one scale per output row, integer products",
             "this chapter"},
            {"Quantisation, int4", "groups of 32, two weights a byte (Q4_0)",
             "this chapter"},
            {"Lightweight models", "fewer or narrower layers: the 6N count",
             "this chapter (the count, the frontier)"},
            {"Operator fusion", "bias+GELU in products; residual with norm",
             fusion},
            {"Pruning", "weights or whole structures removed",
             "Chapter: model size"},
        };
        card_solutions(d, &solutions, rows, 5);
    }
    for (int i = 0; i < 4; i++)
        free(t[i]);
    return status;
}
/* <<tp compute: figures>> */
enum { FRONTIER_WIDTH, FRONTIER_LAYERS, FRONTIER_FLOPS = 3,
       FRONTIER_LOSS = 5, FRONTIER_ON };

static tp_axis frontier_axis(const table *t, int column, bool log,
                             const char *label)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < t->rows; r++)
        lo = fmin(lo, t->value[r][column]), hi = fmax(hi, t->value[r][column]);
    double pad = log ? 1.6 : 0.08 * (hi - lo + 1e-9);
    return (tp_axis){.lo = log ? lo / pad : lo - pad,
                     .hi = log ? hi * pad : hi + pad, .log = log,
                     .label = label};
}
/* <<tp compute: figures>> */
static void frontier_width(tp_plot *p, const table *t, double width,
                           tp_color colour)
{
    double x[16], y[16];
    int n = 0;
    for (int r = 0; r < t->rows && n < 16; r++)
        if (t->value[r][FRONTIER_WIDTH] == width) {
            char depth[8];
            x[n] = t->value[r][FRONTIER_FLOPS];
            y[n] = t->value[r][FRONTIER_LOSS];
            snprintf(depth, sizeof depth, "%.0f",
                     t->value[r][FRONTIER_LAYERS]);
            tp_set_color(p->d->cr, colour);
            tp_text(p->d, tp_plot_x(p, x[n]) + 3, tp_plot_y(p, y[n]) - 2,
                    0.0, 1.0, 7, depth);
            n++;
        }
    tp_plot_line(p, x, y, n, colour, false, true);
}
/* <<tp compute: figures>> */
static void frontier_line(tp_plot *p, const table *t)
{
    double x[TABLE_ROWS], y[TABLE_ROWS];
    int n = 0;
    for (int r = 0; r < t->rows; r++)
        if (t->value[r][FRONTIER_ON] != 0) {
            int at = n++;
            for (; at > 0 && x[at - 1] > t->value[r][FRONTIER_FLOPS]; at--)
                x[at] = x[at - 1], y[at] = y[at - 1];
            x[at] = t->value[r][FRONTIER_FLOPS];
            y[at] = t->value[r][FRONTIER_LOSS];
        }
    tp_plot_line(p, x, y, n, tp_rgb(0x222222), true, false);
}
/* <<tp compute: figures>> */
static int draw_compute_frontier(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/compute-frontier.tsv", t, error);
    if (status == 0) {
        static const double widths[] = {32, 64, 128};
        static const int colours[] = {0, 5, 6};
        tp_plot p = {d, 50, 10, 360, 170,
                     frontier_axis(t, FRONTIER_FLOPS, true,
                                   "operations per token, forward"),
                     frontier_axis(t, FRONTIER_LOSS, false,
                                   "validation loss (nats per byte)")};
        tp_plot_frame(&p);
        frontier_line(&p, t);
        for (int w = 0; w < 3; w++)
            frontier_width(&p, t, widths[w], tp_category(colours[w]));
        tp_legend_entry legend[] = {
            {"C = 32", tp_category(0), false}, {"C = 64", tp_category(5), false},
            {"C = 128", tp_category(6), false},
            {"Pareto frontier", tp_rgb(0x222222), true}};
        tp_plot_legend(&p, legend, 4, TP_TOP_RIGHT);
    }
    free(t);
    return status;
}

static const command compute_commands[] = {
    /* <<tp compute: command table>> */
    {"compute flops", "count a GPT's operations per token and set them against "
     "the clock", compute_flops_options, compute_flops, NULL},
    /* <<tp compute: command table>> */
    {"gpt quantise", "write a GPT checkpoint's int8 or int4 twin",
     gpt_quantise_options, gpt_quantise, "IN OUT"},
    /* <<tp compute: command table>> */
    {"bench quant", "decoding with 32-bit, int8 and int4 weights, on one thread "
     "and all", bench_quant_options, bench_quant, NULL},
    /* <<tp compute: command table>> */
    {"compute fusion", "decoding with bias, GELU, residual and norm fused or "
     "not, in 32 bits and int8, on one thread and all", compute_fusion_options,
     compute_fusion, NULL},
    /* <<tp compute: command table>> */
    {"compute loss", "a GPT's validation loss in 32 bits, int8 and int4, and "
     "of quantised checkpoints", compute_loss_options, compute_loss,
     "[QUANTISED...]"},
    /* <<tp compute: command table>> */
    {"compute frontier", "GPTs' operations per token against their validation "
     "loss, and the Pareto frontier", compute_frontier_options,
     compute_frontier, "MODEL..."},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure compute_figures[] = {
    /* <<tp compute: figure table>> */
    {"compute-quant", "decoding with 32-bit, int8 and int4 weights", 432, 200,
     draw_compute_quant},
    /* <<tp compute: figure table>> */
    {"compute-int4", "an int4 group and the steps of the kernel", 432, 166,
     draw_compute_int4},
    /* <<tp compute: figure table>> */
    {"card-compute", "the card of compute and power cost", 440, 320,
     draw_card_compute},
    /* <<tp compute: figure table>> */
    {"compute-frontier", "validation loss against operations per token: the "
     "frontier of width and depth", 432, 216, draw_compute_frontier},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part compute_part = {compute_commands, compute_figures};
