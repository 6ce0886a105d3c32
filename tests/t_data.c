/* Generated from book/170-data.nw; edit the book, not this file. */
#include <cjson/cJSON.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "gpt2_files.h"
#include "tap.h"
#include "tp.h"

/* <<t-data: corpora>> */
static char dir[] = "/tmp/tp-data-XXXXXX";

static void write_file(const char *name, const char *content, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fwrite(content, 1, n, f);
    fclose(f);
}

static const char *load_error(const char *name)
{
    static tp_error error;
    char path[256];
    tp_corpus c;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    error.message[0] = '\0';
    if (tp_corpus_load(path, &c, &error) == 0)
        tp_corpus_free(&c);
    return error.message;
}
/* <<t-data: corpora>> */
static void corpora(void)
{
    tp_corpus book = tp_corpus_book(), train, validation;
    /* The generated array ends with a zero byte, so it is also a string. */
    ok(book.size > 100000
           && strstr((const char *)book.bytes, "\\chapter{Data}") != NULL,
       "the embedded corpus is the book (%ld bytes)", book.size);
    tp_corpus_split(&book, &train, &validation);
    ok(train.size + validation.size == book.size
           && labs(validation.size - book.size / 10) <= 100
           && train.bytes[train.size - 1] == '\n',
       "the split keeps the last tenth for validation, cut after a line");
    /* <<t-data: loading files and directories>> */
    write_file("b.txt", "second\n", 7);
    write_file("a.txt", "first\n", 6);
    write_file(".hidden", "never\n", 6);
    tp_corpus c;
    tp_error error;
    ok(tp_corpus_load(dir, &c, &error) == 0 && c.size == 13
           && memcmp(c.bytes, "first\nsecond\n", 13) == 0,
       "a directory is its files in name order, hidden ones skipped");
    tp_corpus_free(&c);
    write_file("empty.txt", "", 0);
    write_file("binary.dat", "PK\x03\x04\0\0data", 10);
    ok(strstr(load_error("missing.txt"), "cannot read") != NULL,
       "a missing file is refused");
    ok(strstr(load_error("empty.txt"), "is empty") != NULL,
       "an empty file is refused");
    ok(strstr(load_error("binary.dat"), "binary") != NULL,
       "a binary file is refused");
}

/* <<t-data: tokenisers>> */
static bool round_trip(const tp_tokenizer *t, const unsigned char *text,
                       long n)
{
    int ids[4096];
    unsigned char back[4 * 4096];
    long count = tp_encode(t, text, n, ids);
    long size = tp_decode(t, ids, count, back);
    return size == n && memcmp(back, text, (size_t)n) == 0;
}
/* <<t-data: tokenisers>> */
static void tokenisers(void)
{
    unsigned char bytes[4096];
    tp_rng rng = tp_rng_seeded(1, 1);
    for (int i = 0; i < 4096; i++)
        bytes[i] = (unsigned char)tp_rng_below(&rng, 256);
    tp_tokenizer b = tp_tokenizer_bytes();
    ok(b.vocab_size == 256 && round_trip(&b, bytes, 4096),
       "the byte tokeniser round-trips 4096 random bytes");
    tp_corpus small = {(const unsigned char *)"abcab", 5, NULL};
    tp_tokenizer c = tp_tokenizer_chars(&small);
    int ids[8];
    long n = tp_encode(&c, (const unsigned char *)"cabz", 4, ids);
    ok(c.vocab_size == 4 && n == 4 && ids[0] == 3 && ids[1] == 1
           && ids[2] == 2 && ids[3] == 0,
       "chars of \"abcab\": c a b z are 3 1 2 and 0 (unknown)");
    tp_tokenizer_free(&c);
    /* <<t-data: the character tokeniser on invalid UTF-8>> */
    static const unsigned char mixed[] =
        "h\xc3\xa9llo \xe2\x86\x92 \xf0\x9f\x99\x82 \x80 \xc0\x80 \xed\xa0\x80 \xe2\x86";
    tp_corpus text = {mixed, (long)sizeof mixed - 1, NULL};
    tp_tokenizer m = tp_tokenizer_chars(&text);
    ok(round_trip(&m, text.bytes, text.size),
       "characters round-trip text with invalid UTF-8 in it");
    int units[64];
    long n2 = tp_encode(&m, (const unsigned char *)"h\xc3\xa9", 3, units);
    ok(n2 == 2, "a two-byte character is one token");
    tp_tokenizer_free(&m);
    tp_tokenizer all = tp_tokenizer_chars(&(tp_corpus){bytes, 4096, NULL});
    ok(round_trip(&all, bytes, 4096),
       "characters round-trip 4096 random bytes, with their own vocabulary");
    tp_tokenizer_free(&all);
}

