/* Generated from book/224-gpt.nw; edit the book, not this file. */
#include <string.h>
#include <unistd.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

static const tp_gpt_config tiny = {.vocab_size = 16, .n_positions = 12,
                                   .n_layer = 2, .n_head = 2, .n_embd = 8};

static tp_gpt *tiny_model(uint64_t seed)
{
    tp_gpt *m = tp_gpt_new(tiny);
    tp_rng rng = tp_rng_seeded(seed, 0);
    tp_gpt_init(m, &rng);
    enlarge_weights(&m->params, &rng);  /* larger weights: a model */
    return m;
}

/* <<t-gpt: the cache agrees with the full computation>> */
static void cache_agrees(void)
{
    tp_gpt *m = tiny_model(1);
    static const int tokens[10] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
    tp_arena *arena = tp_arena_new("test"), *scratch = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *full = tp_gpt_forward(&g, m, tokens, 1, 10);  /* [1, 10, 16] */
    tp_gpt_cache *cache = tp_gpt_cache_new(m, 12);
    double worst = 0;
    for (int t = 0; t < 10; t++) {
        const float *step = tp_gpt_step(m, cache, tokens[t], scratch);
        for (int v = 0; v < 16; v++)
            worst = fmax(worst, fabs(step[v] - full->data[t * 16 + v]));
        tp_arena_reset(scratch);
    }
    near(worst, 0, 1e-5, "KV-cache logits equal full recomputation at every "
         "step");
    tp_gpt_cache_free(cache);
    tp_arena_free(scratch), tp_arena_free(arena);
    tp_gpt_free(m);
}

/* <<t-gpt: the future stays hidden>> */
static void future_stays_hidden(void)
{
    tp_gpt *m = tiny_model(2);
    int a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8];
    memcpy(b, a, sizeof a);
    b[5] = 15;
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *la = tp_gpt_forward(&g, m, a, 1, 8);
    tp_tensor *lb = tp_gpt_forward(&g, m, b, 1, 8);
    ok(memcmp(la->data, lb->data, 5 * 16 * sizeof(float)) == 0
           && memcmp(la->data + 5 * 16, lb->data + 5 * 16, 16 * sizeof(float)),
       "changing token 5 changes its logits and none before it");
    tp_arena_free(arena);
    tp_gpt_free(m);
}

/* <<t-gpt: gradients>> */
static const int grad_tokens[2 * 6] = {1, 5, 2, 7, 3, 0, 9, 9, 4, 1, 15, 8};
static const int grad_targets[2 * 6] = {5, 2, 7, 3, 0, 11, 9, 4, 1, 15, 8, 2};

static tp_tensor *tiny_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)in;
    return tp_gpt_loss(g, c, grad_tokens, grad_targets, 2, 6);
}

static void gradients(void)
{
    tp_gpt *m = tiny_model(3);
    check_model_gradients(tiny_loss, &m->params, m, "the GPT");
    tp_gpt_free(m);
}

/* <<t-gpt: the profile of a step>> */
static void profiled_step(tp_gpt *m, tp_profile *p, long nodes[TP_OPS_CLASSES])
{
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    g.profile = p;
    if (p != NULL)
        tp_profile_start(p);
    tp_zero_grad(&m->params);
    tp_backward(&g, tp_gpt_loss(&g, m, grad_tokens, grad_targets, 2, 6));
    for (tp_node *n = g.last; n != NULL; n = n->previous)
        nodes[tp_gpt_op_class_of(n->op)]++;
    tp_arena_free(step);
}

static bool same_gradients(const tp_params *a, const tp_params *b)
{
    bool same = a->count == b->count;
    for (int i = 0; same && i < a->count; i++) {
        tp_tensor *x = a->items[i].tensor, *y = b->items[i].tensor;
        same = memcmp(x->grad, y->grad, (size_t)tp_tensor_count(x)
                                            * sizeof *x->grad) == 0;
    }
    return same;
}

