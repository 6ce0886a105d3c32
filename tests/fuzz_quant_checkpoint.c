/* Generated from book/340-compute.nw; edit the book, not this file. */
/* libFuzzer harness: any bytes, as a quantised GPT checkpoint. */
#include "fuzz.h"
#include "tp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (getenv("TP_FUZZ_SEEDS") != NULL) {
        tp_gpt *m = tp_gpt_new((tp_gpt_config){16, 8, 1, 2, 32,
                                               TP_POSITIONS_LEARNED});
        tp_rng rng = tp_rng_seeded(1, 0);
        tp_gpt_init(m, &rng);
        /* <<fuzz quant checkpoint: write a seed of each scheme>> */
        for (int s = TP_QUANT_INT8; s <= TP_QUANT_INT4; s++) {
            tp_error error;
            tp_quant_gpt *q = tp_quant_gpt_new(m, s, &error);
            const char *path = fuzz_path("model.safetensors");
            tp_quant_gpt_save(q, path, &error);
            FILE *f = fopen(path, "rb");
            static unsigned char bytes[1 << 17];
            size_t n = f != NULL ? fread(bytes, 1, sizeof bytes, f) : 0;
            if (f != NULL)
                fclose(f);
            fuzz_seed_bytes(s == TP_QUANT_INT8 ? "int8" : "int4", bytes, n);
            tp_quant_gpt_free(q);
        }
        tp_gpt_free(m);
    }
    fuzz_seeds_written();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_error error;
    const char *path = fuzz_file("model.safetensors", data, size);
    tp_quant_gpt_free(tp_quant_gpt_load(path, &error));
    return 0;
}
