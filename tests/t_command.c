/* Generated from book/175-command.nw; edit the book, not this file. */
#include "command.h"

/* <<t-command: checks>> */
static int interrupted_run(const char *checkpoint, char *output, size_t size)
{
    int ends[2];
    if (pipe(ends) != 0)
        bail_out("pipe: %s", strerror(errno));
    pid_t child = fork();
    if (child == 0) {
        dup2(ends[1], STDOUT_FILENO), dup2(ends[1], STDERR_FILENO);
        close(ends[0]), close(ends[1]);
        execl(program, program, "bigram", "train", "--steps", "100000000",
              "--out", checkpoint, (char *)NULL);
        _exit(127);
    }
    close(ends[1]);
    size_t used = 0;
    for (ssize_t n; !strstr(output, "step ") && used + 1 < size
                    && (n = read(ends[0], output + used, size - 1 - used)) > 0;)
        output[used += (size_t)n] = '\0';
    kill(child, SIGINT);
    tap_read_all(ends[0], output + used, size - used);
    close(ends[0]);
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
/* <<t-command: checks>> */
static bool checkpoint_loads(const char *path)
{
    tp_arena *arena = tp_arena_new("test");
    tp_params params = {0};
    tp_param_new(&params, arena, "bigram.logits", tp_shape2(256, 256));
    tp_error error;
    bool loaded = tp_safetensors_load(path, params.items, 1, NULL, &error) == 0;
    tp_params_free(&params);
    tp_arena_free(arena);
    return loaded;
}
/* <<t-command: checks>> */
int main(void)
{
    find_program();
    struct tap_outcome help = tp("help");
    is(help.status, 0, "tp help succeeds");
    ok(strstr(help.output, "bench matmul") != NULL,
       "tp help lists the commands");
    struct tap_outcome none = tp("");
    is(none.status, 2, "tp without a command is a usage error");
    struct tap_outcome unknown = tp("frobnicate");
    ok(unknown.status == 2 && strstr(unknown.output, "unknown command "
                                                     "'frobnicate'"),
       "an unknown command is named, with status 2");
    struct tap_outcome partial = tp("bench");
    ok(partial.status == 2 && strstr(partial.output, "tp bench matmul"),
       "a partial command lists the commands it could be");
    /* <<t-command: options>> */
    struct tap_outcome chelp = tp("bench matmul --help");
    ok(chelp.status == 0 && strstr(chelp.output, "--threads N"),
       "a command's --help lists its options");
    struct tap_outcome bad = tp("bench matmul --threads 0");
    ok(bad.status == 2 && strstr(bad.output, "--threads must be an integer "
                                             "from 1 to"),
       "an out-of-range number says what is allowed");
    struct tap_outcome junk = tp("bench matmul --repeat 12abc");
    ok(junk.status == 2 && strstr(junk.output, "not '12abc'"),
       "a number with trailing junk is refused");
    struct tap_outcome typo = tp("bench matmul --thread 2");
    ok(typo.status == 2 && strstr(typo.output, "unknown option '--thread'"),
       "an unknown option is named");
    struct tap_outcome missing = tp("bench matmul --threads");
    ok(missing.status == 2 && strstr(missing.output, "--threads needs a value"),
       "an option without its value is refused");
    /* <<t-command: the manual page and the completion>> */
    struct tap_outcome manual = tp("manual > /tmp/tp-manual.1");
    static char page[1 << 16];
    FILE *f = fopen("/tmp/tp-manual.1", "r");
    size_t length = f ? fread(page, 1, sizeof page - 1, f) : 0;
    page[length] = '\0';
    if (f != NULL)
        fclose(f);
    ok(manual.status == 0 && strncmp(page, ".TH TP 1 ", 9) == 0
           && strstr(page, "\n.SS \"tp gpt train\"\n")
           && strstr(page, "\n\\fB\\-\\-save\\-every\\fR \\fIN\\fR\n")
           && strstr(page, "\n.SS \"tp bench matmul\"\n")
           && strstr(page, "(1 to 1024)"),
       "tp manual writes a man page with the commands, options and ranges");
    unlink("/tmp/tp-manual.1");
    struct tap_outcome completion = tp(
        "completion > /tmp/tp-completion.bash && bash -c '. "
        "/tmp/tp-completion.bash; c() { COMP_WORDS=(\"$@\"); "
        "COMP_CWORD=$(($# - 1)); _tp; echo \"${COMPREPLY[*]}\"; }; "
        "c tp bigr; c tp bench mat; c tp gpt train --save'");
    ok(completion.status == 0
           && strcmp(completion.output, "bigram\nmatmul\n--save-every\n") == 0,
       "tp completion completes commands, second words and options in bash");
    if (completion.status != 0 || manual.status != 0)
        diag("%s%s", manual.output, completion.output);
    unlink("/tmp/tp-completion.bash");
    /* <<t-command: training and interrupting>> */
    struct tap_outcome nowhere = tp("bigram train --steps 3 --batch 2 --context 8 "
                                    "--out /nonexistent/tp/bigram.safetensors");
    ok(nowhere.status == 1 && strstr(nowhere.output, "cannot write")
           && !strstr(nowhere.output, "step "),
       "an output that cannot be written is refused before the first step");
    struct tap_outcome directory = tp("gpt train --steps 1 --batch 1 --context 8 "
                                      "--layers 1 --heads 1 --width 8 --out /tmp");
    ok(directory.status == 1 && strstr(directory.output, "not a regular file"),
       "an output that is a directory is refused before the first step");
    struct tap_outcome trained = tp("bigram train --steps 30 --batch 4 --context 16 "
                                    "--out /tmp/tp-bigram.safetensors");
    ok(trained.status == 0 && strstr(trained.output, "validation loss")
           && strstr(trained.output, "step 30/30")
           && checkpoint_loads("/tmp/tp-bigram.safetensors"),
       "tp bigram train reports progress and saves a checkpoint that loads");
    char output[8192] = "";
    int status = interrupted_run("/tmp/tp-interrupted.safetensors", output,
                                 sizeof output);
    ok(status == 128 + SIGINT && strstr(output, "interrupted after")
           && checkpoint_loads("/tmp/tp-interrupted.safetensors"),
       "Ctrl-C stops training cleanly and saves a checkpoint that loads");
    if (status != 128 + SIGINT)
        diag("status %d, output: %s", status, output);
    unlink("/tmp/tp-bigram.safetensors");
    unlink("/tmp/tp-interrupted.safetensors");
    return done_testing();
}