static void profile_of_a_step(void)
{
    tp_gpt *plain = tiny_model(3), *timed = tiny_model(3);
    long nodes[TP_OPS_CLASSES] = {0}, ignored[TP_OPS_CLASSES] = {0};
    tp_profile *p = calloc(1, sizeof *p);
    profiled_step(plain, NULL, ignored);
    profiled_step(timed, p, nodes);
    ok(same_gradients(&plain->params, &timed->params),
       "a profiled step's gradients are bit for bit the plain step's");
    long forward[TP_OPS_CLASSES] = {0}, backward[TP_OPS_CLASSES] = {0};
    for (int i = 0; i < p->ops; i++) {
        tp_gpt_op_class c = tp_gpt_op_class_of(p->entry[i].op);
        forward[c] += p->entry[i].forward_calls;
        backward[c] += p->entry[i].backward_calls;
    }
    bool counted = nodes[TP_OPS_PRODUCTS] > 0 && nodes[TP_OPS_ATTENTION] == 2;
    for (int c = 0; c < TP_OPS_CLASSES; c++)
        counted = counted && forward[c] == nodes[c] && backward[c] == nodes[c];
    ok(counted, "the profile counts, class by class, each node of the tape "
       "once forward and once backward");
    free(p);
    tp_gpt_free(timed);
    tp_gpt_free(plain);
}

/* <<t-gpt: training and sampling>> */
typedef struct pattern_data {
    tp_gpt *m;
    int tokens[4 * 10], targets[4 * 10];
} pattern_data;

static tp_tensor *pattern_loss(tp_graph *g, long step, void *context)
{
    pattern_data *d = context;
    for (int b = 0; b < 4; b++)
        for (int t = 0; t < 10; t++) {
            d->tokens[b * 10 + t] = (int)((b + t + step) % 5);
            d->targets[b * 10 + t] = (int)((b + t + step + 1) % 5);
        }
    return tp_gpt_loss(g, d->m, d->tokens, d->targets, 4, 10);
}
/* <<t-gpt: training and sampling>> */
static void training_and_sampling(void)
{
    pattern_data d = {.m = tiny_model(4)};
    tp_optimizer *opt = tp_adamw_new(&d.m->params, 0.95f, 0.1f);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = 60, .warmup = 5, .max_lr = 1e-2f,
                          .min_lr = 1e-3f, .clip = 1.0};
    float losses[60];
    tp_train(&g, &d.m->params, opt, &o, pattern_loss, &d, losses, NULL);
    ok(losses[59] < 0.5f * losses[0], "60 steps on a repeating pattern halve "
       "the loss (%.3f to %.3f)", losses[0], losses[59]);
    tp_optimizer_free(opt);
    tp_arena_free(step);
    tp_gpt_free(d.m);
}
/* <<t-gpt: training and sampling>> */
static void sampling(void)
{
    /* <<t-gpt: sampling>> */
    float logits[6] = {0.1f, 2.0f, -1.0f, 1.9f, 0.0f, 0.5f};
    int draws[2][20];
    for (int run = 0; run < 2; run++) {
        tp_rng rng = tp_rng_seeded(77, 0);
        for (int i = 0; i < 20; i++)
            draws[run][i] = tp_gpt_sample_token(logits, 6, 1.0f, 0, 1.0f, &rng);
    }
    ok(memcmp(draws[0], draws[1], sizeof draws[0]) == 0,
       "sampling with a seed is reproducible");
    tp_rng rng = tp_rng_seeded(1, 1);
    ok(tp_gpt_sample_token(logits, 6, 0.0f, 0, 1.0f, &rng) == 1
           && tp_gpt_sample_token(logits, 6, 1.0f, 1, 1.0f, &rng) == 1,
       "temperature 0, and top-k 1, take the most likely token");
    bool top_two = true;
    for (int i = 0; i < 200; i++) {
        int t = tp_gpt_sample_token(logits, 6, 1.0f, 0, 0.5f, &rng);
        top_two &= t == 1 || t == 3;
    }
    ok(top_two, "top-p 0.5 keeps only the two most likely tokens here");
}

/* <<t-gpt: checkpoints>> */
static void train_run(const char *path, long interrupt_after, float *losses);
static void refuse_configuration(const tp_gpt *m, const char *path,
                                 const char *key, const char *value,
                                 const char *message, const char *what);
static void refuse_run(const tp_gpt *m, const char *path, const char *key,
                       const char *bad, const char *message, const char *what);