/* <<t-data: the GPT-2 tokeniser>> */
static void write_gpt2_files(bool all_bytes)
{
    write_gpt2_vocabulary(dir, all_bytes,
        "\"he\": 256, \"ll\": 257, \"hell\": 258, \"\u0120w\": 259, "
        "\"\u0120\u0120\": 260, \"'s\": 261, \"\u0120=\": 262, "
        "\"})\": 263, \"});\": 264",
        "h e\nl l\nhe ll\n\xc4\xa0 w\n\xc4\xa0 \xc4\xa0\n' s\n"
        "\xc4\xa0 =\n} )\n}) ;\n");
}
/* <<t-data: the GPT-2 tokeniser>> */
static bool encodes_to(const tp_tokenizer *t, const char *text,
                       const int *expected, int n)
{
    int ids[64];
    long count = tp_encode(t, (const unsigned char *)text, (long)strlen(text),
                           ids);
    return count == n && memcmp(ids, expected, (size_t)n * sizeof *ids) == 0;
}

static int load_gpt2(tp_tokenizer *t, tp_error *error)
{
    char vocab[256], merges[256];
    snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
    snprintf(merges, sizeof merges, "%s/merges.txt", dir);
    return tp_tokenizer_gpt2(vocab, merges, t, error);
}
/* <<t-data: the GPT-2 tokeniser>> */
static void gpt2_tokeniser(void)
{
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
        bail_out("the C.UTF-8 locale is missing");
    write_gpt2_files(true);
    tp_tokenizer t;
    tp_error error = {""};
    if (!ok(load_gpt2(&t, &error) == 0 && t.vocab_size == 265,
            "a vocabulary of 265 tokens and nine merges load"))
        diag("%s", error.message);
    ok(encodes_to(&t, "hello world", (const int[]){258, 78, 259, 78, 81, 75, 67},
                  7), "\"hello world\" is hell o / \u0120w o r l d");
    ok(encodes_to(&t, "a  b", (const int[]){64, 220, 220, 65}, 4),
       "the last of two spaces goes with the next word");
    ok(encodes_to(&t, "it's", (const int[]){72, 83, 261}, 3),
       "a contraction is a piece of its own");
    ok(encodes_to(&t, "x = 1;", (const int[]){87, 262, 220, 16, 26}, 5),
       "\"x = 1;\" is x / \u0120= / \u0120 1 / ;: a space joins punctuation");
    ok(encodes_to(&t, "});", (const int[]){264}, 1),
       "\"});\" is one piece, and merges into one token");
    ok(encodes_to(&t, "\xff", (const int[]){byte_id(255)}, 1),
       "a byte that is not UTF-8 is its byte's token");
    /* <<t-data: GPT-2 round trips and bad files>> */
    unsigned char bytes[2048];
    tp_rng rng = tp_rng_seeded(6, 6);
    for (int i = 0; i < 2048; i++)
        bytes[i] = (unsigned char)tp_rng_below(&rng, 256);
    ok(round_trip(&t, bytes, 2048), "GPT-2 round-trips 2048 random bytes");
    static const unsigned char text[] = "h\xc3\xa9llo \xe2\x86\x92 it's \x80\xff";
    ok(round_trip(&t, text, (long)sizeof text - 1),
       "and text with invalid UTF-8 in it");
    tp_tokenizer_free(&t);
    write_gpt2_files(false);
    ok(load_gpt2(&t, &error) == -1
           && strstr(error.message, "has no token for the byte 122"),
       "a vocabulary without a byte is refused");
    write_gpt2_files(true);
    char path[256];
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("h e\nthree parts here\n", f);
    fclose(f);
    ok(load_gpt2(&t, &error) == -1 && strstr(error.message, "line 2"),
       "a malformed merge is refused with its line number");
    f = fopen(path, "w");
    fputs("h e\nq z\n", f);
    fclose(f);
    ok(load_gpt2(&t, &error) == -1 && strstr(error.message, "line 2")
           && strstr(error.message, "lacks"),
       "a merge whose result is not in the vocabulary is refused");
    /* <<t-data: a vocabulary with a repeated id>> */
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    f = fopen(path, "w");
    fputs("{\"a\": 0, \"b\": 0}", f);
    fclose(f);
    ok(load_gpt2(&t, &error) == -1 && strstr(error.message, "a repeated id 0"),
       "a vocabulary with a repeated id is refused");
    f = fopen(path, "w");
    fputs("{\"a\": 0, \"b\": 7}", f);
    fclose(f);
    ok(load_gpt2(&t, &error) == -1 && strstr(error.message, "a bad id 7"),
       "and one with an id out of range");
    f = fopen(path, "w");
    fputs("{\"a\": 0, \"", f);
    for (int i = 0; i < TP_TOKEN_MAX_BYTES + 1; i++)
        fputc('x', f);
    fputs("\": 1}", f);
    fclose(f);
    ok(load_gpt2(&t, &error) == -1 && strstr(error.message, "257 bytes long"),
       "and one with a token longer than a token may be");
    setlocale(LC_CTYPE, "C");
}

