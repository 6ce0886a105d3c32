/* Generated from book/216-bert.nw; edit the book, not this file. */
#ifndef TP_BERT_H
#define TP_BERT_H

#include "tp/block.h"
#include "tp/data.h"

/* <<bert: words>> */
enum {
    TP_WORD_PAD, TP_WORD_UNK, TP_WORD_CLS, TP_WORD_SEP, TP_WORD_MASK,
    TP_WORD_SPECIALS
};

typedef struct tp_words {
    int count;              /* ids, the specials included */
    char **word;            /* the string of each id */
    tp_string_table index;  /* and the id of each string */
} tp_words;

int tp_words_build(const unsigned char *text, long n, int size, tp_words *w);
long tp_words_encode(const tp_words *w, const unsigned char *text, long n,
                     int *ids);
int tp_words_save(const tp_words *w, const char *path, tp_error *error);
int tp_words_load(const char *path, tp_words *w, tp_error *error);
void tp_words_free(tp_words *w);

/* <<bert: the model>> */
typedef struct tp_bert_config {
    int vocab_size, n_positions, n_layer, n_head, n_embd, n_classes;
} tp_bert_config;

typedef struct tp_bert {
    tp_bert_config config;
    tp_arena *arena;
    tp_params params;
    tp_tensor *wte, *wpe, *wse, *ln_e_w, *ln_e_b;
    tp_block *blocks;
    tp_tensor *mlm_w, *mlm_b, *mlm_ln_w, *mlm_ln_b, *mlm_bias;
    tp_tensor *head_w, *head_b;
} tp_bert;

tp_bert *tp_bert_new(tp_bert_config config);
void tp_bert_init(tp_bert *m, tp_rng *rng);
void tp_bert_free(tp_bert *m);

/* <<bert: running it>> */
typedef struct tp_bert_input {
    const int *tokens;             /* [B, T] */
    const int *segments;           /* [B, T], 0 or 1; NULL: all 0 */
    const unsigned char *padding;  /* [B, T], nonzero: padding; or NULL */
    int batch, length;
} tp_bert_input;

tp_tensor *tp_bert_encode(tp_graph *g, tp_bert *m, const tp_bert_input *in,
                          tp_tensor **weights);
tp_tensor *tp_bert_mlm_logits(tp_graph *g, tp_bert *m,
                              const tp_bert_input *in, const int *labels,
                              tp_tensor **weights);
tp_tensor *tp_bert_mlm_loss(tp_graph *g, tp_bert *m, const tp_bert_input *in,
                            const int *labels);
tp_tensor *tp_bert_classify(tp_graph *g, tp_bert *m, const tp_bert_input *in);
tp_tensor *tp_bert_class_loss(tp_graph *g, tp_bert *m,
                              const tp_bert_input *in, const int *labels);
int tp_bert_save(const tp_bert *m, const char *path, tp_error *error);
tp_bert *tp_bert_load(const char *path, tp_error *error);

/* <<bert: masking>> */
void tp_mlm_mask(int *tokens, int *labels, int batch, int length,
                 int vocab_size, tp_rng *rng);

/* <<bert: prose and code>> */
typedef struct tp_line {
    long start;
    int length;
    bool code;
} tp_line;

long tp_noweb_lines(const unsigned char *text, long n, tp_line *lines);

#endif
