/* Generated from book/365-size.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "gradients.h"
#include "models.h"
#include "tap.h"
#include "tp.h"

/* <<t-size: models>> */
static tp_gpt *model(int width, uint64_t seed)
{
    tp_gpt *m = tp_gpt_new((tp_gpt_config){.vocab_size = 16,
                                           .n_positions = 16, .n_layer = 2,
                                           .n_head = 2, .n_embd = width});
    tp_rng rng = tp_rng_seeded(seed, 0);
    tp_gpt_init(m, &rng);
    enlarge_weights(&m->params, &rng);
    return m;
}

static const int tokens[2 * 6] = {1, 5, 2, 7, 3, 0, 9, 9, 4, 1, 15, 8};
static const int targets[2 * 6] = {5, 2, 7, 3, 0, 11, 9, 4, 1, 15, 8, 2};

static tp_tensor *loss_of(tp_graph *g, tp_tensor *const in[], void *m)
{
    (void)in;
    return tp_gpt_loss(g, m, tokens, targets, 2, 6);
}

/* <<t-size: counting>> */
static void counting(void)
{
    tp_gpt_config c = {64, 24, 3, 4, 32, TP_POSITIONS_LEARNED};
    tp_gpt_modern variants[] = {{0}, {.kv_heads = 2},
                                {.rms_norm = true, .swiglu = true},
                                {.kv_heads = 1, .no_mlp = true}};
    bool all = true;
    for (int i = 0; i < 4; i++) {
        for (int p = 0; p < 2; p++) {
            c.positions = p == 0 ? TP_POSITIONS_LEARNED : TP_POSITIONS_ROPE;
            tp_gpt *m = tp_gpt_new_modern(c, variants[i]);
            all = all && tp_gpt_parameter_count(c, variants[i])
                             == (double)tp_params_count(&m->params);
            tp_gpt_free(m);
        }
    }
    ok(all, "the count from a configuration is what tp_gpt_new_modern "
       "allocates, for four variants of the block and two of positions");
    tp_training_bytes full = tp_finetune_bytes(1000, 1000, 2);
    ok(full.weights + full.gradients + full.master + full.moments == 16000,
       "mixed-precision Adam holds 16 bytes per trained parameter");
}

/* <<t-size: sharing one block>> */
static tp_tensor *shared_loss(tp_graph *g, tp_tensor *const in[], void *m)
{
    (void)in;
    return tp_gpt_loss(g, m, tokens, targets, 2, 6);
}

