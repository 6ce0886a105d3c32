/* Generated from book/320-decoding.nw; edit the book, not this file. */
#include "program.h"

/* <<tp decoding: commands>> */
static int mp_steps = 1000, mp_batch_size = 64, mp_layers = 2, mp_heads = 4,
           mp_width = 128, mp_seed = 1, mp_test = 500, mp_threads = 0;
static const char *mp_tsv = NULL;

static const option maskpredict_options[] = {
    {"--steps", OPTION_INT, &mp_steps, 1, 100000000,
     "training steps of each model (default: 1000)"},
    {"--batch", OPTION_INT, &mp_batch_size, 1, 512, "numbers per step"},
    {"--layers", OPTION_INT, &mp_layers, 1, 64,
     "blocks in the encoder, and in the decoder"},
    {"--heads", OPTION_INT, &mp_heads, 1, 64, "attention heads"},
    {"--width", OPTION_INT, &mp_width, 2, 4096, "the model width C"},
    {"--seed", OPTION_INT, &mp_seed, 0, 1000000000, "the seed"},
    {"--test", OPTION_INT, &mp_test, 1, 1000000,
     "held-out numbers to decode (default: 500)"},
    {"--threads", OPTION_INT, &mp_threads, 0, 1024,
     "the most threads to time decoding with (default: all)"},
    {"--tsv", OPTION_STRING, &mp_tsv, 0, 0, "write the results to this table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp decoding: commands>> */
enum { MP_WORDS = NUMBER_MAX_WORDS, MP_ENDS = NUMBER_MAX_WORDS + 2 };

typedef struct mp_batch {
    int source[NUMBER_MAX_DIGITS * 512], words[MP_WORDS * 512];
    int with_ends[MP_ENDS * 512], input[MP_WORDS * 512];
    unsigned char padding[NUMBER_MAX_DIGITS * 512];
    tp_source s;
} mp_batch;
/* <<tp decoding: commands>> */
static void mp_row(mp_batch *b, int r, tp_rng *rng)
{
    int *source = b->source + r * NUMBER_MAX_DIGITS;
    int *words = b->words + r * MP_WORDS, *ends = b->with_ends + r * MP_ENDS;
    int digits, n;
    number_example(rng, false, source, &digits, words, &n);
    for (int j = 0; j < NUMBER_MAX_DIGITS; j++) {
        b->padding[r * NUMBER_MAX_DIGITS + j] = j >= digits;
        source[j] = j < digits ? source[j] : 0;
    }
    for (int j = n; j < MP_WORDS; j++)
        words[j] = TP_PAD;
    ends[0] = TP_BOS;
    memcpy(ends + 1, words, (size_t)n * sizeof *ends);
    ends[n + 1] = TP_EOS;
    for (int j = n + 2; j < MP_ENDS; j++)
        ends[j] = TP_PAD;
}
/* <<tp decoding: commands>> */
typedef struct mp_run {
    tp_vanilla *vanilla;
    tp_maskpredict *cmlm;
    tp_rng numbers, masks;
    mp_batch batch;
    display shown;
} mp_run;

static void mp_draw(mp_run *r)
{
    for (int i = 0; i < mp_batch_size; i++)
        mp_row(&r->batch, i, &r->numbers);
    r->batch.s = (tp_source){r->batch.source, r->batch.padding, mp_batch_size,
                             NUMBER_MAX_DIGITS};
}
/* <<tp decoding: commands>> */
static tp_tensor *mp_autoregressive_loss(tp_graph *g, long step, void *run)
{
    (void)step;
    mp_run *r = run;
    mp_draw(r);
    return tp_vanilla_loss(g, r->vanilla, &r->batch.s, r->batch.with_ends,
                           MP_ENDS, 0.1f);
}

static tp_tensor *mp_cmlm_loss(tp_graph *g, long step, void *run)
{
    (void)step;
    mp_run *r = run;
    mp_draw(r);
    tp_maskpredict_mask(&r->masks, r->cmlm->mask, r->batch.words, mp_batch_size,
                        MP_WORDS, r->batch.input);
    return tp_maskpredict_loss(g, r->cmlm, &r->batch.s, r->batch.input,
                               r->batch.words, MP_WORDS, 0.1f);
}
/* <<tp decoding: commands>> */
static int mp_train(mp_run *r, tp_params *params, tp_loss_fn *loss,
                    double *seconds)
{
    r->numbers = tp_rng_seeded((uint64_t)mp_seed, 1);
    r->masks = tp_rng_seeded((uint64_t)mp_seed, 2);
    tp_optimizer *opt = tp_optimizer_new(params, (tp_optimizer_config){
        .kind = TP_ADAM, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-9f});
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    long warmup = mp_steps / 10 < 200 ? mp_steps / 10 + 1 : 200;
    tp_train_options o = {.steps = mp_steps, .warmup = warmup, .max_lr = 1e-3f,
                          .min_lr = 1e-4f, .clip = 1.0,
                          .tokens_per_step = (long)mp_batch_size * MP_ENDS,
                          .progress = show_progress,
                          .progress_context = &r->shown};
    tp_error error;
    double start = tp_seconds();
    int status = tp_train(&g, params, opt, &o, loss, r, NULL, &error);
    *seconds = tp_seconds() - start;
    if (status != 0)
        fprintf(stderr, "tp decoding maskpredict: %s\n", error.message);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    return status;
}
/* <<tp decoding: commands>> */
enum { MP_DECODERS = 9 };
static const int mp_passes[MP_DECODERS] = {0, 1, 2, 4, 10, 1, 2, 4, 10};

typedef struct mp_score {
    int right, right_length;  /* exact matches; lengths right */
    double seconds;           /* in all */
} mp_score;

static int mp_decode(mp_run *r, int d, const int *digits, int nd, int n,
                     int *out)
{
    if (d == 0)
        return tp_vanilla_greedy(r->vanilla, digits, nd, MP_WORDS, out);
    return tp_maskpredict_decode(r->cmlm, digits, nd, d > 4 ? n : 0,
                                 mp_passes[d], out);
}
/* <<tp decoding: commands>> */
static void mp_evaluate(mp_run *r, mp_score *score)
{
    tp_rng rng = tp_rng_seeded(2017, 1);
    memset(score, 0, MP_DECODERS * sizeof *score);
    for (int i = 0; i < mp_test; i++) {
        int digits[NUMBER_MAX_DIGITS], words[MP_WORDS], out[MP_ENDS], nd, n;
        number_example(&rng, true, digits, &nd, words, &n);
        for (int d = 0; d < MP_DECODERS; d++) {
            double start = tp_seconds();
            int k = mp_decode(r, d, digits, nd, n, out);
            score[d].seconds += tp_seconds() - start;
            score[d].right_length += k == n;
            score[d].right += k == n
                              && memcmp(out, words, (size_t)n * sizeof *out) == 0;
        }
    }
}
/* <<tp decoding: commands>> */
static void mp_report(FILE *tsv, int threads, int d, mp_score s,
                      double greedy_seconds)
{
    const char *method = d == 0 ? "autoregressive" : "maskpredict";
    const char *length = d == 0 ? "own" : d > 4 ? "task" : "predicted";
    double accuracy = (double)s.right / mp_test;
    double speedup = greedy_seconds / s.seconds;
    printf("%-15s %d thread%s  T %2d  length %-9s  exact %5.1f%%  "
           "%7.3f ms a number  %5.2fx\n", method, threads,
           threads == 1 ? " " : "s", mp_passes[d], length, 100.0 * accuracy,
           1e3 * s.seconds / mp_test, speedup);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%d\t%d\t%s\t%.4f\t%.4f\t%.6f\t%.3f\n", method,
                threads, mp_passes[d], length, accuracy,
                (double)s.right_length / mp_test, s.seconds / mp_test,
                speedup);
}

static void mp_decode_all(mp_run *r, FILE *tsv, int threads)
{
    mp_score score[MP_DECODERS];
    tp_set_threads(threads);
    mp_evaluate(r, score);
    for (int d = 0; d < MP_DECODERS; d++)
        mp_report(tsv, threads, d, score[d], score[0].seconds);
}
/* <<tp decoding: commands>> */
static FILE *mp_open_table(void)
{
    tp_describe_machine(stdout);
    if (mp_tsv == NULL)
        return NULL;
    FILE *tsv = fopen(mp_tsv, "w");
    if (tsv == NULL) {
        fprintf(stderr, "tp decoding maskpredict: cannot write %s\n", mp_tsv);
        return NULL;
    }
    tp_describe_machine(tsv);
    fprintf(tsv, "# written by: tp decoding maskpredict --steps %d --batch %d "
            "--layers %d --heads %d --width %d --seed %d --test %d --tsv %s\n",
            mp_steps, mp_batch_size, mp_layers, mp_heads, mp_width, mp_seed,
            mp_test, mp_tsv);
    return tsv;
}
/* <<tp decoding: commands>> */
static mp_run *mp_models(void)
{
    mp_run *r = calloc(1, sizeof *r);
    tp_check(r != NULL, "out of memory");
    tp_vanilla_config c = {
        .source_vocab = 10, .target_vocab = number_target_ids(),
        .n_positions = MP_ENDS, .n_layer = mp_layers, .n_head = mp_heads,
        .n_embd = mp_width, .n_inner = 4 * mp_width, .post_ln = 1};
    tp_rng rng = tp_rng_seeded((uint64_t)mp_seed, 3);
    r->vanilla = tp_vanilla_new(c);
    tp_vanilla_init(r->vanilla, &rng);
    r->cmlm = tp_maskpredict_new(c);
    tp_maskpredict_init(r->cmlm, &rng);
    r->shown.terminal = isatty(STDERR_FILENO);
    return r;
}
/* <<tp decoding: commands>> */
static int decoding_maskpredict(void)
{
    const char *command = "decoding maskpredict";
    if (mp_width % (2 * mp_heads) != 0) {
        fprintf(stderr, "tp %s: --width %d must be a multiple of twice "
                "--heads %d\n", command, mp_width, mp_heads);
        return 2;
    }
    if (mp_tsv != NULL && check_output(command, mp_tsv) != 0)
        return 1;
    mp_run *r = mp_models();
    double trained[2] = {0, 0};
    int status = mp_train(r, &r->vanilla->params, mp_autoregressive_loss,
                          &trained[0]);
    if (status == 0)
        status = mp_train(r, &r->cmlm->m->params, mp_cmlm_loss, &trained[1]);
    /* <<decoding maskpredict: decode and write>> */
    FILE *tsv = NULL;
    if (status == 0 && ((tsv = mp_open_table()) != NULL || mp_tsv == NULL)) {
        char sizes[256];
        snprintf(sizes, sizeof sizes, "# parameters: autoregressive %ld, "
                 "mask-predict %ld; training seconds %.1f and %.1f\n",
                 tp_params_count(&r->vanilla->params),
                 tp_params_count(&r->cmlm->m->params), trained[0], trained[1]);
        fputs(sizes, stdout);
        if (tsv != NULL)
            fprintf(tsv, "%smethod\tthreads\titerations\tlength\texact_match\t"
                    "length_right\tseconds\tspeedup\n", sizes);
        int most = mp_threads > 0 ? mp_threads : tp_threads();
        mp_decode_all(r, tsv, 1);
        if (most > 1)
            mp_decode_all(r, tsv, most);
        status = tsv != NULL && fclose(tsv) != 0;
    } else if (status == 0) {
        status = 1;
    }
    tp_vanilla_free(r->vanilla);
    tp_maskpredict_free(r->cmlm);
    free(r);
    return status;
}
/* <<tp decoding: commands>> */
static int spec_k = 4, spec_tokens = 240, spec_seed = 1;
static float spec_temperature = 0.0f;
static const char *spec_target = "gpt.safetensors", *spec_draft = NULL,
                  *spec_prompt = "The ";

static const option speculative_options[] = {
    {"--target", OPTION_STRING, &spec_target, 0, 0,
     "the model whose output is wanted (default: gpt.safetensors)"},
    {"--draft", OPTION_STRING, &spec_draft, 0, 0,
     "the small model that proposes tokens (required)"},
    {"--k", OPTION_INT, &spec_k, 1, 64, "tokens proposed per round"},
    {"--prompt", OPTION_STRING, &spec_prompt, 0, 0, "the text to continue"},
    {"--tokens", OPTION_INT, &spec_tokens, 1, 1000000, "tokens to write"},
    {"--temperature", OPTION_FLOAT, &spec_temperature, 0, 100,
     "0 for the most likely token (default: 0)"},
    {"--seed", OPTION_INT, &spec_seed, 0, 1000000000, "the seed"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp decoding: commands>> */
static tp_gpt *load_model(const char *command, const char *path)
{
    tp_error error;
    tp_gpt *m = tp_gpt_load(path, NULL, &error);
    if (m == NULL)
        fprintf(stderr, "tp %s: %s\n", command, error.message);
    return m;
}

static int check_pair(const char *command, const tp_gpt *target,
                      const char *target_path, const tp_gpt *draft,
                      const char *draft_path)
{
    if (draft->config.vocab_size == target->config.vocab_size)
        return 0;
    fprintf(stderr, "tp %s: the draft %s has %d tokens but the target %s "
            "has %d: they must share a vocabulary\n", command, draft_path,
            draft->config.vocab_size, target_path, target->config.vocab_size);
    return -1;
}
/* <<tp decoding: commands>> */
static int *byte_prompt(const char *command, const char *text,
                        const tp_gpt *a, const tp_gpt *b, int *n, int *room)
{
    int positions = a->config.n_positions < b->config.n_positions
                        ? a->config.n_positions : b->config.n_positions;
    long length = (long)strlen(text);
    if (length < 1 || length >= positions) {
        fprintf(stderr, "tp %s: the prompt must have 1 to %d bytes\n",
                command, positions - 1);
        return NULL;
    }
    int *prompt = malloc((size_t)length * sizeof *prompt);
    tp_check(prompt != NULL, "out of memory");
    for (long i = 0; i < length; i++)
        prompt[i] = (unsigned char)text[i];
    *n = (int)length;
    *room = positions - (int)length;
    return prompt;
}
/* <<tp decoding: commands>> */
static int decoding_speculative(void)
{
    const char *command = "decoding speculative";
    if (spec_draft == NULL) {
        fprintf(stderr, "tp %s: --draft names the draft model; it has no "
                "default\n", command);
        return 2;
    }
    tp_gpt *target = load_model(command, spec_target), *draft = NULL;
    int n, room, status = 1;
    int *prompt = NULL;
    if (target != NULL && (draft = load_model(command, spec_draft)) != NULL
        && check_pair(command, target, spec_target, draft, spec_draft) == 0)
        prompt = byte_prompt(command, spec_prompt, target, draft, &n, &room);
    if (prompt != NULL) {
        /* <<decoding speculative: write and report>> */
        int wanted = spec_tokens < room ? spec_tokens : room;
        int *out = malloc((size_t)wanted * sizeof *out);
        tp_check(out != NULL, "out of memory");
        tp_rng rng = tp_rng_seeded((uint64_t)spec_seed, 3);
        tp_speculation stats;
        tp_error error;
        if (tp_speculative_decode(target, draft, prompt, n, wanted, spec_k,
                                  spec_temperature, &rng, out, &stats, &error) != 0) {
            fprintf(stderr, "tp decoding speculative: %s\n", error.message);
        } else {
            fputs(spec_prompt, stdout);
            for (int i = 0; i < wanted; i++)
                putchar(out[i]);
            putchar('\n');
            fprintf(stderr, "%ld rounds; %ld of %ld proposals kept (%.1f%%)\n",
                    stats.rounds, stats.accepted, stats.proposed,
                    100.0 * (double)stats.accepted / (double)stats.proposed);
            status = 0;
        }
        free(out);
        free(prompt);
    }
    tp_gpt_free(target), tp_gpt_free(draft);
    return status;
}
/* <<tp decoding: commands>> */
static int compare_tokens = 240, compare_rounds = 3, compare_threads = 0;
static const char *compare_target = "gpt.safetensors", *compare_tsv = NULL,
                  *compare_prompt = "The Transformer ";

static const option compare_options[] = {
    {"--target", OPTION_STRING, &compare_target, 0, 0,
     "the target model (default: gpt.safetensors)"},
    {"--prompt", OPTION_STRING, &compare_prompt, 0, 0,
     "the text to continue (default: 16 bytes)"},
    {"--tokens", OPTION_INT, &compare_tokens, 1, 1000000,
     "tokens to write (at most what the positions leave)"},
    {"--rounds", OPTION_INT, &compare_rounds, 1, 1000,
     "runs of each measurement; the median is kept"},
    {"--threads", OPTION_INT, &compare_threads, 1, 1024,
     "the most threads (default: all cores); also measured on one"},
    {"--tsv", OPTION_STRING, &compare_tsv, 0, 0,
     "also write the results as a table, for the figures"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp decoding: commands>> */
enum { PLAIN, UNCACHED, SPECULATIVE };

typedef struct decoding_case {
    tp_gpt *target, *draft;
    int method, k;
    float temperature;
    const int *prompt;
    int n_prompt, n_new;
    int *out;
    double *seconds;       /* per token, plain decoding only; or NULL */
    tp_speculation stats;
} decoding_case;

static void decoding_run(void *context)
{
    decoding_case *c = context;
    tp_rng rng = tp_rng_seeded(1, 3);
    tp_error error;
    int status = c->method == SPECULATIVE
        ? tp_speculative_decode(c->target, c->draft, c->prompt, c->n_prompt,
                                c->n_new, c->k, c->temperature, &rng, c->out,
                                &c->stats, &error)
        : tp_gpt_generate(c->target, c->prompt, c->n_prompt, c->n_new,
                    c->temperature, c->method == PLAIN, &rng, c->out,
                    c->seconds, &error);
    tp_check(status == 0, "decoding compare: %s", error.message);
}
/* <<tp decoding: commands>> */
static void median_curve(decoding_case *c, double *curve)
{
    int n = c->n_new, rounds = compare_rounds;
    double *all = malloc((size_t)n * (size_t)rounds * sizeof *all);
    tp_check(all != NULL, "out of memory");
    for (int r = 0; r < rounds; r++) {
        c->seconds = all + (long)r * n;
        decoding_run(c);
    }
    c->seconds = NULL;
    for (int i = 0; i < n; i++) {
        double column[1000];
        for (int r = 0; r < rounds; r++)
            column[r] = all[(long)r * n + i];
        curve[i] = tp_median(column, rounds);
    }
    free(all);
}
/* <<tp decoding: commands>> */
typedef struct decoding_row {
    const char *label;
    int threads, width, k, tokens;
    double seconds, speedup, acceptance;
    bool identical;
} decoding_row;

static void decoding_print(FILE *f, const decoding_row *r)
{
    fprintf(f, "%s\t%d\t%d\t%d\t%d\t%.5f\t%.1f\t%.3f\t%.3f\t%d\n", r->label,
            r->threads, r->width, r->k, r->tokens, r->seconds,
            r->tokens / r->seconds, r->speedup, r->acceptance, r->identical);
}
/* <<tp decoding: commands>> */
static void decoding_curves(FILE *tsv, decoding_case *c, int threads)
{
    static const char *const label[2] = {"cache", "nocache"};
    double *curve = malloc((size_t)c->n_new * sizeof *curve);
    tp_check(curve != NULL, "out of memory");
    for (int method = PLAIN; method <= UNCACHED; method++) {
        c->method = method;
        median_curve(c, curve);
        for (int i = 15; i < c->n_new; i += 16)
            if (tsv != NULL)
                decoding_print(tsv, &(decoding_row){
                    label[method], threads, 0, 0, i + 1, curve[i], 0, 0,
                    true});
        printf("%-8s %2d thread(s)  %4d tokens  %8.3f s  %7.1f tokens/s\n",
               label[method], threads, c->n_new, curve[c->n_new - 1],
               c->n_new / curve[c->n_new - 1]);
    }
    free(curve);
}
/* <<tp decoding: commands>> */
static decoding_row speculative_row(decoding_case *c, const int *reference,
                                    double alone, int threads)
{
    c->method = SPECULATIVE;
    tp_timing t = tp_time(decoding_run, c, compare_rounds);
    decoding_row r = {c->temperature > 0 ? "sampled" : "greedy", threads,
                      c->draft->config.n_embd, c->k, c->n_new, t.median,
                      alone / t.median,
                      (double)c->stats.accepted / (double)c->stats.proposed,
                      memcmp(c->out, reference,
                             (size_t)c->n_new * sizeof *reference) == 0};
    printf("%-8s %2d thread(s)  draft %4d  k %d  %7.1f tokens/s  x%.2f  "
           "kept %.3f  %s\n", r.label, threads, r.width, r.k,
           r.tokens / r.seconds, r.speedup, r.acceptance,
           r.identical ? "identical"
           : c->temperature > 0 ? "other draws, same distribution" : "differs");
    return r;
}
/* <<tp decoding: commands>> */
static double alone(FILE *tsv, decoding_case *c, tp_gpt *m, const char *label,
                    int threads, int *out)
{
    decoding_case one = *c;
    one.target = m, one.method = PLAIN, one.out = out;
    tp_timing t = tp_time(decoding_run, &one, compare_rounds);
    decoding_row r = {label, threads, m->config.n_embd, 0, c->n_new,
                      t.median, 1.0, 0.0, true};
    if (tsv != NULL)
        decoding_print(tsv, &r);
    printf("%-8s %2d thread(s)  width %4d  %7.1f tokens/s\n", label, threads,
           r.width, c->n_new / t.median);
    return t.median;
}
/* <<tp decoding: commands>> */
static void decoding_speculation(FILE *tsv, decoding_case *c, tp_gpt **drafts,
                                 int n_drafts, int threads)
{
    static const int ks[6] = {1, 2, 3, 4, 6, 8};
    int *greedy = malloc(2 * (size_t)c->n_new * sizeof *greedy);
    tp_check(greedy != NULL, "out of memory");
    int *sampled = greedy + c->n_new;
    c->temperature = 0.0f;
    double greedy_alone = alone(tsv, c, c->target, "target", threads, greedy);
    c->temperature = 0.8f;
    double sampled_alone = alone(tsv, c, c->target, "target-sampled", threads,
                                 sampled);
    for (int d = 0; d < n_drafts; d++) {
        c->draft = drafts[d], c->temperature = 0.0f;
        alone(tsv, c, drafts[d], "draft", threads, c->out);
        /* <<decoding compare: every k, and sampling>> */
        for (int i = 0; i < 6; i++) {
            c->k = ks[i];
            decoding_row r = speculative_row(c, greedy, greedy_alone, threads);
            if (tsv != NULL)
                decoding_print(tsv, &r);
        }
        c->k = 4, c->temperature = 0.8f;
        decoding_row r = speculative_row(c, sampled, sampled_alone, threads);
        if (tsv != NULL)
            decoding_print(tsv, &r);
    }
    free(greedy);
}
/* <<tp decoding: commands>> */
static int compare_with(tp_gpt *target, tp_gpt **drafts, int n_drafts);

static int decoding_compare(void)
{
    const char *command = "decoding compare";
    if (operand_count < 1 || operand_count > 8) {
        fprintf(stderr, "tp %s: name one to eight draft models after the "
                "options\n", command);
        return 2;
    }
    if (compare_tsv != NULL && check_output(command, compare_tsv) != 0)
        return 1;
    tp_gpt *target = load_model(command, compare_target), *drafts[8];
    int n = 0, status = 1;
    while (target != NULL && n < operand_count
           && (drafts[n] = load_model(command, operands[n])) != NULL
           && check_pair(command, target, compare_target, drafts[n],
                         operands[n]) == 0)
        n++;
    if (target != NULL && n == operand_count)
        status = compare_with(target, drafts, n);
    else if (n < operand_count && target != NULL && drafts[n] != NULL)
        tp_gpt_free(drafts[n]);  /* loaded, but of another vocabulary */
    for (int d = 0; d < n; d++)
        tp_gpt_free(drafts[d]);
    tp_gpt_free(target);
    return status;
}
/* <<tp decoding: commands>> */
static int compare_with(tp_gpt *target, tp_gpt **drafts, int n_drafts)
{
    int n, room;
    int *prompt = byte_prompt("decoding compare", compare_prompt, target,
                              drafts[0], &n, &room);
    if (prompt == NULL)
        return 1;
    FILE *tsv = NULL;
    /* <<decoding compare: open the table>> */
    tp_describe_machine(stdout);
    if (compare_tsv != NULL) {
        tsv = fopen(compare_tsv, "w");
        if (tsv == NULL) {
            fprintf(stderr, "tp decoding compare: cannot write %s\n", compare_tsv);
            free(prompt);
            return 1;
        }
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp decoding compare --target %s ... --tsv %s\n"
                "# target: %d layers, width %d; prompt %d bytes\n"
                "what\tthreads\twidth\tk\ttokens\tseconds\ttokens_per_s\tspeedup\t"
                "acceptance\tidentical\n", compare_target, compare_tsv,
                target->config.n_layer, target->config.n_embd, n);
    }
    int wanted = compare_tokens < room ? compare_tokens : room;
    int *out = malloc((size_t)wanted * sizeof *out);
    tp_check(out != NULL, "out of memory");
    decoding_case c = {.target = target, .prompt = prompt, .n_prompt = n,
                       .n_new = wanted, .out = out};
    int most = compare_threads > 0 ? compare_threads : tp_threads();
    int settings[2] = {1, most};
    for (int s = 0; s < (most > 1 ? 2 : 1); s++) {
        tp_set_threads(settings[s]);
        decoding_curves(tsv, &c, settings[s]);
        decoding_speculation(tsv, &c, drafts, n_drafts, settings[s]);
    }
    free(out), free(prompt);
    return tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
}
/* <<tp decoding: commands>> */
static int distill_steps = 100, distill_batch = 4, distill_context = 256,
           distill_layers = 4, distill_heads = 4, distill_width = 32,
           distill_seed = 1;
static float distill_temperature = 2.0f, distill_weight = 0.5f;
static const char *distill_teacher = "gpt.safetensors", *distill_out = NULL,
                  *distill_tsv = NULL;

static const option distill_options[] = {
    {"--teacher", OPTION_STRING, &distill_teacher, 0, 0,
     "the target, whose soft targets the draft learns "
     "(default: gpt.safetensors)"},
    {"--temperature", OPTION_FLOAT, &distill_temperature, -1000, 1000,
     "tau, dividing both models' logits (default: 2)"},
    {"--weight", OPTION_FLOAT, &distill_weight, -1000, 1000,
     "lambda, the soft targets' weight, from 0 to 1 (default: 0.5)"},
    {"--steps", OPTION_INT, &distill_steps, 1, 100000000, "training steps"},
    {"--batch", OPTION_INT, &distill_batch, 1, 4096, "sequences per step"},
    {"--context", OPTION_INT, &distill_context, 2, 65536,
     "tokens per sequence (at most the teacher's positions)"},
    {"--layers", OPTION_INT, &distill_layers, 1, 256, "the draft's blocks"},
    {"--heads", OPTION_INT, &distill_heads, 1, 256, "the draft's heads"},
    {"--width", OPTION_INT, &distill_width, 1, 65536, "the draft's width"},
    {"--seed", OPTION_INT, &distill_seed, 0, 1000000000, "the seed"},
    {"--tokens", OPTION_INT, &compare_tokens, 1, 1000000,
     "tokens each decoding writes"},
    {"--rounds", OPTION_INT, &compare_rounds, 1, 1000,
     "runs of each timing; the median is kept"},
    {"--out", OPTION_STRING, &distill_out, 0, 0,
     "also save the distilled draft"},
    {"--tsv", OPTION_STRING, &distill_tsv, 0, 0,
     "also write the results as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp decoding: commands>> */
static int distill_settings(const char *command, const tp_gpt *teacher)
{
    if (!(distill_temperature > 0.0f))
        fprintf(stderr, "tp %s: --temperature must be positive, not %g\n",
                command, (double)distill_temperature);
    else if (!(distill_weight >= 0.0f && distill_weight <= 1.0f))
        fprintf(stderr, "tp %s: --weight must be from 0 to 1, not %g\n",
                command, (double)distill_weight);
    else if (distill_width % distill_heads != 0)
        fprintf(stderr, "tp %s: --heads %d does not divide --width %d\n",
                command, distill_heads, distill_width);
    else if (teacher != NULL && teacher->config.vocab_size != 256)
        fprintf(stderr, "tp %s: the teacher %s has %d tokens but the draft "
                "reads bytes, 256: they must share a vocabulary\n", command,
                distill_teacher, teacher->config.vocab_size);
    else if (teacher != NULL
             && teacher->config.positions != TP_POSITIONS_LEARNED)
        fprintf(stderr, "tp %s: the teacher %s has %s positions; speculative "
                "decoding here works only with learned positions\n", command,
                distill_teacher, tp_position_name(teacher->config.positions));
    else if (teacher != NULL && teacher->config.n_positions < distill_context)
        fprintf(stderr, "tp %s: --context %d, but the teacher %s has %d "
                "positions\n", command, distill_context, distill_teacher,
                teacher->config.n_positions);
    else
        return 0;
    return -1;
}
/* <<tp decoding: commands>> */
typedef struct distill_run {
    gpt_windows w;
    tp_gpt *teacher;  /* NULL: the data alone */
} distill_run;

static tp_tensor *distill_step_loss(tp_graph *g, long step, void *context)
{
    distill_run *r = context;
    gpt_windows *w = &r->w;
    if (r->teacher == NULL)
        return gpt_windows_loss(g, step, w);
    tp_random_windows(w->tokens, w->train, w->batch, w->context, &w->rng,
                      w->inputs, w->targets);
    bool recording = tp_set_grad(g, false);
    tp_tensor *soft = tp_gpt_forward(g, r->teacher, w->inputs, w->batch,
                                     w->context);
    tp_set_grad(g, recording);
    tp_tensor *logits = tp_gpt_forward(g, w->m, w->inputs, w->batch,
                                       w->context);
    return tp_distill_loss(g, logits, soft, w->targets, distill_temperature,
                           distill_weight);
}
/* <<tp decoding: commands>> */
static tp_gpt *distill_train(distill_run *r, double *validation)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){256, distill_context,
                                           distill_layers, distill_heads,
                                           distill_width,
                                           TP_POSITIONS_LEARNED});
    tp_rng init = tp_rng_seeded((uint64_t)distill_seed, 1);
    tp_gpt_init(m, &init);
    r->w.m = m;
    r->w.rng = tp_rng_seeded((uint64_t)distill_seed, 2);
    tp_optimizer *opt = tp_adamw_new(&m->params, 0.95f, 0.1f);
    long warmup = distill_steps / 10 < 100 ? distill_steps / 10 + 1 : 100;
    tp_train_options o = {.steps = distill_steps, .warmup = warmup,
                          .max_lr = 3e-4f, .min_lr = 3e-5f, .clip = 1.0};
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_error error;
    int status = tp_train(&g, &m->params, opt, &o, distill_step_loss, r, NULL,
                          &error);
    tp_check(status == 0, "decoding distill: %s", error.message);
    *validation = gpt_windows_validation(&r->w, 8);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    return m;
}
/* <<tp decoding: commands>> */
typedef struct distill_result {
    double validation, kept[2], speedup[2];  /* greedy, sampled */
    bool identical;                          /* the greedy output */
} distill_result;

static void distill_measure(tp_gpt *teacher, tp_gpt *draft,
                            const int *prompt, int n, int wanted,
                            distill_result *result)
{
    int *reference = malloc(2 * (size_t)wanted * sizeof *reference);
    tp_check(reference != NULL, "out of memory");
    tp_set_threads(1);
    decoding_case c = {.target = teacher, .draft = draft, .prompt = prompt,
                       .n_prompt = n, .n_new = wanted,
                       .out = reference + wanted, .k = 4};
    for (int s = 0; s < 2; s++) {
        c.temperature = s == 0 ? 0.0f : 0.8f;
        double seconds = alone(NULL, &c, teacher, "teacher", 1, reference);
        decoding_row r = speculative_row(&c, reference, seconds, 1);
        result->kept[s] = r.acceptance, result->speedup[s] = r.speedup;
        if (s == 0)
            result->identical = r.identical;
    }
    free(reference);
}
/* <<tp decoding: commands>> */
static int distill_with(tp_gpt *teacher, const tp_corpus *corpus,
                        const tp_corpus *train);

static int decoding_distill(void)
{
    const char *command = "decoding distill";
    if (distill_settings(command, NULL) != 0
        || (distill_out != NULL && check_output(command, distill_out) != 0)
        || (distill_tsv != NULL && check_output(command, distill_tsv) != 0))
        return 1;
    tp_gpt *teacher = load_model(command, distill_teacher);
    if (teacher == NULL || distill_settings(command, teacher) != 0) {
        if (teacher != NULL)
            tp_gpt_free(teacher);
        return 1;
    }
    tp_corpus corpus, train, validation;
    int status = 1;
    if (load_corpus(command, &corpus) == 0) {
        tp_corpus_split(&corpus, &train, &validation);
        if (validation.size <= distill_context)
            fprintf(stderr, "tp %s: the data (%ld bytes) is too short for "
                    "--context %d\n", command, corpus.size, distill_context);
        else
            status = distill_with(teacher, &corpus, &train);
        tp_corpus_free(&corpus);
    }
    tp_gpt_free(teacher);
    return status;
}
/* <<tp decoding: commands>> */
static int distill_with(tp_gpt *teacher, const tp_corpus *corpus,
                        const tp_corpus *train)
{
    int *tokens = malloc((size_t)corpus->size * sizeof *tokens);
    int *windows = malloc(2 * (size_t)distill_batch * (size_t)distill_context
                          * sizeof *windows);
    tp_check(tokens != NULL && windows != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus->bytes, corpus->size, tokens);
    distill_run r = {.w = {.tokens = tokens, .train = train->size,
                           .total = corpus->size, .batch = distill_batch,
                           .context = distill_context, .inputs = windows,
                           .targets = windows + distill_batch
                                                * distill_context}};
    int n, room, status = 1;
    /* <<decoding distill: train and measure both drafts>> */
    int *prompt = byte_prompt("decoding distill", compare_prompt, teacher,
                              teacher, &n, &room);
    if (prompt != NULL) {
        int wanted = compare_tokens < room ? compare_tokens : room;
        distill_result result[2];
        tp_gpt *draft[2];
        for (int d = 0; d < 2; d++) {
            r.teacher = d == 0 ? NULL : teacher;
            draft[d] = distill_train(&r, &result[d].validation);
            distill_measure(teacher, draft[d], prompt, n, wanted, &result[d]);
        }
        r.w.m = teacher;
        double teacher_loss = gpt_windows_validation(&r.w, 8);
        /* <<decoding distill: write the table and the draft>> */
        tp_error error;
        FILE *tsv = NULL;
        status = 0;
        if (distill_tsv != NULL && (tsv = fopen(distill_tsv, "w")) == NULL) {
            fprintf(stderr, "tp decoding distill: cannot write %s\n", distill_tsv);
            status = 1;
        }
        if (tsv != NULL) {
            tp_describe_machine(tsv);
            fprintf(tsv, "# written by: tp decoding distill --teacher %s --tsv %s\n"
                    "# teacher: %d layers, width %d; drafts: %d layers, width %d; "
                    "%d steps, batch %d, context %d, seed %d; k 4; %d tokens after "
                    "%d bytes; one thread\n# teacher's validation loss %.4f\n",
                    distill_teacher, distill_tsv, teacher->config.n_layer,
                    teacher->config.n_embd, distill_layers, distill_width,
                    distill_steps, distill_batch, distill_context, distill_seed,
                    wanted, n, teacher_loss);
            fprintf(tsv, "draft\ttemperature\tweight\tvalidation_loss\t"
                    "greedy_kept\tgreedy_speedup\tsampled_kept\tsampled_speedup\t"
                    "greedy_identical\n");
        }
        printf("teacher: validation loss %.4f\n", teacher_loss);
        for (int d = 0; d < 2; d++) {
            printf("%s draft: validation loss %.4f; greedy: kept %.3f, x%.2f; "
                   "sampled at 0.8: kept %.3f, x%.2f\n", d == 0 ? "plain" : "distilled",
                   result[d].validation, result[d].kept[0], result[d].speedup[0],
                   result[d].kept[1], result[d].speedup[1]);
            if (tsv != NULL)
                fprintf(tsv, "%s\t%g\t%g\t%.4f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\n",
                        d == 0 ? "plain" : "distilled", (double)distill_temperature,
                        d == 0 ? 0.0 : (double)distill_weight, result[d].validation,
                        result[d].kept[0], result[d].speedup[0], result[d].kept[1],
                        result[d].speedup[1], result[d].identical);
        }
        if (tsv != NULL && fclose(tsv) != 0)
            status = 1;
        if (distill_out != NULL
            && tp_gpt_save(draft[1], distill_out, NULL, 0, NULL, &error) != 0) {
            fprintf(stderr, "tp decoding distill: %s\n", error.message);
            status = 1;
        }
        tp_gpt_free(draft[0]), tp_gpt_free(draft[1]);
        free(prompt);
    }
    free(tokens), free(windows);
    return status;
}

/* <<tp decoding: figures>> */
static void maskpredict_card_line(tp_draw *d, double x, double y)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    tp_error error;
    enum { EXACT = 3, SPEEDUP = 6, GREEDY = 0, FOUR_PASSES = 3 };
    if (read_table("figures/data/decoding-maskpredict.tsv", t, &error) == 0
        && t->rows >= MP_DECODERS) {
        char line[160];
        snprintf(line, sizeof line, "mask-predict, 4 passes  \xc3\x97%.2f, "
                 "%.0f%% exact (greedy %.0f%%)",
                 t->value[FOUR_PASSES][SPEEDUP],
                 100 * t->value[FOUR_PASSES][EXACT],
                 100 * t->value[GREEDY][EXACT]);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, x, y, 0.0, 0.0, 7, line);
    }
    free(t);
}
/* <<tp decoding: figures>> */
enum { D_THREADS, D_WIDTH, D_K, D_TOKENS, D_SECONDS, D_RATE, D_SPEEDUP,
       D_ACCEPTANCE };

static int decoding_series(const table *t, const char *label, int threads,
                           int width, int xcol, int ycol, double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 64; r++)
        if (strcmp(t->label[r], label) == 0
            && (int)t->value[r][D_THREADS] == threads
            && (width < 0 || (int)t->value[r][D_WIDTH] == width)) {
            x[n] = t->value[r][xcol];
            y[n++] = t->value[r][ycol];
        }
    return n;
}
/* <<tp decoding: figures>> */
static int decoding_drafts(const table *t, int widths[4])
{
    int n = 0;
    for (int r = 0; r < t->rows; r++) {
        int w = (int)t->value[r][D_WIDTH];
        bool seen = false;
        for (int i = 0; i < n; i++)
            seen = seen || widths[i] == w;
        if (strcmp(t->label[r], "draft") == 0 && !seen && n < 4)
            widths[n++] = w;
    }
    return n;
}
/* <<tp decoding: figures>> */
static void decoding_time_panel(tp_plot *p, const table *t, bool legend_too)
{
    static const char *const label[2] = {"cache", "nocache"};
    static const char *const name[2] = {"with the KV cache",
                                        "without: the prefix again"};
    int colour[2] = {2, 5};
    tp_plot_frame(p);
    tp_legend_entry legend[2];
    for (int m = 0; m < 2; m++) {
        double x[64], y[64];
        int n = decoding_series(t, label[m], 1, -1, D_TOKENS, D_SECONDS, x, y);
        tp_plot_line(p, x, y, n, tp_category(colour[m]), false, true);
        legend[m] = (tp_legend_entry){name[m], tp_category(colour[m]), false};
    }
    if (legend_too)
        tp_plot_legend(p, legend, 2, TP_TOP_LEFT);
}
/* <<tp decoding: figures>> */
static void decoding_k_panel(tp_plot *p, const table *t, int column,
                             bool legend_too)
{
    int widths[4], drafts = decoding_drafts(t, widths);
    tp_plot_frame(p);
    tp_legend_entry legend[4];
    char text[4][48];
    for (int d = 0; d < drafts; d++) {
        double x[64], y[64];
        tp_color colour = tp_category(d == 0 ? 4 : 6);
        int n = decoding_series(t, "greedy", 1, widths[d], D_K, column, x, y);
        tp_plot_line(p, x, y, n, colour, false, true);
        n = decoding_series(t, "sampled", 1, widths[d], D_K, column, x, y);
        tp_plot_line(p, x, y, n, colour, true, true);  /* one point, k = 4 */
        snprintf(text[d], sizeof text[d], "draft of width %d", widths[d]);
        legend[d] = (tp_legend_entry){text[d], colour, false};
    }
    if (legend_too)
        tp_plot_legend(p, legend, drafts, TP_BOTTOM_RIGHT);
}
/* <<tp decoding: figures>> */
static int draw_decoding(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/decoding.tsv", t, error);
    if (status == 0) {
        double x[64], y[64];
        int n = decoding_series(t, "nocache", 1, -1, D_TOKENS, D_SECONDS, x, y);
        tp_plot time = {d, 40, 12, 100, 150,
                        {.lo = 0, .hi = n > 0 ? x[n - 1] : 256,
                         .label = "tokens written"},
                        {.lo = 0, .hi = n > 0 ? y[n - 1] * 1.1 : 1,
                         .label = "seconds"}};
        tp_plot speed = {d, 190, 12, 95, 150, {.lo = 0.5, .hi = 8.5,
                                                 .label = "k"},
                         {.lo = 0, .hi = 2.5,
                          .label = "speed-up over the target"}};
        tp_plot kept = {d, 335, 12, 95, 150, {.lo = 0.5, .hi = 8.5,
                                                .label = "k"},
                        {.lo = 0, .hi = 1, .label = "proposals kept"}};
        decoding_time_panel(&time, t, true);
        decoding_k_panel(&speed, t, D_SPEEDUP, false);
        decoding_k_panel(&kept, t, D_ACCEPTANCE, true);
    }
    free(t);
    return status;
}
/* <<tp decoding: figures>> */
static double decoding_value(const table *t, const char *label, int threads,
                             int column)
{
    for (int r = t->rows - 1; r >= 0; r--)
        if (strcmp(t->label[r], label) == 0
            && (int)t->value[r][D_THREADS] == threads)
            return t->value[r][column];
    return NAN;
}

