/* Generated from book/168-checkpoints.nw; edit the book, not this file. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "tp.h"

static char directory[] = "/tmp/tp-checkpoint-XXXXXX";
static char path[4200];

/* <<t-checkpoint: a small model>> */
typedef struct model {
    tp_arena *arena;
    tp_params params;
} model;

static model make_model(uint64_t seed)
{
    model m = {.arena = tp_arena_new("model")};
    tp_param_new(&m.params, m.arena, "weight", tp_shape2(2, 3));
    tp_param_new(&m.params, m.arena, "bias", tp_shape1(3));
    tp_rng rng = tp_rng_seeded(seed, 0);
    for (int i = 0; i < m.params.count; i++)
        tp_fill_normal(m.params.items[i].tensor, &rng, 0.0f, 1.0f);
    return m;
}

static void free_model(model *m)
{
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
}

/* <<t-checkpoint: the round trip>> */
static int files_in_directory(void)
{
    DIR *d = opendir(directory);
    int n = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

static void round_trip(void)
{
    model saved = make_model(1), restored = make_model(2);
    tp_metadata meta = {0}, read_back = {0};
    tp_metadata_set(&meta, "n_layer", "4");
    tp_error error = {""};
    is(tp_safetensors_save(path, saved.params.items, 2, &meta, &error), 0,
       "a model saves");
    is(files_in_directory(), 1, "leaving one file and no temporary one");
    is(tp_safetensors_load(path, restored.params.items, 2, &read_back,
                           &error), 0, "and loads into another model");
    ok(memcmp(saved.params.items[0].tensor->data,
              restored.params.items[0].tensor->data, 6 * sizeof(float)) == 0
           && memcmp(saved.params.items[1].tensor->data,
                     restored.params.items[1].tensor->data,
                     3 * sizeof(float)) == 0,
       "every number comes back bit for bit");
    is_str(tp_metadata_get(&read_back, "n_layer"), "4",
           "and so does the metadata");
    tp_metadata full = {0};  /* a list already full of other entries */
    for (int i = 0; i < TP_METADATA_MAX; i++) {
        char key[16];
        snprintf(key, sizeof key, "old-%d", i);
        tp_metadata_set(&full, key, "stale");
    }
    tp_safetensors_load(path, restored.params.items, 2, &full, &error);
    ok(full.count == 1 && tp_metadata_get(&full, "old-0") == NULL
           && tp_metadata_get(&full, "n_layer") != NULL,
       "loading replaces what the metadata list held before");
    /* <<t-checkpoint: the file has the documented layout>> */
    FILE *f = fopen(path, "rb");
    unsigned char bytes[512];
    size_t size = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    unsigned long long length = 0;
    for (int i = 7; i >= 0; i--)
        length = length << 8 | bytes[i];
    ok(length % 8 == 0 && bytes[8] == '{' && size == 8 + length + 9 * 4,
       "the file is a length, a padded JSON header, and 36 bytes of data");
    ok(memcmp(bytes + 8 + length, saved.params.items[0].tensor->data, 24) == 0,
       "the weight's data comes first, as its offsets say");
    ok(strstr((char *)bytes + 8, "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                                 "\"data_offsets\":[0,24]}") != NULL,
       "the header describes the weight as the chapter shows");
    free_model(&saved);
    free_model(&restored);
}

/* <<t-checkpoint: bad files>> */
static void write_file(const char *header, int data_bytes)
{
    FILE *f = fopen(path, "wb");
    unsigned char length[8] = {0};
    size_t n = strlen(header);
    for (int i = 0; i < 8; i++)
        length[i] = (unsigned char)(n >> (8 * i));
    fwrite(length, 1, 8, f);
    fwrite(header, 1, n, f);
    for (int i = 0; i < data_bytes; i++)
        fputc(0, f);
    fclose(f);
}

#define GOOD_BIAS "\"bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}"
#define GOOD_WEIGHT "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"
/* <<t-checkpoint: bad files>> */
static void refused(const char *header, int data_bytes, const char *message,
                    const char *what)
{
    model m = make_model(3);
    float before[6];
    memcpy(before, m.params.items[0].tensor->data, sizeof before);
    if (header != NULL)
        write_file(header, data_bytes);
    tp_error error = {""};
    int status = tp_safetensors_load(path, m.params.items, 2, NULL, &error);
    if (!ok(status == -1 && strstr(error.message, message) != NULL, "%s", what))
        diag("the message was: %s", error.message);
    ok(memcmp(before, m.params.items[0].tensor->data, sizeof before) == 0,
       "and the model is unchanged");
    free_model(&m);
}
/* <<t-checkpoint: bad files>> */
static void bad_files(void)
{
    refused("{\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
            "\"data_offsets\":[0,24]}," GOOD_BIAS "}", 20,
            "is out of range", "data that runs past the end is refused");
    refused("{\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],", 36,
            "not valid JSON", "a header that is not JSON is refused");
    refused("{\"weight\":{\"dtype\":\"F99\",\"shape\":[2,3],"
            "\"data_offsets\":[0,24]}," GOOD_BIAS "}", 36,
            "unknown dtype \"F99\"", "an unknown dtype is named");
    refused("{\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
            "\"data_offsets\":[0,24]},\"bias\":{\"dtype\":\"F32\","
            "\"shape\":[3],\"data_offsets\":[12,24]}}", 36,
            "overlap", "two tensors on the same bytes are refused");
    refused("{\"weight\":{\"dtype\":\"F32\",\"shape\":[3,2],"
            "\"data_offsets\":[0,24]}," GOOD_BIAS "}", 36,
            "shape [3, 2] in the file but [2, 3] in the model",
            "a shape that differs from the model's is refused");
    refused("{" GOOD_BIAS "}", 36, "tensor \"weight\" is missing",
            "a missing tensor is named");
    /* <<t-checkpoint: headers of the wrong types and sizes>> */
    refused("{\"__metadata__\":[\"pt\"]," GOOD_WEIGHT "," GOOD_BIAS "}", 36,
            "__metadata__ is not an object", "metadata that is not an object is "
            "refused");
    refused("{\"__metadata__\":{\"format\":1}," GOOD_WEIGHT "," GOOD_BIAS "}", 36,
            "the metadata \"format\" is not a string",
            "a metadata value that is not a string is named");
    refused("{\"weight\":{\"dtype\":\"F32\",\"shape\":[2.5,3],"
            "\"data_offsets\":[0,24]}," GOOD_BIAS "}", 36, "has a bad shape",
            "a fractional dimension is refused");
    refused("{\"weight\":{\"dtype\":\"F32\",\"shape\":[1e12,1e12,1e12],"
            "\"data_offsets\":[0,24]}," GOOD_BIAS "}", 36, "has a bad shape",
            "dimensions whose product overflows are refused");
    refused("{\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
            "\"data_offsets\":[0.5,24]}," GOOD_BIAS "}", 36, "is out of range",
            "a fractional offset is refused");
    refused("{\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
            "\"data_offsets\":[1e300,1e301]}," GOOD_BIAS "}", 36,
            "is out of range", "an offset beyond any integer is refused");
    /* <<t-checkpoint: damaged files>> */
    model m = make_model(4);
    tp_safetensors_save(path, m.params.items, 2, NULL, NULL);
    free_model(&m);
    if (truncate(path, 40) != 0)
        bail_out("cannot truncate %s", path);
    refused(NULL, 0, "truncated", "a file cut inside its header is refused");
    if (truncate(path, 5) != 0)
        bail_out("cannot truncate %s", path);
    refused(NULL, 0, "truncated", "a file shorter than a length is refused");
    unlink(path);
    refused(NULL, 0, "cannot open", "a missing file is refused");
}

/* <<t-checkpoint: special files>> */
static void not_finite(void)
{
    model m = make_model(6);
    tp_safetensors_save(path, m.params.items, 2, NULL, NULL);
    free_model(&m);
    FILE *f = fopen(path, "r+b");
    unsigned char length[8];
    if (f == NULL || fread(length, 1, 8, f) != 8)
        bail_out("cannot read %s", path);
    long header = 0;
    for (int i = 7; i >= 0; i--)
        header = header << 8 | length[i];
    float infinity = INFINITY;
    fseek(f, 8 + header + 2 * (long)sizeof infinity, SEEK_SET);
    fwrite(&infinity, sizeof infinity, 1, f);
    fclose(f);
    refused(NULL, 0, "holds inf at element 2", "an infinite weight is named, "
            "with its tensor and its place");
}

static void special_files(void)
{
    char fifo[4300], link[4300], target[4300];
    snprintf(fifo, sizeof fifo, "%s/fifo", directory);
    snprintf(link, sizeof link, "%s/link.safetensors", directory);
    snprintf(target, sizeof target, "%s/target.safetensors", directory);
    if (mkfifo(fifo, 0600) != 0 || symlink("target.safetensors", link) != 0)
        bail_out("cannot make a FIFO and a link in %s", directory);
    model m = make_model(5);
    tp_error error = {""};
    ok(tp_safetensors_load(fifo, m.params.items, 2, NULL, &error) == -1
           && strstr(error.message, "not a regular file") != NULL,
       "a FIFO is refused at once, not waited on");
    struct stat st;
    ok(tp_safetensors_save(fifo, m.params.items, 2, NULL, &error) == -1
           && strstr(error.message, "not a regular file") != NULL
           && lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode),
       "saving onto a FIFO is refused, and the FIFO stays");
    char leftover[4400];
    snprintf(leftover, sizeof leftover, "%s.tmp.AbC123", target);
    FILE *stale = fopen(leftover, "w");
    if (stale != NULL)
        fclose(stale);
    ok(tp_safetensors_save(link, m.params.items, 2, NULL, &error) == 0
           && access(leftover, F_OK) != 0,
       "a save removes what a killed save of the same file left behind");
    ok(tp_safetensors_save(link, m.params.items, 2, NULL, &error) == 0
           && lstat(link, &st) == 0 && S_ISLNK(st.st_mode)
           && stat(target, &st) == 0 && S_ISREG(st.st_mode)
           && tp_safetensors_load(link, m.params.items, 2, NULL, &error) == 0,
       "saving through a link writes its target and keeps the link");
    unlink(fifo), unlink(link), unlink(target);
    free_model(&m);
}

int main(void)
{
    if (mkdtemp(directory) == NULL)
        bail_out("cannot make a temporary directory");
    snprintf(path, sizeof path, "%s/model.safetensors", directory);
    round_trip();
    bad_files();
    not_finite();
    special_files();
    unlink(path);
    rmdir(directory);
    return done_testing();
}
