/* Generated from book/365-size.nw; edit the book, not this file. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/exercise.h"
#include "tp/matmul.h"
#include "tp/parallel.h"
#include "tp/size.h"

/* <<size: counting>> */
static double block_parameters(double c, double kv, double hidden,
                               const tp_gpt_modern *modern)
{
    double norms = 2 * (modern->rms_norm ? c : 2 * c);
    double attention = c * (c + 2 * kv) + (c + 2 * kv) + c * c + c;
    if (modern->no_mlp)
        return norms + attention;
    double mlp = c * hidden + hidden + hidden * c + c;
    return norms + attention + mlp + (modern->swiglu ? c * hidden : 0);
}
/* <<size: counting>> */
double tp_gpt_parameter_count(tp_gpt_config config, tp_gpt_modern modern)
{
    tp_position_kind p = config.positions;
    tp_check(p == TP_POSITIONS_LEARNED || p == TP_POSITIONS_SINUSOIDAL
                 || p == TP_POSITIONS_ROPE || p == TP_POSITIONS_ALIBI
                 || p == TP_POSITIONS_NONE,
             "tp_gpt_parameter_count: %s positions are not counted",
             tp_position_name(p));
    int c = config.n_embd;
    int kv_heads = modern.kv_heads > 0 ? modern.kv_heads : config.n_head;
    double kv = (double)kv_heads * (c / config.n_head);
    double hidden = modern.swiglu ? 8 * c / 3 : 4.0 * c;
    double total = (double)config.vocab_size * c
                   + (p == TP_POSITIONS_LEARNED ? (double)config.n_positions * c
                                                : 0)
                   + (modern.rms_norm ? c : 2.0 * c);
    return total + config.n_layer * block_parameters(c, kv, hidden, &modern);
}
/* <<size: counting>> */
double tp_lora_parameter_count(tp_gpt_config config, tp_gpt_modern modern,
                               int rank)
{
    double c = config.n_embd, kv_heads = modern.kv_heads > 0 ? modern.kv_heads
                                                           : config.n_head;
    double qkv = c + 2 * kv_heads * (config.n_embd / config.n_head);
    double hidden = modern.swiglu ? 8 * config.n_embd / 3 : 4 * c;
    double per_layer = (c + qkv) + (c + c)
                       + (modern.no_mlp ? 0 : (c + hidden) + (hidden + c));
    return (double)rank * config.n_layer * per_layer;
}

tp_training_bytes tp_finetune_bytes(double parameters, double trainable,
                                    int weight_bytes)
{
    tp_check(weight_bytes == 2 || weight_bytes == 4,
             "tp_finetune_bytes: weights of %d bytes", weight_bytes);
    return (tp_training_bytes){
        .weights = parameters * weight_bytes,
        .gradients = trainable * weight_bytes,
        .master = weight_bytes < 4 ? trainable * 4 : 0,
        .moments = trainable * 8};
}

/* <<size: sharing one block>> */
static void check_shareable(tp_position_kind p, const char *what)
{
    tp_check(p == TP_POSITIONS_LEARNED || p == TP_POSITIONS_SINUSOIDAL
                 || p == TP_POSITIONS_ROPE || p == TP_POSITIONS_ALIBI
                 || p == TP_POSITIONS_NONE,
             "%s: %s positions have parameters per layer", what,
             tp_position_name(p));
}

tp_gpt *tp_gpt_shared(tp_gpt_config config)
{
    check_shareable(config.positions, "tp_gpt_shared");
    int layers = config.n_layer;
    config.n_layer = 1;
    tp_gpt *m = tp_gpt_new(config);
    tp_block *blocks = realloc(m->blocks, (size_t)layers * sizeof *blocks);
    tp_check(blocks != NULL, "out of memory");
    for (int l = 1; l < layers; l++)
        blocks[l] = blocks[0];
    m->blocks = blocks;
    m->config.n_layer = layers;
    return m;
}

double tp_gpt_shared_parameter_count(tp_gpt_config config)
{
    check_shareable(config.positions, "tp_gpt_shared_parameter_count");
    config.n_layer = 1;
    return tp_gpt_parameter_count(config, (tp_gpt_modern){0});
}

