/* Generated from book/375-interpretability.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/interpret.h"
#include "tp/ops.h"

/* <<interpret: the attention-only GPT>> */
tp_gpt *tp_gpt_attention_only(tp_gpt_config config)
{
    return tp_gpt_new_modern(config, (tp_gpt_modern){.no_mlp = true});
}

/* <<interpret: the task>> */
void tp_repeated_tokens(int vocab, int period, int length, int batch,
                        tp_rng *rng, int *tokens)
{
    tp_check(vocab >= 1 && period >= 1 && length >= period && batch >= 1,
             "tp_repeated_tokens: vocab %d, period %d, length %d, batch %d",
             vocab, period, length, batch);
    for (int b = 0; b < batch; b++) {
        int *row = tokens + (long)b * length;
        for (int i = 0; i < length; i++)
            row[i] = i < period ? (int)tp_rng_below(rng, (uint32_t)vocab)
                                : row[i - period];
    }
}

/* <<interpret: scores of heads>> */
static double diagonal_mean(const tp_tensor *map, int head, int below,
                            int first_row, const char *name)
{
    tp_check(map->shape.ndim == 4 && map->shape.dim[0] == 1
                 && map->shape.dim[2] == map->shape.dim[3]
                 && tp_tensor_is_contiguous(map),
             "%s: one sequence's weights [1, H, T, T], not %s", name,
             tp_shape_str(map->shape).text);
    int h = map->shape.dim[1], t = map->shape.dim[2];
    tp_check(head >= 0 && head < h && first_row < t && first_row >= below,
             "%s: head %d of %d, rows from %d of %d", name, head, h,
             first_row, t);
    const float *a = map->data + (long)head * t * t;
    double total = 0.0;
    for (int i = first_row; i < t; i++)
        total += a[(long)i * t + i - below];
    return total / (t - first_row);
}

double tp_previous_token_score(const tp_tensor *map, int head)
{
    return diagonal_mean(map, head, 1, 1, "tp_previous_token_score");
}

double tp_induction_score(const tp_tensor *map, int head, int period)
{
    tp_check(period >= 1, "tp_induction_score: period %d", period);
    return diagonal_mean(map, head, period - 1, period, "tp_induction_score");
}

/* <<interpret: editing a head>> */
typedef struct head_hook {
    const tp_head_edit *edits;
    int n, layer;
    tp_tensor **record;
    tp_arena *arena;
} head_hook;

/* <<interpret: the hook>> */
static tp_tensor *edit_heads(tp_graph *g, tp_tensor *heads, void *context)
{
    (void)g;
    head_hook *hook = context;
    if (hook->record != NULL)
        *hook->record = heads;
    tp_tensor *out = NULL;
    for (int e = 0; e < hook->n; e++) {
        const tp_head_edit *edit = &hook->edits[e];
        if (edit->layer != hook->layer)
            continue;
        if (out == NULL) {
            out = tp_tensor_new(hook->arena, heads->shape, TP_NO_GRAD);
            tp_copy(out, heads);
        }
        /* <<interpret: check the source>> */
        const tp_tensor *source = edit->source;
        tp_check(source == NULL || (tp_tensor_is_contiguous(source)
                                    && source->shape.ndim == 4
                                    && memcmp(source->shape.dim, out->shape.dim,
                                              sizeof out->shape.dim) == 0),
                 "tp_gpt_edited_logits: a source of shape %s for heads %s",
                 source ? tp_shape_str(source->shape).text : "",
                 tp_shape_str(out->shape).text);
        /* <<interpret: replace one head's output>> */
        int b_count = out->shape.dim[0], h_count = out->shape.dim[1];
        long block = (long)out->shape.dim[2] * out->shape.dim[3];
        for (int b = 0; b < b_count; b++) {
            long at = ((long)b * h_count + edit->head) * block;
            if (source == NULL)
                memset(out->data + at, 0, (size_t)block * sizeof *out->data);
            else
                memcpy(out->data + at, source->data + at,
                       (size_t)block * sizeof *out->data);
        }
    }
    return out != NULL ? out : heads;
}

