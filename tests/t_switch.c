/* Generated from book/280-switch.nw; edit the book, not this file. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "tp.h"

/* <<t-switch: a small layer>> */
enum { WIDTH = 6, HIDDEN = 8, TOKENS = 12 };

typedef struct layer {
    tp_params params;
    tp_arena *arena;
    tp_switch s;
    tp_tensor *x;
} layer;

static layer *layer_new(int experts, int top, uint64_t seed)
{
    layer *l = calloc(1, sizeof *l);
    l->arena = tp_arena_new("t_switch");
    tp_switch_make(&l->s, &l->params, l->arena, "", WIDTH, HIDDEN, experts);
    l->s.top = top;
    tp_rng rng = tp_rng_seeded(seed, 0);
    for (int i = 0; i < l->params.count; i++)
        tp_fill_normal(l->params.items[i].tensor, &rng, 0.0f, 0.5f);
    l->x = tp_tensor_new(l->arena, tp_shape2(TOKENS, WIDTH), TP_WITH_GRAD);
    tp_fill_normal(l->x, &rng, 0.0f, 1.0f);
    return l;
}

static void layer_free(layer *l)
{
    tp_params_free(&l->params);
    tp_arena_free(l->arena);
    free(l);
}

/* <<t-switch: the reference>> */
static double gelu(double v)
{
    return 0.5 * v * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) * (v + 0.044715 * v * v * v)));
}

static void probabilities(const tp_switch *s, const float *x, double *p)
{
    double top = -INFINITY, sum = 0.0;
    for (int e = 0; e < s->experts; e++) {
        p[e] = 0.0;
        for (int c = 0; c < s->width; c++)
            p[e] += (double)x[c] * s->router->data[c * s->experts + e];
        top = p[e] > top ? p[e] : top;
    }
    for (int e = 0; e < s->experts; e++)
        sum += (p[e] = exp(p[e] - top));
    for (int e = 0; e < s->experts; e++)
        p[e] /= sum;
}

/* y += gate MLP(x) */
static void expert_mlp(const tp_block *b, int width, int hidden,
                       const float *x, double gate, double *y)
{
    double h[HIDDEN];
    for (int k = 0; k < hidden; k++) {
        h[k] = b->c_fc_b->data[k];
        for (int c = 0; c < width; c++)
            h[k] += (double)x[c] * b->c_fc_w->data[c * hidden + k];
        h[k] = gelu(h[k]);
    }
    for (int c = 0; c < width; c++) {
        double out = b->mlp_proj_b->data[c];
        for (int k = 0; k < hidden; k++)
            out += h[k] * b->mlp_proj_w->data[k * width + c];
        y[c] += gate * out;
    }
}

/* The best expert of p, or the best after the one excluded */
static int naive_best(const double *p, int experts, int excluded)
{
    int best = -1;
    for (int e = 0; e < experts; e++)
        if (e != excluded && (best < 0 || p[e] > p[best]))
            best = e;
    return best;
}

/* The layer token by token, top-1 or top-2; returns the choices dropped. */
static int naive_switch(const tp_switch *s, const float *x, int n,
                        float factor, double *y, int *choice)
{
    int top = s->top, used[TP_SWITCH_MAX_EXPERTS] = {0}, dropped = 0;
    int capacity = (int)fmin(n, ceil((double)factor * top * n / s->experts));
    double gate[2 * TOKENS];
    for (int t = 0; t < n; t++) {
        double p[TP_SWITCH_MAX_EXPERTS];
        probabilities(s, x + t * s->width, p);
        int first = naive_best(p, s->experts, -1);
        choice[t * top] = first;
        gate[t * top] = p[first];
        if (top == 2) {
            int second = naive_best(p, s->experts, first);
            choice[t * top + 1] = second;
            gate[t * top] = p[first] / (p[first] + p[second]);
            gate[t * top + 1] = p[second] / (p[first] + p[second]);
        }
    }
    memset(y, 0, (size_t)n * s->width * sizeof *y);
    for (int j = 0; j < top; j++)  /* all first choices, then the second */
        for (int t = 0; t < n; t++) {
            int e = choice[t * top + j];
            if (used[e]++ < capacity)
                expert_mlp(&s->expert[e], s->width, s->hidden,
                           x + t * s->width, gate[t * top + j],
                           y + t * s->width);
            else
                dropped++;
        }
    return dropped;
}

