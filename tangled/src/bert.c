/* Generated from book/216-bert.nw; edit the book, not this file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/bert.h"
#include "tp/ops.h"

/* <<bert: cutting text into units>> */
enum { MAX_WORD = 40 };  /* longer units are unknown words */

static bool space_byte(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}
/* <<bert: cutting text into units>> */
static long next_unit(const unsigned char *text, long n, long *at)
{
    long i = *at;
    while (i < n && space_byte(text[i]))
        i++;
    *at = i;
    if (i == n)
        return 0;
    long j = i + 1;
    if (word_byte(text[i]))
        while (j < n && word_byte(text[j]))
            j++;
    else if (text[i] >= 0xC0)  /* the lead byte of a UTF-8 sequence */
        while (j < n && (text[j] & 0xC0) == 0x80)
            j++;
    return j - i;
}

static bool lower_unit(const unsigned char *text, long length,
                       char out[MAX_WORD + 1])
{
    if (length > MAX_WORD)
        return false;
    for (long i = 0; i < length; i++)
        out[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32
                                                         : text[i]);
    out[length] = '\0';
    return true;
}

/* <<bert: building a vocabulary>> */
static const char *const special_words[TP_WORD_SPECIALS] = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

typedef struct counted {
    const char *word;
    int count;
} counted;

static int by_count(const void *a, const void *b)
{
    const counted *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->word, y->word);
}

static void make_words(tp_words *w, const char *const *strings, int count)
{
    *w = (tp_words){.count = count, .word = calloc((size_t)count,
                                                   sizeof(char *))};
    tp_check(w->word != NULL, "out of memory");
    for (int id = 0; id < count; id++) {
        w->word[id] = strdup(strings[id]);
        tp_check(w->word[id] != NULL, "out of memory");
        tp_string_put(&w->index, strings[id], strlen(strings[id]), id);
    }
}
/* <<bert: building a vocabulary>> */
int tp_words_build(const unsigned char *text, long n, int size, tp_words *w)
{
    tp_check(size > TP_WORD_SPECIALS, "a vocabulary of %d words leaves no "
             "room beside the %d special ones", size, TP_WORD_SPECIALS);
    tp_string_table counts = {0};
    char unit[MAX_WORD + 1];
    long length;
    for (long at = 0; (length = next_unit(text, n, &at)) > 0; at += length)
        if (lower_unit(text + at, length, unit)) {
            int seen = tp_string_get(&counts, unit, (size_t)length);
            tp_string_put(&counts, unit, (size_t)length, seen < 0 ? 1 : seen + 1);
        }
    /* <<bert: keep the most frequent units>> */
    counted *all = malloc((size_t)(counts.count + 1) * sizeof *all);
    const char **chosen = malloc((size_t)size * sizeof *chosen);
    tp_check(all != NULL && chosen != NULL, "out of memory");
    int distinct = 0;
    for (int i = 0; i < counts.capacity; i++)
        if (counts.keys[i] != NULL)
            all[distinct++] = (counted){counts.keys[i], counts.values[i]};
    qsort(all, (size_t)distinct, sizeof *all, by_count);
    int keep = distinct < size - TP_WORD_SPECIALS ? distinct
                                                  : size - TP_WORD_SPECIALS;
    memcpy(chosen, special_words, sizeof special_words);
    for (int i = 0; i < keep; i++)
        chosen[TP_WORD_SPECIALS + i] = all[i].word;
    make_words(w, chosen, TP_WORD_SPECIALS + keep);
    free(chosen), free(all);
    tp_string_table_free(&counts);
    return w->count;
}
/* <<bert: building a vocabulary>> */
long tp_words_encode(const tp_words *w, const unsigned char *text, long n,
                     int *ids)
{
    long count = 0, length;
    char unit[MAX_WORD + 1];
    for (long at = 0; (length = next_unit(text, n, &at)) > 0; at += length) {
        int id = TP_WORD_UNK;
        if (n - at >= 6 && memcmp(text + at, "[MASK]", 6) == 0)
            id = TP_WORD_MASK, length = 6;
        else if (lower_unit(text + at, length, unit)) {
            int known = tp_string_get(&w->index, unit, (size_t)length);
            id = known >= TP_WORD_SPECIALS ? known : TP_WORD_UNK;
        }
        if (ids != NULL)
            ids[count] = id;
        count++;
    }
    return count;
}

void tp_words_free(tp_words *w)
{
    for (int id = 0; id < w->count; id++)
        free(w->word[id]);
    free(w->word);
    tp_string_table_free(&w->index);
    *w = (tp_words){0};
}

