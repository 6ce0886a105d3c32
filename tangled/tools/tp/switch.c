/* Generated from book/280-switch.nw; edit the book, not this file. */
#include "program.h"

/* <<tp switch: commands>> */
static int switch_steps = 600, switch_batch = 8, switch_context = 128,
           switch_layers = 2, switch_heads = 4, switch_width = 128,
           switch_experts = 4, switch_top = 1, switch_eval = 50;
static float switch_factor = 1.25f, switch_alpha = 0.01f,
             switch_beta = 0.001f;
static const char *switch_tsv = NULL;

static const option switch_compare_options[] = {
    {"--steps", OPTION_INT, &switch_steps, 1, 1000000, "training steps"},
    {"--batch", OPTION_INT, &switch_batch, 1, 4096, "sequences per step"},
    {"--context", OPTION_INT, &switch_context, 2, 4096, "tokens per sequence"},
    {"--layers", OPTION_INT, &switch_layers, 1, 64, "blocks (at most 64)"},
    {"--heads", OPTION_INT, &switch_heads, 1, 64, "attention heads"},
    {"--width", OPTION_INT, &switch_width, 4, 4096, "the model width C"},
    {"--experts", OPTION_INT, &switch_experts, 1, TP_SWITCH_MAX_EXPERTS,
     "experts per layer E"},
    {"--top", OPTION_INT, &switch_top, 1, 2, "experts per token"},
    {"--capacity", OPTION_FLOAT, &switch_factor, 0, 64,
     "the capacity factor"},
    {"--balance", OPTION_FLOAT, &switch_alpha, 0, 10,
     "the balancing loss's weight"},
    {"--z-loss", OPTION_FLOAT, &switch_beta, 0, 10, "the z-loss's weight"},
    {"--eval-every", OPTION_INT, &switch_eval, 1, 1000000,
     "steps between validation losses"},
    {"--tsv", OPTION_STRING, &switch_tsv, 0, 0, "also write the table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp switch: commands>> */
typedef struct switch_run {
    gpt_windows w;
    tp_switch_gpt *s;  /* NULL: the dense GPT */
    const char *name;
    FILE *tsv;
    int routed[64][TP_SWITCH_MAX_EXPERTS], dropped[64], choices;
} switch_run;

/* The routes live in the step's arena: their counts are kept at once. */
static void keep_load(switch_run *r)
{
    for (int l = 0; l < switch_layers; l++) {
        const tp_switch_routing *routing = &r->s->routing[l];
        memcpy(r->routed[l], routing->routed,
               (size_t)routing->experts * sizeof(int));
        r->dropped[l] = routing->dropped;
        r->choices = routing->tokens * routing->top;
    }
}

static tp_tensor *switch_windows_loss(tp_graph *g, long step, void *context)
{
    switch_run *r = context;
    if (r->s == NULL)
        return gpt_windows_loss(g, step, &r->w);
    tp_tensor *loss = gpt_windows_loss(g, step, &r->w);
    keep_load(r);
    return tp_add(g, loss, tp_add(g, tp_scale(g, r->s->balance, switch_alpha),
                                  tp_scale(g, r->s->z, switch_beta)));
}

static bool switch_progress(const tp_progress *p, void *context)
{
    switch_run *r = context;
    if ((p->step + 1) % switch_eval == 0 || p->step + 1 == p->steps) {
        double validation = gpt_windows_validation(&r->w, 8);
        printf("%s\t%ld\t%.4f\t%.4f\t%.1f\n", r->name, p->step + 1,
               (double)p->loss, validation, p->seconds);
        if (r->tsv != NULL)
            fprintf(r->tsv, "%s\t%ld\t%.4f\t%.4f\t%.1f\n", r->name,
                    p->step + 1, (double)p->loss, validation, p->seconds);
        fflush(stdout);
    }
    return true;
}
/* <<tp switch: commands>> */
static void report_load(const switch_run *r)
{
    int tokens = r->choices / switch_top;
    for (int l = 0; l < switch_layers; l++) {
        printf("# load of layer %d:", l);
        if (r->tsv != NULL)
            fprintf(r->tsv, "# load of layer %d:", l);
        for (int e = 0; e < switch_experts; e++) {
            double share = (double)r->routed[l][e] / tokens;
            printf(" %.3f", share);
            if (r->tsv != NULL)
                fprintf(r->tsv, " %.3f", share);
        }
        printf("; dropped %d of %d\n", r->dropped[l], r->choices);
        if (r->tsv != NULL)
            fprintf(r->tsv, "; dropped %d of %d\n", r->dropped[l],
                    r->choices);
    }
}

static int switch_train(switch_run *r, tp_error *error)
{
    tp_gpt_config config = {256, switch_context, switch_layers,
                            switch_heads, switch_width, TP_POSITIONS_LEARNED};
    r->s = strcmp(r->name, "dense") == 0
               ? NULL
               : tp_switch_gpt_new(config, switch_experts, switch_top,
                                   switch_factor);
    r->w.m = r->s != NULL ? r->s->gpt : tp_gpt_new(config);
    tp_rng init = tp_rng_seeded(1, 1);
    tp_gpt_init(r->w.m, &init);
    r->w.rng = tp_rng_seeded(1, 2);
    printf("# %s: %ld parameters\n", r->name, tp_params_count(&r->w.m->params));
    if (r->tsv != NULL)
        fprintf(r->tsv, "# %s: %ld parameters\n", r->name,
                tp_params_count(&r->w.m->params));
    tp_optimizer *opt = tp_optimizer_new(&r->w.m->params, (tp_optimizer_config){
        .kind = TP_ADAMW, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
        .weight_decay = 0.1f});
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = switch_steps,
                          .warmup = switch_steps / 10 + 1, .max_lr = 1e-3f,
                          .min_lr = 1e-4f, .clip = 1.0,
                          .tokens_per_step = (long)switch_batch * switch_context,
                          .progress = switch_progress, .progress_context = r};
    int status = tp_train(&g, &r->w.m->params, opt, &o, switch_windows_loss, r,
                          NULL, error);
    if (status == 0 && r->s != NULL)
        report_load(r);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    if (r->s != NULL)
        tp_switch_gpt_free(r->s);
    else
        tp_gpt_free(r->w.m);
    return status;
}
/* <<tp switch: commands>> */
static int switch_compare(void)
{
    if (switch_heads > switch_width || switch_width % switch_heads != 0
        || (switch_top == 2 && switch_experts < 2) || !(switch_factor > 0)) {
        fprintf(stderr, "tp switch compare: --heads must divide --width, "
                "--top 2 needs two experts, --capacity must be positive\n");
        return 2;
    }
    if (switch_tsv != NULL && check_output("switch compare", switch_tsv) != 0)
        return 1;
    tp_corpus corpus = tp_corpus_book(), train, validation;
    tp_corpus_split(&corpus, &train, &validation);
    int *tokens = malloc((size_t)corpus.size * sizeof *tokens);
    int *inputs = malloc(2 * (size_t)switch_batch * switch_context
                         * sizeof *inputs);
    tp_check(tokens != NULL && inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, tokens);
    switch_run r = {.w = {.tokens = tokens, .train = train.size,
                          .total = corpus.size, .batch = switch_batch,
                          .context = switch_context, .inputs = inputs,
                          .targets = inputs + switch_batch * switch_context}};
    tp_describe_machine(stdout);
    if (switch_tsv != NULL && (r.tsv = fopen(switch_tsv, "w")) != NULL) {
        tp_describe_machine(r.tsv);
        fprintf(r.tsv, "# written by: tp switch compare --steps %d --experts "
                "%d --top %d --capacity %g --tsv %s\n# GPT: %d layers, width "
                "%d, %d heads; context %d, batch %d\nmodel\tstep\ttrain_loss\t"
                "validation_loss\tseconds\n", switch_steps, switch_experts,
                switch_top, (double)switch_factor, switch_tsv, switch_layers,
                switch_width, switch_heads, switch_context, switch_batch);
    }
    int status = 0;
    const char *models[2] = {"dense", "switch"};
    for (int i = 0; i < 2 && status == 0; i++) {
        tp_error error;
        r.name = models[i];
        if ((status = switch_train(&r, &error)) != 0)
            fprintf(stderr, "tp switch compare: %s\n", error.message);
    }
    if (r.tsv != NULL && fclose(r.tsv) != 0) {
        fprintf(stderr, "tp switch compare: cannot write %s\n", switch_tsv);
        status = 1;
    }
    free(tokens), free(inputs);
    tp_corpus_free(&corpus);
    return status != 0;
}

static const command switch_commands[] = {
    /* <<tp switch: command table>> */
    {"switch compare", "train a dense GPT and a Switch GPT of the same "
     "arithmetic per token: validation losses, the experts' load",
     switch_compare_options, switch_compare, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure switch_figures[] = {
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part switch_part = {switch_commands, switch_figures};