static int decoding_best(const table *t)
{
    int best = -1;
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], "greedy") == 0 && (int)t->value[r][D_THREADS] == 1
            && (best < 0 || t->value[r][D_SPEEDUP] > t->value[best][D_SPEEDUP]))
            best = r;
    return best;
}
/* <<tp decoding: figures>> */
static void decoding_card_numbers(tp_draw *d, const table *t, double x,
                                  double y)
{
    char line[128];
    int best = decoding_best(t);
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x, y, 0.0, 0.0, 7, "<b>one thread, 240 tokens</b>");
    snprintf(line, sizeof line, "without the cache  %.0f tokens/s",
             decoding_value(t, "nocache", 1, D_RATE));
    tp_text(d, x, y + 12, 0.0, 0.0, 7, line);
    snprintf(line, sizeof line, "with the cache  %.0f tokens/s",
             decoding_value(t, "cache", 1, D_RATE));
    tp_text(d, x, y + 24, 0.0, 0.0, 7, line);
    if (best >= 0) {
        snprintf(line, sizeof line, "speculative  \xc3\x97%.2f (k = %.0f, draft "
                 "of width %.0f, %.0f%% kept), same tokens",
                 t->value[best][D_SPEEDUP], t->value[best][D_K],
                 t->value[best][D_WIDTH], 100 * t->value[best][D_ACCEPTANCE]);
        tp_text(d, x, y + 36, 0.0, 0.0, 7, line);
    }
}
/* <<tp decoding: figures>> */
static int draw_card_decoding(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/decoding.tsv", t, error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>4. Slow autoregressive decoding</b>",
                "One token per pass, and each pass of one row waits for "
                "every weight to arrive from memory",
                "Data: tp decoding compare and maskpredict (make "
                "measure-decoding, measure-maskpredict)", &problem,
                &solutions);
        /* <<decoding card: the problem>> */
        double px = problem.x, py = problem.y, x[64], y[64];
        int n = decoding_series(t, "nocache", 1, -1, D_TOKENS, D_SECONDS, x, y);
        tp_plot time = {d, px + 28, py + 34, 90, 110,
                        {.lo = 0, .hi = n > 0 ? x[n - 1] : 256},
                        {.lo = 0, .hi = n > 0 ? y[n - 1] * 1.1 : 1}};
        tp_plot speed = {d, px + 150, py + 34, 90, 110, {.lo = 0.5, .hi = 8.5},
                         {.lo = 0, .hi = 2.5}};
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 73, py + 20, 0.5, 0.0, 7, "seconds against tokens written");
        tp_text(d, px + 195, py + 20, 0.5, 0.0, 7, "speculative speed-up against k");
        decoding_time_panel(&time, t, false);
        decoding_k_panel(&speed, t, D_SPEEDUP, false);
        decoding_card_numbers(d, t, px + 10, py + 172);
        maskpredict_card_line(d, px + 10, py + 220);
        /* <<decoding card: the solutions>> */
        static const char *const solution[][3] = {
            {"KV cache", "one row per token: O(T), not O(T\xc2\xb2)",
             "GPT (Part II); measured here"},
            {"Speculative decoding", "a draft proposes k, the target checks them",
             "in one pass; exact: this chapter"},
            {"Mask-predict", "all positions at once, then refined",
             "in a few passes; changes the model: this chapter"},
            {"Distillation", "a small student of the large model",
             "for the draft: this chapter"},
        };
        card_solutions(d, &solutions, solution, 4);
    }
    free(t);
    return status;
}

