/* Generated from book/232-vit.nw; edit the book, not this file. */
/* libFuzzer harness: any bytes, as a Vision Transformer checkpoint. */
#include "fuzz.h"
#include "tp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *seed = fuzz_seed_path("tiny.safetensors");
    if (seed != NULL) {
        tp_vit *m = tp_vit_new((tp_vit_config){8, 4, 3, 1, 2, 8});
        tp_rng rng = tp_rng_seeded(1, 0);
        tp_vit_init(m, &rng);
        tp_error error;
        tp_vit_save(m, seed, &error);
        tp_vit_free(m);
    }
    fuzz_seeds_written();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_error error;
    const char *path = fuzz_file("model.safetensors", data, size);
    tp_vit *m = tp_vit_load(path, &error);
    if (m != NULL)
        tp_vit_free(m);
    return 0;
}
