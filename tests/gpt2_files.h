/* Generated from book/170-data.nw; edit the book, not this file. */
#ifndef TP_TEST_GPT2_FILES_H
#define TP_TEST_GPT2_FILES_H

#include <stdbool.h>
#include <stdio.h>
#include <wchar.h>

static inline bool gpt2_printable(int b)
{
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
}

static inline int byte_id(int b)  /* GPT-2 numbers the printable bytes first */
{
    int id = 0;
    for (int c = 0; c < b; c++)
        id += gpt2_printable(c) == gpt2_printable(b);
    return gpt2_printable(b) ? id : 188 + id;
}

/* vocab.json and merges.txt in dir: the byte tokens (all, or all but z's),
   then more_tokens (JSON members, "token": id, ...), and the merges. Needs
   a UTF-8 locale for the characters GPT-2 gives the unprintable bytes. */
static inline void write_gpt2_vocabulary(const char *dir, bool all_bytes,
                                         const char *more_tokens,
                                         const char *merges)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{", f);
    for (int b = 0, extra = 0; b < 256; b++) {
        unsigned unit = gpt2_printable(b) ? (unsigned)b : 256u + (unsigned)extra++;
        if (!all_bytes && b == 'z') {  /* a token, but not the byte's */
            fprintf(f, "\"zz\": %d, ", byte_id(b));
            continue;
        }
        fprintf(f, "\"%s%lc\": %d, ", b == '"' || b == '\\' ? "\\" : "",
                (wint_t)unit, byte_id(b));
    }
    fprintf(f, "%s}", more_tokens);
    fclose(f);
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    f = fopen(path, "w");
    fprintf(f, "#version: 0.2\n%s", merges);
    fclose(f);
}

#endif
