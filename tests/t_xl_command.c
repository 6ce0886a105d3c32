/* Generated from book/240-xl.nw; edit the book, not this file. */
#include "command.h"

#define TINY "--batch 2 --context 8 --memory 8 --layers 1 --heads 2 --width 8"
#define RUN "/tmp/tp-xl-command.safetensors"

/* <<t-xl-command: train, resume, evaluate, write>> */
static void train_resume_evaluate_write(void)
{
    struct tap_outcome run = tp("xl train --steps 4 --eval-every 2 " TINY
                                " --out " RUN);
    ok(run.status == 0 && strstr(run.output, "step 2: validation loss")
           && strstr(run.output, "done at step 4"),
       "tp xl train reports validation losses with its memory and saves");
    struct tap_outcome more = tp("xl train --steps 6 " TINY " --resume " RUN
                                 " --out " RUN);
    ok(more.status == 0 && strstr(more.output, "done at step 6"),
       "and --resume continues the run");
    struct tap_outcome eval = tp("xl eval --model " RUN " --memory 24 "
                                 "--segments 3 --batch 2");
    ok(eval.status == 0 && strstr(eval.output, "validation loss")
           && strstr(eval.output, "memory 24"),
       "tp xl eval reads the validation part with a longer memory");
    struct tap_outcome s1 = tp("xl sample --model " RUN " --prompt abc "
                               "--tokens 20 --memory 4 --seed 5");
    struct tap_outcome s2 = tp("xl sample --model " RUN " --prompt abc "
                               "--tokens 20 --memory 4 --seed 5");
    ok(s1.status == 0 && strncmp(s1.output, "abc", 3) == 0
           && strcmp(s1.output, s2.output) == 0,
       "tp xl sample writes past its memory, the same way for the same seed");
    struct tap_outcome compare = tp("xl compare --steps 2 --batch 2 --context 8 "
                                    "--layers 1 --heads 2 --width 8 --segments 2 "
                                    "--generate 4 --tsv /tmp/tp-xl-compare.tsv");
    ok(compare.status == 0 && strstr(compare.output, "gpt-sliding")
           && strstr(compare.output, "XL with a memory")
           && access("/tmp/tp-xl-compare.tsv", R_OK) == 0,
       "tp xl compare trains both, reads every way, times decoding and writes "
       "its table");
    unlink("/tmp/tp-xl-compare.tsv");
    struct tap_outcome one = tp("xl compare --steps 2 --batch 2 --context 8 "
                                "--layers 1 --heads 2 --width 8 --segments 1 "
                                "--generate 4");
    const char *segments = strstr(one.output, "gpt-segments");
    const char *sliding = strstr(one.output, "gpt-sliding");
    ok(segments != NULL && sliding != NULL
           && strncmp(segments + 12, sliding + 12, 26) == 0,
       "on one segment the sliding window reads the segment's windows: the "
       "same mean past and loss");
}

/* <<t-xl-command: refusals>> */
static void refusals(void)
{
    struct tap_outcome odd = tp("xl train --width 9 --heads 3");
    ok(odd.status == 2 && strstr(odd.output, "must be even"),
       "an odd width is refused: %s", odd.output);
    struct tap_outcome shape = tp("xl train --steps 8 --layers 2 --resume " RUN
                                  " --out " RUN);
    ok(shape.status == 1 && strstr(shape.output, "keeps its model's shape"),
       "a resumed run keeps its shape");
    struct tap_outcome none = tp("xl eval --model /nonexistent/xl.safetensors");
    ok(none.status == 1 && strchr(none.output, '\n') == strrchr(none.output,
                                                                 '\n'),
       "a missing model is one line: %s", none.output);
    tp_gpt *m = tp_gpt_new((tp_gpt_config){256, 8, 1, 1, 8,
                                           TP_POSITIONS_LEARNED});
    tp_error error;
    tp_gpt_save(m, "/tmp/tp-xl-gpt.safetensors", NULL, 0, NULL, &error);
    tp_gpt_free(m);
    struct tap_outcome gpt = tp("xl sample --model /tmp/tp-xl-gpt.safetensors");
    ok(gpt.status == 1 && strstr(gpt.output, "not a Transformer-XL"),
       "a GPT's checkpoint is refused: %s", gpt.output);
    unlink("/tmp/tp-xl-gpt.safetensors");
    /* <<t-xl-command: GPT's sampler refuses a Transformer-XL>> */
    struct tap_outcome xl = tp("gpt sample --model " RUN " --tokens 4");
    ok(xl.status == 1 && strstr(xl.output, "is a Transformer-XL")
           && strchr(xl.output, '\n') == strrchr(xl.output, '\n'),
       "tp gpt sample refuses a Transformer-XL in one line: %s", xl.output);
    tp_gpt *nope = tp_gpt_new((tp_gpt_config){256, 8, 1, 1, 8,
                                              TP_POSITIONS_NONE});
    tp_gpt_save(nope, "/tmp/tp-xl-nope.safetensors", NULL, 0, NULL, &error);
    tp_gpt_free(nope);
    struct tap_outcome plain = tp("gpt sample --model /tmp/tp-xl-nope.safetensors "
                                  "--prompt ab --tokens 4");
    ok(plain.status == 0, "and samples a GPT without positions (exit %d)",
       plain.status);
    unlink("/tmp/tp-xl-nope.safetensors");
}

/* <<t-xl-command: Ctrl-C>> */
static void interrupted_runs(void)
{
    unlink("/tmp/tp-xl-stopped.safetensors");
    struct tap_outcome stopped = tp(
        "xl train --steps 100000 --eval-every 100000 --save-every 3 " TINY
        " --out /tmp/tp-xl-stopped.safetensors & until [ -e "
        "/tmp/tp-xl-stopped.safetensors ]; do sleep 0.1; done; kill -INT $!; "
        "wait $!");
    tp_error error;
    tp_xl *m = tp_xl_load("/tmp/tp-xl-stopped.safetensors", &error);
    ok(stopped.status == 130 && strstr(stopped.output, "interrupted at step")
           && m != NULL,
       "Ctrl-C stops a run, which saves where it stopped");
    tp_xl_free(m);
    unlink("/tmp/tp-xl-stopped.safetensors");
    if (system("rm -rf /tmp/tp-xl-gone && mkdir /tmp/tp-xl-gone") != 0)
        diag("could not make /tmp/tp-xl-gone");
    struct tap_outcome gone = tp(
        "xl train --steps 100000 --eval-every 100000 --save-every 3 " TINY
        " --out /tmp/tp-xl-gone/m.safetensors & until [ -e "
        "/tmp/tp-xl-gone/m.safetensors ]; do sleep 0.1; done; until rm -rf "
        "/tmp/tp-xl-gone 2>/dev/null; do :; done; kill -TERM $!; wait $!");
    const char *kept = strstr(gone.output, "the run is kept in ");
    char rescue[256] = "";
    if (kept != NULL)
        sscanf(kept + strlen("the run is kept in "), "%255s", rescue);
    tp_xl *rescued = rescue[0] ? tp_xl_load(rescue, &error) : NULL;
    ok(gone.status == 1 && rescued != NULL,
       "a run whose final save fails is kept elsewhere, and the message says "
       "where");
    tp_xl_free(rescued);
    if (rescue[0])
        unlink(rescue);
}

int main(void)
{
    find_program();
    train_resume_evaluate_write();
    refusals();
    interrupted_runs();
    unlink(RUN);
    return done_testing();
}
