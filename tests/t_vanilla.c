/* Generated from book/208-vanilla.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "models.h"
#include "tap.h"
#include "tp.h"

static tp_vanilla *tiny_model(uint64_t seed, int post_ln)
{
    tp_vanilla *m = tp_vanilla_new((tp_vanilla_config){
        .source_vocab = 12, .target_vocab = 10, .n_positions = 16,
        .n_layer = 2, .n_head = 2, .n_embd = 8, .n_inner = 16,
        .post_ln = post_ln});
    tp_rng rng = tp_rng_seeded(seed, 0);
    tp_vanilla_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    return m;
}

/* <<t-vanilla: sinusoids>> */
static void sinusoids(void)
{
    tp_arena *arena = tp_arena_new("test");
    const int width = 16, k = 3;
    tp_tensor *pe = tp_sinusoids(arena, 64, width);
    double worst = 0;
    for (int i = 0; i < width / 2; i++) {
        /* (sin, cos) at k = the rotation of (0, 1), the pair at 0 */
        double s = pe->data[k * width + 2 * i], c = pe->data[k * width + 2 * i + 1];
        for (int p = 5; p <= 40; p += 35) {
            double sp = pe->data[p * width + 2 * i];
            double cp = pe->data[p * width + 2 * i + 1];
            worst = fmax(worst, fabs(pe->data[(p + k) * width + 2 * i]
                                     - (sp * c + cp * s)));
            worst = fmax(worst, fabs(pe->data[(p + k) * width + 2 * i + 1]
                                     - (cp * c - sp * s)));
        }
    }
    near(worst, 0, 1e-5, "position p + 3 is position p turned by one angle "
         "per frequency, the same for p = 5 and p = 40");
    ok(pe->data[0] == 0.0f && pe->data[1] == 1.0f && pe->data[width] > 0.84f,
       "position 0 is (sin 0, cos 0) and position 1 starts with sin 1");
    tp_arena_free(arena);
}

/* <<t-vanilla: blocks>> */
static double worst_row_moments(const tp_tensor *y, int rows, int width)
{
    double worst = 0;
    for (int r = 0; r < rows; r++) {
        double mean = 0, var = 0;
        for (int j = 0; j < width; j++)
            mean += y->data[r * width + j] / width;
        for (int j = 0; j < width; j++)
            var += pow(y->data[r * width + j] - mean, 2) / width;
        worst = fmax(worst, fmax(fabs(mean), fabs(var - 1)));
    }
    return worst;
}
/* <<t-vanilla: blocks>> */
static void blocks(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_params params = {0};
    tp_block b;
    tp_block_make(&b, &params, arena, "h.0.", 8, 16, false);
    tp_rng rng = tp_rng_seeded(4, 0);
    tp_init_gpt2(&params, &rng, 1);
    tp_tensor *x = tp_tensor_new(arena, tp_shape3(2, 5, 8), TP_NO_GRAD);
    tp_fill_normal(x, &rng, 0.5f, 3.0f);
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_block_options post = {.heads = 2, .post_ln = true};
    tp_block_options pre = {.heads = 2};
    near(worst_row_moments(tp_block_forward(&g, &b, x, NULL, &post), 10, 8), 0,
         1e-3, "a post-LN block's rows have mean 0 and variance 1");
    ok(worst_row_moments(tp_block_forward(&g, &b, x, NULL, &pre), 10, 8) > 1,
       "a pre-LN block's rows are not normalised");
    ok(params.count == 12, "a block without cross-attention has 12 tensors");
    tp_block_make(&b, &params, arena, "h.1.", 8, 16, true);
    ok(params.count == 32 && tp_params_find(&params,
                                            "h.1.crossattention.q_attn.weight"),
       "with cross-attention, 8 more, under Hugging Face's names");
    tp_params_free(&params);
    tp_arena_free(arena);
}

/* <<t-vanilla: gradients>> */
static const int grad_source[2 * 4] = {3, 1, 4, 1, 5, 9, 2, 6};
static const unsigned char grad_padding[2 * 4] = {0, 0, 0, 1, 0, 0, 0, 0};
static const int grad_target[2 * 5] = {TP_BOS, 4, 5, TP_EOS, TP_PAD,
                                       TP_BOS, 9, 3, 7, TP_EOS};

static tp_tensor *tiny_loss(tp_graph *g, tp_tensor *const in[], void *c)
{
    (void)in;
    tp_source s = {grad_source, grad_padding, 2, 4};
    return tp_vanilla_loss(g, c, &s, grad_target, 5, 0.1f);
}

