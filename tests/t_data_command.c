/* Generated from book/170-data.nw; edit the book, not this file. */
#include "command.h"

/* <<t-data-command: tokenize>> */
static void write_tokenizer(const char *merges)
{
    mkdir("/tmp/tp-tokenize", 0700);
    FILE *f = fopen("/tmp/tp-tokenize/vocab.json", "w");
    fputs("{", f);
    for (int b = 0, extra = 0; b < 256; b++) {
        bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172)
                         || b >= 174;
        fprintf(f, "\"\\u%04x\": %d, ", printable ? b : 256 + extra++, b);
    }
    fputs("\"\\u0120=\": 256}", f);
    fclose(f);
    f = fopen("/tmp/tp-tokenize/merges.txt", "w");
    fputs(merges, f);
    fclose(f);
}

int main(void)
{
    find_program();
    /* <<t-data-command: checks>> */
    struct tap_outcome stats = tp("data stats");
    ok(stats.status == 0 && strstr(stats.output, "the book (embedded)"),
       "tp data stats describes the embedded book");
    FILE *f = fopen("/tmp/tp-empty.txt", "w");
    fclose(f);
    f = fopen("/tmp/tp-binary.dat", "wb");
    fwrite("\x7f" "ELF\0\0\0", 1, 7, f);
    fclose(f);
    struct tap_outcome missing_data = tp("data stats --data /nonexistent/x.txt");
    ok(missing_data.status != 0 && strstr(missing_data.output, "cannot read"),
       "a missing data file gets a one-line error");
    struct tap_outcome empty_data = tp("data stats --data /tmp/tp-empty.txt");
    ok(empty_data.status != 0 && strstr(empty_data.output, "is empty"),
       "an empty data file gets a one-line error");
    struct tap_outcome binary_data = tp("data stats --data /tmp/tp-binary.dat");
    ok(binary_data.status != 0 && strstr(binary_data.output, "binary"),
       "a binary data file gets a one-line error");
    struct tap_outcome endless = tp("data stats --data /dev/zero");
    ok(endless.status == 1 && strstr(endless.output, "not a regular file"),
       "a device as data is refused, not read forever");
    unlink("/tmp/tp-fifo");
    struct tap_outcome fifo = mkfifo("/tmp/tp-fifo", 0600) == 0
                                  ? tp("data stats --data /tmp/tp-fifo")
                                  : (struct tap_outcome){.status = -1};
    ok(fifo.status == 1 && strstr(fifo.output, "not a regular file"),
       "a FIFO as data is refused at once, not waited on");
    unlink("/tmp/tp-fifo");
    /* <<t-data-command: more bad data input>> */
    struct tap_outcome zero = tp("data sample --length 0");
    ok(zero.status == 2 && strstr(zero.output, "--length must be an integer "
                                               "from 1 to 200"),
       "a zero-length sequence is refused");
    struct tap_outcome too_long = tp("data sample --task addition --length 19");
    ok(too_long.status == 2 && strstr(too_long.output, "at most 18"),
       "a length past what a named task takes is refused, not capped");
    struct tap_outcome capped = tp("data sample --count 1 --length 50");
    ok(capped.status == 0 && strstr(capped.output, "the addition task takes a "
                                                   "length of at most 18"),
       "asked for all tasks, a task that takes less says so");
    struct tap_outcome no_task = tp("data sample --task juggle");
    ok(no_task.status == 2 && strstr(no_task.output, "no task is named"),
       "an unknown task is refused");
    struct tap_outcome tokenizer = tp("data stats --tokenizer words");
    ok(tokenizer.status == 2 && strstr(tokenizer.output, "bytes or chars"),
       "an unknown tokeniser is refused");
    /* Root may read any file whatever its permissions; /proc/self/mem is one
       that opens but cannot be read from its start, even by root. */
    const char *unreadable_path = "/proc/self/mem";
    if (getuid() != 0) {
        unreadable_path = "/tmp/tp-unreadable.txt";
        f = fopen(unreadable_path, "w");
        fputs("secret\n", f);
        fclose(f);
        chmod(unreadable_path, 0);
    }
    char command[128];
    snprintf(command, sizeof command, "data stats --data %s", unreadable_path);
    struct tap_outcome unreadable = tp(command);
    ok(unreadable.status != 0 && strstr(unreadable.output, "cannot read"),
       "an unreadable data file gets a one-line error");
    unlink("/tmp/tp-unreadable.txt");
    unlink("/tmp/tp-empty.txt");
    unlink("/tmp/tp-binary.dat");
    /* <<t-data-command: more bad data input>> */
    write_tokenizer("#version: 0.2\n\xc4\xa0 =\n");
    f = fopen("/tmp/tp-tokenize/x.txt", "w");
    fputs("x = 1;", f);
    fclose(f);
    const char *dir = "--tokenizer /tmp/tp-tokenize";
    snprintf(command, sizeof command, "tokenize %s /tmp/tp-tokenize/x.txt", dir);
    struct tap_outcome ids = tp(command);
    ok(ids.status == 0 && strncmp(ids.output, "120 256 32 49 59\n", 17) == 0
           && strstr(ids.output, "6 bytes, 5 tokens"),
       "tp tokenize: \"x = 1;\" is 120 256 32 49 59, counts on standard error");
    snprintf(command, sizeof command, "tokenize %s --pieces /tmp/tp-tokenize/x.txt",
             dir);
    struct tap_outcome pieces = tp(command);
    ok(pieces.status == 0
           && strncmp(pieces.output, "x \xe2\x90\xa3= \xe2\x90\xa3 1 ;\n", 15) == 0,
       "--pieces writes each token, spaces visible");
    struct tap_outcome by_file = tp("tokenize --tokenizer /tmp/tp-tokenize/vocab.json "
                                    "/tmp/tp-tokenize/x.txt");
    ok(by_file.status == 0 && strncmp(by_file.output, "120 256 32 49 59\n", 17) == 0,
       "--tokenizer may name the vocab.json, merges.txt beside it");
    struct tap_outcome no_file = tp("tokenize --tokenizer /tmp/tp-tokenize/none.json "
                                    "/tmp/tp-tokenize/x.txt");
    ok(no_file.status == 1 && strstr(no_file.output, "none.json")
           && strchr(no_file.output, '\n') == no_file.output + strlen(no_file.output) - 1,
       "a missing vocab.json gets a one-line error");
    /* <<t-data-command: tokenize back and forth>> */
    char pipeline[512];
    snprintf(pipeline, sizeof pipeline, "tokenize %s /tmp/tp-tokenize/x.txt "
             "2>/dev/null | %s tokenize --decode %s", dir, getenv("TP_PROGRAM"), dir);
    struct tap_outcome back = tp(pipeline);
    ok(back.status == 0 && strncmp(back.output, "x = 1;", 6) == 0,
       "--decode turns the ids back into the text");
    f = fopen("/tmp/tp-tokenize/bad.txt", "w");
    fputs("\xff\xfe", f);
    fclose(f);
    struct tap_outcome invalid = tp("tokenize < /tmp/tp-tokenize/bad.txt");
    ok(invalid.status == 0 && strstr(invalid.output, "255 254\n"),
       "bytes that are not UTF-8 are encoded, one by one");
    f = fopen("/tmp/tp-tokenize/ids.txt", "w");
    fputs("1 2 256\n", f);
    fclose(f);
    struct tap_outcome out_of_range = tp("tokenize --decode < /tmp/tp-tokenize/ids.txt");
    ok(out_of_range.status == 1 && strstr(out_of_range.output, "token 3, '256', "
                                          "is not an id from 0 to 255"),
       "an id out of range for --decode gets a one-line error");
    write_tokenizer("\xc4\xa0 =\nq z\n");
    snprintf(command, sizeof command, "tokenize %s /tmp/tp-tokenize/x.txt", dir);
    struct tap_outcome disagree = tp(command);
    ok(disagree.status == 1 && strstr(disagree.output, "line 2")
           && strstr(disagree.output, "lacks"),
       "a vocabulary and merges that disagree get a one-line error");
    f = fopen("/tmp/tp-tokenize/vocab.json", "w");
    fputs("{\"a\": 0, \"b\": 0}", f);
    fclose(f);
    struct tap_outcome repeated = tp(command);
    ok(repeated.status == 1 && strstr(repeated.output, "a repeated id 0"),
       "a repeated token id gets a one-line error");
    f = fopen("/tmp/tp-tokenize/vocab.json", "w");
    fputs("{\"a\": 0, \"b\": 2}", f);
    fclose(f);
    struct tap_outcome beyond = tp(command);
    ok(beyond.status == 1 && strstr(beyond.output, "a bad id 2 (ids are 0 to 1"),
       "a token id out of range gets a one-line error");
    if (system("rm -rf /tmp/tp-tokenize") != 0)
        diag("could not remove /tmp/tp-tokenize");
    return done_testing();
}