/* <<size: the projections>> */
static int projections(const tp_gpt *m, tp_tensor **out)
{
    int n = 0;
    for (int l = 0; l < m->config.n_layer; l++) {
        const tp_block *b = &m->blocks[l];
        tp_tensor *four[4] = {b->c_attn_w, b->c_proj_w, b->c_fc_w,
                              b->mlp_proj_w};
        for (int i = 0; i < 4; i++)
            if (four[i] != NULL)
                out[n++] = four[i];
    }
    return n;
}

/* <<size: adapters>> */
static const char *param_name(const tp_gpt *m, const tp_tensor *t)
{
    for (int i = 0; i < m->params.count; i++)
        if (m->params.items[i].tensor == t)
            return m->params.items[i].name;
    tp_check(false, "a projection that is not among the model's parameters");
    return NULL;
}

static tp_tensor *adapter_param(tp_lora *l, const char *weight,
                                const char *part, int rows, int cols)
{
    char name[64];
    int stem = (int)(strlen(weight) - strlen(".weight"));
    snprintf(name, sizeof name, "%.*s.%s", stem, weight, part);
    return tp_param_new(&l->params, l->arena, name, tp_shape2(rows, cols));
}
/* <<size: adapters>> */
tp_lora *tp_lora_new(const tp_gpt *m, int rank, float alpha, tp_rng *rng)
{
    tp_check(rank >= 1 && rank <= m->config.n_embd,
             "tp_lora_new: rank %d for a model of width %d", rank,
             m->config.n_embd);
    tp_lora *l = calloc(1, sizeof *l);
    tp_tensor **w = malloc(4 * (size_t)m->config.n_layer * sizeof *w);
    tp_check(l != NULL && w != NULL, "out of memory");
    *l = (tp_lora){.rank = rank, .alpha = alpha,
                   .arena = tp_arena_new("adapters"), .base = tp_gpt_hash(m)};
    l->count = projections(m, w);
    l->adapters = calloc((size_t)l->count, sizeof *l->adapters);
    tp_check(l->adapters != NULL, "out of memory");
    for (int i = 0; i < l->count; i++) {
        /* <<size: make one adapter>> */
        int in = w[i]->shape.dim[0], out = w[i]->shape.dim[1];
        const char *name = param_name(m, w[i]);
        tp_lora_adapter *a = &l->adapters[i];
        a->w = w[i];
        a->a = adapter_param(l, name, "lora_A", in, rank);
        a->b = adapter_param(l, name, "lora_B", rank, out);
        for (long j = 0; j < tp_tensor_count(a->a); j++)
            a->a->data[j] = tp_rng_normal(rng) / sqrtf((float)in);
        memset(a->b->data, 0, (size_t)tp_tensor_count(a->b) * sizeof(float));
    }
    free(w);
    return l;
}
/* <<size: adapters>> */
void tp_lora_free(tp_lora *l)
{
    if (l == NULL)
        return;
    tp_params_free(&l->params);
    tp_arena_free(l->arena);
    for (int i = 0; l->quantised != NULL && i < l->count; i++)
        tp_nf4_free(l->quantised[i]);
    free(l->quantised);
    free(l->adapters);
    free(l->frozen);
    free(l);
}
/* <<size: adapters>> */
static tp_tensor *base_weight(tp_graph *g, const tp_lora *l, int i)
{
    tp_tensor *w = l->adapters[i].w;
    if (l->quantised == NULL)
        return w;
    tp_tensor *d = tp_tensor_empty(g->arena, w->shape, TP_NO_GRAD);
    tp_nf4_dequantise(l->quantised[i], d->data);
    return d;
}