static void gradients(void)
{
    for (int post_ln = 0; post_ln <= 1; post_ln++) {
        tp_vanilla *m = tiny_model(3, post_ln);
        m->activation = tp_gelu;
        check_model_gradients(tiny_loss, &m->params, m,
                              post_ln ? "post-LN encoder-decoder"
                                      : "pre-LN encoder-decoder");
        tp_vanilla_free(m);
    }
}

/* <<t-vanilla: the decoder does not see the future>> */
static void future_stays_hidden(void)
{
    tp_vanilla *m = tiny_model(5, 1);
    static const int source[6] = {1, 2, 3, 4, 5, 6};
    int a[7] = {TP_BOS, 3, 4, 5, 6, 7, 8}, b[7];
    memcpy(b, a, sizeof a);
    b[4] = 9;
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_source s = {.tokens = source, .batch = 1, .length = 6};
    tp_tensor *memory = tp_vanilla_encode(&g, m, &s);
    tp_tensor *la = tp_vanilla_decode(&g, m, memory, &s, a, 7, NULL);
    tp_tensor *lb = tp_vanilla_decode(&g, m, memory, &s, b, 7, NULL);
    ok(memcmp(la->data, lb->data, 4 * 10 * sizeof(float)) == 0
           && memcmp(la->data + 40, lb->data + 40, 10 * sizeof(float)) != 0,
       "changing target token 4 changes its logits and none before it");
    tp_arena_free(arena);
    tp_vanilla_free(m);
}

/* <<t-vanilla: padding the source changes nothing>> */
static void padding_changes_nothing(void)
{
    tp_vanilla *m = tiny_model(7, 1);
    static const int source[2 * 7] = {5, 8, 1, 0, 0, 0, 0,
                                      5, 8, 1, 11, 3, 7, 2};
    static const unsigned char padding[2 * 7] = {0, 0, 0, 1, 1, 1, 1,
                                                 0, 0, 0, 1, 1, 1, 1};
    static const int target[2 * 4] = {TP_BOS, 4, 6, 3, TP_BOS, 4, 6, 3};
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_source alone = {.tokens = source, .batch = 1, .length = 3};
    tp_source padded = {.tokens = source, .padding = padding, .batch = 2,
                        .length = 7};
    tp_tensor *a = tp_vanilla_decode(&g, m, tp_vanilla_encode(&g, m, &alone),
                                     &alone, target, 4, NULL);
    tp_tensor *b = tp_vanilla_decode(&g, m, tp_vanilla_encode(&g, m, &padded),
                                     &padded, target, 4, NULL);
    double worst = 0;
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 4 * 10; i++)
            worst = fmax(worst, fabs(a->data[i] - b->data[r * 40 + i]));
    near(worst, 0, 1e-5, "padding the source, with zeros or junk, leaves the "
         "logits unchanged");
    tp_arena_free(arena);
    tp_vanilla_free(m);
}

/* <<t-vanilla: beam search>> */
static void beam_search(void)
{
    tp_vanilla *m = tiny_model(8, 0);
    tp_rng rng = tp_rng_seeded(8, 1);
    int same = 0, lengths = 0;
    for (int i = 0; i < 20; i++) {
        int source[5], greedy[12], beam[12];
        for (int j = 0; j < 5; j++)
            source[j] = (int)tp_rng_below(&rng, 12);
        int n = tp_vanilla_greedy(m, source, 5, 12, greedy);
        int k = tp_vanilla_beam(m, source, 5, 1, 12, beam);
        same += n == k && memcmp(greedy, beam, (size_t)n * sizeof(int)) == 0;
        lengths += n;
    }
    ok(same == 20, "beam search of width 1 equals greedy decoding on %d of "
       "20 sources (%d tokens in all)", same, lengths);
    int source[3] = {1, 2, 3}, out[12];
    int n = tp_vanilla_beam(m, source, 3, 4, 12, out);
    ok(n >= 0 && n <= 12, "a beam of width 4 returns a translation (%d "
       "tokens)", n);
    tp_vanilla_free(m);
}

/* <<t-vanilla: learning to copy>> */
typedef struct copy_task {
    tp_vanilla *m;
    tp_rng rng;
    int source[16 * 4], target[16 * 6];
} copy_task;

