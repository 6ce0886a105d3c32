/* Generated from book/355-oversmoothing.nw; edit the book, not this file. */
#include "program.h"

/* <<tp oversmoothing: commands>> */
static int smooth_layers = 16, smooth_width = 64, smooth_heads = 4,
           smooth_context = 32, smooth_batch = 8, smooth_steps = 150,
           smooth_seed = 1;
static float smooth_lr = 3e-3f, smooth_drop = 0.1f, smooth_temperature = 0.5f;
static const char *smooth_tsv = NULL;

static const option oversmoothing_options[] = {
    {"--layers", OPTION_INT, &smooth_layers, 1, 256, "blocks L"},
    {"--width", OPTION_INT, &smooth_width, 4, 65536, "the model width C"},
    {"--heads", OPTION_INT, &smooth_heads, 1, 256, "attention heads"},
    {"--context", OPTION_INT, &smooth_context, 2, 4096, "tokens T"},
    {"--batch", OPTION_INT, &smooth_batch, 1, 4096, "sequences per step"},
    {"--steps", OPTION_INT, &smooth_steps, 1, 1000000, "training steps"},
    {"--lr", OPTION_FLOAT, &smooth_lr, 0, 1, "the peak learning rate"},
    {"--drop-head", OPTION_FLOAT, &smooth_drop, 0, 1,
     "DropHead's probability, below 1"},
    {"--temperature", OPTION_FLOAT, &smooth_temperature, 0, 100,
     "the attention temperature of that remedy"},
    {"--seed", OPTION_INT, &smooth_seed, 0, 1000000000, "the seed"},
    {"--tsv", OPTION_STRING, &smooth_tsv, 0, 0,
     "also write the measures per layer as a table, for the figures"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp oversmoothing: commands>> */
static void layer_row(FILE *tsv, const char *label, int layer,
                      const tp_tensor *x, double entropy)
{
    double cosine = tp_mean_cosine(x), rank = tp_effective_rank(x);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%d\t%.5f\t%.4f\t%.4f\n", label, layer, cosine, rank,
                entropy);
    if (layer % 4 == 0)
        printf("%-16s layer %3d  cosine %.3f  effective rank %6.2f  "
               "entropy %.3f\n", label, layer, cosine, rank, entropy);
}
/* <<tp oversmoothing: commands>> */
static void pure_stack(bool skip, FILE *tsv)
{
    tp_arena *arena = tp_arena_new("pure attention");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng weights = tp_rng_seeded((uint64_t)smooth_seed, 10);
    tp_rng tokens = tp_rng_seeded((uint64_t)smooth_seed, 11);
    int c = smooth_width;
    tp_tensor *x = tp_tensor_new(arena, tp_shape3(1, smooth_context, c),
                                 TP_NO_GRAD);
    tp_fill_normal(x, &tokens, 0.0f, 1.0f);
    const char *label = skip ? "attention+skip" : "attention";
    layer_row(tsv, label, 0, x, NAN);
    for (int l = 1; l <= smooth_layers; l++) {
        tp_tensor *w = tp_tensor_new(arena, tp_shape2(c, 3 * c), TP_NO_GRAD);
        tp_fill_normal(w, &weights, 0.0f, 1.0f / sqrtf((float)c));
        x = tp_pure_attention(&g, x, w, smooth_heads, skip);
        layer_row(tsv, label, l, x, NAN);
    }
    tp_arena_free(arena);
}
/* <<tp oversmoothing: commands>> */
enum { REMEDIES = 6 };
typedef enum remedy {
    BASELINE, NO_SKIP, REZERO, DEEPNORM, DROPHEAD, TEMPERATURE
} remedy;
static const char *const remedy_names[REMEDIES] = {
    "pre-LN", "no-skip", "ReZero", "DeepNorm", "DropHead", "temperature"};
/* <<tp oversmoothing: commands>> */
static void deepnorm(tp_gpt *m, tp_block_depth *depth)
{
    int layers = m->config.n_layer, c = m->config.n_embd;
    float alpha = powf(2.0f * layers, 0.25f), beta = powf(8.0f * layers, -0.25f);
    m->post_ln = true;
    tp_scale_weights(&m->params, "c_proj.weight", sqrtf(2.0f * layers) * beta);
    tp_scale_weights(&m->params, "mlp.c_fc.weight", beta);
    for (int l = 0; l < layers; l++) {
        depth[l].skip = alpha;
        tp_tensor *w = m->blocks[l].c_attn_w;
        for (int r = 0; r < c; r++)
            for (int j = 2 * c; j < 3 * c; j++)
                w->data[(long)r * 3 * c + j] *= beta;
    }
}
/* <<tp oversmoothing: commands>> */
static tp_gpt *remedy_model(remedy which, tp_rng *drop)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){256, smooth_context, smooth_layers,
                                           smooth_heads, smooth_width});
    tp_block_depth *depth = tp_gpt_depth(m);
    if (which == REZERO)
        tp_gpt_add_rezero(m);
    tp_rng init = tp_rng_seeded((uint64_t)smooth_seed, 1);
    tp_gpt_init(m, &init);
    if (which == DEEPNORM)
        deepnorm(m, depth);
    for (int l = 0; l < smooth_layers; l++) {
        depth[l].no_skip = which == NO_SKIP;
        depth[l].temperature = which == TEMPERATURE ? smooth_temperature : 0;
        depth[l].drop_head = which == DROPHEAD ? smooth_drop : 0;
        depth[l].rng = drop;
    }
    return m;
}
/* <<tp oversmoothing: commands>> */
static double mean_entropy(const tp_tensor *w)
{
    int h = w->shape.dim[1], t = w->shape.dim[2];
    double total = 0.0;
    for (long row = 0; row < (long)h * t; row++)
        for (int j = 0; j < t; j++) {
            double p = w->data[row * t + j];
            total -= p > 0 ? p * log(p) : 0.0;
        }
    return total / ((double)h * t);
}
/* <<tp oversmoothing: commands>> */
static void measure_gpt(tp_gpt *m, gpt_windows *w, const char *label,
                        FILE *tsv)
{
    int layers = m->config.n_layer;
    tp_arena *arena = tp_arena_new("measure");
    tp_tensor **hidden = tp_arena_zeroed(arena, (size_t)layers,
                                         sizeof *hidden);
    float saved = m->depth[0].drop_head;
    for (int l = 0; l < layers; l++)
        m->depth[l].output = &hidden[l], m->depth[l].drop_head = 0;
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_rng keep = w->rng;
    w->rng = tp_rng_seeded(4242, 4);
    gpt_windows_loss(&g, 0, w);
    w->rng = keep;
    for (int l = 0; l < layers; l++)
        m->depth[l].output = NULL;
    tp_tensor **maps = tp_gpt_attention_maps(m, w->inputs, w->context, arena);
    for (int l = 0; l < layers; l++) {
        layer_row(tsv, label, l + 1, hidden[l], mean_entropy(maps[l]));
        m->depth[l].drop_head = saved;
    }
    tp_arena_free(arena);
}
/* <<tp oversmoothing: commands>> */
static void train_remedy(remedy which, const tp_corpus *corpus, int *tokens,
                         int *inputs, long train, double unigram, FILE *tsv)
{
    tp_rng drop = tp_rng_seeded((uint64_t)smooth_seed, 5);
    tp_gpt *m = remedy_model(which, &drop);
    gpt_windows w = {.m = m, .tokens = tokens, .train = train,
                     .total = corpus->size, .batch = smooth_batch,
                     .context = smooth_context, .inputs = inputs,
                     .targets = inputs + smooth_batch * smooth_context,
                     .rng = tp_rng_seeded((uint64_t)smooth_seed, 2)};
    char label[64];
    snprintf(label, sizeof label, "%s@0", remedy_names[which]);
    if (which == BASELINE || which == NO_SKIP)
        measure_gpt(m, &w, label, tsv);
    /* <<oversmoothing: train, measure, report>> */
    tp_optimizer *opt = tp_optimizer_new(&m->params, (tp_optimizer_config){
        .kind = TP_ADAMW, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f,
        .weight_decay = 0.1f});
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = smooth_steps, .warmup = smooth_steps / 10 + 1,
                          .max_lr = smooth_lr, .min_lr = smooth_lr / 10,
                          .clip = 1.0};
    float *losses = malloc((size_t)smooth_steps * sizeof *losses);
    tp_check(losses != NULL, "out of memory");
    tp_error error;
    bool good = tp_train(&g, &m->params, opt, &o, gpt_windows_loss, &w, losses,
                         &error) == 0;
    double validation = good ? gpt_windows_validation(&w, 2) : NAN;
    snprintf(label, sizeof label, "%s", remedy_names[which]);
    if (good)
        measure_gpt(m, &w, label, tsv);
    printf("# loss %s %.4f %.4f (unigram %.4f)\n", label,
           good ? (double)losses[smooth_steps - 1] : NAN, validation, unigram);
    if (tsv != NULL)
        fprintf(tsv, "# loss %s %.4f %.4f\n", label,
                good ? (double)losses[smooth_steps - 1] : NAN, validation);
    free(losses);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_gpt_free(m);
}
/* <<tp oversmoothing: commands>> */
static int oversmoothing_compare(void)
{
    if (smooth_width % smooth_heads != 0) {
        fprintf(stderr, "tp oversmoothing compare: --heads %d does not divide "
                "--width %d\n", smooth_heads, smooth_width);
        return 1;
    }
    if (smooth_drop >= 1 || smooth_temperature <= 0) {
        fprintf(stderr, "tp oversmoothing compare: --drop-head must be below 1 "
                "and --temperature above 0\n");
        return 1;
    }
    if (smooth_tsv != NULL && check_output("oversmoothing compare", smooth_tsv))
        return 1;
    FILE *tsv = smooth_tsv != NULL ? fopen(smooth_tsv, "w") : NULL;
    /* <<oversmoothing compare: describe the run>> */
    tp_describe_machine(stdout);
    char about[256];
    snprintf(about, sizeof about, "# written by: tp oversmoothing compare\n"
             "# %d layers, width %d, %d heads, %d tokens; GPT: batch %d, %d steps, "
             "rate %g\n", smooth_layers, smooth_width, smooth_heads, smooth_context,
             smooth_batch, smooth_steps, (double)smooth_lr);
    fputs(about, stdout);
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fputs(about, tsv);
        fprintf(tsv, "model\tlayer\tcosine\teffective_rank\tentropy\n");
    }
    pure_stack(false, tsv);
    pure_stack(true, tsv);
    /* <<oversmoothing compare: train each remedy>> */
    tp_corpus corpus = tp_corpus_book(), train, validation;
    tp_corpus_split(&corpus, &train, &validation);
    int *tokens = malloc((size_t)corpus.size * sizeof *tokens);
    int *inputs = malloc(2 * (size_t)smooth_batch * smooth_context * sizeof(int));
    tp_check(tokens != NULL && inputs != NULL, "out of memory");
    tp_tokenizer bytes = tp_tokenizer_bytes();
    tp_encode(&bytes, corpus.bytes, corpus.size, tokens);
    double unigram = unigram_loss(&train, &validation);
    catch_interrupts();
    for (int r = 0; r < REMEDIES && !interrupted; r++)
        train_remedy((remedy)r, &corpus, tokens, inputs, train.size, unigram, tsv);
    free(tokens), free(inputs);
    if (tsv != NULL && fclose(tsv) != 0) {
        fprintf(stderr, "tp oversmoothing compare: cannot write %s\n",
                smooth_tsv);
        return 1;
    }
    return interrupted ? EXIT_INTERRUPTED : 0;
}

/* <<tp oversmoothing: figures>> */

static const command oversmoothing_commands[] = {
    /* <<tp oversmoothing: command table>> */
    {"oversmoothing compare", "how alike the tokens become with depth: pure "
     "attention, and a deep GPT with each remedy", oversmoothing_options,
     oversmoothing_compare, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure oversmoothing_figures[] = {
    /* <<tp oversmoothing: figure table>> */
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part oversmoothing_part = {oversmoothing_commands,
                                         oversmoothing_figures};
