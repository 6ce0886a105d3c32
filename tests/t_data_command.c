/* Generated from book/170-data.nw; edit the book, not this file. */
#include "command.h"

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
    /* <<t-data-command: more bad data input>> */
    struct tap_outcome zero = tp("data sample --length 0");
    ok(zero.status == 2 && strstr(zero.output, "--length must be an integer "
                                               "from 1 to 200"),
       "a zero-length sequence is refused");
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
    return done_testing();
}