static long block_count(const tp_block *b)
{
    const tp_tensor *all[] = {b->ln_1_w, b->ln_1_b, b->c_attn_w, b->c_attn_b,
                              b->c_proj_w, b->c_proj_b, b->ln_2_w, b->ln_2_b,
                              b->c_fc_w, b->c_fc_b, b->mlp_proj_w,
                              b->mlp_proj_b};
    long n = 0;
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        n += tp_shape_count(all[i]->shape);
    return n;
}
/* <<t-size: sharing one block>> */
static void sharing(void)
{
    tp_gpt_config c = {16, 16, 3, 2, 16, TP_POSITIONS_LEARNED};
    tp_gpt *shared = tp_gpt_shared(c), *unshared = tp_gpt_new(c);
    tp_rng rng = tp_rng_seeded(365, 7);
    tp_gpt_init(shared, &rng);
    enlarge_weights(&shared->params, &rng);
    long counted = tp_params_count(&shared->params);
    ok(counted == tp_gpt_shared_parameter_count(c)
           && counted == tp_params_count(&unshared->params)
                             - 2 * block_count(&unshared->blocks[1])
           && shared->blocks[2].c_fc_w == shared->blocks[0].c_fc_w,
       "a shared GPT of 3 layers holds one block: %ld parameters, as "
       "counted, against %ld unshared", counted,
       tp_params_count(&unshared->params));
    check_model_gradients(shared_loss, &shared->params, shared,
                          "the shared model");
    /* <<t-size: the unshared model with the shared values>> */
    for (int i = 0; i < unshared->params.count; i++) {
        tp_param *u = &unshared->params.items[i];
        char name[64];
        int layer, skip = 0;
        if (sscanf(u->name, "h.%d.%n", &layer, &skip) == 1 && skip > 0)
            snprintf(name, sizeof name, "h.0.%s", u->name + skip);
        else
            snprintf(name, sizeof name, "%s", u->name);
        tp_param *from = tp_params_find(&shared->params, name);
        memcpy(u->tensor->data, from->tensor->data,
               (size_t)tp_shape_count(u->tensor->shape) * sizeof(float));
    }
    /* <<t-size: compare the gradients>> */
    tp_arena *arena = tp_arena_new("sharing");
    double loss[2];
    tp_gpt *both[2] = {shared, unshared};
    for (int k = 0; k < 2; k++) {
        tp_zero_grad(&both[k]->params);
        tp_graph g = tp_graph_on(arena);
        tp_tensor *l = shared_loss(&g, NULL, both[k]);
        loss[k] = l->data[0];
        tp_backward(&g, l);
    }
    double worst = 0.0;
    for (int i = 0; i < shared->params.count; i++) {
        /* <<t-size: the largest difference from the sum of the copies>> */
        const tp_param *p = &shared->params.items[i];
        long n = tp_shape_count(p->tensor->shape);
        bool in_block = strncmp(p->name, "h.0.", 4) == 0;
        for (long e = 0; e < n; e++) {
            double sum = 0.0;
            for (int l = 0; l < (in_block ? c.n_layer : 1); l++) {
                char name[64];
                if (in_block)
                    snprintf(name, sizeof name, "h.%d.%s", l, p->name + 4);
                else
                    snprintf(name, sizeof name, "%s", p->name);
                sum += tp_params_find(&unshared->params, name)->tensor->grad[e];
            }
            worst = fmax(worst, fabs(p->tensor->grad[e] - sum));
        }
    }
    ok(fabs(loss[0] - loss[1]) < 1e-6 && worst < 1e-5, "the shared gradient is "
       "the sum of the unshared copies' gradients (largest difference %.2g, "
       "losses %.6f and %.6f)", worst, loss[0], loss[1]);
    tp_arena_free(arena);
    tp_gpt_free(shared), tp_gpt_free(unshared);
}

/* <<t-size: the low-rank products by hand>> */
static void add_low_rank_products(tp_gpt *m, const tp_lora *l)
{
    tp_tensor *w[64];
    int n = 0;
    tp_check(m->config.n_layer <= 16, "more blocks than the test expects");
    for (int b = 0; b < m->config.n_layer; b++) {
        tp_tensor *four[4] = {m->blocks[b].c_attn_w, m->blocks[b].c_proj_w,
                              m->blocks[b].c_fc_w, m->blocks[b].mlp_proj_w};
        for (int k = 0; k < 4; k++)
            if (four[k] != NULL)
                w[n++] = four[k];
    }
    tp_check(n == l->count, "a model unlike the adapters' base");
    double scale = (double)l->alpha / l->rank;
    for (int i = 0; i < n; i++) {
        const tp_tensor *a = l->adapters[i].a, *b = l->adapters[i].b;
        int rows = w[i]->shape.dim[0], cols = w[i]->shape.dim[1];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                double sum = 0.0;
                for (int k = 0; k < l->rank; k++)
                    sum += (double)a->data[(long)r * l->rank + k]
                           * b->data[(long)k * cols + c];
                w[i]->data[(long)r * cols + c] += (float)(scale * sum);
            }
    }
}

/* <<t-size: adapters>> */
static tp_tensor *logits_of(tp_gpt *m, tp_arena *arena)
{
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    return tp_gpt_forward(&g, m, tokens, 2, 6);
}