/* <<t-switch: routing and capacity>> */
static double largest_difference(const float *a, const double *b, long n)
{
    double worst = 0.0;
    for (long i = 0; i < n; i++)
        worst = fmax(worst, fabs(a[i] - b[i]));
    return worst;
}

static void routing_at(layer *l, float factor)
{
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_switch_output o = tp_switch_forward(&g, &l->s, l->x, factor);
    const tp_switch_routing *r = &o.routing;
    int top = l->s.top, experts = l->s.experts;
    double y[TOKENS * WIDTH];
    int choice[2 * TOKENS], wanted[TP_SWITCH_MAX_EXPERTS] = {0};
    int same = 1, excess = 0, exact = 1;
    int dropped = naive_switch(&l->s, l->x->data, TOKENS, factor, y, choice);
    for (int k = 0; k < TOKENS * top; k++) {
        same &= r->expert[k] == choice[k];
        wanted[choice[k]]++;
    }
    ok(same, "E = %d, top-%d, phi %.1f: every token goes to its best "
       "expert%s", experts, top, factor, top == 2 ? "s" : "");
    near(largest_difference(o.y->data, y, TOKENS * WIDTH), 0.0, 1e-5,
         "E = %d, top-%d, phi %.1f: the output equals the per-token loop",
         experts, top, factor);
    for (int e = 0; e < experts; e++)
        excess += wanted[e] > r->capacity ? wanted[e] - r->capacity : 0;
    ok(r->dropped == dropped && r->dropped == excess,
       "E = %d, top-%d, phi %.1f: %d choices dropped, as the loop and the "
       "counts say", experts, top, factor, r->dropped);
    for (int t = 0; t < TOKENS; t++) {
        bool all_dropped = true;
        for (int j = 0; j < top; j++)
            all_dropped &= r->slot[t * top + j] < 0;
        for (int c = 0; all_dropped && c < WIDTH; c++)
            exact &= l->x->data[t * WIDTH + c] + o.y->data[t * WIDTH + c]
                     == l->x->data[t * WIDTH + c];
    }
    ok(exact, "E = %d, top-%d, phi %.1f: dropped tokens leave the "
       "residual's input as it was", experts, top, factor);
    tp_arena_free(arena);
}

/* One batch's routes replayed at other factors drop what routing drops. */
static void dropped_at_other_factors(layer *l, const tp_switch_routing *r)
{
    static const float factors[] = {0.25f, 0.5f, 1.0f, 1.25f, 1.5f, 4.0f};
    bool same = true;
    for (int i = 0; i < 6; i++) {
        tp_arena *arena = tp_arena_new("step");
        tp_graph g = tp_graph_on(arena);
        tp_switch_output o = tp_switch_forward(&g, &l->s, l->x, factors[i]);
        same = same && tp_switch_dropped_at(r, factors[i]) == o.routing.dropped;
        tp_arena_free(arena);
    }
    ok(same, "E = %d, top-%d: the routes replayed at six capacity factors "
       "drop what routing at those factors drops", l->s.experts, l->s.top);
}

