/* Generated from book/330-data-hunger.nw; edit the book, not this file. */
#include "command.h"

static int count_lines(const char *s)
{
    int count = 0;
    for (; *s != '\0'; s++)
        count += *s == '\n';
    return count;
}

int main(void)
{
    find_program();
    /* <<t-datahunger-command: checks>> */
    struct tap_outcome run = tp("datahunger compare --labels 10,20 --steps 2 "
                                "--pretrain 2 --source 2 --width 8 --heads 2 "
                                "--layers 1 --batch 4 "
                                "--tsv /tmp/tp-datahunger.tsv");
    ok(run.status == 0 && strstr(run.output, "reconstruction error")
           && strstr(run.output, "20 labels, seed 1:")
           && strstr(run.output, "DeiT") && access("/tmp/tp-datahunger.tsv",
                                                   R_OK) == 0,
       "tp datahunger compare trains every method at every budget");
    unlink("/tmp/tp-datahunger.tsv");
    const char *masks[3] = {"0", "1", "-0.5"};
    bool refused = true;
    for (int i = 0; i < 3; i++) {
        char command[128];
        snprintf(command, sizeof command, "datahunger compare --mask %s", masks[i]);
        struct tap_outcome o = tp(command);
        refused = refused && o.status == 1
                  && strstr(o.output, "is not strictly between 0 and 1")
                  && count_lines(o.output) == 1;
    }
    ok(refused, "mask ratios of 0, 1 and -0.5 are refused with one line");
    /* <<t-datahunger-command: bad files>> */
    FILE *f = fopen("/tmp/tp-hunger-empty.txt", "w");
    if (f != NULL)
        fclose(f);
    struct tap_outcome empty = tp("datahunger compare --data "
                                  "/tmp/tp-hunger-empty.txt");
    ok(empty.status == 1 && strstr(empty.output, "0 images; at least 10")
           && count_lines(empty.output) == 1,
       "an empty file is refused with one line");
    f = fopen("/tmp/tp-hunger-bad.txt", "w");
    for (int i = 0; f != NULL && i < 12; i++) {
        fprintf(f, "%d", i % 2);
        for (int j = 0; j < (i == 7 ? 63 : 64); j++)
            fprintf(f, " %.2f", (i * j % 7) / 7.0);
        fprintf(f, i == 9 ? " x\n" : "\n");
    }
    if (f != NULL)
        fclose(f);
    struct tap_outcome bad = tp("datahunger compare --data /tmp/tp-hunger-bad.txt");
    ok(bad.status == 1 && strstr(bad.output, "line 8: not a label and the same")
           && count_lines(bad.output) == 1,
       "a line of 63 pixels among lines of 64 is refused, with its number");
    struct tap_outcome missing = tp("datahunger compare --data /nonexistent/x");
    ok(missing.status == 1 && strstr(missing.output, "cannot read /nonexistent/x"),
       "a missing file is refused");
    /* <<t-datahunger-command: a good file>> */
    f = fopen("/tmp/tp-hunger-good.txt", "w");
    for (int i = 0; f != NULL && i < 12; i++) {
        fprintf(f, "%d", i % 2);
        for (int j = 0; j < 64; j++)
            fprintf(f, ",%.2f", (i * j % 7) / 7.0);
        fprintf(f, "\n");
    }
    if (f != NULL)
        fclose(f);
    struct tap_outcome good = tp("datahunger compare --data "
                                 "/tmp/tp-hunger-good.txt --labels 5 --steps 1 "
                                 "--pretrain 1 --source 1 --width 8 --heads 2 "
                                 "--layers 1 --batch 2");
    ok(good.status == 0 && strstr(good.output, "10 images of 8x8")
           && strstr(good.output, "5 labels, seed 1:"),
       "a file of twelve 8x8 images trains on ten, tests on two");
    unlink("/tmp/tp-hunger-good.txt");
    unlink("/tmp/tp-hunger-empty.txt");
    unlink("/tmp/tp-hunger-bad.txt");
    return done_testing();
}