static double largest_difference(const tp_tensor *a, const tp_tensor *b)
{
    double worst = 0;
    for (long i = 0; i < tp_tensor_count(a); i++)
        worst = fmax(worst, fabs(a->data[i] - b->data[i]));
    return worst;
}
/* <<t-size: adapters>> */
static void adapters(void)
{
    tp_gpt *m = model(16, 1);
    tp_rng rng = tp_rng_seeded(2, 0);
    tp_lora *l = tp_lora_new(m, 3, 3.0f, &rng);
    tp_arena *arena = tp_arena_new("test"), *kept = tp_arena_new("logits");
    tp_tensor *base = logits_of(m, kept);
    tp_lora_attach(m, l);
    tp_tensor *start = logits_of(m, kept);
    ok(memcmp(base->data, start->data, 2 * 6 * 16 * sizeof(float)) == 0,
       "with B = 0 the adapted model gives the base's logits, bit for bit");
    ok(tp_params_count(&l->params) == 2L * (3 * (16 + 48) + 3 * (16 + 16)
                                            + 3 * (16 + 64) + 3 * (64 + 16))
           && tp_lora_parameter_count(m->config, m->modern, 3)
                  == (double)tp_params_count(&l->params),
       "the adapters hold r (d_in + d_out) numbers per projection, as "
       "counted from the configuration");
    enlarge_weights(&l->params, &rng);  /* B non-zero */
    check_model_gradients(loss_of, &l->params, m, "the adapters");
    ok(m->blocks[0].c_attn_w->grad == NULL && m->wte->grad == NULL,
       "the base has no gradients while the adapters are attached");
    /* <<t-size: train the adapters a little>> */
    uint64_t before = tp_gpt_hash(m);
    float b0 = l->adapters[0].b->data[0];
    tp_optimizer *opt = tp_adamw_new(&l->params, 0.95f, 0.1f);
    for (int step = 0; step < 3; step++) {
        tp_graph g = tp_graph_on(arena);
        tp_zero_grad(&l->params);
        tp_backward(&g, tp_gpt_loss(&g, m, tokens, targets, 2, 6));
        tp_optimizer_step(opt, 1e-2f);
        tp_arena_reset(arena);
    }
    tp_optimizer_free(opt);
    ok(tp_gpt_hash(m) == before && l->adapters[0].b->data[0] != b0,
       "AdamW on the adapters changes them and no weight of the base");
    /* <<t-size: the adapted logits by hand>> */
    tp_gpt *by_hand = model(16, 1);
    add_low_rank_products(by_hand, l);
    tp_tensor *adapted = logits_of(m, kept), *expected = logits_of(by_hand, kept);
    double worst = largest_difference(adapted, expected);
    ok(worst < 1e-5 && largest_difference(adapted, base) > 1e-2,
       "the adapted logits are those of W + (alpha/r) A B written by hand "
       "(within %.1g), and differ from the base's", worst);
    tp_gpt_free(by_hand);
    tp_lora_free(l);
    tp_arena_free(arena), tp_arena_free(kept);
    tp_gpt_free(m);
}

