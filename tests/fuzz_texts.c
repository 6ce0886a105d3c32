/* Generated from book/170-data.nw; edit the book, not this file. */
/* libFuzzer harness: any bytes, as a text to train on. */
#include "fuzz.h"
#include "tp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tp_corpus book = tp_corpus_book();
    fuzz_seed_bytes("book-start.txt", book.bytes, 2048);
    fuzz_seed_bytes("utf8.txt", "na\xc3\xafve caf\xc3\xa9 \xe2\x80\x94 \xff!", 19);
    fuzz_seeds_written();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_corpus text;
    tp_error error;
    const char *path = fuzz_file("text.txt", data, size);
    if (tp_corpus_load(path, &text, &error) != 0)
        return 0;
    tp_corpus train, validation;
    tp_corpus_split(&text, &train, &validation);
    if (train.size + validation.size != text.size)
        abort();
    tp_tokenizer chars = tp_tokenizer_chars(&text);
    int *ids = malloc((size_t)text.size * sizeof *ids);
    unsigned char *back = malloc((size_t)text.size);
    long n = tp_encode(&chars, text.bytes, text.size, ids);
    if (tp_decode(&chars, ids, n, back) != text.size
        || memcmp(back, text.bytes, (size_t)text.size) != 0)
        abort();  /* the character tokeniser lost or changed a byte */
    free(ids);
    free(back);
    tp_tokenizer_free(&chars);
    tp_corpus_free(&text);
    return 0;
}
