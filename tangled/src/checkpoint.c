/* Generated from book/168-checkpoints.nw; edit the book, not this file. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/checkpoint.h"

/* <<checkpoint: metadata entries>> */
void tp_metadata_set(tp_metadata *m, const char *key, const char *value)
{
    tp_check(strlen(key) < sizeof m->entries[0].key
                 && strlen(value) < sizeof m->entries[0].value,
             "metadata \"%s\" is too long", key);
    for (int i = 0; i < m->count; i++)
        if (strcmp(m->entries[i].key, key) == 0) {
            strcpy(m->entries[i].value, value);
            return;
        }
    tp_check(m->count < TP_METADATA_MAX, "more than %d metadata entries",
             TP_METADATA_MAX);
    strcpy(m->entries[m->count].key, key);
    strcpy(m->entries[m->count++].value, value);
}

const char *tp_metadata_get(const tp_metadata *m, const char *key)
{
    for (int i = 0; i < m->count; i++)
        if (strcmp(m->entries[i].key, key) == 0)
            return m->entries[i].value;
    return NULL;
}
/* <<checkpoint: metadata entries>> */
int tp_metadata_number(const tp_metadata *m, const char *path,
                       const char *key, long lo, long hi, long *value,
                       tp_error *error)
{
    const char *text = tp_metadata_get(m, key);
    if (text == NULL)
        return tp_error_set(error, "%s has no %s in its metadata", path, key);
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno != 0 || n < lo || n > hi)
        return tp_error_set(error, "%s: %s is \"%s\", not a whole number from "
                            "%ld to %ld", path, key, text, lo, hi);
    *value = n;
    return 0;
}

/* <<checkpoint: little-endian numbers>> */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoints are written for little-endian machines only"
#endif

static void put_u64(unsigned char out[8], uint64_t value)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(value >> (8 * i));
}

static uint64_t get_u64(const unsigned char in[8])
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value |= (uint64_t)in[i] << (8 * i);
    return value;
}

/* <<checkpoint: writing the header>> */
static char *header_json(const tp_param *tensors, int n,
                         const tp_metadata *metadata)
{
    cJSON *root = cJSON_CreateObject();
    if (metadata != NULL && metadata->count > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; i < metadata->count; i++)
            cJSON_AddStringToObject(m, metadata->entries[i].key,
                                    metadata->entries[i].value);
    }
    long offset = 0;
    for (int i = 0; i < n; i++) {
        const tp_tensor *t = tensors[i].tensor;
        long bytes = tp_tensor_count(t) * (long)sizeof(float);
        cJSON *entry = cJSON_AddObjectToObject(root, tensors[i].name);
        cJSON_AddStringToObject(entry, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(entry, "shape");
        for (int d = 0; d < t->shape.ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber(t->shape.dim[d]));
        cJSON *offsets = cJSON_AddArrayToObject(entry, "data_offsets");
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)(offset + bytes)));
        offset += bytes;
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}
/* <<checkpoint: writing the header>> */
static int write_all(FILE *f, const void *data, size_t bytes)
{
    return fwrite(data, 1, bytes, f) == bytes ? 0 : -1;
}

static int write_checkpoint(FILE *f, const char *header, const tp_param *t,
                            int n)
{
    size_t length = strlen(header), padded = (length + 7) / 8 * 8;
    unsigned char prefix[8];
    put_u64(prefix, padded);
    if (write_all(f, prefix, 8) || write_all(f, header, length)
        || write_all(f, "        ", padded - length))
        return -1;
    for (int i = 0; i < n; i++) {
        tp_check(tp_tensor_is_contiguous(t[i].tensor),
                 "checkpoint: tensor \"%s\" is not contiguous", t[i].name);
        if (write_all(f, t[i].tensor->data,
                      (size_t)tp_tensor_count(t[i].tensor) * sizeof(float)))
            return -1;
    }
    return 0;
}

