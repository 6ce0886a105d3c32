/* Generated from book/315-fixed-context.nw; edit the book, not this file. */
#include "program.h"

/* <<tp context: the recall task>> */
enum { FACT = 2, VALUES = 10, VOCAB = 256 };

static void put_fact(int *tokens, unsigned char *used, int at, int key,
                     int value)
{
    tokens[at] = key, tokens[at + 1] = value;
    used[at] = used[at + 1] = 1;
}

static bool span_free(const unsigned char *used, int at, int length)
{
    for (int i = at; i < at + length; i++)
        if (used[i])
            return false;
    return true;
}
/* <<tp context: the recall task>> */
/* Returns the answer, '0' to '9'; the question is tokens[n - 1]. */
static int make_recall(tp_rng *rng, int n, int distance, int distractors,
                       int *tokens)
{
    tp_check(distance >= 2 && distance <= n - FACT, "a fact %d tokens back "
             "in %d", distance, n);
    unsigned char *used = calloc((size_t)n, 1);
    tp_check(used != NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        int r = (int)tp_rng_below(rng, 27);
        tokens[i] = r == 26 ? ' ' : 'a' + r;
    }
    int key = 'A' + (int)tp_rng_below(rng, 26);
    int value = '0' + (int)tp_rng_below(rng, VALUES);
    put_fact(tokens, used, n - 1 - distance - 1, key, value);
    tokens[n - 1] = key, used[n - 1] = 1;
    /* <<recall task: place the distractors>> */
    for (int f = 0; f < distractors; f++) {
        int other = 'A' + (int)tp_rng_below(rng, 25);
        other += other >= key;  /* any key but the asked one */
        for (int tries = 0; tries < 100; tries++) {
            int at = (int)tp_rng_below(rng, (uint32_t)(n - 1 - FACT));
            if (span_free(used, at, FACT)) {
                put_fact(tokens, used, at, other,
                         '0' + (int)tp_rng_below(rng, VALUES));
                break;
            }
        }
    }
    free(used);
    return value;
}
/* <<tp context: the recall task>> */
static int best_digit(const float *logits)
{
    int best = '0';
    for (int v = '1'; v <= '9'; v++)
        best = logits[v] > logits[best] ? v : best;
    return best;
}
/* <<tp context: the recall task>> */
typedef struct recall_batches {
    int batch, window;
    tp_rng rng;
    int *inputs, *targets;
} recall_batches;

static bool filler(int token) { return token == ' ' || (token >= 'a' && token <= 'z'); }

/* The fact at x[at] asked again at a later place that holds filler. */
static void ask_again(tp_rng *rng, int *x, int *y, int at, int w)
{
    int later = at + 2 + (int)tp_rng_below(rng, (uint32_t)(w - 4 - at));
    if (filler(x[later]) && filler(x[later + 1]))
        x[later] = x[at], x[later + 1] = x[at + 1], y[later] = x[at + 1];
}

static void draw_batch(recall_batches *r)
{
    int w = r->window;
    for (int b = 0; b < r->batch; b++) {
        int *x = r->inputs + b * w, *y = r->targets + b * w;
        int distance = 2 + (int)tp_rng_below(&r->rng, (uint32_t)(w - 4));
        int answer = make_recall(&r->rng, w, distance, 2, x);
        for (int i = 0; i < w; i++)
            y[i] = -1;
        y[w - 1] = answer;
        for (int i = 0; i < w - 5; i++)
            if (x[i] >= 'A' && x[i] <= 'Z' && x[i] != x[w - 1])
                ask_again(&r->rng, x, y, i, w);
    }
}

/* <<tp context: a small Mamba>> */
typedef struct mamba_block {
    tp_tensor *ln_w, *ln_b, *w_u, *w_z, *w_dbc, *b_dbc, *a_log, *skip, *w_o;
} mamba_block;

typedef struct mamba_lm {
    int width, state, layers;
    tp_arena *arena;
    tp_params params;
    tp_tensor *wte, *ln_f_w, *ln_f_b;
    mamba_block *blocks;
} mamba_lm;
/* <<tp context: a small Mamba>> */
static tp_tensor *mamba_param(mamba_lm *m, int layer, const char *name,
                              tp_shape shape)
{
    char full[64];
    snprintf(full, sizeof full, "h.%d.%s", layer, name);
    return tp_param_new(&m->params, m->arena, full, shape);
}

static void mamba_block_make(mamba_lm *m, int l)
{
    int c = m->width, n = m->state;
    mamba_block *b = &m->blocks[l];
    b->ln_w = mamba_param(m, l, "ln.weight", tp_shape1(c));
    b->ln_b = mamba_param(m, l, "ln.bias", tp_shape1(c));
    b->w_u = mamba_param(m, l, "in_u.weight", tp_shape2(c, c));
    b->w_z = mamba_param(m, l, "in_z.weight", tp_shape2(c, c));
    b->w_dbc = mamba_param(m, l, "x_proj.weight", tp_shape2(c, c + 2 * n));
    b->b_dbc = mamba_param(m, l, "x_proj.bias", tp_shape1(c + 2 * n));
    b->a_log = mamba_param(m, l, "A_log", tp_shape2(c, n));
    b->skip = mamba_param(m, l, "D", tp_shape1(c));
    b->w_o = mamba_param(m, l, "out_proj.weight", tp_shape2(c, c));
}
/* <<tp context: a small Mamba>> */
static void mamba_block_init(mamba_lm *m, mamba_block *b, tp_rng *rng)
{
    int c = m->width, n = m->state;
    float spread = 1.0f / sqrtf((float)c);
    tp_fill(b->ln_w, 1.0f), tp_fill(b->ln_b, 0.0f), tp_fill(b->skip, 1.0f);
    tp_fill_normal(b->w_u, rng, 0.0f, spread);
    tp_fill_normal(b->w_z, rng, 0.0f, spread);
    tp_fill_normal(b->w_dbc, rng, 0.0f, spread);
    tp_fill_normal(b->w_o, rng, 0.0f, spread / sqrtf(2.0f * m->layers));
    tp_fill(b->b_dbc, 0.0f);
    for (int i = 0; i < c; i++) {
        float delta = expf(logf(0.001f) + (logf(0.1f) - logf(0.001f)) * i
                                               / (float)(c > 1 ? c - 1 : 1));
        b->b_dbc->data[i] = logf(expm1f(delta));  /* softplus inverse */
        for (int j = 0; j < n; j++)
            b->a_log->data[i * n + j] = logf((float)(j + 1));
    }
}
/* <<tp context: a small Mamba>> */
static mamba_lm *mamba_new(int width, int state, int layers, tp_rng *rng)
{
    mamba_lm *m = calloc(1, sizeof *m);
    tp_check(m != NULL, "out of memory");
    *m = (mamba_lm){.width = width, .state = state, .layers = layers,
                    .arena = tp_arena_new("mamba")};
    m->blocks = calloc((size_t)layers, sizeof *m->blocks);
    tp_check(m->blocks != NULL, "out of memory");
    m->wte = tp_param_new(&m->params, m->arena, "wte.weight",
                          tp_shape2(VOCAB, width));
    for (int l = 0; l < layers; l++)
        mamba_block_make(m, l);
    m->ln_f_w = tp_param_new(&m->params, m->arena, "ln_f.weight", tp_shape1(width));
    m->ln_f_b = tp_param_new(&m->params, m->arena, "ln_f.bias", tp_shape1(width));
    tp_fill_normal(m->wte, rng, 0.0f, 0.02f);
    for (int l = 0; l < layers; l++)
        mamba_block_init(m, &m->blocks[l], rng);
    tp_fill(m->ln_f_w, 1.0f), tp_fill(m->ln_f_b, 0.0f);
    return m;
}

