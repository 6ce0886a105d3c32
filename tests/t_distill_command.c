/* Generated from book/320-decoding.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-distill-command: checks>> */
    const char *teacher = "/tmp/tp-distill-teacher.safetensors";
    struct tap_outcome trained = tp("gpt train --steps 3 --batch 2 --context 48 "
                                    "--layers 2 --heads 2 --width 16 --out "
                                    "/tmp/tp-distill-teacher.safetensors");
    struct tap_outcome run = tp("decoding distill --teacher "
                                "/tmp/tp-distill-teacher.safetensors --steps 2 "
                                "--batch 2 --context 48 --layers 1 --heads 2 "
                                "--width 8 --tokens 16 --rounds 1 --tsv "
                                "/tmp/tp-distill.tsv");
    ok(trained.status == 0 && run.status == 0
           && strstr(run.output, "plain draft: validation loss")
           && strstr(run.output, "distilled draft: validation loss")
           && access("/tmp/tp-distill.tsv", R_OK) == 0,
       "tp decoding distill trains and measures both drafts, and writes its "
       "table");
    unlink("/tmp/tp-distill.tsv");
    /* <<t-distill-command: bad input>> */
    tp_gpt *other = tp_gpt_new((tp_gpt_config){100, 48, 1, 2, 8,
                                               TP_POSITIONS_LEARNED});
    tp_error error;
    tp_gpt_save(other, "/tmp/tp-distill-other.safetensors", NULL, 0, NULL,
                &error);
    tp_gpt_free(other);
    const struct {
        const char *options, *message;
    } refused[] = {
        {"--temperature 0", "--temperature must be positive, not 0"},
        {"--weight 1.5", "--weight must be from 0 to 1, not 1.5"},
        {"--weight -0.1", "--weight must be from 0 to 1, not -0.1"},
        {"--context 64", "--context 64, but the teacher "
                         "/tmp/tp-distill-teacher.safetensors has 48 positions"},
    };
    for (int i = 0; i < 4; i++) {
        char line[256];
        snprintf(line, sizeof line, "decoding distill --teacher %s %s", teacher,
                 refused[i].options);
        struct tap_outcome o = tp(line);
        ok(o.status == 1 && strstr(o.output, refused[i].message)
               && strchr(o.output, '\n') == o.output + o.length - 1,
           "%s is refused with one line", refused[i].options);
    }
    struct tap_outcome vocab = tp("decoding distill --teacher "
                                  "/tmp/tp-distill-other.safetensors");
    ok(vocab.status == 1
           && strstr(vocab.output, "the teacher /tmp/tp-distill-other.safetensors "
                     "has 100 tokens but the draft reads bytes, 256"),
       "a teacher of another vocabulary is refused");
    unlink("/tmp/tp-distill-other.safetensors");
    unlink(teacher);
    return done_testing();
}
