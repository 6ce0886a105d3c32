/* Generated from book/280-switch.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/ops.h"
#include "tp/switch.h"

/* <<switch: making the layer>> */
void tp_switch_make(tp_switch *s, tp_params *params, tp_arena *arena,
                    const char *prefix, int width, int hidden, int experts)
{
    tp_check(experts >= 1 && experts <= TP_SWITCH_MAX_EXPERTS && width >= 1
                 && hidden >= 1,
             "tp_switch_make: %d experts (1 to %d) of width %d and hidden "
             "width %d", experts, TP_SWITCH_MAX_EXPERTS, width, hidden);
    char name[64];
    *s = (tp_switch){width, hidden, experts, 1, NULL, NULL};
    snprintf(name, sizeof name, "%srouter.weight", prefix);
    s->router = tp_param_new(params, arena, name, tp_shape2(width, experts));
    s->expert = tp_arena_alloc(arena, (size_t)experts * sizeof *s->expert);
    for (int e = 0; e < experts; e++) {
        tp_block *b = &s->expert[e];
        *b = (tp_block){0};
        snprintf(name, sizeof name, "%sexperts.%d.mlp.c_fc.weight", prefix, e);
        b->c_fc_w = tp_param_new(params, arena, name,
                                 tp_shape2(width, hidden));
        snprintf(name, sizeof name, "%sexperts.%d.mlp.c_fc.bias", prefix, e);
        b->c_fc_b = tp_param_new(params, arena, name, tp_shape1(hidden));
        snprintf(name, sizeof name, "%sexperts.%d.mlp.c_proj.weight", prefix,
                 e);
        b->mlp_proj_w = tp_param_new(params, arena, name,
                                     tp_shape2(hidden, width));
        snprintf(name, sizeof name, "%sexperts.%d.mlp.c_proj.bias", prefix, e);
        b->mlp_proj_b = tp_param_new(params, arena, name, tp_shape1(width));
    }
}

/* <<switch: moving rows>> */
typedef struct taken {
    const int *rows;
    int n;
} taken;

static void take_rows_backward(tp_node *node)
{
    tp_tensor *x = node->input[0];
    const taken *t = node->saved;
    int c = x->shape.dim[x->shape.ndim - 1];
    for (int i = 0; i < t->n; i++)
        for (int j = 0; t->rows[i] >= 0 && j < c; j++)
            x->grad[(long)t->rows[i] * c + j] +=
                node->output->grad[(long)i * c + j];
}

static tp_tensor *take_rows(tp_graph *g, tp_tensor *x, const int *rows,
                            int n)
{
    int c = x->shape.dim[x->shape.ndim - 1];
    bool grad = tp_needs_grad(g, 1, &x);
    tp_tensor *y = tp_tensor_empty(g->arena, tp_shape2(n, c),
                                   grad ? TP_WITH_GRAD : TP_NO_GRAD);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
            y->data[(long)i * c + j] =
                rows[i] >= 0 ? x->data[(long)rows[i] * c + j] : 0.0f;
    if (grad) {
        taken *t = tp_arena_alloc(g->arena, sizeof *t);
        int *copy = tp_arena_alloc(g->arena, (size_t)n * sizeof(int));
        memcpy(copy, rows, (size_t)n * sizeof(int));
        *t = (taken){copy, n};
        tp_record(g, "take_rows", take_rows_backward, y, 1, &x)->saved = t;
    }
    return y;
}
/* <<switch: moving rows>> */
static void scale_rows_backward(tp_node *node)
{
    tp_tensor *x = node->input[0], *s = node->input[1];
    const float *dy = node->output->grad;
    int n = x->shape.dim[0], c = x->shape.dim[1];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) {
            long k = (long)i * c + j;
            if (x->grad != NULL)
                x->grad[k] += s->data[i] * dy[k];
            if (s->grad != NULL)
                s->grad[i] += x->data[k] * dy[k];
        }
}