/* <<checkpoint: saving atomically>> */
static int resolve_target(const char *path, char *target, size_t size,
                          tp_error *error)
{
    struct stat st;
    if (snprintf(target, size, "%s", path) >= (int)size)
        return tp_error_set(error, "the path %s is too long", path);
    for (int links = 0; lstat(target, &st) == 0 && S_ISLNK(st.st_mode);
         links++) {
        char to[PATH_MAX];
        ssize_t n = readlink(target, to, sizeof to - 1);
        if (n < 0 || links == 40)
            return tp_error_set(error, "cannot save %s: its links lead "
                                "nowhere", path);
        to[n] = '\0';
        const char *slash = strrchr(target, '/');
        int dir = to[0] == '/' || slash == NULL ? 0 : (int)(slash - target) + 1;
        char next[PATH_MAX];
        if (snprintf(next, sizeof next, "%.*s%s", dir, target, to)
            >= (int)sizeof next)
            return tp_error_set(error, "the path %s is too long", path);
        snprintf(target, size, "%s", next);
    }
    if (stat(target, &st) == 0 && !S_ISREG(st.st_mode))
        return tp_error_set(error, "cannot save %s: it is not a regular file",
                            path);
    return 0;
}
/* <<checkpoint: saving atomically>> */
static void remove_leftovers(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1,
             slash ? path : ".");
    DIR *d = opendir(slash == path ? "/" : dir);
    size_t n = strlen(base);
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, base, n) == 0
            && strncmp(e->d_name + n, ".tmp.", 5) == 0
            && strlen(e->d_name + n + 5) == 6) {
            char old[PATH_MAX + 256];
            snprintf(old, sizeof old, "%s/%s", slash == path ? "" : dir,
                     e->d_name);
            unlink(old);
        }
    if (d != NULL)
        closedir(d);
}
/* <<checkpoint: saving atomically>> */
int tp_save_file(const char *named, tp_file_writer *write,
                 const void *contents, tp_error *error)
{
    char path[PATH_MAX], temporary[PATH_MAX + 16];
    if (resolve_target(named, path, sizeof path, error) != 0)
        return -1;
    remove_leftovers(path);
    if (snprintf(temporary, sizeof temporary, "%s.tmp.XXXXXX", path)
        >= (int)sizeof temporary)
        return tp_error_set(error, "the path %s is too long", path);
    int fd = mkstemp(temporary);
    if (fd < 0)
        return tp_error_set(error, "cannot create a file beside %s: %s", path,
                            strerror(errno));
    fchmod(fd, 0644);  /* mkstemp makes the file private to its owner */
    FILE *f = fdopen(fd, "wb");
    errno = 0;
    int failed = f == NULL || write(f, contents) != 0 || fflush(f) != 0
                 || fsync(fd) != 0;
    int saved_errno = errno != 0 ? errno : EIO;
    failed |= f != NULL ? fclose(f) != 0 : close(fd) != 0;
    if (failed || rename(temporary, path) != 0) {
        saved_errno = failed ? saved_errno : errno;
        unlink(temporary);
        return tp_error_set(error, "cannot save %s: %s", path,
                            strerror(saved_errno));
    }
    return 0;
}
/* <<checkpoint: saving atomically>> */
typedef struct checkpoint_contents {
    const char *header;
    const tp_param *tensors;
    int n;
} checkpoint_contents;

static int write_contents(FILE *f, const void *contents)
{
    const checkpoint_contents *c = contents;
    return write_checkpoint(f, c->header, c->tensors, c->n);
}

int tp_safetensors_save(const char *path, const tp_param *tensors, int n,
                        const tp_metadata *metadata, tp_error *error)
{
    char *header = header_json(tensors, n, metadata);
    if (header == NULL)
        return tp_error_set(error, "cannot save %s: out of memory", path);
    checkpoint_contents contents = {header, tensors, n};
    int status = tp_save_file(path, write_contents, &contents, error);
    cJSON_free(header);
    return status;
}

/* <<checkpoint: reading the file>> */
typedef struct loaded {
    unsigned char *bytes;
    long size;
    cJSON *header;
    const unsigned char *data;  /* the third part */
    long data_size;
} loaded;

