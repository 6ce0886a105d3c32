/* Generated from book/170-data.nw; edit the book, not this file. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/data.h"
#include "tp/exercise.h"

/* <<data: reading texts>> */
extern const unsigned char tp_book_corpus[];
extern const size_t tp_book_corpus_size;

tp_corpus tp_corpus_book(void)
{
    return (tp_corpus){tp_book_corpus, (long)tp_book_corpus_size, NULL};
}

void tp_corpus_free(tp_corpus *text)
{
    free(text->owned);
    *text = (tp_corpus){0};
}
/* <<data: reading texts>> */
enum { CORPUS_MAX_BYTES = 1L << 30 };

static FILE *open_regular(const char *path, long size, tp_error *error)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    struct stat st;
    if (fd < 0) {
        tp_error_set(error, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    FILE *f = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        tp_error_set(error, "cannot read %s: it is not a regular file", path);
    else if (st.st_size > CORPUS_MAX_BYTES - size)
        tp_error_set(error, "%s: the text is larger than %ld bytes", path,
                     (long)CORPUS_MAX_BYTES);
    else if ((f = fdopen(fd, "rb")) == NULL)
        tp_error_set(error, "cannot read %s: %s", path, strerror(errno));
    if (f == NULL)
        close(fd);
    return f;
}
/* <<data: reading texts>> */
static int append_file(const char *path, unsigned char **buffer, long *size,
                       tp_error *error)
{
    FILE *f = open_regular(path, *size, error);
    if (f == NULL)
        return -1;
    unsigned char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if ((long)n > CORPUS_MAX_BYTES - *size) {
            fclose(f);
            return tp_error_set(error, "%s: the text is larger than %ld bytes",
                                path, (long)CORPUS_MAX_BYTES);
        }
        unsigned char *grown = realloc(*buffer, (size_t)*size + n);
        if (grown == NULL) {
            fclose(f);
            return tp_error_set(error, "%s: out of memory", path);
        }
        memcpy(grown + *size, chunk, n);
        *buffer = grown, *size += (long)n;
    }
    int failed = ferror(f), reason = errno;
    fclose(f);
    return failed ? tp_error_set(error, "cannot read %s: %s", path,
                                 strerror(reason))
                  : 0;
}
/* <<data: reading texts>> */
static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int append_directory(const char *path, unsigned char **buffer,
                            long *size, tp_error *error)
{
    DIR *dir = opendir(path);
    if (dir == NULL)
        return tp_error_set(error, "cannot read %s: %s", path, strerror(errno));
    char *names[4096];
    int n = 0, status = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL && n < 4096;)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(dir);
    qsort(names, (size_t)n, sizeof *names, compare_names);
    for (int i = 0; i < n; i++) {
        char file[4096];
        struct stat st;
        snprintf(file, sizeof file, "%s/%s", path, names[i]);
        if (status == 0 && stat(file, &st) == 0 && S_ISREG(st.st_mode))
            status = append_file(file, buffer, size, error);
        free(names[i]);
    }
    return status;
}
/* <<data: reading texts>> */
int tp_corpus_load(const char *path, tp_corpus *text, tp_error *error)
{
    struct stat st;
    *text = (tp_corpus){0};
    if (stat(path, &st) != 0)
        return tp_error_set(error, "cannot read %s: %s", path, strerror(errno));
    unsigned char *buffer = NULL;
    long size = 0;
    int status = S_ISDIR(st.st_mode)
                     ? append_directory(path, &buffer, &size, error)
                     : append_file(path, &buffer, &size, error);
    if (status == 0 && size == 0)
        status = tp_error_set(error, "%s is empty: there is no text to use",
                              path);
    if (status == 0 && memchr(buffer, 0, (size_t)size) != NULL)
        status = tp_error_set(error, "%s looks like a binary file (it "
                              "contains zero bytes), not text", path);
    if (status != 0) {
        free(buffer);
        return -1;
    }
    *text = (tp_corpus){buffer, size, buffer};
    return 0;
}
/* <<data: reading texts>> */
void tp_corpus_split(const tp_corpus *text, tp_corpus *train, tp_corpus *validation)
{
    long cut = text->size - text->size / 10;
    for (long i = cut; i < text->size && i < cut + 100; i++)
        if (text->bytes[i] == '\n') {
            cut = i + 1;
            break;
        }
    *train = (tp_corpus){text->bytes, cut, NULL};
    *validation = (tp_corpus){text->bytes + cut, text->size - cut, NULL};
}

/* <<data: UTF-8>> */
enum { RAW_BYTE = 1 << 21 };