/* <<t-data: GPT-2's pieces>> */
static const struct { const char *text, *pieces[9]; } piece_cases[] = {
    {"it's", {"it", "'s"}},
    {"IT'S", {"IT", "'", "S"}},
    {"we'll 've", {"we", "'ll", " '", "ve"}},
    {"don't", {"don", "'t"}},
    {"ab'sd", {"ab", "'s", "d"}},
    {"hello world", {"hello", " world"}},
    {"a = b->c << d]]", {"a", " =", " b", "->", "c", " <<", " d", "]]"}},
    {"});", {"});"}},
    {"3.14 2024", {"3", ".", "14", " 2024"}},
    /* <<t-data: pieces of white space>> */
    {"a   b", {"a", "  ", " b"}},
    {"end   ", {"end", "   "}},
    {"a\t\tb", {"a", "\t", "\t", "b"}},
    {"a\r\nb", {"a", "\r", "\n", "b"}},
    {"x  \ny", {"x", "  ", "\n", "y"}},
    {"\xc2\xa0x", {"\xc2\xa0", "x"}},               /* no-break space */
    {"  \u3000x", {"  ", "\u3000", "x"}},           /* ideographic space */
    {"x\u200by", {"x", "\u200b", "y"}},             /* zero-width space */
    {"a\x1c" "b", {"a", "\x1c", "b"}},              /* file separator */
    /* <<t-data: pieces of other scripts>> */
    {"nai\u0308ve", {"nai", "\u0308", "ve"}},       /* combining diaeresis */
    {"\U0001F44D\U0001F3FD ok", {"\U0001F44D\U0001F3FD", " ok"}},
    {"\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",           /* Hebrew */
     {"\u05e9\u05dc\u05d5\u05dd", " \u05e2\u05d5\u05dc\u05dd"}},
    {"\u0639\u0627\u0645 \u0662\u0660\u0662\u0664",   /* Arabic, its digits */
     {"\u0639\u0627\u0645", " \u0662\u0660\u0662\u0664"}},
    {"\u0967\u0968\u0969 \u096a", {"\u0967\u0968\u0969", " \u096a"}},
    {"a \u00b2\u00bd \u216b", {"a", " \u00b2\u00bd", " \u216b"}},
    {"ab\xff\xfe cd", {"ab", "\xff\xfe", " cd"}},  /* not UTF-8 */
};
/* <<t-data: GPT-2's pieces>> */
static bool pieces_are(const char *text, const char *const *expected)
{
    long ends[64], n = (long)strlen(text);
    long count = tp_gpt2_pieces((const unsigned char *)text, n, ends);
    long start = 0, k = 0;
    for (; k < count && expected[k] != NULL; start = ends[k++])
        if ((long)strlen(expected[k]) != ends[k] - start
            || memcmp(text + start, expected[k], strlen(expected[k])) != 0)
            return false;
    return k == count && expected[k] == NULL;
}
/* <<t-data: GPT-2's pieces>> */
static long random_mixture(unsigned char *out, int count)
{
    static const char *const kinds[] = {
        "a", "Z", " ", " ", "\t", "\n", "\r", "7", ".", ";", "'", "s", "t",
        "ll", "\xc2\xa0", "\u3000", "\u0308", "\U0001F44D", "\u05e9",
        "\u0662", "\u00bd", "\u200b", "\x1c", "\xff", "\xe2\x82", "\xc2\x85"};
    int kinds_count = (int)(sizeof kinds / sizeof kinds[0]);
    tp_rng rng = tp_rng_seeded(31, 31);
    long size = 0;
    for (int i = 0; i < count; i++) {
        const char *k = kinds[tp_rng_below(&rng, (uint32_t)kinds_count)];
        memcpy(out + size, k, strlen(k));
        size += (long)strlen(k);
    }
    return size;
}
/* <<t-data: GPT-2's pieces>> */
static const char python_pieces[] =
    "import regex, sys\n"
    "p = regex.compile(r\"\"\"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+|"
    " ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+\"\"\")\n"
    "text = open(sys.argv[1], 'rb').read().decode('utf-8', 'surrogateescape')\n"
    "sys.stdout.write(''.join('%d\\n' % len(piece.encode('utf-8', "
    "'surrogateescape')) for piece in p.findall(text)))\n";