static const command decoding_commands[] = {
    /* <<tp decoding: command table>> */
    {"decoding maskpredict", "train an encoder-decoder and a mask-predict "
     "model on numbers in English; compare their accuracy and speed",
     maskpredict_options, decoding_maskpredict, NULL},
    /* <<tp decoding: command table>> */
    {"decoding speculative", "continue a prompt with a target GPT and a draft "
     "GPT that proposes tokens", speculative_options, decoding_speculative, NULL},
    /* <<tp decoding: command table>> */
    {"decoding compare", "time decoding with and without the cache, and "
     "speculative decoding at several k and drafts", compare_options,
     decoding_compare, "DRAFT..."},
    /* <<tp decoding: command table>> */
    {"decoding distill", "train a draft on the target's soft targets and on the "
     "data alone; compare their losses and speculative decoding with each",
     distill_options, decoding_distill, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure decoding_figures[] = {
    /* <<tp decoding: figure table>> */
    {"decoding", "decoding time with and without the cache; speculative "
     "decoding's speed-up and acceptance against k", 440, 200, draw_decoding},
    /* <<tp decoding: figure table>> */
    {"card-decoding", "the card of slow autoregressive decoding", 440, 320,
     draw_card_decoding},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part decoding_part = {decoding_commands, decoding_figures};