static uint32_t next_unit(const unsigned char *s, long n, int *length)
{
    int need = s[0] < 0x80 ? 0 : (s[0] & 0xE0) == 0xC0 ? 1
               : (s[0] & 0xF0) == 0xE0 ? 2 : (s[0] & 0xF8) == 0xF0 ? 3 : -1;
    uint32_t c = need == 0 ? s[0] : need == 1 ? s[0] & 0x1Fu
                 : need == 2 ? s[0] & 0x0Fu : s[0] & 0x07u;
    bool valid = need >= 0 && need < n;
    for (int i = 1; valid && i <= need; i++) {
        valid = (s[i] & 0xC0) == 0x80;
        c = c << 6 | (s[i] & 0x3Fu);
    }
    static const uint32_t least[4] = {0, 0x80, 0x800, 0x10000};
    valid = valid && c >= least[need] && c <= 0x10FFFF
            && !(c >= 0xD800 && c <= 0xDFFF);
    *length = valid ? need + 1 : 1;
    return valid ? c : (uint32_t)RAW_BYTE + s[0];
}
/* <<data: UTF-8>> */
static int write_unit(uint32_t unit, unsigned char *out)
{
    if (unit >= RAW_BYTE)
        return out[0] = (unsigned char)(unit - RAW_BYTE), 1;
    if (unit < 0x80)
        return out[0] = (unsigned char)unit, 1;
    if (unit < 0x800)
        return out[0] = (unsigned char)(0xC0 | unit >> 6),
               out[1] = (unsigned char)(0x80 | (unit & 0x3F)), 2;
    if (unit < 0x10000)
        return out[0] = (unsigned char)(0xE0 | unit >> 12),
               out[1] = (unsigned char)(0x80 | ((unit >> 6) & 0x3F)),
               out[2] = (unsigned char)(0x80 | (unit & 0x3F)), 3;
    return out[0] = (unsigned char)(0xF0 | unit >> 18),
           out[1] = (unsigned char)(0x80 | ((unit >> 12) & 0x3F)),
           out[2] = (unsigned char)(0x80 | ((unit >> 6) & 0x3F)),
           out[3] = (unsigned char)(0x80 | (unit & 0x3F)), 4;
}

/* <<data: byte-pair encoding>> */
uint64_t tp_fnv1a(const void *bytes, size_t n)
{
    const unsigned char *s = bytes;
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}
/* <<data: byte-pair encoding>> */
static int table_slot(const tp_string_table *t, const char *key, size_t n)
{
    int i = (int)(tp_fnv1a(key, n) & (uint64_t)(t->capacity - 1));
    while (t->keys[i] != NULL
           && !(strlen(t->keys[i]) == n && memcmp(t->keys[i], key, n) == 0))
        i = (i + 1) & (t->capacity - 1);
    return i;
}

int tp_string_get(const tp_string_table *t, const char *key, size_t n)
{
    if (t->capacity == 0)
        return -1;
    int i = table_slot(t, key, n);
    return t->keys[i] != NULL ? t->values[i] : -1;
}
/* <<data: byte-pair encoding>> */
void tp_string_put(tp_string_table *t, const char *key, size_t n, int value)
{
    if (2 * (t->count + 1) > t->capacity) {
        int capacity = t->capacity ? 2 * t->capacity : 1024;
        tp_string_table bigger = {calloc((size_t)capacity, sizeof(char *)),
                                  calloc((size_t)capacity, sizeof(int)),
                                  capacity, 0};
        tp_check(bigger.keys != NULL && bigger.values != NULL, "out of memory");
        for (int i = 0; i < t->capacity; i++)
            if (t->keys[i] != NULL) {
                int j = table_slot(&bigger, t->keys[i], strlen(t->keys[i]));
                bigger.keys[j] = t->keys[i], bigger.values[j] = t->values[i];
                bigger.count++;
            }
        free(t->keys), free(t->values);
        *t = bigger;
    }
    int i = table_slot(t, key, n);
    if (t->keys[i] == NULL) {
        t->keys[i] = strndup(key, n);
        t->count++;
    }
    t->values[i] = value;
}
/* <<data: byte-pair encoding>> */
void tp_string_table_free(tp_string_table *t)
{
    for (int i = 0; i < t->capacity; i++)
        free(t->keys[i]);
    free(t->keys), free(t->values);
    *t = (tp_string_table){0};
}
/* <<data: byte-pair encoding>> */
typedef struct pair_entry {
    int left, right;  /* the pair of ids; left < 0 marks an empty slot */
    int value;        /* the rank of a merge, or the count of a pair */
    int joined;       /* the id of the merged token */
} pair_entry;

typedef struct pair_table {
    pair_entry *slots;
    int capacity, count;
} pair_table;
/* <<data: byte-pair encoding>> */
static pair_entry *pair_slot(const pair_table *t, int left, int right)
{
    const int pair[2] = {left, right};
    int i = (int)(tp_fnv1a(pair, sizeof pair) & (uint64_t)(t->capacity - 1));
    while (t->slots[i].left >= 0
           && !(t->slots[i].left == left && t->slots[i].right == right))
        i = (i + 1) & (t->capacity - 1);
    return &t->slots[i];
}

static const pair_entry *pair_get(const pair_table *t, int left, int right)
{
    if (t->capacity == 0)
        return NULL;
    const pair_entry *e = pair_slot(t, left, right);
    return e->left >= 0 ? e : NULL;
}
/* <<data: byte-pair encoding>> */
static pair_entry *pair_put(pair_table *t, int left, int right)
{
    if (2 * (t->count + 1) > t->capacity) {
        int capacity = t->capacity ? 2 * t->capacity : 1024;
        pair_table bigger = {malloc((size_t)capacity * sizeof(pair_entry)),
                             capacity, 0};
        tp_check(bigger.slots != NULL, "out of memory");
        for (int i = 0; i < capacity; i++)
            bigger.slots[i].left = -1;
        for (int i = 0; i < t->capacity; i++)
            if (t->slots[i].left >= 0) {
                *pair_slot(&bigger, t->slots[i].left, t->slots[i].right) =
                    t->slots[i];
                bigger.count++;
            }
        free(t->slots);
        *t = bigger;
    }
    pair_entry *e = pair_slot(t, left, right);
    if (e->left < 0) {
        *e = (pair_entry){left, right, 0, -1};
        t->count++;
    }
    return e;
}
/* <<data: byte-pair encoding>> */
struct tp_bpe {
    tp_string_table vocab;   /* token -> id */
    pair_table merges;       /* (left id, right id) -> rank, joined id */
    char **token_of;      /* id -> token */
    int vocab_size;
    uint32_t byte_to_unit[256];
    int unit_to_byte[512];
    int byte_id[256];     /* the id of each byte's token */
};