/* <<t-data: GPT-2's pieces>> */
static bool same_pieces_as_python(const char *python,
                                  const unsigned char *text, long n)
{
    char path[256], script[256], command[1024];
    snprintf(path, sizeof path, "%s/pieces.txt", dir);
    snprintf(script, sizeof script, "%s/pieces.py", dir);
    write_file("pieces.txt", (const char *)text, (size_t)n);
    write_file("pieces.py", python_pieces, sizeof python_pieces - 1);
    snprintf(command, sizeof command, "%s %s %s", python, script, path);
    long *ends = malloc((size_t)(n + 1) * sizeof *ends);
    long count = tp_gpt2_pieces(text, n, ends), k = 0, start = 0, length;
    FILE *p = popen(command, "r");
    bool same = p != NULL;
    for (; same && fscanf(p, "%ld", &length) == 1; start = ends[k++])
        if (k >= count || ends[k] - start != length) {
            diag("piece %ld, at byte %ld: Python's has %ld bytes, ours %ld",
                 k, start, length, k < count ? ends[k] - start : 0L);
            same = false;
        }
    same = (p != NULL && pclose(p) == 0) && same && k == count;
    free(ends);
    return same;
}
/* <<t-data: GPT-2's pieces>> */
static void gpt2_pieces(void)
{
    size_t cases = sizeof piece_cases / sizeof piece_cases[0];
    for (size_t i = 0; i < cases; i++)
        ok(pieces_are(piece_cases[i].text, piece_cases[i].pieces),
           "pieces of case %zu (%s)", i + 1, piece_cases[i].pieces[0]);
    /* <<t-data: the pieces against Python's regex>> */
    const char *python = access("/usr/bin/python3", X_OK) == 0
                             ? "/usr/bin/python3" : "python3";
    char check[256];
    snprintf(check, sizeof check, "%s -c 'import regex' 2>/dev/null", python);
    if (system(check) != 0) {
        skip(2, "python3 with the regex module (Debian's python3-regex) is "
                "not installed");
        return;
    }
    tp_corpus book = tp_corpus_book();
    ok(same_pieces_as_python(python, book.bytes, book.size),
       "the pieces of the book are Python regex's (%ld bytes)", book.size);
    unsigned char mixed[20000 * 4];
    long size = random_mixture(mixed, 20000);
    ok(same_pieces_as_python(python, mixed, size),
       "and those of 20,000 random characters of every kind");
}