/* <<bert: saving and loading a vocabulary>> */
static int write_words(FILE *f, const void *contents)
{
    const tp_words *w = contents;
    for (int id = 0; id < w->count; id++)
        if (fprintf(f, "%s\n", w->word[id]) < 0)
            return -1;
    return 0;
}

int tp_words_save(const tp_words *w, const char *path, tp_error *error)
{
    return tp_save_file(path, write_words, w, error);
}
/* <<bert: saving and loading a vocabulary>> */
static const char *vocabulary_problem(char *const *lines, int count)
{
    for (int i = 0; i < TP_WORD_SPECIALS; i++)
        if (i >= count || strcmp(lines[i], special_words[i]) != 0)
            return "it does not start with [PAD] [UNK] [CLS] [SEP] [MASK]";
    if (count == TP_WORD_SPECIALS)
        return "it has no words beside the special ones";
    for (int i = 0; i < count; i++)
        for (const char *c = lines[i]; *c != '\0' || c == lines[i]; c++)
            if (*c == '\0' || space_byte((unsigned char)*c))
                return "a line is empty or has white space in it";
    return NULL;
}
/* <<bert: saving and loading a vocabulary>> */
int tp_words_load(const char *path, tp_words *w, tp_error *error)
{
    *w = (tp_words){0};
    tp_corpus file;
    if (tp_corpus_load(path, &file, error) != 0)
        return -1;
    char *text = (char *)file.owned;
    char **lines = malloc((size_t)(file.size + 1) * sizeof *lines);
    tp_check(lines != NULL, "out of memory");
    int count = 0;
    for (long i = 0, start = 0; i < file.size; i++)
        if (text[i] == '\n') {
            text[i] = '\0';
            lines[count++] = text + start;
            start = i + 1;
        }
    const char *problem = vocabulary_problem(lines, count);
    if (problem == NULL)
        make_words(w, (const char *const *)lines, count);
    /* <<bert: refuse a vocabulary with a word twice>> */
    if (problem == NULL && w->index.count != count) {
        problem = "a word appears twice";
        tp_words_free(w);
    }
    free(lines);
    tp_corpus_free(&file);
    return problem == NULL ? 0 : tp_error_set(error, "%s is not a "
                                              "vocabulary: %s", path, problem);
}

/* <<bert: making the model>> */
static bool valid(const tp_bert_config *c)
{
    return c->vocab_size > TP_WORD_SPECIALS && c->n_positions >= 2
           && c->n_layer >= 1 && c->n_head >= 1 && c->n_embd >= 1
           && c->n_embd % c->n_head == 0 && c->n_classes >= 2;
}

tp_bert *tp_bert_new(tp_bert_config c)
{
    tp_check(valid(&c), "BERT needs words beside the special tokens, two "
             "positions or more, two classes or more, and heads that divide "
             "the width (%d heads, width %d)", c.n_head, c.n_embd);
    tp_bert *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    m->config = c;
    m->arena = tp_arena_new("BERT parameters");
    m->blocks = tp_arena_zeroed(m->arena, (size_t)c.n_layer, sizeof(tp_block));
    /* <<bert: the parameters>> */
    int w = c.n_embd;
    tp_params *p = &m->params;
    m->wte = tp_param_new(p, m->arena, "wte.weight", tp_shape2(c.vocab_size, w));
    m->wpe = tp_param_new(p, m->arena, "wpe.weight", tp_shape2(c.n_positions, w));
    m->wse = tp_param_new(p, m->arena, "wse.weight", tp_shape2(2, w));
    m->ln_e_w = tp_param_new(p, m->arena, "ln_e.weight", tp_shape1(w));
    m->ln_e_b = tp_param_new(p, m->arena, "ln_e.bias", tp_shape1(w));
    for (int i = 0; i < c.n_layer; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "h.%d.", i);
        tp_block_make(&m->blocks[i], p, m->arena, prefix, w, 4 * w, false);
    }
    m->mlm_w = tp_param_new(p, m->arena, "mlm.dense.weight", tp_shape2(w, w));
    m->mlm_b = tp_param_new(p, m->arena, "mlm.dense.bias", tp_shape1(w));
    m->mlm_ln_w = tp_param_new(p, m->arena, "mlm.ln_t.weight", tp_shape1(w));
    m->mlm_ln_b = tp_param_new(p, m->arena, "mlm.ln_t.bias", tp_shape1(w));
    m->mlm_bias = tp_param_new(p, m->arena, "mlm.bias", tp_shape1(c.vocab_size));
    m->head_w = tp_param_new(p, m->arena, "head.weight", tp_shape2(w, c.n_classes));
    m->head_b = tp_param_new(p, m->arena, "head.bias", tp_shape1(c.n_classes));
    return m;
}
/* <<bert: making the model>> */
void tp_bert_init(tp_bert *m, tp_rng *rng)
{
    tp_init_gpt2(&m->params, rng, m->config.n_layer);
}

