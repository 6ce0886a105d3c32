/* Generated from book/365-size.nw; edit the book, not this file. */
#include <time.h>

#include "program.h"

/* <<tp size: counting bytes>> */
typedef struct named_config {
    const char *name;
    tp_gpt_config config;
} named_config;

static const named_config known_models[] = {
    {"GPT-T", {256, 128, 4, 4, 256, TP_POSITIONS_LEARNED}},
    {"base", {256, 128, 4, 4, 128, TP_POSITIONS_LEARNED}},
    {"GPT-2-small", {50257, 1024, 12, 12, 768, TP_POSITIONS_LEARNED}},
    {"GPT-3-175B", {50257, 2048, 96, 96, 12288, TP_POSITIONS_LEARNED}},
};

static int bytes_rank = 8;
static const char *bytes_tsv = NULL;

static const option bytes_options[] = {
    {"--rank", OPTION_INT, &bytes_rank, 1, 4096, "the adapters' rank r"},
    {"--tsv", OPTION_STRING, &bytes_tsv, 0, 0,
     "also write the counts as a table, for the card"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp size: counting bytes>> */
static double total_bytes(tp_training_bytes b)
{
    return b.weights + b.gradients + b.master + b.moments;
}

static void count_one(const named_config *k, FILE *tsv)
{
    tp_gpt_modern plain = {0};
    double p = tp_gpt_parameter_count(k->config, plain);
    double a = tp_lora_parameter_count(k->config, plain, bytes_rank);
    double full = total_bytes(tp_finetune_bytes(p, p, 2));
    double lora = total_bytes(tp_finetune_bytes(p, 0, 2))
                  + total_bytes(tp_finetune_bytes(a, a, 4));
    printf("%-12s %13.0f %9.3f %13.3f %11.0f %7.3f%% %13.3f\n", k->name, p,
           2 * p / 1e9, full / 1e9, a, 100 * a / p, lora / 1e9);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%.0f\t%.6f\t%.6f\t%.0f\t%.6f\n", k->name, p,
                2 * p / 1e9, full / 1e9, a, lora / 1e9);
}
/* <<tp size: counting bytes>> */
static int size_bytes(void)
{
    if (bytes_tsv != NULL && check_output("size bytes", bytes_tsv) != 0)
        return 1;
    FILE *tsv = bytes_tsv != NULL ? fopen(bytes_tsv, "w") : NULL;
    if (tsv != NULL)
        fprintf(tsv, "# written by: tp size bytes --rank %d --tsv %s\n"
                "# counts, not measurements: no machine\nmodel\tparameters\t"
                "weights_fp16_gb\tfull_finetune_gb\tlora_parameters\t"
                "lora_finetune_gb\n", bytes_rank, bytes_tsv);
    printf("%-12s %13s %9s %13s %11s %8s %13s\n", "model", "parameters",
           "fp16 GB", "full tune GB", "LoRA params", "share", "LoRA tune GB");
    for (size_t i = 0; i < sizeof known_models / sizeof *known_models; i++)
        count_one(&known_models[i], tsv);
    return tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
}

/* <<tp size: texts>> */
typedef struct text {
    tp_corpus corpus;
    int *tokens;
    long train;
} text;

static int load_text(const char *command, const char *path, int context,
                     text *t)
{
    tp_error error;
    if (path == NULL)
        t->corpus = tp_corpus_book();
    else if (tp_corpus_load(path, &t->corpus, &error) != 0) {
        fprintf(stderr, "tp %s: %s\n", command, error.message);
        return 1;
    }
    tp_corpus train, validation;
    tp_corpus_split(&t->corpus, &train, &validation);
    if (validation.size <= context) {
        fprintf(stderr, "tp %s: %s is too short for windows of %d bytes\n",
                command, path != NULL ? path : "the book", context);
        tp_corpus_free(&t->corpus);
        return 1;
    }
    /* <<tp size: the text's tokens>> */
    t->tokens = malloc((size_t)t->corpus.size * sizeof *t->tokens);
    tp_check(t->tokens != NULL, "out of memory");
    for (long i = 0; i < t->corpus.size; i++)
        t->tokens[i] = t->corpus.bytes[i];
    t->train = train.size;
    return 0;
}
/* <<tp size: texts>> */
static void text_free(text *t)
{
    free(t->tokens);
    tp_corpus_free(&t->corpus);
}

static tp_gpt *load_base(const char *command, const char *path)
{
    tp_error error;
    tp_gpt *m = tp_gpt_load(path, NULL, &error);
    if (m == NULL)
        fprintf(stderr, "tp %s: %s\n", command, error.message);
    else if (m->config.vocab_size != 256) {
        fprintf(stderr, "tp %s: %s reads %d tokens, not bytes\n", command,
                path, m->config.vocab_size);
        tp_gpt_free(m);
        m = NULL;
    }
    return m;
}

/* <<tp size: fine-tuning>> */
static int size_batch = 8, size_seed = 1;

typedef struct tuning {
    gpt_windows w;
    tp_pruning *pruning;
} tuning;

typedef struct tuned {
    double before, after, ms_per_step, trainable;
    double cpu_ms_per_step;  /* the process's processor time: on one
                                thread, the step's own work */
} tuned;

static tp_tensor *tuning_loss(tp_graph *g, long step, void *context)
{
    tuning *t = context;
    if (t->pruning != NULL)
        tp_pruning_apply(t->pruning);
    return gpt_windows_loss(g, step, &t->w);
}
/* <<tp size: fine-tuning>> */
static int tune(tp_gpt *m, const tp_params *trained, tp_pruning *pruning,
                const text *x, int steps, float lr, tuned *r, tp_error *error)
{
    int context = m->config.n_positions;
    tuning t = {.w = {.m = m, .tokens = x->tokens, .train = x->train,
                      .total = x->corpus.size, .batch = size_batch,
                      .context = context,
                      .rng = tp_rng_seeded((uint64_t)size_seed, 3)},
                .pruning = pruning};
    t.w.inputs = malloc(2 * (size_t)size_batch * context * sizeof(int));
    tp_check(t.w.inputs != NULL, "out of memory");
    t.w.targets = t.w.inputs + size_batch * context;
    r->before = gpt_windows_validation(&t.w, 8);
    r->trainable = (double)tp_params_count(trained);
    int status = 0;
    /* <<tp size: train and time>> */
    if (steps > 0) {
        tp_optimizer *opt = tp_adamw_new(trained, 0.95f, 0.1f);
        tp_arena *step = tp_arena_new("step");
        tp_graph g = tp_graph_on(step);
        tp_train_options o = {.steps = steps, .warmup = steps / 10 + 1,
                              .max_lr = lr, .min_lr = lr / 10, .clip = 1.0};
        double start = tp_seconds();
        clock_t processor = clock();
        status = tp_train(&g, trained, opt, &o, tuning_loss, &t, NULL, error);
        r->ms_per_step = 1e3 * (tp_seconds() - start) / steps;
        r->cpu_ms_per_step = 1e3 * (double)(clock() - processor) / CLOCKS_PER_SEC
                             / steps;
        if (pruning != NULL)
            tp_pruning_apply(pruning);
        tp_arena_free(step);
        tp_optimizer_free(opt);
    }
    r->after = gpt_windows_validation(&t.w, 8);
    free(t.w.inputs);
    return status;
}
/* <<tp size: fine-tuning>> */
static const char *tune_model = "gpt.safetensors", *tune_out = NULL,
                  *tune_adapters = NULL,
                  *tune_data = "/usr/share/common-licenses/GPL-3";
static int tune_rank = 0, tune_steps = 150;
static float tune_alpha = 8.0f, tune_lr = 0.0f;
static bool tune_full = false;

static float default_lr(bool full)
{
    return tune_lr > 0 ? tune_lr : full ? 1e-3f : 5e-3f;
}
/* <<tp size: fine-tuning>> */
static const option finetune_options[] = {
    {"--model", OPTION_STRING, &tune_model, 0, 0,
     "the pre-trained GPT (default: gpt.safetensors)"},
    {"--data", OPTION_STRING, &tune_data, 0, 0,
     "the new text (default: /usr/share/common-licenses/GPL-3)"},
    {"--lora", OPTION_INT, &tune_rank, 1, 65536,
     "train adapters of this rank r, at most the width"},
    {"--full", OPTION_FLAG, &tune_full, 0, 0, "train every parameter"},
    {"--alpha", OPTION_FLOAT, &tune_alpha, 0, 65536,
     "the adapters' scale numerator (default: 8)"},
    {"--adapters", OPTION_STRING, &tune_adapters, 0, 0,
     "train nothing: load these adapters onto the base and evaluate"},
    {"--steps", OPTION_INT, &tune_steps, 0, 1000000, "steps (default: 150)"},
    {"--lr", OPTION_FLOAT, &tune_lr, 0, 1,
     "the peak learning rate (default: 1e-3 in full, 5e-3 for adapters)"},
    {"--batch", OPTION_INT, &size_batch, 1, 4096, "sequences per step"},
    {"--seed", OPTION_INT, &size_seed, 0, 1000000000, "the seed"},
    {"--out", OPTION_STRING, &tune_out, 0, 0,
     "save the adapters (or the model, with --full) here"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp size: fine-tuning>> */
static void report(const char *label, int rank, const tp_gpt *m,
                   const tuned *r, FILE *tsv)
{
    double all = (double)tp_params_count(&m->params);
    char method[32];
    if (rank > 0)
        snprintf(method, sizeof method, "LoRA r=%d", rank);
    else
        snprintf(method, sizeof method, "%s", label);
    printf("%-9s %8.0f trainable (%6.2f%%)  optimiser %9.0f bytes  %7.1f "
           "ms/step  validation %.4f -> %.4f\n", method, r->trainable,
           100 * r->trainable / all, 8 * r->trainable, r->ms_per_step,
           r->before, r->after);
    fflush(stdout);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%d\t%.0f\t%.0f\t%.2f\t%.5f\t%.5f\n", label, rank,
                r->trainable, 8 * r->trainable, r->ms_per_step, r->before,
                r->after);
}
/* <<tp size: fine-tuning>> */
static int evaluate_adapters(tp_gpt *m, const text *x)
{
    tp_error error;
    tp_lora *l = tp_lora_load(tune_adapters, m, &error);
    if (l == NULL) {
        fprintf(stderr, "tp size finetune: %s\n", error.message);
        return 1;
    }
    tuned attached = {0}, merged = {0};
    tp_lora_attach(m, l);
    tune(m, &l->params, NULL, x, 0, 0, &attached, &error);
    tp_lora_merge(m, l);
    tune(m, &m->params, NULL, x, 0, 0, &merged, &error);
    printf("adapters of rank %d from %s: validation %.5f attached, %.5f "
           "merged\n", l->rank, tune_adapters, attached.after, merged.after);
    tp_lora_free(l);
    return 0;
}
/* <<tp size: fine-tuning>> */
static int run_adapters(tp_gpt *m, const text *x, tp_error *error)
{
    tp_rng rng = tp_rng_seeded((uint64_t)size_seed, 4);
    tp_lora *l = tp_lora_new(m, tune_rank, tune_alpha, &rng);
    tuned r = {0};
    tp_lora_attach(m, l);
    int status = tune(m, &l->params, NULL, x, tune_steps,
                      default_lr(false), &r, error);
    tp_lora_detach(m, l);
    if (status == 0)
        report("lora", tune_rank, m, &r, NULL);
    if (status == 0 && tune_out != NULL)
        status = tp_lora_save(l, tune_out, error);
    tp_lora_free(l);
    return status;
}
/* <<tp size: fine-tuning>> */
static int run_full(tp_gpt *m, const text *x, tp_error *error)
{
    tuned r = {0};
    int status = tune(m, &m->params, NULL, x, tune_steps, default_lr(true),
                      &r, error);
    if (status == 0)
        report("full", 0, m, &r, NULL);
    if (status == 0 && tune_out != NULL)
        status = tp_gpt_save(m, tune_out, NULL, 0, NULL, error);
    return status;
}

/* <<tp size: commands>> */
static int size_finetune(void)
{
    const char *command = "size finetune";
    int ways = (tune_rank > 0) + tune_full + (tune_adapters != NULL);
    if (ways != 1) {
        fprintf(stderr, "tp %s: give one of --lora R, --full and "
                "--adapters FILE\n", command);
        return 2;
    }
    if (tune_out != NULL && check_output(command, tune_out) != 0)
        return 1;
    tp_gpt *m = load_base(command, tune_model);
    if (m == NULL)
        return 1;
    /* <<tp size finetune: check the rank and run>> */
    int status = 0;
    text x = {0};
    tp_error error;
    if (tune_rank > m->config.n_embd) {
        fprintf(stderr, "tp %s: --lora %d is more than the width %d of %s\n",
                command, tune_rank, m->config.n_embd, tune_model);
        status = 2;
    } else if (load_text(command, tune_data, m->config.n_positions, &x) != 0)
        status = 1;
    else {
        status = tune_adapters != NULL ? evaluate_adapters(m, &x)
                 : tune_full            ? run_full(m, &x, &error)
                                        : run_adapters(m, &x, &error);
        if (status != 0 && tune_adapters == NULL)
            fprintf(stderr, "tp %s: %s\n", command, error.message);
        text_free(&x);
    }
    tp_gpt_free(m);
    return status;
}
/* <<tp size: commands>> */
static const char *prune_model = "gpt.safetensors", *prune_out = NULL,
                  *prune_data = NULL;
static float prune_sparsity = 0.5f, prune_lr = 3e-4f;
static int prune_steps = 0;
static bool prune_two_four = false;

static const option prune_options[] = {
    {"--model", OPTION_STRING, &prune_model, 0, 0,
     "the trained GPT (default: gpt.safetensors)"},
    {"--data", OPTION_STRING, &prune_data, 0, 0,
     "its text, for the losses (default: the book)"},
    {"--sparsity", OPTION_FLOAT, &prune_sparsity, -1000, 1000,
     "the share of each projection's weights to zero, in [0, 1)"},
    {"--two-four", OPTION_FLAG, &prune_two_four, 0, 0,
     "prune two of every four instead"},
    {"--steps", OPTION_INT, &prune_steps, 0, 1000000,
     "fine-tune this many steps with the zeros held (default: 0)"},
    {"--lr", OPTION_FLOAT, &prune_lr, 0, 1, "their peak learning rate"},
    {"--out", OPTION_STRING, &prune_out, 0, 0, "save the pruned model here"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp size: commands>> */
static int prune_and_tune(tp_gpt *m, const text *x, tp_error *error)
{
    tuned before = {0}, after = {0};
    tune(m, &m->params, NULL, x, 0, 0, &before, error);
    tp_pruning *p = prune_two_four ? tp_prune_2_4(m)
                                   : tp_prune_magnitude(m, prune_sparsity);
    double total, zeros = tp_pruning_zeros(p, &total);
    int status = tune(m, &m->params, p, x, prune_steps, prune_lr, &after,
                      error);
    printf("pruned %.0f of %.0f projection weights (%.1f%%): validation "
           "%.4f -> %.4f", zeros, total, 100 * zeros / total, before.after,
           after.before);
    if (prune_steps > 0)
        printf(" -> %.4f after %d steps", after.after, prune_steps);
    printf("\n");
    if (status == 0 && prune_out != NULL)
        status = tp_gpt_save(m, prune_out, NULL, 0, NULL, error);
    tp_pruning_free(p);
    return status;
}
/* <<tp size: commands>> */
static int size_prune(void)
{
    const char *command = "size prune";
    if (!(prune_sparsity >= 0 && prune_sparsity < 1)) {
        fprintf(stderr, "tp %s: --sparsity %g is outside [0, 1)\n", command,
                (double)prune_sparsity);
        return 2;
    }
    if (prune_out != NULL && check_output(command, prune_out) != 0)
        return 1;
    tp_gpt *m = load_base(command, prune_model);
    text x = {0};
    if (m == NULL || load_text(command, prune_data, m->config.n_positions,
                               &x) != 0) {
        tp_gpt_free(m);
        return 1;
    }
    tp_error error;
    int status = prune_and_tune(m, &x, &error);
    if (status != 0)
        fprintf(stderr, "tp %s: %s\n", command, error.message);
    text_free(&x);
    tp_gpt_free(m);
    return status;
}
/* <<tp size: commands>> */
static int sparse_tokens = 1024, sparse_width = 256, sparse_rounds = 5;
static const char *sparse_tsv = NULL;

static const option sparse_options[] = {
    {"--tokens", OPTION_INT, &sparse_tokens, 1, 1000000, "rows of X"},
    {"--width", OPTION_INT, &sparse_width, 1, 16384,
     "the width C; W is C x 4C"},
    {"--rounds", OPTION_INT, &sparse_rounds, 1, 1000,
     "products timed; the median is kept"},
    {"--tsv", OPTION_STRING, &sparse_tsv, 0, 0,
     "also write the times as a table, for the card"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp size: commands>> */
static double time_product(const tp_tensor *x, const tp_tensor *w,
                           const tp_csr *c, tp_tensor *y)
{
    double times[1000];
    for (int r = -1; r < sparse_rounds; r++) {
        double start = tp_seconds();
        if (c != NULL)
            tp_csr_matmul(x, c, y);
        else
            tp_gemm(y, x, w, 1.0f, 0.0f);
        if (r >= 0)
            times[r] = tp_seconds() - start;
    }
    return 1e3 * tp_median(times, sparse_rounds);
}
/* <<tp size: commands>> */
static void sparse_row(FILE *tsv, tp_tensor *x, tp_tensor *w, tp_tensor *y,
                       double sparsity, const int threads[2])
{
    tp_prune_tensor(w, sparsity);
    tp_csr *c = tp_csr_from_dense(w);
    printf("%8.2f", sparsity);
    if (tsv != NULL)
        fprintf(tsv, "sparsity\t%.2f", sparsity);
    for (int t = 0; t < 2; t++) {
        tp_set_threads(threads[t]);
        double dense = time_product(x, w, NULL, y);
        double sparse = time_product(x, w, c, y);
        printf("   %8.3f %8.3f %6.2f", dense, sparse, dense / sparse);
        if (tsv != NULL)
            fprintf(tsv, "\t%d\t%.4f\t%.4f", threads[t], dense, sparse);
    }
    printf("\n");
    if (tsv != NULL)
        fprintf(tsv, "\n");
    tp_csr_free(c);
}
/* <<tp size: commands>> */
static int size_sparse(void)
{
    if (sparse_tsv != NULL && check_output("size sparse", sparse_tsv) != 0)
        return 1;
    tp_arena *arena = tp_arena_new("sparse");
    int n = sparse_tokens, c = sparse_width;
    tp_tensor *x = tp_tensor_new(arena, tp_shape2(n, c), TP_NO_GRAD);
    tp_tensor *w = tp_tensor_new(arena, tp_shape2(c, 4 * c), TP_NO_GRAD);
    tp_tensor *y = tp_tensor_new(arena, tp_shape2(n, 4 * c), TP_NO_GRAD);
    tp_rng rng = tp_rng_seeded(1, 7);
    for (long i = 0; i < tp_tensor_count(x); i++)
        x->data[i] = tp_rng_normal(&rng);
    for (long i = 0; i < tp_tensor_count(w); i++)
        w->data[i] = tp_rng_normal(&rng);
    /* <<tp size sparse: measure and write>> */
    static const double sparsities[] = {0, 0.5, 0.75, 0.9, 0.95, 0.98, 0.99};
    int threads[2] = {1, tp_threads()};
    FILE *tsv = sparse_tsv != NULL ? fopen(sparse_tsv, "w") : NULL;
    tp_describe_machine(stdout);
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp size sparse --tokens %d --width %d "
                "--tsv %s\n# ms, median of %d\nwhat\tsparsity\tthreads\t"
                "dense_ms\tcsr_ms\tthreads\tdense_ms\tcsr_ms\n", n, c,
                sparse_tsv, sparse_rounds);
    }
    printf("X %d x %d times W %d x %d\nsparsity   %d thread: dense ms  CSR ms  "
           "ratio   %d threads: dense ms  CSR ms  ratio\n", n, c, c, 4 * c,
           threads[0], threads[1]);
    for (size_t i = 0; i < sizeof sparsities / sizeof *sparsities; i++)
        sparse_row(tsv, x, w, y, sparsities[i], threads);
    tp_set_threads(threads[1]);
    int status = tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
    tp_arena_free(arena);
    return status;
}
/* <<tp size: commands>> */
static const char *qlora_tsv = NULL;
static int qlora_rank = 8;

static const option qlora_options[] = {
    {"--model", OPTION_STRING, &tune_model, 0, 0,
     "the pre-trained GPT (default: gpt.safetensors)"},
    {"--data", OPTION_STRING, &tune_data, 0, 0,
     "the new text (default: /usr/share/common-licenses/GPL-3)"},
    {"--lora", OPTION_INT, &qlora_rank, 1, 65536, "the rank (default: 8)"},
    {"--steps", OPTION_INT, &tune_steps, 0, 1000000, "steps (default: 150)"},
    {"--tsv", OPTION_STRING, &qlora_tsv, 0, 0, "also write a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp size: commands>> */
static int qlora_run(const text *x, bool four_bit, FILE *tsv, tp_error *error)
{
    tp_gpt *m = load_base("size qlora", tune_model);
    if (m == NULL)
        return 1;
    tp_rng rng = tp_rng_seeded((uint64_t)size_seed, 4);
    tp_lora *l = tp_lora_new(m, qlora_rank, tune_alpha, &rng);
    double bytes = 0;
    if (four_bit)
        tp_lora_quantise_base(l);
    for (int i = 0; i < l->count; i++)
        bytes += four_bit ? (double)tp_nf4_bytes(l->quantised[i])
                          : 4.0 * (double)tp_tensor_count(l->adapters[i].w);
    /* <<tp size qlora: train and report>> */
    tuned r = {0};
    tp_lora_attach(m, l);
    int status = tune(m, &l->params, NULL, x, tune_steps, default_lr(false), &r,
                      error);
    tp_lora_detach(m, l);
    const char *name = four_bit ? "nf4" : "fp32";
    printf("LoRA r=%d on a %-4s base: projections %9.0f bytes  %7.1f ms/step  "
           "validation %.4f -> %.4f\n", qlora_rank, name, bytes, r.ms_per_step,
           r.before, r.after);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%d\t%.0f\t%.2f\t%.5f\t%.5f\n", name, qlora_rank, bytes,
                r.ms_per_step, r.before, r.after);
    tp_lora_free(l);
    tp_gpt_free(m);
    return status;
}
/* <<tp size: commands>> */
static int size_qlora(void)
{
    const char *command = "size qlora";
    if (qlora_tsv != NULL && check_output(command, qlora_tsv) != 0)
        return 1;
    tp_gpt *m = load_base(command, tune_model);
    text x = {0};
    if (m == NULL || load_text(command, tune_data, m->config.n_positions,
                               &x) != 0) {
        tp_gpt_free(m);
        return 1;
    }
    int status = 0;
    if (qlora_rank > m->config.n_embd) {
        fprintf(stderr, "tp %s: --lora %d is more than the width %d of %s\n",
                command, qlora_rank, m->config.n_embd, tune_model);
        status = 2;
    }
    tp_gpt_free(m);
    /* <<tp size qlora: both runs>> */
    FILE *tsv = status == 0 && qlora_tsv != NULL ? fopen(qlora_tsv, "w") : NULL;
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp size qlora --model %s --steps %d --tsv %s\n"
                "base\trank\tprojection_bytes\tms_per_step\tbefore\tafter\n",
                tune_model, tune_steps, qlora_tsv);
    }
    tp_error error;
    for (int four_bit = 0; status == 0 && four_bit < 2; four_bit++)
        if ((status = qlora_run(&x, four_bit, tsv, &error)) != 0)
            fprintf(stderr, "tp %s: %s\n", command, error.message);
    if (tsv != NULL && fclose(tsv) != 0)
        status = 1;
    text_free(&x);
    return status;
}
/* <<tp size: commands>> */
static const char *compare_model = "gpt.safetensors", *compare_tsv = NULL,
                  *compare_prune_tsv = NULL,
                  *compare_data = "/usr/share/common-licenses/GPL-3";
static int compare_steps = 100, compare_prune_steps = 50;

static const option compare_options[] = {
    {"--model", OPTION_STRING, &compare_model, 0, 0,
     "the pre-trained GPT (default: gpt.safetensors)"},
    {"--data", OPTION_STRING, &compare_data, 0, 0,
     "the new text (default: /usr/share/common-licenses/GPL-3)"},
    {"--steps", OPTION_INT, &compare_steps, 1, 1000000,
     "fine-tuning steps of each method (default: 100)"},
    {"--prune-steps", OPTION_INT, &compare_prune_steps, 0, 1000000,
     "fine-tuning steps after each pruning (default: 50)"},
    {"--tsv", OPTION_STRING, &compare_tsv, 0, 0,
     "write the fine-tuning results as a table"},
    {"--prune-tsv", OPTION_STRING, &compare_prune_tsv, 0, 0,
     "write the pruning results as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp size: commands>> */
static int compare_tuning(const text *x, int rank, FILE *tsv,
                          tp_error *error)
{
    tp_gpt *m = load_base("size compare", compare_model);
    if (m == NULL)
        return 1;
    tuned r = {0};
    tp_rng rng = tp_rng_seeded((uint64_t)size_seed, 4);
    tp_lora *l = rank > 0 ? tp_lora_new(m, rank, 8.0f, &rng) : NULL;
    if (l != NULL)
        tp_lora_attach(m, l);
    int status = tune(m, l != NULL ? &l->params : &m->params, NULL, x,
                      compare_steps, default_lr(l == NULL), &r, error);
    if (status == 0)
        report(rank > 0 ? "lora" : "full", rank, m, &r, tsv);
    if (l != NULL)
        tp_lora_detach(m, l);
    tp_lora_free(l);
    tp_gpt_free(m);
    return status;
}
/* <<tp size: commands>> */
static int compare_pruning(const text *book, double sparsity, bool two_four,
                           FILE *tsv, tp_error *error)
{
    tp_gpt *m = load_base("size compare", compare_model);
    if (m == NULL)
        return 1;
    tuned base = {0}, r = {0};
    tune(m, &m->params, NULL, book, 0, 0, &base, error);
    tp_pruning *p = two_four ? tp_prune_2_4(m)
                             : tp_prune_magnitude(m, sparsity);
    int status = tune(m, &m->params, p, book, compare_prune_steps, 3e-4f, &r,
                      error);
    double total, zeros = tp_pruning_zeros(p, &total);
    const char *label = two_four ? "2:4" : sparsity > 0 ? "magnitude"
                                                         : "none";
    printf("%-9s %5.1f%% zeros  validation %.4f, pruned %.4f, after %d "
           "steps %.4f\n", label, 100 * zeros / total, base.after, r.before,
           compare_prune_steps, r.after);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%.4f\t%.5f\t%.5f\t%.5f\n", label, zeros / total,
                base.after, r.before, r.after);
    tp_pruning_free(p);
    tp_gpt_free(m);
    return status;
}
/* <<tp size: commands>> */
static FILE *compare_table(const char *path, const char *columns)
{
    FILE *f = path != NULL ? fopen(path, "w") : NULL;
    if (f != NULL) {
        tp_describe_machine(f);
        fprintf(f, "# written by: tp size compare --model %s --data %s "
                "--steps %d --prune-steps %d\n%s\n", compare_model,
                compare_data, compare_steps, compare_prune_steps, columns);
    }
    return f;
}
/* <<tp size: commands>> */
static int compare_all(const tp_gpt *m, const text *x, const text *book)
{
    static const int ranks[] = {0, 1, 4, 8, 64};
    static const double sparsities[] = {0, 0.5, 0.75, 0.9, 0.5};
    tp_error error;
    tp_describe_machine(stdout);
    FILE *tsv = compare_table(compare_tsv, "method\trank\ttrainable\t"
                              "optimiser_bytes\tms_per_step\tbefore\tafter");
    int status = 0;
    for (size_t i = 0; status == 0 && i < sizeof ranks / sizeof *ranks; i++)
        if (ranks[i] <= m->config.n_embd)
            status = compare_tuning(x, ranks[i], tsv, &error);
    FILE *pruned = compare_table(compare_prune_tsv, "pattern\tzeros\tbase\t"
                                 "pruned\ttuned");
    for (size_t i = 0; status == 0 && i < 5; i++)
        status = compare_pruning(book, sparsities[i], i == 4, pruned, &error);
    if (status != 0)
        fprintf(stderr, "tp size compare: %s\n", error.message);
    if ((tsv != NULL && fclose(tsv) != 0)
        || (pruned != NULL && fclose(pruned) != 0))
        status = 1;
    return status;
}
/* <<tp size: commands>> */
static int size_compare(void)
{
    const char *command = "size compare";
    if ((compare_tsv != NULL && check_output(command, compare_tsv) != 0)
        || (compare_prune_tsv != NULL
            && check_output(command, compare_prune_tsv) != 0))
        return 1;
    tp_gpt *m = load_base(command, compare_model);
    text x = {0}, book = {0};
    int status = m == NULL ? 1 : 0;
    if (status == 0 && (load_text(command, compare_data,
                                  m->config.n_positions, &x) != 0
                        || load_text(command, NULL, m->config.n_positions,
                                     &book) != 0))
        status = 1;
    if (status == 0)
        status = compare_all(m, &x, &book);
    text_free(&x), text_free(&book);
    tp_gpt_free(m);
    return status;
}
/* <<tp size: commands>> */
static int share_steps = 300, share_width = 128, share_layers = 4;
static const char *share_tsv = NULL;

static const option share_options[] = {
    {"--steps", OPTION_INT, &share_steps, 1, 1000000, "training steps"},
    {"--width", OPTION_INT, &share_width, 4, 4096,
     "the models' width C, a multiple of their 4 heads"},
    {"--layers", OPTION_INT, &share_layers, 2, 64, "the depth L"},
    {"--seed", OPTION_INT, &size_seed, 0, 1000000000, "the seed"},
    {"--tsv", OPTION_STRING, &share_tsv, 0, 0, "write the results as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp size: commands>> */
static int share_one(const text *book, const char *name, int layers,
                     bool shared, FILE *tsv, tp_error *error)
{
    tp_gpt_config c = {256, 128, layers, 4, share_width,
                       TP_POSITIONS_LEARNED};
    tp_gpt *m = shared ? tp_gpt_shared(c) : tp_gpt_new(c);
    tp_rng rng = tp_rng_seeded((uint64_t)size_seed, 5);
    tp_gpt_init(m, &rng);
    tuned r = {0};
    int status = tune(m, &m->params, NULL, book, share_steps, 3e-4f, &r,
                      error);
    long count = tp_params_count(&m->params);
    printf("%-9s L=%-2d %9ld parameters  %7.1f ms/step (processor %7.1f)  "
           "validation %.4f -> %.4f\n", name, layers, count, r.ms_per_step,
           r.cpu_ms_per_step, r.before, r.after);
    if (tsv != NULL && status == 0)
        fprintf(tsv, "%s\t%d\t%ld\t%.2f\t%.2f\t%.5f\t%.5f\n", name, layers,
                count, r.ms_per_step, r.cpu_ms_per_step, r.before, r.after);
    tp_gpt_free(m);
    return status;
}
/* <<tp size: commands>> */
static int size_share(void)
{
    const char *command = "size share";
    if (share_width % 4 != 0) {
        fprintf(stderr, "tp %s: --width %d is not a multiple of the 4 heads\n",
                command, share_width);
        return 1;
    }
    if (share_tsv != NULL && check_output(command, share_tsv) != 0)
        return 1;
    text book = {0};
    if (load_text(command, NULL, 128, &book) != 0)
        return 1;
    /* <<tp size share: the three models>> */
    FILE *tsv = share_tsv != NULL ? fopen(share_tsv, "w") : NULL;
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp size share --steps %d --width %d "
                "--layers %d --seed %d (one thread)\nmodel\tlayers\tparameters"
                "\tms_per_step\tcpu_ms_per_step\tbefore\tafter\n", share_steps,
                share_width, share_layers, size_seed);
    }
    tp_error error;
    int status = share_one(&book, "unshared", share_layers, false, tsv, &error);
    if (status == 0)
        status = share_one(&book, "shared", share_layers, true, tsv, &error);
    if (status == 0)
        status = share_one(&book, "unshared", 1, false, tsv, &error);
    if (status != 0)
        fprintf(stderr, "tp %s: %s\n", command, error.message);
    if (tsv != NULL && fclose(tsv) != 0 && status == 0) {
        fprintf(stderr, "tp %s: cannot write %s\n", command, share_tsv);
        status = 1;
    }
    text_free(&book);
    return exit_status(status);
}

/* <<tp size: figures>> */
enum { F_RANK, F_TRAINABLE, F_OPTIMISER, F_MS, F_BEFORE, F_AFTER };
enum { P_ZEROS, P_BASE, P_PRUNED, P_TUNED };

static int rows_labelled(const table *t, const char *label, int *rows)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 16; r++)
        if (strcmp(t->label[r], label) == 0)
            rows[n++] = r;
    return n;
}
/* <<tp size: figures>> */
static void lora_panel(tp_plot *p, const table *t)
{
    int lora[16], full[16], n = rows_labelled(t, "lora", lora);
    double x[16], y[16], ends[2] = {p->ax.lo, p->ax.hi}, level[2];
    for (int i = 0; i < n; i++)
        x[i] = t->value[lora[i]][F_RANK], y[i] = t->value[lora[i]][F_AFTER];
    tp_plot_frame(p);
    tp_plot_line(p, x, y, n, tp_category(5), false, true);
    if (rows_labelled(t, "full", full) > 0) {
        level[0] = level[1] = t->value[full[0]][F_AFTER];
        tp_plot_line(p, ends, level, 2, tp_category(2), true, false);
        level[0] = level[1] = t->value[full[0]][F_BEFORE];
        tp_plot_line(p, ends, level, 2, tp_category(7), true, false);
    }
    tp_legend_entry legend[3] = {
        {"LoRA, rank r", tp_category(5), false},
        {"full fine-tuning", tp_category(2), true},
        {"the base, not tuned", tp_category(7), true}};
    tp_plot_legend(p, legend, 3, TP_BOTTOM_LEFT);
}
/* <<tp size: figures>> */
static void prune_panel(tp_plot *p, const table *t)
{
    int rows[16], n = rows_labelled(t, "magnitude", rows), two[16], none[1];
    double x[17] = {0}, pruned[17], tuned[17];
    if (n == 0 || rows_labelled(t, "none", none) == 0)
        return;
    pruned[0] = t->value[none[0]][P_BASE];
    tuned[0] = t->value[none[0]][P_TUNED];
    for (int i = 0; i < n; i++) {
        x[i + 1] = t->value[rows[i]][P_ZEROS];
        pruned[i + 1] = t->value[rows[i]][P_PRUNED];
        tuned[i + 1] = t->value[rows[i]][P_TUNED];
    }
    tp_plot_frame(p);
    tp_plot_line(p, x, pruned, n + 1, tp_category(1), false, true);
    tp_plot_line(p, x, tuned, n + 1, tp_category(4), false, true);
    if (rows_labelled(t, "2:4", two) > 0) {
        const double *v = t->value[two[0]];
        tp_plot_line(p, &v[P_ZEROS], &v[P_PRUNED], 1, tp_category(6), false,
                     true);
        tp_plot_line(p, &v[P_ZEROS], &v[P_TUNED], 1, tp_category(6), false,
                     true);
    }
    /* <<size figure: the pruning legend>> */
    tp_legend_entry legend[3] = {
        {"magnitude, pruned", tp_category(1), false},
        {"then fine-tuned", tp_category(4), false},
        {"2:4, before and after", tp_category(6), false}};
    tp_plot_legend(p, legend, 3, TP_BOTTOM_RIGHT);
}
/* <<tp size: figures>> */
static double column_most(const table *t, int column, double least)
{
    for (int r = 0; r < t->rows; r++)
        least = t->value[r][column] > least ? t->value[r][column] : least;
    return least;
}

static double column_least(const table *t, int column)
{
    double least = t->value[0][column];
    for (int r = 1; r < t->rows; r++)
        least = t->value[r][column] < least ? t->value[r][column] : least;
    return least;
}

static int draw_size(tp_draw *d, tp_error *error)
{
    table *tuning = calloc(1, sizeof *tuning), *pruning = calloc(1, sizeof *pruning);
    tp_check(tuning != NULL && pruning != NULL, "out of memory");
    int status = read_table("figures/data/size-finetune.tsv", tuning, error);
    if (status == 0)
        status = read_table("figures/data/size-prune.tsv", pruning, error);
    if (status == 0) {
        /* <<size figure: the two panels>> */
        tp_plot left = {d, 46, 12, 170, 150,
                        {.lo = 0.7, .hi = 100, .log = true, .label = "rank r"},
                        {.lo = column_least(tuning, F_AFTER) - 0.25,
                         .hi = column_most(tuning, F_BEFORE, 0) + 0.1,
                         .label = "validation loss, new text (nats)"}};
        lora_panel(&left, tuning);
        tp_plot right = {d, 270, 12, 150, 150,
                         {.lo = 0, .hi = 1, .label = "share of weights pruned"},
                         {.lo = column_least(pruning, P_TUNED) - 0.25,
                          .hi = column_most(pruning, P_PRUNED, 0) + 0.1,
                          .label = "validation loss, the book (nats)"}};
        prune_panel(&right, pruning);
    }
    free(tuning), free(pruning);
    return status;
}
/* <<tp size: figures>> */
static void size_card_bars(tp_draw *d, const tp_rect *problem,
                           const table *bytes)
{
    int gpt3[1];
    if (rows_labelled(bytes, "GPT-3-175B", gpt3) == 0)
        return;
    const double *v = bytes->value[gpt3[0]];
    double bars[3] = {v[1], v[2], v[4]};
    static const char *const names[3] = {"weights, fp16", "full fine-tune",
                                         "LoRA r=8"};
    tp_plot p = {d, problem->x + 40, problem->y + 34, 190, 110,
                 {.lo = -0.5, .hi = 2.5, .names = names},
                 {.lo = 0, .hi = 3000, .label = "GB"}};
    tp_plot_frame(&p);
    tp_plot_bars(&p, bars, 3, tp_category(5));
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, problem->x + 135, problem->y + 20, 0.5, 0.0, 7,
            "GPT-3 175B: bytes to hold and to fine-tune with Adam");
}
/* <<tp size: figures>> */
static void size_card_numbers(tp_draw *d, const table *tuning,
                              const table *pruning, double x, double y)
{
    int full[16], lora[16], mag[16], n = rows_labelled(tuning, "lora", lora);
    char line[160];
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    for (int i = 0; i < n && rows_labelled(tuning, "full", full) > 0; i++) {
        const double *a = tuning->value[lora[i]], *f = tuning->value[full[0]];
        if (a[F_RANK] != 8)
            continue;
        snprintf(line, sizeof line, "<b>LoRA r=8</b>: %.1f%% of the "
                 "parameters, optimiser \xc3\xb7%.0f, loss %.3f (full %.3f)",
                 100 * a[F_TRAINABLE] / f[F_TRAINABLE],
                 f[F_OPTIMISER] / a[F_OPTIMISER], a[F_AFTER], f[F_AFTER]);
        tp_text(d, x, y, 0.0, 0.0, 7, line);
    }
    int none[1], m = rows_labelled(pruning, "magnitude", mag);
    double control = rows_labelled(pruning, "none", none) > 0
                         ? pruning->value[none[0]][P_TUNED] : NAN;
    for (int i = 0; i < m; i++) {
        const double *p = pruning->value[mag[i]];
        snprintf(line, sizeof line, "<b>pruned %.0f%%</b>: loss %.3f \xe2\x86\x92 "
                 "%.3f; trained on %.3f (unpruned %.3f)", 100 * p[P_ZEROS],
                 p[P_BASE], p[P_PRUNED], p[P_TUNED], control);
        tp_text(d, x, y + 12 * (i + 1), 0.0, 0.0, 7, line);
    }
}
/* <<tp size: figures>> */
enum { S_LAYERS, S_PARAMETERS, S_MS, S_CPU_MS, S_BEFORE, S_AFTER };

static void size_card_sharing(tp_draw *d, double x, double y)
{
    table *t = calloc(1, sizeof *t);
    tp_error error;
    tp_check(t != NULL, "out of memory");
    if (read_table("figures/data/size-share.tsv", t, &error) == 0
        && t->rows == 3) {
        const double *deep = t->value[0], *shared = t->value[1],
                     *one = t->value[2];
        char line[200];
        snprintf(line, sizeof line, "<b>ALBERT</b>: %.0f%% of the "
                 "parameters, loss %.3f (unshared %.3f, 1 layer %.3f)",
                 100 * shared[S_PARAMETERS] / deep[S_PARAMETERS],
                 shared[S_AFTER], deep[S_AFTER], one[S_AFTER]);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, x, y, 0.0, 0.0, 7, line);
    }
    free(t);
}
/* <<tp size: figures>> */
static int draw_card_size(tp_draw *d, tp_error *error)
{
    table *t[3];
    static const char *const files[3] = {"figures/data/size-bytes.tsv",
                                         "figures/data/size-finetune.tsv",
                                         "figures/data/size-prune.tsv"};
    int status = 0;
    for (int i = 0; i < 3; i++) {
        t[i] = calloc(1, sizeof *t[i]);
        tp_check(t[i] != NULL, "out of memory");
        if (status == 0)
            status = read_table(files[i], t[i], error);
    }
    if (status == 0) {
        /* <<size card: draw it>> */
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>13. Model size</b>",
                "Sixteen bytes per parameter to fine-tune with Adam; "
                "350 GB just to hold GPT-3",
                "Data: tp size bytes, tp size compare, tp size share "
                "(make measure-size)", &problem, &solutions);
        size_card_bars(d, &problem, t[0]);
        size_card_numbers(d, t[1], t[2], problem.x + 10, problem.y + 176);
        size_card_sharing(d, problem.x + 10, problem.y + 224);
        /* <<size card: the solutions>> */
        static const char *const solution[][3] = {
            {"LoRA", "frozen W plus (\xce\xb1/r) A B of rank r, merged after",
             "this chapter"},
            {"Magnitude pruning", "zero the smallest weights, fine-tune with them held",
             "this chapter"},
            {"2:4 sparsity", "two of every four weights: sparse tensor cores",
             "this chapter"},
            {"QLoRA; ALBERT sharing", "LoRA on a 4-bit NF4 base; one block for all",
             "this chapter"},
            {"Distillation, quantisation", "a small student; fewer bits a weight",
             "Slow decoding; Memory footprint"},
        };
        card_solutions(d, &solutions, solution, 5);
    }
    for (int i = 0; i < 3; i++)
        free(t[i]);
    return status;
}