static tp_tensor *adapted_linear(tp_graph *g, tp_tensor *x, tp_tensor *w,
                                 tp_tensor *bias, const void *context)
{
    const tp_lora *l = context;
    for (int i = 0; i < l->count; i++)
        if (l->adapters[i].w == w) {
            const tp_lora_adapter *a = &l->adapters[i];
            tp_tensor *y = tp_linear(g, x, base_weight(g, l, i), bias);
            /* <<solution: size.lora-path>> */
            tp_tensor *low = tp_matmul(g, tp_matmul(g, x, a->a), a->b);
            return tp_add(g, y, tp_scale(g, low, l->alpha / (float)l->rank));
        }
    return tp_linear(g, x, w, bias);
}
/* <<size: adapters>> */
void tp_lora_attach(tp_gpt *m, tp_lora *l)
{
    tp_check(m->adapters == NULL, "tp_lora_attach: the model's projections "
             "are already replaced");
    tp_check(l->count > 0 && l->adapters[0].w == m->blocks[0].c_attn_w,
             "tp_lora_attach: adapters made for another model");
    l->frozen = malloc((size_t)m->params.count * sizeof *l->frozen);
    tp_check(l->frozen != NULL, "out of memory");
    for (int i = 0; i < m->params.count; i++) {
        l->frozen[i] = m->params.items[i].tensor->grad;
        m->params.items[i].tensor->grad = NULL;
    }
    m->adapters = adapted_linear, m->adapters_context = l;
}
/* <<size: adapters>> */
void tp_lora_detach(tp_gpt *m, tp_lora *l)
{
    tp_check(m->adapters_context == l, "tp_lora_detach: not attached");
    for (int i = 0; i < m->params.count; i++)
        m->params.items[i].tensor->grad = l->frozen[i];
    free(l->frozen);
    l->frozen = NULL;
    m->adapters = NULL, m->adapters_context = NULL;
}
/* <<size: adapters>> */
void tp_lora_merge(tp_gpt *m, tp_lora *l)
{
    if (m->adapters_context == l)
        tp_lora_detach(m, l);
    for (int i = 0; i < l->count; i++) {
        const tp_lora_adapter *a = &l->adapters[i];
        /* <<solution: size.lora-merge>> */
        tp_gemm(a->w, a->a, a->b, l->alpha / (float)l->rank, 1.0f);
    }
}

/* <<size: saving adapters>> */
uint64_t tp_gpt_hash(const tp_gpt *m)
{
    uint64_t h = 14695981039346656037ull;
    for (int i = 0; i < m->params.count; i++) {
        const tp_param *p = &m->params.items[i];
        h = (h ^ tp_fnv1a(p->name, strlen(p->name))) * 1099511628211ull;
        h = (h ^ tp_fnv1a(p->tensor->data, (size_t)tp_tensor_count(p->tensor)
                                               * sizeof(float)))
            * 1099511628211ull;
    }
    return h;
}
/* <<size: saving adapters>> */
int tp_lora_save(const tp_lora *l, const char *path, tp_error *error)
{
    tp_metadata meta = {0};
    char value[32];
    tp_metadata_set(&meta, "model", "lora");
    snprintf(value, sizeof value, "%d", l->rank);
    tp_metadata_set(&meta, "rank", value);
    snprintf(value, sizeof value, "%.9g", (double)l->alpha);
    tp_metadata_set(&meta, "alpha", value);
    snprintf(value, sizeof value, "%016" PRIx64, l->base);
    tp_metadata_set(&meta, "base", value);
    return tp_safetensors_save(path, l->params.items, l->params.count, &meta,
                               error);
}
/* <<size: saving adapters>> */
static int adapter_metadata(const char *path, const tp_gpt *m, long *rank,
                            float *alpha, uint64_t *base, tp_error *error)
{
    tp_metadata meta;
    if (tp_safetensors_load(path, NULL, 0, &meta, error) != 0)
        return 1;
    const char *kind = tp_metadata_get(&meta, "model");
    const char *a = tp_metadata_get(&meta, "alpha");
    const char *b = tp_metadata_get(&meta, "base");
    if (kind == NULL || strcmp(kind, "lora") != 0 || a == NULL || b == NULL)
        return tp_error_set(error, "%s: not low-rank adapters (no model "
                            "\"lora\", alpha and base in its metadata)", path);
    if (tp_metadata_number(&meta, path, "rank", 1, m->config.n_embd, rank,
                           error) != 0)
        return 1;
    *alpha = strtof(a, NULL);
    *base = strtoull(b, NULL, 16);
    return 0;
}
/* <<size: saving adapters>> */
tp_lora *tp_lora_load(const char *path, const tp_gpt *m, tp_error *error)
{
    long rank;
    float alpha;
    uint64_t base;
    if (adapter_metadata(path, m, &rank, &alpha, &base, error) != 0)
        return NULL;
    tp_rng unused = tp_rng_seeded(0, 0);
    tp_lora *l = tp_lora_new(m, (int)rank, alpha, &unused);
    if (tp_safetensors_load(path, l->params.items, l->params.count, NULL,
                            error) != 0) {
        tp_lora_free(l);
        return NULL;
    }
    if (base != l->base) {
        tp_error_set(error, "%s: adapters of the base %016" PRIx64 ", not "
                     "of this one (%016" PRIx64 ")", path, base, l->base);
        tp_lora_free(l);
        return NULL;
    }
    return l;
}