void tp_bert_free(tp_bert *m)
{
    if (m == NULL)
        return;
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
    free(m);
}

/* <<bert: the forward pass>> */
tp_tensor *tp_bert_encode(tp_graph *g, tp_bert *m, const tp_bert_input *in,
                          tp_tensor **weights)
{
    const tp_bert_config *c = &m->config;
    int b = in->batch, t = in->length;
    tp_check(b >= 1 && t >= 1 && t <= c->n_positions, "BERT: %d sequences "
             "of %d tokens, but %d positions", b, t, c->n_positions);
    /* <<bert: the ids of positions and segments>> */
    int *positions = tp_arena_alloc(g->arena, (size_t)t * sizeof *positions);
    int *segments = tp_arena_alloc(g->arena, (size_t)b * t * sizeof *segments);
    for (int i = 0; i < t; i++)
        positions[i] = i;
    for (long i = 0; i < (long)b * t; i++)
        segments[i] = in->segments != NULL ? in->segments[i] : 0;
    tp_shape shape = tp_shape2(b, t);
    tp_tensor *x = tp_add(g, tp_embedding(g, m->wte, in->tokens, shape),
                          tp_embedding(g, m->wse, segments, shape));
    x = tp_add(g, x, tp_embedding(g, m->wpe, positions, tp_shape1(t)));
    x = tp_layernorm(g, x, m->ln_e_w, m->ln_e_b, 1e-5f);
    tp_block_options o = {.heads = c->n_head, .post_ln = true,
                          .activation = tp_gelu};
    o.self.key_padding = in->padding;
    for (int i = 0; i < c->n_layer; i++) {
        o.self.weights = weights != NULL ? &weights[i] : NULL;
        x = tp_block_forward(g, &m->blocks[i], x, NULL, &o);
    }
    return x;
}
/* <<bert: the forward pass>> */
static tp_tensor *pick_rows(tp_graph *g, tp_tensor *x, const int *rows,
                            int count)
{
    int n = x->shape.dim[0] * x->shape.dim[1], c = x->shape.dim[2];
    return tp_embedding(g, tp_reshape(g->arena, x, tp_shape2(n, c)), rows,
                        tp_shape1(count));
}
/* <<bert: the forward pass>> */
tp_tensor *tp_bert_mlm_logits(tp_graph *g, tp_bert *m,
                              const tp_bert_input *in, const int *labels,
                              tp_tensor **weights)
{
    long n = (long)in->batch * in->length;
    int *rows = tp_arena_alloc(g->arena, (size_t)n * sizeof *rows), count = 0;
    for (long i = 0; i < n; i++)
        if (labels[i] >= 0)
            rows[count++] = (int)i;
    tp_check(count > 0, "BERT: no position to predict (every label is -1)");
    tp_tensor *h = pick_rows(g, tp_bert_encode(g, m, in, weights), rows, count);
    h = tp_gelu(g, tp_linear(g, h, m->mlm_w, m->mlm_b));
    h = tp_layernorm(g, h, m->mlm_ln_w, m->mlm_ln_b, 1e-5f);
    tp_tensor *logits = tp_matmul(g, h, tp_transpose(g->arena, m->wte, 0, 1));
    return tp_add(g, logits, m->mlm_bias);
}
/* <<bert: the forward pass>> */
tp_tensor *tp_bert_mlm_loss(tp_graph *g, tp_bert *m, const tp_bert_input *in,
                            const int *labels)
{
    long n = (long)in->batch * in->length;
    int *targets = tp_arena_alloc(g->arena, (size_t)n * sizeof *targets);
    int count = 0;
    for (long i = 0; i < n; i++)
        if (labels[i] >= 0)
            targets[count++] = labels[i];
    return tp_cross_entropy(g, tp_bert_mlm_logits(g, m, in, labels, NULL),
                            targets, -1);
}
/* <<bert: the forward pass>> */
tp_tensor *tp_bert_classify(tp_graph *g, tp_bert *m, const tp_bert_input *in)
{
    int *rows = tp_arena_alloc(g->arena, (size_t)in->batch * sizeof *rows);
    for (int b = 0; b < in->batch; b++)
        rows[b] = b * in->length;  /* [CLS], first in every sequence */
    tp_tensor *cls = pick_rows(g, tp_bert_encode(g, m, in, NULL), rows,
                               in->batch);
    return tp_linear(g, cls, m->head_w, m->head_b);
}

tp_tensor *tp_bert_class_loss(tp_graph *g, tp_bert *m,
                              const tp_bert_input *in, const int *labels)
{
    return tp_cross_entropy(g, tp_bert_classify(g, m, in), labels, -1);
}