static int read_file(const char *path, loaded *file, tp_error *error)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return tp_error_set(error, "cannot open %s: %s", path,
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tp_error_set(error, "%s is not a regular file", path);
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        close(fd);
        return tp_error_set(error, "cannot read %s", path);
    }
    file->size = (long)st.st_size;
    file->bytes = malloc(file->size > 0 ? (size_t)file->size : 1);
    size_t got = file->bytes ? fread(file->bytes, 1, (size_t)file->size, f)
                             : 0;
    fclose(f);
    if (file->bytes == NULL || got != (size_t)file->size)
        return tp_error_set(error, "cannot read %s", path);
    return 0;
}
/* <<checkpoint: reading the file>> */
static int parse_header(const char *path, loaded *file, tp_error *error)
{
    if (file->size < 8)
        return tp_error_set(error, "%s is truncated: %ld bytes, not even a "
                            "header length", path, file->size);
    uint64_t length = get_u64(file->bytes);
    if (length > (uint64_t)(file->size - 8))
        return tp_error_set(error, "%s is truncated: its header says %llu "
                            "bytes but the file has %ld after the length",
                            path, (unsigned long long)length, file->size - 8);
    file->header = cJSON_ParseWithLength((const char *)file->bytes + 8,
                                         (size_t)length);
    if (!cJSON_IsObject(file->header))
        return tp_error_set(error, "%s: the header is not valid JSON", path);
    file->data = file->bytes + 8 + length;
    file->data_size = file->size - 8 - (long)length;
    return 0;
}

/* <<checkpoint: validating the header>> */
static int dtype_size(const char *dtype)
{
    static const struct { const char *name; int size; } types[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
        {"I32", 4}, {"I16", 2}, {"I8", 1}, {"U8", 1}, {"BOOL", 1},
        {"U16", 2}, {"U32", 4}, {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dtype, types[i].name) == 0)
            return types[i].size;
    return 0;
}
/* <<checkpoint: validating the header>> */
long tp_json_whole_number(const cJSON *v, long max)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0)
        || v->valuedouble > (double)max
        || v->valuedouble != (double)(long)v->valuedouble)
        return -1;
    return (long)v->valuedouble;
}
/* <<checkpoint: validating the header>> */
typedef struct entry {
    const char *name;
    long begin, end;
    tp_shape shape;
    const char *dtype;
} entry;

static int read_entry(const char *path, const cJSON *item, long data_size,
                      entry *e, tp_error *error)
{
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(item,
                                                            "data_offsets");
    e->name = item->string;
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape)
        || cJSON_GetArraySize(offsets) != 2)
        return tp_error_set(error, "%s: tensor \"%s\" lacks a dtype, a shape "
                            "or two data offsets", path, e->name);
    e->dtype = dtype->valuestring;
    int size = dtype_size(e->dtype);
    if (size == 0)
        return tp_error_set(error, "%s: tensor \"%s\" has the unknown dtype "
                            "\"%s\"", path, e->name, e->dtype);
    /* <<checkpoint: read the shape and the offsets of an entry>> */
    long count = 1;
    int ndim = cJSON_GetArraySize(shape);
    e->shape = (tp_shape){.ndim = ndim <= TP_MAX_DIMS ? ndim : 0};
    for (int d = 0; d < ndim; d++) {
        long n = tp_json_whole_number(cJSON_GetArrayItem(shape, d), INT_MAX);
        if (n < 0 || (n > 0 && count > data_size / n))
            return tp_error_set(error, "%s: tensor \"%s\" has a bad shape: its "
                                "dimensions must be whole numbers, with no more "
                                "elements than the file has bytes", path, e->name);
        count *= n;
        if (d < TP_MAX_DIMS)
            e->shape.dim[d] = (int)n;
    }
    e->begin = tp_json_whole_number(cJSON_GetArrayItem(offsets, 0), data_size);
    e->end = tp_json_whole_number(cJSON_GetArrayItem(offsets, 1), data_size);
    if (e->begin < 0 || e->end < e->begin)
        return tp_error_set(error, "%s: the data of tensor \"%s\" is out of "
                            "range: its offsets must be whole numbers from 0 to "
                            "%ld, the bytes of data, in order", path, e->name,
                            data_size);
    if (e->end - e->begin != count * size)
        return tp_error_set(error, "%s: tensor \"%s\" has %ld bytes for %ld "
                            "elements of %s", path, e->name, e->end - e->begin,
                            count, e->dtype);
    return 0;
}
/* <<checkpoint: validating the header>> */
static int compare_begin(const void *a, const void *b)
{
    long x = ((const entry *)a)->begin, y = ((const entry *)b)->begin;
    return (x > y) - (x < y);
}

