/* Generated from book/168-checkpoints.nw; edit the book, not this file. */
/* libFuzzer harness: any bytes, as a checkpoint file. */
#include "fuzz.h"
#include "tp.h"

static tp_arena *arena;
static tp_params params;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    arena = tp_arena_new("fuzz");
    tp_param_new(&params, arena, "weight", tp_shape2(2, 3));
    tp_param_new(&params, arena, "bias", tp_shape1(3));
    tp_param_new(&params, arena, "h.0.scale", tp_shape3(1, 2, 1));
    tp_metadata metadata = {0};
    tp_metadata_set(&metadata, "n_layer", "2");
    tp_metadata_set(&metadata, "format", "pt");
    tp_error error;
    const char *seed = fuzz_seed_path("with-metadata.safetensors");
    if (seed != NULL)
        tp_safetensors_save(seed, params.items, params.count, &metadata,
                            &error);
    seed = fuzz_seed_path("plain.safetensors");
    if (seed != NULL)
        tp_safetensors_save(seed, params.items, params.count, NULL, &error);
    fuzz_seeds_written();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("model.safetensors", data, size);
    tp_metadata metadata;
    tp_error error;
    if (tp_safetensors_load(path, params.items, params.count, &metadata,
                            &error) == 0) {
        long layers;
        tp_metadata_number(&metadata, path, "n_layer", 1, 64, &layers,
                           &error);
    }
    return 0;
}