static void bpe_free(tp_bpe *bpe)
{
    for (int i = 0; i < bpe->vocab_size; i++)
        free(bpe->token_of[i]);
    free(bpe->token_of);
    tp_string_table_free(&bpe->vocab);
    free(bpe->merges.slots);
    free(bpe);
}
/* <<data: byte-pair encoding>> */
static void gpt2_byte_map(tp_bpe *bpe)
{
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172)
                         || b >= 174;
        bpe->byte_to_unit[b] = printable ? (uint32_t)b : (uint32_t)(256 + extra++);
        bpe->unit_to_byte[bpe->byte_to_unit[b]] = b;
    }
}
/* <<data: byte-pair encoding>> */
static char *read_whole(const char *path, long *size, tp_error *error)
{
    tp_corpus c;
    if (tp_corpus_load(path, &c, error) != 0)
        return NULL;
    char *text = realloc(c.owned, (size_t)c.size + 1);
    text[c.size] = '\0';
    *size = c.size;
    return text;
}
/* <<data: byte-pair encoding>> */
static long unit_count(const char *token)
{
    long units = 0;
    for (const char *c = token; *c != '\0'; c++)
        units += ((unsigned char)*c & 0xC0) != 0x80;  /* not a continuation */
    return units;
}
/* <<data: byte-pair encoding>> */
static int load_vocab(tp_bpe *bpe, const char *path, tp_error *error)
{
    long size;
    char *text = read_whole(path, &size, error);
    if (text == NULL)
        return -1;
    cJSON *root = cJSON_ParseWithLength(text, (size_t)size);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tp_error_set(error, "%s is not a JSON object", path);
    }
    bpe->vocab_size = cJSON_GetArraySize(root);
    bpe->token_of = calloc((size_t)bpe->vocab_size, sizeof(char *));
    const cJSON *item;
    int status = 0;
    cJSON_ArrayForEach(item, root) {
        /* <<data: enter one token of the vocabulary>> */
        double value = cJSON_IsNumber(item) ? item->valuedouble : -1;
        int id = value >= 0 && value < bpe->vocab_size && value == (int)value
                     ? (int)value : -1;
        if (id < 0 || bpe->token_of[id] != NULL) {
            status = tp_error_set(error, "%s: token \"%s\" has %s id %g (ids are "
                                  "0 to %d, each once)", path, item->string,
                                  id < 0 ? "a bad" : "a repeated", value,
                                  bpe->vocab_size - 1);
            break;
        }
        long characters = unit_count(item->string);
        if (characters > TP_TOKEN_MAX_BYTES) {
            status = tp_error_set(error, "%s: token %d is %ld bytes long, more than "
                                  "the %d a token may be", path, id, characters,
                                  TP_TOKEN_MAX_BYTES);
            break;
        }
        bpe->token_of[id] = strdup(item->string);
        tp_string_put(&bpe->vocab, item->string, strlen(item->string), id);
    }
    cJSON_Delete(root);
    return status;
}
/* <<data: byte-pair encoding>> */
static int merged_token(const tp_bpe *bpe, const char *line, size_t n,
                        const char *space)
{
    char joined[1024];
    size_t left = (size_t)(space - line), right = n - left - 1;
    if (n > sizeof joined)
        return -1;
    memcpy(joined, line, left), memcpy(joined + left, space + 1, right);
    return tp_string_get(&bpe->vocab, joined, left + right);
}

static void enter_merge(tp_bpe *bpe, const char *line, size_t n,
                        const char *space, int rank, int joined)
{
    int left = tp_string_get(&bpe->vocab, line, (size_t)(space - line));
    int right = tp_string_get(&bpe->vocab, space + 1,
                              n - (size_t)(space + 1 - line));
    if (left >= 0 && right >= 0) {
        pair_entry *e = pair_put(&bpe->merges, left, right);
        e->value = rank, e->joined = joined;
    }
}
/* <<data: byte-pair encoding>> */
static int load_merges(tp_bpe *bpe, const char *path, tp_error *error)
{
    long size;
    char *text = read_whole(path, &size, error);
    if (text == NULL)
        return -1;
    int rank = 0, line_number = 0, status = 0, joined;
    for (char *line = text, *end; *line != '\0' && status == 0; line = end) {
        end = strchr(line, '\n');
        end = end ? end + 1 : line + strlen(line);
        size_t n = (size_t)(end - line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        line_number++;
        if (n == 0 || (line_number == 1 && strncmp(line, "#version", 8) == 0))
            continue;
        const char *space = memchr(line, ' ', n);
        if (space == NULL || space == line || space == line + n - 1
            || memchr(space + 1, ' ', n - (size_t)(space + 1 - line)) != NULL)
            status = tp_error_set(error, "%s, line %d: a merge is two tokens "
                                  "separated by one space", path, line_number);
        else if ((joined = merged_token(bpe, line, n, space)) < 0)
            status = tp_error_set(error, "%s, line %d: the merge \"%.*s\" "
                                  "makes a token that the vocabulary lacks",
                                  path, line_number, (int)n, line);
        else
            enter_merge(bpe, line, n, space, rank++, joined);
    }
    free(text);
    return status;
}
/* <<data: byte-pair encoding>> */
static int check_bytes(tp_bpe *bpe, const char *path, tp_error *error)
{
    for (int b = 0; b < 256; b++) {
        unsigned char symbol[4];
        int n = write_unit(bpe->byte_to_unit[b], symbol);
        bpe->byte_id[b] = tp_string_get(&bpe->vocab, (const char *)symbol,
                                        (size_t)n);
        if (bpe->byte_id[b] < 0)
            return tp_error_set(error, "%s has no token for the byte %d", path,
                                b);
    }
    return 0;
}

int tp_tokenizer_gpt2(const char *vocab_json, const char *merges_txt,
                      tp_tokenizer *t, tp_error *error)
{
    tp_bpe *bpe = calloc(1, sizeof *bpe);
    tp_check(bpe != NULL, "out of memory");
    gpt2_byte_map(bpe);
    if (load_vocab(bpe, vocab_json, error) != 0
        || load_merges(bpe, merges_txt, error) != 0
        || check_bytes(bpe, vocab_json, error) != 0) {
        bpe_free(bpe);
        return -1;
    }
    *t = (tp_tokenizer){.kind = TP_GPT2, .vocab_size = bpe->vocab_size,
                        .bpe = bpe};
    return 0;
}
/* <<data: byte-pair encoding>> */
enum { LETTER, NUMBER, SPACE, OTHER };

extern const unsigned int tp_unicode_ranges[][3];
extern const int tp_unicode_range_count;

static int unit_class(uint32_t u)
{
    int lo = 0, hi = tp_unicode_range_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (u < tp_unicode_ranges[mid][0])
            hi = mid - 1;
        else if (u > tp_unicode_ranges[mid][1])
            lo = mid + 1;
        else
            return (int)tp_unicode_ranges[mid][2];
    }
    return OTHER;
}
/* <<data: byte-pair encoding>> */
static int class_at(const unsigned char *s, long n, long i, long *next)
{
    int length;
    int cls = unit_class(next_unit(s + i, n - i, &length));
    *next = i + length;
    return cls;
}

