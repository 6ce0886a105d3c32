/* Generated from book/990-hidden-tests.nw; edit the book, not this file. */
/* The hidden tests of exercise data.bpe-merges. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "gpt2_files.h"
#include "tap.h"
#include "tp.h"

static bool encodes_to(const tp_tokenizer *t, const char *text,
                       const int *expected, int n)
{
    int ids[64];
    long count = tp_encode(t, (const unsigned char *)text, (long)strlen(text),
                           ids);
    return count == n && memcmp(ids, expected, (size_t)n * sizeof *ids) == 0;
}

int main(void)
{
    char dir[] = "/tmp/tp-hidden-XXXXXX";
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL || mkdtemp(dir) == NULL)
        bail_out("no C.UTF-8 locale, or no temporary directory");
    if (exercise_tests("data.bpe-merges")) {
        write_gpt2_vocabulary(dir, true,
                              "\"bc\": 256, \"ab\": 257, \"aa\": 258, "
                              "\"aaaa\": 259",
                              "b c\na b\na a\naa aa\n");
        char vocab[600], merges[600];
        snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
        snprintf(merges, sizeof merges, "%s/merges.txt", dir);
        tp_tokenizer t;
        tp_error error = {""};
        if (tp_tokenizer_gpt2(vocab, merges, &t, &error) != 0)
            bail_out("%s", error.message);
        int a = byte_id('a');
        ok(encodes_to(&t, "abc", (const int[]){a, 256}, 2),
           "\"abc\" is a / bc: the higher-ranked pair merges first");
        ok(encodes_to(&t, "aaaa", (const int[]){259}, 1),
           "\"aaaa\" is one token, after a a twice and aa aa");
        ok(encodes_to(&t, "aaa", (const int[]){258, a}, 2),
           "\"aaa\" is aa / a");
        ok(encodes_to(&t, "abcabc", (const int[]){a, 256, a, 256}, 4),
           "a repeated word merges in both places");
        tp_tokenizer_free(&t);
    }
    char command[64];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