/* <<bert: saving and loading>> */
static int config_fields(tp_bert_config *c, tp_config_field *f)
{
    const tp_config_field all[] = {
        {"vocab_size", &c->vocab_size}, {"n_positions", &c->n_positions},
        {"n_layer", &c->n_layer}, {"n_head", &c->n_head},
        {"n_embd", &c->n_embd}, {"n_classes", &c->n_classes}};
    memcpy(f, all, sizeof all);
    return (int)(sizeof all / sizeof *all);
}

int tp_bert_save(const tp_bert *m, const char *path, tp_error *error)
{
    tp_bert_config c = m->config;
    tp_config_field f[6];
    return tp_model_save(&m->params, "bert", f, config_fields(&c, f), path,
                         error);
}
/* <<bert: saving and loading>> */
tp_bert *tp_bert_load(const char *path, tp_error *error)
{
    tp_bert_config c;
    tp_config_field f[6];
    if (tp_model_config(path, "bert", f, config_fields(&c, f), error) != 0)
        return NULL;
    if (!valid(&c)) {
        tp_error_set(error, "%s: an impossible configuration", path);
        return NULL;
    }
    double width = c.n_embd;  /* embeddings and attention alone */
    if (tp_model_fits(path, ((double)c.vocab_size + c.n_positions) * width
                                + c.n_layer * 4 * width * width,
                      error) != 0)
        return NULL;
    tp_bert *m = tp_bert_new(c);
    if (tp_safetensors_load(path, m->params.items, m->params.count, NULL,
                            error) != 0) {
        tp_bert_free(m);
        return NULL;
    }
    return m;
}

/* <<bert: the masking rule>> */
static bool maskable(int id)
{
    return id == TP_WORD_UNK || id >= TP_WORD_SPECIALS;
}

static void corrupt(int *token, int *label, int vocab_size, tp_rng *rng)
{
    *label = *token;
    float u = tp_rng_uniform(rng);
    if (u < 0.8f)
        *token = TP_WORD_MASK;
    else if (u < 0.9f)
        *token = TP_WORD_SPECIALS
                 + (int)tp_rng_below(rng, (uint32_t)(vocab_size
                                                     - TP_WORD_SPECIALS));
}
/* <<bert: the masking rule>> */
void tp_mlm_mask(int *tokens, int *labels, int batch, int length,
                 int vocab_size, tp_rng *rng)
{
    tp_check(vocab_size > TP_WORD_SPECIALS, "tp_mlm_mask: %d ids have no "
             "words", vocab_size);
    for (int b = 0; b < batch; b++) {
        int *t = tokens + (long)b * length, *l = labels + (long)b * length;
        int chosen = 0, words = 0;
        for (int i = 0; i < length; i++) {
            l[i] = -1;
            words += maskable(t[i]);
            if (maskable(t[i]) && tp_rng_uniform(rng) < 0.15f) {
                corrupt(&t[i], &l[i], vocab_size, rng);
                chosen++;
            }
        }
        /* <<bert: choose one word where the draw chose none>> */
        if (chosen == 0 && words > 0) {
            int k = (int)tp_rng_below(rng, (uint32_t)words);
            for (int i = 0; i < length; i++)
                if (maskable(t[i]) && k-- == 0) {
                    corrupt(&t[i], &l[i], vocab_size, rng);
                    break;
                }
        }
    }
}

/* <<bert: reading noweb>> */
static long trimmed(const unsigned char *s, long length)
{
    while (length > 0 && space_byte(s[length - 1]))
        length--;
    return length;
}

static bool opens_chunk(const unsigned char *s, long length)
{
    length = trimmed(s, length);
    return length >= 5 && s[0] == '<' && s[1] == '<' && s[length - 3] == '>'
           && s[length - 2] == '>' && s[length - 1] == '=';
}

static bool closes_chunk(const unsigned char *s, long length)
{
    return length >= 1 && s[0] == '@' && (length == 1 || space_byte(s[1]));
}
/* <<bert: reading noweb>> */
long tp_noweb_lines(const unsigned char *text, long n, tp_line *lines)
{
    long count = 0, end;
    bool code = false;
    for (long start = 0; start < n; start = end + 1) {
        for (end = start; end < n && text[end] != '\n'; end++)
            ;
        long length = end - start;
        if (opens_chunk(text + start, length))
            code = true;
        else if (closes_chunk(text + start, length))
            code = false;
        else if (trimmed(text + start, length) > 0) {
            if (lines != NULL)
                lines[count] = (tp_line){start, (int)length, code};
            count++;
        }
    }
    return count;
}
