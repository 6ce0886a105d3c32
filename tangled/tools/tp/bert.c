/* Generated from book/216-bert.nw; edit the book, not this file. */
#include "program.h"

/* <<tp bert: commands>> */
static int bert_steps = 1500, bert_batch = 32, bert_length = 64,
           bert_vocab = 2000, bert_layers = 4, bert_heads = 4,
           bert_width = 128, bert_seed = 1, bert_every = 250,
           bert_examples = 0, bert_tune_steps = 300, bert_top = 5;
static float bert_lr = 1e-3f, bert_tune_lr = 3e-4f;
static bool bert_scratch = false;
static const char *bert_out = "bert.safetensors",
                  *bert_model = "bert.safetensors", *bert_tuned = NULL,
                  *bert_attention = NULL;
/* <<tp bert: commands>> */
static const option bert_pretrain_options[] = {
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file or directory (default: the book)"},
    {"--steps", OPTION_INT, &bert_steps, 1, 100000000, "training steps"},
    {"--batch", OPTION_INT, &bert_batch, 1, 4096, "sequences per step"},
    {"--length", OPTION_INT, &bert_length, 8, 4096,
     "tokens per sequence, [CLS] and [SEP]s included"},
    {"--vocab", OPTION_INT, &bert_vocab, 6, 1000000,
     "words in the vocabulary, the 5 special tokens included"},
    {"--layers", OPTION_INT, &bert_layers, 1, 64, "blocks"},
    {"--heads", OPTION_INT, &bert_heads, 1, 64, "attention heads"},
    {"--width", OPTION_INT, &bert_width, 1, 4096, "the model width C"},
    {"--lr", OPTION_FLOAT, &bert_lr, 0, 1, "the peak learning rate"},
    {"--seed", OPTION_INT, &bert_seed, 0, 1000000000, "the seed"},
    {"--eval-every", OPTION_INT, &bert_every, 1, 100000000,
     "steps between validations"},
    {"--out", OPTION_STRING, &bert_out, 0, 0, "the checkpoint to write "
     "(default: bert.safetensors; the vocabulary goes beside it)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp bert: commands>> */
static void vocab_path(const char *model, char *out, size_t size)
{
    size_t n = strlen(model), suffix = strlen(".safetensors");
    if (n > suffix && strcmp(model + n - suffix, ".safetensors") == 0)
        n -= suffix;
    snprintf(out, size, "%.*s.vocab", (int)n, model);
}

static int *encode_words(const tp_words *w, const tp_corpus *text, long *n)
{
    *n = tp_words_encode(w, text->bytes, text->size, NULL);
    int *ids = malloc((size_t)(*n + 1) * sizeof *ids);
    tp_check(ids != NULL, "out of memory");
    tp_words_encode(w, text->bytes, text->size, ids);
    return ids;
}
/* <<tp bert: commands>> */
typedef struct bert_run {
    tp_bert *m;
    int *train, *validation;  /* the corpus as ids, in two parts */
    long n_train, n_validation;
    tp_rng rng;
    int *tokens, *segments, *labels;        /* a training batch */
    int *v_tokens, *v_segments, *v_labels;  /* the validation batch */
    display shown;
} bert_run;

static void two_spans(const int *ids, long n, tp_rng *rng, int *tokens,
                      int *segments)
{
    int words = bert_length - 3, a = words / 2, k = 0;
    long start = (long)tp_rng_below(rng, (uint32_t)(n - words));
    tokens[k] = TP_WORD_CLS, segments[k++] = 0;
    for (int i = 0; i < words; i++) {
        if (i == a)
            tokens[k] = TP_WORD_SEP, segments[k++] = 0;
        tokens[k] = ids[start + i], segments[k++] = i >= a;
    }
    tokens[k] = TP_WORD_SEP, segments[k] = 1;
}
/* <<tp bert: commands>> */
static void masked_batch(bert_run *r, const int *ids, long n, int batch,
                         int *tokens, int *segments, int *labels)
{
    for (int b = 0; b < batch; b++)
        two_spans(ids, n, &r->rng, tokens + (long)b * bert_length,
                  segments + (long)b * bert_length);
    tp_mlm_mask(tokens, labels, batch, bert_length, r->m->config.vocab_size,
                &r->rng);
}

static tp_tensor *bert_pretrain_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    bert_run *r = context;
    masked_batch(r, r->train, r->n_train, bert_batch, r->tokens, r->segments,
                 r->labels);
    tp_bert_input in = {r->tokens, r->segments, NULL, bert_batch, bert_length};
    return tp_bert_mlm_loss(g, r->m, &in, r->labels);
}
/* <<tp bert: commands>> */
int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        best = x[i] > x[best] ? i : best;
    return best;
}