static void checkpoints(void)
{
    tp_gpt *m = tiny_model(5);
    char path[] = "/tmp/tp-gpt-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    tp_error error = {""};
    ok(tp_gpt_save(m, path, NULL, 0, NULL, &error) == 0, "a GPT saves");
    tp_metadata meta;
    tp_gpt *back = tp_gpt_load(path, &meta, &error);
    if (!ok(back != NULL, "and loads, making the model from the metadata"))
        diag("%s", error.message);
    ok(tp_params_find(&m->params, "h.1.attn.c_attn.weight") != NULL
           && tp_params_find(&m->params, "h.0.mlp.c_proj.bias") != NULL
           && strcmp(tp_metadata_get(&meta, "n_embd"), "8") == 0,
       "with GPT-2's names and config.json keys");
    /* <<t-gpt: the loaded model computes the same logits>> */
    static const int tokens[5] = {2, 7, 1, 8, 2};
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *a = tp_gpt_forward(&g, m, tokens, 1, 5);
    tp_tensor *b = back ? tp_gpt_forward(&g, back, tokens, 1, 5) : a;
    ok(back != NULL && tp_max_abs_diff(a, b) == 0.0f,
       "the loaded model computes the same logits, bit for bit");
    tp_arena_free(arena);
    /* <<t-gpt: resuming a run>> */
    float straight[8], resumed[8];
    train_run(path, -1, straight);
    train_run(path, 3, resumed);
    ok(memcmp(straight, resumed, sizeof straight) == 0,
       "a run resumed from its checkpoint continues with the same losses");
    /* <<t-gpt: a checkpoint in Hugging Face's layout>> */
    char hf[] = "/tmp/tp-hf-XXXXXX", file[64];
    if (mkdtemp(hf) == NULL)
        bail_out("cannot make %s", hf);
    snprintf(file, sizeof file, "%s/config.json", hf);
    FILE *f = fopen(file, "w");
    fprintf(f, "{\"model_type\": \"gpt2\", \"n_layer\": 2, \"n_head\": 2, "
            "\"n_embd\": 8, \"n_positions\": 12, \"vocab_size\": 16}\n");
    fclose(f);
    snprintf(file, sizeof file, "%s/model.safetensors", hf);
    tp_arena *buffers = tp_arena_new("test");
    tp_param *hf_tensors = calloc((size_t)m->params.count + 1, sizeof *hf_tensors);
    memcpy(hf_tensors, m->params.items, (size_t)m->params.count * sizeof *hf_tensors);
    snprintf(hf_tensors[m->params.count].name, 64, "h.0.attn.bias");
    hf_tensors[m->params.count].tensor =
        tp_tensor_new(buffers, tp_shape4(1, 1, 12, 12), TP_NO_GRAD);
    tp_safetensors_save(file, hf_tensors, m->params.count + 1, NULL, &error);
    tp_gpt *hf_model = tp_gpt_load(file, NULL, &error);
    /* <<t-gpt: compare the Hugging Face model>> */
    tp_arena *hf_arena = tp_arena_new("test");
    tp_graph hg = tp_graph_on(hf_arena);
    tp_set_grad(&hg, false);
    bool same = hf_model != NULL
                && tp_max_abs_diff(tp_gpt_forward(&hg, m, tokens, 1, 5),
                                   tp_gpt_forward(&hg, hf_model, tokens, 1, 5))
                       == 0.0f;
    if (!ok(same, "a Hugging Face checkpoint with config.json loads, extra "
            "buffers ignored"))
        diag("%s", error.message);
    tp_gpt_free(hf_model);
    tp_arena_free(hf_arena);
    tp_arena_free(buffers);
    free(hf_tensors);
    unlink(file);
    snprintf(file, sizeof file, "%s/config.json", hf);
    unlink(file);
    rmdir(hf);
    /* <<t-gpt: hostile configurations>> */
    refuse_configuration(m, path, "n_embd", "8.5", "not a whole number",
                         "a fractional width is refused");
    refuse_configuration(m, path, "n_layer", "99999999999", "not a whole number",
                         "a layer count past an int is refused");
    refuse_configuration(m, path, "n_head", "-2", "not a whole number",
                         "a negative head count is refused");
    refuse_configuration(m, path, "n_embd", "60000", "more than the file can hold",
                         "a model larger than its file is refused before it is "
                         "made");
    refuse_run(m, path, "\"optimizer.steps\":\"", "x",
               "optimizer.steps is \"x\"", "a run whose step count is not a "
               "number is refused");
    refuse_run(m, path, "\"data.rng.increment\":\"", "-",
               "not two whole numbers", "a run whose generator state is negative "
               "is refused");
    unlink(path);
    tp_gpt_free(back);
    tp_gpt_free(m);
}
/* <<t-gpt: checkpoints>> */
static void refuse_run(const tp_gpt *m, const char *path, const char *key,
                       const char *bad, const char *message, const char *what)
{
    tp_optimizer *opt = tp_adamw_new(&m->params, 0.95f, 0.0f);
    tp_rng rng = tp_rng_seeded(7, 7), before = rng;
    tp_error error = {""};
    if (tp_gpt_save_run(path, m, opt, &rng, &error) != 0)
        bail_out("cannot write %s: %s", path, error.message);
    FILE *f = fopen(path, "r+b");
    unsigned char length[8] = {0};
    size_t n = 0;
    if (f == NULL || fread(length, 1, 8, f) != 8)
        bail_out("cannot read %s", path);
    for (int i = 7; i >= 0; i--)
        n = n << 8 | length[i];
    char *header = calloc(n + 1, 1);
    char *at = header != NULL && fread(header, 1, n, f) == n
                   ? strstr(header, key) : NULL;
    if (at == NULL)
        bail_out("no %s in the header of %s", key, path);
    fseek(f, 8 + (at - header) + (long)strlen(key), SEEK_SET);
    free(header);
    fwrite(bad, 1, strlen(bad), f);
    fclose(f);
    int status = tp_gpt_load_run(path, m, opt, &rng, &error);
    if (!ok(status != 0 && strstr(error.message, message) != NULL
                && rng.state == before.state && tp_optimizer_steps(opt) == 0,
            "%s", what))
        diag("the message was: %s", error.message);
    tp_optimizer_free(opt);
}
/* <<t-gpt: checkpoints>> */
static void refuse_configuration(const tp_gpt *m, const char *path,
                                 const char *key, const char *value,
                                 const char *message, const char *what)
{
    static const char *const keys[5] = {"vocab_size", "n_positions",
                                        "n_layer", "n_head", "n_embd"};
    static const char *const tiny_values[5] = {"16", "12", "2", "2", "8"};
    tp_metadata meta = {0};
    for (int i = 0; i < 5; i++)
        tp_metadata_set(&meta, keys[i],
                        strcmp(keys[i], key) == 0 ? value : tiny_values[i]);
    tp_error error = {""};
    if (tp_safetensors_save(path, m->params.items, m->params.count, &meta,
                            &error) != 0)
        bail_out("cannot write %s: %s", path, error.message);
    tp_gpt *back = tp_gpt_load(path, NULL, &error);
    if (!ok(back == NULL && strstr(error.message, message) != NULL, "%s", what))
        diag("the message was: %s", error.message);
    if (back != NULL)
        tp_gpt_free(back);
}
/* <<t-gpt: checkpoints>> */
typedef struct windows {
    tp_gpt *m;
    tp_rng rng;
    int tokens[100], inputs[2 * 10], targets[2 * 10];
} windows;

