/* Generated from book/315-fixed-context.nw; edit the book, not this file. */
#include "command.h"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *text = calloc(1 << 16, 1);
    if (text != NULL)
        (void)fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    return text;
}

static bool one_line(const char *text)
{
    const char *newline = strchr(text, '\n');
    return newline != NULL && newline[1] == '\0';
}

/* <<t-context-command: the measurements>> */
static void measurements(void)
{
    const char *tsv = "/tmp/tp-context-compare.tsv";
    unlink(tsv);
    struct tap_outcome o = tp("context compare --steps 2 --window 16 --width 8 "
                              "--heads 2 --layers 1 --state 2 --batch 2 "
                              "--chunk 4 --k 2 --trials 2 --longest 16 "
                              "--memory 8 --memory-k 2 --tsv "
                              "/tmp/tp-context-compare.tsv");
    char *table = read_all(tsv);
    ok(o.status == 0 && table != NULL && strstr(table, "# machine")
           && strstr(table, "gpt\t16\t") && strstr(table, "xl\t16\t")
           && strstr(table, "rag-tfidf\t8\t")
           && strstr(table, "knn-memory\t16\t") && strstr(table, "mamba\t8\t")
           && strstr(table, "recall-tfidf\t16\t"),
       "context compare trains the three models and writes every reader's "
       "row");
    free(table);
    unlink(tsv);
    o = tp("context decode --width 8 --layers 1 --heads 2 --state 2 "
           "--longest 512 --tokens 2 --threads 1");
    ok(o.status == 0 && strstr(o.output, "\n    512   1 "),
       "context decode times both models up to the longest context");
    o = tp("context knn --width 4 --k 2 --largest 4096 --queries 2");
    ok(o.status == 0 && strstr(o.output, "\n    4096 "),
       "context knn times the memory up to the largest size");
}

/* <<t-context-command: retrieval on a text>> */
static void retrieval_on_a_text(void)
{
    const char *path = "/tmp/tp-context-text.txt";
    FILE *f = fopen(path, "w");
    if (f == NULL)
        bail_out("cannot write %s", path);
    fputs("abcabcabcabcabca" "abcZZabcabcabcab" "cbacbacbacbacbac", f);
    fclose(f);
    struct tap_outcome o = tp("context retrieve --text "
                              "/tmp/tp-context-text.txt --query Z --chunk 16 "
                              "--k 3");
    ok(o.status == 0 && strncmp(o.output, "  1  ", 5) == 0,
       "retrieval ranks the only chunk holding the query first");
    o = tp("context retrieve --text /tmp/tp-context-text.txt --chunk 16 --k 4");
    ok(o.status == 1 && one_line(o.output)
           && strstr(o.output, "--k 4 is more than the 3 chunks"),
       "k larger than the number of chunks: one line, exit 1");
    unlink(path);
}

/* <<t-context-command: bad input>> */
static void bad_input(void)
{
    const char *tsv = "/tmp/tp-context-refused.tsv";
    unlink(tsv);
    struct tap_outcome o = tp("context compare --window 32 --chunk 16 --k 2 "
                              "--tsv /tmp/tp-context-refused.tsv");
    struct stat st;
    ok(o.status == 1 && one_line(o.output) && stat(tsv, &st) != 0
           && strstr(o.output, "leave no room for the question"),
       "retrieved chunks filling the window: one line, exit 1, nothing "
       "written");
    o = tp("context compare --memory 2000000 --tsv /tmp/tp-context-refused.tsv");
    ok(o.status != 0 && one_line(o.output) && stat(tsv, &st) != 0
           && strstr(o.output, "--memory must be an integer from 1 to"),
       "a kNN memory larger than allowed: one line, nothing written");
    o = tp("context retrieve --text /tmp/tp-no-such-text");
    ok(o.status == 1 && one_line(o.output)
           && strstr(o.output, "cannot read /tmp/tp-no-such-text"),
       "a missing text: one line, exit 1");
}

int main(void)
{
    find_program();
    measurements();
    retrieval_on_a_text();
    bad_input();
    return done_testing();
}
