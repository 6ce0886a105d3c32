/* Generated from book/216-bert.nw; edit the book, not this file. */
/* libFuzzer harness: any bytes, as a BERT checkpoint. */
#include "fuzz.h"
#include "tp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *seed = fuzz_seed_path("tiny.safetensors");
    if (seed != NULL) {
        tp_bert *m = tp_bert_new((tp_bert_config){20, 12, 1, 2, 8, 3});
        tp_rng rng = tp_rng_seeded(1, 0);
        tp_bert_init(m, &rng);
        tp_error error;
        tp_bert_save(m, seed, &error);
        tp_bert_free(m);
    }
    fuzz_seeds_written();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_error error;
    const char *path = fuzz_file("model.safetensors", data, size);
    tp_bert *m = tp_bert_load(path, &error);
    if (m != NULL)
        tp_bert_free(m);
    return 0;
}