static tp_tensor *window_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    windows *w = context;
    tp_random_windows(w->tokens, 100, 2, 10, &w->rng, w->inputs, w->targets);
    return tp_gpt_loss(g, w->m, w->inputs, w->targets, 2, 10);
}

static bool stop_at(const tp_progress *p, void *context)
{
    return p->step != *(const long *)context;
}
/* <<t-gpt: checkpoints>> */
static tp_optimizer *adamw(tp_gpt *m)
{
    return tp_adamw_new(&m->params, 0.95f, 0.1f);
}

static void train_run(const char *path, long interrupt_after, float *losses)
{
    windows w = {.m = tiny_model(6), .rng = tp_rng_seeded(9, 9)};
    for (int i = 0; i < 100; i++)
        w.tokens[i] = (i * 7 + i / 10) % 16;
    tp_optimizer *opt = adamw(w.m);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = 8, .warmup = 2, .max_lr = 1e-2f,
                          .min_lr = 1e-3f, .clip = 1.0, .progress = stop_at,
                          .progress_context = &interrupt_after};
    tp_train(&g, &w.m->params, opt, &o, window_loss, &w, losses, NULL);
    if (interrupt_after >= 0) {
        /* <<t-gpt: save, reload and continue>> */
        tp_error error;
        tp_gpt_save_run(path, w.m, opt, &w.rng, &error);
        tp_optimizer_free(opt);
        tp_gpt_free(w.m);
        w.m = tp_gpt_load(path, NULL, &error);
        opt = adamw(w.m);
        w.rng = tp_rng_seeded(0, 0);  /* forgotten: the checkpoint restores it */
        tp_gpt_load_run(path, w.m, opt, &w.rng, &error);
        o.progress = NULL;
        tp_train(&g, &w.m->params, opt, &o, window_loss, &w, losses, NULL);
    }
    tp_optimizer_free(opt);
    tp_arena_free(step);
    tp_gpt_free(w.m);
}