static long run_end(const unsigned char *s, long n, long i, int cls,
                    long *last)
{
    long next;
    *last = i;
    while (i < n && class_at(s, n, i, &next) == cls)
        *last = i, i = next;
    return i;
}
/* <<data: byte-pair encoding>> */
static long contraction_end(const unsigned char *s, long n, long i)
{
    static const char *const endings[] = {"s", "t", "re", "ve", "m", "ll",
                                          "d"};
    if (s[i] != '\'')
        return i;
    for (int k = 0; k < 7; k++) {
        long len = (long)strlen(endings[k]);
        if (i + 1 + len <= n && memcmp(s + i + 1, endings[k], (size_t)len) == 0)
            return i + 1 + len;
    }
    return i;
}
/* <<data: byte-pair encoding>> */
static long piece_end(const unsigned char *s, long n, long i)
{
    long end = contraction_end(s, n, i), next, after, last;
    if (end > i)
        return end;                                  /* rule 1 */
    int cls = class_at(s, n, i, &next);
    long start = i;
    if (s[i] == ' ' && next < n) {
        int following = class_at(s, n, next, &after);
        if (following != SPACE)
            start = next, cls = following;
    }
    if (cls != SPACE)
        return run_end(s, n, start, cls, &last);     /* rules 2, 3, 4 */
    end = run_end(s, n, i, SPACE, &last);
    return end < n && last > i ? last : end;         /* rules 5, 6 */
}
/* <<data: byte-pair encoding>> */
long tp_gpt2_pieces(const unsigned char *text, long n, long *ends)
{
    long count = 0;
    for (long i = 0; i < n; i = ends[count++])
        ends[count] = piece_end(text, n, i);
    return count;
}
/* <<data: byte-pair encoding>> */
/* <<solution: data.bpe-merges>> */
static const pair_entry *best_merge(const tp_bpe *bpe, const int *symbol,
                                    int n)
{
    const pair_entry *best = NULL;
    for (int k = 0; k + 1 < n; k++) {
        const pair_entry *m = pair_get(&bpe->merges, symbol[k], symbol[k + 1]);
        if (m != NULL && (best == NULL || m->value < best->value))
            best = m;
    }
    return best;
}
/* <<solution: data.bpe-merges>> */
static int merge_all(int *symbol, int n, const pair_entry *merge)
{
    int out = 0;
    for (int k = 0; k < n; k++)
        if (k + 1 < n && symbol[k] == merge->left
            && symbol[k + 1] == merge->right)
            symbol[out++] = merge->joined, k++;
        else
            symbol[out++] = symbol[k];
    return out;
}
/* <<data: byte-pair encoding>> */
static int merge_piece(const tp_bpe *bpe, int *symbol, int n)
{
    for (const pair_entry *m; (m = best_merge(bpe, symbol, n)) != NULL;)
        n = merge_all(symbol, n, m);
    return n;
}

static long encode_piece(const tp_bpe *bpe, const unsigned char *bytes,
                         long n, int *ids)
{
    for (long k = 0; k < n; k++)
        ids[k] = bpe->byte_id[bytes[k]];
    return merge_piece(bpe, ids, (int)n);
}
/* <<data: byte-pair encoding>> */
typedef struct piece_cache {
    tp_string_table where;  /* piece -> its ids' start in ids */
    int *ids;               /* for each piece: the count, then the ids */
    long size, capacity;
} piece_cache;

