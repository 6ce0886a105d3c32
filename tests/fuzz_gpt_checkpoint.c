/* Generated from book/224-gpt.nw; edit the book, not this file. */
/* libFuzzer harness: any bytes, as a GPT checkpoint and its config.json. */
#include "fuzz.h"
#include "tp.h"

static const char config_json[] = "{\"vocab_size\": 16, \"n_positions\": 8, "
                                  "\"n_layer\": 1, \"n_head\": 2, "
                                  "\"n_embd\": 8}";

/* A seed: the length of config.json (or ~0: none), it, the checkpoint. */
static void write_seed(const char *name, const char *checkpoint,
                       const char *json)
{
    FILE *in = fopen(checkpoint, "rb");
    static unsigned char bytes[1 << 16];
    uint32_t length = json ? (uint32_t)strlen(json) : UINT32_MAX;
    memcpy(bytes, &length, 4);
    size_t used = 4;
    if (json != NULL) {
        memcpy(bytes + used, json, length);
        used += length;
    }
    used += in ? fread(bytes + used, 1, sizeof bytes - used, in) : 0;
    if (in != NULL)
        fclose(in);
    fuzz_seed_bytes(name, bytes, used);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (getenv("TP_FUZZ_SEEDS") != NULL) {
        tp_gpt *m = tp_gpt_new((tp_gpt_config){16, 8, 1, 2, 8, TP_POSITIONS_LEARNED});
        tp_rng rng = tp_rng_seeded(1, 0);
        tp_gpt_init(m, &rng);
        tp_error error;
        const char *path = fuzz_path("model.safetensors");
        tp_gpt_save(m, path, NULL, 0, NULL, &error);
        write_seed("with-metadata", path, NULL);
        tp_safetensors_save(path, m->params.items, m->params.count, NULL,
                            &error);
        write_seed("with-config-json", path, config_json);
        tp_gpt_free(m);
    }
    fuzz_seeds_written();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t length = UINT32_MAX;
    if (size >= 4)
        memcpy(&length, data, 4);
    size_t at = size >= 4 ? 4 : size;
    if (length <= size - at) {
        fuzz_file("config.json", data + at, length);
        at += length;
    } else {
        fuzz_remove("config.json");
    }
    tp_error error;
    const char *path = fuzz_file("model.safetensors", data + at, size - at);
    tp_gpt *m = tp_gpt_load(path, NULL, &error);
    if (m != NULL)
        tp_gpt_free(m);
    return 0;
}