/* <<t-gpt: grouped-query attention>> */
static const tp_gpt_config four_heads = {.vocab_size = 16, .n_positions = 12,
                                         .n_layer = 2, .n_head = 4,
                                         .n_embd = 8};

/* The column of a [C, 3C] c_attn that a [C, C + 2Gd] one with G = 1 holds */
static int shared_column(int j, int c, int d)
{
    if (j < c)
        return j;
    return j < 2 * c ? c + (j - c) % d : c + d + (j - 2 * c) % d;
}

static void copy_spreading_heads(tp_gpt *to, const tp_gpt *from)
{
    int c = four_heads.n_embd, d = c / four_heads.n_head;
    for (int i = 0; i < to->params.count; i++) {
        tp_tensor *a = to->params.items[i].tensor;
        const tp_tensor *b =
            tp_params_find(&from->params, to->params.items[i].name)->tensor;
        int cols = a->shape.dim[a->shape.ndim - 1];
        int from_cols = b->shape.dim[b->shape.ndim - 1];
        for (long k = 0; k < tp_tensor_count(a); k++) {
            long row = k / cols;
            int j = (int)(k % cols);
            a->data[k] = b->data[row * from_cols
                                 + (cols == from_cols ? j
                                                      : shared_column(j, c, d))];
        }
    }
}

static double worst_logit_difference(const float *a, const float *b, long n)
{
    double worst = 0.0;
    for (long i = 0; i < n; i++)
        worst = fmax(worst, fabs(a[i] - b[i]));
    return worst;
}

