/* Generated from book/216-bert.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

static tp_bert *tiny_model(uint64_t seed)
{
    tp_bert *m = tp_bert_new((tp_bert_config){20, 12, 2, 2, 8, 3});
    tp_rng rng = tp_rng_seeded(seed, 0);
    tp_bert_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    return m;
}

/* <<t-bert: words>> */
static void words(void)
{
    const char *text = "The cat sat. The cat ran! \xc3\x9c" "ber";
    tp_words w;
    int n = tp_words_build((const unsigned char *)text, (long)strlen(text),
                           8, &w);
    ok(n == 8 && strcmp(w.word[TP_WORD_MASK], "[MASK]") == 0
           && strcmp(w.word[5], "cat") == 0 && strcmp(w.word[6], "the") == 0
           && strcmp(w.word[7], "!") == 0,
       "the vocabulary: specials, then by falling count, ties alphabetically");
    int ids[8], expect[] = {6, TP_WORD_UNK, 5, TP_WORD_MASK, 7, TP_WORD_UNK};
    const char *probe = "THE dog cat [MASK]! \xc3\x9c";
    long k = tp_words_encode(&w, (const unsigned char *)probe,
                             (long)strlen(probe), ids);
    ok(k == 6 && memcmp(ids, expect, sizeof expect) == 0,
       "encoding folds capitals, marks unknown words and reads [MASK]");
    /* <<t-bert: a vocabulary through its file>> */
    char path[] = "/tmp/tp-words-XXXXXX";
    close(mkstemp(path));
    tp_error error;
    tp_words back;
    int ids_back[8];
    bool same = tp_words_save(&w, path, &error) == 0
                && tp_words_load(path, &back, &error) == 0
                && tp_words_encode(&back, (const unsigned char *)probe,
                                   (long)strlen(probe), ids_back) == 6
                && memcmp(ids_back, expect, sizeof expect) == 0;
    ok(same, "a vocabulary reads back from its file with the same ids");
    if (same)
        tp_words_free(&back);
    ok(tp_words_save(&w, "/dev/null", &error) != 0
           && strstr(error.message, "not a regular file") != NULL,
       "a vocabulary is saved as a checkpoint is: never over a device");
    FILE *f = fopen(path, "w");
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ncat\ncat\n");
    fclose(f);
    ok(tp_words_load(path, &back, &error) != 0
           && strstr(error.message, "twice") != NULL,
       "a vocabulary with a word twice is refused");
    f = fopen(path, "w");
    fprintf(f, "cat\nthe\n");
    fclose(f);
    ok(tp_words_load(path, &back, &error) != 0
           && strstr(error.message, "[PAD]") != NULL,
       "a vocabulary without the special tokens is refused");
    unlink(path);
    tp_words_free(&w);
}

/* <<t-bert: masking>> */
static void masking(void)
{
    enum { B = 400, T = 64, V = 1000 };
    static int original[B * T], tokens[B * T], labels[B * T];
    tp_rng rng = tp_rng_seeded(7, 0);
    for (int i = 0; i < B * T; i++)
        original[i] = i % T == 0 ? TP_WORD_CLS : i % T >= 60 ? TP_WORD_PAD
                      : i % T == 30 ? TP_WORD_SEP
                      : TP_WORD_UNK + (int)tp_rng_below(&rng, V - TP_WORD_UNK);
    for (int i = 0; i < B * T; i++)
        tokens[i] = original[i] == TP_WORD_MASK ? TP_WORD_UNK : original[i];
    memcpy(original, tokens, sizeof tokens);
    tp_mlm_mask(tokens, labels, B, T, V, &rng);
    /* <<t-bert: count what the rule did>> */
    int words = 0, chosen = 0, masked = 0, replaced = 0, kept = 0, wrong = 0;
    for (int i = 0; i < B * T; i++) {
        bool word = original[i] == TP_WORD_UNK || original[i] >= TP_WORD_SPECIALS;
        words += word;
        if (labels[i] < 0) {
            wrong += tokens[i] != original[i];
            continue;
        }
        wrong += !word || labels[i] != original[i];
        chosen++;
        masked += tokens[i] == TP_WORD_MASK;
        kept += tokens[i] == original[i];
        replaced += tokens[i] != TP_WORD_MASK && tokens[i] != original[i];
    }
    double p = (double)chosen / words;
    ok(wrong == 0, "labels are the original words, only words are chosen, "
       "and nothing else changes");
    ok(fabs(p - 0.15) < 4 * sqrt(0.15 * 0.85 / words), "%.2f%% of the words "
       "are chosen", 100 * p);
    ok(fabs((double)masked / chosen - 0.8) < 4 * sqrt(0.16 / chosen)
           && fabs((double)replaced / chosen - 0.1) < 4 * sqrt(0.09 / chosen)
           && fabs((double)kept / chosen - 0.1) < 4 * sqrt(0.09 / chosen),
       "of the chosen, %.1f%% are masked, %.1f%% replaced, %.1f%% kept",
       100.0 * masked / chosen, 100.0 * replaced / chosen,
       100.0 * kept / chosen);
}