static double bert_validation(bert_run *r, double *right)
{
    tp_arena *arena = tp_arena_new("validation");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_bert_input in = {r->v_tokens, r->v_segments, NULL, 64, bert_length};
    tp_tensor *logits = tp_bert_mlm_logits(&g, r->m, &in, r->v_labels, NULL);
    int v = r->m->config.vocab_size, count = 0, *targets = tp_arena_alloc(
        arena, 64 * (size_t)bert_length * sizeof *targets);
    for (long i = 0; i < 64L * bert_length; i++)
        if (r->v_labels[i] >= 0)
            targets[count++] = r->v_labels[i];
    *right = 0;
    for (int k = 0; k < count; k++)
        *right += argmax(logits->data + (long)k * v, v) == targets[k];
    *right /= count;
    double loss = tp_cross_entropy(&g, logits, targets, -1)->data[0];
    tp_arena_free(arena);
    return loss;
}
/* <<tp bert: commands>> */
static bool bert_progress(const tp_progress *p, void *context)
{
    bert_run *r = context;
    bool going = show_progress(p, &r->shown);
    if ((p->step + 1) % bert_every == 0 || p->step + 1 == p->steps) {
        double right, loss = bert_validation(r, &right);
        printf("step %ld: validation loss %.3f, masked words right %.1f%%\n",
               p->step + 1, loss, 100 * right);
        fflush(stdout);
    }
    return going;
}
/* <<tp bert: commands>> */
static void print_commonest(const int *ids, long n, const tp_words *w)
{
    long *seen = calloc((size_t)w->count, sizeof *seen);
    tp_check(seen != NULL, "out of memory");
    for (long i = 0; i < n; i++)
        seen[ids[i]]++;
    int best = TP_WORD_UNK;
    for (int id = TP_WORD_SPECIALS; id < w->count; id++)
        best = seen[id] > seen[best] ? id : best;
    printf("always guessing '%s' would be right on %.1f%% of the validation "
           "words\n", w->word[best], 100.0 * seen[best] / n);
    free(seen);
}
/* <<tp bert: commands>> */
static int bert_pretrain_on(bert_run *r, const tp_words *words);

