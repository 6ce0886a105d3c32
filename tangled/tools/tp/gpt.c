/* Generated from book/224-gpt.nw; edit the book, not this file. */
#include "program.h"

/* <<tp gpt: commands>> */
static int gpt_steps = 1000, gpt_batch = 8, gpt_context = 128, gpt_layers = 4,
           gpt_heads = 4, gpt_kv_heads = 0, gpt_width = 256, gpt_seed = 1,
           gpt_eval = 100,
           gpt_save_every = 500;
static const char *gpt_norm = "layer", *gpt_mlp = "gelu";
static const char *gpt_out = "gpt.safetensors", *gpt_resume = NULL,
                  *gpt_curve = NULL, *gpt_positions_name = "learned";
static tp_position_kind gpt_positions;

static const option gpt_train_options[] = {
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file or a directory of them (default: the book)"},
    {"--steps", OPTION_INT, &gpt_steps, 1, 100000000, "training steps in all"},
    {"--batch", OPTION_INT, &gpt_batch, 1, 4096, "sequences per step"},
    {"--context", OPTION_INT, &gpt_context, 2, 65536, "tokens per sequence"},
    {"--layers", OPTION_INT, &gpt_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &gpt_heads, 1, 256, "attention heads"},
    {"--kv-heads", OPTION_INT, &gpt_kv_heads, 1, 256,
     "key-value heads, dividing --heads (default: as many)"},
    {"--norm", OPTION_STRING, &gpt_norm, 0, 0, "layer or rms"},
    {"--mlp", OPTION_STRING, &gpt_mlp, 0, 0, "gelu or swiglu"},
    {"--width", OPTION_INT, &gpt_width, 1, 65536, "the model width C"},
    {"--seed", OPTION_INT, &gpt_seed, 0, 1000000000, "the seed"},
    {"--eval-every", OPTION_INT, &gpt_eval, 1, 100000000,
     "steps between validation losses"},
    {"--out", OPTION_STRING, &gpt_out, 0, 0,
     "the checkpoint to write (default: gpt.safetensors)"},
    {"--resume", OPTION_STRING, &gpt_resume, 0, 0,
     "continue the run saved in this checkpoint"},
    {"--curve", OPTION_STRING, &gpt_curve, 0, 0,
     "also write the losses as a table, for the learning-curve figure"},
    {"--save-every", OPTION_INT, &gpt_save_every, 0, 100000000,
     "steps between saves of the run to --out (default 500; 0: at the end)"},
    {"--positions", OPTION_STRING, &gpt_positions_name, 0, 0,
     "how positions are encoded: learned (default), sinusoidal, relative, "
     "t5, rope, alibi or none"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp gpt: commands>> */
double unigram_loss(const tp_corpus *train, const tp_corpus *validation)
{
    double count[256];
    for (int b = 0; b < 256; b++)
        count[b] = 1.0;
    for (long i = 0; i < train->size; i++)
        count[train->bytes[i]]++;
    double total = (double)train->size + 256.0, loss = 0.0;
    for (long i = 0; i < validation->size; i++)
        loss -= log(count[validation->bytes[i]] / total);
    return loss / (double)validation->size;
}
/* <<tp gpt: commands>> */
static tp_tensor *windows_loss(tp_graph *g, gpt_windows *w, const int *tokens,
                               long n)
{
    tp_random_windows(tokens, n, w->batch, w->context, &w->rng, w->inputs,
                      w->targets);
    if (w->loss != NULL)
        return w->loss(g, w->model, w->inputs, w->targets, w->batch,
                       w->context);
    return tp_gpt_loss(g, w->m, w->inputs, w->targets, w->batch, w->context);
}

tp_tensor *gpt_windows_loss(tp_graph *g, long step, void *windows)
{
    (void)step;
    gpt_windows *w = windows;
    return windows_loss(g, w, w->tokens, w->train);
}
/* <<tp gpt: commands>> */
double gpt_windows_validation(gpt_windows *w, int batches)
{
    tp_arena *arena = tp_arena_new("validation");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng saved = w->rng;
    w->rng = tp_rng_seeded(12345, 1);
    double total = 0;
    for (int i = 0; i < batches; i++) {
        total += windows_loss(&g, w, w->tokens + w->train,
                              w->total - w->train)->data[0];
        tp_graph_reset(&g);
    }
    w->rng = saved;
    tp_arena_free(arena);
    return total / batches;
}
/* <<tp gpt: commands>> */
typedef struct gpt_run {
    gpt_windows w;
    display shown;
    FILE *curve;        /* the learning curve, or NULL */
    tp_optimizer *opt;  /* saved with the model, to resume */
} gpt_run;

/* <<gpt train: save the run every so many steps>> */
static void save_on_the_way(gpt_run *r, const tp_progress *p)
{
    long done = p->step + 1;
    if (gpt_save_every == 0 || done % gpt_save_every != 0
        || done == p->steps || interrupted)
        return;  /* the last save is the end's */
    tp_error error;
    if (tp_gpt_save_run(gpt_out, r->w.m, r->opt, &r->w.rng, &error) != 0)
        fprintf(stderr, "tp gpt train: %s; training goes on\n",
                error.message);
}

int save_run_or_rescue(const char *path, const char *command,
                       const tp_gpt *m, const tp_optimizer *opt,
                       const tp_rng *data, tp_error *error)
{
    if (tp_gpt_save_run(path, m, opt, data, error) == 0)
        return 0;
    const char *tmp = getenv("TMPDIR");
    char rescue[4096];
    snprintf(rescue, sizeof rescue, "%s/tp-%s-rescue-%ld.safetensors",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", command,
             (long)getpid());
    tp_error second;
    size_t n = strlen(error->message);
    if (tp_gpt_save_run(rescue, m, opt, data, &second) == 0
        && snprintf(error->message + n, sizeof error->message - n,
                    "; the run is kept in %s (continue it with --resume)",
                    rescue) >= (int)(sizeof error->message - n))
        fprintf(stderr, "tp %s train: the run is kept in %s\n", command,
                rescue);
    return -1;
}

static int save_or_rescue(gpt_run *r, tp_error *error)
{
    return save_run_or_rescue(gpt_out, "gpt", r->w.m, r->opt, &r->w.rng,
                              error);
}

static bool gpt_progress(const tp_progress *p, void *context)
{
    gpt_run *r = context;
    bool going = show_progress(p, &r->shown);
    save_on_the_way(r, p);
    if ((p->step + 1) % gpt_eval == 0 || p->step + 1 == p->steps) {
        double validation = gpt_windows_validation(&r->w, 8);
        printf("step %ld: validation loss %.4f\n", p->step + 1, validation);
        fflush(stdout);
        if (r->curve != NULL)
            fprintf(r->curve, "%ld\t%.4f\t%.4f\t%.1f\n", p->step + 1,
                    (double)p->loss, validation, p->seconds);
    }
    return going;
}
/* <<tp gpt: commands>> */
static int resumed_shape(const tp_gpt *m, tp_error *error)
{
    const tp_gpt_config *c = &m->config;
    const struct {
        const char *name;
        const int *value;
        int saved;
    } shape[] = {{"--layers", &gpt_layers, c->n_layer},
                 {"--heads", &gpt_heads, c->n_head},
                 {"--width", &gpt_width, c->n_embd},
                 {"--kv-heads", &gpt_kv_heads, m->modern.kv_heads}};
    if ((option_given(&gpt_norm) && (strcmp(gpt_norm, "rms") == 0)
                                        != m->modern.rms_norm)
        || (option_given(&gpt_mlp) && (strcmp(gpt_mlp, "swiglu") == 0)
                                          != m->modern.swiglu))
        return tp_error_set(error, "--norm or --mlp differs from the run in "
                            "%s; a resumed run keeps its model's block",
                            gpt_resume);
    for (int i = 0; i < 4; i++)
        if (option_given(shape[i].value) && *shape[i].value != shape[i].saved)
            return tp_error_set(error, "%s %d, but the run in %s has %d; a "
                                "resumed run keeps its model's shape",
                                shape[i].name, *shape[i].value, gpt_resume,
                                shape[i].saved);
    if (option_given(&gpt_positions_name) && gpt_positions != c->positions)
        return tp_error_set(error, "--positions %s, but the run in %s has "
                            "%s; a resumed run keeps its model's shape",
                            gpt_positions_name, gpt_resume,
                            tp_position_name(c->positions));
    if (!option_given(&gpt_context))
        gpt_context = c->n_positions;
    else if (gpt_context > c->n_positions)
        return tp_error_set(error, "--context %d, but the model in %s has %d "
                            "positions", gpt_context, gpt_resume,
                            c->n_positions);
    return 0;
}
/* <<tp gpt: commands>> */
static tp_gpt *gpt_model(tp_optimizer **opt, tp_rng *rng, tp_error *error)
{
    tp_gpt *m;
    if (gpt_resume != NULL) {
        m = tp_gpt_load(gpt_resume, NULL, error);
        if (m == NULL || resumed_shape(m, error) != 0) {
            if (m != NULL)
                tp_gpt_free(m);
            return NULL;
        }
    } else {
        m = tp_gpt_new_modern(
            (tp_gpt_config){256, gpt_context, gpt_layers, gpt_heads,
                            gpt_width, gpt_positions},
            (tp_gpt_modern){.kv_heads = gpt_kv_heads,
                            .rms_norm = strcmp(gpt_norm, "rms") == 0,
                            .swiglu = strcmp(gpt_mlp, "swiglu") == 0});
        tp_rng init = tp_rng_seeded((uint64_t)gpt_seed, 1);
        tp_gpt_init(m, &init);
    }
    *opt = tp_adamw_new(&m->params, 0.95f, 0.1f);
    *rng = tp_rng_seeded((uint64_t)gpt_seed, 2);
    if (gpt_resume != NULL
        && tp_gpt_load_run(gpt_resume, m, *opt, rng, error) != 0) {
        tp_optimizer_free(*opt);
        tp_gpt_free(m);
        return NULL;
    }
    return m;
}
/* <<tp gpt: commands>> */
static int gpt_train_on(const tp_corpus *corpus, const tp_corpus *train,
                        const tp_corpus *validation);

static int gpt_train(void)
{
    if (check_output("gpt train", gpt_out) != 0
        || (gpt_curve != NULL && check_output("gpt train", gpt_curve) != 0))
        return 1;
    if (gpt_width % gpt_heads != 0) {
        fprintf(stderr, "tp gpt train: --heads %d does not divide --width "
                "%d\n", gpt_heads, gpt_width);
        return 2;
    }
    if ((strcmp(gpt_norm, "layer") != 0 && strcmp(gpt_norm, "rms") != 0)
        || (strcmp(gpt_mlp, "gelu") != 0 && strcmp(gpt_mlp, "swiglu") != 0)) {
        fprintf(stderr, "tp gpt train: --norm is layer or rms, --mlp gelu or "
                "swiglu\n");
        return 2;
    }
    if (gpt_kv_heads > 0 && gpt_heads % gpt_kv_heads != 0) {
        fprintf(stderr, "tp gpt train: --kv-heads %d does not divide --heads "
                "%d\n", gpt_kv_heads, gpt_heads);
        return 2;
    }
    tp_error unknown;
    if (tp_position_parse(gpt_positions_name, &gpt_positions, &unknown)) {
        fprintf(stderr, "tp gpt train: --positions: %s\n", unknown.message);
        return 2;
    }
    tp_corpus corpus, train, validation;
    if (load_corpus("gpt train", &corpus) != 0)
        return 1;
    tp_corpus_split(&corpus, &train, &validation);
    int status = gpt_train_on(&corpus, &train, &validation);
    tp_corpus_free(&corpus);
    return status;
}
/* <<tp gpt: commands>> */
static int gpt_train_on(const tp_corpus *corpus, const tp_corpus *train,
                        const tp_corpus *validation)
{
    tp_error error;
    tp_optimizer *opt;
    gpt_run r = {.w = {.train = train->size, .total = corpus->size,
                       .batch = gpt_batch, .context = gpt_context},
                 .shown = {.terminal = isatty(STDERR_FILENO)}};
    r.w.m = gpt_model(&opt, &r.w.rng, &error);
    if (r.w.m == NULL) {
        fprintf(stderr, "tp gpt train: %s\n", error.message);
        return 1;
    }
    r.w.context = gpt_context;  /* a resumed run's, unless given */
    if (validation->size <= gpt_context) {
        fprintf(stderr, "tp gpt train: the data (%ld bytes) is too short for "
                "--context %d\n", corpus->size, gpt_context);
        tp_optimizer_free(opt);
        tp_gpt_free(r.w.m);
        return 1;
    }
    /* <<gpt train: run the loop and save>> */
    int *tokens = malloc((size_t)corpus->size * sizeof *tokens);
    r.w.inputs = malloc(2 * (size_t)gpt_batch * (size_t)gpt_context * sizeof(int));
    tp_check(tokens != NULL && r.w.inputs != NULL, "out of memory");
    r.w.targets = r.w.inputs + gpt_batch * gpt_context;
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus->bytes, corpus->size, tokens);
    r.w.tokens = tokens;
    double unigram = unigram_loss(train, validation);
    printf("GPT: %ld parameters; unigram baseline %.4f\n",
           tp_params_count(&r.w.m->params), unigram);
    if (gpt_curve != NULL && (r.curve = fopen(gpt_curve, "w")) != NULL) {
        tp_describe_machine(r.curve);
        const tp_gpt *m = r.w.m;
        fprintf(r.curve, "# written by: tp gpt train --steps %d --curve %s\n"
                "# GPT: %d layers, width %d, %d heads, %d key-value heads, %s, "
                "%s MLP, %s positions; context %d, batch %d\n"
                "# unigram baseline %.4f\nstep\ttrain_loss\tvalidation_loss\t"
                "seconds\n", gpt_steps, gpt_curve, m->config.n_layer,
                m->config.n_embd, m->config.n_head, m->modern.kv_heads,
                m->modern.rms_norm ? "RMSNorm" : "LayerNorm",
                m->modern.swiglu ? "SwiGLU" : "GELU",
                tp_position_name(m->config.positions), m->config.n_positions,
                gpt_batch, unigram);
    }
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    long warmup = gpt_steps / 10 < 100 ? gpt_steps / 10 + 1 : 100;
    tp_train_options o = {.steps = gpt_steps, .warmup = warmup, .max_lr = 3e-4f,
                          .min_lr = 3e-5f, .clip = 1.0,
                          .tokens_per_step = (long)gpt_batch * gpt_context,
                          .progress = gpt_progress, .progress_context = &r};
    r.shown.first = tp_optimizer_steps(opt);
    r.opt = opt;
    catch_interrupts();
    int status = tp_train(&g, &r.w.m->params, opt, &o, gpt_windows_loss, &r.w, NULL,
                          &error);
    /* <<gpt train: save the run>> */
    if (status == 0)
        status = save_or_rescue(&r, &error);
    if (status != 0)
        fprintf(stderr, "tp gpt train: %s\n", error.message);
    else
        printf("%s at step %ld; saved %s\n", interrupted ? "interrupted" : "done",
               tp_optimizer_steps(opt), gpt_out);
    status = exit_status(status);
    free(tokens), free(r.w.inputs);
    if (r.curve != NULL && fclose(r.curve) != 0) {
        fprintf(stderr, "tp gpt train: cannot write %s\n", gpt_curve);
        status = 1;
    }
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_gpt_free(r.w.m);
    return status;
}
/* <<tp gpt: commands>> */
static int sample_tokens = 240, sample_top_k = 0, gpt_sample_seed = 1;
static float sample_temperature = 0.8f, sample_top_p = 1.0f;
static const char *sample_model = "gpt.safetensors", *sample_prompt = "The ",
                  *sample_tokenizer = NULL, *sample_quant = NULL;
static bool sample_stream = false;

static const option gpt_sample_options[] = {
    {"--model", OPTION_STRING, &sample_model, 0, 0,
     "the checkpoint (default: gpt.safetensors)"},
    {"--tokenizer", OPTION_STRING, &sample_tokenizer, 0, 0,
     "a directory with GPT-2's vocab.json and merges.txt (default: bytes)"},
    {"--prompt", OPTION_STRING, &sample_prompt, 0, 0, "the text to continue"},
    {"--tokens", OPTION_INT, &sample_tokens, 1, 1000000, "tokens to write"},
    {"--temperature", OPTION_FLOAT, &sample_temperature, 0, 100,
     "0 for the most likely token (default: 0.8)"},
    {"--top-k", OPTION_INT, &sample_top_k, 0, 1000000,
     "keep the k most likely tokens (default: 0, all)"},
    {"--top-p", OPTION_FLOAT, &sample_top_p, 0, 1,
     "keep the most likely tokens up to this mass (default: 1)"},
    {"--seed", OPTION_INT, &gpt_sample_seed, 0, 1000000000, "the seed"},
    {"--quant", OPTION_STRING, &sample_quant, 0, 0,
     "decode with int8 or int4 weights (Chapter 340; default: 32 bits)"},
    {"--stream", OPTION_FLAG, &sample_stream, 0, 0,
     "write each token the moment it is made (Chapter 390)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp gpt: commands>> */
static int sample_tokenizer_for(const tp_gpt *m, tp_tokenizer *t)
{
    tp_error error;
    *t = tp_tokenizer_bytes();
    if (sample_tokenizer != NULL) {
        char vocab[4096], merges[4096];
        snprintf(vocab, sizeof vocab, "%s/vocab.json", sample_tokenizer);
        snprintf(merges, sizeof merges, "%s/merges.txt", sample_tokenizer);
        if (tp_tokenizer_gpt2(vocab, merges, t, &error) != 0) {
            fprintf(stderr, "tp gpt sample: %s\n", error.message);
            return -1;
        }
    }
    if (t->vocab_size != m->config.vocab_size) {
        fprintf(stderr, "tp gpt sample: the tokenizer has %d tokens but the "
                "model %d\n", t->vocab_size, m->config.vocab_size);
        tp_tokenizer_free(t);
        return -1;
    }
    return 0;
}
/* <<tp gpt: commands>> */
static int sample_quantise(tp_gpt *m, tp_quant_gpt **quantised)
{
    tp_error error;
    tp_quant_scheme scheme;
    if (tp_quant_parse(sample_quant, &scheme, &error) == 0)
        *quantised = tp_quant_gpt_new(m, scheme, &error);
    if (*quantised == NULL)
        fprintf(stderr, "tp gpt sample: %s\n", error.message);
    return *quantised == NULL ? -1 : 0;
}
/* <<tp gpt: commands>> */
static bool holds_transformer_xl(const char *path, const tp_gpt *m)
{
    if (m->config.positions != TP_POSITIONS_NONE)
        return false;
    int heads = m->config.n_head;
    tp_arena *arena = tp_arena_new("probe");
    tp_param probe = {"r_w_bias", tp_tensor_new(arena, tp_shape2(
                          heads, m->config.n_embd / heads), TP_NO_GRAD),
                      false};
    tp_error ignored;
    bool xl = tp_safetensors_load(path, &probe, 1, NULL, &ignored) == 0;
    tp_arena_free(arena);
    return xl;
}
/* <<tp gpt: commands>> */
static int gpt_sample(void)
{
    tp_error error;
    tp_tokenizer t;
    tp_gpt *m = tp_gpt_load(sample_model, NULL, &error);
    if (m == NULL) {
        fprintf(stderr, "tp gpt sample: %s\n", error.message);
        return 1;
    }
    if (holds_transformer_xl(sample_model, m)) {
        fprintf(stderr, "tp gpt sample: %s is a Transformer-XL; sample it "
                "with tp xl sample\n", sample_model);
        tp_gpt_free(m);
        return 1;
    }
    tp_quant_gpt *quantised = NULL;
    if (sample_quant != NULL && sample_quantise(m, &quantised) != 0) {
        tp_gpt_free(m);
        return 1;
    }
    if (sample_tokenizer_for(m, &t) != 0) {
        tp_quant_gpt_free(quantised);
        tp_gpt_free(m);
        return 1;
    }
    long length = (long)strlen(sample_prompt);
    int *prompt = malloc(((size_t)length + 1) * sizeof *prompt);
    long n = tp_encode(&t, (const unsigned char *)sample_prompt, length, prompt);
    int status = 0, capacity = m->config.n_positions;
    if (n == 0 || n >= capacity) {
        fprintf(stderr, "tp gpt sample: the prompt must have 1 to %d tokens\n",
                capacity - 1);
        status = 2;
    } else
        /* <<gpt sample: feed the prompt and write>> */
        {
            int vocab = m->config.vocab_size;
            tp_gpt_cache *cache = tp_gpt_cache_new(m, capacity);
            tp_arena *scratch = tp_arena_new("sample");
            tp_rng rng = tp_rng_seeded((uint64_t)gpt_sample_seed, 3);
            const float *logits = NULL;
            fputs(sample_prompt, stdout);
            for (long i = 0; i < n; i++) {
                tp_arena_reset(scratch);  /* the logits of the last token must survive */
                logits = tp_gpt_step(m, cache, prompt[i], scratch);
            }
            float *next = malloc((size_t)vocab * sizeof *next);
            int written = 0;
            for (; written < sample_tokens && cache->length < capacity; written++) {
                memcpy(next, logits, (size_t)vocab * sizeof *next);
                tp_arena_reset(scratch);
                int token = tp_gpt_sample_token(next, vocab, sample_temperature,
                                                sample_top_k, sample_top_p, &rng);
                unsigned char bytes[TP_TOKEN_MAX_BYTES];
                fwrite(bytes, 1, (size_t)tp_decode(&t, &token, 1, bytes), stdout);
                if (sample_stream)
                    fflush(stdout);  /* not when the buffer fills: now */
                logits = tp_gpt_step(m, cache, token, scratch);
            }
            putchar('\n');
            if (written < sample_tokens)
                fprintf(stderr, "tp gpt sample: stopped after %d of %d tokens: the "
                        "model has %d positions\n", written, sample_tokens, capacity);
            free(next);
            tp_arena_free(scratch);
            tp_gpt_cache_free(cache);
        }
    free(prompt);
    tp_tokenizer_free(&t);
    tp_quant_gpt_free(quantised);
    tp_gpt_free(m);
    return status;
}
/* <<tp gpt: commands>> */
static int gpt_bench_threads = 0, gpt_bench_steps = 10, gpt_bench_rounds = 3;
static bool gpt_bench_profile = false;
static const char *gpt_bench_tsv = NULL;

static const option gpt_bench_options[] = {
    {"--threads", OPTION_INT, &gpt_bench_threads, 1, 1024,
     "threads (default: all cores)"},
    {"--steps", OPTION_INT, &gpt_bench_steps, 1, 10000,
     "timed training steps; the median is reported (default: 10)"},
    {"--rounds", OPTION_INT, &gpt_bench_rounds, 1, 100,
     "rounds of the comparison with PyTorch (default: 3)"},
    {"--profile", OPTION_FLAG, &gpt_bench_profile, 0, 0,
     "where a training step's time goes, on one thread and on all"},
    {"--tsv", OPTION_STRING, &gpt_bench_tsv, 0, 0,
     "with --profile: write the profile's table here"},
    {NULL, 0, NULL, 0, 0, NULL},
};

typedef struct gpt_bench_state {
    tp_gpt *m;
    tp_optimizer *opt;
    tp_graph g;
    int tokens[8 * 129], inputs[8 * 128], targets[8 * 128];
    tp_rng rng;
} gpt_bench_state;

typedef struct torch_speed {
    double train, decode;  /* tokens per second */
} torch_speed;

static bool torch_runnable(void);
static torch_speed torch_best(void);
/* <<tp gpt: commands>> */
static void gpt_bench_windows(gpt_bench_state *b)
{
    tp_corpus book = tp_corpus_book();
    for (int i = 0; i < 8; i++) {
        long start = (long)(tp_rng_uniform(&b->rng) * (double)(book.size - 130));
        for (int t = 0; t < 128; t++) {
            b->inputs[i * 128 + t] = book.bytes[start + t];
            b->targets[i * 128 + t] = book.bytes[start + t + 1];
        }
    }
}

static void gpt_bench_step(void *context)
{
    gpt_bench_state *b = context;
    gpt_bench_windows(b);
    tp_backward(&b->g, tp_gpt_loss(&b->g, b->m, b->inputs, b->targets, 8, 128));
    tp_clip_grad_norm(&b->m->params, 1.0);
    tp_optimizer_step(b->opt, 3e-4f);
    tp_zero_grad(&b->m->params);
    tp_graph_reset(&b->g);
}
/* <<tp gpt: commands>> */
static void gpt_bench_decode(void *context)
{
    tp_gpt *m = context;
    tp_gpt_cache *cache = tp_gpt_cache_new(m, 256);
    tp_arena *scratch = tp_arena_new("decode");
    const float *logits = NULL;
    int token = 'T';
    for (int i = 0; i < 16 + 240; i++) {
        tp_arena_reset(scratch);
        logits = tp_gpt_step(m, cache, token, scratch);
        token = i < 15 ? "The book is the "[i + 1]
                       : tp_gpt_sample_token(logits, 256, 0.0f, 0, 1.0f, NULL);
    }
    tp_arena_free(scratch);
    tp_gpt_cache_free(cache);
}
/* <<tp gpt: commands>> */
enum { BENCH_TRAIN, BENCH_FLOOR, BENCH_DECODE, BENCH_REACH, TORCH_TRAIN,
       TORCH_DECODE, VS_TORCH_TRAIN, VS_TORCH_DECODE, BENCH_MEASURES };

static void gpt_bench_round(gpt_bench_state *b, step_work *floor_work,
                            tp_gpt *decoder, bool torch,
                            double m[BENCH_MEASURES][100], int r)
{
    torch_speed t = torch ? torch_best() : (torch_speed){0, 0};
    double train = 1024 / tp_time(gpt_bench_step, b, gpt_bench_steps).median;
    double floor = 1024 / tp_time(run_step, floor_work, gpt_bench_steps).median;
    double decode = 240 / tp_time(gpt_bench_decode, decoder, 3).median;
    m[BENCH_TRAIN][r] = train, m[BENCH_FLOOR][r] = floor;
    m[BENCH_DECODE][r] = decode, m[BENCH_REACH][r] = train / floor;
    m[TORCH_TRAIN][r] = t.train, m[TORCH_DECODE][r] = t.decode;
    m[VS_TORCH_TRAIN][r] = t.train > 0 ? train / t.train : 0;
    m[VS_TORCH_DECODE][r] = t.decode > 0 ? decode / t.decode : 0;
}

typedef struct spread {
    double median, low, high;
} spread;

static spread spread_of(const double *values, int n)
{
    double copy[100];
    memcpy(copy, values, (size_t)n * sizeof *copy);
    spread s = {tp_median(copy, n), copy[0], copy[n - 1]};  /* sorted */
    return s;
}
/* <<tp gpt: commands>> */
enum { COST_ADAMW = TP_OPS_OTHER, COST_ZERO_CLIP, COST_OTHER, COSTS };

static const char *const cost_names[COSTS] = {
    "products", "attention", "LayerNorm", "GELU", "residual_adds",
    "cross-entropy", "AdamW", "zeroing_clipping", "other"};

typedef struct step_costs {
    double forward[COSTS], backward[COSTS], outside[COSTS];
    double step;  /* the whole step, measured around it */
} step_costs;

static int cost_of(const char *op)
{
    tp_gpt_op_class c = tp_gpt_op_class_of(op);
    return c == TP_OPS_OTHER ? COST_OTHER : (int)c;
}
/* <<tp gpt: commands>> */
static void profiled_step(gpt_bench_state *b, tp_profile *p, step_costs *c)
{
    memset(p, 0, sizeof *p);
    double start = tp_seconds();
    gpt_bench_windows(b);
    b->g.profile = p;
    tp_profile_start(p);
    tp_backward(&b->g, tp_gpt_loss(&b->g, b->m, b->inputs, b->targets, 8, 128));
    b->g.profile = NULL;
    double taped = tp_seconds();
    tp_clip_grad_norm(&b->m->params, 1.0);
    double clipped = tp_seconds();
    tp_optimizer_step(b->opt, 3e-4f);
    double stepped = tp_seconds();
    tp_zero_grad(&b->m->params);
    double zeroed = tp_seconds();
    tp_graph_reset(&b->g);
    double end = tp_seconds(), counted = 0;
    for (int i = 0; i < p->ops; i++) {
        int k = cost_of(p->entry[i].op);
        c->forward[k] += p->entry[i].forward_seconds;
        c->backward[k] += p->entry[i].backward_seconds;
        counted += p->entry[i].forward_seconds + p->entry[i].backward_seconds;
    }
    c->outside[COST_ZERO_CLIP] += (clipped - taped) + (zeroed - stepped);
    c->outside[COST_ADAMW] += stepped - clipped;
    c->outside[COST_OTHER] += (taped - start - counted) + (end - zeroed);
    c->step += end - start;
}
/* <<tp gpt: commands>> */
typedef struct profile_round {
    step_costs costs;  /* per step, averaged over the round */
    double plain, floor, floor_attention;
} profile_round;

static void floor_part(const step_work *all, step_work *part, bool attention)
{
    part->n = 0;
    for (int i = 0; i < all->n; i++)
        if ((all->products[i].out->shape.dim[0] > 1) == attention)
            part->products[part->n++] = all->products[i];
}

static profile_round profile_once(gpt_bench_state *b, step_work *floor,
                                  step_work *attention, tp_profile *p)
{
    profile_round r = {0};
    int steps = gpt_bench_steps;
    r.floor = tp_time(run_step, floor, steps).median;
    r.floor_attention = tp_time(run_step, attention, steps).median;
    r.plain = tp_time(gpt_bench_step, b, steps).median;
    step_costs warm = {0};
    profiled_step(b, p, &warm);
    for (int s = 0; s < steps; s++)
        profiled_step(b, p, &r.costs);
    double *all = &r.costs.forward[0];
    for (size_t i = 0; i < sizeof r.costs / sizeof *all; i++)
        all[i] /= steps;
    return r;
}
/* <<tp gpt: commands>> */
static double cost_seconds(const step_costs *c, int k)
{
    return c->forward[k] + c->backward[k] + c->outside[k];
}

typedef double round_values[100];

static double median_of(const profile_round *r, int n,
                        double (*value)(const profile_round *, int), int k)
{
    round_values v;
    for (int i = 0; i < n; i++)
        v[i] = value(&r[i], k);
    return tp_median(v, n);
}

static double class_ms(const profile_round *r, int k)
{
    return 1e3 * cost_seconds(&r->costs, k);
}

static double class_forward_ms(const profile_round *r, int k)
{
    return 1e3 * r->costs.forward[k];
}

static double class_backward_ms(const profile_round *r, int k)
{
    return 1e3 * r->costs.backward[k];
}

static double class_share(const profile_round *r, int k)
{
    return cost_seconds(&r->costs, k) / r->costs.step;
}

static double floor_of_class(const profile_round *r, int k)
{
    return k == TP_OPS_PRODUCTS ? 1e3 * (r->floor - r->floor_attention)
           : k == TP_OPS_ATTENTION ? 1e3 * r->floor_attention : 0.0;
}
/* <<tp gpt: commands>> */
static double step_ms(const profile_round *r, int k)
{
    (void)k;
    return 1e3 * r->costs.step;
}

static double plain_ms(const profile_round *r, int k)
{
    (void)k;
    return 1e3 * r->plain;
}

static double floor_ms(const profile_round *r, int k)
{
    (void)k;
    return 1e3 * r->floor;
}

static double overhead(const profile_round *r, int k)
{
    (void)k;
    return r->costs.step / r->plain;
}
/* <<tp gpt: commands>> */
static void profile_report(profile_round r[2][100], const int threads[2],
                           int n, FILE *tsv)
{
    printf("# medians of %d rounds of %d steps; ms per step, share of the "
           "profiled step, GEMM floor of the class\n", n, gpt_bench_steps);
    printf("%-18s %26s %26s\n", "class", "1 thread", "all threads");
    for (int k = 0; k < COSTS; k++) {
        printf("%-18s", cost_names[k]);
        for (int t = 0; t < 2; t++) {
            double ms = median_of(r[t], n, class_ms, k);
            double share = median_of(r[t], n, class_share, k);
            double fl = median_of(r[t], n, floor_of_class, k);
            printf("   %8.1f %5.1f%% ", ms, 100 * share);
            if (fl > 0)
                printf("%7.1f", fl);
            else
                printf("%7s", "");
            if (tsv != NULL)
                fprintf(tsv, "%s\t%d\t%.4f\t%.4f\t%.4f\t%.5f\t%.4f\n",
                        cost_names[k], threads[t], ms,
                        median_of(r[t], n, class_forward_ms, k),
                        median_of(r[t], n, class_backward_ms, k), share, fl);
        }
        printf("\n");
    }
    /* <<gpt profile: the step, the floor and the overhead>> */
    for (int t = 0; t < 2; t++) {
        double step = median_of(r[t], n, step_ms, 0);
        double plain = median_of(r[t], n, plain_ms, 0);
        double fl = median_of(r[t], n, floor_ms, 0);
        printf("%d thread%s: profiled step %.1f ms, plain step %.1f ms (the "
               "profile costs %+.1f%%), GEMM floor %.1f ms\n", threads[t],
               threads[t] == 1 ? "" : "s", step, plain,
               100 * (median_of(r[t], n, overhead, 0) - 1), fl);
        if (tsv != NULL)
            fprintf(tsv, "step\t%d\t%.4f\t0\t0\t1\t%.4f\n"
                    "plain_step\t%d\t%.4f\t0\t0\t0\t0\n", threads[t], step, fl,
                    threads[t], plain);
    }
}
/* <<tp gpt: commands>> */
static int gpt_profile(gpt_bench_state *b, step_work *floor, FILE *tsv)
{
    static step_work attention;
    floor_part(floor, &attention, true);
    static profile_round r[2][100];
    int threads[2] = {1, tp_threads()}, n = gpt_bench_rounds;
    tp_profile *p = calloc(1, sizeof *p);
    tp_check(p != NULL, "out of memory");
    for (int i = 0; i < n; i++)
        for (int t = 0; t < 2; t++) {
            tp_set_threads(threads[t]);
            r[t][i] = profile_once(b, floor, &attention, p);
        }
    tp_set_threads(threads[1]);
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# GPT-T training step, batch 8, context 128: medians "
                "of %d rounds of %d steps\nclass\tthreads\tms\tforward_ms\t"
                "backward_ms\tshare\tfloor_ms\n", n, gpt_bench_steps);
    }
    profile_report(r, threads, n, tsv);
    free(p);
    return tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
}
/* <<tp gpt: commands>> */
static int gpt_bench(void)
{
    /* <<gpt bench: open the profile's table>> */
    if (gpt_bench_tsv != NULL && !gpt_bench_profile) {
        fprintf(stderr, "tp gpt bench: --tsv writes the profile: add "
                "--profile\n");
        return 2;
    }
    FILE *tsv = NULL;
    if (gpt_bench_tsv != NULL && (tsv = fopen(gpt_bench_tsv, "w")) == NULL) {
        fprintf(stderr, "tp gpt bench: cannot write %s: %s\n", gpt_bench_tsv,
                strerror(errno));
        return 1;
    }
    if (gpt_bench_threads > 0)
        tp_set_threads(gpt_bench_threads);
    tp_describe_machine(stdout);
    gpt_bench_state *b = calloc(1, sizeof *b);
    tp_check(b != NULL, "out of memory");
    tp_rng init = tp_rng_seeded(1, 1);
    b->m = tp_gpt_new(tp_gpt_t());
    tp_gpt_init(b->m, &init);
    b->opt = tp_adamw_new(&b->m->params, 0.95f, 0.1f);
    tp_arena *step = tp_arena_new("step");
    b->g = tp_graph_on(step);
    b->rng = tp_rng_seeded(2, 2);
    int status = 0;
    /* <<gpt bench: the floor and the decoder>> */
    static step_work floor_work;
    tp_gpt_config gpt_t = tp_gpt_t();
    gpt_config products = {8, 128, gpt_t.n_embd, gpt_t.n_layer, gpt_t.n_head,
                           gpt_t.vocab_size};
    tp_arena *arena = tp_arena_new("gemm floor");
    make_step_work(&floor_work, arena, &products);
    tp_gpt_config gpt_i = tp_gpt_t();
    gpt_i.n_positions = 256;
    tp_gpt *decoder = tp_gpt_new(gpt_i);
    tp_gpt_init(decoder, &init);
    if (gpt_bench_profile) {
        status = gpt_profile(b, &floor_work, tsv);
    } else {
        /* <<gpt bench: run the rounds and report>> */
        bool torch = torch_runnable();
        static double m[BENCH_MEASURES][100];
        int n = gpt_bench_rounds;
        for (int r = 0; r < n; r++) {
            gpt_bench_round(b, &floor_work, decoder, torch, m, r);
            /* a round without torch's speeds leaves it out of the rest */
            torch = torch && m[TORCH_TRAIN][r] > 0 && m[TORCH_DECODE][r] > 0;
        }
        spread train = spread_of(m[BENCH_TRAIN], n);
        spread floor = spread_of(m[BENCH_FLOOR], n);
        spread decode = spread_of(m[BENCH_DECODE], n);
        spread reach = spread_of(m[BENCH_REACH], n);
        printf("# medians of %d rounds; the range of each ratio in brackets\n", n);
        printf("GPT-T training   %8.0f tokens/s   (%.1f ms per step)\n", train.median,
               1024e3 / train.median);
        printf("GEMM floor       %8.0f tokens/s   (%.1f ms; training reaches %.0f%% "
               "[%.0f-%.0f])\n", floor.median, 1024e3 / floor.median,
               100 * reach.median, 100 * reach.low, 100 * reach.high);
        printf("GPT-I decoding   %8.0f tokens/s   (240 tokens after a prompt of 16)\n",
               decode.median);
        /* <<gpt bench: the bytes a decoded token reads>> */
        double weights = (double)sizeof(float)
                         * (double)(tp_params_count(&decoder->params)
                                    - (long)(gpt_i.n_positions - 1) * gpt_i.n_embd);
        printf("GPT-I weights    %8.1f MB a token (read at %.1f GB/s; memcpy "
               "%.1f GB/s)\n", weights * 1e-6, weights * decode.median * 1e-9,
               tp_copy_bandwidth());
        /* <<gpt bench: report the comparison>> */
        if (!torch) {
            printf("PyTorch          (not installed, or not run from the source "
                   "directory: skipped)\n");
        } else {
            spread tt = spread_of(m[TORCH_TRAIN], n);
            spread td = spread_of(m[TORCH_DECODE], n);
            spread vt = spread_of(m[VS_TORCH_TRAIN], n);
            spread vd = spread_of(m[VS_TORCH_DECODE], n);
            printf("PyTorch training %8.0f tokens/s   (ours is %.2fx [%.2f-%.2f])\n",
                   tt.median, vt.median, vt.low, vt.high);
            printf("PyTorch decoding %8.0f tokens/s   (ours is %.2fx [%.2f-%.2f])\n",
                   td.median, vd.median, vd.low, vd.high);
        }
    }
    tp_gpt_free(decoder);
    tp_arena_free(arena);
    tp_arena_free(step);
    tp_optimizer_free(b->opt);
    tp_gpt_free(b->m);
    free(b);
    return status;
}
/* <<tp gpt: commands>> */
static bool torch_run(int threads, torch_speed *speed)
{
    char command[512], line[256];
    snprintf(command, sizeof command, "/usr/bin/python3 "
             "tangled/tools/gpt_torch.py --threads %d --steps %d 2>/dev/null",
             threads, gpt_bench_steps);
    FILE *p = popen(command, "r");
    if (p == NULL)
        return false;
    while (fgets(line, sizeof line, p) != NULL) {
        sscanf(line, "train_tokens_per_s %lf", &speed->train);
        sscanf(line, "decode_tokens_per_s %lf", &speed->decode);
    }
    return pclose(p) == 0 && speed->train > 0 && speed->decode > 0;
}

static torch_speed torch_best(void)
{
    torch_speed best = {0, 0};
    for (int threads = 1; threads <= tp_threads(); threads *= 2) {
        torch_speed s = {0, 0};
        if (torch_run(threads, &s)) {
            best.train = s.train > best.train ? s.train : best.train;
            best.decode = s.decode > best.decode ? s.decode : best.decode;
        }
    }
    return best;
}

static bool torch_runnable(void)
{
    return access("/usr/bin/python3", X_OK) == 0
           && access("tangled/tools/gpt_torch.py", R_OK) == 0;
}
/* <<tp gpt: commands>> */
static const char *attention_model = "gpt.safetensors",
                  *attention_prompt = "The book is the ",
                  *attention_tsv = "gpt-attention.tsv";

static const option gpt_attention_options[] = {
    {"--model", OPTION_STRING, &attention_model, 0, 0, "the checkpoint"},
    {"--prompt", OPTION_STRING, &attention_prompt, 0, 0,
     "the text to look at (at most 24 bytes)"},
    {"--tsv", OPTION_STRING, &attention_tsv, 0, 0, "the table to write"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp gpt: commands>> */
static int gpt_attention(void)
{
    tp_error error;
    tp_gpt *m = tp_gpt_load(attention_model, NULL, &error);
    if (m == NULL) {
        fprintf(stderr, "tp gpt attention: %s\n", error.message);
        return 1;
    }
    int t = (int)strlen(attention_prompt), tokens[24];
    if (t < 1 || t > 24 || t > m->config.n_positions) {
        fprintf(stderr, "tp gpt attention: the prompt must have 1 to 24 bytes\n");
        tp_gpt_free(m);
        return 2;
    }
    for (int i = 0; i < t; i++)
        tokens[i] = (unsigned char)attention_prompt[i];
    tp_arena *arena = tp_arena_new("attention");
    tp_tensor **maps = tp_gpt_attention_maps(m, tokens, t, arena);
    FILE *f = fopen(attention_tsv, "w");
    int status = f == NULL;
    /* <<gpt attention: write the table>> */
    if (f != NULL) {
        fprintf(f, "# written by: tp gpt attention --model %s --tsv %s\n# prompt",
                attention_model, attention_tsv);
        for (int i = 0; i < t; i++)
            fprintf(f, " %d", tokens[i]);
        fprintf(f, "\nlayer.head.query\tweights\n");
        for (int l = 0; l < m->config.n_layer; l++)
            for (int h = 0; h < m->config.n_head; h++)
                for (int i = 0; i < t; i++) {
                    fprintf(f, "%d.%d.%d", l, h, i);
                    for (int j = 0; j < t; j++)
                        fprintf(f, "\t%.5f", *tp_at4(maps[l], 0, h, i, j));
                    fprintf(f, "\n");
                }
        status = fclose(f) != 0;
    }
    if (status != 0)
        fprintf(stderr, "tp gpt attention: cannot write %s\n", attention_tsv);
    tp_arena_free(arena);
    tp_gpt_free(m);
    return status;
}

/* <<tp gpt: figures>> */
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
/* <<tp gpt: figures>> */
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
/* <<tp gpt: figures>> */
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
/* <<tp gpt: figures>> */
void prompt_label(char *out, size_t size, int byte)
{
    if (byte == ' ')
        snprintf(out, size, "\xe2\x90\xa3");  /* the visible space sign */
    else if (byte == '&' || byte == '<' || byte == '>')
        snprintf(out, size, "%s", byte == '&' ? "&amp;"
                                  : byte == '<' ? "&lt;" : "&gt;");
    else
        snprintf(out, size, "%c", byte >= 32 && byte < 127 ? byte : '?');
}
/* <<tp gpt: figures>> */
void head_map(tp_draw *d, const table *t, int row0, int n, const int *prompt,
              double x, double y, bool labels)
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
/* <<tp gpt: figures>> */
int read_attention_maps(table *t, int prompt[24], int *n, tp_error *error)
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
        double y = 16 + row * 130;
        for (int h = 0; h < 4; h++) {
            double x = 26 + h * 98;
            head_map(d, t, (layer * 4 + h) * n, n, prompt, x, y, h == 0);
            /* <<gpt figure: the keys below a map>> */
            cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
            for (int j = 0; h > 0 && j < n; j++) {
                char c[16];
                prompt_label(c, sizeof c, prompt[j]);
                tp_text(d, x + (j + 0.5) * 92 / n, y + 94, 0.5, 0.0, 5, c);
            }
            tp_text(d, x + 46, y + 101, 0.5, 0.0, 6, "key");
            char title[32];
            snprintf(title, sizeof title, "layer %d, head %d", layer, h);
            cairo_set_source_rgb(d->cr, 0, 0, 0);
            tp_text(d, x + 46, y - 2, 0.5, 1.0, 7, title);
        }
        /* <<gpt figure: the queries' axis>> */
        cairo_save(d->cr);
        cairo_translate(d->cr, 9, y + 46);
        cairo_rotate(d->cr, -3.14159265358979 / 2);
        tp_text(d, 0, 0, 0.5, 0.5, 6, "query");
        cairo_restore(d->cr);
    }
    if (status == 0)
        tp_colorbar(d, 418, 16, 6, 92, 0.0, 1.0, "weight");
    free(t);
    return status;
}
/* <<tp gpt: figures>> */
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
/* <<tp gpt: figures>> */
static tp_color cost_color(int k)
{
    return k == COST_OTHER ? tp_rgb(0xcccccc) : tp_category(k);
}

static void profile_bar(tp_plot *p, const table *t, int bar, int threads)
{
    double base = 0;
    for (int k = 0; k < COSTS; k++)
        for (int r = 0; r < t->rows; r++)
            if (strcmp(t->label[r], cost_names[k]) == 0
                && (int)t->value[r][0] == threads) {
                double top = base + 100 * t->value[r][4];
                double x0 = tp_plot_x(p, bar - 0.3), x1 = tp_plot_x(p, bar + 0.3);
                tp_set_color(p->d->cr, cost_color(k));
                cairo_rectangle(p->d->cr, x0, tp_plot_y(p, top), x1 - x0,
                                tp_plot_y(p, base) - tp_plot_y(p, top));
                cairo_fill(p->d->cr);
                base = top;
            }
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], "step") == 0 && (int)t->value[r][0] == threads) {
            char step[32], floor[32];
            snprintf(step, sizeof step, "step %.0f ms", t->value[r][1]);
            snprintf(floor, sizeof floor, "floor %.0f ms", t->value[r][5]);
            cairo_set_source_rgb(p->d->cr, 0, 0, 0);
            double x = tp_plot_x(p, bar), top = tp_plot_y(p, 100);
            tp_text(p->d, x, top - 10, 0.5, 1.0, 7, step);
            tp_text(p->d, x, top - 2, 0.5, 1.0, 7, floor);
        }
}
/* <<tp gpt: figures>> */
static int draw_gpt_profile(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/gpt-profile.tsv", t, error);
    int most = 1;
    for (int r = 0; status == 0 && r < t->rows; r++)
        most = (int)t->value[r][0] > most ? (int)t->value[r][0] : most;
    if (status == 0) {
        char all[32];
        snprintf(all, sizeof all, "%d threads", most);
        const char *names[2] = {"1 thread", all};
        tp_plot p = {d, 52, 28, 180, 164,
                     {.lo = -0.5, .hi = 1.5, .names = names},
                     {.lo = 0, .hi = 100, .label = "share of the step (%)"}};
        tp_plot_frame(&p);
        profile_bar(&p, t, 0, 1);
        profile_bar(&p, t, 1, most);
        /* <<gpt profile figure: the legend>> */
        for (int k = 0; k < COSTS; k++) {
            double y = 30 + (COSTS - 1 - k) * 16;
            tp_set_color(d->cr, cost_color(k));
            cairo_rectangle(d->cr, 250, y, 10, 10);
            cairo_fill(d->cr);
            cairo_set_source_rgb(d->cr, 0, 0, 0);
            tp_text(d, 265, y + 5, 0.0, 0.5, 8, cost_names[k]);
        }
    }
    free(t);
    return status;
}