/* <<size: a four-bit base>> */
const float tp_nf4_levels[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f,
    -0.39491748809814453f, -0.28444138169288635f, -0.18477343022823334f,
    -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
    0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f,
    0.5626170039176941f, 0.7229568362236023f, 1.0f};

enum { NF4_BLOCK = 64, NF4_GROUP = 256 };

static int nearest_level(float v)
{
    int best = 0;
    for (int k = 1; k < 16; k++)
        if (fabsf(v - tp_nf4_levels[k]) < fabsf(v - tp_nf4_levels[best]))
            best = k;
    return best;
}
/* <<size: a four-bit base>> */
static float block_scale(const tp_nf4 *q, long block)
{
    long group = block / NF4_GROUP;
    return q->scale_mean[group] + q->scale_step[group] * q->scales[block];
}

/* The smallest code whose scale, read back in float as block_scale
   does, covers the true absmax: rounding up, so no weight clips. */
static void set_scale_code_up(tp_nf4 *q, long block, float absmax)
{
    long g = block / NF4_GROUP;
    double code = q->scale_step[g] > 0
                      ? ceil((absmax - q->scale_mean[g]) / q->scale_step[g])
                      : 0;
    q->scales[block] = (signed char)fmax(-127, fmin(127, code));
    while (q->scales[block] < 127 && block_scale(q, block) < absmax)
        q->scales[block]++;
}

static void quantise_scales(tp_nf4 *q, const float *absmax, long blocks)
{
    for (long g0 = 0; g0 < blocks; g0 += NF4_GROUP) {
        long end = g0 + NF4_GROUP < blocks ? g0 + NF4_GROUP : blocks;
        double mean = 0, far = 0;
        for (long b = g0; b < end; b++)
            mean += absmax[b] / (double)(end - g0);
        for (long b = g0; b < end; b++)
            far = fmax(far, fabs(absmax[b] - mean));
        long g = g0 / NF4_GROUP;
        /* A step a millionth of the mean wider than far / 127, so that
           code 127 covers the largest absmax despite float rounding. */
        q->scale_mean[g] = (float)mean;
        q->scale_step[g] = (float)((far + 1e-6 * mean) / 127);
        for (long b = g0; b < end; b++)
            set_scale_code_up(q, b, absmax[b]);
    }
}
/* <<size: a four-bit base>> */
static tp_nf4 *nf4_new(long n)
{
    long blocks = (n + NF4_BLOCK - 1) / NF4_BLOCK;
    long groups = (blocks + NF4_GROUP - 1) / NF4_GROUP;
    tp_nf4 *q = calloc(1, sizeof *q);
    tp_check(q != NULL, "out of memory");
    q->n = n;
    q->codes = calloc((size_t)(n + 1) / 2, 1);
    q->scales = malloc((size_t)blocks);
    q->scale_step = malloc((size_t)groups * sizeof(float));
    q->scale_mean = malloc((size_t)groups * sizeof(float));
    tp_check(q->codes && q->scales && q->scale_step && q->scale_mean,
             "out of memory");
    return q;
}
/* <<size: a four-bit base>> */
tp_nf4 *tp_nf4_quantise(const tp_tensor *w)
{
    long n = tp_tensor_count(w), blocks = (n + NF4_BLOCK - 1) / NF4_BLOCK;
    tp_nf4 *q = nf4_new(n);
    float *absmax = calloc((size_t)blocks, sizeof *absmax);
    tp_check(absmax != NULL, "out of memory");
    for (long j = 0; j < n; j++)
        absmax[j / NF4_BLOCK] = fmaxf(absmax[j / NF4_BLOCK], fabsf(w->data[j]));
    quantise_scales(q, absmax, blocks);
    for (long j = 0; j < n; j++) {
        float c = block_scale(q, j / NF4_BLOCK);
        int k = nearest_level(c > 0 ? w->data[j] / c : 0.0f);
        q->codes[j / 2] |= (unsigned char)(j % 2 ? k << 4 : k);
    }
    free(absmax);
    return q;
}
/* <<size: a four-bit base>> */
void tp_nf4_dequantise(const tp_nf4 *q, float *out)
{
    for (long j = 0; j < q->n; j++) {
        int k = j % 2 ? q->codes[j / 2] >> 4 : q->codes[j / 2] & 15;
        out[j] = tp_nf4_levels[k] * block_scale(q, j / NF4_BLOCK);
    }
}