static void routing_and_capacity(void)
{
    static const struct {
        int experts, top;
        float low;  /* a capacity factor that drops */
    } cases[] = {{3, 1, 0.5f}, {8, 1, 1.0f}, {8, 2, 0.5f}, {3, 2, 0.5f}};
    for (int i = 0; i < 4; i++) {
        layer *l = layer_new(cases[i].experts, cases[i].top, 7);
        routing_at(l, 4.0f);
        routing_at(l, cases[i].low);
        tp_arena *arena = tp_arena_new("step");
        tp_graph g = tp_graph_on(arena);
        tp_switch_output o = tp_switch_forward(&g, &l->s, l->x, cases[i].low);
        ok(o.routing.dropped > 0, "and phi %.1f does drop (%d)",
           cases[i].low, o.routing.dropped);
        dropped_at_other_factors(l, &o.routing);
        tp_arena_free(arena);
        layer_free(l);
    }
}

static void one_expert_is_dense(void)
{
    layer *l = layer_new(1, 1, 11);
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_switch_output o = tp_switch_forward(&g, &l->s, l->x, 1.0f);
    tp_tensor *dense = tp_block_mlp(&g, &l->s.expert[0], l->x, NULL);
    ok(memcmp(o.y->data, dense->data, sizeof(float) * TOKENS * WIDTH) == 0,
       "one expert, phi 1: the layer is the dense MLP");
    tp_arena_free(arena);
    layer_free(l);
}

/* <<t-switch: the losses>> */
static void balance_by_hand(layer *l)
{
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_switch_output o = tp_switch_forward(&g, &l->s, l->x, 1.0f);
    double f[3] = {0}, P[3] = {0}, balance = 0.0, z = 0.0;
    for (int t = 0; t < TOKENS; t++) {
        double p[3], lse = 0.0;
        probabilities(&l->s, l->x->data + t * WIDTH, p);
        int best = 0;
        for (int e = 0; e < 3; e++) {
            P[e] += p[e] / TOKENS;
            best = p[e] > p[best] ? e : best;
        }
        f[best] += 1.0 / TOKENS;
        for (int e = 0; e < 3; e++) {
            double h = 0.0;
            for (int c = 0; c < WIDTH; c++)
                h += (double)l->x->data[t * WIDTH + c]
                     * l->s.router->data[c * 3 + e];
            lse += exp(h);
        }
        z += log(lse) * log(lse) / TOKENS;
    }
    for (int e = 0; e < 3; e++)
        balance += 3.0 * f[e] * P[e];
    near(o.balance->data[0], balance, 1e-5,
         "the balancing loss is E sum f P (%.4f)", balance);
    near(o.z->data[0], z, 1e-5, "the z-loss is the mean squared "
         "log-sum-exp (%.4f)", z);
    tp_arena_free(arena);
}

static void losses(void)
{
    layer *l = layer_new(3, 1, 5);
    balance_by_hand(l);
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    tp_fill(l->s.router, 0.0f);
    tp_switch_output o = tp_switch_forward(&g, &l->s, l->x, 1.0f);
    near(o.balance->data[0], 1.0, 1e-5,
         "uniform router probabilities: the balancing loss is 1");
    for (int c = 0; c < WIDTH; c++)  /* expert 0 wins by a mile */
        l->s.router->data[c * 3] = 100.0f * l->x->data[c];
    for (int t = 0; t < TOKENS; t++)
        memcpy(l->x->data + t * WIDTH, l->x->data, WIDTH * sizeof(float));
    o = tp_switch_forward(&g, &l->s, l->x, 1.0f);
    near(o.balance->data[0], 3.0, 1e-5,
         "every token certain of one expert: the balancing loss is E");
    tp_arena_free(arena);
    layer_free(l);
}

/* <<t-switch: gradients>> */
typedef struct check_context {
    layer *l;
    float factor;
    int which;  /* 0: the output; 1: the two losses */
} check_context;

static tp_tensor *switch_forward(tp_graph *g, tp_tensor *const in[],
                                 void *context)
{
    (void)in;
    const check_context *k = context;
    tp_switch_output o = tp_switch_forward(g, &k->l->s, k->l->x, k->factor);
    return k->which == 0 ? o.y : tp_add(g, o.balance, o.z);
}

