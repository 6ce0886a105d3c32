/* Generated from book/240-xl.nw; edit the book, not this file. */
#include "program.h"

/* <<tp xl: commands>> */
typedef struct streams {
    const int *tokens;
    long stride;    /* stream b starts at token b * stride */
    long segments;  /* whole segments in each stream */
    int batch, length;
} streams;

static streams streams_of(const int *tokens, long n, int batch, int length)
{
    long stride = n / batch;
    return (streams){tokens, stride, (stride - 1) / length, batch, length};
}

static void segment_at(const streams *s, long t, int *inputs, int *targets)
{
    for (int b = 0; b < s->batch; b++)
        for (int i = 0; i < s->length; i++) {
            long at = b * s->stride + t * s->length + i;
            inputs[b * s->length + i] = s->tokens[at];
            targets[b * s->length + i] = s->tokens[at + 1];
        }
}
/* <<tp xl: commands>> */
typedef tp_tensor *segment_loss(tp_graph *g, void *model, const int *inputs,
                                const int *targets, const streams *s);

static double mean_over_segments(const streams *s, long n, segment_loss *f,
                                 void *model, double *seconds)
{
    size_t count = (size_t)s->batch * (size_t)s->length;
    int *inputs = malloc(2 * count * sizeof *inputs), *targets = inputs + count;
    tp_check(inputs != NULL, "out of memory");
    tp_arena *arena = tp_arena_new("xl evaluation");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    double total = 0.0, start = tp_seconds();
    for (long t = 0; t < n; t++) {
        segment_at(s, t, inputs, targets);
        total += f(&g, model, inputs, targets, s)->data[0];
        tp_graph_reset(&g);
    }
    if (seconds != NULL)
        *seconds = tp_seconds() - start;
    tp_arena_free(arena);
    free(inputs);
    return total / (double)n;
}
/* <<tp xl: commands>> */
typedef struct xl_reader {
    tp_xl *m;
    tp_xl_memory *memory;
} xl_reader;

static tp_tensor *xl_segment_loss(tp_graph *g, void *model, const int *inputs,
                                  const int *targets, const streams *s)
{
    xl_reader *r = model;
    return tp_xl_loss(g, r->m, r->memory, inputs, targets, s->batch,
                      s->length);
}

static double xl_validation(tp_xl *m, const streams *s, long n, int memory,
                            double *seconds)
{
    xl_reader r = {m, tp_xl_memory_new(m, s->batch, memory)};
    double loss = mean_over_segments(s, n, xl_segment_loss, &r, seconds);
    tp_xl_memory_free(r.memory);
    return loss;
}
/* <<tp xl: commands>> */
static int xl_steps = 1000, xl_batch = 8, xl_length = 128, xl_memory = 128,
           xl_layers = 4, xl_heads = 4, xl_width = 256, xl_seed = 1,
           xl_eval_every = 100, xl_save_every = 500;
static const char *xl_out = "xl.safetensors", *xl_resume = NULL;