static void mamba_free(mamba_lm *m)
{
    tp_params_free(&m->params);
    tp_arena_free(m->arena);
    free(m->blocks);
    free(m);
}
/* <<tp context: a small Mamba>> */
static tp_tensor *mamba_block_forward(tp_graph *g, const mamba_block *b,
                                      tp_tensor *x)
{
    tp_tensor *h = tp_layernorm(g, x, b->ln_w, b->ln_b, 1e-5f);
    tp_tensor *u = tp_silu(g, tp_linear(g, h, b->w_u, NULL));
    tp_tensor *z = tp_linear(g, h, b->w_z, NULL);
    tp_tensor *y = tp_selective_scan(g, u, tp_linear(g, u, b->w_dbc, b->b_dbc),
                                     b->a_log, b->skip);
    return tp_add(g, x, tp_linear(g, tp_mul(g, y, tp_silu(g, z)), b->w_o, NULL));
}

static tp_tensor *mamba_forward(tp_graph *g, mamba_lm *m, const int *tokens,
                                int batch, int length)
{
    tp_tensor *x = tp_embedding(g, m->wte, tokens, tp_shape2(batch, length));
    for (int l = 0; l < m->layers; l++)
        x = mamba_block_forward(g, &m->blocks[l], x);
    x = tp_layernorm(g, x, m->ln_f_w, m->ln_f_b, 1e-5f);
    return tp_matmul(g, x, tp_transpose(g->arena, m->wte, 0, 1));
}
/* <<tp context: a small Mamba>> */
static const float *mamba_step(tp_graph *g, mamba_lm *m, float *states,
                               int token)
{
    tp_tensor *x = tp_embedding(g, m->wte, &token, tp_shape2(1, 1));
    int c = m->width, n = m->state;
    for (int l = 0; l < m->layers; l++) {
        const mamba_block *b = &m->blocks[l];
        tp_tensor *h = tp_layernorm(g, x, b->ln_w, b->ln_b, 1e-5f);
        tp_tensor *u = tp_silu(g, tp_linear(g, h, b->w_u, NULL));
        tp_tensor *dbc = tp_linear(g, u, b->w_dbc, b->b_dbc);
        tp_tensor *y = tp_tensor_new(g->arena, u->shape, TP_NO_GRAD);
        tp_selective_step(u->data, dbc->data, b->a_log->data, b->skip->data,
                          c, n, states + (size_t)l * c * n, y->data);
        tp_tensor *gate = tp_silu(g, tp_linear(g, h, b->w_z, NULL));
        x = tp_add(g, x, tp_linear(g, tp_mul(g, y, gate), b->w_o, NULL));
    }
    x = tp_layernorm(g, x, m->ln_f_w, m->ln_f_b, 1e-5f);
    return tp_matmul(g, x, tp_transpose(g->arena, m->wte, 0, 1))->data;
}

/* <<tp context: reading past the window>> */
typedef struct recall_trainee {
    tp_gpt *gpt;      /* one of the three */
    mamba_lm *mamba;
    tp_xl *xl;
    tp_xl_memory *memory;  /* the XL's */
    recall_batches data;
} recall_trainee;

/* <<recall training: Transformer-XL's two segments>> */
/* Segment `which` of each of the b texts of 2w tokens, in the step's arena. */
static const int *xl_segment(tp_graph *g, const int *all, int b, int w,
                             int which)
{
    int *seg = tp_arena_alloc(g->arena, (size_t)b * w * sizeof *seg);
    for (int i = 0; i < b; i++)
        memcpy(seg + i * w, all + (i * 2 + which) * w, (size_t)w * sizeof *seg);
    return seg;
}

static tp_tensor *xl_recall_loss(tp_graph *g, recall_trainee *t)
{
    int b = t->data.batch, w = t->data.window / 2;
    const int *first = xl_segment(g, t->data.inputs, b, w, 0);
    const int *second = xl_segment(g, t->data.inputs, b, w, 1);
    const int *targets = xl_segment(g, t->data.targets, b, w, 1);
    tp_xl_memory_clear(t->memory);
    bool grad = tp_set_grad(g, false);
    tp_xl_forward(g, t->xl, t->memory, first, b, w);
    tp_set_grad(g, grad);
    return tp_xl_loss(g, t->xl, t->memory, second, targets, b, w);
}

static tp_tensor *recall_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    recall_trainee *t = context;
    draw_batch(&t->data);
    int b = t->data.batch, w = t->data.window;
    if (t->xl != NULL)
        return xl_recall_loss(g, t);
    tp_tensor *logits = t->gpt != NULL
        ? tp_gpt_forward(g, t->gpt, t->data.inputs, b, w)
        : mamba_forward(g, t->mamba, t->data.inputs, b, w);
    return tp_cross_entropy(g, logits, t->data.targets, -1);
}
/* <<tp context: reading past the window>> */
static int train_recall(recall_trainee *t, const tp_params *params,
                        int steps, tp_error *error)
{
    int n = t->data.batch * t->data.window;
    t->data.inputs = malloc(2 * (size_t)n * sizeof(int));
    tp_check(t->data.inputs != NULL, "out of memory");
    t->data.targets = t->data.inputs + n;
    tp_optimizer *opt = tp_adamw_new(params, 0.95f, 0.1f);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    display show = {.terminal = isatty(2)};
    tp_train_options o = {.steps = steps, .warmup = steps / 10,
                          .max_lr = 3e-3f, .min_lr = 3e-4f, .clip = 1.0,
                          .tokens_per_step = n, .progress = show_progress,
                          .progress_context = &show};
    int status = tp_train(&g, params, opt, &o, recall_loss, t, NULL, error);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    free(t->data.inputs);
    return status;
}
/* <<tp context: reading past the window>> */
typedef struct reader {
    tp_gpt *gpt;
    mamba_lm *mamba;
    tp_xl *xl;
    tp_xl_memory *xl_memory;  /* the memory it trained with */
    int window, chunk, k, memory_k, memory_layer;
    long memory;           /* the kNN memory's capacity */
    int hits, retrievals;  /* recall: the fact retrieved, of the times needed */
} reader;