tp_tensor *tp_gpt_edited_logits(tp_gpt *m, const int *tokens, int batch,
                                int length, const tp_head_edit *edits, int n,
                                tp_tensor **heads, tp_arena *arena)
{
    int layers = m->config.n_layer;
    for (int e = 0; e < n; e++)
        tp_check(edits[e].layer >= 0 && edits[e].layer < layers
                     && edits[e].head >= 0 && edits[e].head < m->config.n_head,
                 "tp_gpt_edited_logits: head %d of layer %d in a model of %d "
                 "layers of %d heads", edits[e].head, edits[e].layer, layers,
                 m->config.n_head);
    tp_block_depth *kept = m->depth;
    m->depth = tp_arena_zeroed(arena, (size_t)layers, sizeof *m->depth);
    head_hook *hooks = tp_arena_zeroed(arena, (size_t)layers, sizeof *hooks);
    for (int l = 0; l < layers; l++) {
        if (kept != NULL)
            m->depth[l] = kept[l];
        hooks[l] = (head_hook){edits, n, l, heads ? &heads[l] : NULL, arena};
        m->depth[l].heads = edit_heads;
        m->depth[l].heads_context = &hooks[l];
    }
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *logits = tp_gpt_forward(&g, m, tokens, batch, length);
    m->depth = kept;
    return logits;
}

/* <<interpret: the loss at each position>> */
void tp_gpt_position_losses(tp_gpt *m, const int *tokens, int batch,
                            int length, const tp_head_edit *edits, int n,
                            double *losses)
{
    tp_arena *arena = tp_arena_new("position losses");
    tp_tensor *z = tp_gpt_edited_logits(m, tokens, batch, length, edits, n,
                                        NULL, arena);
    int v = m->config.vocab_size;
    for (int t = 0; t + 1 < length; t++) {
        double total = 0.0;
        for (int b = 0; b < batch; b++) {
            const float *row = z->data + ((long)b * length + t) * v;
            int next = tokens[(long)b * length + t + 1];
            /* <<interpret: add minus the log-probability of next>> */
            double top = row[0], sum = 0.0;
            for (int j = 1; j < v; j++)
                top = fmax(top, row[j]);
            for (int j = 0; j < v; j++)
                sum += exp(row[j] - top);
            total += top + log(sum) - row[next];
        }
        losses[t] = total / batch;
    }
    tp_arena_free(arena);
}

/* <<interpret: gradients of one prediction>> */
typedef struct prediction {
    tp_gpt *m;
    int length, position, target;
    const float *embedded;  /* x, [T, C] */
} prediction;

static double gradient_at(const prediction *p, float alpha, float *grad)
{
    long n = (long)p->length * p->m->config.n_embd;
    tp_arena *arena = tp_arena_new("attribution");
    tp_graph g = tp_graph_on(arena);
    tp_tensor *x = tp_tensor_new(arena, tp_shape3(1, p->length,
                                                  p->m->config.n_embd),
                                 TP_WITH_GRAD);
    for (long i = 0; i < n; i++)
        x->data[i] = alpha * p->embedded[i];
    /* <<interpret: minus the loss at one position, and its gradient>> */
    int *targets = tp_arena_alloc(arena, (size_t)p->length * sizeof *targets);
    for (int t = 0; t < p->length; t++)
        targets[t] = t == p->position ? p->target : -1;
    tp_tensor *loss = tp_cross_entropy(&g, tp_gpt_forward_embedded(&g, p->m, x),
                                       targets, -1);
    double f = -(double)loss->data[0];
    tp_backward(&g, loss);
    for (long i = 0; i < n; i++)
        grad[i] = -x->grad[i];
    tp_arena_free(arena);
    tp_zero_grad(&p->m->params);
    return f;
}

/* <<interpret: attributions>> */
static prediction predict(tp_gpt *m, const int *tokens, int length,
                          int position, int target, float **embedded)
{
    int c = m->config.n_embd;
    tp_check(length >= 1 && position >= 0 && position < length && target >= 0
                 && target < m->config.vocab_size,
             "attribution: position %d of %d, target %d of %d", position,
             length, target, m->config.vocab_size);
    *embedded = malloc((size_t)length * c * sizeof **embedded);
    tp_check(*embedded != NULL, "out of memory");
    for (int t = 0; t < length; t++) {
        tp_check(tokens[t] >= 0 && tokens[t] < m->config.vocab_size,
                 "attribution: token %d of %d", tokens[t],
                 m->config.vocab_size);
        memcpy(*embedded + (long)t * c, m->wte->data + (long)tokens[t] * c,
               (size_t)c * sizeof **embedded);
    }
    return (prediction){m, length, position, target, *embedded};
}

