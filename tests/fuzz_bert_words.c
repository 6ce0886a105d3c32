/* Generated from book/216-bert.nw; edit the book, not this file. */
/* libFuzzer harness: any bytes, as BERT's vocabulary file. */
#include "fuzz.h"
#include "tp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *seed = fuzz_seed_path("words.txt");
    if (seed != NULL) {
        tp_corpus book = tp_corpus_book();
        tp_words w;
        tp_words_build(book.bytes, 1 << 16, 200, &w);
        tp_error error;
        tp_words_save(&w, seed, &error);
        tp_words_free(&w);
    }
    fuzz_seeds_written();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_words w;
    tp_error error;
    if (tp_words_load(fuzz_file("words.txt", data, size), &w, &error) != 0)
        return 0;
    tp_corpus book = tp_corpus_book();
    long n = 4096;
    int *ids = malloc((size_t)n * sizeof *ids);
    long count = tp_words_encode(&w, book.bytes, n, ids);
    for (long i = 0; i < count; i++)
        if (ids[i] < 0 || ids[i] >= w.count)
            abort();  /* an id the vocabulary does not have */
    free(ids);
    tp_words_free(&w);
    return 0;
}
