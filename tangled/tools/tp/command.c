/* Generated from book/175-command.nw; edit the book, not this file. */
#include "program.h"

/* <<tp command: commands>> */
static int bigram_steps = 1000, bigram_batch = 16, bigram_context = 64,
           bigram_seed = 1;
static const char *bigram_out = "bigram.safetensors";

static const option bigram_options[] = {
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file or a directory of them (default: the book)"},
    {"--steps", OPTION_INT, &bigram_steps, 1, 100000000, "training steps"},
    {"--batch", OPTION_INT, &bigram_batch, 1, 4096, "windows per step"},
    {"--context", OPTION_INT, &bigram_context, 1, 65536, "bytes per window"},
    {"--seed", OPTION_INT, &bigram_seed, 0, 1000000000, "the seed"},
    {"--out", OPTION_STRING, &bigram_out, 0, 0,
     "the checkpoint to write (default: bigram.safetensors)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp command: commands>> */
typedef struct bigram {
    tp_tensor *table;
    const int *tokens;
    long n;
    tp_rng rng;
    int *inputs, *targets;
} bigram;

static tp_tensor *bigram_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    bigram *m = context;
    tp_random_windows(m->tokens, m->n, bigram_batch, bigram_context, &m->rng,
                      m->inputs, m->targets);
    tp_tensor *scores = tp_embedding(g, m->table, m->inputs,
                                     tp_shape2(bigram_batch, bigram_context));
    return tp_cross_entropy(g, scores, m->targets, -1);
}
/* <<tp command: commands>> */
static double bigram_validation(bigram *m, tp_arena *arena)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    double total = 0;
    for (int i = 0; i < 16; i++) {
        total += bigram_loss(&g, 0, m)->data[0];
        tp_graph_reset(&g);
    }
    return total / 16;
}
/* <<tp command: commands>> */
static int bigram_train(void)
{
    if (check_output("bigram train", bigram_out) != 0)
        return 1;
    tp_corpus corpus, train, validation;
    if (load_corpus("bigram train", &corpus) != 0)
        return 1;
    tp_corpus_split(&corpus, &train, &validation);
    if (validation.size <= bigram_context) {
        fprintf(stderr, "tp bigram train: the data (%ld bytes) is too short "
                "for windows of --context %d\n", corpus.size, bigram_context);
        tp_corpus_free(&corpus);
        return 1;
    }
    /* <<bigram: train, validate and save>> */
    tp_arena *arena = tp_arena_new("parameters"), *step = tp_arena_new("step");
    tp_params params = {0};
    int *tokens = malloc((size_t)corpus.size * sizeof *tokens);
    int *inputs = malloc(2 * (size_t)bigram_batch * (size_t)bigram_context
                         * sizeof *inputs);
    tp_check(tokens != NULL && inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, tokens);
    bigram m = {tp_param_new(&params, arena, "bigram.logits", tp_shape2(256, 256)),
                tokens, train.size, tp_rng_seeded((uint64_t)bigram_seed, 0),
                inputs, inputs + bigram_batch * bigram_context};
    /* <<bigram: run the training loop>> */
    tp_optimizer *opt = tp_adamw_new(&params, 0.95f, 0.0f);
    display shown = {.terminal = isatty(STDERR_FILENO)};
    tp_train_options o = {.steps = bigram_steps, .warmup = 20, .max_lr = 0.1f,
                          .min_lr = 0.01f, .clip = 1.0,
                          .tokens_per_step = (long)bigram_batch * bigram_context,
                          .progress = show_progress, .progress_context = &shown};
    tp_graph g = tp_graph_on(step);
    tp_error error;
    catch_interrupts();
    int status = tp_train(&g, &params, opt, &o, bigram_loss, &m, NULL, &error);
    long done = tp_optimizer_steps(opt);
    tp_optimizer_free(opt);
    if (status != 0)
        fprintf(stderr, "tp bigram train: %s\n", error.message);
    /* <<bigram: measure and save>> */
    if (status == 0) {
        m.tokens = tokens + train.size, m.n = validation.size;
        double loss = bigram_validation(&m, step);
        char steps_text[32];
        snprintf(steps_text, sizeof steps_text, "%ld", done);
        tp_metadata meta = {0};
        tp_metadata_set(&meta, "model", "bigram");
        tp_metadata_set(&meta, "steps", steps_text);
        status = tp_safetensors_save(bigram_out, params.items, params.count, &meta,
                                     &error);
        if (status != 0)
            fprintf(stderr, "tp bigram train: %s\n", error.message);
        else
            printf("%s after %ld steps: validation loss %.4f; saved %s\n",
                   interrupted ? "interrupted" : "trained", done, loss, bigram_out);
    }
    status = exit_status(status);
    free(tokens), free(inputs);
    tp_params_free(&params);
    tp_arena_free(step), tp_arena_free(arena);
    tp_corpus_free(&corpus);
    return status;
}

static const command command_commands[] = {
    /* <<tp command: command table>> */
    {"bigram train", "train the simplest language model: next byte from this one",
     bigram_options, bigram_train, NULL},
    {"manual", "write the manual page tp(1), made from the tables --help shows",
     NULL, write_manual, NULL},
    {"completion", "write a bash completion script for tp's commands and options",
     NULL, write_completion, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

const chapter_part command_part = {command_commands, NULL};
