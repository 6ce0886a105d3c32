/* Generated from book/175-command.nw; edit the book, not this file. */
#include <signal.h>
#include <sys/stat.h>

#include "tap.h"
#include "tp.h"

static const char *program;
static const char *arguments;

static int run_program(void)
{
    char line[512];
    snprintf(line, sizeof line, "%s %s", program, arguments);
    execl("/bin/sh", "sh", "-c", line, (char *)NULL);
    return 127;
}

static struct tap_outcome tp(const char *args)
{
    arguments = args;
    return tap_run(run_program);
}

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
    program = getenv("TP_PROGRAM");
    if (program == NULL)
        skip_all("TP_PROGRAM is not set (run the tests with make check)");
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
    /* <<t-command: training and interrupting>> */
    struct tap_outcome trained = tp("bigram train --steps 30 --batch 4 --context 16 "
                                    "--out /tmp/tp-bigram.safetensors");
    ok(trained.status == 0 && strstr(trained.output, "validation loss")
           && strstr(trained.output, "step 30/30")
           && checkpoint_loads("/tmp/tp-bigram.safetensors"),
       "tp bigram train reports progress and saves a checkpoint that loads");
    char output[8192] = "";
    int status = interrupted_run("/tmp/tp-interrupted.safetensors", output,
                                 sizeof output);
    ok(status == 0 && strstr(output, "interrupted after")
           && checkpoint_loads("/tmp/tp-interrupted.safetensors"),
       "Ctrl-C stops training cleanly and saves a checkpoint that loads");
    if (status != 0)
        diag("status %d, output: %s", status, output);
    unlink("/tmp/tp-bigram.safetensors");
    unlink("/tmp/tp-interrupted.safetensors");
    /* <<t-command: the commands of later chapters>> */
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
    /* <<t-command: more bad data input>> */
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
    /* <<t-command: the commands of later chapters>> */
    struct tap_outcome list = tp("figures --list");
    ok(list.status == 0 && strstr(list.output, "attention-masks"),
       "tp figures --list lists the figures");
    struct tap_outcome unknown_figure = tp("figures no-such-figure");
    ok(unknown_figure.status == 2
           && strstr(unknown_figure.output, "no figure is named 'no-such-figure'"),
       "an unknown figure name is refused");
    struct tap_outcome nothing = tp("figures");
    ok(nothing.status == 2 && strstr(nothing.output, "--all or --list"),
       "tp figures without names says what it needs");
    /* <<t-command: the commands of later chapters>> */
    struct tap_outcome listed = tp("bench cuda --list");
    ok(listed.status == 0 && strstr(listed.output, "layernorm-backward")
           && strstr(listed.output, "tensor cores through mma.sync"),
       "tp bench cuda --list names the operations and their versions");
    struct tap_outcome misspelled = tp("bench cuda softmx");
    ok(misspelled.status == 2
           && strstr(misspelled.output, "no operation 'softmx'"),
       "tp bench cuda refuses an operation it does not know");
    struct tap_outcome small = tp("bench cuda softmax --rows 3 --cols 40 "
                                  "--repeat 2");
    ok(small.status == 0 ? strstr(small.output, "a warp per row") != NULL
                         : small.status == 1
                               && strstr(small.output, "no CUDA device") != NULL,
       "tp bench cuda runs, or says that there is no CUDA device");
    /* <<t-command: the commands of later chapters>> */
    struct tap_outcome train = tp("translate train --steps 4 --batch 4 "
                                  "--layers 1 --heads 2 --width 16 "
                                  "--eval-every 2 --out /tmp/tp-translate.safetensors");
    ok(train.status == 0 && strstr(train.output, "step 2: held-out exact match"),
       "tp translate train reports held-out accuracy");
    struct tap_outcome run = tp("translate run --model /tmp/tp-translate.safetensors "
                                "--beam 2 --test 5 --attention "
                                "/tmp/tp-translate.tsv 407 12");
    ok(run.status == 0 && strstr(run.output, "held-out exact match, beam")
           && strstr(run.output, "407\t") && strstr(run.output, "\n12\t")
           && access("/tmp/tp-translate.tsv", R_OK) == 0,
       "tp translate run translates, measures and writes the cross-attention");
    struct tap_outcome big = tp("translate run --model /tmp/tp-translate.safetensors "
                                "1000000000");
    ok(big.status == 2 && strstr(big.output, "not a number from 0 to 999999999"),
       "a number of ten digits is refused");
    unlink("/tmp/tp-translate.safetensors");
    unlink("/tmp/tp-translate.tsv");
    /* <<t-command: the commands of later chapters>> */
    struct tap_outcome pre = tp("bert pretrain --steps 4 --batch 4 --length 16 "
                                "--vocab 300 --layers 1 --heads 2 --width 16 "
                                "--eval-every 2 --out /tmp/tp-bert.safetensors");
    ok(pre.status == 0 && strstr(pre.output, "step 2: validation loss")
           && access("/tmp/tp-bert.vocab", R_OK) == 0,
       "tp bert pretrain validates and saves the model and its vocabulary");
    struct tap_outcome fill = tp("bert fill --model /tmp/tp-bert.safetensors "
                                 "--top 3 --attention /tmp/tp-bert.tsv "
                                 "'the [MASK] is [MASK] .'");
    ok(fill.status == 0 && strstr(fill.output, "[MASK] 2:")
           && access("/tmp/tp-bert.tsv", R_OK) == 0,
       "tp bert fill predicts every [MASK] and writes the attention");
    /* <<t-command: fine-tuning and the errors of tp bert>> */
    struct tap_outcome tuned = tp("bert finetune --model /tmp/tp-bert.safetensors "
                                  "--examples 50 --steps 3 --batch 4");
    struct tap_outcome scratch = tp("bert finetune --scratch --length 16 "
                                    "--vocab 300 --layers 1 --heads 2 --width 16 "
                                    "--steps 3 --batch 4");
    ok(tuned.status == 0 && strstr(tuned.output, "50 training lines")
           && strstr(tuned.output, "after pre-training on 50 lines: test accuracy")
           && scratch.status == 0 && strstr(scratch.output, "from scratch"),
       "tp bert finetune from a pre-trained model and from scratch");
    struct tap_outcome no_mask = tp("bert fill --model /tmp/tp-bert.safetensors "
                                    "'nothing to guess'");
    ok(no_mask.status == 2 && strstr(no_mask.output, "no [MASK]"),
       "a text without [MASK] is refused");
    unlink("/tmp/tp-bert.vocab");
    struct tap_outcome no_vocab = tp("bert fill --model /tmp/tp-bert.safetensors "
                                     "'the [MASK]'");
    ok(no_vocab.status == 1 && strstr(no_vocab.output, "tp-bert.vocab"),
       "a model without its vocabulary says which file is missing");
    unlink("/tmp/tp-bert.safetensors");
    unlink("/tmp/tp-bert.vocab");
    unlink("/tmp/tp-bert.tsv");
    /* <<t-command: the commands of later chapters>> */
    struct tap_outcome gpt = tp("gpt train --steps 4 --batch 2 --context 16 "
                                "--layers 1 --heads 2 --width 16 --eval-every 2 "
                                "--out /tmp/tp-gpt-command.safetensors");
    ok(gpt.status == 0 && strstr(gpt.output, "step 2: validation loss")
           && strstr(gpt.output, "unigram baseline"),
       "tp gpt train reports validation losses and the unigram baseline");
    struct tap_outcome s1 = tp("gpt sample --model /tmp/tp-gpt-command.safetensors "
                               "--prompt abc --tokens 8 --seed 5");
    struct tap_outcome s2 = tp("gpt sample --model /tmp/tp-gpt-command.safetensors "
                               "--prompt abc --tokens 8 --seed 5");
    ok(s1.status == 0 && strncmp(s1.output, "abc", 3) == 0
           && strcmp(s1.output, s2.output) == 0,
       "tp gpt sample continues the prompt, the same way for the same seed");
    struct tap_outcome hot = tp("gpt sample --model /tmp/tp-gpt-command.safetensors "
                                "--temperature -1");
    ok(hot.status == 2 && strstr(hot.output, "--temperature must be a number "
                                             "from 0 to 100"),
       "a negative temperature is refused");
    /* <<t-command: gpt attention writes rows of weights>> */
    struct tap_outcome maps = tp("gpt attention --model "
                                 "/tmp/tp-gpt-command.safetensors --prompt abcd "
                                 "--tsv /tmp/tp-gpt-attention.tsv");
    FILE *table = fopen("/tmp/tp-gpt-attention.tsv", "r");
    int rows = 0, distributions = 0;
    char row[512];
    while (table != NULL && fgets(row, sizeof row, table) != NULL) {
        int layer, head, query, used;
        if (sscanf(row, "%d.%d.%d%n", &layer, &head, &query, &used) != 3)
            continue;
        double w[4] = {0}, total = 0;
        char *cursor = row + used;
        for (int j = 0; j < 4; j++)
            total += w[j] = strtod(cursor, &cursor);
        rows++;
        distributions += fabs(total - 1) < 1e-4 && (query == 3 || w[3] == 0);
    }
    ok(maps.status == 0 && rows == 8 && distributions == 8,
       "tp gpt attention writes 8 rows, each a causal distribution (%d, %d)",
       rows, distributions);
    if (table != NULL)
        fclose(table);
    unlink("/tmp/tp-gpt-attention.tsv");
    unlink("/tmp/tp-gpt-command.safetensors");
    /* <<t-command: the commands of later chapters>> */
    struct tap_outcome bench = tp("gpt bench --steps 1 --rounds 1");
    ok(bench.status == 0 && strstr(bench.output, "GPT-I decoding")
           && strstr(bench.output, "GEMM floor"),
       "tp gpt bench reports training, the floor and decoding");
    /* <<t-command: the commands of later chapters>> */
    struct tap_outcome vit = tp("vit train --steps 4 --batch 4 --layers 1 "
                                "--heads 2 --width 8 --eval-every 2 "
                                "--out /tmp/tp-vit.safetensors");
    struct tap_outcome eval = tp("vit eval --model /tmp/tp-vit.safetensors "
                                 "--attention /tmp/tp-vit.tsv");
    ok(vit.status == 0 && strstr(vit.output, "step 2: test accuracy")
           && eval.status == 0 && strstr(eval.output, "test accuracy on shapes")
           && access("/tmp/tp-vit.tsv", R_OK) == 0,
       "tp vit train and tp vit eval on the shapes");
    /* <<t-command: a digits file in sklearn's format>> */
    FILE *csv = popen("gzip -c > /tmp/tp-digits.csv.gz", "w");
    for (int i = 0; csv != NULL && i < 1797; i++) {
        for (int j = 0; j < 64; j++)
            fprintf(csv, "%d.0,", (i * 7 + j * 3) % 17);
        fprintf(csv, "%d.0\n", i % 10);
    }
    bool written = csv != NULL && pclose(csv) == 0;
    struct tap_outcome digits = tp("vit train --data digits --digits "
                                   "/tmp/tp-digits.csv.gz --steps 2 --width 8 "
                                   "--layers 1 --out /tmp/tp-vit.safetensors");
    ok(written && digits.status == 0
           && strstr(digits.output, "16 patches of 4 pixels")
           && strstr(digits.output, "of 359)"),
       "a digits file trains on 16 patches of 2x2, tested on 359 images");
    unlink("/tmp/tp-digits.csv.gz");
    struct tap_outcome no_digits = tp("vit train --data digits --digits /nonexistent");
    ok(no_digits.status == 1 && strstr(no_digits.output, "apt-get install python3-sklearn"),
       "without the digits, tp vit train --data digits says where to get them");
    unlink("/tmp/tp-vit.safetensors");
    unlink("/tmp/tp-vit.tsv");
    /* <<t-command: the commands of later chapters>> */
    struct tap_outcome scaling = tp("bench attention --max 512 --rank 64 --tsv "
                                    "/tmp/tp-attention-scaling.tsv");
    ok(scaling.status == 0 && strstr(scaling.output, "tiled / naive")
           && strstr(scaling.output, "Linformer    16")
           && access("/tmp/tp-attention-scaling.tsv", R_OK) == 0,
       "tp bench attention measures, compares and writes its table");
    unlink("/tmp/tp-attention-scaling.tsv");
    /* <<t-command: the commands of later chapters>> */
    struct tap_outcome compare = tp("quadratic compare --steps 2 --eval-every 1 "
                                    "--context 64 --width 16 --layers 1 --heads 2 "
                                    "--tsv /tmp/tp-quadratic.tsv");
    ok(compare.status == 0 && strstr(compare.output, "linear  step    2")
           && strstr(compare.output, "# peak tiled")
           && access("/tmp/tp-quadratic.tsv", R_OK) == 0,
       "tp quadratic compare trains with each attention and writes its table");
    unlink("/tmp/tp-quadratic.tsv");
    return done_testing();
}