static void copy_example(tp_rng *rng, int *source, int *target)
{
    target[0] = TP_BOS, target[5] = TP_EOS;
    for (int j = 0; j < 4; j++) {
        source[j] = (int)tp_rng_below(rng, 7);
        target[j + 1] = source[j] + 3;
    }
}

static tp_tensor *copy_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    copy_task *c = context;
    for (int b = 0; b < 16; b++)
        copy_example(&c->rng, c->source + 4 * b, c->target + 6 * b);
    tp_source s = {.tokens = c->source, .batch = 16, .length = 4};
    return tp_vanilla_loss(g, c->m, &s, c->target, 6, 0.0f);
}
/* <<t-vanilla: learning to copy>> */
static void learning_to_copy(void)
{
    copy_task c = {.m = tp_vanilla_new((tp_vanilla_config){
                       .source_vocab = 7, .target_vocab = 10,
                       .n_positions = 8, .n_layer = 1, .n_head = 4,
                       .n_embd = 32, .n_inner = 64}),
                   .rng = tp_rng_seeded(9, 2)};
    tp_vanilla_init(c.m, &c.rng);
    tp_optimizer *opt = tp_optimizer_new(&c.m->params, (tp_optimizer_config){
        .kind = TP_ADAM, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-9f});
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    float losses[300];
    tp_train_options o = {.steps = 300, .warmup = 30, .max_lr = 3e-3f,
                          .min_lr = 3e-4f, .clip = 1.0};
    tp_train(&g, &c.m->params, opt, &o, copy_loss, &c, losses, NULL);
    int copied = 0;
    for (int i = 0; i < 20; i++) {
        int source[4], target[6], out[8];
        copy_example(&c.rng, source, target);
        int n = tp_vanilla_greedy(c.m, source, 4, 8, out);
        copied += n == 4 && memcmp(out, target + 1, sizeof source) == 0;
    }
    ok(losses[299] < 0.2f * losses[0], "training lowers the loss from %.3f "
       "to %.3f", losses[0], losses[299]);
    ok(copied >= 18, "the trained model copies %d of 20 new sources", copied);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    tp_vanilla_free(c.m);
}

/* <<t-vanilla: checkpoints>> */
static void checkpoints(void)
{
    char path[] = "/tmp/tp-vanilla-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    tp_vanilla *m = tiny_model(10, 1);
    tp_error error;
    ok(tp_vanilla_save(m, path, &error) == 0, "a model saves");
    tp_vanilla *back = tp_vanilla_load(path, &error);
    int source[3] = {4, 0, 2}, a[8], b[8];
    int n = tp_vanilla_greedy(m, source, 3, 8, a);
    ok(back != NULL && back->config.post_ln == 1
           && tp_vanilla_greedy(back, source, 3, 8, b) == n
           && memcmp(a, b, (size_t)n * sizeof *a) == 0,
       "the loaded model translates as the saved one");
    tp_gpt *gpt = tp_gpt_new((tp_gpt_config){.vocab_size = 16, .n_positions = 8,
                                                .n_layer = 1, .n_head = 2,
                                                .n_embd = 8});
    tp_gpt_save(gpt, path, NULL, 0, NULL, &error);
    ok(tp_vanilla_load(path, &error) == NULL
           && strstr(error.message, "not a checkpoint of a vanilla") != NULL,
       "a GPT checkpoint is refused: %s", error.message);
    tp_gpt_free(gpt);
    /* <<t-vanilla: a configuration larger than its file>> */
    tp_metadata huge = {0};
    const char *fields[][2] = {
        {"model", "vanilla"}, {"source_vocab", "1000"}, {"target_vocab", "1000"},
        {"n_positions", "64"}, {"n_layer", "1000"}, {"n_head", "8"},
        {"n_embd", "65536"}, {"n_inner", "65536"}, {"post_ln", "0"}};
    for (int i = 0; i < 9; i++)
        tp_metadata_set(&huge, fields[i][0], fields[i][1]);
    tp_safetensors_save(path, NULL, 0, &huge, &error);
    ok(tp_vanilla_load(path, &error) == NULL
           && strstr(error.message, "more than the file can hold") != NULL,
       "a configuration larger than its file is refused before it is made");
    tp_vanilla_free(back);
    tp_vanilla_free(m);
    unlink(path);
}

int main(void)
{
    sinusoids();
    blocks();
    gradients();
    future_stays_hidden();
    padding_changes_nothing();
    beam_search();
    learning_to_copy();
    checkpoints();
    return done_testing();
}