static int check_overlaps(const char *path, entry *entries, int n,
                          tp_error *error)
{
    qsort(entries, (size_t)n, sizeof *entries, compare_begin);
    for (int i = 1; i < n; i++)
        if (entries[i].begin < entries[i - 1].end)
            return tp_error_set(error, "%s: tensors \"%s\" and \"%s\" overlap",
                                path, entries[i - 1].name, entries[i].name);
    return 0;
}
/* <<checkpoint: validating the header>> */
static int read_entries(const char *path, const loaded *file,
                        entry **entries, int *n, tp_metadata *metadata,
                        tp_error *error)
{
    *entries = calloc((size_t)cJSON_GetArraySize(file->header) + 1,
                      sizeof **entries);
    *n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, file->header) {
        if (strcmp(item->string, "__metadata__") == 0) {
            /* <<checkpoint: read the metadata>> */
            if (!cJSON_IsObject(item))
                return tp_error_set(error, "%s: __metadata__ is not an object", path);
            const cJSON *pair;
            cJSON_ArrayForEach(pair, item) {
                if (!cJSON_IsString(pair))
                    return tp_error_set(error, "%s: the metadata \"%s\" is not a string",
                                        path, pair->string);
                if (metadata != NULL
                    && strlen(pair->string) < sizeof metadata->entries[0].key
                    && strlen(pair->valuestring) < sizeof metadata->entries[0].value
                    && metadata->count < TP_METADATA_MAX)
                    tp_metadata_set(metadata, pair->string, pair->valuestring);
            }
            continue;
        }
        if (read_entry(path, item, file->data_size, &(*entries)[*n], error))
            return -1;
        (*n)++;
    }
    return check_overlaps(path, *entries, *n, error);
}

/* <<checkpoint: loading>> */
static const entry *find_entry(const entry *entries, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(entries[i].name, name) == 0)
            return &entries[i];
    return NULL;
}

static int match_request(const char *path, const tp_param *p, const entry *e,
                         tp_error *error)
{
    if (e == NULL)
        return tp_error_set(error, "%s: tensor \"%s\" is missing", path,
                            p->name);
    if (strcmp(e->dtype, "F32") != 0)
        return tp_error_set(error, "%s: tensor \"%s\" is %s; only F32 can be "
                            "loaded", path, p->name, e->dtype);
    if (!tp_shape_equal(e->shape, p->tensor->shape))
        return tp_error_set(error, "%s: tensor \"%s\" has shape %s in the "
                            "file but %s in the model", path, p->name,
                            tp_shape_str(e->shape).text,
                            tp_shape_str(p->tensor->shape).text);
    return 0;
}
/* <<checkpoint: loading>> */
static int check_finite(const char *path, const entry *e,
                        const unsigned char *data, tp_error *error)
{
    long count = (e->end - e->begin) / (long)sizeof(float);
    for (long i = 0; i < count; i++) {
        float x;
        memcpy(&x, data + e->begin + i * (long)sizeof x, sizeof x);
        if (!isfinite(x))
            return tp_error_set(error, "%s: tensor \"%s\" holds %g at element "
                                "%ld", path, e->name, (double)x, i);
    }
    return 0;
}
/* <<checkpoint: loading>> */
int tp_safetensors_load(const char *path, const tp_param *tensors, int n,
                        tp_metadata *metadata, tp_error *error)
{
    loaded file = {0};
    entry *entries = NULL;
    if (metadata != NULL)
        metadata->count = 0;  /* it receives this file's, nothing else */
    int count = 0, status = read_file(path, &file, error);
    if (status == 0)
        status = parse_header(path, &file, error);
    if (status == 0)
        status = read_entries(path, &file, &entries, &count, metadata, error);
    for (int i = 0; status == 0 && i < n; i++) {
        const entry *e = find_entry(entries, count, tensors[i].name);
        status = match_request(path, &tensors[i], e, error);
        if (status == 0)
            status = check_finite(path, e, file.data, error);
    }
    for (int i = 0; status == 0 && i < n; i++) {
        const entry *e = find_entry(entries, count, tensors[i].name);
        memcpy(tensors[i].tensor->data, file.data + e->begin,
               (size_t)(e->end - e->begin));
    }
    free(entries);
    cJSON_Delete(file.header);
    free(file.bytes);
    return status;
}