static const command gpt_commands[] = {
    /* <<tp gpt: command table>> */
    {"gpt train", "train a GPT on the book or --data (GPT-T by default)",
     gpt_train_options, gpt_train, NULL},
    {"gpt sample", "continue a prompt with a trained GPT", gpt_sample_options,
     gpt_sample, NULL},
    /* <<tp gpt: command table>> */
    {"gpt bench", "training and decoding speed of GPT-T and GPT-I, and the floor",
     gpt_bench_options, gpt_bench, NULL},
    /* <<tp gpt: command table>> */
    {"gpt attention", "write a trained GPT's attention weights for a prompt",
     gpt_attention_options, gpt_attention, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure gpt_figures[] = {
    /* <<tp gpt: figure table>> */
    {"gpt-architecture", "GPT as this chapter builds it, with GPT-T's sizes",
     420, 312, draw_gpt_architecture},
    /* <<tp gpt: figure table>> */
    {"gpt-attention", "what the heads of a trained GPT-T attend to", 440, 260,
     draw_gpt_attention},
    /* <<tp gpt: figure table>> */
    {"gpt-curve", "GPT-T learning the book: losses and the unigram baseline",
     360, 204, draw_gpt_curve},
    /* <<tp gpt: figure table>> */
    {"gpt-profile", "where a GPT-T training step's time goes, on one thread and "
     "on all", 360, 220, draw_gpt_profile},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part gpt_part = {gpt_commands, gpt_figures};