/* <<t-bert: noweb lines>> */
static void noweb_lines(void)
{
    const char *text = "Some prose.\n\n"
                       "<<a chunk>>=\n"
                       "int x;\n\n"
                       "  return x;\n"
                       "@ %def x\n"
                       "More prose, and @ inside it.\n"
                       "<<another>>=  \n"
                       "y();\n"
                       "@\n"
                       "End.";
    tp_line lines[8];
    long n = tp_noweb_lines((const unsigned char *)text, (long)strlen(text),
                            lines);
    bool kinds = n == 6 && !lines[0].code && lines[1].code && lines[2].code
                 && !lines[3].code && lines[4].code && !lines[5].code;
    ok(kinds && strncmp(text + lines[2].start, "  return x;", 11) == 0
           && lines[2].length == 11 && lines[5].length == 4,
       "noweb lines: prose, code, code, prose, code, prose");
}

/* <<t-bert: the loss>> */
static void loss(void)
{
    tp_bert *m = tiny_model(1);
    int tokens[2 * 10], segments[2 * 10], labels[2 * 10], all[2 * 10];
    tp_rng rng = tp_rng_seeded(1, 1);
    for (int i = 0; i < 20; i++) {
        tokens[i] = (int)tp_rng_below(&rng, 20);
        segments[i] = i % 10 >= 5;
        labels[i] = i % 3 == 1 ? (int)tp_rng_below(&rng, 20) : -1;
        all[i] = 0;
    }
    tp_bert_input in = {tokens, segments, NULL, 2, 10};
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *logits = tp_bert_mlm_logits(&g, m, &in, all, NULL);  /* [20, 20] */
    /* <<t-bert: the mean over the labelled positions by hand>> */
    double sum = 0;
    int count = 0;
    for (int i = 0; i < 20; i++) {
        if (labels[i] < 0)
            continue;
        const float *row = logits->data + i * 20;
        double top = row[0], z = 0;
        for (int j = 1; j < 20; j++)
            top = fmax(top, row[j]);
        for (int j = 0; j < 20; j++)
            z += exp(row[j] - top);
        sum += top + log(z) - row[labels[i]];
        count++;
    }
    near(tp_bert_mlm_loss(&g, m, &in, labels)->data[0], sum / count, 1e-5,
         "the MLM loss is the mean over the %d labelled positions", count);
    tp_arena_free(arena);
    tp_bert_free(m);
}

/* <<t-bert: both directions and padding>> */
static void directions(void)
{
    tp_bert *m = tiny_model(2);
    int a[10] = {2, 7, 9, 11, 5, 13, 8, 17, 6, 3}, b[10];
    memcpy(b, a, sizeof a);
    b[6] = 19;
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *x = tp_bert_encode(&g, m, &(tp_bert_input){a, NULL, NULL, 1, 10},
                                  NULL);
    tp_tensor *y = tp_bert_encode(&g, m, &(tp_bert_input){b, NULL, NULL, 1, 10},
                                  NULL);
    double least = INFINITY;
    for (int t = 0; t < 6; t++) {
        double change = 0;
        for (int c = 0; c < 8; c++)
            change = fmax(change, fabs(x->data[t * 8 + c] - y->data[t * 8 + c]));
        least = fmin(least, change);
    }
    ok(least > 1e-3, "a later token changes every earlier output (the least "
       "change is %.3f)", least);
    tp_arena_free(arena);
    tp_bert_free(m);
}
/* <<t-bert: both directions and padding>> */
static void padding(void)
{
    tp_bert *m = tiny_model(3);
    int alone[6] = {2, 9, 4, 12, 7, 3}, padded[10] = {2, 9, 4, 12, 7, 3,
                                                     15, 1, 8, 19};
    unsigned char pad[10] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_bert_input a = {alone, NULL, NULL, 1, 6}, b = {padded, NULL, pad, 1, 10};
    tp_tensor *x = tp_bert_encode(&g, m, &a, NULL);
    tp_tensor *y = tp_bert_encode(&g, m, &b, NULL);
    tp_tensor *ca = tp_bert_classify(&g, m, &a), *cb = tp_bert_classify(&g, m, &b);
    double worst = 0;
    for (int i = 0; i < 6 * 8; i++)
        worst = fmax(worst, fabs(x->data[i] - y->data[i]));
    for (int k = 0; k < 3; k++)
        worst = fmax(worst, fabs(ca->data[k] - cb->data[k]));
    near(worst, 0, 1e-5, "padding with junk changes no real output and no "
         "class logit");
    tp_arena_free(arena);
    tp_bert_free(m);
}

/* <<t-bert: gradients>> */
static const int grad_tokens[2 * 7] = {2, 8, 4, 11, 3, 13, 3,
                                       2, 16, 9, 3, 0, 0, 0};