/* <<t-size: merging>> */
static void merging(void)
{
    tp_gpt *m = model(16, 1), *expected = model(16, 1), *twin = model(16, 1);
    tp_rng rng = tp_rng_seeded(7, 0), same = tp_rng_seeded(7, 0);
    tp_lora *l = tp_lora_new(m, 3, 3.0f, &rng),
            *twin_l = tp_lora_new(twin, 3, 3.0f, &same);
    enlarge_weights(&l->params, &rng), enlarge_weights(&twin_l->params, &same);
    add_low_rank_products(expected, l);
    tp_lora_attach(m, l);
    tp_lora_merge(m, l);
    ok(m->adapters == NULL && m->blocks[1].c_fc_w->grad != NULL,
       "merging detaches the adapters and gives the base its gradients back");
    ok(tp_gpt_hash(m) != tp_gpt_hash(twin), "merging changes the weights");
    double worst = 0.0;
    for (int i = 0; i < m->params.count; i++) {
        const tp_tensor *got = m->params.items[i].tensor,
                        *want = expected->params.items[i].tensor;
        for (long j = 0; j < tp_tensor_count(got); j++)
            worst = fmax(worst, fabs(got->data[j] - want->data[j]));
    }
    ok(worst < 1e-5, "every merged weight is W + (alpha/r) A B (within %.1g)",
       worst);
    tp_arena *kept = tp_arena_new("logits");
    tp_lora_attach(twin, twin_l);
    double gap = largest_difference(logits_of(m, kept), logits_of(twin, kept));
    ok(gap < 1e-5, "merged into the weights, the model gives the adapted "
       "logits (within %.1g)", gap);
    tp_arena_free(kept);
    tp_lora_free(l), tp_lora_free(twin_l);
    tp_gpt_free(m), tp_gpt_free(expected), tp_gpt_free(twin);
}

/* <<t-size: saving adapters>> */
static void saving_adapters(void)
{
    tp_gpt *m = model(16, 3), *other = model(16, 4), *wider = model(32, 3);
    tp_rng rng = tp_rng_seeded(5, 0);
    tp_lora *l = tp_lora_new(m, 2, 4.0f, &rng), *back = NULL;
    enlarge_weights(&l->params, &rng);
    tp_error error;
    const char *path = "/tmp/t-size-adapters.safetensors";
    ok(tp_lora_save(l, path, &error) == 0
           && (back = tp_lora_load(path, m, &error)) != NULL
           && back->rank == 2 && back->alpha == 4.0f
           && memcmp(back->adapters[6].b->data, l->adapters[6].b->data,
                     2 * 64 * sizeof(float)) == 0,
       "adapters saved and loaded onto their base are the same");
    tp_lora_free(back);
    /* <<t-size: refuse the wrong bases>> */
    ok(tp_lora_load(path, other, &error) == NULL
           && strstr(error.message, "adapters of the base"),
       "adapters refuse a base with other weights: %s", error.message);
    ok(tp_lora_load(path, wider, &error) == NULL
           && strstr(error.message, "shape"),
       "and a base of another width: %s", error.message);
    tp_gpt_save(m, path, NULL, 0, NULL, &error);
    ok(tp_lora_load(path, m, &error) == NULL
           && strstr(error.message, "not low-rank adapters"),
       "and a file that holds a model: %s", error.message);
    remove(path);
    tp_lora_free(l);
    tp_gpt_free(m), tp_gpt_free(other), tp_gpt_free(wider);
}

/* <<t-size: a four-bit base>> */
/* Counts the blocks that break the round trip's promises. */
static int nf4_broken_blocks(const tp_tensor *w, const tp_nf4 *q,
                             const float *back)
{
    int broken = 0;
    for (long b = 0; b < q->n / 64; b++) {
        long g = b / 256;
        float scale = q->scale_mean[g] + q->scale_step[g] * q->scales[b];
        float absmax = 0, back_absmax = 0, excess = 0;
        for (long j = b * 64; j < b * 64 + 64; j++) {
            absmax = fmaxf(absmax, fabsf(w->data[j]));
            back_absmax = fmaxf(back_absmax, fabsf(back[j]));
            excess = fmaxf(excess, fabsf(w->data[j] - back[j])
                                       - 0.152f * scale);
        }
        broken += scale < absmax || excess > 0
                  || (absmax > 0 && back_absmax == 0);
    }
    return broken;
}