static long encode_cached(const tp_bpe *bpe, piece_cache *cache,
                          const unsigned char *piece, long n, int *ids)
{
    if (memchr(piece, 0, (size_t)n) != NULL || cache->size + n + 1 > INT_MAX)
        return encode_piece(bpe, piece, n, ids);
    int at = tp_string_get(&cache->where, (const char *)piece, (size_t)n);
    if (at >= 0) {
        memcpy(ids, cache->ids + at + 1, (size_t)cache->ids[at] * sizeof *ids);
        return cache->ids[at];
    }
    long count = encode_piece(bpe, piece, n, ids);
    if (cache->size + count + 1 > cache->capacity) {
        cache->capacity = 2 * (cache->size + count + 1);
        cache->ids = realloc(cache->ids, (size_t)cache->capacity * sizeof(int));
        tp_check(cache->ids != NULL, "out of memory");
    }
    cache->ids[cache->size] = (int)count;
    memcpy(cache->ids + cache->size + 1, ids, (size_t)count * sizeof *ids);
    tp_string_put(&cache->where, (const char *)piece, (size_t)n,
                  (int)cache->size);
    cache->size += count + 1;
    return count;
}
/* <<data: byte-pair encoding>> */
static long bpe_encode(const tp_bpe *bpe, const unsigned char *text, long n,
                       int *ids)
{
    piece_cache cache = {0};
    long written = 0;
    for (long i = 0, end; i < n; i = end) {
        end = piece_end(text, n, i);
        written += encode_cached(bpe, &cache, text + i, end - i,
                                 ids + written);
    }
    tp_string_table_free(&cache.where);
    free(cache.ids);
    return written;
}
/* <<data: byte-pair encoding>> */
static int bpe_decode_one(const tp_bpe *bpe, int id, unsigned char *out)
{
    const char *token = bpe->token_of[id];
    int size = 0;
    for (long i = 0, n = (long)strlen(token); i < n;) {
        int length;
        uint32_t unit = next_unit((const unsigned char *)token + i, n - i,
                                  &length);
        out[size++] = unit < 512 ? (unsigned char)bpe->unit_to_byte[unit] : '?';
        i += length;
    }
    return size;
}
/* <<data: byte-pair encoding>> */
typedef struct learned_piece {
    int *symbol;
    int length, count;
} learned_piece;

static learned_piece *distinct_pieces(const tp_bpe *bpe,
                                      const tp_corpus *text, int *count)
{
    tp_string_table seen = {0};
    learned_piece *pieces = NULL;
    int n = 0, capacity = 0;
    for (long i = 0, end; i < text->size; i = end) {
        end = piece_end(text->bytes, text->size, i);
        const char *piece = (const char *)text->bytes + i;
        int length = (int)(end - i), p;
        if (memchr(piece, 0, (size_t)length) != NULL)
            continue;  /* the table's keys are strings */
        if ((p = tp_string_get(&seen, piece, (size_t)length)) < 0) {
            if (n == capacity) {
                capacity = capacity ? 2 * capacity : 1024;
                pieces = realloc(pieces, (size_t)capacity * sizeof *pieces);
                tp_check(pieces != NULL, "out of memory");
            }
            tp_string_put(&seen, piece, (size_t)length, p = n++);
            pieces[p] = (learned_piece){malloc((size_t)length * sizeof(int)),
                                        length, 0};
            tp_check(pieces[p].symbol != NULL, "out of memory");
            for (int k = 0; k < length; k++)
                pieces[p].symbol[k] = bpe->byte_id[(unsigned char)piece[k]];
        }
        pieces[p].count++;
    }
    tp_string_table_free(&seen);
    *count = n;
    return pieces;
}
/* <<data: byte-pair encoding>> */
static int add_token(tp_bpe *bpe, const char *token)
{
    int id = bpe->vocab_size++;
    bpe->token_of[id] = strdup(token);
    tp_string_put(&bpe->vocab, token, strlen(token), id);
    return id;
}

static tp_bpe *byte_tokens(int capacity)
{
    tp_bpe *bpe = calloc(1, sizeof *bpe);
    tp_check(bpe != NULL, "out of memory");
    gpt2_byte_map(bpe);
    bpe->token_of = calloc((size_t)capacity, sizeof(char *));
    tp_check(bpe->token_of != NULL, "out of memory");
    for (int unit = 0; unit < 512; unit++) {
        int b = bpe->unit_to_byte[unit];
        if (bpe->byte_to_unit[b] == (uint32_t)unit) {
            unsigned char symbol[5] = {0};
            write_unit((uint32_t)unit, symbol);
            bpe->byte_id[b] = add_token(bpe, (const char *)symbol);
        }
    }
    return bpe;
}
/* <<data: byte-pair encoding>> */
static int by_count(const void *a, const void *b)
{
    const pair_entry *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? 1 : -1;
    if (x->left != y->left)
        return x->left < y->left ? -1 : 1;
    return (x->right > y->right) - (x->right < y->right);
}

