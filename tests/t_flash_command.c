/* Generated from book/385-hardware.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-flash-command: checks>> */
    struct tap_outcome listed = tp("bench flash --list");
    ok(listed.status == 0 && strstr(listed.output, "attention-backward")
           && strstr(listed.output, "split over the keys"),
       "tp bench flash --list names the operations and their versions");
    struct tap_outcome width = tp("bench flash --dims 64,96");
    ok(width.status == 1 && strstr(width.output, "head dimension 96: the kernels "
                                                 "are compiled for 64 and 128"),
       "tp bench flash refuses a head width that is not compiled");
    struct tap_outcome list = tp("bench flash --contexts 1024,,2");
    ok(list.status == 1 && strstr(list.output, "positive numbers"),
       "tp bench flash refuses a malformed list of lengths");
    struct tap_outcome unknown = tp("bench flash attn");
    ok(unknown.status == 2 && strstr(unknown.output, "no operation 'attn'"),
       "tp bench flash refuses an operation it does not know");
    struct tap_outcome small = tp("bench flash attention --contexts 40 --dims 64 "
                                  "--heads 2 --repeat 2");
    ok(small.status == 0 ? strstr(small.output, "online softmax") != NULL
                         : small.status == 1
                               && strstr(small.output, "no CUDA device") != NULL,
       "tp bench flash runs, or says that there is no CUDA device");
    /* <<t-flash-command: checks>> */
    struct tap_outcome roof = tp("hardware roofline --rows 64 --cols 64 --size 64 "
                                 "--repeat 1 --threads 1 --no-step --tsv "
                                 "/tmp/tp-flash-roofline.tsv");
    FILE *table = fopen("/tmp/tp-flash-roofline.tsv", "r");
    char text[4096] = "";
    size_t got = table ? fread(text, 1, sizeof text - 1, table) : 0;
    text[got] = '\0';
    ok(roof.status == 0 && strstr(roof.output, "LayerNorm")
           && strstr(text, "peak_gflops") && strstr(text, "GELU\t1\t"),
       "tp hardware roofline measures the operations and writes their table");
    if (table != NULL)
        fclose(table);
    remove("/tmp/tp-flash-roofline.tsv");
    return done_testing();
}