static double smallest_margin(layer *l)
{
    double margin = INFINITY;
    int e = l->s.experts;
    for (int t = 0; t < TOKENS; t++) {
        double p[TP_SWITCH_MAX_EXPERTS];
        probabilities(&l->s, l->x->data + t * WIDTH, p);
        for (int a = 0; a < e; a++)
            for (int b = a + 1; b < e; b++)
                margin = fmin(margin, fabs(log(p[a]) - log(p[b])));
    }
    return margin;
}

static void gradients_of(int top, uint64_t seed, float factor)
{
    layer *l = layer_new(3, top, seed);
    ok(smallest_margin(l) > 0.1, "top-%d: the router's margins (%.3f) exceed "
       "what a step of the check can move", top, smallest_margin(l));
    tp_arena *arena = tp_arena_new("step");
    tp_graph g = tp_graph_on(arena);
    ok(tp_switch_forward(&g, &l->s, l->x, factor).routing.dropped > 0,
       "top-%d: phi %.1f drops tokens, so the check covers them", top, factor);
    tp_arena_free(arena);
    tp_tensor *inputs[64];
    int n = 0;
    inputs[n++] = l->x;
    for (int i = 0; i < l->params.count; i++)
        inputs[n++] = l->params.items[i].tensor;
    for (int which = 0; which < 2; which++) {
        check_context k = {l, factor, which};
        tp_gradcheck_result r = tp_gradcheck(switch_forward, inputs, n, &k);
        if (!ok(r.error <= 1e-2, "top-%d: %s: gradients match central "
                "differences", top, which == 0 ? "the output"
                                               : "the balancing and z losses"))
            diag("input %d, element %ld: analytic %g, numeric %g", r.input,
                 r.element, r.analytic, r.numeric);
    }
    layer_free(l);
}

static void gradients(void)
{
    gradients_of(1, 8, 0.7f);
    gradients_of(2, 8, 0.6f);
}

/* <<t-switch: a Switch GPT>> */
static const tp_gpt_config tiny = {.vocab_size = 16, .n_positions = 12,
                                   .n_layer = 2, .n_head = 2, .n_embd = 8};
static const int gpt_tokens[12] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8};

static void copy_into_experts(tp_switch_gpt *s, const tp_gpt *dense)
{
    for (int i = 0; i < s->gpt->params.count; i++) {
        const char *name = s->gpt->params.items[i].name;
        char dense_name[64];
        int layer, used = 0;
        if (sscanf(name, "h.%d.moe.experts.0.%n", &layer, &used) == 1
            && used > 0)
            snprintf(dense_name, sizeof dense_name, "h.%d.%s", layer,
                     name + used);
        else
            snprintf(dense_name, sizeof dense_name, "%s", name);
        const tp_param *d = tp_params_find(&dense->params, dense_name);
        if (d != NULL)
            tp_copy(s->gpt->params.items[i].tensor, d->tensor);
    }
}

static tp_tensor *switch_gpt_loss(tp_graph *g, tp_tensor *const in[],
                                  void *context)
{
    (void)in;
    return tp_switch_gpt_loss(g, context, gpt_tokens, gpt_tokens + 1, 1, 11,
                              0.01f, 0.001f);
}