static pair_entry *counted_pairs(const learned_piece *pieces, int n,
                                 int *count)
{
    pair_table counts = {0};
    for (int p = 0; p < n; p++)
        for (int k = 0; k + 1 < pieces[p].length; k++)
            pair_put(&counts, pieces[p].symbol[k], pieces[p].symbol[k + 1])
                ->value += pieces[p].count;
    pair_entry *sorted = malloc(((size_t)counts.count + 1) * sizeof *sorted);
    tp_check(sorted != NULL, "out of memory");
    *count = 0;
    for (int i = 0; i < counts.capacity; i++)
        if (counts.slots[i].left >= 0)
            sorted[(*count)++] = counts.slots[i];
    qsort(sorted, (size_t)*count, sizeof *sorted, by_count);
    free(counts.slots);
    return sorted;
}
/* <<data: byte-pair encoding>> */
static bool learn_merge(tp_bpe *bpe, int left, int right, int rank)
{
    const char *a = bpe->token_of[left], *b = bpe->token_of[right];
    size_t la = strlen(a), lb = strlen(b);
    char *joined = malloc(la + lb + 1);
    tp_check(joined != NULL, "out of memory");
    memcpy(joined, a, la), memcpy(joined + la, b, lb + 1);
    bool new_token = tp_string_get(&bpe->vocab, joined, la + lb) < 0
                     && unit_count(joined) <= TP_TOKEN_MAX_BYTES;
    if (new_token) {
        pair_entry *e = pair_put(&bpe->merges, left, right);
        e->value = rank, e->joined = add_token(bpe, joined);
    }
    free(joined);
    return new_token;
}
/* <<data: byte-pair encoding>> */
static int learn_round(tp_bpe *bpe, learned_piece *pieces, int n,
                       int learned, int wanted, int *order)
{
    int count, added = 0;
    pair_entry *pairs = counted_pairs(pieces, n, &count);
    for (int i = 0; i < count && added < wanted; i++)
        if (learn_merge(bpe, pairs[i].left, pairs[i].right, learned + added)) {
            order[2 * (learned + added)] = pairs[i].left;
            order[2 * (learned + added) + 1] = pairs[i].right;
            added++;
        }
    free(pairs);
    for (int p = 0; p < n && added > 0; p++)
        pieces[p].length = merge_piece(bpe, pieces[p].symbol, pieces[p].length);
    return added;
}
/* <<data: byte-pair encoding>> */
static int write_vocab_files(const tp_bpe *bpe, const int *order, int merges,
                             const char *dir, tp_error *error)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    FILE *f = fopen(path, "w");
    for (int id = 0; f != NULL && id < bpe->vocab_size; id++) {
        fputs(id == 0 ? "{\"" : ", \"", f);
        for (const char *c = bpe->token_of[id]; *c != '\0'; c++)
            fprintf(f, "%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
        fprintf(f, "\": %d", id);
    }
    if (f == NULL || fputs("}\n", f) < 0 || fclose(f) != 0)
        return tp_error_set(error, "cannot write %s: %s", path,
                            strerror(errno));
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    f = fopen(path, "w");
    if (f != NULL)
        fputs("#version: 0.2\n", f);
    for (int r = 0; f != NULL && r < merges; r++)
        fprintf(f, "%s %s\n", bpe->token_of[order[2 * r]],
                bpe->token_of[order[2 * r + 1]]);
    if (f == NULL || fclose(f) != 0)
        return tp_error_set(error, "cannot write %s: %s", path,
                            strerror(errno));
    return 0;
}
/* <<data: byte-pair encoding>> */
int tp_gpt2_learn(const tp_corpus *text, int merges, const char *dir,
                  tp_error *error)
{
    tp_check(merges >= 0 && merges <= INT_MAX - 257,
             "tp_gpt2_learn: %d merges asked for, not a count of 0 or more",
             merges);
    tp_bpe *bpe = byte_tokens(256 + merges + 1);
    int count, learned = 0, per_round = merges / 100 + 1;
    learned_piece *pieces = distinct_pieces(bpe, text, &count);
    int *order = malloc(2 * ((size_t)merges + 1) * sizeof *order);
    tp_check(order != NULL, "out of memory");
    for (int added = 1; added > 0 && learned < merges; learned += added) {
        int wanted = merges - learned < per_round ? merges - learned : per_round;
        added = learn_round(bpe, pieces, count, learned, wanted, order);
    }
    add_token(bpe, "<|endoftext|>");
    int status = write_vocab_files(bpe, order, learned, dir, error);
    for (int p = 0; p < count; p++)
        free(pieces[p].symbol);
    free(pieces), free(order);
    bpe_free(bpe);
    return status == 0 ? learned : -1;
}