static void grouped_query_attention(void)
{
    static const int tokens[10] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
    tp_rng rng = tp_rng_seeded(8, 0);
    tp_gpt *mqa = tp_gpt_new_modern(four_heads, (tp_gpt_modern){.kv_heads = 1});
    tp_gpt *mha = tp_gpt_new(four_heads);
    tp_gpt_init(mqa, &rng);
    enlarge_weights(&mqa->params, &rng);
    copy_spreading_heads(mha, mqa);
    tp_arena *arena = tp_arena_new("test"), *scratch = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *a = tp_gpt_forward(&g, mqa, tokens, 1, 10);
    tp_tensor *b = tp_gpt_forward(&g, mha, tokens, 1, 10);
    near(worst_logit_difference(a->data, b->data, 160), 0, 1e-5,
         "one key-value head computes what four copies of it compute");
    tp_gpt_cache *small = tp_gpt_cache_new(mqa, 12), *big = tp_gpt_cache_new(mha, 12);
    is(tp_tensor_count(big->k[0]) / tp_tensor_count(small->k[0]), 4,
       "multi-query attention's cache is four times smaller with four heads");
    tp_gpt_cache_free(small), tp_gpt_cache_free(big);
    /* <<t-gpt: GPT-T's cache per token>> */
    for (int kv = 4; kv >= 1; kv /= 2) {
        tp_gpt *gpt_t = tp_gpt_new_modern(tp_gpt_t(),
                                          (tp_gpt_modern){.kv_heads = kv});
        tp_gpt_cache *cache = tp_gpt_cache_new(gpt_t, 128);
        long bytes = 0;
        for (int l = 0; l < gpt_t->config.n_layer; l++)
            bytes += (tp_tensor_count(cache->k[l]) + tp_tensor_count(cache->v[l]))
                     * (long)sizeof(float);
        is(bytes / 128, 2048L * kv, "GPT-T with %d key-value heads caches %ld "
           "bytes per token", kv, bytes / 128);
        tp_gpt_cache_free(cache);
        tp_gpt_free(gpt_t);
    }
    /* <<t-gpt: the cache with two key-value heads>> */
    tp_gpt *gqa = tp_gpt_new_modern(four_heads, (tp_gpt_modern){
        .kv_heads = 2, .rms_norm = true, .swiglu = true});
    tp_gpt_init(gqa, &rng);
    enlarge_weights(&gqa->params, &rng);
    tp_tensor *full = tp_gpt_forward(&g, gqa, tokens, 1, 10);
    tp_gpt_cache *cache = tp_gpt_cache_new(gqa, 12);
    double worst = 0;
    for (int t = 0; t < 10; t++) {
        const float *step = tp_gpt_step(gqa, cache, tokens[t], scratch);
        worst = fmax(worst, worst_logit_difference(step, full->data + t * 16, 16));
        tp_arena_reset(scratch);
    }
    near(worst, 0, 1e-5, "two key-value heads of four: the cache's logits equal "
         "the full pass at every step");
    is(tp_tensor_count(cache->v[1]), 2L * 12 * 2, "and it keeps 2 heads of 12 "
       "positions of d = 2");
    tp_gpt_cache_free(cache);
    cache = tp_gpt_cache_new(gqa, 12);
    const float *last = tp_gpt_extend(gqa, cache, tokens, 10, scratch);
    near(worst_logit_difference(last, full->data, 160), 0, 1e-5,
         "and reading all ten tokens at once gives the same logits");
    tp_gpt_cache_free(cache);
    tp_arena_reset(scratch);
    check_model_gradients(tiny_loss, &gqa->params, gqa,
                          "GQA, RMSNorm and SwiGLU");
    /* <<t-gpt: grouped checkpoints>> */
    char path[] = "/tmp/tp-gqa-XXXXXX";
    close(mkstemp(path));
    tp_error error = {""};
    tp_metadata meta;
    tp_gpt *back = tp_gpt_save(gqa, path, NULL, 0, NULL, &error) == 0
                       ? tp_gpt_load(path, &meta, &error) : NULL;
    if (ok(back != NULL && back->modern.kv_heads == 2
               && strcmp(tp_metadata_get(&meta, "n_kv_head"), "2") == 0
               && back->modern.rms_norm && back->modern.swiglu,
           "a grouped model with RMSNorm and SwiGLU saves its block and loads "
           "with it"))
        near(worst_logit_difference(tp_gpt_forward(&g, back, tokens, 1, 10)->data,
                                    full->data, 160), 0, 0,
             "and computes the same logits");
    else
        diag("%s", error.message);
    tp_gpt_free(back);
    static const char *const keys[6] = {"vocab_size", "n_positions", "n_layer",
                                        "n_head", "n_embd", "n_kv_head"};
    static const char *const values[6] = {"16", "12", "2", "4", "8", "3"};
    tp_metadata old = {0};
    for (int i = 0; i < 5; i++)
        tp_metadata_set(&old, keys[i], values[i]);
    tp_safetensors_save(path, mha->params.items, mha->params.count, &old, &error);
    back = tp_gpt_load(path, NULL, &error);
    ok(back != NULL && back->modern.kv_heads == 4 && !back->modern.rms_norm
           && !back->modern.swiglu,
       "a checkpoint without the keys loads GPT-2's block, as many key-value "
       "heads as heads");
    tp_gpt_free(back);
    tp_metadata_set(&old, keys[5], values[5]);
    tp_safetensors_save(path, mha->params.items, mha->params.count, &old, &error);
    back = tp_gpt_load(path, NULL, &error);
    if (!ok(back == NULL && strstr(error.message, "do not divide") != NULL,
            "3 key-value heads for 4 heads are refused"))
        diag("the message was: %s", error.message);
    tp_gpt_free(back);
    unlink(path);
    tp_gpt_free(gqa);
    tp_arena_free(scratch), tp_arena_free(arena);
    tp_gpt_free(mqa), tp_gpt_free(mha);
}