static int answer_window(reader *r, const int *tokens, int n, tp_arena *a)
{
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    int w = n < r->window ? n : r->window;
    tp_tensor *logits = tp_gpt_forward(&g, r->gpt, tokens + n - w, 1, w);
    return best_digit(logits->data + (size_t)(w - 1) * VOCAB);
}
/* <<tp context: reading past the window>> */
static void hidden_mean(tp_gpt *m, const int *tokens, int n, tp_arena *a,
                        float *out)
{
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    int *positions = tp_arena_alloc(a, (size_t)n * sizeof *positions);
    for (int i = 0; i < n; i++)
        positions[i] = i;
    tp_tensor *x = tp_add(&g, tp_embedding(&g, m->wte, tokens, tp_shape2(1, n)),
                          tp_embedding(&g, m->wpe, positions, tp_shape1(n)));
    tp_block_options o = {.heads = m->config.n_head, .self.causal = true};
    for (int l = 0; l < m->config.n_layer; l++)
        x = tp_block_forward(&g, &m->blocks[l], x, NULL, &o);
    x = tp_block_norm(&g, x, m->ln_f_w, m->ln_f_b);
    int c = m->config.n_embd;
    for (int j = 0; j < c; j++) {
        out[j] = 0.0f;
        for (int i = 0; i < n; i++)
            out[j] += x->data[(size_t)i * c + j] / (float)n;
    }
}
/* <<tp context: reading past the window>> */
/* Scores every chunk of past[0, n) against the question. */
static int score_chunks(reader *r, bool hidden, const int *past, int n,
                        const int *question, int asked, float *scores,
                        tp_arena *a)
{
    tp_tfidf *index = tp_tfidf_new(past, n, r->chunk, VOCAB);
    int chunks = index->chunks, width = hidden ? r->gpt->config.n_embd : VOCAB;
    float *q = tp_arena_alloc(a, (size_t)width * sizeof *q);
    float *v = tp_arena_alloc(a, (size_t)width * sizeof *v);
    if (hidden)
        hidden_mean(r->gpt, question, asked, a, q);
    else
        tp_tfidf_embed(index, question, asked, q);
    for (int c = 0; c < chunks; c++) {
        int start = c * r->chunk;
        int length = n - start < r->chunk ? n - start : r->chunk;
        if (hidden)
            hidden_mean(r->gpt, past + start, length, a, v);
        scores[c] = tp_cosine(q, hidden ? v : index->vectors
                                  + (size_t)c * VOCAB, width);
    }
    tp_tfidf_free(index);
    return chunks;
}
/* <<tp context: reading past the window>> */
static int by_position(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static int answer_retrieved(reader *r, bool hidden, const int *tokens, int n,
                            int fact, tp_arena *a)
{
    int local = r->window - r->k * r->chunk, past = n - local;
    float *scores = tp_arena_alloc(a, (size_t)(past / r->chunk + 1) * sizeof(float));
    int chunks = score_chunks(r, hidden, tokens, past, tokens + n - 1, 1,
                              scores, a);
    tp_check(r->k <= chunks, "%d chunks retrieved of %d", r->k, chunks);
    int best[64], *prompt = tp_arena_alloc(a, (size_t)r->window * sizeof(int));
    tp_top_k(scores, chunks, r->k, best);
    qsort(best, (size_t)r->k, sizeof *best, by_position);
    int length = 0;
    bool found = false;
    for (int i = 0; i < r->k; i++) {
        int start = best[i] * r->chunk, end = start + r->chunk;
        end = end < past ? end : past;
        found = found || (fact - 1 >= start && fact < end);
        for (int t = start; t < end; t++)
            prompt[length++] = tokens[t];
    }
    /* <<retrieval: count the recall and answer>> */
    if (fact - 1 < past)
        r->retrievals++, r->hits += found;
    memcpy(prompt + length, tokens + past, (size_t)local * sizeof(int));
    length += local;
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    tp_tensor *logits = tp_gpt_forward(&g, r->gpt, prompt, 1, length);
    return best_digit(logits->data + (size_t)(length - 1) * VOCAB);
}
/* <<tp context: reading past the window>> */
typedef struct knn_reader {
    tp_knn_memory **heads;  /* [layers * H]: each layer's, each head's */
    int layer, k, *chosen;  /* layer: the one with a memory; -1: all */
} knn_reader;

static tp_tensor *knn_attend(void *store, tp_graph *g, int layer, int at,
                             tp_tensor *q, tp_tensor *k, tp_tensor *v)
{
    (void)at;
    knn_reader *s = store;
    if (s->layer >= 0 && layer != s->layer)
        return tp_attention(g, q, k, v, &(tp_attention_options){.causal = true});
    q = tp_contiguous(g, q), k = tp_contiguous(g, k), v = tp_contiguous(g, v);
    int heads = q->shape.dim[1], n = q->shape.dim[2], d = q->shape.dim[3];
    tp_tensor *o = tp_tensor_new(g->arena, q->shape, TP_NO_GRAD);
    for (int h = 0; h < heads; h++) {
        tp_knn_memory *memory = s->heads[layer * heads + h];
        int best = s->k < memory->stored ? s->k : (int)memory->stored;
        size_t head = (size_t)h * n * d;
        for (int i = 0; i < n; i++)
            tp_knn_attention(q->data + head + (size_t)i * d, k->data + head,
                             v->data + head, i + 1, memory, best,
                             o->data + head + (size_t)i * d, s->chosen);
        for (int i = 0; i < n; i++)
            tp_knn_memory_add(memory, k->data + head + (size_t)i * d,
                              v->data + head + (size_t)i * d);
    }
    return o;
}
/* <<tp context: reading past the window>> */
static int answer_knn(reader *r, const int *tokens, int n, tp_arena *a)
{
    const tp_gpt_config *c = &r->gpt->config;
    int memories = c->n_layer * c->n_head;
    knn_reader s = {NULL, r->memory_layer, r->memory_k, NULL};
    s.heads = tp_arena_alloc(a, (size_t)memories * sizeof *s.heads);
    s.chosen = tp_arena_alloc(a, (size_t)r->memory_k * sizeof *s.chosen);
    for (int h = 0; h < memories; h++)
        s.heads[h] = tp_knn_memory_new(c->n_embd / c->n_head, r->memory);
    const float *logits = NULL;
    int first = n % r->window != 0 ? n % r->window : r->window, length = 0;
    for (int start = 0; start < n; start += length) {
        length = start == 0 ? first : r->window;
        logits = tp_gpt_extend_with(r->gpt, knn_attend, &s, 0, tokens + start,
                                    length, a);
    }
    int answer = best_digit(logits + (size_t)(length - 1) * VOCAB);
    for (int h = 0; h < memories; h++)
        tp_knn_memory_free(s.heads[h]);
    return answer;
}
/* <<tp context: reading past the window>> */
static int answer_xl(reader *r, const int *tokens, int n, tp_arena *a)
{
    tp_xl_memory *memory = tp_xl_memory_new(r->xl, 1, r->window);
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    tp_tensor *logits = NULL;
    int first = n % r->window != 0 ? n % r->window : r->window, length = 0;
    for (int start = 0; start < n; start += length) {
        length = start == 0 ? first : r->window;
        logits = tp_xl_forward(&g, r->xl, memory, tokens + start, 1, length);
    }
    tp_xl_memory_free(memory);
    return best_digit(logits->data + (size_t)(length - 1) * VOCAB);
}
/* <<tp context: reading past the window>> */
static int answer_mamba(reader *r, const int *tokens, int n, tp_arena *a)
{
    tp_graph g = tp_graph_on(a);
    tp_set_grad(&g, false);
    tp_tensor *logits = mamba_forward(&g, r->mamba, tokens, 1, n);
    return best_digit(logits->data + (size_t)(n - 1) * VOCAB);
}

/* <<tp context: commands>> */
static int cmp_steps = 1000, cmp_mamba_steps = -1, cmp_xl_steps = -1, cmp_window = 64,
           cmp_width = 64, cmp_layers = 2, cmp_heads = 4, cmp_state = 16,
           cmp_batch = 16, cmp_chunk = 16, cmp_k = 2, cmp_memory = 4096,
           cmp_memory_k = 8, cmp_memory_layer = -1, cmp_trials = 100,
           cmp_longest = 512;
static const char *cmp_tsv = NULL;

static const option context_compare_options[] = {
    {"--steps", OPTION_INT, &cmp_steps, 1, 1000000, "GPT's training steps"},
    {"--mamba-steps", OPTION_INT, &cmp_mamba_steps, 0, 1000000,
     "the Mamba model's (default: --steps; 0: no Mamba)"},
    {"--xl-steps", OPTION_INT, &cmp_xl_steps, 0, 1000000,
     "Transformer-XL's (default: --steps; 0: no XL)"},
    {"--window", OPTION_INT, &cmp_window, 16, 4096, "GPT's window W"},
    {"--width", OPTION_INT, &cmp_width, 4, 4096, "the models' width"},
    {"--layers", OPTION_INT, &cmp_layers, 1, 64, "blocks"},
    {"--heads", OPTION_INT, &cmp_heads, 1, 64, "GPT's attention heads"},
    {"--state", OPTION_INT, &cmp_state, 1, 256, "Mamba's states N"},
    {"--batch", OPTION_INT, &cmp_batch, 1, 4096, "texts per step"},
    {"--chunk", OPTION_INT, &cmp_chunk, 1, 4096, "retrieval's chunk c"},
    {"--k", OPTION_INT, &cmp_k, 1, 64, "chunks retrieved"},
    {"--memory", OPTION_INT, &cmp_memory, 1, 1 << 20,
     "pairs the kNN memory holds per head"},
    {"--memory-k", OPTION_INT, &cmp_memory_k, 1, 1024,
     "keys the kNN memory retrieves per query"},
    {"--memory-layer", OPTION_INT, &cmp_memory_layer, -1, 63,
     "the layer with a kNN memory (-1: every layer)"},
    {"--trials", OPTION_INT, &cmp_trials, 1, 100000, "texts per distance"},
    {"--longest", OPTION_INT, &cmp_longest, 8, 1 << 16,
     "the longest distance"},
    {"--tsv", OPTION_STRING, &cmp_tsv, 0, 0, "also write the table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp context: commands>> */
static int check_compare(void)
{
    if (cmp_tsv != NULL && check_output("context compare", cmp_tsv))
        return 1;
    if (cmp_k * cmp_chunk >= cmp_window) {
        fprintf(stderr, "tp context compare: --k %d chunks of %d leave no "
                "room for the question in a window of %d\n", cmp_k,
                cmp_chunk, cmp_window);
        return 1;
    }
    if (cmp_memory_layer >= cmp_layers) {
        fprintf(stderr, "tp context compare: --memory-layer %d, but the model "
                "has %d layers\n", cmp_memory_layer, cmp_layers);
        return 1;
    }
    if (cmp_width % cmp_heads != 0) {
        fprintf(stderr, "tp context compare: --heads %d must divide --width "
                "%d\n", cmp_heads, cmp_width);
        return 1;
    }
    if (cmp_mamba_steps < 0)
        cmp_mamba_steps = cmp_steps;
    if (cmp_xl_steps < 0)
        cmp_xl_steps = cmp_steps;
    return 0;
}
/* <<tp context: commands>> */
enum { GPT, XL, RAG_TFIDF, RAG_HIDDEN, KNN, MAMBA, READERS };
static const char *const reader_names[READERS] = {
    "gpt", "xl", "rag-tfidf", "rag-hidden", "knn-memory", "mamba"};

static int read_one(reader *r, int which, const int *tokens, int n, int fact,
                    tp_arena *a)
{
    switch (which) {
    case GPT: return answer_window(r, tokens, n, a);
    case XL: return answer_xl(r, tokens, n, a);
    case RAG_TFIDF: return answer_retrieved(r, false, tokens, n, fact, a);
    case RAG_HIDDEN: return answer_retrieved(r, true, tokens, n, fact, a);
    case KNN: return answer_knn(r, tokens, n, a);
    default: return answer_mamba(r, tokens, n, a);
    }
}

static bool trained(const reader *r, int which)
{
    return (which != XL || r->xl != NULL) && (which != MAMBA || r->mamba != NULL);
}
/* <<tp context: commands>> */
static void measure_distance(reader *r, int distance, double accuracy[READERS],
                             double recall[2])
{
    int n = distance + FACT + 8 > 2 * r->window ? distance + FACT + 8
                                                : 2 * r->window;
    int *tokens = malloc((size_t)n * sizeof *tokens), right[READERS] = {0};
    int hits[2] = {0}, needed[2] = {0};
    tp_check(tokens != NULL, "out of memory");
    tp_arena *a = tp_arena_new("reading");
    tp_rng rng = tp_rng_seeded(315, (uint64_t)distance);
    for (int t = 0; t < cmp_trials; t++) {
        int answer = make_recall(&rng, n, distance, 2, tokens);
        for (int i = 0; i < READERS; i++) {
            if (!trained(r, i))
                continue;
            r->hits = r->retrievals = 0;
            right[i] += read_one(r, i, tokens, n, n - 1 - distance, a) == answer;
            if (i == RAG_TFIDF || i == RAG_HIDDEN)
                hits[i - RAG_TFIDF] += r->hits,
                    needed[i - RAG_TFIDF] += r->retrievals;
            tp_arena_reset(a);
        }
    }
    for (int i = 0; i < READERS; i++)
        accuracy[i] = trained(r, i) ? (double)right[i] / cmp_trials : NAN;
    for (int i = 0; i < 2; i++)
        recall[i] = needed[i] > 0 ? (double)hits[i] / needed[i] : NAN;
    tp_arena_free(a);
    free(tokens);
}
/* <<tp context: commands>> */
static const int distances[] = {8, 16, 32, 48, 60, 72, 96, 128, 256, 512,
                                1024, 2048, 4096, 8192, 16384, 32768, 65536};

static void print_distance(FILE *tsv, int distance, const double a[READERS],
                           const double recall[2])
{
    printf("%8d", distance);
    for (int i = 0; i < READERS; i++)
        printf(" %10.2f", a[i]);
    printf(" %9.2f %9.2f\n", recall[0], recall[1]);
    fflush(stdout);
    for (int i = 0; tsv != NULL && i < READERS; i++)
        fprintf(tsv, "%s\t%d\t%.4f\n", reader_names[i], distance, a[i]);
    if (tsv != NULL)
        fprintf(tsv, "recall-tfidf\t%d\t%.4f\nrecall-hidden\t%d\t%.4f\n",
                distance, recall[0], distance, recall[1]);
}
/* <<tp context: commands>> */
static FILE *open_compare_table(void)
{
    if (cmp_tsv == NULL)
        return NULL;
    FILE *tsv = fopen(cmp_tsv, "w");
    tp_check(tsv != NULL, "cannot write %s", cmp_tsv);
    tp_describe_machine(tsv);
    fprintf(tsv, "# written by: tp context compare --steps %d --xl-steps %d "
            "--mamba-steps %d --window %d --width %d --layers %d --heads %d "
            "--state %d --batch %d --chunk %d --k %d --memory %d --memory-k "
            "%d --memory-layer %d --trials %d --longest %d\n"
            "method\tdistance\taccuracy\n", cmp_steps, cmp_xl_steps,
            cmp_mamba_steps, cmp_window, cmp_width, cmp_layers, cmp_heads,
            cmp_state, cmp_batch, cmp_chunk, cmp_k, cmp_memory, cmp_memory_k,
            cmp_memory_layer, cmp_trials, cmp_longest);
    return tsv;
}
/* <<tp context: commands>> */
static recall_batches recall_data(int length)
{
    return (recall_batches){.batch = cmp_batch, .window = length,
                            .rng = tp_rng_seeded(315, 8)};
}

static int train_readers(reader *r, tp_error *error)
{
    r->gpt = tp_gpt_new((tp_gpt_config){VOCAB, cmp_window, cmp_layers,
                                        cmp_heads, cmp_width,
                                        TP_POSITIONS_LEARNED});
    tp_rng init = tp_rng_seeded(315, 7);
    tp_gpt_init(r->gpt, &init);
    recall_trainee t = {.gpt = r->gpt, .data = recall_data(cmp_window)};
    fprintf(stderr, "GPT, window %d:\n", cmp_window);
    if (train_recall(&t, &r->gpt->params, cmp_steps, error) != 0)
        return 1;
    /* <<context compare: train Transformer-XL>> */
    if (cmp_xl_steps > 0) {
        r->xl = tp_xl_new((tp_gpt_config){VOCAB, cmp_window, cmp_layers,
                                          cmp_heads, cmp_width,
                                          TP_POSITIONS_NONE});
        tp_xl_init(r->xl, &init);
        r->xl_memory = tp_xl_memory_new(r->xl, cmp_batch, cmp_window);
        t = (recall_trainee){.xl = r->xl, .memory = r->xl_memory,
                             .data = recall_data(2 * cmp_window)};
        fprintf(stderr, "Transformer-XL, segments of %d:\n", cmp_window);
        if (train_recall(&t, &r->xl->gpt->params, cmp_xl_steps, error) != 0)
            return 1;
    }
    if (cmp_mamba_steps == 0)
        return 0;
    r->mamba = mamba_new(cmp_width, cmp_state, cmp_layers, &init);
    t = (recall_trainee){.mamba = r->mamba, .data = recall_data(cmp_window)};
    fprintf(stderr, "Mamba, trained on texts of %d:\n", cmp_window);
    return train_recall(&t, &r->mamba->params, cmp_mamba_steps, error);
}
/* <<tp context: commands>> */
static int context_compare(void)
{
    if (check_compare() != 0)
        return 1;
    reader r = {.window = cmp_window, .chunk = cmp_chunk, .k = cmp_k,
                .memory_k = cmp_memory_k, .memory = cmp_memory,
                .memory_layer = cmp_memory_layer};
    tp_error error;
    int status = 0;
    if (train_readers(&r, &error) != 0) {
        fprintf(stderr, "tp context compare: %s\n", error.message);
        status = exit_status(1);
    }
    FILE *tsv = status == 0 ? open_compare_table() : NULL;
    if (status == 0)
        printf("distance %10s %10s %10s %10s %10s %10s %9s %9s\n", "gpt", "xl",
               "rag-tfidf", "rag-hidden", "knn-memory", "mamba", "recall-tf",
               "recall-hid");
    for (size_t i = 0; status == 0 && i < sizeof distances / sizeof *distances
                       && distances[i] <= cmp_longest; i++) {
        double accuracy[READERS], recall[2];
        measure_distance(&r, distances[i], accuracy, recall);
        print_distance(tsv, distances[i], accuracy, recall);
    }
    if (tsv != NULL && fclose(tsv) != 0)
        status = 1;
    if (r.gpt != NULL)
        tp_gpt_free(r.gpt);
    if (r.mamba != NULL)
        mamba_free(r.mamba);
    if (r.xl != NULL)
        tp_xl_memory_free(r.xl_memory), tp_xl_free(r.xl);
    return status;
}
/* <<tp context: commands>> */
static int dec_width = 256, dec_layers = 4, dec_heads = 4, dec_state = 16,
           dec_longest = 8192, dec_tokens = 32, dec_threads = 0;
static const char *dec_tsv = NULL;

static const option context_decode_options[] = {
    {"--width", OPTION_INT, &dec_width, 4, 4096, "the models' width"},
    {"--layers", OPTION_INT, &dec_layers, 1, 64, "blocks"},
    {"--heads", OPTION_INT, &dec_heads, 1, 64, "GPT's heads"},
    {"--state", OPTION_INT, &dec_state, 1, 256, "Mamba's states N"},
    {"--longest", OPTION_INT, &dec_longest, 256, 1 << 17,
     "the longest context"},
    {"--tokens", OPTION_INT, &dec_tokens, 1, 4096, "tokens timed per context"},
    {"--threads", OPTION_INT, &dec_threads, 1, 1024,
     "the most threads (default: all cores); 1 is measured too"},
    {"--tsv", OPTION_STRING, &dec_tsv, 0, 0, "also write the table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp context: commands>> */
static double gpt_token_seconds(tp_gpt *m, tp_gpt_cache *cache, int context,
                                tp_arena *scratch)
{
    double *t = malloc((size_t)dec_tokens * sizeof *t);
    tp_check(t != NULL, "out of memory");
    cache->length = context;
    for (int i = 0; i < dec_tokens; i++) {
        double start = tp_seconds();
        tp_gpt_step(m, cache, 'a' + i % 26, scratch);
        t[i] = tp_seconds() - start;
        tp_arena_reset(scratch);
    }
    double median = tp_median(t, dec_tokens);
    free(t);
    return median;
}

static double mamba_token_seconds(mamba_lm *m, float *states,
                                  tp_arena *scratch)
{
    double *t = malloc((size_t)dec_tokens * sizeof *t);
    tp_check(t != NULL, "out of memory");
    for (int i = 0; i < dec_tokens; i++) {
        tp_graph g = tp_graph_on(scratch);
        tp_set_grad(&g, false);
        double start = tp_seconds();
        mamba_step(&g, m, states, 'a' + i % 26);
        t[i] = tp_seconds() - start;
        tp_arena_reset(scratch);
    }
    double median = tp_median(t, dec_tokens);
    free(t);
    return median;
}
/* <<tp context: commands>> */
static void decode_at(tp_gpt *g, tp_gpt_cache *cache, mamba_lm *m,
                      float *states, int threads, FILE *tsv)
{
    tp_set_threads(threads);
    tp_arena *scratch = tp_arena_new("decode");
    double first[2] = {0, 0};
    for (int c = 256; c <= dec_longest; c *= 2) {
        double s[2] = {gpt_token_seconds(g, cache, c, scratch),
                       mamba_token_seconds(m, states, scratch)};
        if (c == 256)
            first[0] = s[0], first[1] = s[1];
        double kv = 2.0 * dec_layers * c * dec_width * sizeof(float);
        double state = (double)dec_layers * dec_width * dec_state * sizeof(float);
        printf("%7d %3d %10.3f %6.2f %10.3f %6.2f %10.2f %10.3f\n", c, threads,
               1e3 * s[0], s[0] / first[0], 1e3 * s[1], s[1] / first[1],
               kv / 1048576.0, state / 1048576.0);
        fflush(stdout);
        if (tsv != NULL)
            fprintf(tsv, "%d\t%d\t%.6f\t%.6f\t%.0f\t%.0f\n", c, threads, 1e3 * s[0],
                    1e3 * s[1], kv, state);
    }
    tp_arena_free(scratch);
}
/* <<tp context: commands>> */
static int context_decode(void)
{
    if (dec_tsv != NULL && check_output("context decode", dec_tsv))
        return 1;
    if (dec_width % dec_heads != 0) {
        fprintf(stderr, "tp context decode: --heads %d must divide --width "
                "%d\n", dec_heads, dec_width);
        return 1;
    }
    int all = dec_threads > 0 ? dec_threads : tp_threads();
    tp_rng rng = tp_rng_seeded(315, 9);
    tp_gpt *g = tp_gpt_new((tp_gpt_config){VOCAB, dec_longest + dec_tokens,
                                           dec_layers, dec_heads, dec_width,
                                           TP_POSITIONS_LEARNED});
    tp_gpt_init(g, &rng);
    tp_gpt_cache *cache = tp_gpt_cache_new(g, dec_longest + dec_tokens);
    for (int l = 0; l < dec_layers; l++)
        tp_fill_normal(cache->k[l], &rng, 0.0f, 1.0f),
            tp_fill_normal(cache->v[l], &rng, 0.0f, 1.0f);
    mamba_lm *m = mamba_new(dec_width, dec_state, dec_layers, &rng);
    size_t state = (size_t)dec_layers * dec_width * dec_state;
    float *states = malloc(state * sizeof *states);
    tp_check(states != NULL, "out of memory");
    for (size_t i = 0; i < state; i++)
        states[i] = tp_rng_normal(&rng);
    /* <<context decode: measure at every context and thread count>> */
    FILE *tsv = dec_tsv != NULL ? fopen(dec_tsv, "w") : NULL;
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp context decode --width %d --layers %d "
                "--heads %d --state %d --longest %d --tokens %d\ncontext\tthreads"
                "\tgpt_ms\tmamba_ms\tkv_bytes\tstate_bytes\n", dec_width,
                dec_layers, dec_heads, dec_state, dec_longest, dec_tokens);
    }
    printf("context thr     gpt ms  ratio   mamba ms  ratio  cache MiB  state MiB\n");
    decode_at(g, cache, m, states, 1, tsv);
    if (all > 1)
        decode_at(g, cache, m, states, all, tsv);
    if (tsv != NULL)
        fclose(tsv);
    free(states);
    mamba_free(m);
    tp_gpt_cache_free(cache);
    tp_gpt_free(g);
    return 0;
}
/* <<tp context: commands>> */
static int knn_width = 64, knn_k = 32, knn_largest = 262144, knn_queries = 32;
static const char *knn_tsv = NULL;

static const option context_knn_options[] = {
    {"--width", OPTION_INT, &knn_width, 1, 4096, "a head's width d"},
    {"--k", OPTION_INT, &knn_k, 1, 1024, "keys retrieved per query"},
    {"--largest", OPTION_INT, &knn_largest, 1024, 1 << 24,
     "the largest memory, in pairs"},
    {"--queries", OPTION_INT, &knn_queries, 1, 100000, "queries timed"},
    {"--tsv", OPTION_STRING, &knn_tsv, 0, 0, "also write the table"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp context: commands>> */
static double knn_query_seconds(const tp_knn_memory *m, tp_rng *rng)
{
    float *q = malloc((size_t)m->d * 2 * sizeof *q), *out = q + m->d;
    int *chosen = malloc((size_t)knn_k * sizeof *chosen);
    double *t = malloc((size_t)knn_queries * sizeof *t);
    tp_check(q != NULL && chosen != NULL && t != NULL, "out of memory");
    for (int i = 0; i < knn_queries; i++) {
        for (int j = 0; j < m->d; j++)
            q[j] = tp_rng_normal(rng);
        double start = tp_seconds();
        tp_knn_attention(q, q, q, 1, m, knn_k, out, chosen);
        t[i] = tp_seconds() - start;
    }
    double median = tp_median(t, knn_queries);
    free(q), free(chosen), free(t);
    return median;
}
/* <<tp context: commands>> */
static int context_knn(void)
{
    if (knn_tsv != NULL && check_output("context knn", knn_tsv))
        return 1;
    if (knn_k > 1024 || knn_k > knn_largest / 4) {
        fprintf(stderr, "tp context knn: --k %d is more than the smallest "
                "memory measured holds\n", knn_k);
        return 1;
    }
    tp_rng rng = tp_rng_seeded(315, 10);
    FILE *tsv = knn_tsv != NULL ? fopen(knn_tsv, "w") : NULL;
    if (tsv != NULL) {
        tp_describe_machine(tsv);
        fprintf(tsv, "# written by: tp context knn --width %d --k %d --largest "
                "%d --queries %d\npairs\tus_per_query\tbytes\n", knn_width,
                knn_k, knn_largest, knn_queries);
    }
    printf("   pairs  us/query    MiB\n");
    for (long pairs = 1024; pairs <= knn_largest; pairs *= 4) {
        /* <<context knn: one memory size>> */
        tp_knn_memory *m = tp_knn_memory_new(knn_width, pairs);
        float *pair = malloc((size_t)knn_width * sizeof *pair);
        tp_check(pair != NULL, "out of memory");
        for (long p = 0; p < pairs; p++) {
            for (int j = 0; j < knn_width; j++)
                pair[j] = tp_rng_normal(&rng);
            tp_knn_memory_add(m, pair, pair);
        }
        double s = knn_query_seconds(m, &rng), bytes = 2.0 * pairs * knn_width * 4;
        printf("%8ld %9.1f %6.1f\n", pairs, 1e6 * s, bytes / 1048576.0);
        fflush(stdout);
        if (tsv != NULL)
            fprintf(tsv, "%ld\t%.3f\t%.0f\n", pairs, 1e6 * s, bytes);
        free(pair);
        tp_knn_memory_free(m);
    }
    if (tsv != NULL)
        fclose(tsv);
    return 0;
}
/* <<tp context: commands>> */
static int ret_chunk = 256, ret_k = 3;
static const char *ret_text = NULL, *ret_query = "attention";

static const option context_retrieve_options[] = {
    {"--text", OPTION_STRING, &ret_text, 0, 0, "the text (default: the book)"},
    {"--query", OPTION_STRING, &ret_query, 0, 0, "what to look for"},
    {"--chunk", OPTION_INT, &ret_chunk, 1, 1 << 20, "tokens per chunk"},
    {"--k", OPTION_INT, &ret_k, 1, 1 << 20, "chunks to show"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp context: commands>> */
static void show_chunk(const tp_corpus *text, int c, float score)
{
    printf("%3d  %.3f  ", c, score);
    long start = (long)c * ret_chunk;
    for (long i = start; i < start + 60 && i < start + ret_chunk
                         && i < text->size; i++)
        putchar(text->bytes[i] < 32 ? ' ' : text->bytes[i]);
    printf("\n");
}
/* <<tp context: commands>> */
static int context_retrieve(void)
{
    tp_corpus text;
    tp_error error;
    if (ret_text == NULL)
        text = tp_corpus_book();
    else if (tp_corpus_load(ret_text, &text, &error) != 0) {
        fprintf(stderr, "tp context retrieve: %s\n", error.message);
        return 1;
    }
    long chunks = (text.size + ret_chunk - 1) / ret_chunk;
    int n = (int)strlen(ret_query), status = 0;
    if (n == 0 || text.size == 0) {
        fprintf(stderr, "tp context retrieve: the %s is empty\n",
                n == 0 ? "query" : "text");
        status = 1;
    } else if (ret_k > chunks) {
        fprintf(stderr, "tp context retrieve: --k %d is more than the %ld "
                "chunks of %d tokens in the text\n", ret_k, chunks, ret_chunk);
        status = 1;
    }
    /* <<context retrieve: rank the chunks and show the best>> */
    if (status == 0) {
        int *tokens = malloc((size_t)(text.size + n) * sizeof *tokens);
        float *q = malloc(VOCAB * sizeof *q), *scores = malloc((size_t)chunks * sizeof *scores);
        int *best = malloc((size_t)ret_k * sizeof *best);
        tp_check(tokens && q && scores && best, "out of memory");
        for (long i = 0; i < text.size; i++)
            tokens[i] = text.bytes[i];
        for (int i = 0; i < n; i++)
            tokens[text.size + i] = (unsigned char)ret_query[i];
        tp_tfidf *index = tp_tfidf_new(tokens, text.size, ret_chunk, VOCAB);
        tp_tfidf_embed(index, tokens + text.size, n, q);
        for (long c = 0; c < chunks; c++)
            scores[c] = tp_cosine(q, index->vectors + c * VOCAB, VOCAB);
        tp_top_k(scores, (int)chunks, ret_k, best);
        for (int i = 0; i < ret_k; i++)
            show_chunk(&text, best[i], scores[best[i]]);
        tp_tfidf_free(index);
        free(tokens), free(q), free(scores), free(best);
    }
    tp_corpus_free(&text);
    return status;
}

/* <<tp context: figures>> */
static int reader_curve(const table *t, const char *label, double *x,
                        double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 24; r++)
        if (strcmp(t->label[r], label) == 0 && !isnan(t->value[r][1]))
            x[n] = t->value[r][0], y[n++] = t->value[r][1];
    return n;
}

static int table_window(const table *t)
{
    const char *w = strstr(t->comments, "--window ");
    return w != NULL ? atoi(w + 9) : 64;
}
/* <<tp context: figures>> */
static void recall_plot(tp_plot *p, const table *t, bool legend)
{
    tp_plot_frame(p);
    double wx[2] = {table_window(t), table_window(t)}, wy[2] = {0.0, 1.0};
    double cx[2] = {p->ax.lo, p->ax.hi}, cy[2] = {0.1, 0.1};
    tp_plot_line(p, wx, wy, 2, tp_rgb(0x999999), true, false);
    tp_plot_line(p, cx, cy, 2, tp_rgb(0x999999), true, false);
    tp_legend_entry entries[READERS];
    int shown = 0;
    for (int i = 0; i < READERS; i++) {
        double x[24], y[24];
        int n = reader_curve(t, reader_names[i], x, y);
        if (n == 0)
            continue;
        tp_plot_line(p, x, y, n, tp_category(i), false, true);
        entries[shown++] = (tp_legend_entry){reader_names[i], tp_category(i),
                                             false};
    }
    if (legend)
        tp_plot_legend(p, entries, shown, TP_TOP_RIGHT);
}
/* <<tp context: figures>> */
static int draw_context_recall(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/context-recall.tsv", t, error);
    if (status == 0) {
        tp_plot p = {d, 46, 12, 380, 200,
                     {.lo = 6, .hi = 700, .log = true,
                      .label = "distance from the fact to the question (tokens)"},
                     {.lo = 0.0, .hi = 1.4, .label = "share answered right"}};
        recall_plot(&p, t, true);
    }
    free(t);
    return status;
}
/* <<tp context: figures>> */
static void decode_curves(tp_plot *p, const table *t)
{
    double x[24], g[24], m[24];
    int n = 0;
    for (int r = 0; r < t->rows && n < 24; r++)
        if (t->value[r][0] == 1)  /* one thread */
            x[n] = atof(t->label[r]), g[n] = t->value[r][1],
            m[n++] = t->value[r][2];
    tp_plot_frame(p);
    tp_plot_line(p, x, g, n, tp_category(GPT), false, true);
    tp_plot_line(p, x, m, n, tp_category(MAMBA), false, true);
}

static int draw_context_decode(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/context-decode.tsv", t, error);
    if (status == 0) {
        tp_plot p = {d, 46, 12, 380, 200,
                     {.lo = 200, .hi = 10000, .log = true,
                      .label = "tokens before the one generated"},
                     {.lo = 0.1, .hi = 100, .log = true,
                      .label = "ms per generated token (one thread)"}};
        decode_curves(&p, t);
        tp_legend_entry e[2] = {{"GPT, KV cache", tp_category(GPT), false},
                                {"Mamba, fixed state", tp_category(MAMBA),
                                 false}};
        tp_plot_legend(&p, e, 2, TP_TOP_LEFT);
    }
    free(t);
    return status;
}
/* <<tp context: figures>> */
static double value_at(const table *t, const char *label, double at)
{
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], label) == 0 && t->value[r][0] == at)
            return t->value[r][1];
    return NAN;
}

static void card_numbers(tp_draw *d, const table *t, double x, double y)
{
    double far = 0;
    for (int r = 0; r < t->rows; r++)
        far = fmax(far, t->value[r][0]);
    char line[128];
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    snprintf(line, sizeof line, "<b>right answers, fact 16 and %.0f tokens "
             "back</b>", far);
    tp_text(d, x, y, 0.0, 0.0, 7, line);
    for (int i = 0; i < READERS; i++) {
        double lx = x + 116 * (i / 3), ly = y + 12 + 11 * (i % 3);
        snprintf(line, sizeof line, "%s  %.2f  %.2f", reader_names[i],
                 value_at(t, reader_names[i], 16), value_at(t, reader_names[i], far));
        tp_set_color(d->cr, tp_category(i));
        cairo_rectangle(d->cr, lx, ly + 3, 8, 3);
        cairo_fill(d->cr);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, lx + 11, ly, 0.0, 0.0, 7, line);
    }
}
/* <<tp context: figures>> */
static int draw_card_context(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/context-recall.tsv", t, error);
    if (status == 0) {
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>3. Fixed context</b>",
                "A fact stated before the window is, for the model, never "
                "said", "Data: tp context compare (make measure-context)",
                &problem, &solutions);
        double px = problem.x, py = problem.y;
        tp_plot p = {d, px + 44, py + 30, 186, 100,
                     {.lo = 6, .hi = 700, .log = true, .label = "distance"},
                     {.lo = 0.0, .hi = 1.05, .label = "right"}};
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 132, py + 20, 0.5, 0.0, 7, "right answers against distance; "
                "window and chance dashed");
        recall_plot(&p, t, false);
        card_numbers(d, t, px + 12, py + 168);
        /* <<context card: the solutions>> */
        static const char *const solution[][3] = {
            {"Transformer-XL", "the previous segment's states, cached",
             "Transformer-XL chapter"},
            {"Retrieval (RAG)", "the chunks most like the question, prepended",
             "this chapter"},
            {"kNN memory", "attention also over the best past keys", "this chapter"},
            {"Mamba", "a selective scan: a state of fixed size", "this chapter"},
        };
        card_solutions(d, &solutions, solution, 4);
    }
    free(t);
    return status;
}

static const command context_commands[] = {
    /* <<tp context: command table>> */
    {"context compare", "train GPT and Mamba on recalling a fact; read past the "
     "window with retrieval and a kNN memory", context_compare_options,
     context_compare, NULL},
    /* <<tp context: command table>> */
    {"context decode", "time per generated token against the context: GPT's KV "
     "cache against Mamba's state", context_decode_options, context_decode, NULL},
    /* <<tp context: command table>> */
    {"context knn", "time one query of an exact kNN memory against its size",
     context_knn_options, context_knn, NULL},
    /* <<tp context: command table>> */
    {"context retrieve", "the chunks of a text most like a query, by TF-IDF",
     context_retrieve_options, context_retrieve, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure context_figures[] = {
    /* <<tp context: figure table>> */
    {"context-recall", "share of facts recalled against their distance, for "
     "each reader", 440, 250, draw_context_recall},
    {"context-decode", "time per generated token against the context: GPT "
     "and Mamba", 440, 250, draw_context_decode},
    /* <<tp context: figure table>> */
    {"card-context", "the card of fixed context", 440, 320, draw_card_context},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part context_part = {context_commands, context_figures};