/* <<data: the tokenisers>> */
static int compare_units(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

tp_tokenizer tp_tokenizer_chars(const tp_corpus *corpus)
{
    uint32_t *units = malloc(((size_t)corpus->size + 1) * sizeof *units);
    tp_check(units != NULL, "out of memory");
    long n = 0;
    for (long i = 0; i < corpus->size;) {
        int length;
        units[n++] = next_unit(corpus->bytes + i, corpus->size - i, &length);
        i += length;
    }
    qsort(units, (size_t)n, sizeof *units, compare_units);
    long distinct = 0;
    for (long i = 0; i < n; i++)
        if (distinct == 0 || units[i] != units[distinct - 1])
            units[distinct++] = units[i];
    return (tp_tokenizer){.kind = TP_CHARS, .vocab_size = (int)distinct + 1,
                          .units = units};
}
/* <<data: the tokenisers>> */
tp_tokenizer tp_tokenizer_bytes(void)
{
    return (tp_tokenizer){.kind = TP_BYTES, .vocab_size = 256};
}

void tp_tokenizer_free(tp_tokenizer *t)
{
    free(t->units);
    t->units = NULL;
    if (t->bpe != NULL)
        bpe_free(t->bpe);
    t->bpe = NULL;
}
/* <<data: the tokenisers>> */
long tp_encode(const tp_tokenizer *t, const unsigned char *text, long n,
               int *ids)
{
    if (t->kind == TP_GPT2)
        return bpe_encode(t->bpe, text, n, ids);
    long count = 0;
    for (long i = 0; i < n;) {
        if (t->kind == TP_BYTES) {
            ids[count++] = text[i++];
            continue;
        }
        int length;
        uint32_t unit = next_unit(text + i, n - i, &length);
        const uint32_t *found = bsearch(&unit, t->units,
                                        (size_t)t->vocab_size - 1,
                                        sizeof unit, compare_units);
        ids[count++] = found ? (int)(found - t->units) + 1 : 0;
        i += length;
    }
    return count;
}
/* <<data: the tokenisers>> */
long tp_decode(const tp_tokenizer *t, const int *ids, long n,
               unsigned char *out)
{
    long size = 0;
    for (long i = 0; i < n; i++) {
        tp_check(ids[i] >= 0 && ids[i] < t->vocab_size,
                 "tp_decode: id %d is not in a vocabulary of %d", ids[i],
                 t->vocab_size);
        if (t->kind == TP_BYTES)
            out[size++] = (unsigned char)ids[i];
        else if (t->kind == TP_GPT2)
            size += bpe_decode_one(t->bpe, ids[i], out + size);
        else if (ids[i] == 0)
            size += write_unit(0xFFFD, out + size);  /* the replacement mark */
        else
            size += write_unit(t->units[ids[i] - 1], out + size);
    }
    return size;
}

/* <<data: the text tasks>> */
static const char *const task_names[TP_TASKS] = {
    "copy", "reverse", "sort", "addition", "english", "retrieval"};

const char *tp_task_name(tp_task task)
{
    tp_check(task >= 0 && task < TP_TASKS, "no task %d", (int)task);
    return task_names[task];
}

static void random_letters(tp_rng *rng, int n, char *out)
{
    for (int i = 0; i < n; i++)
        out[i] = (char)('a' + tp_rng_below(rng, 26));
    out[n] = '\0';
}

static int compare_chars(const void *a, const void *b)
{
    return *(const char *)a - *(const char *)b;
}
/* <<data: the text tasks>> */
static long random_number(tp_rng *rng, int digits)
{
    long n = 0;
    for (int i = 0; i < digits; i++)
        n = 10 * n + (long)tp_rng_below(rng, 10);
    return n;
}

enum { RETRIEVAL_PAIRS = 127 };  /* "abc:def " each, and "abc?" */

static void retrieval(int pairs, tp_rng *rng, tp_example *out)
{
    char keys[RETRIEVAL_PAIRS][4], value[4], given[4] = "";
    int which = (int)tp_rng_below(rng, (uint32_t)pairs);
    size_t used = 0;
    for (int i = 0; i < pairs; i++) {
        bool repeated;
        do {  /* one answer per question: no key twice */
            random_letters(rng, 3, keys[i]);
            repeated = false;
            for (int j = 0; j < i; j++)
                repeated = repeated || strcmp(keys[i], keys[j]) == 0;
        } while (repeated);
        random_letters(rng, 3, value);
        used += (size_t)snprintf(out->input + used, sizeof out->input - used,
                                 "%s:%s ", keys[i], value);
        if (i == which)
            strcpy(given, value);
    }
    snprintf(out->input + used, sizeof out->input - used, "%s?",
             keys[which]);
    snprintf(out->target, sizeof out->target, "%s", given);
}
/* <<data: the text tasks>> */
int tp_task_longest(tp_task task)
{
    static const int longest[TP_TASKS] = {
        [TP_TASK_COPY] = 200, [TP_TASK_REVERSE] = 200, [TP_TASK_SORT] = 200,
        [TP_TASK_ADDITION] = 18, [TP_TASK_ENGLISH] = 9,
        [TP_TASK_RETRIEVAL] = RETRIEVAL_PAIRS};
    tp_check(task >= 0 && task < TP_TASKS, "no task %d", (int)task);
    return longest[task];
}

void tp_task_example(tp_task task, int length, tp_rng *rng, tp_example *out)
{
    tp_check(length >= 1 && length <= tp_task_longest(task),
             "the %s task's length %d is not in 1..%d", tp_task_name(task),
             length, tp_task_longest(task));
    char letters[256];
    long a, b;
    switch (task) {
    /* <<data: the cases of the text tasks>> */
    case TP_TASK_COPY:
    case TP_TASK_REVERSE:
    case TP_TASK_SORT:
        random_letters(rng, length, letters);
        snprintf(out->input, sizeof out->input, "%s%c", letters,
                 task == TP_TASK_COPY ? '=' : task == TP_TASK_REVERSE ? '<' : '^');
        if (task == TP_TASK_REVERSE)
            for (int i = 0; i < length / 2; i++) {
                char c = letters[i];
                letters[i] = letters[length - 1 - i], letters[length - 1 - i] = c;
            }
        if (task == TP_TASK_SORT)
            qsort(letters, (size_t)length, 1, compare_chars);
        snprintf(out->target, sizeof out->target, "%s", letters);
        break;
    case TP_TASK_ADDITION:
        a = random_number(rng, length);
        b = random_number(rng, length);
        snprintf(out->input, sizeof out->input, "%ld+%ld=", a, b);
        snprintf(out->target, sizeof out->target, "%ld", a + b);
        break;
    case TP_TASK_ENGLISH:
        a = random_number(rng, length);
        snprintf(out->input, sizeof out->input, "%ld", a);
        tp_number_to_english(a, out->target, sizeof out->target);
        break;
    case TP_TASK_RETRIEVAL:
        retrieval(length, rng, out);
        break;
    default:
        tp_check(false, "no task %d", (int)task);
    }
}

/* <<data: numbers in English>> */
static const char *const ones[20] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const tens[10] = {"", "", "twenty", "thirty", "forty",
                                     "fifty", "sixty", "seventy", "eighty",
                                     "ninety"};

static void append(char *out, size_t size, const char *word)
{
    size_t used = strlen(out);
    snprintf(out + used, size - used, "%s%s", used > 0 ? " " : "", word);
}
/* <<data: numbers in English>> */
static void below_thousand(int n, char *out, size_t size)
{
    if (n >= 100) {
        append(out, size, ones[n / 100]);
        append(out, size, "hundred");
        n %= 100;
    }
    if (n >= 20) {
        char word[24];
        snprintf(word, sizeof word, "%s%s%s", tens[n / 10], n % 10 ? "-" : "",
                 n % 10 ? ones[n % 10] : "");
        append(out, size, word);
    } else if (n > 0)
        append(out, size, ones[n]);
}
/* <<data: numbers in English>> */
int tp_number_to_english(long n, char *out, size_t size)
{
    tp_check(n >= 0 && n < 1000000000L, "%ld is not in 0..999,999,999", n);
    out[0] = '\0';
    if (n == 0) {
        snprintf(out, size, "zero");
        return 0;
    }
    static const char *const scales[3] = {"million", "thousand", ""};
    static const long divisors[3] = {1000000, 1000, 1};
    for (int g = 0; g < 3; g++) {
        int group = (int)(n / divisors[g] % 1000);
        if (group == 0)
            continue;
        below_thousand(group, out, size);
        if (*scales[g] != '\0')
            append(out, size, scales[g]);
    }
    return 0;
}

/* <<data: the shapes>> */
static const char *const shape_names[TP_SHAPE_CLASSES] = {
    "circle", "square", "triangle", "cross", "ring"};

const char *tp_shape_class_name(tp_shape_class c)
{
    tp_check(c >= 0 && c < TP_SHAPE_CLASSES, "no shape class %d", (int)c);
    return shape_names[c];
}

static bool inside(tp_shape_class c, double u, double v)
{
    switch (c) {
    case TP_CIRCLE: return u * u + v * v <= 1.0;
    case TP_SQUARE: return fabs(u) <= 0.8 && fabs(v) <= 0.8;
    case TP_TRIANGLE: return v <= 0.8 && v >= 2.0 * fabs(u) - 1.0;
    case TP_CROSS: return (fabs(u) <= 0.3 && fabs(v) <= 1.0)
                          || (fabs(v) <= 0.3 && fabs(u) <= 1.0);
    default: return u * u + v * v <= 1.0 && u * u + v * v >= 0.4;
    }
}
/* <<data: the shapes>> */
tp_shape_class tp_shape_image(int size, tp_rng *rng, float *pixels)
{
    tp_check(size >= 8 && size <= 256, "image size %d is not in 8..256", size);
    tp_shape_class c = (tp_shape_class)tp_rng_below(rng, TP_SHAPE_CLASSES);
    double r = size * (0.2 + 0.13 * tp_rng_uniform(rng));
    double cx = r + (size - 2 * r) * tp_rng_uniform(rng);
    double cy = r + (size - 2 * r) * tp_rng_uniform(rng);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            double value = inside(c, (x + 0.5 - cx) / r, (y + 0.5 - cy) / r);
            value += 0.1 * tp_rng_normal(rng);
            pixels[y * size + x] = (float)fmin(1.0, fmax(0.0, value));
        }
    return c;
}