/* <<t-gpt: SwiGLU and RMSNorm>> */
static double silu(double v) { return v / (1.0 + exp(-v)); }

static void swiglu_and_rmsnorm(void)
{
    enum { C = 4, H = 6 };
    tp_params params = {0};
    tp_arena *arena = tp_arena_new("test");
    tp_block b;
    tp_block_make_variant(&b, &params, arena, "", C, H,
                          &(tp_block_variant){.rms_norm = true,
                                              .swiglu = true});
    tp_rng rng = tp_rng_seeded(12, 0);
    for (int i = 0; i < params.count; i++)
        tp_fill_normal(params.items[i].tensor, &rng, 0.0f, 0.7f);
    tp_tensor *x = tp_tensor_new(arena, tp_shape2(1, C), TP_NO_GRAD);
    tp_fill_normal(x, &rng, 0.0f, 1.0f);
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    const float *y = tp_block_mlp(&g, &b, x, NULL)->data;
    const float *n = tp_block_norm(&g, x, b.ln_1_w, b.ln_1_b)->data;
    double worst = 0.0, worst_norm = 0.0, squares = 0.0, h[H];
    for (int k = 0; k < H; k++) {
        double gate = 0.0, value = b.c_fc_b->data[k];
        for (int c = 0; c < C; c++) {
            gate += (double)x->data[c] * b.mlp_gate_w->data[c * H + k];
            value += (double)x->data[c] * b.c_fc_w->data[c * H + k];
        }
        h[k] = silu(gate) * value;
    }
    for (int c = 0; c < C; c++) {
        double out = b.mlp_proj_b->data[c];
        for (int k = 0; k < H; k++)
            out += h[k] * b.mlp_proj_w->data[k * C + c];
        worst = fmax(worst, fabs(out - y[c]));
        squares += (double)x->data[c] * x->data[c] / C;
    }
    for (int c = 0; c < C; c++)
        worst_norm = fmax(worst_norm, fabs(x->data[c] / sqrt(squares + 1e-5)
                                           * b.ln_1_w->data[c] - n[c]));
    near(worst, 0, 1e-5, "the SwiGLU MLP is (SiLU(x Wg) * (x W1 + b1)) W2 + b2");
    near(worst_norm, 0, 1e-5, "a normalisation without a bias is RMSNorm");
    ok(b.ln_1_b == NULL && b.ln_2_b == NULL
           && tp_params_find(&params, "ln_1.bias") == NULL,
       "and an RMSNorm block has no biases to normalise with");
    tp_params_free(&params);
    tp_arena_free(arena);
    /* <<t-gpt: the two-thirds rule>> */
    tp_gpt_config wide = {.vocab_size = 16, .n_positions = 4, .n_layer = 1,
                          .n_head = 4, .n_embd = 256};
    tp_gpt *gelu = tp_gpt_new(wide);
    tp_gpt *swiglu = tp_gpt_new_modern(wide, (tp_gpt_modern){.swiglu = true});
    long mlp[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        const tp_params *p = i == 0 ? &gelu->params : &swiglu->params;
        for (int j = 0; j < p->count; j++)
            if (strstr(p->items[j].name, ".mlp.") != NULL)
                mlp[i] += tp_tensor_count(p->items[j].tensor);
    }
    ok(fabs((double)mlp[1] / mlp[0] - 1.0) < 0.005,
       "SwiGLU's hidden width of 8C/3 keeps GELU's MLP parameters (%ld and %ld "
       "at width 256)", mlp[1], mlp[0]);
    tp_gpt_free(gelu), tp_gpt_free(swiglu);
}

int main(void)
{
    if (exercise_tests("gpt.kv-cache"))
        cache_agrees();
    if (general_tests()) {
        future_stays_hidden();
        gradients();
        profile_of_a_step();
        training_and_sampling();
    }
    if (exercise_tests("gpt.top-k-top-p"))
        sampling();
    if (general_tests()) {
        checkpoints();
        grouped_query_attention();
        swiglu_and_rmsnorm();
    }
    return done_testing();
}