/* <<t-data: a learned vocabulary against merges by strings>> */
typedef struct string_merges {
    tp_string_table vocab, ranks;  /* token -> id; "left right" -> rank */
    tp_string_table seen;          /* piece -> its ids' start in memo */
    int memo[1 << 21];
    int used;
} string_merges;

static bool read_string_merges(string_merges *r, const char *dir_path)
{
    char path[512], line[2048];
    snprintf(path, sizeof path, "%s/vocab.json", dir_path);
    tp_corpus text;
    tp_error error;
    if (tp_corpus_load(path, &text, &error) != 0)
        return false;
    cJSON *root = cJSON_ParseWithLength((const char *)text.bytes,
                                        (size_t)text.size), *item;
    cJSON_ArrayForEach(item, root)
        tp_string_put(&r->vocab, item->string, strlen(item->string),
                      item->valueint);
    cJSON_Delete(root);
    tp_corpus_free(&text);
    snprintf(path, sizeof path, "%s/merges.txt", dir_path);
    FILE *f = fopen(path, "r");
    for (int rank = 0; f != NULL && fgets(line, sizeof line, f) != NULL;) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "#version", 8) != 0)
            tp_string_put(&r->ranks, line, strlen(line), rank++);
    }
    return f != NULL && fclose(f) == 0 && r->vocab.count > 256;
}
/* <<t-data: a learned vocabulary against merges by strings>> */
static char *byte_symbol(int b)
{
    int unit = gpt2_printable(b) ? b : 256, extra = 0;
    for (int c = 0; c < b && unit >= 256; c++)
        extra += !gpt2_printable(c);
    unit += unit >= 256 ? extra : 0;
    char *s = calloc(3, 1);
    if (unit < 0x80)
        s[0] = (char)unit;
    else
        s[0] = (char)(0xC0 | unit >> 6), s[1] = (char)(0x80 | (unit & 0x3F));
    return s;
}
/* <<t-data: a learned vocabulary against merges by strings>> */
static int lowest_rank_pair(const string_merges *r, char **symbol, int n)
{
    int best = -1, best_rank = 0;
    for (int k = 0; k + 1 < n; k++) {
        char key[2048];
        int length = snprintf(key, sizeof key, "%s %s", symbol[k],
                              symbol[k + 1]);
        int rank = tp_string_get(&r->ranks, key, (size_t)length);
        if (rank >= 0 && (best < 0 || rank < best_rank))
            best = k, best_rank = rank;
    }
    return best;
}