static void four_bit_round_trip(void)
{
    tp_arena *arena = tp_arena_new("nf4");
    tp_tensor *w = tp_tensor_new(arena, tp_shape2(128, 160), TP_NO_GRAD);
    float *back = malloc(128 * 160 * sizeof *back);
    tp_rng rng = tp_rng_seeded(9, 0);
    for (long i = 0; i < tp_tensor_count(w); i++)
        w->data[i] = 0.02f * tp_rng_normal(&rng) * (1 + i / 2048);
    tp_nf4 *q = tp_nf4_quantise(w);
    tp_nf4_dequantise(q, back);
    is(nf4_broken_blocks(w, q, back), 0,
       "NF4 covers each block's absmax and returns every weight within"
       " half the widest gap");
    is((long)tp_nf4_bytes(q), 10240L + 320 + 2 * 8,
       "NF4 holds n/2 + n/64 + 8 per 256 blocks bytes");
    tp_nf4_free(q);
    for (long j = 64 * 7; j < 64 * 8; j++)
        w->data[j] *= 100;
    q = tp_nf4_quantise(w);
    tp_nf4_dequantise(q, back);
    is(nf4_broken_blocks(w, q, back), 0,
       "and so with a block a hundred times larger in the group");
    tp_nf4_free(q);
    free(back);
    tp_arena_free(arena);
}
/* <<t-size: a four-bit base>> */
static void four_bit_base(void)
{
    four_bit_round_trip();
    tp_gpt *m = model(16, 10);
    tp_rng rng = tp_rng_seeded(11, 0);
    tp_lora *l = tp_lora_new(m, 2, 2.0f, &rng);
    tp_lora_quantise_base(l);
    tp_arena *kept = tp_arena_new("logits");
    tp_tensor *stored = logits_of(m, kept);
    tp_lora_attach(m, l);
    tp_tensor *on_the_fly = logits_of(m, kept);
    ok(memcmp(stored->data, on_the_fly->data, 2 * 6 * 16 * sizeof(float)) == 0,
       "weights dequantised on the fly give the stored quantised model's "
       "logits, bit for bit");
    enlarge_weights(&l->params, &rng);
    check_model_gradients(loss_of, &l->params, m, "adapters on a 4-bit base");
    tp_lora_detach(m, l);
    tp_lora_free(l);
    tp_arena_free(kept);
    tp_gpt_free(m);
}