size_t tp_nf4_bytes(const tp_nf4 *q)
{
    size_t blocks = (size_t)(q->n + NF4_BLOCK - 1) / NF4_BLOCK;
    size_t groups = (blocks + NF4_GROUP - 1) / NF4_GROUP;
    return (size_t)(q->n + 1) / 2 + blocks + 2 * sizeof(float) * groups;
}
/* <<size: a four-bit base>> */
void tp_nf4_free(tp_nf4 *q)
{
    if (q != NULL) {
        free(q->codes), free(q->scales), free(q->scale_step),
            free(q->scale_mean);
        free(q);
    }
}

void tp_lora_quantise_base(tp_lora *l)
{
    tp_check(l->quantised == NULL, "tp_lora_quantise_base: already");
    l->quantised = calloc((size_t)l->count, sizeof *l->quantised);
    tp_check(l->quantised != NULL, "out of memory");
    for (int i = 0; i < l->count; i++) {
        l->quantised[i] = tp_nf4_quantise(l->adapters[i].w);
        tp_nf4_dequantise(l->quantised[i], l->adapters[i].w->data);
    }
}

/* <<size: pruning>> */
static tp_pruning *pruning_new(tp_gpt *m)
{
    tp_pruning *p = calloc(1, sizeof *p);
    tp_check(p != NULL, "out of memory");
    p->weights = malloc(4 * (size_t)m->config.n_layer * sizeof *p->weights);
    tp_check(p->weights != NULL, "out of memory");
    p->count = projections(m, p->weights);
    p->kept = calloc((size_t)p->count, sizeof *p->kept);
    tp_check(p->kept != NULL, "out of memory");
    for (int i = 0; i < p->count; i++) {
        p->kept[i] = malloc((size_t)tp_tensor_count(p->weights[i]));
        tp_check(p->kept[i] != NULL, "out of memory");
    }
    return p;
}
/* <<size: pruning>> */
static int by_value(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void prune_smallest(const tp_tensor *w, unsigned char *kept, long k)
{
    long n = tp_tensor_count(w);
    float *magnitude = malloc((size_t)n * sizeof *magnitude);
    tp_check(magnitude != NULL, "out of memory");
    for (long j = 0; j < n; j++)
        magnitude[j] = fabsf(w->data[j]);
    qsort(magnitude, (size_t)n, sizeof *magnitude, by_value);
    float threshold = k > 0 ? magnitude[k - 1] : -1.0f;
    long below = 0;
    for (long j = 0; j < n; j++)
        below += fabsf(w->data[j]) < threshold;
    for (long j = 0, ties = k - below; j < n; j++) {
        float v = fabsf(w->data[j]);
        kept[j] = !(v < threshold || (v == threshold && ties-- > 0));
    }
    free(magnitude);
}
/* <<size: pruning>> */
void tp_prune_tensor(tp_tensor *w, double sparsity)
{
    tp_check(sparsity >= 0 && sparsity <= 1,
             "tp_prune_tensor: sparsity %g outside [0, 1]", sparsity);
    long n = tp_tensor_count(w);
    unsigned char *kept = malloc((size_t)n);
    tp_check(kept != NULL, "out of memory");
    prune_smallest(w, kept, (long)(sparsity * n));
    for (long j = 0; j < n; j++)
        w->data[j] = kept[j] ? w->data[j] : 0.0f;
    free(kept);
}

tp_pruning *tp_prune_magnitude(tp_gpt *m, double sparsity)
{
    tp_check(sparsity >= 0 && sparsity < 1,
             "tp_prune_magnitude: sparsity %g outside [0, 1)", sparsity);
    tp_pruning *p = pruning_new(m);
    for (int i = 0; i < p->count; i++) {
        long n = tp_tensor_count(p->weights[i]);
        prune_smallest(p->weights[i], p->kept[i], (long)(sparsity * n));
    }
    tp_pruning_apply(p);
    return p;
}
/* <<size: pruning>> */
static void keep_two_of_four(const tp_tensor *w, unsigned char *kept)
{
    int rows = w->shape.dim[0], cols = w->shape.dim[1];
    tp_check(rows % 4 == 0, "tp_prune_2_4: %d rows, not groups of 4", rows);
    for (int j = 0; j < cols; j++)
        for (int g = 0; g < rows; g += 4) {
            long at[4];
            for (int i = 0; i < 4; i++)
                at[i] = (long)(g + i) * cols + j, kept[at[i]] = 1;
            for (int drop = 0; drop < 2; drop++) {
                int least = -1;
                for (int i = 0; i < 4; i++)
                    if (kept[at[i]] && (least < 0 || fabsf(w->data[at[i]])
                                        < fabsf(w->data[at[least]])))
                        least = i;
                kept[at[least]] = 0;
            }
        }
}
/* <<size: pruning>> */
tp_pruning *tp_prune_2_4(tp_gpt *m)
{
    tp_pruning *p = pruning_new(m);
    for (int i = 0; i < p->count; i++)
        keep_two_of_four(p->weights[i], p->kept[i]);
    tp_pruning_apply(p);
    return p;
}

void tp_pruning_apply(const tp_pruning *p)
{
    for (int i = 0; i < p->count; i++)
        for (long j = 0; j < tp_tensor_count(p->weights[i]); j++)
            if (!p->kept[i][j])
                p->weights[i]->data[j] = 0.0f;
}
/* <<size: pruning>> */
double tp_pruning_zeros(const tp_pruning *p, double *total)
{
    double zeros = 0, all = 0;
    for (int i = 0; i < p->count; i++) {
        long n = tp_tensor_count(p->weights[i]);
        for (long j = 0; j < n; j++)
            zeros += p->weights[i]->data[j] == 0.0f;
        all += (double)n;
    }
    if (total != NULL)
        *total = all;
    return zeros;
}

void tp_pruning_free(tp_pruning *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->count; i++)
        free(p->kept[i]);
    free(p->kept), free(p->weights);
    free(p);
}