/* y[i, :] = s[i] x[i, :], for x [n, c] and s [n, 1] */
static tp_tensor *scale_rows(tp_graph *g, tp_tensor *x, tp_tensor *s)
{
    int n = x->shape.dim[0], c = x->shape.dim[1];
    bool grad = tp_needs_grad(g, 2, (tp_tensor *[]){x, s});
    tp_tensor *y = tp_tensor_empty(g->arena, x->shape,
                                   grad ? TP_WITH_GRAD : TP_NO_GRAD);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
            y->data[(long)i * c + j] = s->data[i] * x->data[(long)i * c + j];
    if (grad)
        tp_record(g, "scale_rows", scale_rows_backward, y, 2,
                  (tp_tensor *[]){x, s});
    return y;
}

/* <<switch: deciding the routes>> */
int tp_switch_capacity(int tokens, int experts, int top, float factor)
{
    tp_check(factor > 0 && isfinite(factor) && experts >= 1 && tokens >= 1
                 && (top == 1 || top == 2),
             "tp_switch_capacity: a capacity factor of %g for %d tokens, %d "
             "experts and top-%d routing (the factor must be positive)",
             (double)factor, tokens, experts, top);
    double k = ceil((double)factor * top * tokens / experts);
    return k >= tokens ? tokens : (int)k;
}
/* <<switch: deciding the routes>> */
int tp_switch_dropped_at(const tp_switch_routing *r, float factor)
{
    int capacity = tp_switch_capacity(r->tokens, r->experts, r->top, factor);
    int dropped = 0;
    for (int e = 0; e < r->experts; e++) {
        int places = capacity;
        for (int j = 0; j < r->top; j++) {
            int wanting = 0;
            for (int t = 0; t < r->tokens; t++)
                wanting += r->expert[t * r->top + j] == e;
            int kept = wanting < places ? wanting : places;
            dropped += wanting - kept;
            places -= kept;
        }
    }
    return dropped;
}
/* <<switch: deciding the routes>> */
static int best_but(const float *p, int experts, int excluded)
{
    int best = excluded == 0 ? 1 : 0;
    for (int j = 0; j < experts; j++)
        best = j != excluded && p[j] > p[best] ? j : best;
    return best;
}

static tp_switch_routing route(tp_arena *arena, const tp_tensor *probs,
                               int top, int capacity)
{
    int n = probs->shape.dim[0], e = probs->shape.dim[1];
    tp_switch_routing r = {.tokens = n, .experts = e, .top = top,
                           .capacity = capacity};
    r.expert = tp_arena_alloc(arena, (size_t)n * top * sizeof(int));
    r.slot = tp_arena_alloc(arena, (size_t)n * top * sizeof(int));
    r.routed = tp_arena_zeroed(arena, (size_t)e, sizeof(int));
    r.kept = tp_arena_zeroed(arena, (size_t)e, sizeof(int));
    for (int t = 0; t < n; t++) {
        const float *p = probs->data + (long)t * e;
        r.expert[t * top] = best_but(p, e, -1);
        if (top == 2)
            r.expert[t * top + 1] = best_but(p, e, r.expert[t * top]);
        r.routed[r.expert[t * top]]++;
    }
    for (int j = 0; j < top; j++)
        for (int t = 0; t < n; t++) {
            int k = t * top + j, x = r.expert[k];
            r.slot[k] = r.kept[x] < capacity ? r.kept[x]++ : -1;
            r.dropped += r.slot[k] < 0;
        }
    return r;
}

/* <<switch: the auxiliary losses>> */
static tp_tensor *balance_loss(tp_graph *g, tp_tensor *probs,
                               const tp_switch_routing *r)
{
    int n = r->tokens, e = r->experts;
    tp_tensor *f = tp_tensor_new(g->arena, probs->shape, TP_NO_GRAD);
    for (int t = 0; t < n; t++)
        for (int j = 0; j < e; j++)
            f->data[(long)t * e + j] = (float)r->routed[j] / (float)n;
    return tp_scale(g, tp_mean(g, tp_mul(g, probs, f)), (float)(e * e));
}
/* <<switch: the auxiliary losses>> */
typedef struct row_lse {
    double *lse;
} row_lse;