static void per_token(const float *x, const double *weight, int length,
                      int c, float *attribution)
{
    for (int t = 0; t < length; t++) {
        double total = 0.0;
        for (int i = 0; i < c; i++)
            total += (double)x[(long)t * c + i] * weight[(long)t * c + i];
        attribution[t] = (float)total;
    }
}
/* <<interpret: attributions>> */
double tp_gradient_times_input(tp_gpt *m, const int *tokens, int length,
                               int position, int target, float *attribution)
{
    float *x;
    prediction p = predict(m, tokens, length, position, target, &x);
    long n = (long)length * m->config.n_embd;
    float *grad = malloc((size_t)n * sizeof *grad);
    double *weight = malloc((size_t)n * sizeof *weight);
    tp_check(grad != NULL && weight != NULL, "out of memory");
    double f = gradient_at(&p, 1.0f, grad);
    for (long i = 0; i < n; i++)
        weight[i] = grad[i];
    per_token(x, weight, length, m->config.n_embd, attribution);
    free(x), free(grad), free(weight);
    return f;
}
/* <<interpret: attributions>> */
double tp_integrated_gradients(tp_gpt *m, const int *tokens, int length,
                               int position, int target, int steps,
                               float *attribution, double *at_baseline)
{
    tp_check(steps >= 1, "tp_integrated_gradients: %d steps", steps);
    float *x;
    prediction p = predict(m, tokens, length, position, target, &x);
    long n = (long)length * m->config.n_embd;
    float *grad = malloc((size_t)n * sizeof *grad);
    double *mean = calloc((size_t)n, sizeof *mean), f = 0.0;
    tp_check(grad != NULL && mean != NULL, "out of memory");
    for (int k = 1; k <= steps; k++) {
        double u = (k - 0.5) / steps;
        gradient_at(&p, (float)(u * u * u), grad);
        for (long i = 0; i < n; i++)
            mean[i] += grad[i] * 3 * u * u / steps;
    }
    f = gradient_at(&p, 1.0f, grad);
    *at_baseline = gradient_at(&p, 0.0f, grad);
    per_token(x, mean, length, m->config.n_embd, attribution);
    free(x), free(grad), free(mean);
    return f;
}

/* <<interpret: rollout>> */
static void mixed_layer(const tp_tensor *map, int sequence, double *a)
{
    int h = map->shape.dim[1], t = map->shape.dim[2];
    const float *weights = map->data + (long)sequence * h * t * t;
    for (long ij = 0; ij < (long)t * t; ij++) {
        double mean = 0.0;
        for (int head = 0; head < h; head++)
            mean += weights[(long)head * t * t + ij];
        a[ij] = 0.5 * mean / h + (ij / t == ij % t ? 0.5 : 0.0);
    }
}

void tp_attention_rollout(tp_tensor *const maps[], int layers, int sequence,
                          float *rollout)
{
    tp_check(layers >= 1, "tp_attention_rollout: %d layers", layers);
    int t = maps[0]->shape.dim[2];
    double *r = malloc((size_t)t * t * sizeof *r),
           *a = malloc((size_t)t * t * sizeof *a),
           *next = malloc((size_t)t * t * sizeof *next);
    tp_check(r != NULL && a != NULL && next != NULL, "out of memory");
    /* <<interpret: multiply the layers>> */
    for (int l = 0; l < layers; l++) {
        tp_check(maps[l]->shape.ndim == 4 && sequence >= 0
                     && sequence < maps[l]->shape.dim[0]
                     && maps[l]->shape.dim[2] == t && maps[l]->shape.dim[3] == t
                     && tp_tensor_is_contiguous(maps[l]),
                 "tp_attention_rollout: layer %d's weights %s, not [B, H, %d, %d] "
                 "with a sequence %d", l, tp_shape_str(maps[l]->shape).text, t, t,
                 sequence);
        mixed_layer(maps[l], sequence, l == 0 ? r : a);
        if (l == 0)
            continue;
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++) {
                double s = 0.0;
                for (int k = 0; k < t; k++)
                    s += a[(long)i * t + k] * r[(long)k * t + j];
                next[(long)i * t + j] = s;
            }
        memcpy(r, next, (size_t)t * t * sizeof *r);
    }
    for (long ij = 0; ij < (long)t * t; ij++)
        rollout[ij] = (float)r[ij];
    free(r), free(a), free(next);
}