/* <<size: sparse products>> */
tp_csr *tp_csr_from_dense(const tp_tensor *w)
{
    tp_check(w->shape.ndim == 2 && tp_tensor_is_contiguous(w),
             "tp_csr_from_dense: a contiguous matrix, not %s",
             tp_shape_str(w->shape).text);
    tp_csr *c = calloc(1, sizeof *c);
    tp_check(c != NULL, "out of memory");
    c->rows = w->shape.dim[0], c->cols = w->shape.dim[1];
    long n = tp_tensor_count(w), nonzero = 0;
    for (long j = 0; j < n; j++)
        nonzero += w->data[j] != 0.0f;
    c->start = malloc(((size_t)c->rows + 1) * sizeof *c->start);
    c->column = malloc((size_t)(nonzero > 0 ? nonzero : 1) * sizeof(int));
    c->value = malloc((size_t)(nonzero > 0 ? nonzero : 1) * sizeof(float));
    tp_check(c->start && c->column && c->value, "out of memory");
    /* <<size: fill the rows>> */
    long at = 0;
    for (int k = 0; k < c->rows; k++) {
        c->start[k] = at;
        for (int j = 0; j < c->cols; j++) {
            float v = w->data[(long)k * c->cols + j];
            if (v != 0.0f)
                c->column[at] = j, c->value[at++] = v;
        }
    }
    c->start[c->rows] = at;
    return c;
}
/* <<size: sparse products>> */
void tp_csr_free(tp_csr *c)
{
    if (c != NULL) {
        free(c->start), free(c->column), free(c->value);
        free(c);
    }
}

void tp_csr_matmul(const tp_tensor *x, const tp_csr *w, tp_tensor *y)
{
    long n = tp_tensor_count(x) / w->rows;
    tp_check(tp_tensor_count(x) == n * w->rows
                 && tp_tensor_count(y) == n * w->cols,
             "tp_csr_matmul: %s times a %d x %d matrix into %s",
             tp_shape_str(x->shape).text, w->rows, w->cols,
             tp_shape_str(y->shape).text);
    TP_PARALLEL_FOR(n * w->start[w->rows])
    for (long i = 0; i < n; i++) {
        /* <<size: one row of the sparse product>> */
        const float *xi = x->data + i * w->rows;
        float *yi = y->data + i * w->cols;
        memset(yi, 0, (size_t)w->cols * sizeof *yi);
        for (int k = 0; k < w->rows; k++) {
            float xk = xi[k];
            for (long p = w->start[k]; p < w->start[k + 1]; p++)
                yi[w->column[p]] += xk * w->value[p];
        }
    }
}