static int join_everywhere(char **symbol, int n, int best)
{
    char *left = strdup(symbol[best]), *right = strdup(symbol[best + 1]);
    int out = 0;
    for (int k = 0; k < n; k++)
        if (k + 1 < n && strcmp(symbol[k], left) == 0
            && strcmp(symbol[k + 1], right) == 0) {
            char *joined = malloc(strlen(left) + strlen(right) + 1);
            strcat(strcpy(joined, left), right);
            free(symbol[k]), free(symbol[k + 1]);
            symbol[out++] = joined, k++;
        } else
            symbol[out++] = symbol[k];
    free(left), free(right);
    return out;
}
/* <<t-data: a learned vocabulary against merges by strings>> */
static int merged_by_strings(const string_merges *r, const unsigned char *piece,
                             long n, int *ids)
{
    char **symbol = malloc((size_t)n * sizeof *symbol);
    for (long k = 0; k < n; k++)
        symbol[k] = byte_symbol(piece[k]);
    int count = (int)n;
    for (int best; (best = lowest_rank_pair(r, symbol, count)) >= 0;)
        count = join_everywhere(symbol, count, best);
    for (int k = 0; k < count; k++) {
        ids[k] = tp_string_get(&r->vocab, symbol[k], strlen(symbol[k]));
        free(symbol[k]);
    }
    free(symbol);
    return count;
}
/* <<t-data: a learned vocabulary against merges by strings>> */
static int reference_ids(string_merges *r, const unsigned char *piece, long n,
                         int *ids)
{
    if (memchr(piece, 0, (size_t)n) != NULL || r->used + n + 1 > (1 << 21))
        return merged_by_strings(r, piece, n, ids);
    int at = tp_string_get(&r->seen, (const char *)piece, (size_t)n);
    if (at < 0) {
        at = r->used;
        r->memo[at] = merged_by_strings(r, piece, n, r->memo + at + 1);
        r->used += r->memo[at] + 1;
        tp_string_put(&r->seen, (const char *)piece, (size_t)n, at);
    }
    memcpy(ids, r->memo + at + 1, (size_t)r->memo[at] * sizeof *ids);
    return r->memo[at];
}
/* <<t-data: a learned vocabulary against merges by strings>> */
static bool same_as_strings(string_merges *r, const tp_tokenizer *t,
                            const unsigned char *text, long n)
{
    int *ids = malloc((size_t)(n + 1) * sizeof *ids), expected[4096];
    long *ends = malloc((size_t)(n + 1) * sizeof *ends);
    long count = tp_encode(t, text, n, ids), pieces = tp_gpt2_pieces(text, n,
                                                                     ends);
    long at = 0, start = 0, k = 0;
    bool same = true;
    for (; same && k < pieces; start = ends[k++]) {
        int m = ends[k] - start < 4096
                    ? reference_ids(r, text + start, ends[k] - start, expected)
                    : -1;
        same = m >= 0 && at + m <= count
               && memcmp(ids + at, expected, (size_t)m * sizeof *ids) == 0;
        if (!same)
            diag("piece %ld, at byte %ld, differs", k, start);
        at += m;
    }
    free(ids), free(ends);
    return same && at == count;
}
/* <<t-data: a learned vocabulary against merges by strings>> */
static void learned_vocabulary(void)
{
    char learned_dir[256], vocab[300], merges[300];
    snprintf(learned_dir, sizeof learned_dir, "%s/learned", dir);
    snprintf(vocab, sizeof vocab, "%s/vocab.json", learned_dir);
    snprintf(merges, sizeof merges, "%s/merges.txt", learned_dir);
    mkdir(learned_dir, 0700);
    tp_corpus book = tp_corpus_book();
    tp_error error = {""};
    int learned = tp_gpt2_learn(&book, 50000, learned_dir, &error);
    tp_tokenizer t;
    if (!ok(learned > 1000 && tp_tokenizer_gpt2(vocab, merges, &t, &error) == 0
                && t.vocab_size == 256 + learned + 1,
            "a vocabulary learned from the book (%d merges) loads", learned)) {
        diag("%s", error.message);
        return;
    }
    string_merges *r = calloc(1, sizeof *r);
    if (!read_string_merges(r, learned_dir))
        bail_out("cannot read the learned files back");
    ok(same_as_strings(r, &t, book.bytes, book.size),
       "the ids of the book are those of merges by strings, piece by piece");
    unsigned char mixed[20000 * 4], bytes[2048];
    long size = random_mixture(mixed, 20000);
    tp_rng rng = tp_rng_seeded(170, 2048);
    for (int i = 0; i < 2048; i++)
        bytes[i] = (unsigned char)tp_rng_below(&rng, 256);
    ok(same_as_strings(r, &t, mixed, size) && same_as_strings(r, &t, bytes, 2048),
       "and so are those of 20,000 random characters and of 2048 random bytes");
    tp_string_table_free(&r->vocab), tp_string_table_free(&r->ranks);
    tp_string_table_free(&r->seen);
    free(r);
    tp_tokenizer_free(&t);
}

