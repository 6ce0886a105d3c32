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
enum { FUZZ_FILES = 8 };
static char fuzz_directory[256];
static char fuzz_paths[FUZZ_FILES][400];  /* each file's path, kept apart */

static inline void fuzz_remove_all(void)
{
    for (int i = 0; i < FUZZ_FILES && fuzz_paths[i][0] != '\0'; i++)
        unlink(fuzz_paths[i]);
    rmdir(fuzz_directory);
}

static inline void fuzz_make_directory(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(fuzz_directory, sizeof fuzz_directory, "%s/tp-fuzz-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(fuzz_directory) == NULL) {
        perror(fuzz_directory);
        abort();  /* the machine failed, not the reader: stop loudly */
    }
    atexit(fuzz_remove_all);
}

/* The path of `name` in the harness's directory; it stays valid. */
static inline const char *fuzz_path(const char *name)
{
    char path[400];
    if (fuzz_directory[0] == '\0')
        fuzz_make_directory();
    snprintf(path, sizeof path, "%s/%s", fuzz_directory, name);
    int i = 0;
    while (i < FUZZ_FILES && fuzz_paths[i][0] != '\0'
           && strcmp(fuzz_paths[i], path) != 0)
        i++;
    if (i == FUZZ_FILES)
        abort();  /* a harness with more files than it said */
    memcpy(fuzz_paths[i], path, sizeof path);
    return fuzz_paths[i];
}

static inline const char *fuzz_file(const char *name, const uint8_t *data,
                                    size_t size)
{
    const char *path = fuzz_path(name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size)
        || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

static inline void fuzz_remove(const char *name)
{
    unlink(fuzz_path(name));
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