static const option xl_train_options[] = {
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file or a directory of them (default: the book)"},
    {"--steps", OPTION_INT, &xl_steps, 1, 100000000, "training steps in all"},
    {"--batch", OPTION_INT, &xl_batch, 1, 4096, "streams, one per row"},
    {"--context", OPTION_INT, &xl_length, 1, 65536, "L, tokens per segment"},
    {"--memory", OPTION_INT, &xl_memory, 0, 16384,
     "M, positions each layer keeps (default: 128)"},
    {"--layers", OPTION_INT, &xl_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &xl_heads, 1, 256, "attention heads"},
    {"--width", OPTION_INT, &xl_width, 2, 65536, "the model width C"},
    {"--seed", OPTION_INT, &xl_seed, 0, 1000000000, "the seed"},
    {"--eval-every", OPTION_INT, &xl_eval_every, 1, 100000000,
     "steps between validation losses"},
    {"--out", OPTION_STRING, &xl_out, 0, 0,
     "the checkpoint to write (default: xl.safetensors)"},
    {"--resume", OPTION_STRING, &xl_resume, 0, 0,
     "continue the run saved in this checkpoint"},
    {"--save-every", OPTION_INT, &xl_save_every, 0, 100000000,
     "steps between saves of the run to --out (default 500; 0: at the end)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp xl: commands>> */
typedef struct xl_run {
    xl_reader reader;
    streams train, validation;
    long next;          /* the segment the next step reads */
    int *inputs, *targets;
    tp_optimizer *opt;
    display shown;
} xl_run;

static tp_tensor *xl_step_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    xl_run *r = context;
    if (r->next % r->train.segments == 0)
        tp_xl_memory_clear(r->reader.memory);  /* the streams start again */
    segment_at(&r->train, r->next++ % r->train.segments, r->inputs,
               r->targets);
    return xl_segment_loss(g, &r->reader, r->inputs, r->targets, &r->train);
}
/* <<tp xl: commands>> */
static int xl_save(const xl_run *r, tp_error *error)
{
    tp_rng unused = tp_rng_seeded(0, 0);
    return tp_gpt_save_run(xl_out, r->reader.m->gpt, r->opt, &unused, error);
}

static bool xl_progress(const tp_progress *p, void *context)
{
    xl_run *r = context;
    bool going = show_progress(p, &r->shown);
    long done = p->step + 1;
    tp_error error;
    if (xl_save_every > 0 && done % xl_save_every == 0 && done != p->steps
        && !interrupted && xl_save(r, &error) != 0)
        fprintf(stderr, "tp xl train: %s; training goes on\n", error.message);
    if (done % xl_eval_every == 0 || done == p->steps) {
        long n = r->validation.segments < 16 ? r->validation.segments : 16;
        printf("step %ld: validation loss %.4f (memory %d)\n", done,
               xl_validation(r->reader.m, &r->validation, n, xl_memory, NULL),
               xl_memory);
        fflush(stdout);
    }
    return going;
}
/* <<tp xl: commands>> */
static int xl_resumed_shape(const tp_xl *m, tp_error *error)
{
    const tp_gpt_config *c = &m->gpt->config;
    const struct {
        const char *name;
        const int *value;
        int saved;
    } shape[] = {{"--layers", &xl_layers, c->n_layer},
                 {"--heads", &xl_heads, c->n_head},
                 {"--width", &xl_width, c->n_embd}};
    for (int i = 0; i < 3; i++)
        if (option_given(shape[i].value) && *shape[i].value != shape[i].saved)
            return tp_error_set(error, "%s %d, but the run in %s has %d; a "
                                "resumed run keeps its model's shape",
                                shape[i].name, *shape[i].value, xl_resume,
                                shape[i].saved);
    return 0;
}

static tp_xl *xl_model(tp_optimizer **opt, tp_error *error)
{
    tp_xl *m = xl_resume != NULL ? tp_xl_load(xl_resume, error)
                                 : tp_xl_new((tp_gpt_config){
                                       256, xl_length, xl_layers, xl_heads,
                                       xl_width, TP_POSITIONS_NONE});
    if (m == NULL || (xl_resume != NULL && xl_resumed_shape(m, error) != 0)) {
        tp_xl_free(m);
        return NULL;
    }
    if (xl_resume == NULL) {
        tp_rng init = tp_rng_seeded((uint64_t)xl_seed, 1);
        tp_xl_init(m, &init);
    }
    *opt = tp_adamw_new(&m->gpt->params, 0.95f, 0.1f);
    tp_rng unused;
    if (xl_resume != NULL
        && tp_gpt_load_run(xl_resume, m->gpt, *opt, &unused, error) != 0) {
        tp_optimizer_free(*opt);
        tp_xl_free(m);
        return NULL;
    }
    return m;
}
/* <<tp xl: commands>> */
static int xl_check_shape(const char *command, int width, int heads)
{
    if (width % heads != 0 || width % 2 != 0) {
        fprintf(stderr, "tp %s: --width %d must be even and --heads %d must "
                "divide it\n", command, width, heads);
        return -1;
    }
    return 0;
}

static int *bytes_of(const tp_corpus *corpus)
{
    int *tokens = malloc((size_t)corpus->size * sizeof *tokens);
    tp_check(tokens != NULL, "out of memory");
    for (long i = 0; i < corpus->size; i++)
        tokens[i] = corpus->bytes[i];
    return tokens;
}
/* <<tp xl: commands>> */
static int xl_train_on(xl_run *r, const int *tokens, long train, long total);

static int xl_train(void)
{
    if (check_output("xl train", xl_out) != 0)
        return 1;
    if (xl_check_shape("xl train", xl_width, xl_heads) != 0)
        return 2;
    tp_corpus corpus, train, validation;
    if (load_corpus("xl train", &corpus) != 0)
        return 1;
    tp_corpus_split(&corpus, &train, &validation);
    int *tokens = bytes_of(&corpus);
    xl_run r = {.shown = {.terminal = isatty(STDERR_FILENO)}};
    int status = xl_train_on(&r, tokens, train.size, corpus.size);
    free(tokens);
    tp_corpus_free(&corpus);
    return status;
}
/* <<tp xl: commands>> */
static int xl_train_on(xl_run *r, const int *tokens, long train, long total)
{
    tp_error error;
    r->train = streams_of(tokens, train, xl_batch, xl_length);
    r->validation = streams_of(tokens + train, total - train, xl_batch,
                               xl_length);
    if (r->train.segments < 1 || r->validation.segments < 1) {
        fprintf(stderr, "tp xl train: the data (%ld bytes) is too short for "
                "%d streams of --context %d\n", total, xl_batch, xl_length);
        return 1;
    }
    r->reader.m = xl_model(&r->opt, &error);
    if (r->reader.m == NULL) {
        fprintf(stderr, "tp xl train: %s\n", error.message);
        return 1;
    }
    /* <<xl train: run the loop and save>> */
    r->reader.memory = tp_xl_memory_new(r->reader.m, xl_batch, xl_memory);
    r->inputs = malloc(2 * (size_t)xl_batch * (size_t)xl_length * sizeof(int));
    tp_check(r->inputs != NULL, "out of memory");
    r->targets = r->inputs + xl_batch * xl_length;
    r->next = r->shown.first = tp_optimizer_steps(r->opt);
    printf("Transformer-XL: %ld parameters; segments of %d, memory %d\n",
           tp_params_count(&r->reader.m->gpt->params), xl_length, xl_memory);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    long warmup = xl_steps / 10 < 100 ? xl_steps / 10 + 1 : 100;
    tp_train_options o = {.steps = xl_steps, .warmup = warmup, .max_lr = 3e-4f,
                          .min_lr = 3e-5f, .clip = 1.0,
                          .tokens_per_step = (long)xl_batch * xl_length,
                          .progress = xl_progress, .progress_context = r};
    catch_interrupts();
    int status = tp_train(&g, &r->reader.m->gpt->params, r->opt, &o,
                          xl_step_loss, r, NULL, &error);
    tp_rng unused = tp_rng_seeded(0, 0);
    if (status == 0)
        status = save_run_or_rescue(xl_out, "xl", r->reader.m->gpt, r->opt,
                                    &unused, &error);
    if (status != 0)
        fprintf(stderr, "tp xl train: %s\n", error.message);
    else
        printf("%s at step %ld; saved %s\n", interrupted ? "interrupted" : "done",
               tp_optimizer_steps(r->opt), xl_out);
    status = exit_status(status);
    tp_arena_free(step);
    free(r->inputs);
    tp_xl_memory_free(r->reader.memory);
    tp_optimizer_free(r->opt);
    tp_xl_free(r->reader.m);
    return status;
}
/* <<tp xl: commands>> */
static const char *xl_model_path = "xl.safetensors";
static int eval_memory = 512, eval_length = 0, eval_segments = 0;

static const option xl_eval_options[] = {
    {"--model", OPTION_STRING, &xl_model_path, 0, 0,
     "the checkpoint (default: xl.safetensors)"},
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file or a directory of them (default: the book)"},
    {"--memory", OPTION_INT, &eval_memory, 0, 16384,
     "M, positions each layer keeps (default: 512)"},
    {"--context", OPTION_INT, &eval_length, 1, 65536,
     "L, tokens per segment (default: the model's training length)"},
    {"--batch", OPTION_INT, &xl_batch, 1, 4096, "streams read side by side"},
    {"--segments", OPTION_INT, &eval_segments, 1, 100000000,
     "segments of each stream to read (default: all)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp xl: commands>> */
static int xl_eval(void)
{
    tp_error error;
    tp_xl *m = tp_xl_load(xl_model_path, &error);
    if (m == NULL) {
        fprintf(stderr, "tp xl eval: %s\n", error.message);
        return 1;
    }
    tp_corpus corpus, train, validation;
    if (load_corpus("xl eval", &corpus) != 0) {
        tp_xl_free(m);
        return 1;
    }
    tp_corpus_split(&corpus, &train, &validation);
    int length = eval_length > 0 ? eval_length : m->gpt->config.n_positions;
    int *tokens = bytes_of(&validation);
    streams s = streams_of(tokens, validation.size, xl_batch, length);
    long n = eval_segments > 0 && eval_segments < s.segments ? eval_segments
                                                            : s.segments;
    int status = 0;
    if (n < 1) {
        fprintf(stderr, "tp xl eval: the validation part (%ld bytes) is too "
                "short for %d streams of %d\n", validation.size, xl_batch,
                length);
        status = 1;
    } else {
        double seconds, loss = xl_validation(m, &s, n, eval_memory, &seconds);
        printf("validation loss %.4f over %ld tokens (segments of %d, memory "
               "%d): %.0f tokens/s\n", loss, n * xl_batch * length, length,
               eval_memory, (double)n * xl_batch * length / seconds);
    }
    free(tokens);
    tp_corpus_free(&corpus);
    tp_xl_free(m);
    return status;
}
/* <<tp xl: commands>> */
static int xl_sample_tokens = 240, xl_sample_seed = 1, xl_top_k = 0;
static float xl_temperature = 0.8f, xl_top_p = 1.0f;
static const char *xl_prompt = "The ";

static const option xl_sample_options[] = {
    {"--model", OPTION_STRING, &xl_model_path, 0, 0,
     "the checkpoint (default: xl.safetensors)"},
    {"--prompt", OPTION_STRING, &xl_prompt, 0, 0, "the text to continue"},
    {"--tokens", OPTION_INT, &xl_sample_tokens, 1, 1000000, "bytes to write"},
    {"--memory", OPTION_INT, &eval_memory, 0, 16384,
     "M, the past each byte attends to (default: 512)"},
    {"--temperature", OPTION_FLOAT, &xl_temperature, 0, 100,
     "0 for the most likely byte (default: 0.8)"},
    {"--top-k", OPTION_INT, &xl_top_k, 0, 1000000,
     "keep the k most likely bytes (default: 0, all)"},
    {"--top-p", OPTION_FLOAT, &xl_top_p, 0, 1,
     "keep the most likely bytes up to this mass (default: 1)"},
    {"--seed", OPTION_INT, &xl_sample_seed, 0, 1000000000, "the seed"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp xl: commands>> */
static int xl_sample(void)
{
    tp_error error;
    tp_xl *m = tp_xl_load(xl_model_path, &error);
    if (m == NULL) {
        fprintf(stderr, "tp xl sample: %s\n", error.message);
        return 1;
    }
    int n = (int)strlen(xl_prompt);
    if (n == 0) {
        fprintf(stderr, "tp xl sample: the prompt is empty\n");
        tp_xl_free(m);
        return 2;
    }
    /* <<xl sample: read the prompt, then write>> */
    int *tokens = malloc((size_t)n * sizeof *tokens), vocab = 256;
    float *logits = malloc((size_t)vocab * sizeof *logits);
    tp_check(tokens != NULL && logits != NULL, "out of memory");
    for (int i = 0; i < n; i++)
        tokens[i] = (unsigned char)xl_prompt[i];
    tp_xl_memory *memory = tp_xl_memory_new(m, 1, eval_memory);
    tp_arena *arena = tp_arena_new("xl sample");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng rng = tp_rng_seeded((uint64_t)xl_sample_seed, 3);
    tp_tensor *out = tp_xl_forward(&g, m, memory, tokens, 1, n);
    fputs(xl_prompt, stdout);
    for (int written = 0; written < xl_sample_tokens; written++) {
        memcpy(logits, out->data + (long)(out->shape.dim[1] - 1) * vocab,
               (size_t)vocab * sizeof *logits);
        tp_graph_reset(&g);
        int token = tp_gpt_sample_token(logits, vocab, xl_temperature, xl_top_k,
                                        xl_top_p, &rng);
        putchar(token);
        out = tp_xl_forward(&g, m, memory, &token, 1, 1);
    }
    putchar('\n');
    tp_arena_free(arena);
    tp_xl_memory_free(memory);
    free(logits), free(tokens);
    tp_xl_free(m);
    return 0;
}
/* <<tp xl: commands>> */
static int compare_steps = 600, compare_segments = 24, compare_generate = 256;
static const char *compare_tsv = NULL, *compare_decoding_tsv = NULL,
                  *compare_attention_tsv = NULL;

static const option xl_compare_options[] = {
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file or a directory of them (default: the book)"},
    {"--steps", OPTION_INT, &compare_steps, 1, 100000000,
     "training steps of each model (default: 600)"},
    {"--batch", OPTION_INT, &xl_batch, 1, 4096, "streams, one per row"},
    {"--context", OPTION_INT, &xl_length, 2, 4096,
     "L: GPT's window, XL's segment and training memory (default: 128)"},
    {"--layers", OPTION_INT, &xl_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &xl_heads, 1, 256, "attention heads"},
    {"--width", OPTION_INT, &xl_width, 2, 65536, "the model width C"},
    {"--segments", OPTION_INT, &compare_segments, 1, 100000,
     "validation segments of each stream read (default: 24)"},
    {"--generate", OPTION_INT, &compare_generate, 1, 100000,
     "bytes generated to time decoding (default: 256)"},
    {"--tsv", OPTION_STRING, &compare_tsv, 0, 0,
     "write the losses and speeds as a table, for the figure"},
    {"--decoding-tsv", OPTION_STRING, &compare_decoding_tsv, 0, 0,
     "write the decoding speeds as a table"},
    {"--attention-tsv", OPTION_STRING, &compare_attention_tsv, 0, 0,
     "write each layer's share of attention on the memory as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp xl: commands>> */
static void train_for_comparison(const char *name, tp_params *params,
                                 tp_loss_fn *loss, void *context)
{
    tp_optimizer *opt = tp_adamw_new(params, 0.95f, 0.1f);
    display shown = {.terminal = isatty(STDERR_FILENO)};
    long warmup = compare_steps / 10 < 100 ? compare_steps / 10 + 1 : 100;
    tp_train_options o = {.steps = compare_steps, .warmup = warmup,
                          .max_lr = 3e-4f, .min_lr = 3e-5f, .clip = 1.0,
                          .tokens_per_step = (long)xl_batch * xl_length,
                          .progress = show_progress, .progress_context = &shown};
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_error error;
    printf("training %s: %ld parameters\n", name, tp_params_count(params));
    fflush(stdout);
    tp_check(tp_train(&g, params, opt, &o, loss, context, NULL, &error) == 0,
             "%s", error.message);
    tp_arena_free(arena);
    tp_optimizer_free(opt);
}
/* <<tp xl: commands>> */
static tp_tensor *gpt_segment_loss(tp_graph *g, void *model, const int *inputs,
                                   const int *targets, const streams *s)
{
    return tp_gpt_loss(g, model, inputs, targets, s->batch, s->length);
}

static double gpt_sliding(tp_gpt *m, const streams *s, long n, double *seconds)
{
    int l = s->length, *in = malloc(2 * (size_t)s->batch * l * sizeof *in);
    int *tg = in + s->batch * l;
    tp_check(in != NULL, "out of memory");
    tp_arena *arena = tp_arena_new("sliding window");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    double total = 0.0, start = tp_seconds();
    for (long p = 0; p < n * l; p++) {
        int w = p + 1 < l ? (int)p + 1 : l;
        for (int b = 0; b < s->batch; b++)
            for (int i = 0; i < w; i++) {
                long at = b * s->stride + p + 1 - w + i;
                in[b * w + i] = s->tokens[at];
                tg[b * w + i] = i == w - 1 ? s->tokens[at + 1] : -1;
            }
        total += tp_cross_entropy(&g, tp_gpt_forward(&g, m, in, s->batch, w),
                                  tg, -1)->data[0];
        tp_graph_reset(&g);
    }
    *seconds = tp_seconds() - start;
    tp_arena_free(arena);
    free(in);
    return total / (double)(n * l);
}
/* <<tp xl: commands>> */
static double mean_past(int memory, int length, long n)
{
    double total = 0.0;
    for (long t = 0; t < n; t++) {
        double held = (double)t * length < memory ? (double)t * length : memory;
        total += held * length + length * (length - 1) / 2.0;
    }
    return total / ((double)n * length);
}

static double sliding_past(int length, long n)
{
    double total = 0.0;
    for (long p = 0; p < n * length; p++)
        total += p < length - 1 ? (double)p : length - 1;
    return total / ((double)n * length);
}
/* <<tp xl: commands>> */
static FILE *compare_table(const char *path, const char *columns)
{
    if (path == NULL)
        return NULL;
    FILE *f = fopen(path, "w");
    tp_check(f != NULL, "cannot write %s", path);  /* checked before */
    tp_describe_machine(f);
    fprintf(f, "# written by: tp xl compare --steps %d --batch %d --context "
            "%d --layers %d --heads %d --width %d --segments %d --generate "
            "%d\n# threads: %d\n%s\n", compare_steps, xl_batch, xl_length,
            xl_layers, xl_heads, xl_width, compare_segments, compare_generate,
            tp_threads(), columns);
    return f;
}

static void report(FILE *tsv, const char *reading, int memory, double past,
                   double loss, double tokens, double seconds)
{
    printf("%-12s %6d %9.1f %8.4f %10.0f\n", reading, memory, past, loss,
           tokens / seconds);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%d\t%.1f\t%.4f\t%.0f\n", reading, memory, past, loss,
                tokens / seconds);
}
/* <<tp xl: commands>> */
static double xl_decoding(tp_xl *m, const int *start, int length, int n)
{
    tp_xl_memory *memory = tp_xl_memory_new(m, 1, length - 1);
    tp_arena *arena = tp_arena_new("xl decoding");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *out = tp_xl_forward(&g, m, memory, start, 1, length - 1);
    double begin = tp_seconds();
    for (int i = 0; i < n; i++) {
        int token = argmax(out->data + (long)(out->shape.dim[1] - 1) * 256, 256);
        tp_graph_reset(&g);
        out = tp_xl_forward(&g, m, memory, &token, 1, 1);
    }
    double seconds = tp_seconds() - begin;
    tp_arena_free(arena);
    tp_xl_memory_free(memory);
    return n / seconds;
}
/* <<tp xl: commands>> */
static double gpt_recomputing(tp_gpt *m, const int *start, int length, int n)
{
    int *text = malloc(((size_t)length + n) * sizeof *text);
    tp_check(text != NULL, "out of memory");
    memcpy(text, start, (size_t)(length - 1) * sizeof *text);
    tp_arena *arena = tp_arena_new("gpt decoding");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    double begin = tp_seconds();
    for (int i = 0; i < n; i++) {
        int end = length - 1 + i, w = end < length ? end : length;
        tp_tensor *out = tp_gpt_forward(&g, m, text + end - w, 1, w);
        text[end] = argmax(out->data + (long)(w - 1) * 256, 256);
        tp_graph_reset(&g);
    }
    double seconds = tp_seconds() - begin;
    tp_arena_free(arena);
    free(text);
    return n / seconds;
}
/* <<tp xl: commands>> */
static void compare_readings(tp_gpt *gpt, tp_xl *xl, const streams *s,
                             FILE *tsv)
{
    long n = compare_segments < s->segments ? compare_segments : s->segments;
    double tokens = (double)n * s->batch * s->length, seconds;
    printf("%-12s %6s %9s %8s %10s\n", "reading", "memory", "mean past",
           "loss", "tokens/s");
    double loss = mean_over_segments(s, n, gpt_segment_loss, gpt, &seconds);
    report(tsv, "gpt-segments", 0, mean_past(0, s->length, n), loss, tokens,
           seconds);
    loss = gpt_sliding(gpt, s, n, &seconds);
    report(tsv, "gpt-sliding", 0, sliding_past(s->length, n), loss, tokens,
           seconds);
    for (int k = 0; k < 5; k++) {
        int memory = k == 0 ? 0 : s->length << (k - 1);
        loss = xl_validation(xl, s, n, memory, &seconds);
        report(tsv, "xl", memory, mean_past(memory, s->length, n), loss,
               tokens, seconds);
    }
}
/* <<tp xl: commands>> */
static void compare_decoding(tp_gpt *gpt, tp_xl *xl, const int *start)
{
    double with_memory = xl_decoding(xl, start, xl_length, compare_generate);
    double recomputing = gpt_recomputing(gpt, start, xl_length,
                                         compare_generate);
    printf("decoding %d bytes, each from the %d before it: XL with a memory "
           "%.0f bytes/s, GPT recomputing its window %.0f bytes/s (%.1fx)\n",
           compare_generate, xl_length, with_memory, recomputing,
           with_memory / recomputing);
    FILE *f = compare_table(compare_decoding_tsv, "method\twindow\tbytes_per_s");
    if (f != NULL) {
        fprintf(f, "xl-memory\t%d\t%.0f\ngpt-recompute\t%d\t%.0f\n", xl_length,
                with_memory, xl_length, recomputing);
        fclose(f);
    }
}
/* <<tp xl: commands>> */
static double memory_share(const tp_tensor *w, int memory)
{
    const tp_shape s = w->shape;
    int rows = s.dim[0] * s.dim[1] * s.dim[2], keys = s.dim[3];
    double total = 0.0;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < memory; j++)
            total += w->data[(long)r * keys + j];
    return total / rows;
}

static double uniform_share(int memory, int length)
{
    double total = 0.0;
    for (int i = 0; i < length; i++)
        total += (double)memory / (memory + i + 1);
    return total / length;
}
/* <<tp xl: commands>> */
static void compare_attention(tp_xl *m, const streams *s)
{
    int layers = m->gpt->config.n_layer, l = s->length;
    xl_reader r = {m, tp_xl_memory_new(m, s->batch, l)};
    long n = s->segments < 8 ? s->segments : 8;
    mean_over_segments(s, n - 1, xl_segment_loss, &r, NULL);
    m->weights = calloc((size_t)layers, sizeof *m->weights);
    tp_check(m->weights != NULL, "out of memory");
    tp_arena *arena = tp_arena_new("xl attention");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    int *in = malloc(2 * (size_t)s->batch * l * sizeof *in);
    tp_check(in != NULL, "out of memory");
    segment_at(s, n - 1, in, in + s->batch * l);
    int held = r.memory->length;
    tp_xl_forward(&g, m, r.memory, in, s->batch, l);
    /* <<xl compare: report the share on the memory>> */
    FILE *f = compare_table(compare_attention_tsv, "layer   memory  share   "
                            "uniform_share");
    double uniform = uniform_share(held, l);
    for (int k = 0; k < layers; k++) {
        double share = memory_share(m->weights[k], held);
        printf("layer %d: %.1f%% of the attention on the memory of %d (uniform: "
               "%.1f%%)\n", k + 1, 100 * share, held, 100 * uniform);
        if (f != NULL)
            fprintf(f, "%d\t%d\t%.4f\t%.4f\n", k + 1, held, share, uniform);
    }
    if (f != NULL)
        fclose(f);
    free(in);
    tp_arena_free(arena);
    free(m->weights);
    m->weights = NULL;
    tp_xl_memory_free(r.memory);
}
/* <<tp xl: commands>> */
static int xl_compare_on(const int *tokens, long train, long total);

static int xl_compare(void)
{
    if ((compare_tsv != NULL && check_output("xl compare", compare_tsv) != 0)
        || (compare_decoding_tsv != NULL
            && check_output("xl compare", compare_decoding_tsv) != 0)
        || (compare_attention_tsv != NULL
            && check_output("xl compare", compare_attention_tsv) != 0))
        return 1;
    if (xl_check_shape("xl compare", xl_width, xl_heads) != 0)
        return 2;
    tp_corpus corpus, train, validation;
    if (load_corpus("xl compare", &corpus) != 0)
        return 1;
    tp_corpus_split(&corpus, &train, &validation);
    int *tokens = bytes_of(&corpus);
    int status = xl_compare_on(tokens, train.size, corpus.size);
    free(tokens);
    tp_corpus_free(&corpus);
    return status;
}
/* <<tp xl: commands>> */
static int xl_compare_on(const int *tokens, long train, long total)
{
    xl_run r = {.train = streams_of(tokens, train, xl_batch, xl_length)};
    streams valid = streams_of(tokens + train, total - train, xl_batch,
                               xl_length);
    if (r.train.segments < 1 || valid.segments < 1 || train <= xl_length) {
        fprintf(stderr, "tp xl compare: the data (%ld bytes) is too short for "
                "%d streams of --context %d\n", total, xl_batch, xl_length);
        return 1;
    }
    /* <<xl compare: train both models>> */
    tp_gpt *gpt = tp_gpt_new((tp_gpt_config){256, xl_length, xl_layers, xl_heads,
                                             xl_width, TP_POSITIONS_LEARNED});
    r.reader.m = tp_xl_new((tp_gpt_config){256, xl_length, xl_layers, xl_heads,
                                           xl_width, TP_POSITIONS_NONE});
    tp_rng init = tp_rng_seeded(1, 1);
    tp_gpt_init(gpt, &init);
    init = tp_rng_seeded(1, 1);
    tp_xl_init(r.reader.m, &init);
    size_t count = (size_t)xl_batch * xl_length;
    gpt_windows w = {.m = gpt, .tokens = tokens, .train = train, .total = total,
                     .batch = xl_batch, .context = xl_length,
                     .rng = tp_rng_seeded(1, 2),
                     .inputs = malloc(2 * count * sizeof(int))};
    r.inputs = malloc(2 * count * sizeof(int));
    tp_check(w.inputs != NULL && r.inputs != NULL, "out of memory");
    w.targets = w.inputs + count, r.targets = r.inputs + count;
    r.reader.memory = tp_xl_memory_new(r.reader.m, xl_batch, xl_length);
    train_for_comparison("GPT", &gpt->params, gpt_windows_loss, &w);
    train_for_comparison("Transformer-XL", &r.reader.m->gpt->params, xl_step_loss,
                         &r);
    FILE *tsv = compare_table(compare_tsv, "reading\tmemory\tmean_past\t"
                              "loss\ttokens_per_s");
    compare_readings(gpt, r.reader.m, &valid, tsv);
    if (tsv != NULL)
        fclose(tsv);
    compare_decoding(gpt, r.reader.m, tokens + train);
    compare_attention(r.reader.m, &valid);
    /* <<xl compare: free both models>> */
    free(w.inputs), free(r.inputs);
    tp_xl_memory_free(r.reader.memory);
    tp_xl_free(r.reader.m);
    tp_gpt_free(gpt);
    return 0;
}
/* <<tp xl: figures>> */
static void loss_range(const table *t, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (int r = 0; r < t->rows; r++) {
        *lo = fmin(*lo, t->value[r][2]);
        *hi = fmax(*hi, t->value[r][2]);
    }
    double margin = fmax(0.02, 0.15 * (*hi - *lo));
    *lo -= margin, *hi += margin;
}
/* <<tp xl: figures>> */
static void plot_reading(tp_plot *p, const table *t, const char *reading,
                         tp_color color, bool labelled)
{
    double x[TABLE_ROWS], y[TABLE_ROWS];
    int n = 0;
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], reading) == 0) {
            x[n] = t->value[r][1], y[n] = t->value[r][2];
            if (labelled) {
                char label[32];
                snprintf(label, sizeof label, "M = %.0f", t->value[r][0]);
                tp_text(p->d, tp_plot_x(p, x[n]), tp_plot_y(p, y[n]) - 4, 0.5,
                        1.0, 7, label);
            }
            n++;
        }
    tp_plot_line(p, x, y, n, color, false, true);
}
/* <<tp xl: figures>> */
static int draw_xl_context(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/xl-context.tsv", t, error);
    if (status == 0) {
        double lo, hi;
        loss_range(t, &lo, &hi);
        tp_plot p = {d, 50, 12, 250, 150,
                     {.lo = 10, .hi = 1000, .log = true,
                      .label = "past bytes a prediction attends to (mean)"},
                     {.lo = lo, .hi = hi, .label = "validation loss (nats)"}};
        tp_plot_frame(&p);
        plot_reading(&p, t, "xl", tp_category(4), true);
        plot_reading(&p, t, "gpt-segments", tp_category(0), false);
        plot_reading(&p, t, "gpt-sliding", tp_category(5), false);
        tp_legend_entry legend[3] = {
            {"Transformer-XL, memory M", tp_category(4), false},
            {"GPT, segments", tp_category(0), false},
            {"GPT, sliding window", tp_category(5), false}};
        tp_plot_legend(&p, legend, 3, TP_TOP_RIGHT);
    }
    free(t);
    return status;
}
/* <<tp xl: figures>> */
static int draw_xl_memory(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/xl-attention.tsv", t, error);
    if (status == 0) {
        static const char *const names[8] = {"1", "2", "3", "4",
                                             "5", "6", "7", "8"};
        int n = t->rows < 8 ? t->rows : 8;
        double share[8], x[2] = {-0.5, n - 0.5}, y[2];
        for (int k = 0; k < n; k++)
            share[k] = 100 * t->value[k][1];
        y[0] = y[1] = 100 * t->value[0][2];
        tp_plot p = {d, 50, 12, 150, 130,
                     {.lo = -0.5, .hi = n - 0.5, .names = names,
                      .label = "layer"},
                     {.lo = 0, .hi = 100, .label = "attention on the memory (%)"}};
        tp_plot_frame(&p);
        tp_plot_bars(&p, share, n, tp_category(4));
        tp_plot_line(&p, x, y, 2, tp_rgb(0x999999), true, false);
        tp_legend_entry legend[2] = {{"trained XL", tp_category(4), false},
                                     {"uniform over the keys seen",
                                      tp_rgb(0x999999), true}};
        tp_plot_legend(&p, legend, 2, TP_TOP_RIGHT);
    }
    free(t);
    return status;
}
/* <<tp xl: figures>> */
enum { DIAGRAM_LAYERS = 4, DIAGRAM_SEGMENT = 4 };

static double cell_x(int segment, int i)
{
    return 70 + segment * (DIAGRAM_SEGMENT * 18 + 18) + i * 18;
}

static double cell_y(int layer)
{
    return 30 + (DIAGRAM_LAYERS - 1 - layer) * 30;
}

static void reads(tp_draw *d, int s, int i, int n, int key_s, int key_i,
                  tp_color color)
{
    tp_arrow(d, cell_x(key_s, key_i) + 7, cell_y(n - 1), cell_x(s, i) + 7,
             cell_y(n) + 10, color, 0.6);
}
/* <<tp xl: figures>> */
static void diagram_cells(tp_draw *d)
{
    static const char *const names[3] = {"segment \u03c4\u22122",
                                         "\u03c4\u22121: the memory",
                                         "segment \u03c4"};
    tp_color fill[3] = {tp_rgb(0xffffff), tp_rgb(0xdddddd), tp_category(1)};
    for (int s = 0; s < 3; s++) {
        tp_text(d, cell_x(s, 0) + 2 * 18 - 2, 8, 0.5, 0.5, 8, names[s]);
        for (int n = 0; n < DIAGRAM_LAYERS; n++)
            for (int i = 0; i < DIAGRAM_SEGMENT; i++)
                tp_rounded_box(d, cell_x(s, i), cell_y(n), 14, 10, 2, fill[s],
                               tp_rgb(0x555555));
    }
    for (int n = 0; n < DIAGRAM_LAYERS; n++) {
        char label[16];
        snprintf(label, sizeof label, n == 0 ? "embeddings" : "layer %d", n);
        tp_text(d, 62, cell_y(n) + 5, 1.0, 0.5, 8, label);
    }
}
/* <<tp xl: figures>> */
static int draw_xl_recurrence(tp_draw *d, tp_error *error)
{
    (void)error;
    int top = DIAGRAM_LAYERS - 1, last = DIAGRAM_SEGMENT - 1;
    diagram_cells(d);
    tp_rounded_box(d, cell_x(2, last), cell_y(top), 14, 10, 2,
                   tp_category(5), tp_rgb(0x555555));
    for (int i = 0; i < DIAGRAM_SEGMENT; i++) {
        reads(d, 2, last, top, 1, i, tp_rgb(0x777777));
        reads(d, 2, last, top, 2, i, tp_category(4));
    }
    for (int i = 0; i < DIAGRAM_SEGMENT; i++)
        reads(d, 1, 0, top - 1, 0, i, tp_rgb(0xaaaaaa));
    return 0;
}

static const command xl_commands[] = {
    /* <<tp xl: command table>> */
    {"xl train", "train a Transformer-XL on the book or --data, segment after "
     "segment with a memory", xl_train_options, xl_train, NULL},
    {"xl eval", "the validation loss of a Transformer-XL with any memory, and "
     "its speed", xl_eval_options, xl_eval, NULL},
    {"xl sample", "continue a prompt with a Transformer-XL, byte after byte, "
     "with a memory", xl_sample_options, xl_sample, NULL},
    /* <<tp xl: command table>> */
    {"xl compare", "a GPT and a Transformer-XL trained alike: the loss against "
     "the past each sees, and decoding with a memory against recomputing",
     xl_compare_options, xl_compare, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure xl_figures[] = {
    /* <<tp xl: figure table>> */
    {"xl-context", "Transformer-XL and GPT on the book: the validation loss "
     "against the past a prediction attends to", 320, 200, draw_xl_context},
    /* <<tp xl: figure table>> */
    {"xl-memory", "Transformer-XL on the book: each layer's share of attention "
     "on a memory of L, against a uniform head's", 220, 180, draw_xl_memory},
    /* <<tp xl: figure table>> */
    {"xl-recurrence", "Transformer-XL: the keys one query reads, its segment and "
     "the memory, one segment further back per layer", 330, 140,
     draw_xl_recurrence},
    {NULL, 0, 0, 0, NULL}
};

const chapter_part xl_part = {xl_commands, xl_figures};