static void z_loss_backward(tp_node *node)
{
    tp_tensor *h = node->input[0];
    const row_lse *s = node->saved;
    int n = h->shape.dim[0], e = h->shape.dim[1];
    double dy = node->output->grad[0];
    for (int t = 0; t < n; t++)
        for (int j = 0; j < e; j++) {
            long k = (long)t * e + j;
            double p = exp(h->data[k] - s->lse[t]);
            h->grad[k] += (float)(dy * 2.0 / n * s->lse[t] * p);
        }
}

static tp_tensor *z_loss(tp_graph *g, tp_tensor *logits)
{
    int n = logits->shape.dim[0], e = logits->shape.dim[1];
    bool grad = tp_needs_grad(g, 1, &logits);
    tp_tensor *y = tp_tensor_empty(g->arena, tp_shape1(1),
                                   grad ? TP_WITH_GRAD : TP_NO_GRAD);
    row_lse *s = tp_arena_alloc(g->arena, sizeof *s);
    s->lse = tp_arena_alloc(g->arena, (size_t)n * sizeof(double));
    double total = 0.0;
    for (int t = 0; t < n; t++) {
        const float *h = logits->data + (long)t * e;
        double top = h[0], sum = 0.0;
        for (int j = 1; j < e; j++)
            top = h[j] > top ? h[j] : top;
        for (int j = 0; j < e; j++)
            sum += exp(h[j] - top);
        s->lse[t] = top + log(sum);
        total += s->lse[t] * s->lse[t];
    }
    y->data[0] = (float)(total / n);
    if (grad)
        tp_record(g, "z_loss", z_loss_backward, y, 1, &logits)->saved = s;
    return y;
}

/* <<switch: the forward pass>> */
static tp_tensor *gate_column(tp_graph *g, tp_tensor *logits,
                              tp_tensor *probs, const tp_switch_routing *r)
{
    int n = r->tokens, e = r->experts;
    if (r->top == 1)
        return tp_reshape(g->arena, probs, tp_shape2(n * e, 1));
    int *chosen = tp_arena_alloc(g->arena, (size_t)n * 2 * sizeof(int));
    for (int k = 0; k < n * 2; k++)
        chosen[k] = (k / 2) * e + r->expert[k];
    tp_tensor *pairs = take_rows(g, tp_reshape(g->arena, logits,
                                               tp_shape2(n * e, 1)),
                                 chosen, n * 2);
    tp_tensor *gates = tp_softmax(g, tp_reshape(g->arena, pairs,
                                                tp_shape2(n, 2)));
    return tp_reshape(g->arena, gates, tp_shape2(n * 2, 1));
}

static int gate_index(const tp_switch_routing *r, int k)
{
    return r->top == 1 ? k * r->experts + r->expert[k] : k;
}
/* <<switch: the forward pass>> */
static tp_tensor *run_expert(tp_graph *g, const tp_switch *s, int e,
                             tp_tensor *tokens, tp_tensor *gates,
                             const tp_switch_routing *r)
{
    int n = r->kept[e], *mine = tp_arena_alloc(g->arena,
                                               (size_t)n * sizeof(int));
    int *gate = tp_arena_alloc(g->arena, (size_t)n * sizeof(int));
    for (int k = 0; k < r->tokens * r->top; k++)
        if (r->expert[k] == e && r->slot[k] >= 0) {
            mine[r->slot[k]] = k / r->top;
            gate[r->slot[k]] = gate_index(r, k);
        }
    tp_tensor *out = tp_block_mlp(g, &s->expert[e],
                                  take_rows(g, tokens, mine, n), NULL);
    return scale_rows(g, out, take_rows(g, gates, gate, n));
}
/* <<switch: the forward pass>> */
static tp_tensor *stack_rows(tp_graph *g, tp_tensor **parts, int n)
{
    while (n > 1) {
        int joined = 0;
        for (int i = 0; i < n; i += TP_MAX_INPUTS) {
            int k = n - i < TP_MAX_INPUTS ? n - i : TP_MAX_INPUTS;
            parts[joined++] = k == 1 ? parts[i]
                                     : tp_concat(g, k, parts + i, 0);
        }
        n = joined;
    }
    return parts[0];
}