static const int grad_segments[2 * 7] = {0, 0, 0, 0, 0, 1, 1,
                                         0, 0, 0, 0, 0, 0, 0};
static const unsigned char grad_padding[2 * 7] = {0, 0, 0, 0, 0, 0, 0,
                                                  0, 0, 0, 0, 1, 1, 1};
static const int grad_words[2 * 7] = {-1, 17, 6, -1, -1, 5, -1,
                                      -1, -1, 12, -1, -1, -1, -1};
static const int grad_classes[2] = {2, 0};

static tp_tensor *tiny_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)in;
    tp_bert_input b = {grad_tokens, grad_segments, grad_padding, 2, 7};
    return tp_add(g, tp_bert_mlm_loss(g, c, &b, grad_words),
                  tp_bert_class_loss(g, c, &b, grad_classes));
}

static void gradients(void)
{
    tp_bert *m = tiny_model(4);
    check_model_gradients(tiny_loss, &m->params, m, "BERT");
    tp_bert_free(m);
}

/* <<t-bert: learning to fill in>> */
typedef struct copies {
    tp_bert *m;
    tp_rng rng;
    int tokens[32 * 19], segments[32 * 19], labels[32 * 19];
} copies;

static void twice(tp_rng *rng, int *tokens, int *segments)
{
    tokens[0] = TP_WORD_CLS, tokens[9] = tokens[18] = TP_WORD_SEP;
    for (int i = 0; i < 8; i++)
        tokens[1 + i] = tokens[10 + i] = TP_WORD_SPECIALS
                                         + (int)tp_rng_below(rng, 15);
    for (int i = 0; i < 19; i++)
        segments[i] = i >= 10;
}

static tp_tensor *copies_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    copies *c = context;
    for (int b = 0; b < 32; b++)
        twice(&c->rng, c->tokens + b * 19, c->segments + b * 19);
    tp_mlm_mask(c->tokens, c->labels, 32, 19, 20, &c->rng);
    tp_bert_input in = {c->tokens, c->segments, NULL, 32, 19};
    return tp_bert_mlm_loss(g, c->m, &in, c->labels);
}
/* <<t-bert: learning to fill in>> */
static void filling_in(void)
{
    copies *c = calloc(1, sizeof *c);
    c->m = tp_bert_new((tp_bert_config){20, 19, 2, 2, 32, 2});
    c->rng = tp_rng_seeded(8, 0);
    tp_bert_init(c->m, &c->rng);
    tp_optimizer *opt = tp_adamw_new(&c->m->params, 0.999f, 0.0f);
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_train_options o = {.steps = 500, .warmup = 50, .max_lr = 3e-3f,
                          .min_lr = 1e-4f, .clip = 1.0};
    tp_train(&g, &c->m->params, opt, &o, copies_loss, c, NULL, NULL);
    /* <<t-bert: count the masked words found in new sequences>> */
    tp_rng fresh = tp_rng_seeded(9, 0);
    int right = 0, asked = 0;
    for (int k = 0; k < 20; k++) {
        twice(&fresh, c->tokens, c->segments);
        tp_mlm_mask(c->tokens, c->labels, 1, 19, 20, &fresh);
        tp_graph e = tp_graph_on(arena);
        tp_set_grad(&e, false);
        tp_bert_input in = {c->tokens, c->segments, NULL, 1, 19};
        tp_tensor *logits = tp_bert_mlm_logits(&e, c->m, &in, c->labels, NULL);
        for (int i = 0, row = 0; i < 19; i++)
            if (c->labels[i] >= 0) {
                const float *l = logits->data + 20 * row++;
                int best = 0;
                for (int j = 1; j < 20; j++)
                    best = l[j] > l[best] ? j : best;
                right += best == c->labels[i], asked++;
            }
    }
    ok(2 * right > asked, "after 500 steps, %d of %d masked words of new "
       "sequences are found", right, asked);
    /* <<t-bert: the trained model saves and loads>> */
    char path[] = "/tmp/tp-bert-XXXXXX";
    close(mkstemp(path));
    tp_error error;
    tp_bert *back = tp_bert_save(c->m, path, &error) == 0
                        ? tp_bert_load(path, &error) : NULL;
    ok(back != NULL && back->config.n_embd == 32
           && memcmp(back->wte->data, c->m->wte->data,
                     20 * 32 * sizeof(float)) == 0,
       "the trained model saves and loads");
    tp_bert_free(back);
    ok(tp_vit_load(path, &error) == NULL && strstr(error.message, "bert"),
       "a BERT checkpoint is not taken for another model's");
    unlink(path);
    tp_arena_free(arena);
    tp_optimizer_free(opt);
    tp_bert_free(c->m);
    free(c);
}

int main(void)
{
    words();
    masking();
    noweb_lines();
    loss();
    directions();
    padding();
    gradients();
    filling_in();
    return done_testing();
}
