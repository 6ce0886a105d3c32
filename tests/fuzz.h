/* Generated from book/110-testing.nw; edit the book, not this file. */
/* What every fuzz harness shares: its input as files, and its seeds. */
#ifndef TP_TESTS_FUZZ_H
#define TP_TESTS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* <<fuzz: the input as a file>> */
enum { FUZZ_SLOTS = 4 };
static char fuzz_paths[FUZZ_SLOTS][256];

static inline void fuzz_remove_files(void)
{
    for (int i = 0; i < FUZZ_SLOTS; i++)
        if (fuzz_paths[i][0] != '\0')
            unlink(fuzz_paths[i]);
}

static inline const char *fuzz_file(int slot, const uint8_t *data,
                                    size_t size)
{
    static int removal_registered;
    char *path = fuzz_paths[slot];
    if (path[0] == '\0') {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof fuzz_paths[slot], "%s/tp-fuzz-%ld-%d",
                 dir != NULL && dir[0] != '\0' ? dir : "/tmp", (long)getpid(),
                 slot);
        if (!removal_registered++)
            atexit(fuzz_remove_files);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size)
        || fclose(f) != 0) {
        perror(path);
        abort();  /* the machine failed, not the reader: stop loudly */
    }
    return path;
}

/* <<fuzz: seeds>> */
static inline const char *fuzz_seed_path(const char *name)
{
    static char path[4096];
    const char *dir = getenv("TP_FUZZ_SEEDS");
    if (dir == NULL)
        return NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static inline void fuzz_seed_bytes(const char *name, const void *bytes,
                                   size_t size)
{
    const char *path = fuzz_seed_path(name);
    FILE *f = path ? fopen(path, "wb") : NULL;
    if (f == NULL)
        return;
    fwrite(bytes, 1, size, f);
    fclose(f);
}

static inline void fuzz_seeds_written(void)
{
    if (getenv("TP_FUZZ_SEEDS") != NULL)
        exit(0);
}

#endif