/* <<t-data: tasks>> */
static void english_examples(void)
{
    static const struct { long n; const char *words; } cases[] = {
        {0, "zero"}, {7, "seven"}, {13, "thirteen"}, {40, "forty"},
        {71, "seventy-one"}, {100, "one hundred"}, {110, "one hundred ten"},
        {2019, "two thousand nineteen"},
        {4071, "four thousand seventy-one"},
        {1000000, "one million"},
        {999999999, "nine hundred ninety-nine million nine hundred "
                    "ninety-nine thousand nine hundred ninety-nine"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char words[256];
        tp_number_to_english(cases[i].n, words, sizeof words);
        is_str(words, cases[i].words, "%ld in English", cases[i].n);
    }
}
/* <<t-data: tasks>> */
static int too_long_addition(void)
{
    tp_rng rng = tp_rng_seeded(1, 0);
    tp_example e;
    tp_task_example(TP_TASK_ADDITION, 19, &rng, &e);
    return 0;
}

static void tasks(void)
{
    english_examples();
    tp_rng rng = tp_rng_seeded(3, 3), again = tp_rng_seeded(3, 3);
    tp_example e, f;
    tp_task_example(TP_TASK_REVERSE, 9, &rng, &e);
    tp_task_example(TP_TASK_REVERSE, 9, &again, &f);
    ok(strcmp(e.input, f.input) == 0, "the same seed gives the same example");
    bool reversed = strlen(e.target) == 9;
    for (int i = 0; reversed && i < 9; i++)
        reversed = e.target[i] == e.input[8 - i];
    ok(reversed && e.input[9] == '<', "reverse: the target reads backwards");
    tp_task_example(TP_TASK_SORT, 12, &rng, &e);
    bool sorted = strlen(e.target) == 12;
    for (int i = 1; sorted && i < 12; i++)
        sorted = e.target[i - 1] <= e.target[i];
    ok(sorted, "sort: the target is sorted");
    /* <<t-data: addition, copy and retrieval>> */
    tp_task_example(TP_TASK_ADDITION, 6, &rng, &e);
    long a, b, sum;
    ok(sscanf(e.input, "%ld+%ld=", &a, &b) == 2
           && sscanf(e.target, "%ld", &sum) == 1 && sum == a + b,
       "addition: %s%s", e.input, e.target);
    tp_task_example(TP_TASK_COPY, 5, &rng, &e);
    ok(strncmp(e.input, e.target, 5) == 0 && e.input[5] == '=',
       "copy: the target is the input");
    tp_task_example(TP_TASK_RETRIEVAL, 30, &rng, &e);
    char key[8], pair[16];
    sscanf(strrchr(e.input, ' ') + 1, "%3s", key);
    snprintf(pair, sizeof pair, "%s:%s", key, e.target);
    ok(strstr(e.input, pair) != NULL && strlen(e.input) > 30 * 8,
       "retrieval: the target is the value of the asked key");
    /* <<t-data: retrieval at its longest>> */
    is(tp_task_longest(TP_TASK_RETRIEVAL), 127, "retrieval takes 127 pairs");
    bool asked = true, distinct = true;
    for (int i = 0; i < 200; i++) {
        tp_task_example(TP_TASK_RETRIEVAL, 127, &rng, &e);
        const char *question = strrchr(e.input, ' ') + 1;
        char wanted[16];
        snprintf(wanted, sizeof wanted, "%.3s:%s ", question, e.target);
        asked = asked && strlen(question) == 4 && strstr(e.input, wanted) != NULL;
        for (int p = 0; p < 127 && distinct; p++)
            for (int q = 0; q < p; q++)
                distinct = distinct && strncmp(e.input + 8 * p, e.input + 8 * q, 3);
    }
    ok(asked, "at 127 pairs, every question asks a key the input holds");
    ok(distinct, "and no input holds a key twice");
    dies_with(too_long_addition, "length 19 is not in 1..18",
              "a longer addition than 18 digits stops, it is not cut to 18");
    /* <<t-data: shapes>> */
    float pixels[32 * 32];
    int seen[TP_SHAPE_CLASSES] = {0};
    bool in_range = true;
    for (int i = 0; i < 100; i++) {
        seen[tp_shape_image(32, &rng, pixels)]++;
        for (int p = 0; p < 32 * 32; p++)
            in_range &= pixels[p] >= 0.0f && pixels[p] <= 1.0f;
    }
    bool every = true;
    for (int c = 0; c < TP_SHAPE_CLASSES; c++)
        every &= seen[c] > 0;
    ok(every && in_range, "100 images cover every class, pixels in [0, 1]");
}

/* <<t-data: batches>> */
static void batches(void)
{
    int tokens[100], inputs[3 * 8], targets[3 * 8];
    for (int i = 0; i < 100; i++)
        tokens[i] = 1000 + i;
    tp_rng rng = tp_rng_seeded(4, 4);
    tp_random_windows(tokens, 100, 3, 8, &rng, inputs, targets);
    bool shifted = true;
    for (int b = 0; b < 3; b++)
        for (int t = 0; t < 8; t++)
            shifted &= targets[b * 8 + t] == inputs[b * 8 + t] + 1
                       && inputs[b * 8 + t] >= 1000 && targets[b * 8 + t] < 1100;
    ok(shifted, "each target is the token after its input, inside the data");
    /* <<t-data: padding and packing>> */
    const int s0[] = {1, 2, 3}, s1[] = {4}, s2[] = {5, 6};
    const int *seqs[] = {s0, s1, s2};
    const int lengths[] = {3, 1, 2};
    int padded[3 * 4];
    unsigned char mask[3 * 4];
    tp_pad_batch(seqs, lengths, 3, 4, 0, padded, mask);
    ok(padded[0] == 1 && padded[3] == 0 && padded[4] == 4 && padded[5] == 0
           && mask[3] == 1 && mask[2] == 0 && mask[5] == 1 && mask[8] == 0
           && mask[10] == 1,
       "padding fills with 0 and marks exactly the padding");
    int packed[2 * 6];
    int fitted = tp_pack(seqs, lengths, 3, 6, 9, packed, 2);
    static const int expected[12] = {1, 2, 3, 9, 4, 9, 5, 6, 9, 9, 9, 9};
    ok(fitted == 3 && memcmp(packed, expected, sizeof expected) == 0,
       "packing puts 1 2 3 | 4 | in one row and 5 6 | in the next");
    /* <<t-data: shuffling>> */
    int counts[3] = {0, 0, 0};
    bool permutation = true;
    for (int trial = 0; trial < 30000; trial++) {
        int items[3] = {0, 1, 2};
        tp_shuffle(items, 3, &rng);
        permutation &= items[0] + items[1] + items[2] == 3
                       && items[0] != items[1] && items[1] != items[2];
        counts[items[0]]++;
    }
    ok(permutation, "a shuffle is a permutation");
    bool uniform = true;
    for (int i = 0; i < 3; i++)
        uniform &= fabs(counts[i] - 10000.0) < 5 * 81.6;
    ok(uniform, "each item comes first a third of the time (%d %d %d)",
       counts[0], counts[1], counts[2]);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        bail_out("cannot make %s", dir);
    if (general_tests()) {
        corpora();
        tokenisers();
    }
    if (exercise_tests("data.bpe-merges"))
        gpt2_tokeniser();
    if (general_tests())
        gpt2_pieces();
    if (exercise_tests("data.bpe-merges"))
        learned_vocabulary();
    if (general_tests()) {
        tasks();
        batches();
    }
    char command[64];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
