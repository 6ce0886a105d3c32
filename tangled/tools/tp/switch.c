/* Generated from book/280-switch.nw; edit the book, not this file. */
#include "program.h"

/* <<tp switch: commands>> */
static int switch_steps = 600, switch_batch = 8, switch_context = 128,
           switch_layers = 2, switch_heads = 4, switch_width = 128,
           switch_experts = 4, switch_top = 1, switch_eval = 50,
           switch_more_experts = 0, switch_wide = 0;
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
    {"--more-experts", OPTION_INT, &switch_more_experts, 0,
     TP_SWITCH_MAX_EXPERTS, "also a Switch GPT with this many experts "
     "(default: 0, none)"},
    {"--wide-width", OPTION_INT, &switch_wide, 0, 4096,
     "also a dense GPT of this width (default: 0, none)"},
    {"--tsv", OPTION_STRING, &switch_tsv, 0, 0, "also write the table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp switch: commands>> */
enum { CAPACITY_FACTORS = 7 };
static const float capacity_factors[CAPACITY_FACTORS] = {0.5f, 0.75f, 1.0f,
                                                         1.25f, 1.5f, 2.0f,
                                                         3.0f};

typedef struct switch_run {
    gpt_windows w;
    tp_switch_gpt *s;  /* NULL: the dense GPT */
    bool dense;        /* train the dense GPT */
    const char *name;
    FILE *tsv;
    int routed[64][TP_SWITCH_MAX_EXPERTS], dropped[64], choices;
    FILE *load;  /* tp switch load: the load at every evaluation */
    int dropped_at[64][CAPACITY_FACTORS];  /* at capacity_factors[k] */
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
        for (int k = 0; r->load != NULL && k < CAPACITY_FACTORS; k++)
            r->dropped_at[l][k] = tp_switch_dropped_at(routing,
                                                       capacity_factors[k]);
    }
}

/* <<tp switch: the load at one step>> */
static void write_load(const switch_run *r, long step)
{
    int tokens = r->choices / switch_top, dropped = 0;
    double least = 1.0, most = 0.0;
    for (int l = 0; l < switch_layers; l++) {
        for (int e = 0; e < switch_experts; e++) {
            least = fmin(least, (double)r->routed[l][e] / tokens);
            most = fmax(most, (double)r->routed[l][e] / tokens);
        }
        dropped += r->dropped[l];
    }
    fprintf(r->load, "%s\t%ld\t%.4f\t%.4f\t%.4f\n", r->name, step, least,
            most, (double)dropped / ((double)r->choices * switch_layers));
}

