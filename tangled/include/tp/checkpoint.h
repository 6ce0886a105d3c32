/* Generated from book/168-checkpoints.nw; edit the book, not this file. */
#ifndef TP_CHECKPOINT_H
#define TP_CHECKPOINT_H

#include <stdio.h>

#include "tp/check.h"
#include "tp/train.h"

/* <<checkpoint: metadata>> */
enum { TP_METADATA_MAX = 32 };

typedef struct tp_metadata {
    int count;
    struct {
        char key[64];
        char value[256];
    } entries[TP_METADATA_MAX];
} tp_metadata;

void tp_metadata_set(tp_metadata *m, const char *key, const char *value);
const char *tp_metadata_get(const tp_metadata *m, const char *key);
int tp_metadata_number(const tp_metadata *m, const char *path,
                       const char *key, long lo, long hi, long *value,
                       tp_error *error);

int tp_safetensors_save(const char *path, const tp_param *tensors, int n,
                        const tp_metadata *metadata, tp_error *error);
int tp_safetensors_load(const char *path, const tp_param *tensors, int n,
                        tp_metadata *metadata, tp_error *error);

typedef int tp_file_writer(FILE *f, const void *contents);
int tp_save_file(const char *path, tp_file_writer *write,
                 const void *contents, tp_error *error);

struct cJSON;
long tp_json_whole_number(const struct cJSON *v, long max);

#endif