static int bert_pretrain(void)
{
    if (check_output("bert pretrain", bert_out) != 0)
        return 1;
    tp_corpus corpus, train, validation;
    if (load_corpus("bert pretrain", &corpus) != 0)
        return 1;
    if (bert_width % bert_heads != 0) {
        fprintf(stderr, "tp bert pretrain: --heads %d must divide --width "
                "%d\n", bert_heads, bert_width);
        tp_corpus_free(&corpus);
        return 2;
    }
    bert_run r = {.shown = {.terminal = isatty(STDERR_FILENO)}};
    tp_words words;
    tp_words_build(corpus.bytes, corpus.size, bert_vocab, &words);
    tp_corpus_split(&corpus, &train, &validation);
    r.train = encode_words(&words, &train, &r.n_train);
    r.validation = encode_words(&words, &validation, &r.n_validation);
    int status = bert_pretrain_on(&r, &words);
    free(r.train), free(r.validation);
    tp_words_free(&words);
    tp_corpus_free(&corpus);
    return status;
}
/* <<tp bert: commands>> */
static int bert_pretrain_on(bert_run *r, const tp_words *words)
{
    if (r->n_validation <= bert_length) {
        fprintf(stderr, "tp bert pretrain: the corpus is too small: %ld "
                "validation words for sequences of %d\n", r->n_validation,
                bert_length);
        return 1;
    }
    r->m = tp_bert_new((tp_bert_config){words->count, bert_length,
                                        bert_layers, bert_heads, bert_width,
                                        2});
    r->rng = tp_rng_seeded((uint64_t)bert_seed, 1);
    tp_bert_init(r->m, &r->rng);
    printf("BERT: %ld parameters, %d words, %ld training and %ld validation "
           "words\n", tp_params_count(&r->m->params), words->count,
           r->n_train, r->n_validation);
    print_commonest(r->validation, r->n_validation, words);
    /* <<bert pretrain: the batches>> */
    size_t batch = (size_t)bert_batch * bert_length, fixed = 64 * (size_t)bert_length;
    r->tokens = malloc(batch * sizeof(int)), r->segments = malloc(batch * sizeof(int));
    r->labels = malloc(batch * sizeof(int)), r->v_tokens = malloc(fixed * sizeof(int));
    r->v_segments = malloc(fixed * sizeof(int)), r->v_labels = malloc(fixed * sizeof(int));
    tp_check(r->tokens && r->segments && r->labels && r->v_tokens && r->v_segments
                 && r->v_labels, "out of memory");
    tp_rng training = r->rng;
    r->rng = tp_rng_seeded(0, 7);  /* the same validation batch in every run */
    masked_batch(r, r->validation, r->n_validation, 64, r->v_tokens,
                 r->v_segments, r->v_labels);
    r->rng = training;
    /* <<bert pretrain: train, save and report>> */
    tp_optimizer *opt = tp_adamw_new(&r->m->params, 0.999f, 0.01f);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = bert_steps, .warmup = bert_steps / 10 + 1,
                          .max_lr = bert_lr, .min_lr = bert_lr / 100, .clip = 1.0,
                          .tokens_per_step = (long)bert_batch * bert_length,
                          .progress = bert_progress, .progress_context = r};
    tp_error error;
    char vocab[4096];
    vocab_path(bert_out, vocab, sizeof vocab);
    catch_interrupts();
    int status = tp_train(&g, &r->m->params, opt, &o, bert_pretrain_loss, r, NULL,
                          &error);
    if (status == 0 && (status = tp_bert_save(r->m, bert_out, &error)) == 0)
        status = tp_words_save(words, vocab, &error);
    if (status != 0)
        fprintf(stderr, "tp bert pretrain: %s\n", error.message);
    else
        printf("%s; saved %s and %s\n", interrupted ? "interrupted" : "done",
               bert_out, vocab);
    free(r->tokens), free(r->segments), free(r->labels);
    free(r->v_tokens), free(r->v_segments), free(r->v_labels);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_bert_free(r->m);
    return exit_status(status);
}
/* <<tp bert: commands>> */
tp_bert *bert_load(const char *command, const char *path, tp_words *words)
{
    tp_error error;
    char vocab[4096];
    vocab_path(path, vocab, sizeof vocab);
    tp_bert *m = tp_bert_load(path, &error);
    if (m != NULL && tp_words_load(vocab, words, &error) == 0) {
        if (words->count == m->config.vocab_size)
            return m;
        tp_error_set(&error, "%s has %d words, but %s was trained with %d",
                     vocab, words->count, path, m->config.vocab_size);
        tp_words_free(words);
    }
    fprintf(stderr, "tp %s: %s\n", command, error.message);
    tp_bert_free(m);
    return NULL;
}
/* <<tp bert: commands>> */
static const option bert_fill_options[] = {
    {"--model", OPTION_STRING, &bert_model, 0, 0,
     "the checkpoint (default: bert.safetensors, with bert.vocab)"},
    {"--top", OPTION_INT, &bert_top, 1, 100, "words to show per [MASK]"},
    {"--attention", OPTION_STRING, &bert_attention, 0, 0,
     "write every layer's attention over the first text to this table"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static int fill_one(tp_bert *m, const tp_words *w, const char *text,
                    bool attention);

static int bert_fill(void)
{
    tp_words words;
    tp_bert *m = bert_load("bert fill", bert_model, &words);
    if (m == NULL)
        return 1;
    int status = 0;
    for (int i = 0; status == 0 && i < operand_count; i++)
        status = fill_one(m, &words, operands[i], i == 0 && bert_attention);
    tp_words_free(&words);
    tp_bert_free(m);
    return status;
}
/* <<tp bert: commands>> */
static int fill_sequence(tp_bert *m, const tp_words *w, const char *text,
                         int *tokens, int *labels)
{
    long n = tp_words_encode(w, (const unsigned char *)text, (long)strlen(text),
                             NULL);
    if (n + 2 > m->config.n_positions) {
        fprintf(stderr, "tp bert fill: '%s' has %ld words, the model reads "
                "%d\n", text, n, m->config.n_positions - 2);
        return -1;
    }
    tokens[0] = TP_WORD_CLS, tokens[n + 1] = TP_WORD_SEP;
    tp_words_encode(w, (const unsigned char *)text, (long)strlen(text),
                    tokens + 1);
    int masks = 0;
    for (long i = 0; i < n + 2; i++)
        masks += (labels[i] = tokens[i] == TP_WORD_MASK ? 0 : -1) == 0;
    if (masks == 0)
        fprintf(stderr, "tp bert fill: no [MASK] in '%s'\n", text);
    return masks == 0 ? -1 : (int)n + 2;
}
/* <<tp bert: commands>> */
static void print_best_words(const float *logits, int v, const tp_words *w)
{
    double *p = malloc((size_t)v * sizeof *p), sum = 0;
    tp_check(p != NULL, "out of memory");
    float top = logits[argmax(logits, v)];
    for (int i = 0; i < v; i++)
        sum += p[i] = exp((double)logits[i] - top);
    for (int k = 0; k < bert_top && k < v; k++) {
        int best = 0;
        for (int i = 1; i < v; i++)
            best = p[i] > p[best] ? i : best;
        printf(" %s %.3f", w->word[best], p[best] / sum);
        p[best] = -1;
    }
    printf("\n");
    free(p);
}
/* <<tp bert: commands>> */
static int write_bert_attention(const tp_bert *m, const tp_words *w,
                                const char *text, const int *tokens, int n,
                                tp_tensor *const *weights);

static int fill_one(tp_bert *m, const tp_words *w, const char *text,
                    bool attention)
{
    int *tokens = malloc((size_t)m->config.n_positions * 2 * sizeof *tokens);
    tp_check(tokens != NULL, "out of memory");
    int *labels = tokens + m->config.n_positions;
    int n = fill_sequence(m, w, text, tokens, labels), status = 2;
    if (n > 0) {
        /* <<bert fill: predict and print>> */
        tp_arena *arena = tp_arena_new("fill");
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_tensor **weights = tp_arena_zeroed(arena, (size_t)m->config.n_layer,
                                              sizeof *weights);
        tp_bert_input in = {tokens, NULL, NULL, 1, n};
        tp_tensor *logits = tp_bert_mlm_logits(&g, m, &in, labels, weights);
        printf("%s\n", text);
        for (int i = 0, k = 0; i < n; i++)
            if (labels[i] == 0) {
                printf("  [MASK] %d:", k + 1);
                print_best_words(logits->data + (long)k++ * m->config.vocab_size,
                                 m->config.vocab_size, w);
            }
        status = attention ? write_bert_attention(m, w, text, tokens, n, weights) : 0;
        tp_arena_free(arena);
    }
    free(tokens);
    return status;
}
/* <<tp bert: commands>> */
typedef struct line_set {
    int count;
    int *start, *length, *label;  /* of line i, in ids; label 1: code */
    int *ids;
    long used;
} line_set;

static void line_set_alloc(line_set *s, long lines, long ids)
{
    *s = (line_set){0};
    s->start = malloc((size_t)(lines + 1) * sizeof(int));
    s->length = malloc((size_t)(lines + 1) * sizeof(int));
    s->label = malloc((size_t)(lines + 1) * sizeof(int));
    s->ids = malloc((size_t)(ids + 1) * sizeof(int));
    tp_check(s->start && s->length && s->label && s->ids, "out of memory");
}

static void line_set_free(line_set *s)
{
    free(s->start), free(s->length), free(s->label), free(s->ids);
}
/* <<tp bert: commands>> */
static void prose_and_code(const tp_corpus *text, const tp_words *w,
                           int longest, line_set *train, line_set *test)
{
    long n = tp_noweb_lines(text->bytes, text->size, NULL);
    tp_line *lines = malloc((size_t)(n + 1) * sizeof *lines);
    tp_check(lines != NULL, "out of memory");
    tp_noweb_lines(text->bytes, text->size, lines);
    line_set_alloc(train, n, text->size);
    line_set_alloc(test, n, text->size);
    for (long i = 0; i < n; i++) {
        const unsigned char *s = text->bytes + lines[i].start;
        line_set *to = tp_fnv1a(s, (size_t)lines[i].length) % 5 == 0 ? test
                                                                     : train;
        long units = tp_words_encode(w, s, lines[i].length, to->ids + to->used);
        if (units < 4)
            continue;
        to->start[to->count] = (int)to->used;
        to->length[to->count] = units < longest ? (int)units : longest;
        to->label[to->count++] = lines[i].code;
        to->used += units;
    }
    free(lines);
}
/* <<tp bert: commands>> */
static tp_bert_input line_batch(const line_set *s, const int *which,
                                int count, int *tokens,
                                unsigned char *padding)
{
    int t = 0;
    for (int i = 0; i < count; i++)
        t = s->length[which[i]] + 2 > t ? s->length[which[i]] + 2 : t;
    for (int i = 0; i < count; i++) {
        int n = s->length[which[i]], *row = tokens + (long)i * t;
        row[0] = TP_WORD_CLS, row[n + 1] = TP_WORD_SEP;
        memcpy(row + 1, s->ids + s->start[which[i]], (size_t)n * sizeof *row);
        for (int j = 0; j < t; j++) {
            padding[(long)i * t + j] = j >= n + 2;
            row[j] = j >= n + 2 ? TP_WORD_PAD : row[j];
        }
    }
    return (tp_bert_input){tokens, NULL, padding, count, t};
}
/* <<tp bert: commands>> */
typedef struct finetune_run {
    tp_bert *m;
    line_set train, test;
    int *chosen, n_chosen;  /* the training lines this run may use */
    tp_rng rng;
    int *tokens, *which, *labels;
    unsigned char *padding;
    display shown;
} finetune_run;

static tp_tensor *finetune_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    finetune_run *r = context;
    for (int b = 0; b < bert_batch; b++) {
        r->which[b] = r->chosen[tp_rng_below(&r->rng, (uint32_t)r->n_chosen)];
        r->labels[b] = r->train.label[r->which[b]];
    }
    tp_bert_input in = line_batch(&r->train, r->which, bert_batch, r->tokens,
                                  r->padding);
    return tp_bert_class_loss(g, r->m, &in, r->labels);
}
/* <<tp bert: commands>> */
static int test_accuracy(finetune_run *r)
{
    tp_arena *arena = tp_arena_new("test");
    int right = 0, *which = malloc(100 * sizeof *which);
    tp_check(which != NULL, "out of memory");
    for (int start = 0; start < r->test.count; start += 100) {
        int n = r->test.count - start < 100 ? r->test.count - start : 100;
        for (int i = 0; i < n; i++)
            which[i] = start + i;
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_bert_input in = line_batch(&r->test, which, n, r->tokens, r->padding);
        tp_tensor *logits = tp_bert_classify(&g, r->m, &in);
        for (int i = 0; i < n; i++)
            right += argmax(logits->data + 2 * i, 2) == r->test.label[start + i];
        tp_arena_reset(arena);
    }
    free(which);
    tp_arena_free(arena);
    return right;
}
/* <<tp bert: commands>> */
static const option bert_finetune_options[] = {
    {"--model", OPTION_STRING, &bert_model, 0, 0,
     "the pre-trained checkpoint (default: bert.safetensors)"},
    {"--scratch", OPTION_FLAG, &bert_scratch, 0, 0,
     "start from random weights instead (shaped by the options below)"},
    {"--examples", OPTION_INT, &bert_examples, 0, 100000000,
     "training lines to use (default 0: all)"},
    {"--steps", OPTION_INT, &bert_tune_steps, 1, 100000000, "training steps"},
    {"--batch", OPTION_INT, &bert_batch, 1, 4096, "lines per step"},
    {"--lr", OPTION_FLOAT, &bert_tune_lr, 0, 1, "the peak learning rate"},
    {"--seed", OPTION_INT, &bert_seed, 0, 1000000000, "the seed"},
    {"--out", OPTION_STRING, &bert_tuned, 0, 0,
     "write the fine-tuned model here, with its .vocab (default: not "
     "written)"},
    {"--length", OPTION_INT, &bert_length, 8, 4096, "with --scratch: tokens"},
    {"--vocab", OPTION_INT, &bert_vocab, 6, 1000000, "with --scratch: words"},
    {"--layers", OPTION_INT, &bert_layers, 1, 64, "with --scratch: blocks"},
    {"--heads", OPTION_INT, &bert_heads, 1, 64, "with --scratch: heads"},
    {"--width", OPTION_INT, &bert_width, 1, 4096, "with --scratch: width"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp bert: commands>> */
static tp_bert *finetune_model(const tp_corpus *corpus, tp_words *words)
{
    if (!bert_scratch)
        return bert_load("bert finetune", bert_model, words);
    if (bert_width % bert_heads != 0) {
        fprintf(stderr, "tp bert finetune: --heads %d must divide --width "
                "%d\n", bert_heads, bert_width);
        return NULL;
    }
    tp_words_build(corpus->bytes, corpus->size, bert_vocab, words);
    tp_bert *m = tp_bert_new((tp_bert_config){words->count, bert_length,
                                              bert_layers, bert_heads,
                                              bert_width, 2});
    tp_rng rng = tp_rng_seeded((uint64_t)bert_seed, 3);
    tp_bert_init(m, &rng);
    return m;
}
/* <<tp bert: commands>> */
static int save_tuned_vocabulary(const tp_words *words)
{
    char vocab[4096];
    vocab_path(bert_tuned, vocab, sizeof vocab);
    tp_error error;
    if (tp_words_save(words, vocab, &error) == 0)
        return 0;
    fprintf(stderr, "tp bert finetune: %s\n", error.message);
    return 1;
}
/* <<tp bert: commands>> */
static int finetune_on(finetune_run *r);

static int bert_finetune(void)
{
    tp_corpus corpus;
    if (load_corpus("bert finetune", &corpus) != 0)
        return 1;
    tp_words words;
    finetune_run r = {.shown = {.terminal = isatty(STDERR_FILENO)}};
    r.m = finetune_model(&corpus, &words);
    int status = 1;
    if (r.m != NULL) {
        int longest = r.m->config.n_positions - 2;
        prose_and_code(&corpus, &words, longest < 30 ? longest : 30, &r.train,
                       &r.test);
        status = finetune_on(&r);
        if (status == 0 && bert_tuned != NULL)
            status = save_tuned_vocabulary(&words);
        line_set_free(&r.train), line_set_free(&r.test);
        tp_words_free(&words);
        tp_bert_free(r.m);
    }
    tp_corpus_free(&corpus);
    return status;
}
/* <<tp bert: commands>> */
static void choose_examples(finetune_run *r)
{
    r->chosen = malloc((size_t)(r->train.count + 1) * sizeof *r->chosen);
    tp_check(r->chosen != NULL, "out of memory");
    for (int i = 0; i < r->train.count; i++)
        r->chosen[i] = i;
    tp_rng shuffle = tp_rng_seeded((uint64_t)bert_seed, 5);
    tp_shuffle(r->chosen, r->train.count, &shuffle);
    r->n_chosen = bert_examples > 0 && bert_examples < r->train.count
                      ? bert_examples : r->train.count;
}

static int count_code(const line_set *s, const int *which, int n)
{
    int code = 0;
    for (int i = 0; i < n; i++)
        code += s->label[which != NULL ? which[i] : i];
    return code;
}
/* <<tp bert: commands>> */
static int finetune_on(finetune_run *r)
{
    if (r->train.count == 0 || r->test.count == 0) {
        fprintf(stderr, "tp bert finetune: no lines of four words or more "
                "in the corpus to learn from and test on\n");
        return 1;
    }
    choose_examples(r);
    int code = count_code(&r->test, NULL, r->test.count);
    int majority = code > r->test.count - code ? code : r->test.count - code;
    printf("%d training lines (%d code), %d test lines; always answering "
           "\"%s\" gets %.1f%%\n", r->n_chosen,
           count_code(&r->train, r->chosen, r->n_chosen), r->test.count,
           2 * code > r->test.count ? "code" : "prose",
           100.0 * majority / r->test.count);
    /* <<bert finetune: train, test and report>> */
    int rows = bert_batch > 100 ? bert_batch : 100;
    r->tokens = malloc((size_t)rows * r->m->config.n_positions * sizeof(int));
    r->padding = malloc((size_t)rows * r->m->config.n_positions);
    r->which = malloc((size_t)bert_batch * sizeof(int));
    r->labels = malloc((size_t)bert_batch * sizeof(int));
    tp_check(r->tokens && r->padding && r->which && r->labels, "out of memory");
    r->rng = tp_rng_seeded((uint64_t)bert_seed, 4);
    tp_optimizer *opt = tp_adamw_new(&r->m->params, 0.999f, 0.01f);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = bert_tune_steps,
                          .warmup = bert_tune_steps / 10 + 1,
                          .max_lr = bert_tune_lr, .min_lr = bert_tune_lr / 100,
                          .clip = 1.0, .progress = show_progress,
                          .progress_context = &r->shown};
    tp_error error;
    catch_interrupts();
    int status = tp_train(&g, &r->m->params, opt, &o, finetune_loss, r, NULL,
                          &error);
    /* <<bert finetune: the verdict>> */
    if (status == 0) {
        int right = test_accuracy(r);
        printf("fine-tuned %s on %d lines: test accuracy %.1f%% (%d of %d)\n",
               bert_scratch ? "from scratch" : "after pre-training", r->n_chosen,
               100.0 * right / r->test.count, right, r->test.count);
        if (bert_tuned != NULL)
            status = tp_bert_save(r->m, bert_tuned, &error);
    }
    if (status != 0)
        fprintf(stderr, "tp bert finetune: %s\n", error.message);
    free(r->tokens), free(r->padding), free(r->which), free(r->labels);
    free(r->chosen);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    return exit_status(status);
}
/* <<tp bert: commands>> */
static int write_bert_attention(const tp_bert *m, const tp_words *w,
                                const char *text, const int *tokens, int n,
                                tp_tensor *const *weights)
{
    FILE *f = fopen(bert_attention, "w");
    if (f == NULL) {
        fprintf(stderr, "tp bert fill: cannot write %s\n", bert_attention);
        return 1;
    }
    fprintf(f, "# written by: tp bert fill --model %s --attention %s '%s'\n"
            "# words", bert_model, bert_attention, text);
    for (int i = 0; i < n; i++)
        fprintf(f, " %s", w->word[tokens[i]]);
    fprintf(f, "\nlayer.query\tweights\n");
    /* <<bert attention: one row per layer and query>> */
    int heads = m->config.n_head;
    for (int l = 0; l < m->config.n_layer; l++)
        for (int i = 0; i < n; i++) {
            fprintf(f, "%d.%d", l, i);
            for (int j = 0; j < n; j++) {
                double mean = 0;
                for (int h = 0; h < heads; h++)
                    mean += *tp_at4(weights[l], 0, h, i, j) / heads;
                fprintf(f, "\t%.5f", mean);
            }
            fprintf(f, "\n");
        }
    return fclose(f) == 0 ? 0 : 1;
}

/* <<tp bert: figures>> */
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
/* <<tp bert: figures>> */
static void word_label(char *out, size_t size, const char *word)
{
    if (word[0] != '\0' && word[1] == '\0')
        prompt_label(out, size, (unsigned char)word[0]);
    else
        snprintf(out, size, "%s", word);
}
/* <<tp bert: figures>> */
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
/* <<tp bert: figures>> */
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
    /* <<bert figure: the axes of a map>> */
    tp_text(d, x + side / 2, y + side + 30, 0.5, 0.0, 7, "keys");
    cairo_save(d->cr);
    cairo_translate(d->cr, x - 34, y + side / 2);
    cairo_rotate(d->cr, -acos(0.0));
    tp_text(d, 0, 0, 0.5, 1.0, 7, "queries");
    cairo_restore(d->cr);
}
/* <<tp bert: figures>> */
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
        tp_colorbar(d, 402, 16, 6, 140, 0.0, top, "weight");
    }
    free(words), free(t);
    return status;
}
/* <<tp bert: figures>> */
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
/* <<tp bert: figures>> */
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

static const command bert_commands[] = {
    /* <<tp bert: command table>> */
    {"bert pretrain", "pre-train BERT on the book by masked language modelling",
     bert_pretrain_options, bert_pretrain, NULL},
    {"bert fill", "the likeliest words for each [MASK] in a text",
     bert_fill_options, bert_fill, "TEXT..."},
    /* <<tp bert: command table>> */
    {"bert finetune", "fine-tune BERT to tell prose lines from code lines",
     bert_finetune_options, bert_finetune, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure bert_figures[] = {
    /* <<tp bert: figure table>> */
    {"bert-architecture", "BERT: an encoder with a head for masked words and "
     "one on [CLS]", 360, 200, draw_bert_architecture},
    /* <<tp bert: figure table>> */
    {"bert-attention", "where a pre-trained BERT looks, averaged over heads",
     440, 200, draw_bert_attention},
    /* <<tp bert: figure table>> */
    {"bert-finetune", "prose or code: accuracy against labelled lines, with and "
     "without pre-training", 360, 204, draw_bert_finetune},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part bert_part = {bert_commands, bert_figures};
