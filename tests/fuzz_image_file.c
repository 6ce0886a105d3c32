/* Generated from book/330-data-hunger.nw; edit the book, not this file. */
/* libFuzzer harness: any bytes, as a file of labelled images. */
#include "fuzz.h"
#include "tp.h"

static void write_seed(const char *name, char separator)
{
    const char *path = fuzz_seed_path(name);
    FILE *f = path != NULL ? fopen(path, "w") : NULL;
    if (f == NULL)
        return;
    tp_image_set shapes;
    tp_image_set_shapes(&shapes, 10, 8, 1);
    for (int i = 0; i < shapes.count; i++) {
        fprintf(f, "%d", shapes.labels[i]);
        for (int j = 0; j < 64; j++)
            fprintf(f, "%c%.9g", separator, shapes.pixels[i * 64 + j]);
        fputc('\n', f);
    }
    fclose(f);
    tp_image_set_free(&shapes);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    write_seed("shapes-spaces.txt", ' ');
    write_seed("shapes-commas.txt", ',');
    fuzz_seeds_written();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_image_set set;
    tp_error error;
    const char *path = fuzz_file("images.txt", data, size);
    if (tp_image_set_read(path, &set, &error) != 0)
        return 0;
    if (set.count < 10 || set.size < 8 || set.size > 256)
        abort();  /* a set the reader should have refused */
    for (int i = 0; i < set.count; i++)
        if (set.labels[i] < 0 || set.labels[i] >= set.classes)
            abort();
    tp_image_set_free(&set);
    return 0;
}