static void switch_gpt(void)
{
    tp_rng rng = tp_rng_seeded(21, 0);
    tp_gpt *dense = tp_gpt_new(tiny);
    tp_gpt_init(dense, &rng);
    for (int i = 0; i < dense->params.count; i++)
        tp_fill_normal(dense->params.items[i].tensor, &rng, 0.0f, 0.4f);
    tp_switch_gpt *s = tp_switch_gpt_new(tiny, 1, 1, 1.0f);
    copy_into_experts(s, dense);
    tp_arena *arena = tp_arena_new("test");
    tp_graph g = tp_graph_on(arena);
    tp_set_grad(&g, false);
    tp_tensor *a = tp_gpt_forward(&g, dense, gpt_tokens, 1, 12);
    tp_tensor *b = tp_gpt_forward(&g, s->gpt, gpt_tokens, 1, 12);
    double worst = 0.0;
    for (int i = 0; i < 12 * 16; i++)
        worst = fmax(worst, fabs(a->data[i] - b->data[i]));
    near(worst, 0.0, 1e-5, "a Switch GPT with one expert is the dense GPT");
    tp_tensor *inputs[64];
    for (int i = 0; i < s->gpt->params.count; i++)
        inputs[i] = s->gpt->params.items[i].tensor;
    tp_gradcheck_result r = tp_gradcheck(switch_gpt_loss, inputs,
                                         s->gpt->params.count, s);
    if (!ok(r.error <= 1e-2, "a Switch GPT's gradients, through GPT's hook, "
            "match central differences"))
        diag("%s, element %ld: analytic %g, numeric %g",
             s->gpt->params.items[r.input].name, r.element, r.analytic,
             r.numeric);
    tp_switch_gpt_free(s);
    /* <<t-switch: two layers of uniform routers>> */
    s = tp_switch_gpt_new(tiny, 4, 1, 1.25f);
    tp_gpt_init(s->gpt, &rng);
    for (int i = 0; i < tiny.n_layer; i++)
        tp_fill(s->layers[i].router, 0.0f);
    tp_graph_reset(&g);
    tp_switch_gpt_loss(&g, s, gpt_tokens, gpt_tokens + 1, 1, 11, 0.0f, 0.0f);
    near(s->balance->data[0], 2.0, 1e-5, "two layers of uniform routers: the "
         "balancing losses sum to 2");
    char path[] = "/tmp/tp-switch-XXXXXX";
    close(mkstemp(path));
    tp_error error = {""};
    tp_gpt_save(s->gpt, path, NULL, 0, NULL, &error);
    tp_gpt *back = tp_gpt_load(path, NULL, &error);
    if (!ok(back == NULL && strstr(error.message, "mlp is \"switch\""),
            "GPT's loader refuses a Switch GPT's checkpoint"))
        diag("the message was: %s", error.message);
    tp_gpt_free(back);
    /* <<t-switch: the Switch GPT's own loader>> */
    tp_switch_gpt *loaded = tp_switch_gpt_load(path, &error);
    bool same = loaded != NULL && loaded->layers[0].experts == 4
                && loaded->layers[0].top == 1 && loaded->factor == 1.25f;
    if (same) {
        tp_graph_reset(&g);
        tp_set_grad(&g, false);
        tp_tensor *saved = tp_gpt_forward(&g, s->gpt, gpt_tokens, 1, 12);
        tp_tensor *read = tp_gpt_forward(&g, loaded->gpt, gpt_tokens, 1, 12);
        for (int i = 0; i < 12 * 16; i++)
            same = same && saved->data[i] == read->data[i];
    }
    if (!ok(same, "the Switch GPT's loader makes the saved model again: its "
            "experts, routing and logits"))
        diag("%s", loaded == NULL ? error.message : "a different model");
    tp_switch_gpt_free(loaded);
    tp_switch_gpt *three = tp_switch_gpt_new(tiny, 3, 1, 1.25f);
    tp_metadata_set(&three->metadata, "switch.experts", "4");
    tp_gpt_save(three->gpt, path, NULL, 0, NULL, &error);
    loaded = tp_switch_gpt_load(path, &error);
    if (!ok(loaded == NULL && strstr(error.message, "not a whole Switch GPT"),
            "a checkpoint missing an expert's tensors is refused"))
        diag("the message was: %s", error.message);
    tp_switch_gpt_free(loaded);
    tp_switch_gpt_free(three);
    unlink(path);
    tp_switch_gpt_free(s);
    tp_arena_free(arena);
    tp_gpt_free(dense);
}

int main(void)
{
    routing_and_capacity();
    one_expert_is_dense();
    losses();
    gradients();
    switch_gpt();
    return done_testing();
}