/* <<interpret: probes>> */
tp_tensor **tp_gpt_hidden_states(tp_gpt *m, const int *tokens, int batch,
                                 int length, tp_arena *arena)
{
    int layers = m->config.n_layer;
    tp_tensor **states = tp_arena_zeroed(arena, (size_t)layers + 1,
                                         sizeof *states);
    tp_block_depth *kept = m->depth;
    m->depth = tp_arena_zeroed(arena, (size_t)layers, sizeof *m->depth);
    for (int l = 0; l < layers; l++) {
        if (kept != NULL)
            m->depth[l] = kept[l];
        m->depth[l].output = &states[l + 1];
    }
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    states[0] = tp_embedding(&g, m->wte, tokens, tp_shape2(batch, length));
    tp_gpt_forward(&g, m, tokens, batch, length);
    m->depth = kept;
    return states;
}
/* <<interpret: probes>> */
static void standardise(float *x, int n, int dim, int train)
{
    for (int j = 0; j < dim; j++) {
        double mean = 0.0, var = 0.0;
        for (int i = 0; i < train; i++)
            mean += x[(long)i * dim + j] / train;
        for (int i = 0; i < train; i++) {
            double d = x[(long)i * dim + j] - mean;
            var += d * d / train;
        }
        for (int i = 0; i < n; i++)
            x[(long)i * dim + j] = (float)((x[(long)i * dim + j] - mean)
                                           / sqrt(var + 1e-6));
    }
}
/* <<interpret: probes>> */
double tp_probe_accuracy(const float *x, const int *labels, int n, int dim,
                         int classes, int train, int steps)
{
    tp_check(n > train && train > 0 && dim > 0 && classes >= 2 && steps > 0,
             "tp_probe_accuracy: %d rows, %d to train on, width %d, %d "
             "classes, %d steps", n, train, dim, classes, steps);
    tp_arena *arena = tp_arena_new("probe");
    tp_tensor *features = tp_tensor_from(arena, tp_shape2(n, dim), x);
    standardise(features->data, n, dim, train);
    tp_params params = {0};
    tp_tensor *w = tp_param_new(&params, arena, "probe.weight",
                                tp_shape2(dim, classes));
    tp_tensor *b = tp_param_new(&params, arena, "probe.bias",
                                tp_shape1(classes));
    /* <<interpret: fit the probe>> */
    tp_optimizer *opt = tp_optimizer_new(&params, (tp_optimizer_config){
        .kind = TP_ADAM, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f});
    tp_arena *step = tp_arena_new("probe step");
    tp_graph g = tp_graph_on(step);
    tp_tensor *rows = tp_slice(arena, features, 0, 0, train);
    for (int s = 0; s < steps; s++) {
        tp_zero_grad(&params);
        tp_backward(&g, tp_cross_entropy(&g, tp_linear(&g, rows, w, b), labels,
                                         -1));
        tp_optimizer_step(opt, 0.05f);
        tp_graph_reset(&g);
    }
    tp_optimizer_free(opt);
    tp_arena_free(step);
    /* <<interpret: count the probe's hits on the other rows>> */
    long hits = 0;
    for (int i = train; i < n; i++) {
        const float *row = features->data + (long)i * dim;
        int best = 0;
        double best_score = -INFINITY;
        for (int c = 0; c < classes; c++) {
            double score = b->data[c];
            for (int j = 0; j < dim; j++)
                score += row[j] * w->data[(long)j * classes + c];
            if (score > best_score)
                best = c, best_score = score;
        }
        hits += best == labels[i];
    }
    tp_params_free(&params);
    tp_arena_free(arena);
    return (double)hits / (n - train);
}
/* <<interpret: probes>> */
void tp_control_labels(const int *tokens, const int *labels, int n,
                       int vocab, uint64_t seed, int *control)
{
    int *of_type = malloc((size_t)vocab * sizeof *of_type);
    tp_check(of_type != NULL && n > 0, "tp_control_labels: %d rows", n);
    tp_rng rng = tp_rng_seeded(seed, 375);
    for (int v = 0; v < vocab; v++)
        of_type[v] = labels[tp_rng_below(&rng, (uint32_t)n)];
    for (int i = 0; i < n; i++) {
        tp_check(tokens[i] >= 0 && tokens[i] < vocab,
                 "tp_control_labels: token %d of %d", tokens[i], vocab);
        control[i] = of_type[tokens[i]];
    }
    free(of_type);
}