/* <<data: batching>> */
void tp_random_windows(const int *tokens, long n, int batch, int context,
                       tp_rng *rng, int *inputs, int *targets)
{
    tp_check(context >= 1 && n > context,
             "a window of %d tokens needs more than %ld tokens", context + 1,
             n);
    for (int b = 0; b < batch; b++) {
        long start = (long)((n - context) * (double)tp_rng_uniform(rng));
        memcpy(inputs + (long)b * context, tokens + start,
               (size_t)context * sizeof *tokens);
        memcpy(targets + (long)b * context, tokens + start + 1,
               (size_t)context * sizeof *tokens);
    }
}
/* <<data: batching>> */
void tp_pad_batch(const int *const sequences[], const int lengths[],
                  int count, int width, int pad, int *out,
                  unsigned char *padding)
{
    for (int s = 0; s < count; s++) {
        tp_check(lengths[s] >= 1 && lengths[s] <= width,
                 "sequence %d has length %d, not 1..%d", s, lengths[s], width);
        for (int j = 0; j < width; j++) {
            bool real = j < lengths[s];
            out[s * width + j] = real ? sequences[s][j] : pad;
            if (padding != NULL)
                padding[s * width + j] = !real;
        }
    }
}
/* <<data: batching>> */
int tp_pack(const int *const sequences[], const int lengths[], int count,
            int width, int separator, int *out, int rows)
{
    int row = 0, used = 0;
    for (int s = 0; s < count; s++) {
        tp_check(lengths[s] >= 1 && lengths[s] < width,
                 "sequence %d has length %d, not 1..%d", s, lengths[s],
                 width - 1);
        if (used + lengths[s] + 1 > width)
            row++, used = 0;
        if (row == rows)
            return s;  /* the sequences that fitted */
        memcpy(out + row * width + used, sequences[s],
               (size_t)lengths[s] * sizeof *out);
        used += lengths[s];
        out[row * width + used++] = separator;
        for (int j = used; j < width; j++)
            out[row * width + j] = separator;
    }
    return count;
}
/* <<data: batching>> */
void tp_shuffle(int *items, int n, tp_rng *rng)
{
    for (int i = 0; i < n - 1; i++) {
        int j = i + (int)tp_rng_below(rng, (uint32_t)(n - i));
        int t = items[i];
        items[i] = items[j], items[j] = t;
    }
}