static const command size_commands[] = {
    /* <<tp size: command table>> */
    {"size finetune", "fine-tune a GPT on a new text, in full or with "
     "low-rank adapters; or evaluate saved adapters", finetune_options,
     size_finetune, NULL},
    {"size bytes", "the parameters and the bytes of fine-tuning of GPT-T, "
     "GPT-2 and GPT-3", bytes_options, size_bytes, NULL},
    /* <<tp size: command table>> */
    {"size prune", "prune a GPT by magnitude or 2:4; its loss before and "
     "after, and after fine-tuning with the zeros held", prune_options,
     size_prune, NULL},
    /* <<tp size: command table>> */
    {"size sparse", "time a CSR product against the dense one at sparsities "
     "0 to 0.99, on one thread and all", sparse_options, size_sparse, NULL},
    /* <<tp size: command table>> */
    {"size qlora", "fine-tune with adapters on the base in 32 bits and in NF4",
     qlora_options, size_qlora, NULL},
    /* <<tp size: command table>> */
    {"size compare", "fine-tune in full and with adapters of rank 1 to 64; "
     "prune by magnitude and 2:4; losses, memory, time", compare_options,
     size_compare, NULL},
    /* <<tp size: command table>> */
    {"size share", "train a GPT whose layers share one block (ALBERT) beside "
     "the unshared ones of its depth and of its size", share_options,
     size_share, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure size_figures[] = {
    /* <<tp size: figure table>> */
    {"size", "validation loss against the adapters' rank, and against the "
     "share of weights pruned", 440, 200, draw_size},
    /* <<tp size: figure table>> */
    {"card-size", "the card of model size", 440, 320, draw_card_size},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part size_part = {size_commands, size_figures};