/* <<t-size: pruning>> */
static bool magnitudes_separate(const tp_pruning *p, int i,
                                const tp_tensor *before)
{
    float least_kept = INFINITY, most_pruned = 0;
    for (long j = 0; j < tp_tensor_count(before); j++) {
        float v = fabsf(before->data[j]);
        if (p->kept[i][j])
            least_kept = fminf(least_kept, v);
        else
            most_pruned = fmaxf(most_pruned, v);
    }
    return least_kept >= most_pruned;
}
/* <<t-size: pruning>> */
static void magnitude_pruning(double sparsity)
{
    tp_gpt *m = model(16, 6);
    tp_arena *arena = tp_arena_new("copy");
    int count = m->params.count;
    tp_tensor **copies = calloc((size_t)count, sizeof *copies);
    for (int k = 0; k < count; k++) {
        copies[k] = tp_tensor_new(arena, m->params.items[k].tensor->shape,
                                  TP_NO_GRAD);
        tp_copy(copies[k], m->params.items[k].tensor);
    }
    tp_pruning *p = tp_prune_magnitude(m, sparsity);
    bool exact = p->count == 8;
    int separated = 0;
    for (int i = 0; i < p->count; i++) {
        long n = tp_tensor_count(p->weights[i]), zeros = 0;
        for (long j = 0; j < n; j++)
            zeros += p->weights[i]->data[j] == 0.0f;
        exact = exact && zeros == (long)(sparsity * n);
        for (int k = 0; k < count; k++)
            if (m->params.items[k].tensor == p->weights[i])
                separated += magnitudes_separate(p, i, copies[k]);
    }
    free(copies);
    ok(exact && separated == p->count,
       "pruning %.0f%% zeroes floor(s n) of each projection, the smallest",
       100 * sparsity);
    tp_pruning_free(p);
    tp_arena_free(arena);
    tp_gpt_free(m);
}
/* <<t-size: pruning>> */
static void pruning(void)
{
    magnitude_pruning(0.5), magnitude_pruning(0.9);
    tp_gpt *m = model(16, 7);
    float column[4] = {0};
    for (int i = 0; i < 4; i++)
        column[i] = fabsf(m->blocks[0].c_proj_w->data[(long)(4 + i) * 16 + 3]);
    tp_pruning *p = tp_prune_2_4(m);
    /* <<t-size: two of every four>> */
    bool two = true;
    for (int i = 0; i < p->count; i++) {
        const tp_tensor *w = p->weights[i];
        int rows = w->shape.dim[0], cols = w->shape.dim[1];
        for (int g = 0; g < rows; g += 4)
            for (int j = 0; j < cols; j++) {
                int nonzero = 0;
                for (int k = 0; k < 4; k++)
                    nonzero += w->data[(long)(g + k) * cols + j] != 0.0f;
                two = two && nonzero == 2;
            }
    }
    int kept = 0;
    for (int i = 0; i < 4; i++) {
        float v = m->blocks[0].c_proj_w->data[(long)(4 + i) * 16 + 3];
        int larger = 0;
        for (int k = 0; k < 4; k++)
            larger += column[k] > column[i];
        kept += v != 0.0f && larger < 2;
    }
    ok(two && kept == 2, "2:4 leaves two non-zeros in every group of four "
       "along d_in, the two largest");
    for (int i = 0; i < p->count; i++)
        for (long j = 0; j < tp_tensor_count(p->weights[i]); j++)
            p->weights[i]->data[j] += 1.0f;
    tp_pruning_apply(p);
    double total, zeros = tp_pruning_zeros(p, &total);
    ok(zeros == total / 2, "applying the pruning after an update restores "
       "its zeros: %.0f of %.0f", zeros, total);
    tp_pruning_free(p);
    tp_gpt_free(m);
}

/* <<t-size: sparse products>> */
static void sparse_products(void)
{
    tp_arena *arena = tp_arena_new("csr");
    tp_rng rng = tp_rng_seeded(8, 0);
    tp_tensor *x = tp_tensor_new(arena, tp_shape2(37, 48), TP_NO_GRAD);
    tp_tensor *w = tp_tensor_new(arena, tp_shape2(48, 24), TP_NO_GRAD);
    tp_tensor *dense = tp_tensor_new(arena, tp_shape2(37, 24), TP_NO_GRAD);
    tp_tensor *sparse = tp_tensor_new(arena, tp_shape2(37, 24), TP_NO_GRAD);
    for (long i = 0; i < tp_tensor_count(x); i++)
        x->data[i] = tp_rng_normal(&rng);
    double sparsities[] = {0.0, 0.5, 0.9, 1.0}, worst = 0;
    for (int s = 0; s < 4; s++) {
        for (long i = 0; i < tp_tensor_count(w); i++)
            w->data[i] = i / 24 == 7 || tp_rng_uniform(&rng) < sparsities[s]
                             ? 0.0f : tp_rng_normal(&rng);
        tp_csr *c = tp_csr_from_dense(w);
        tp_gemm_naive(dense, x, w, 1.0f, 0.0f);
        tp_csr_matmul(x, c, sparse);
        worst = fmax(worst, largest_difference(dense, sparse));
        tp_csr_free(c);
    }
    ok(worst < 1e-5, "the CSR product equals the dense product at sparsities "
       "0, 0.5, 0.9 and 1 (%.1g)", worst);
    tp_arena_free(arena);
}

int main(void)
{
    if (general_tests()) {
        counting();
        sharing();
        saving_adapters();
        four_bit_base();
        pruning();
        sparse_products();
    }
    if (exercise_tests("size.lora-path"))
        adapters();
    if (exercise_tests("size.lora-merge"))
        merging();
    return done_testing();
}