static tp_tensor *run_experts(tp_graph *g, const tp_switch *s,
                              tp_tensor *tokens, tp_tensor *gates,
                              const tp_switch_routing *r)
{
    tp_tensor *parts[TP_SWITCH_MAX_EXPERTS];
    int start[TP_SWITCH_MAX_EXPERTS], used = 0, rows = 0;
    for (int e = 0; e < r->experts; e++) {
        start[e] = rows;
        rows += r->kept[e];
        if (r->kept[e] > 0)
            parts[used++] = run_expert(g, s, e, tokens, gates, r);
    }
    tp_tensor *stack = stack_rows(g, parts, used), *y = NULL;
    int *back = tp_arena_alloc(g->arena, (size_t)r->tokens * sizeof(int));
    for (int j = 0; j < r->top; j++) {
        for (int t = 0; t < r->tokens; t++) {
            int k = t * r->top + j;
            back[t] = r->slot[k] < 0 ? -1 : start[r->expert[k]] + r->slot[k];
        }
        tp_tensor *mine = take_rows(g, stack, back, r->tokens);
        y = y == NULL ? mine : tp_add(g, y, mine);
    }
    return y;
}
/* <<switch: the forward pass>> */
tp_switch_output tp_switch_forward(tp_graph *g, const tp_switch *s,
                                   tp_tensor *x, float factor)
{
    int c = x->shape.dim[x->shape.ndim - 1];
    tp_check(c == s->width && tp_tensor_is_contiguous(x),
             "tp_switch_forward: a contiguous input of width %d, not %s",
             s->width, tp_shape_str(x->shape).text);
    tp_check(s->top >= 1 && s->top <= 2 && s->top <= s->experts,
             "tp_switch_forward: top-%d routing over %d experts", s->top,
             s->experts);
    int n = (int)(tp_tensor_count(x) / c);
    tp_tensor *tokens = tp_reshape(g->arena, x, tp_shape2(n, c));
    tp_tensor *logits = tp_matmul(g, tokens, s->router);
    tp_tensor *probs = tp_softmax(g, logits);
    tp_switch_output o;
    o.routing = route(g->arena, probs, s->top,
                      tp_switch_capacity(n, s->experts, s->top, factor));
    tp_tensor *gates = gate_column(g, logits, probs, &o.routing);
    o.y = tp_reshape(g->arena, run_experts(g, s, tokens, gates, &o.routing),
                     x->shape);
    o.balance = balance_loss(g, probs, &o.routing);
    o.z = z_loss(g, logits);
    return o;
}

/* <<switch: the Switch GPT>> */
static tp_tensor *switch_mlp(tp_graph *g, tp_tensor *x, int layer,
                             void *context)
{
    tp_switch_gpt *s = context;
    if (layer == 0)  /* a new forward pass: the sums start again */
        s->balance = s->z = NULL;
    tp_switch_output o = tp_switch_forward(g, &s->layers[layer], x,
                                           s->factor);
    s->balance = s->balance != NULL ? tp_add(g, s->balance, o.balance)
                                    : o.balance;
    s->z = s->z != NULL ? tp_add(g, s->z, o.z) : o.z;
    s->routing[layer] = o.routing;
    return o.y;
}

static void describe(tp_switch_gpt *s, int experts, int top)
{
    char text[32];
    tp_metadata_set(&s->metadata, "mlp", "switch");
    snprintf(text, sizeof text, "%d", experts);
    tp_metadata_set(&s->metadata, "switch.experts", text);
    snprintf(text, sizeof text, "%d", top);
    tp_metadata_set(&s->metadata, "switch.top", text);
    snprintf(text, sizeof text, "%.9g", (double)s->factor);
    tp_metadata_set(&s->metadata, "switch.capacity_factor", text);
}

