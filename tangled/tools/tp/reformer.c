/* Generated from book/264-reformer.nw; edit the book, not this file. */
#include <time.h>

#include "program.h"

/* <<tp reformer: commands>> */
static int memory_width = 128, memory_context = 512, memory_batch = 2,
           memory_heads = 4, memory_chunks = 4, memory_runs = 3,
           memory_max = 24, memory_threads = 1;
static const char *memory_tsv = NULL;

static const option reformer_memory_options[] = {
    {"--width", OPTION_INT, &memory_width, 2, 8192, "C, the reversible "
     "stream's channels, two halves of C/2 (default: 128)"},
    {"--context", OPTION_INT, &memory_context, 2, 65536,
     "positions T (default: 512)"},
    {"--batch", OPTION_INT, &memory_batch, 1, 4096, "sequences (default: 2)"},
    {"--heads", OPTION_INT, &memory_heads, 1, 256, "heads (default: 4)"},
    {"--chunks", OPTION_INT, &memory_chunks, 1, 65536,
     "chunks of the Reformer's feed-forward (default: 4)"},
    {"--max-layers", OPTION_INT, &memory_max, 1, 384,
     "depths double from 6 (or fewer) up to this (default: 24)"},
    {"--runs", OPTION_INT, &memory_runs, 1, 1000,
     "timed steps per stack; the median (default: 3)"},
    {"--threads", OPTION_INT, &memory_threads, 1, 1024, "threads (default: 1)"},
    {"--tsv", OPTION_STRING, &memory_tsv, 0, 0, "write the table, for the figure"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp reformer: commands>> */
enum { STANDARD, CHECKPOINTED, REVERSIBLE, REFORMER, STACKS };
static const char *const stack_names[STACKS] = {
    "standard", "checkpointed", "reversible", "reformer"};

typedef struct memory_run {
    int kind, layers;
    tp_reformer_layer *layer;  /* [layers] */
    tp_reversible_layer *rev;  /* [layers] */
    tp_tensor *x;
    tp_arena *step, *recompute, *scratch;
} memory_run;

static tp_tensor *standard_layer(tp_graph *g, void *layer, tp_tensor *x)
{
    x = tp_add(g, x, tp_reformer_attention(g, layer, x));
    return tp_add(g, x, tp_reformer_feed_forward(g, layer, x));
}
/* <<tp reformer: commands>> */
static tp_tensor *run_stack(tp_graph *g, memory_run *r)
{
    tp_tensor *x = r->x;
    if (r->kind >= REVERSIBLE)
        return tp_reversible(g, r->rev, r->layers, x, r->recompute);
    for (int i = 0; i < r->layers; i++)
        x = r->kind == CHECKPOINTED
                ? tp_checkpoint(g, standard_layer, &r->layer[i], x, r->recompute)
                : standard_layer(g, &r->layer[i], x);
    return x;
}

static void memory_step(void *context);

/* The median wall time and the median processor time of runs of work, in
   ms. On one thread on a shared machine the processor time is the work's
   own; the wall time adds whatever else ran. */
static void time_both(void (*work)(void *), void *context, int runs,
                      double *wall_ms, double *cpu_ms)
{
    double wall[64], cpu[64];
    runs = runs < 64 ? runs : 64;  /* the caller has run it once */
    for (int r = 0; r < runs; r++) {
        double w0 = tp_seconds();
        clock_t c0 = clock();
        work(context);
        cpu[r] = (double)(clock() - c0) / CLOCKS_PER_SEC * 1e3;
        wall[r] = (tp_seconds() - w0) * 1e3;
    }
    *wall_ms = tp_median(wall, runs), *cpu_ms = tp_median(cpu, runs);
}

static void memory_step(void *context)
{
    memory_run *r = context;
    tp_arena_reset(r->step);
    tp_graph g = tp_graph_on(r->step);
    tp_backward(&g, tp_mean(&g, run_stack(&g, r)));
}

static size_t step_peak(memory_run *r)
{
    tp_arena_reset(r->step);
    tp_arena_reset_peak(r->step), tp_arena_reset_peak(r->recompute);
    tp_arena_reset_peak(r->scratch);
    memory_step(r);
    return tp_arena_peak(r->step) + tp_arena_peak(r->recompute)
           + tp_arena_peak(r->scratch);
}
/* <<tp reformer: commands>> */
static void measure_stack(int kind, int layers, size_t *peak, double *ms,
                          double *cpu_ms)
{
    tp_arena *arena = tp_arena_new("reformer parameters");
    tp_params params = {0};
    tp_block *blocks = calloc((size_t)layers, sizeof *blocks);
    memory_run r = {kind, layers, calloc((size_t)layers, sizeof *r.layer),
                    calloc((size_t)layers, sizeof *r.rev), NULL,
                    tp_arena_new("step"), tp_arena_new("recompute"),
                    tp_arena_new("chunks")};
    tp_check(blocks != NULL && r.layer != NULL && r.rev != NULL, "out of memory");
    int half = memory_width / 2, positions = memory_context / 64;
    tp_lsh_options lsh = {positions > 2 ? positions : 2, 2, 64, true, 1};
    while ((lsh.buckets & (lsh.buckets - 1)) != 0)
        lsh.buckets &= lsh.buckets - 1;  /* the power of two below */
    for (int i = 0; i < layers; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "h.%d.", i);
        tp_block_make(&blocks[i], &params, arena, prefix, half, 4 * half, false);
        r.layer[i] = kind == REFORMER
            ? (tp_reformer_layer){&blocks[i], memory_heads, &lsh,
                                  memory_chunks, r.scratch}
            : (tp_reformer_layer){&blocks[i], memory_heads, NULL, 1, NULL};
        r.rev[i] = (tp_reversible_layer){tp_reformer_attention,
            tp_reformer_feed_forward, &r.layer[i], &r.layer[i]};
    }
    tp_rng rng = tp_rng_seeded(264, 1);
    tp_init_gpt2(&params, &rng, layers);
    int channels = kind >= REVERSIBLE ? memory_width : half;
    r.x = tp_tensor_normal(arena, tp_shape3(memory_batch, memory_context,
                                            channels), TP_NO_GRAD, &rng);
    *peak = step_peak(&r);
    time_both(memory_step, &r, memory_runs, ms, cpu_ms);
    tp_arena_free(r.step), tp_arena_free(r.recompute), tp_arena_free(r.scratch);
    tp_params_free(&params), tp_arena_free(arena);
    free(blocks), free(r.layer), free(r.rev);
}
/* <<tp reformer: commands>> */
static bool memory_options_fit(void)
{
    const char *why = NULL;
    if (memory_width % 2 != 0)
        why = "--width must be even: the reversible layers split it in two";
    else if ((memory_width / 2) % memory_heads != 0)
        why = "--heads must divide --width / 2, the width of each half";
    else if (memory_chunks > memory_context)
        why = "--chunks must be at most --context";
    if (why != NULL)
        fprintf(stderr, "tp reformer memory: %s\n", why);
    return why == NULL;
}

static FILE *open_tsv(const char *path, const char *command,
                      const char *columns)
{
    if (path == NULL)
        return NULL;
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    tp_describe_machine(f);
    fprintf(f, "# written by: tp reformer %s\n%s\n", command, columns);
    return f;
}
/* <<tp reformer: commands>> */
static void print_memory_row(FILE *tsv, int layers, const size_t peak[],
                             const double ms[], const double cpu_ms[])
{
    printf("%6d", layers);
    for (int k = 0; k < STACKS; k++)
        printf(" %9.2f", (double)peak[k] / (1 << 20));
    for (int k = 0; k < STACKS; k++)
        printf(" %8.1f", cpu_ms[k]);
    for (int k = 0; k < STACKS; k++)
        printf(" %8.1f", ms[k]);
    printf("\n");
    fflush(stdout);
    for (int k = 0; tsv != NULL && k < STACKS; k++)
        fprintf(tsv, "%s\t%d\t%zu\t%.3f\t%.3f\n", stack_names[k], layers,
                peak[k], cpu_ms[k], ms[k]);
}

static int reformer_memory(void)
{
    if (!memory_options_fit())
        return 1;
    tp_set_threads(memory_threads);
    tp_describe_machine(stdout);
    FILE *tsv = open_tsv(memory_tsv, "memory",
                         "stack\tlayers\tpeak_bytes\tcpu_ms\twall_ms");
    if (memory_tsv != NULL && tsv == NULL)
        return 1;
    if (tsv != NULL)
        fprintf(tsv, "# C = %d, T = %d, batch %d, %d heads, %d chunks, %d "
                "threads\n", memory_width, memory_context, memory_batch,
                memory_heads, memory_chunks, memory_threads);
    /* <<tp reformer: measure every depth>> */
    printf("# C = %d (halves of %d), T = %d, batch %d, %d heads; activation "
           "peak (MiB), then a step's processor time and wall time (ms, "
           "medians of %d)\n%6s %9s %9s %9s %9s %8s %8s %8s %8s %8s %8s %8s "
           "%8s\n", memory_width, memory_width / 2, memory_context, memory_batch,
           memory_heads, memory_runs, "layers", "standard", "checkpt", "revers",
           "reformer", "standard", "checkpt", "revers", "reformer", "wall std",
           "checkpt", "revers", "reformer");
    size_t first[STACKS] = {0}, peak[STACKS];
    double first_ms[STACKS] = {0}, ms[STACKS], cpu[STACKS];
    int shallow = memory_max < 6 ? memory_max : 6, layers = shallow;
    for (; layers <= memory_max; layers *= 2) {
        for (int k = 0; k < STACKS; k++)
            measure_stack(k, layers, &peak[k], &ms[k], &cpu[k]);
        print_memory_row(tsv, layers, peak, ms, cpu);
        if (layers == shallow)
            memcpy(first, peak, sizeof peak), memcpy(first_ms, cpu, sizeof cpu);
    }
    printf("# from %d to %d layers the peak grew: ", shallow, layers / 2);
    for (int k = 0; k < STACKS; k++)
        printf("%s %.2fx%s", stack_names[k], (double)peak[k] / first[k],
               k + 1 < STACKS ? ", " : "\n");
    printf("# processor time per step, reversible / standard: %.2fx at %d "
           "layers, %.2fx at %d\n", first_ms[REVERSIBLE] / first_ms[STANDARD],
           shallow, cpu[REVERSIBLE] / cpu[STANDARD], layers / 2);
    return tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
}
/* <<tp reformer: commands>> */
static int lsh_max = 8192, lsh_rounds = 2, lsh_chunk = 64, lsh_buckets = 16,
           lsh_runs = 5, lsh_recall_length = 1024;
static const char *lsh_tsv = NULL, *lsh_recall_tsv = NULL;

static const option reformer_lsh_options[] = {
    {"--max", OPTION_INT, &lsh_max, 256, 65536,
     "the longest sequence timed; lengths double from 256 (default: 8192)"},
    {"--rounds", OPTION_INT, &lsh_rounds, 1, 64,
     "hash rounds of the timed LSH attention (default: 2)"},
    {"--chunk", OPTION_INT, &lsh_chunk, 1, 4096,
     "positions per chunk m (default: 64)"},
    {"--buckets", OPTION_INT, &lsh_buckets, 1, 65536,
     "buckets of the recall measurement, a power of two (default: 16)"},
    {"--runs", OPTION_INT, &lsh_runs, 1, 1000,
     "timed runs at the shortest length; the median (default: 5)"},
    {"--recall-length", OPTION_INT, &lsh_recall_length, 64, 65536,
     "T of the recall measurement, a multiple of 32 (default: 1024)"},
    {"--tsv", OPTION_STRING, &lsh_tsv, 0, 0, "write the times and peaks"},
    {"--recall-tsv", OPTION_STRING, &lsh_recall_tsv, 0, 0,
     "write the recall and the error against the rounds"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp reformer: commands>> */
typedef struct lsh_case {
    tp_tensor *qk, *v;
    tp_lsh_options o;
    bool dense;
    tp_arena *step;
} lsh_case;

static void lsh_step(void *context)
{
    lsh_case *c = context;
    tp_arena_reset(c->step);
    tp_graph g = tp_graph_on(c->step);
    tp_set_grad(&g, false);
    if (c->dense)
        tp_attention(&g, c->qk, c->qk, c->v, NULL);
    else
        tp_lsh_attention(&g, c->qk, c->v, &c->o);
}

static int power_of_two_below(int n)
{
    int p = 1;
    while (p * 2 <= n)
        p *= 2;
    return p;
}
/* <<tp reformer: commands>> */
static void time_lengths(FILE *tsv)
{
    tp_arena *inputs = tp_arena_new("lsh inputs");
    tp_rng rng = tp_rng_seeded(264, 2);
    printf("# one head, d = 64, one thread: forward (processor ms, median) "
           "and peak (MiB)\n%6s %7s %10s %10s %10s %10s %8s\n", "T", "buckets",
           "dense ms", "LSH ms", "dense MiB", "LSH MiB", "speed-up");
    for (int n = 256; n <= lsh_max; n *= 2) {
        tp_arena_reset(inputs);
        int buckets = power_of_two_below(n / lsh_chunk > 2 ? n / lsh_chunk : 2);
        lsh_case c = {tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_NO_GRAD, &rng),
                      tp_tensor_normal(inputs, tp_shape4(1, 1, n, 64), TP_NO_GRAD, &rng),
                      {buckets, lsh_rounds, lsh_chunk, false, 1}, false,
                      tp_arena_new("lsh step")};
        double ms[2], wall[2];
        size_t peak[2];
        int runs = n <= 1024 ? lsh_runs : n <= 4096 ? (lsh_runs + 1) / 2 : 1;
        for (int k = 0; k < 2; k++) {
            c.dense = k == 0;
            tp_arena_reset(c.step), tp_arena_reset_peak(c.step);
            lsh_step(&c);
            peak[k] = tp_arena_peak(c.step);
            time_both(lsh_step, &c, runs, &wall[k], &ms[k]);
            if (tsv != NULL)
                fprintf(tsv, "%s\t%d\t%.3f\t%zu\t%.3f\n", k == 0 ? "dense"
                        : "lsh", n, ms[k], peak[k], wall[k]);
        }
        printf("%6d %7d %10.2f %10.2f %10.2f %10.2f %7.1fx\n", n, buckets,
               ms[0], ms[1], (double)peak[0] / (1 << 20),
               (double)peak[1] / (1 << 20), ms[0] / ms[1]);
        fflush(stdout);
        tp_arena_free(c.step);
    }
    tp_arena_free(inputs);
}
/* <<tp reformer: commands>> */
static tp_tensor *lsh_rows(tp_arena *arena, int t, bool clustered,
                           tp_rng *rng)
{
    enum { D = 64, CLUSTER = 32 };
    tp_tensor *x = tp_tensor_normal(arena, tp_shape4(1, 1, t, D), TP_NO_GRAD, rng);
    if (!clustered)
        return x;
    tp_tensor *centre = tp_tensor_normal(arena, tp_shape2(t / CLUSTER + 1, D),
                                         TP_NO_GRAD, rng);
    for (int i = 0; i < t; i++)
        for (int e = 0; e < D; e++)
            x->data[i * D + e] = 8.0f * (centre->data[(i % (t / CLUSTER)) * D + e]
                                         + 0.5f * x->data[i * D + e]);
    return x;
}

static double relative_error(const tp_tensor *a, const tp_tensor *b)
{
    double num = 0.0, den = 0.0;
    for (long i = 0, n = tp_tensor_count(a); i < n; i++) {
        double e = (double)a->data[i] - b->data[i];
        num += e * e, den += (double)b->data[i] * b->data[i];
    }
    return sqrt(num / den);
}
/* <<tp reformer: commands>> */
static bool lsh_not_self(int query, int key, void *context)
{
    (void)context;
    return key != query;
}

static double lsh_error(tp_arena *arena, tp_tensor *qk, tp_tensor *v,
                        const tp_lsh_options *o)
{
    int t = qk->shape.dim[2], d = qk->shape.dim[3];
    tp_tensor *k = tp_tensor_empty(arena, qk->shape, TP_NO_GRAD);
    for (int i = 0; i < t; i++) {
        double sum = 0.0;
        for (int e = 0; e < d; e++)
            sum += (double)qk->data[i * d + e] * qk->data[i * d + e];
        for (int e = 0; e < d; e++)
            k->data[i * d + e] = qk->data[i * d + e] / (float)sqrt(sum);
    }
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_attention_options not_self = {.pattern = lsh_not_self};
    return relative_error(tp_lsh_attention(&g, qk, v, o),
                          tp_attention(&g, qk, k, v, &not_self));
}
/* <<tp reformer: commands>> */
static void recall_against_rounds(FILE *tsv)
{
    enum { SEEDS = 4 };
    int t = lsh_recall_length;
    tp_arena *arena = tp_arena_new("lsh recall");
    tp_rng rng = tp_rng_seeded(264, 3);
    printf("# T = %d, d = 64, %d buckets, chunks of %d; mean of %d seeds\n"
           "%9s %6s %8s %8s\n", t, lsh_buckets, lsh_chunk, SEEDS, "rows",
           "rounds", "recall", "error");
    for (int clustered = 0; clustered < 2; clustered++) {
        tp_arena_reset(arena);
        tp_tensor *qk = lsh_rows(arena, t, clustered, &rng);
        tp_tensor *v = tp_tensor_normal(arena, tp_shape4(1, 1, t, 64), TP_NO_GRAD, &rng);
        tp_tensor head = tp_head(qk, 0, 0);
        for (int rounds = 1; rounds <= 8; rounds *= 2) {
            double recall = 0.0, error = 0.0;
            for (int s = 1; s <= SEEDS; s++) {
                tp_lsh_options o = {lsh_buckets, rounds, lsh_chunk, false, (uint64_t)s};
                recall += tp_lsh_recall(arena, &head, &o, 8) / SEEDS;
                error += lsh_error(arena, qk, v, &o) / SEEDS;
            }
            const char *rows = clustered ? "clustered" : "random";
            printf("%9s %6d %8.3f %8.3f\n", rows, rounds, recall, error);
            if (tsv != NULL)
                fprintf(tsv, "%s\t%d\t%.4f\t%.4f\n", rows, rounds, recall, error);
        }
    }
    tp_arena_free(arena);
}
/* <<tp reformer: commands>> */
static int reformer_lsh(void)
{
    if (lsh_recall_length % 32 != 0) {
        fprintf(stderr, "tp reformer lsh: --recall-length must be a multiple "
                "of 32 (clusters of 32 rows), not %d\n", lsh_recall_length);
        return 1;
    }
    if ((lsh_buckets & (lsh_buckets - 1)) != 0) {
        fprintf(stderr, "tp reformer lsh: --buckets must be a power of two "
                "(the rotations give an even number; 1: one bucket), not %d\n",
                lsh_buckets);
        return 1;
    }
    tp_set_threads(1);
    tp_describe_machine(stdout);
    FILE *times = open_tsv(lsh_tsv, "lsh",
                           "attention\tn\tcpu_ms\tpeak_bytes\twall_ms");
    FILE *recall = open_tsv(lsh_recall_tsv, "lsh", "rows\trounds\trecall\terror");
    if ((lsh_tsv != NULL && times == NULL)
        || (lsh_recall_tsv != NULL && recall == NULL)) {
        if (times != NULL)
            fclose(times);
        if (recall != NULL)
            fclose(recall);
        return 1;
    }
    time_lengths(times);
    recall_against_rounds(recall);
    int status = 0;
    if (times != NULL && fclose(times) != 0)
        status = 1;
    if (recall != NULL && fclose(recall) != 0)
        status = 1;
    return status;
}
/* <<tp reformer: commands>> */
static int train_steps = 600, train_context = 128, train_batch = 4,
           train_width = 128, train_layers = 2, train_heads = 4,
           train_eval = 100, train_seed = 1, train_buckets = 8,
           train_rounds = 2, train_chunk = 32, train_ff_chunks = 4;
static const char *train_tsv = NULL, *train_cost_tsv = NULL;

static const option reformer_train_options[] = {
    {"--steps", OPTION_INT, &train_steps, 1, 1000000,
     "training steps (default: 600)"},
    {"--context", OPTION_INT, &train_context, 8, 65536,
     "tokens per sequence T (default: 128)"},
    {"--batch", OPTION_INT, &train_batch, 1, 4096,
     "sequences per step (default: 4)"},
    {"--width", OPTION_INT, &train_width, 4, 65536, "C, the Reformer's "
     "stream, two halves of C/2, GPT's width (default: 128)"},
    {"--layers", OPTION_INT, &train_layers, 1, 256, "blocks (default: 2)"},
    {"--heads", OPTION_INT, &train_heads, 1, 256,
     "attention heads (default: 4)"},
    {"--seed", OPTION_INT, &train_seed, 0, 1000000000,
     "of the weights, the batches and the rotations (default: 1)"},
    {"--buckets", OPTION_INT, &train_buckets, 1, 65536,
     "LSH buckets n_b, a power of two (default: 8)"},
    {"--rounds", OPTION_INT, &train_rounds, 1, 64,
     "LSH hash rounds n_r (default: 2)"},
    {"--chunk", OPTION_INT, &train_chunk, 1, 65536,
     "LSH positions per chunk m (default: 32)"},
    {"--ff-chunks", OPTION_INT, &train_ff_chunks, 1, 65536,
     "chunks of the feed-forward (default: 4)"},
    {"--eval-every", OPTION_INT, &train_eval, 1, 1000000,
     "steps between validation losses (default: 100)"},
    {"--tsv", OPTION_STRING, &train_tsv, 0, 0,
     "also write the curves as a table"},
    {"--cost-tsv", OPTION_STRING, &train_cost_tsv, 0, 0,
     "also write each model's time per step and peak as a table"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static bool train_options_fit(void)
{
    const char *why = NULL;
    if ((train_buckets & (train_buckets - 1)) != 0)
        why = "--buckets must be a power of two (the rotations give an even "
              "number; 1: one bucket)";
    else if (train_width % 2 != 0)
        why = "--width must be even: the reversible layers split it in two";
    else if ((train_width / 2) % train_heads != 0)
        why = "--heads must divide --width / 2, the width of each half";
    else if (train_ff_chunks > train_context)
        why = "--ff-chunks must be at most --context";
    if (why != NULL)
        fprintf(stderr, "tp reformer train: %s\n", why);
    return why == NULL;
}
/* <<tp reformer: commands>> */
typedef struct train_run {
    gpt_windows w;
    const char *name;
    FILE *tsv;
    double last;      /* the last validation loss */
    clock_t eval_cpu;  /* processor time spent validating */
    double eval_wall;  /* and wall time */
    double cpu_ms, wall_ms;  /* per step, the evaluations' excluded */
    size_t peak;       /* a step's activations */
} train_run;

static bool train_progress(const tp_progress *p, void *context)
{
    train_run *r = context;
    if ((p->step + 1) % train_eval != 0 && p->step + 1 != p->steps)
        return true;
    clock_t c0 = clock();
    double w0 = tp_seconds();
    r->last = gpt_windows_validation(&r->w, 4);
    r->eval_cpu += clock() - c0, r->eval_wall += tp_seconds() - w0;
    lm_report(r->name, p, r->last, r->tsv);
    return true;
}
/* <<tp reformer: commands>> */
static int train_one(train_run *r, tp_params *params, tp_arena *recompute,
                     tp_arena *scratch)
{
    tp_optimizer *opt = tp_adamw_new(params, 0.95f, 0.1f);
    tp_arena *step = tp_arena_new("reformer train step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = lm_schedule(train_steps,
                                     (long)train_batch * train_context,
                                     train_progress, r);
    r->w.rng = tp_rng_seeded((uint64_t)train_seed, 2);
    r->eval_cpu = 0, r->eval_wall = 0.0;
    tp_error error;
    clock_t c0 = clock();
    double w0 = tp_seconds();
    int status = tp_train(&g, params, opt, &o, gpt_windows_loss, &r->w, NULL,
                          &error);
    r->cpu_ms = (double)(clock() - c0 - r->eval_cpu) / CLOCKS_PER_SEC * 1e3
                / train_steps;
    r->wall_ms = (tp_seconds() - w0 - r->eval_wall) * 1e3 / train_steps;
    r->peak = tp_arena_peak(step)
              + (recompute != NULL ? tp_arena_peak(recompute) : 0)
              + (scratch != NULL ? tp_arena_peak(scratch) : 0);
    if (status != 0)
        fprintf(stderr, "tp reformer train: %s\n", error.message);
    tp_arena_free(step), tp_optimizer_free(opt);
    return status;
}
/* <<tp reformer: commands>> */
static int train_both(train_run *gpt_run, train_run *reformer_run)
{
    tp_gpt_config config = {256, train_context, train_layers, train_heads,
                            train_width / 2, TP_POSITIONS_LEARNED};
    tp_gpt *gpt = tp_gpt_new(config);
    tp_rng init = tp_rng_seeded((uint64_t)train_seed, 1);
    tp_gpt_init(gpt, &init);
    gpt_run->w.m = gpt;
    int status = train_one(gpt_run, &gpt->params, NULL, NULL);
    tp_gpt_free(gpt);
    if (status != 0)
        return status;
    tp_lsh_options lsh = {train_buckets, train_rounds, train_chunk, true,
                          (uint64_t)train_seed};
    tp_reformer_lm *m = tp_reformer_lm_new(config, &lsh, train_ff_chunks);
    init = tp_rng_seeded((uint64_t)train_seed, 1);
    tp_gpt_init(m->gpt, &init);
    reformer_run->w.m = m->gpt;
    reformer_run->w.loss = tp_reformer_lm_loss, reformer_run->w.model = m;
    status = train_one(reformer_run, &m->gpt->params, m->recompute,
                       m->ff_scratch);
    tp_reformer_lm_free(m);
    return status;
}
/* <<tp reformer: commands>> */
static void print_costs(FILE *cost, const train_run *const runs[2])
{
    printf("# %-8s %10s %10s %12s %12s\n", "model", "validation", "cpu ms",
           "wall ms", "peak MiB");
    for (int k = 0; k < 2; k++) {
        const train_run *r = runs[k];
        printf("# %-8s %10.3f %10.1f %12.1f %12.2f\n", r->name, r->last,
               r->cpu_ms, r->wall_ms, (double)r->peak / (1 << 20));
        if (cost != NULL)
            fprintf(cost, "%s\t%d\t%.4f\t%.3f\t%.3f\t%zu\n", r->name,
                    train_steps, r->last, r->cpu_ms, r->wall_ms, r->peak);
    }
    printf("# validation after %d steps: GPT %.3f, Reformer %.3f (%+.3f); "
           "a step took %.2fx GPT's processor time, its peak %.2fx\n",
           train_steps, runs[0]->last, runs[1]->last,
           runs[1]->last - runs[0]->last, runs[1]->cpu_ms / runs[0]->cpu_ms,
           (double)runs[1]->peak / (double)runs[0]->peak);
}

static int reformer_train(void)
{
    if (!train_options_fit())
        return 1;
    char command[160];
    snprintf(command, sizeof command, "train --steps %d --context %d "
             "--width %d --layers %d --seed %d", train_steps, train_context,
             train_width, train_layers, train_seed);
    FILE *tsv = open_tsv(train_tsv, command, "model\tstep\ttrain_loss\t"
                         "validation_loss\tseconds");
    FILE *cost = open_tsv(train_cost_tsv, command, "model\tsteps\t"
                          "validation_loss\tcpu_ms\twall_ms\tpeak_bytes");
    int status = (train_tsv != NULL && tsv == NULL)
                 || (train_cost_tsv != NULL && cost == NULL);
    /* <<tp reformer: train on the book>> */
    tp_corpus corpus = tp_corpus_book(), train, validation;
    tp_corpus_split(&corpus, &train, &validation);
    int *tokens = malloc((size_t)corpus.size * sizeof *tokens);
    int *inputs = malloc(2 * (size_t)train_batch * train_context * sizeof *inputs);
    tp_check(tokens != NULL && inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, tokens);
    gpt_windows w = {.tokens = tokens, .train = train.size, .total = corpus.size,
                     .batch = train_batch, .context = train_context,
                     .inputs = inputs, .targets = inputs + train_batch * train_context};
    train_run gpt_run = {.w = w, .name = "gpt", .tsv = tsv};
    train_run reformer_run = {.w = w, .name = "reformer", .tsv = tsv};
    if (status == 0) {
        tp_describe_machine(stdout);
        printf("# %d layers, C = %d (GPT's width %d), %d heads; context %d, "
               "batch %d, seed %d; LSH: %d buckets, %d rounds, chunks of %d; "
               "feed-forward in %d chunks\n", train_layers, train_width,
               train_width / 2, train_heads, train_context,
               train_batch, train_seed, train_buckets, train_rounds, train_chunk,
               train_ff_chunks);
        if (tsv != NULL)
            fprintf(tsv, "# %d layers, C = %d (GPT's width %d), %d heads; "
                    "context %d, batch %d; LSH %d buckets, %d rounds, chunks of "
                    "%d\n", train_layers, train_width, train_width / 2,
                    train_heads, train_context, train_batch,
                    train_buckets, train_rounds, train_chunk);
        status = train_both(&gpt_run, &reformer_run);
    }
    if (status == 0)
        print_costs(cost, (const train_run *const[]){&gpt_run, &reformer_run});
    free(tokens), free(inputs);
    if (tsv != NULL && fclose(tsv) != 0)
        status = 1;
    if (cost != NULL && fclose(cost) != 0)
        status = 1;
    return status;
}
/* <<tp reformer: figures>> */
static int series_of(const table *t, const char *label, int xc, int yc,
                     double scale, double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 32; r++)
        if (strcmp(t->label[r], label) == 0) {
            x[n] = t->value[r][xc];
            y[n++] = t->value[r][yc] * scale;
        }
    return n;
}
/* <<tp reformer: figures>> */
static void memory_panel(tp_plot *p, const table *t, int column, double scale,
                         bool legend_too)
{
    static const int category[STACKS] = {5, 1, 2, 4};
    tp_legend_entry legend[STACKS];
    tp_plot_frame(p);
    for (int k = 0; k < STACKS; k++) {
        double x[32], y[32];
        tp_color c = tp_category(category[k]);
        tp_plot_line(p, x, y, series_of(t, stack_names[k], 0, column, scale,
                                        x, y), c, false, true);
        legend[k] = (tp_legend_entry){stack_names[k], c, false};
    }
    if (legend_too)
        tp_plot_legend(p, legend, STACKS, TP_TOP_LEFT);
}

static double column_top(const table *t, int column, double scale)
{
    double top = 0.0;
    for (int r = 0; r < t->rows; r++)
        top = fmax(top, t->value[r][column] * scale);
    return top * 1.1;
}
/* <<tp reformer: figures>> */
static int draw_reformer_memory(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/reformer-memory.tsv", t, error);
    if (status == 0) {
        tp_axis depth = {.lo = 0, .hi = 26, .label = "layers L"};
        double mib = 1.0 / (1 << 20);
        tp_plot peak = {d, 46, 12, 160, 150, depth,
                        {.lo = 0, .hi = column_top(t, 1, mib),
                         .label = "activation peak (MiB)"}};
        tp_plot time = {d, 268, 12, 160, 150, depth,
                        {.lo = 0, .hi = column_top(t, 2, 1.0),
                         .label = "step, processor time (ms)"}};
        memory_panel(&peak, t, 1, mib, true);
        memory_panel(&time, t, 2, 1.0, false);
    }
    free(t);
    return status;
}
/* <<tp reformer: figures>> */
static void lsh_panel(tp_plot *p, const table *t, int column, double scale)
{
    static const char *const names[2] = {"dense", "lsh"};
    static const char *const shown[2] = {"dense", "LSH"};
    tp_legend_entry legend[2];
    tp_plot_frame(p);
    for (int k = 0; k < 2; k++) {
        double x[32], y[32];
        tp_color c = tp_category(k == 0 ? 5 : 2);
        tp_plot_line(p, x, y, series_of(t, names[k], 0, column, scale, x, y),
                     c, false, true);
        legend[k] = (tp_legend_entry){shown[k], c, false};
    }
    tp_plot_legend(p, legend, 2, TP_TOP_LEFT);
}

static int draw_reformer_lsh(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/reformer-lsh.tsv", t, error);
    if (status == 0) {
        tp_axis n = {.lo = 256, .hi = 8192, .log = true,
                     .label = "sequence length T"};
        tp_plot time = {d, 46, 12, 160, 150, n,
                        {.lo = 0.1, .hi = 10000, .log = true,
                         .label = "forward, processor time (ms)"}};
        tp_plot peak = {d, 268, 12, 160, 150, n,
                        {.lo = 0.1, .hi = 1000, .log = true,
                         .label = "peak memory (MiB)"}};
        lsh_panel(&time, t, 1, 1.0);
        lsh_panel(&peak, t, 2, 1.0 / (1 << 20));
    }
    free(t);
    return status;
}
/* <<tp reformer: figures>> */
static int draw_reformer_recall(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/reformer-recall.tsv", t, error);
    if (status == 0) {
        tp_axis rounds = {.lo = 0, .hi = 9, .label = "hash rounds"};
        tp_plot recall = {d, 46, 12, 160, 150, rounds,
                          {.lo = 0, .hi = 1, .label = "recall of the 8 best keys"}};
        tp_plot error_plot = {d, 268, 12, 160, 150, rounds,
                              {.lo = 0, .hi = column_top(t, 2, 1.0),
                               .label = "error / |O|"}};
        static const char *const rows[2] = {"random", "clustered"};
        tp_legend_entry legend[2];
        tp_plot_frame(&recall), tp_plot_frame(&error_plot);
        for (int k = 0; k < 2; k++) {
            double x[32], y[32];
            tp_color c = tp_category(k == 0 ? 1 : 2);
            int n = series_of(t, rows[k], 0, 1, 1.0, x, y);
            tp_plot_line(&recall, x, y, n, c, false, true);
            n = series_of(t, rows[k], 0, 2, 1.0, x, y);
            tp_plot_line(&error_plot, x, y, n, c, false, true);
            legend[k] = (tp_legend_entry){rows[k], c, false};
        }
        tp_plot_legend(&recall, legend, 2, TP_BOTTOM_RIGHT);
    }
    free(t);
    return status;
}
/* <<tp reformer: figures>> */
enum { DRAWN_T = 32, DRAWN_D = 8 };

static void pattern_maps(float *sorted, unsigned char *far, float *rounds,
                         unsigned char *none)
{
    tp_arena *arena = tp_arena_new("reformer pattern");
    tp_rng rng = tp_rng_seeded(264, 4);
    tp_tensor *x = tp_tensor_normal(arena, tp_shape2(DRAWN_T, DRAWN_D),
                                    TP_NO_GRAD, &rng);
    tp_lsh_options o = {4, 4, 4, false, 1};
    tp_lsh_plan p = tp_lsh_plan_make(arena, x, &o);
    for (int s = 0; s < DRAWN_T; s++)  /* places in round 0's order */
        for (int u = 0; u < DRAWN_T; u++) {
            bool near = u / 4 == s / 4 || u / 4 == s / 4 - 1;
            bool same = p.bucket[p.order[s]] == p.bucket[p.order[u]];
            sorted[s * DRAWN_T + u] = same ? 1.0f : 0.45f;
            far[s * DRAWN_T + u] = !near;
        }
    for (int i = 0; i < DRAWN_T; i++)  /* positions */
        for (int j = 0; j < DRAWN_T; j++) {
            int n = tp_lsh_shared_rounds(&p, i, j);
            rounds[i * DRAWN_T + j] = (float)n;
            none[i * DRAWN_T + j] = n == 0;
        }
    tp_arena_free(arena);
}
/* <<tp reformer: figures>> */
static int draw_reformer_pattern(tp_draw *d, tp_error *error)
{
    (void)error;
    float sorted[DRAWN_T * DRAWN_T], rounds[DRAWN_T * DRAWN_T];
    unsigned char far[DRAWN_T * DRAWN_T], none[DRAWN_T * DRAWN_T];
    pattern_maps(sorted, far, rounds, none);
    tp_set_color(d->cr, tp_rgb(0x000000));
    tp_text(d, 95, 8, 0.5, 0, 9, "one round, sorted by bucket");
    tp_text(d, 300, 8, 0.5, 0, 9, "four rounds, in order: N<sub>ij</sub>");
    tp_heatmap(d, 20, 24, 150, 150, sorted, DRAWN_T, DRAWN_T, far, 0, 1);
    tp_heatmap(d, 225, 24, 150, 150, rounds, DRAWN_T, DRAWN_T, none, 0, 4);
    tp_colorbar(d, 390, 24, 8, 150, 0, 4, "rounds");
    tp_text(d, 95, 180, 0.5, 0, 8, "query (row) and key (column) by place in the order");
    tp_text(d, 300, 180, 0.5, 0, 8, "query and key by position");
    return 0;
}

static const command reformer_commands[] = {
    /* <<tp reformer: command table>> */
    {"reformer memory", "the activation memory and time of a training step "
     "against depth: standard, checkpointed, reversible, and the Reformer "
     "(reversible, chunked feed-forward, LSH)", reformer_memory_options,
     reformer_memory, NULL},
    /* <<tp reformer: command table>> */
    {"reformer lsh", "LSH attention against dense attention: time and memory "
     "against T; recall and error against the rounds", reformer_lsh_options,
     reformer_lsh, NULL},
    /* <<tp reformer: command table>> */
    {"reformer train", "train a small GPT on the book with exact attention and "
     "as the Reformer (reversible, LSH, chunked): the losses, the time and the "
     "peak of a step", reformer_train_options, reformer_train, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure reformer_figures[] = {
    /* <<tp reformer: figure table>> */
    {"reformer-pattern", "LSH attention on 32 random rows: one round's chunks "
     "in sorted order, and the pairs all four rounds select", 440, 200,
     draw_reformer_pattern},
    /* <<tp reformer: figure table>> */
    {"reformer-memory", "Reversible layers: the activation peak and the time "
     "of a training step against depth", 440, 200, draw_reformer_memory},
    {"reformer-lsh", "LSH attention against dense attention: the forward pass "
     "of one head, time and peak memory against T", 440, 200, draw_reformer_lsh},
    {"reformer-recall", "LSH attention: recall of the best keys and error of "
     "the output against the rounds", 440, 200, draw_reformer_recall},
    {NULL, 0, 0, 0, NULL}
};

const chapter_part reformer_part = {reformer_commands, reformer_figures};
