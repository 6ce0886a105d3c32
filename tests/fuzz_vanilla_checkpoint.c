/* Generated from book/208-vanilla.nw; edit the book, not this file. */
/* libFuzzer harness: any bytes, as an encoder-decoder checkpoint. */
#include "fuzz.h"
#include "tp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *seed = fuzz_seed_path("tiny.safetensors");
    if (seed != NULL) {
        tp_vanilla *m = tp_vanilla_new((tp_vanilla_config){
            .source_vocab = 12, .target_vocab = 10, .n_positions = 16,
            .n_layer = 1, .n_head = 2, .n_embd = 8, .n_inner = 16});
        tp_rng rng = tp_rng_seeded(1, 0);
        tp_vanilla_init(m, &rng);
        tp_error error;
        tp_vanilla_save(m, seed, &error);
        tp_vanilla_free(m);
    }
    fuzz_seeds_written();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_error error;
    const char *path = fuzz_file("model.safetensors", data, size);
    tp_vanilla *m = tp_vanilla_load(path, &error);
    if (m != NULL)
        tp_vanilla_free(m);
    return 0;
}
