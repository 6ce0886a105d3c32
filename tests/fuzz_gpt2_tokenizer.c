/* Generated from book/170-data.nw; edit the book, not this file. */
/* libFuzzer harness: any bytes, as vocab.json, merges.txt and a text. */
#include "fuzz.h"
#include "tp.h"

static int printable(int b)  /* the bytes GPT-2 writes as themselves */
{
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
}

static void write_seed(void)
{
    char seed[8192];
    int used = snprintf(seed, sizeof seed, "{");
    for (int b = 0, extra = 0; b < 256; b++)
        used += snprintf(seed + used, sizeof seed - (size_t)used,
                         "\"\\u%04x\": %d, ",
                         printable(b) ? b : 256 + extra++, b);
    used += snprintf(seed + used, sizeof seed - (size_t)used,
                     "\"he\": 256, \"ll\": 257, \"hell\": 258, "
                     "\"\\u0120w\": 259}");
    seed[used++] = '\0';
    used += snprintf(seed + used, sizeof seed - (size_t)used,
                     "#version: 0.2\nh e\nl l\nhe ll\n\xc4\xa0 w\n");
    seed[used++] = '\0';
    used += snprintf(seed + used, sizeof seed - (size_t)used,
                     "hello world, it's {x});\n");
    fuzz_seed_bytes("hello.bin", seed, (size_t)used);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    write_seed();
    fuzz_seeds_written();
    return 0;
}

/* The next part of the input, up to a zero byte or the end. */
static size_t part(const uint8_t *data, size_t size, size_t *at)
{
    size_t start = *at;
    const uint8_t *zero = memchr(data + start, 0, size - start);
    size_t end = zero ? (size_t)(zero - data) : size;
    *at = zero ? end + 1 : size;
    return end - start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0, vocab_at = at, vocab = part(data, size, &at);
    size_t merges_at = at, merges = part(data, size, &at);
    const uint8_t *text = data + at;
    long n = (long)(size - at);
    tp_tokenizer t;
    tp_error error;
    const char *vocab_path = fuzz_file("vocab.json", data + vocab_at, vocab);
    const char *merges_path = fuzz_file("merges.txt", data + merges_at,
                                        merges);
    if (tp_tokenizer_gpt2(vocab_path, merges_path, &t, &error) != 0)
        return 0;
    int *ids = malloc((size_t)(n + 1) * sizeof *ids);
    unsigned char *back = malloc((size_t)n + 1);
    long count = tp_encode(&t, text, n, ids);
    if (tp_decode(&t, ids, count, back) != n
        || memcmp(back, text, (size_t)n) != 0)
        abort();  /* the encoding lost or changed a byte */
    free(ids);
    free(back);
    tp_tokenizer_free(&t);
    return 0;
}