/* GPT without MLPs becomes a Switch GPT: a layer per block, the hook. */
static tp_switch_gpt *switch_gpt_around(tp_gpt *gpt, int experts, int top,
                                        float factor)
{
    tp_check(top == 1 || top == 2, "a Switch GPT routes to 1 or 2 experts, "
             "not %d", top);
    tp_switch_gpt *s = calloc(1, sizeof *s);
    tp_check(s != NULL, "out of memory");
    s->gpt = gpt;
    int layers = gpt->config.n_layer, width = gpt->config.n_embd;
    s->layers = calloc((size_t)layers, sizeof *s->layers);
    s->routing = calloc((size_t)layers, sizeof *s->routing);
    tp_check(s->layers != NULL && s->routing != NULL, "out of memory");
    for (int i = 0; i < layers; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "h.%d.moe.", i);
        tp_switch_make(&s->layers[i], &gpt->params, gpt->arena, prefix, width,
                       4 * width, experts);
        s->layers[i].top = top;
    }
    s->factor = factor;
    describe(s, experts, top);
    gpt->mlp = switch_mlp;
    gpt->mlp_context = s;
    gpt->mlp_metadata = &s->metadata;
    return s;
}

tp_switch_gpt *tp_switch_gpt_new(tp_gpt_config config, int experts, int top,
                                 float factor)
{
    tp_gpt *gpt = tp_gpt_new_modern(config, (tp_gpt_modern){.no_mlp = true});
    return switch_gpt_around(gpt, experts, top, factor);
}

void tp_switch_gpt_free(tp_switch_gpt *s)
{
    if (s == NULL)
        return;
    tp_gpt_free(s->gpt);
    free(s->layers);
    free(s->routing);
    free(s);
}

/* <<switch: loading a Switch GPT>> */
static int read_factor(const tp_metadata *meta, const char *path,
                       float *factor, tp_error *error)
{
    const char *text = tp_metadata_get(meta, "switch.capacity_factor");
    if (text == NULL)
        return tp_error_set(error, "%s has no switch.capacity_factor in its "
                            "metadata", path);
    char *end;
    double value = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || !(value > 0.0 && value <= 64.0))
        return tp_error_set(error, "%s: switch.capacity_factor is \"%s\", "
                            "not a number in (0, 64]", path, text);
    *factor = (float)value;
    return 0;
}

tp_switch_gpt *tp_switch_gpt_load(const char *path, tp_error *error)
{
    tp_metadata meta;
    tp_gpt *gpt = tp_gpt_load_hooked(path, "switch", &meta, error);
    if (gpt == NULL)
        return NULL;
    long experts, top;
    float factor = 1.0f;
    if (tp_metadata_number(&meta, path, "switch.experts", 1,
                           TP_SWITCH_MAX_EXPERTS, &experts, error) != 0
        || tp_metadata_number(&meta, path, "switch.top", 1, experts < 2 ? 1 : 2,
                              &top, error) != 0
        || read_factor(&meta, path, &factor, error) != 0) {
        tp_gpt_free(gpt);
        return NULL;
    }
    int first = gpt->params.count;
    tp_switch_gpt *s = switch_gpt_around(gpt, (int)experts, (int)top, factor);
    if (tp_safetensors_load(path, gpt->params.items + first,
                            gpt->params.count - first, NULL, error) != 0) {
        char why[sizeof error->message];
        snprintf(why, sizeof why, "%s", error->message);
        tp_error_set(error, "%s is not a whole Switch GPT (%s)", path, why);
        tp_switch_gpt_free(s);
        return NULL;
    }
    return s;
}

tp_tensor *tp_switch_gpt_loss(tp_graph *g, tp_switch_gpt *s,
                              const int *tokens, const int *targets,
                              int batch, int length, float alpha, float beta)
{
    tp_tensor *loss = tp_gpt_loss(g, s->gpt, tokens, targets, batch, length);
    return tp_add(g, loss, tp_add(g, tp_scale(g, s->balance, alpha),
                                  tp_scale(g, s->z, beta)));
}
