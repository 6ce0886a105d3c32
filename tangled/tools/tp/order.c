/* Generated from book/310-order.nw; edit the book, not this file. */
#include "program.h"

/* <<tp order: commands>> */
static int order_steps = 400, order_letters = 12, order_batch = 32,
           order_width = 64, order_layers = 2, order_heads = 4,
           order_threads = 0;
static const char *order_tsv = NULL;

static const option order_compare_options[] = {
    {"--steps", OPTION_INT, &order_steps, 1, 1000000, "training steps"},
    {"--letters", OPTION_INT, &order_letters, 1, 100,
     "letters per string to reverse"},
    {"--batch", OPTION_INT, &order_batch, 1, 4096, "strings per step"},
    {"--width", OPTION_INT, &order_width, 4, 65536, "the model width C"},
    {"--layers", OPTION_INT, &order_layers, 1, 256, "blocks"},
    {"--heads", OPTION_INT, &order_heads, 1, 256, "attention heads"},
    {"--threads", OPTION_INT, &order_threads, 1, 1024,
     "threads (default: all cores)"},
    {"--tsv", OPTION_STRING, &order_tsv, 0, 0,
     "also write the results as a table, for the figures"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp order: commands>> */
typedef struct order_run {
    tp_gpt *m;
    tp_rng rng;
    int batch;
    int *inputs, *targets;
} order_run;

static void reversal_batch(order_run *r)
{
    int n = 2 * order_letters;
    for (int b = 0; b < r->batch; b++) {
        tp_example e;
        tp_task_example(TP_TASK_REVERSE, order_letters, &r->rng, &e);
        char text[sizeof e.input + sizeof e.target];
        snprintf(text, sizeof text, "%s%s", e.input, e.target);
        for (int i = 0; i < n; i++) {
            r->inputs[b * n + i] = (unsigned char)text[i];
            r->targets[b * n + i] = i >= order_letters
                                        ? (unsigned char)text[i + 1] : -1;
        }
    }
}

static tp_tensor *reversal_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    order_run *r = context;
    reversal_batch(r);
    return tp_cross_entropy(g, tp_gpt_forward(g, r->m, r->inputs, r->batch,
                                              2 * order_letters),
                            r->targets, -1);
}
/* <<tp order: commands>> */
typedef struct order_result {
    double loss, letters, strings;  /* accuracies as fractions */
} order_result;

static order_result reversal_test(order_run *r)
{
    order_result out = {0};
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    r->rng = tp_rng_seeded(999, 7);
    int n = 2 * order_letters, rounds = (512 + r->batch - 1) / r->batch;
    for (int round = 0; round < rounds; round++) {
        reversal_batch(r);
        tp_tensor *logits = tp_gpt_forward(&g, r->m, r->inputs, r->batch, n);
        out.loss += tp_cross_entropy(&g, logits, r->targets, -1)->data[0];
        /* <<order compare: count the right letters>> */
        for (int b = 0; b < r->batch; b++) {
            int right = 0;
            for (int i = order_letters; i < n; i++)
                right += argmax(logits->data + ((long)b * n + i) * 256, 256)
                         == r->targets[b * n + i];
            out.letters += right;
            out.strings += right == order_letters;
        }
        tp_graph_reset(&g);
    }
    out.loss /= rounds;
    out.letters /= (double)rounds * r->batch * order_letters;
    out.strings /= (double)rounds * r->batch;
    tp_arena_free(arena);
    return out;
}
/* <<tp order: commands>> */
static int train_reversal(tp_position_kind kind, order_result *result,
                          tp_error *error)
{
    order_run r = {.rng = tp_rng_seeded(1, 2), .batch = order_batch};
    r.m = tp_gpt_new((tp_gpt_config){256, 2 * order_letters, order_layers,
                                     order_heads, order_width, kind});
    tp_rng init = tp_rng_seeded(1, 1);
    tp_gpt_init(r.m, &init);
    r.inputs = malloc(4 * (size_t)order_batch * order_letters * sizeof(int));
    tp_check(r.inputs != NULL, "out of memory");
    r.targets = r.inputs + 2 * order_batch * order_letters;
    /* <<order compare: train>> */
    tp_optimizer *opt = tp_optimizer_new(&r.m->params, (tp_optimizer_config){
        .kind = TP_ADAMW, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
        .weight_decay = 0.1f});
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = order_steps, .warmup = order_steps / 10,
                          .max_lr = 3e-3f, .min_lr = 3e-4f, .clip = 1.0,
                          .tokens_per_step = 2L * order_batch * order_letters};
    int status = tp_train(&g, &r.m->params, opt, &o, reversal_loss, &r, NULL,
                          error);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    if (status == 0)
        *result = reversal_test(&r);
    free(r.inputs);
    tp_gpt_free(r.m);
    return status;
}
/* <<tp order: commands>> */
static int order_compare(void)
{
    if (order_tsv != NULL && check_output("order compare", order_tsv))
        return 1;
    if (order_width % order_heads != 0 || (order_width / order_heads) % 2) {
        fprintf(stderr, "tp order compare: --heads %d must divide --width %d "
                "into heads of even width\n", order_heads, order_width);
        return 2;
    }
    if (order_threads > 0)
        tp_set_threads(order_threads);
    FILE *tsv = order_tsv != NULL ? fopen(order_tsv, "w") : NULL;
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp order compare --steps %d --letters %d "
                "--batch %d --width %d --layers %d --heads %d\n"
                "positions\tloss\tletters\tstrings\n", order_steps,
                order_letters, order_batch, order_width, order_layers,
                order_heads);
    }
    printf("%-11s %8s %9s %9s\n", "positions", "loss", "letters", "strings");
    int status = 0;
    /* <<order compare: every encoding>> */
    for (int k = 0; k < TP_POSITION_KINDS && status == 0; k++) {
        order_result result;
        tp_error error;
        const char *name = tp_position_name((tp_position_kind)k);
        if (train_reversal((tp_position_kind)k, &result, &error) != 0) {
            fprintf(stderr, "tp order compare: %s\n", error.message);
            status = exit_status(1);
            break;
        }
        printf("%-11s %8.4f %8.1f%% %8.1f%%\n", name, result.loss,
               100 * result.letters, 100 * result.strings);
        fflush(stdout);
        if (tsv != NULL)
            fprintf(tsv, "%s\t%.4f\t%.4f\t%.4f\n", name, result.loss,
                    result.letters, result.strings);
    }
    if (tsv != NULL && fclose(tsv) != 0) {
        fprintf(stderr, "tp order compare: cannot write %s\n", order_tsv);
        status = 1;
    }
    return status;
}

/* <<tp order: figures>> */

static const command order_commands[] = {
    /* <<tp order: command table>> */
    {"order compare", "train GPT to reverse strings with every encoding of "
     "positions", order_compare_options, order_compare, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure order_figures[] = {
    /* <<tp order: figure table>> */
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part order_part = {order_commands, order_figures};
