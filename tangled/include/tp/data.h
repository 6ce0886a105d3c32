/* Generated from book/170-data.nw; edit the book, not this file. */
#ifndef TP_DATA_H
#define TP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/check.h"
#include "tp/random.h"

/* <<data: texts>> */
typedef struct tp_corpus {
    const unsigned char *bytes;
    long size;
    unsigned char *owned;  /* what tp_corpus_free releases, or NULL */
} tp_corpus;

tp_corpus tp_corpus_book(void);
int tp_corpus_load(const char *path, tp_corpus *text, tp_error *error);
void tp_corpus_free(tp_corpus *text);
void tp_corpus_split(const tp_corpus *text, tp_corpus *train, tp_corpus *validation);

/* <<data: tokenisers>> */
typedef enum tp_tokenizer_kind { TP_BYTES, TP_CHARS, TP_GPT2 } tp_tokenizer_kind;

typedef struct tp_bpe tp_bpe;

typedef struct tp_tokenizer {
    tp_tokenizer_kind kind;
    int vocab_size;
    uint32_t *units;  /* TP_CHARS: the character of each id, sorted */
    tp_bpe *bpe;      /* TP_GPT2: the vocabulary and the merges */
} tp_tokenizer;

tp_tokenizer tp_tokenizer_bytes(void);
tp_tokenizer tp_tokenizer_chars(const tp_corpus *corpus);
int tp_tokenizer_gpt2(const char *vocab_json, const char *merges_txt,
                      tp_tokenizer *t, tp_error *error);
void tp_tokenizer_free(tp_tokenizer *t);
long tp_encode(const tp_tokenizer *t, const unsigned char *text, long n,
               int *ids);
long tp_decode(const tp_tokenizer *t, const int *ids, long n,
               unsigned char *out);
/* <<data: tokenisers>> */
long tp_gpt2_pieces(const unsigned char *text, long n, long *ends);
extern const char tp_unicode_version[];

enum { TP_TOKEN_MAX_BYTES = 256 };
/* <<data: tokenisers>> */
int tp_gpt2_learn(const tp_corpus *text, int merges, const char *dir,
                  tp_error *error);

/* <<data: string tables>> */
typedef struct tp_string_table {
    char **keys;
    int *values;
    int capacity, count;
} tp_string_table;

uint64_t tp_fnv1a(const void *bytes, size_t n);
int tp_string_get(const tp_string_table *t, const char *key, size_t n);
void tp_string_put(tp_string_table *t, const char *key, size_t n, int value);
void tp_string_table_free(tp_string_table *t);

/* <<data: synthetic tasks>> */
typedef enum tp_task {
    TP_TASK_COPY, TP_TASK_REVERSE, TP_TASK_SORT, TP_TASK_ADDITION,
    TP_TASK_ENGLISH, TP_TASK_RETRIEVAL, TP_TASKS
} tp_task;

typedef struct tp_example {
    char input[1024];
    char target[256];
} tp_example;

const char *tp_task_name(tp_task task);
int tp_task_longest(tp_task task);
void tp_task_example(tp_task task, int length, tp_rng *rng, tp_example *out);
int tp_number_to_english(long n, char *out, size_t size);
/* <<data: synthetic tasks>> */
typedef enum tp_shape_class {
    TP_CIRCLE, TP_SQUARE, TP_TRIANGLE, TP_CROSS, TP_RING, TP_SHAPE_CLASSES
} tp_shape_class;

const char *tp_shape_class_name(tp_shape_class c);
tp_shape_class tp_shape_image(int size, tp_rng *rng, float *pixels);

/* <<data: batches>> */
void tp_random_windows(const int *tokens, long n, int batch, int context,
                       tp_rng *rng, int *inputs, int *targets);
void tp_pad_batch(const int *const sequences[], const int lengths[],
                  int count, int width, int pad, int *out,
                  unsigned char *padding);
int tp_pack(const int *const sequences[], const int lengths[], int count,
            int width, int separator, int *out, int rows);
void tp_shuffle(int *items, int n, tp_rng *rng);

#endif