static void write_dropped_at(const switch_run *r, FILE *f)
{
    for (int k = 0; k < CAPACITY_FACTORS; k++) {
        long dropped = 0;
        for (int l = 0; l < switch_layers; l++)
            dropped += r->dropped_at[l][k];
        fprintf(f, "%s\t%.2f\t%.4f\n", r->name, (double)capacity_factors[k],
                (double)dropped / ((double)r->choices * switch_layers));
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
        if (r->load != NULL)
            write_load(r, p->step + 1);
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
    r->s = r->dense ? NULL
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
    tp_optimizer *opt = tp_adamw_new(&r->w.m->params, 0.95f, 0.1f);
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
typedef int switch_trainings(switch_run *r, FILE *context);

static int switch_run_on_book(switch_run *r, switch_trainings *trainings,
                              FILE *context)
{
    tp_corpus corpus = tp_corpus_book(), train, validation;
    tp_corpus_split(&corpus, &train, &validation);
    int *tokens = malloc((size_t)corpus.size * sizeof *tokens);
    int *inputs = malloc(2 * (size_t)switch_batch * switch_context
                         * sizeof *inputs);
    tp_check(tokens != NULL && inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, tokens);
    r->w = (gpt_windows){.tokens = tokens, .train = train.size,
                         .total = corpus.size, .batch = switch_batch,
                         .context = switch_context, .inputs = inputs,
                         .targets = inputs + switch_batch * switch_context};
    tp_describe_machine(stdout);
    int status = trainings(r, context);
    free(tokens), free(inputs);
    tp_corpus_free(&corpus);
    return status;
}
/* <<tp switch: commands>> */
static int compare_trainings(switch_run *r, FILE *unused)
{
    (void)unused;
    int status = 0, width = switch_width, experts = switch_experts;
    char more[32];
    snprintf(more, sizeof more, "switch-%d", switch_more_experts);
    const struct {
        const char *name;
        bool dense, wanted;
        int width, experts;
    } models[4] = {{"dense", true, true, width, experts},
                   {"switch", false, true, width, experts},
                   {more, false, switch_more_experts > 0, width,
                    switch_more_experts},
                   {"dense-wide", true, switch_wide > 0, switch_wide, experts}};
    for (int i = 0; i < 4 && status == 0; i++) {
        tp_error error;
        if (!models[i].wanted)
            continue;
        r->name = models[i].name;
        r->dense = models[i].dense;
        switch_width = models[i].width, switch_experts = models[i].experts;
        if ((status = switch_train(r, &error)) != 0)
            fprintf(stderr, "tp switch compare: %s\n", error.message);
    }
    switch_width = width, switch_experts = experts;
    return status;
}

static int switch_compare(void)
{
    if (switch_heads > switch_width || switch_width % switch_heads != 0
        || (switch_top == 2 && switch_experts < 2) || !(switch_factor > 0)
        || (switch_wide > 0 && switch_wide % switch_heads != 0)) {
        fprintf(stderr, "tp switch compare: --heads must divide --width and "
                "--wide-width, --top 2 needs two experts, --capacity must be "
                "positive\n");
        return 2;
    }
    if (switch_tsv != NULL && check_output("switch compare", switch_tsv) != 0)
        return 1;
    switch_run r = {0};
    if (switch_tsv != NULL && (r.tsv = fopen(switch_tsv, "w")) != NULL) {
        tp_describe_machine(r.tsv);
        fprintf(r.tsv, "# written by: tp switch compare --steps %d --experts "
                "%d --top %d --capacity %g --more-experts %d --wide-width %d "
                "--tsv %s\n# GPT: %d layers, width %d, %d heads; context %d, "
                "batch %d\nmodel\tstep\ttrain_loss\tvalidation_loss\t"
                "seconds\n", switch_steps, switch_experts, switch_top,
                (double)switch_factor, switch_more_experts, switch_wide,
                switch_tsv, switch_layers,
                switch_width, switch_heads, switch_context, switch_batch);
    }
    int status = switch_run_on_book(&r, compare_trainings, NULL);
    if (r.tsv != NULL && fclose(r.tsv) != 0) {
        fprintf(stderr, "tp switch compare: cannot write %s\n", switch_tsv);
        status = 1;
    }
    return status != 0;
}
/* <<tp switch: commands>> */
static int switch_seed = 1, switch_save_every = 500;
static const char *switch_out = "switch.safetensors", *switch_resume = NULL;

static const option switch_train_options[] = {
    {"--data", OPTION_STRING, &data_path, 0, 0,
     "a text file or a directory of them (default: the book)"},
    {"--steps", OPTION_INT, &switch_steps, 1, 100000000,
     "training steps in all (default: 600)"},
    {"--batch", OPTION_INT, &switch_batch, 1, 4096, "windows per step"},
    {"--context", OPTION_INT, &switch_context, 2, 4096, "tokens per window"},
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
    {"--seed", OPTION_INT, &switch_seed, 0, 1000000000, "the seed"},
    {"--eval-every", OPTION_INT, &switch_eval, 1, 1000000,
     "steps between validation losses"},
    {"--out", OPTION_STRING, &switch_out, 0, 0,
     "the checkpoint to write (default: switch.safetensors)"},
    {"--resume", OPTION_STRING, &switch_resume, 0, 0,
     "continue the run saved in this checkpoint"},
    {"--save-every", OPTION_INT, &switch_save_every, 0, 100000000,
     "steps between saves of the run to --out (default 500; 0: at the end)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp switch: commands>> */
static int switch_resumed_shape(const tp_switch_gpt *s, tp_error *error)
{
    const tp_gpt_config *c = &s->gpt->config;
    const struct {
        const char *name;
        const int *value;
        int saved;
    } shape[] = {{"--layers", &switch_layers, c->n_layer},
                 {"--heads", &switch_heads, c->n_head},
                 {"--width", &switch_width, c->n_embd},
                 {"--experts", &switch_experts, s->layers[0].experts},
                 {"--top", &switch_top, s->layers[0].top}};
    for (int i = 0; i < 5; i++)
        if (option_given(shape[i].value) && *shape[i].value != shape[i].saved)
            return tp_error_set(error, "%s %d, but the run in %s has %d; a "
                                "resumed run keeps its model", shape[i].name,
                                *shape[i].value, switch_resume,
                                shape[i].saved);
    if (option_given(&switch_factor) && switch_factor != s->factor)
        return tp_error_set(error, "--capacity %g, but the run in %s has %g; "
                            "a resumed run keeps its model",
                            (double)switch_factor, switch_resume,
                            (double)s->factor);
    return 0;
}

static tp_switch_gpt *switch_model(tp_optimizer **opt, tp_rng *data,
                                   tp_error *error)
{
    tp_gpt_config config = {256, switch_context, switch_layers, switch_heads,
                            switch_width, TP_POSITIONS_LEARNED};
    tp_switch_gpt *s = switch_resume != NULL
                           ? tp_switch_gpt_load(switch_resume, error)
                           : tp_switch_gpt_new(config, switch_experts,
                                               switch_top, switch_factor);
    if (s == NULL
        || (switch_resume != NULL && switch_resumed_shape(s, error) != 0)) {
        tp_switch_gpt_free(s);
        return NULL;
    }
    tp_rng init = tp_rng_seeded((uint64_t)switch_seed, 1);
    if (switch_resume == NULL)
        tp_gpt_init(s->gpt, &init);
    *data = tp_rng_seeded((uint64_t)switch_seed, 2);
    *opt = tp_adamw_new(&s->gpt->params, 0.95f, 0.1f);
    if (switch_resume != NULL
        && tp_gpt_load_run(switch_resume, s->gpt, *opt, data, error) != 0) {
        tp_optimizer_free(*opt);
        tp_switch_gpt_free(s);
        return NULL;
    }
    return s;
}
/* <<tp switch: commands>> */
typedef struct switch_training {
    switch_run run;
    tp_optimizer *opt;
    display shown;
} switch_training;

static bool switch_train_progress(const tp_progress *p, void *context)
{
    switch_training *t = context;
    bool going = show_progress(p, &t->shown);
    long done = p->step + 1;
    tp_error error;
    if (switch_save_every > 0 && done % switch_save_every == 0
        && done != p->steps && !interrupted
        && tp_gpt_save_run(switch_out, t->run.w.m, t->opt, &t->run.w.rng,
                           &error) != 0)
        fprintf(stderr, "tp switch train: %s; training goes on\n",
                error.message);
    if (done % switch_eval == 0 || done == p->steps) {
        printf("step %ld: validation loss %.4f\n", done,
               gpt_windows_validation(&t->run.w, 8));
        fflush(stdout);
    }
    return going;
}

static int switch_train_loop(switch_training *t, tp_error *error)
{
    t->shown.first = tp_optimizer_steps(t->opt);
    printf("Switch GPT: %ld parameters, %d experts per block, top-%d, "
           "capacity factor %g\n", tp_params_count(&t->run.w.m->params),
           t->run.s->layers[0].experts, t->run.s->layers[0].top,
           (double)t->run.s->factor);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    long warmup = switch_steps / 10 < 100 ? switch_steps / 10 + 1 : 100;
    tp_train_options o = {.steps = switch_steps, .warmup = warmup,
                          .max_lr = 1e-3f, .min_lr = 1e-4f, .clip = 1.0,
                          .tokens_per_step = (long)switch_batch
                                             * switch_context,
                          .progress = switch_train_progress,
                          .progress_context = t};
    catch_interrupts();
    int status = tp_train(&g, &t->run.w.m->params, t->opt, &o,
                          switch_windows_loss, &t->run, NULL, error);
    if (status == 0)
        status = save_run_or_rescue(switch_out, "switch", t->run.w.m, t->opt,
                                    &t->run.w.rng, error);
    tp_arena_free(step);
    return status;
}
/* <<tp switch: commands>> */
static int switch_train_command(void)
{
    if (check_output("switch train", switch_out) != 0)
        return 1;
    if (switch_heads > switch_width || switch_width % switch_heads != 0
        || (switch_top == 2 && switch_experts < 2) || !(switch_factor > 0)) {
        fprintf(stderr, "tp switch train: --heads must divide --width, "
                "--top 2 needs two experts, --capacity must be positive\n");
        return 2;
    }
    tp_corpus corpus, train, validation;
    if (load_corpus("switch train", &corpus) != 0)
        return 1;
    tp_corpus_split(&corpus, &train, &validation);
    tp_error error;
    switch_training t = {.shown = {.terminal = isatty(STDERR_FILENO)}};
    t.run.s = switch_model(&t.opt, &t.run.w.rng, &error);
    if (t.run.s == NULL) {
        fprintf(stderr, "tp switch train: %s\n", error.message);
        tp_corpus_free(&corpus);
        return 1;
    }
    /* <<switch train: the windows, the loop, the load>> */
    int context = t.run.s->gpt->config.n_positions, status = 1;
    switch_layers = t.run.s->gpt->config.n_layer;
    switch_top = t.run.s->layers[0].top;
    switch_experts = t.run.s->layers[0].experts;
    switch_context = context;
    int *tokens = malloc((size_t)corpus.size * sizeof *tokens);
    int *inputs = malloc(2 * (size_t)switch_batch * context * sizeof *inputs);
    tp_check(tokens != NULL && inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, tokens);
    t.run.w = (gpt_windows){.m = t.run.s->gpt, .tokens = tokens,
                            .train = train.size, .total = corpus.size,
                            .batch = switch_batch, .context = context,
                            .rng = t.run.w.rng, .inputs = inputs,
                            .targets = inputs + switch_batch * context};
    t.run.name = "switch";
    if (train.size <= context + 1 || validation.size <= context + 1)
        fprintf(stderr, "tp switch train: the text (%ld bytes) is too short for "
                "windows of %d\n", corpus.size, context);
    else if ((status = switch_train_loop(&t, &error)) != 0)
        fprintf(stderr, "tp switch train: %s\n", error.message);
    else {
        report_load(&t.run);
        printf("%s at step %ld; saved %s\n", interrupted ? "interrupted" : "done",
               tp_optimizer_steps(t.opt), switch_out);
    }
    status = exit_status(status);
    free(tokens), free(inputs);
    tp_optimizer_free(t.opt);
    tp_switch_gpt_free(t.run.s);
    tp_corpus_free(&corpus);
    return status;
}
/* <<tp switch: commands>> */
static const char *switch_model_path = "switch.safetensors",
                  *switch_prompt = "The ";
static int switch_tokens = 240, switch_sample_seed = 1;
static float switch_temperature = 0.8f;

static const option switch_sample_options[] = {
    {"--model", OPTION_STRING, &switch_model_path, 0, 0,
     "the checkpoint (default: switch.safetensors)"},
    {"--prompt", OPTION_STRING, &switch_prompt, 0, 0, "the text to continue"},
    {"--tokens", OPTION_INT, &switch_tokens, 1, 1000000, "bytes to write"},
    {"--temperature", OPTION_FLOAT, &switch_temperature, 0, 100,
     "0 for the most likely byte (default: 0.8)"},
    {"--seed", OPTION_INT, &switch_sample_seed, 0, 1000000000, "the seed"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static int switch_sample(void)
{
    tp_error error;
    tp_switch_gpt *s = tp_switch_gpt_load(switch_model_path, &error);
    if (s == NULL) {
        fprintf(stderr, "tp switch sample: %s\n", error.message);
        return 1;
    }
    int n = (int)strlen(switch_prompt), window = s->gpt->config.n_positions;
    if (n == 0) {
        fprintf(stderr, "tp switch sample: the prompt is empty\n");
        tp_switch_gpt_free(s);
        return 2;
    }
    /* <<switch sample: write byte after byte>> */
    int total = n + switch_tokens;
    int *text = malloc((size_t)total * sizeof *text);
    tp_check(text != NULL, "out of memory");
    for (int i = 0; i < n; i++)
        text[i] = (unsigned char)switch_prompt[i];
    tp_arena *arena = tp_arena_new("switch sample");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng rng = tp_rng_seeded((uint64_t)switch_sample_seed, 3);
    fputs(switch_prompt, stdout);
    for (int at = n; at < total; at++) {
        int from = at > window ? at - window : 0;
        tp_tensor *logits = tp_gpt_forward(&g, s->gpt, text + from, 1, at - from);
        text[at] = tp_gpt_sample_token(logits->data + (long)(at - from - 1) * 256,
                                       256, switch_temperature, 0, 1.0f, &rng);
        putchar(text[at]);
        tp_graph_reset(&g);
    }
    putchar('\n');
    tp_arena_free(arena);
    free(text);
    tp_switch_gpt_free(s);
    return 0;
}
/* <<tp switch: commands>> */
static const char *switch_load_tsv = "figures/data/switch-load.tsv",
                  *switch_drop_tsv = "figures/data/switch-capacity.tsv";

static const option switch_load_options[] = {
    {"--steps", OPTION_INT, &switch_steps, 1, 1000000, "training steps"},
    {"--batch", OPTION_INT, &switch_batch, 1, 4096, "sequences per step"},
    {"--context", OPTION_INT, &switch_context, 2, 4096, "tokens per sequence"},
    {"--layers", OPTION_INT, &switch_layers, 1, 64, "blocks (at most 64)"},
    {"--heads", OPTION_INT, &switch_heads, 1, 64, "attention heads"},
    {"--width", OPTION_INT, &switch_width, 4, 4096, "the model width C"},
    {"--experts", OPTION_INT, &switch_experts, 1, TP_SWITCH_MAX_EXPERTS,
     "experts per layer E"},
    {"--capacity", OPTION_FLOAT, &switch_factor, 0, 64,
     "the capacity factor of training"},
    {"--balance", OPTION_FLOAT, &switch_alpha, 0, 10,
     "the balancing loss's weight in the balanced run"},
    {"--eval-every", OPTION_INT, &switch_eval, 1, 1000000,
     "steps between records of the load"},
    {"--tsv", OPTION_STRING, &switch_load_tsv, 0, 0,
     "the load over training (default: figures/data/switch-load.tsv)"},
    {"--capacity-tsv", OPTION_STRING, &switch_drop_tsv, 0, 0,
     "dropped against the factor (default: "
     "figures/data/switch-capacity.tsv)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp switch: commands>> */
static int switch_load_runs(switch_run *r, FILE *drop)
{
    const char *names[2] = {"balanced", "unbalanced"};
    float alpha[2] = {switch_alpha, 0.0f};
    int status = 0;
    for (int i = 0; i < 2 && status == 0; i++) {
        tp_error error;
        r->name = names[i];
        switch_alpha = alpha[i];
        fprintf(r->load, "# %s: alpha %g\n", names[i], (double)alpha[i]);
        if ((status = switch_train(r, &error)) != 0)
            fprintf(stderr, "tp switch load: %s\n", error.message);
        else
            write_dropped_at(r, drop);
    }
    switch_alpha = alpha[0];
    return status;
}

static int switch_load(void)
{
    if (switch_heads > switch_width || switch_width % switch_heads != 0
        || !(switch_factor > 0)) {
        fprintf(stderr, "tp switch load: --heads must divide --width, "
                "--capacity must be positive\n");
        return 2;
    }
    if (check_output("switch load", switch_load_tsv) != 0
        || check_output("switch load", switch_drop_tsv) != 0)
        return 1;
    /* <<switch load: open the tables, train, rename>> */
    char load_tmp[4096], drop_tmp[4096];
    snprintf(load_tmp, sizeof load_tmp, "%s.tmp", switch_load_tsv);
    snprintf(drop_tmp, sizeof drop_tmp, "%s.tmp", switch_drop_tsv);
    FILE *load = fopen(load_tmp, "w"), *drop = fopen(drop_tmp, "w");
    if (load == NULL || drop == NULL) {
        fprintf(stderr, "tp switch load: cannot write %s\n",
                load == NULL ? load_tmp : drop_tmp);
        if (load != NULL)
            fclose(load), remove(load_tmp);
        if (drop != NULL)
            fclose(drop), remove(drop_tmp);
        return 1;
    }
    switch_top = 1;
    FILE *tables[2] = {load, drop};
    for (int i = 0; i < 2; i++) {
        tp_describe_machine(tables[i]);
        fprintf(tables[i], "# written by: tp switch load --steps %d --experts %d "
                "--capacity %g --balance %g\n# GPT: %d layers, width %d, %d "
                "heads; context %d, batch %d; top-1\n", switch_steps,
                switch_experts, (double)switch_factor, (double)switch_alpha,
                switch_layers, switch_width, switch_heads, switch_context,
                switch_batch);
    }
    fprintf(load, "run\tstep\tleast_share\tlargest_share\tdropped\n");
    fprintf(drop, "run\tcapacity_factor\tdropped\n");
    switch_run r = {.load = load};
    int status = switch_run_on_book(&r, switch_load_runs, drop);
    bool written = fclose(load) == 0;
    written = fclose(drop) == 0 && written;
    if (status == 0 && written && rename(load_tmp, switch_load_tsv) == 0
        && rename(drop_tmp, switch_drop_tsv) == 0)
        return 0;
    if (status == 0)
        fprintf(stderr, "tp switch load: cannot write %s\n", switch_load_tsv);
    remove(load_tmp), remove(drop_tmp);
    return 1;
}

/* <<tp switch: figures>> */
static void plot_rows(tp_plot *p, const table *t, const char *run, int x_col,
                      int y_col, tp_color color, bool dashed)
{
    double x[TABLE_ROWS], y[TABLE_ROWS];
    int n = 0;
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], run) == 0)
            x[n] = t->value[r][x_col], y[n++] = t->value[r][y_col];
    tp_plot_line(p, x, y, n, color, dashed, false);
}

static void plot_share(tp_draw *d, const table *t, double experts)
{
    double last = t->value[t->rows - 1][0];
    tp_plot p = {d, 45, 14, 150, 130,
                 {.lo = 0, .hi = last, .label = "training step"},
                 {.lo = 0, .hi = 1, .label = "share of a batch's tokens"}};
    tp_plot_frame(&p);
    double xs[2] = {0, last}, fair[2] = {1 / experts, 1 / experts},
           half[2] = {0.5 / experts, 0.5 / experts};
    tp_plot_line(&p, xs, fair, 2, tp_category(7), false, false);
    tp_plot_line(&p, xs, half, 2, tp_category(7), true, false);
    tp_text(d, tp_plot_x(&p, last) - 3, tp_plot_y(&p, 1 / experts) - 2, 1.0,
            1.0, 7, "fair share 1/E");
    tp_text(d, tp_plot_x(&p, last) - 3, tp_plot_y(&p, 0.5 / experts) - 2,
            1.0, 1.0, 7, "half of it");
    const char *runs[2] = {"balanced", "unbalanced"};
    for (int i = 0; i < 2; i++) {
        plot_rows(&p, t, runs[i], 0, 1, tp_category(i), false);
        plot_rows(&p, t, runs[i], 0, 2, tp_category(i), true);
    }
}

static void plot_dropped(tp_draw *d, const table *t)
{
    tp_plot p = {d, 245, 14, 150, 130,
                 {.lo = 0.5, .hi = 3, .label = "capacity factor"},
                 {.lo = 0, .hi = 0.6, .label = "choices dropped"}};
    tp_plot_frame(&p);
    plot_rows(&p, t, "balanced", 0, 1, tp_category(0), false);
    plot_rows(&p, t, "unbalanced", 0, 1, tp_category(1), false);
    tp_legend_entry legend[4] = {
        {"with the balancing loss", tp_category(0), false},
        {"without it", tp_category(1), false},
        {"left: least share", tp_rgb(0x333333), false},
        {"left: largest share", tp_rgb(0x333333), true}};
    tp_plot_legend(&p, legend, 4, TP_TOP_RIGHT);
}

static int draw_switch_load(tp_draw *d, tp_error *error)
{
    table *load = calloc(1, sizeof *load), *drop = calloc(1, sizeof *drop);
    tp_check(load != NULL && drop != NULL, "out of memory");
    int status = read_table("figures/data/switch-load.tsv", load, error);
    if (status == 0)
        status = read_table("figures/data/switch-capacity.tsv", drop, error);
    const char *experts = strstr(load->comments, "--experts ");
    if (status == 0 && (load->rows < 2 || experts == NULL))
        status = tp_error_set(error, "figures/data/switch-load.tsv has no "
                              "rows or no --experts in its header");
    if (status == 0) {
        plot_share(d, load, atof(experts + strlen("--experts ")));
        plot_dropped(d, drop);
    }
    free(load), free(drop);
    return status;
}
/* <<tp switch: figures>> */
static void plot_losses(tp_draw *d, const table *t, int x_col, double x,
                        const char *label, bool legend)
{
    const char *models[4] = {"dense", "switch", "switch-8", "dense-wide"};
    const char *names[4] = {"dense, width 128", "Switch, E = 4",
                            "Switch, E = 8", "dense, width 220"};
    double last = 0;
    for (int r = 0; r < t->rows; r++)
        last = fmax(last, t->value[r][x_col]);
    tp_plot p = {d, x, 14, 150, 130, {.lo = 0, .hi = last, .label = label},
                 {.lo = 2.2, .hi = 3.0, .label = "validation loss (nats)"}};
    tp_plot_frame(&p);
    static const int colors[4] = {0, 1, 2, 4};  /* no yellow on white */
    tp_legend_entry entries[4];
    for (int i = 0; i < 4; i++) {
        tp_color color = tp_category(colors[i]);
        plot_rows(&p, t, models[i], x_col, 2, color, false);
        entries[i] = (tp_legend_entry){names[i], color, false};
    }
    if (legend)
        tp_plot_legend(&p, entries, 4, TP_TOP_RIGHT);
}

static int draw_switch_compare(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/switch-compare.tsv", t, error);
    if (status == 0) {
        plot_losses(d, t, 0, 45, "training step", false);
        plot_losses(d, t, 3, 245, "seconds of training", true);
    }
    free(t);
    return status;
}

static const command switch_commands[] = {
    /* <<tp switch: command table>> */
    {"switch compare", "train a dense GPT and a Switch GPT of the same "
     "arithmetic per token: validation losses, the experts' load",
     switch_compare_options, switch_compare, NULL},
    /* <<tp switch: command table>> */
    {"switch train", "train a Switch GPT on the book: checkpoints with the "
     "routers and every expert, --resume, Ctrl-C saves",
     switch_train_options, switch_train_command, NULL},
    {"switch sample", "continue a prompt with a trained Switch GPT",
     switch_sample_options, switch_sample, NULL},
    /* <<tp switch: command table>> */
    {"switch load", "train a Switch GPT with and without the balancing loss: "
     "the experts' load over training, dropped tokens against the capacity "
     "factor", switch_load_options, switch_load, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure switch_figures[] = {
    /* <<tp switch: figure table>> */
    {"switch-compare", "Dense and Switch GPTs on the book: the validation "
     "loss against steps and against the time of training", 410, 190,
     draw_switch_compare},
    {"switch-load", "The experts' load while a Switch GPT trains, with and "
     "without the balancing loss, and the choices a capacity factor drops",
     410, 190, draw_switch_load},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part switch_part = {switch_commands, switch_figures};
