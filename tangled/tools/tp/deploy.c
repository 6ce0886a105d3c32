/* Generated from book/390-deployment.nw; edit the book, not this file. */
#include "program.h"
#include "onnx.pb-c.h"

/* <<tp deploy: latency>> */
static int latency_width = 512, latency_layers = 8, latency_prompts = 24,
           latency_prompt = 8, latency_tokens = 24, latency_threads = 0;
static const char *latency_tsv = NULL, *latency_gaps_tsv = NULL;

static const option bench_latency_options[] = {
    {"--width", OPTION_INT, &latency_width, 64, 8192,
     "the model's width, a multiple of 64 (default: 512)"},
    {"--layers", OPTION_INT, &latency_layers, 1, 96,
     "its layers (default: 8)"},
    {"--prompts", OPTION_INT, &latency_prompts, 1, 10000,
     "prompts per scheme and thread count (default: 24)"},
    {"--prompt", OPTION_INT, &latency_prompt, 1, 1024,
     "tokens of each prompt (default: 8)"},
    {"--tokens", OPTION_INT, &latency_tokens, 2, 4096,
     "tokens made after each prompt (default: 24)"},
    {"--threads", OPTION_INT, &latency_threads, 1, 1024,
     "the most threads (default: the cores); also measured on one"},
    {"--tsv", OPTION_STRING, &latency_tsv, 0, 0,
     "also write the percentiles as a table"},
    {"--gaps-tsv", OPTION_STRING, &latency_gaps_tsv, 0, 0,
     "also write the gaps' percentiles 0, 5, ..., 95, 99, 100, for the figure"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp deploy: latency>> */
enum { FP32, INT8, INT4, SCHEMES };
static const char *const scheme_names[SCHEMES] = {"fp32", "int8", "int4"};

typedef struct latency_run {
    tp_gpt *m;
    tp_quant_gpt *q[SCHEMES];  /* q[FP32] is NULL */
    double *first[SCHEMES];    /* t0 of each prompt */
    double *gaps[SCHEMES];     /* every gap of every prompt */
    int n_gaps;
} latency_run;

static void use_scheme(latency_run *r, int s)
{
    if (s == FP32)
        r->m->linear = NULL;
    else
        tp_quant_gpt_attach(r->q[s]);
}

static void measure_prompts(latency_run *r)
{
    tp_corpus book = tp_corpus_book();
    tp_rng rng = tp_rng_seeded(390, 6);
    int *prompt = malloc((size_t)latency_prompt * sizeof *prompt);
    double *times = malloc((size_t)latency_tokens * sizeof *times);
    tp_check(prompt != NULL && times != NULL, "out of memory");
    r->n_gaps = 0;
    for (int p = 0; p < latency_prompts; p++) {
        long at = tp_rng_below(&rng, (uint32_t)(book.size - latency_prompt));
        for (int i = 0; i < latency_prompt; i++)
            prompt[i] = book.bytes[at + i];
        for (int s = 0; s < SCHEMES; s++) {
            use_scheme(r, s);
            tp_gpt_token_times(r->m, prompt, latency_prompt, latency_tokens, times);
            r->first[s][p] = times[0];
            for (int i = 1; i < latency_tokens; i++)
                r->gaps[s][r->n_gaps + i - 1] = times[i] - times[i - 1];
        }
        r->n_gaps += latency_tokens - 1;
    }
    free(times);
    free(prompt);
}
/* <<tp deploy: latency>> */
static void report_scheme(latency_run *r, int s, int threads, FILE *tsv,
                          FILE *gaps)
{
    double q[6];
    static const double ps[3] = {50, 90, 99};
    for (int j = 0; j < 3; j++) {
        q[j] = 1e3 * tp_percentile(r->first[s], latency_prompts, ps[j]);
        q[3 + j] = 1e3 * tp_percentile(r->gaps[s], r->n_gaps, ps[j]);
    }
    printf("%-5s %2d thread(s)  first %7.1f %7.1f %7.1f ms  gap %6.2f %6.2f "
           "%6.2f ms  p99/p50 %.2f  %6.1f tokens/s\n", scheme_names[s], threads,
           q[0], q[1], q[2], q[3], q[4], q[5], q[5] / q[3], 1e3 / q[3]);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.3f\n",
                scheme_names[s], threads, q[0], q[1], q[2], q[3], q[4], q[5],
                1e3 / q[3]);
    for (int i = 0; gaps != NULL && i <= 21; i++) {
        double p = i < 20 ? 5.0 * i : i == 20 ? 99 : 100;
        fprintf(gaps, "%s\t%d\t%g\t%.5f\n", scheme_names[s], threads, p,
                1e3 * tp_percentile(r->gaps[s], r->n_gaps, p));
    }
}

static void latency_threads_run(latency_run *r, int threads, FILE *tsv,
                                FILE *gaps)
{
    tp_set_threads(threads);
    measure_prompts(r);
    for (int s = 0; s < SCHEMES; s++)
        report_scheme(r, s, threads, tsv, gaps);
}
/* <<tp deploy: latency>> */
static FILE *open_table(const char *path)
{
    FILE *f = NULL;
    if (path != NULL && (check_output("bench latency", path) != 0
                         || (f = fopen(path, "w")) == NULL))
        return NULL;
    if (f != NULL) {
        tp_describe_machine(f);
        fprintf(f, "# width %d, %d layers, random weights; %d prompts of %d "
                "bytes of the book, %d tokens each, greedy\n", latency_width,
                latency_layers, latency_prompts, latency_prompt, latency_tokens);
    }
    return f;
}

static latency_run latency_model(void)
{
    tp_gpt_config c = {256, latency_prompt + latency_tokens, latency_layers,
                       latency_width / 64, latency_width, TP_POSITIONS_LEARNED};
    latency_run r = {.m = tp_gpt_new(c)};
    tp_rng rng = tp_rng_seeded(390, 5);
    tp_gpt_init(r.m, &rng);
    tp_error error;
    r.q[INT8] = tp_quant_gpt_new(r.m, TP_QUANT_INT8, &error);
    r.q[INT4] = tp_quant_gpt_new(r.m, TP_QUANT_INT4, &error);
    for (int s = 0; s < SCHEMES; s++) {
        r.first[s] = malloc((size_t)latency_prompts * sizeof(double));
        r.gaps[s] = malloc((size_t)latency_prompts * (size_t)latency_tokens
                           * sizeof(double));
        tp_check(r.first[s] != NULL && r.gaps[s] != NULL, "out of memory");
    }
    return r;
}
/* <<tp deploy: latency>> */
static int bench_latency(void)
{
    if (latency_width % 64 != 0) {
        fprintf(stderr, "tp bench latency: the width must be a multiple of "
                "64\n");
        return 1;
    }
    FILE *tsv = open_table(latency_tsv), *gaps = open_table(latency_gaps_tsv);
    if ((latency_tsv != NULL && tsv == NULL)
        || (latency_gaps_tsv != NULL && gaps == NULL)) {
        if (tsv != NULL) fclose(tsv);
        return 1;
    }
    if (tsv != NULL)
        fprintf(tsv, "scheme\tthreads\tfirst_p50_ms\tfirst_p90_ms\t"
                "first_p99_ms\tgap_p50_ms\tgap_p90_ms\tgap_p99_ms\t"
                "tokens_per_s\n");
    if (gaps != NULL)
        fprintf(gaps, "scheme\tthreads\tpercentile\tgap_ms\n");
    tp_describe_machine(stdout);
    latency_run r = latency_model();
    int most = latency_threads > 0 ? latency_threads
                                   : (int)sysconf(_SC_NPROCESSORS_ONLN);
    latency_threads_run(&r, 1, tsv, gaps);
    if (most > 1)
        latency_threads_run(&r, most, tsv, gaps);
    for (int s = 0; s < SCHEMES; s++)
        free(r.first[s]), free(r.gaps[s]), tp_quant_gpt_free(r.q[s]);
    tp_gpt_free(r.m);
    int status = tsv != NULL && fclose(tsv) != 0;
    return status | (gaps != NULL && fclose(gaps) != 0);
}

/* <<tp deploy: budget>> */
static const char *budget_tsv = NULL;

static const option deploy_budget_options[] = {
    {"--tsv", OPTION_STRING, &budget_tsv, 0, 0,
     "also write the largest models as a table, for the card"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static void budget_row(int mib, int s, int bits, FILE *tsv)
{
    static const int depths[2] = {4, 12};
    tp_gpt_modern plain = {0};
    printf("%8d %-5s", mib, scheme_names[s]);
    if (tsv != NULL)
        fprintf(tsv, "%d\t%s", mib, scheme_names[s]);
    for (int d = 0; d < 2; d++) {
        tp_gpt_config c = {256, 256, depths[d], 1, 64, TP_POSITIONS_LEARNED};
        c.n_embd = tp_gpt_widest(mib * 1048576.0, c, bits);
        c.n_head = c.n_embd / 64;
        double p = c.n_embd > 0 ? tp_gpt_parameter_count(c, plain) : 0;
        printf(" %9d %13.0f", c.n_embd, p);
        if (tsv != NULL)
            fprintf(tsv, "\t%d\t%.0f", c.n_embd, p);
    }
    putchar('\n');
    if (tsv != NULL)
        fputc('\n', tsv);
}
/* <<tp deploy: budget>> */
static int deploy_budget(void)
{
    static const int mib[] = {16, 64, 256, 1024};
    static const int bits[SCHEMES] = {32, 8, 4};
    FILE *tsv = NULL;
    if (budget_tsv != NULL && (check_output("deploy budget", budget_tsv) != 0
                               || (tsv = fopen(budget_tsv, "w")) == NULL))
        return 1;
    if (tsv != NULL)
        fprintf(tsv, "# written by: tp deploy budget; counts, not "
                "measurements: no machine\nbudget_mib\tscheme\twidth_l4\t"
                "parameters_l4\twidth_l12\tparameters_l12\n");
    printf("%8s %-5s %9s %13s %9s %13s\n", "MiB", "bits", "width L=4",
           "parameters", "width L=12", "parameters");
    for (int b = 0; b < 4; b++)
        for (int s = 0; s < SCHEMES; s++)
            budget_row(mib[b], s, bits[s], tsv);
    return tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
}

/* <<tp deploy: export>> */
typedef struct onnx_graph {
    tp_arena *arena;
    Onnx__GraphProto *graph;
    int capacity_nodes, capacity_tensors, names;
} onnx_graph;

static char *name_new(onnx_graph *b)
{
    char *name = tp_arena_alloc(b->arena, 16);
    snprintf(name, 16, "v%d", ++b->names);
    return name;
}

static char *name_copy(onnx_graph *b, const char *text)
{
    char *name = tp_arena_alloc(b->arena, strlen(text) + 1);
    return strcpy(name, text);
}
/* <<tp deploy: export>> */
static const char *onnx_node(onnx_graph *b, const char *op, const char *x,
                             const char *y, const char *z)
{
    tp_check(b->graph->n_node < (size_t)b->capacity_nodes, "too many nodes");
    Onnx__NodeProto *n = tp_arena_alloc(b->arena, sizeof *n);
    onnx__node_proto__init(n);
    const char *in[3] = {x, y, z};
    n->input = tp_arena_alloc(b->arena, 3 * sizeof *n->input);
    for (int i = 0; i < 3 && in[i] != NULL; i++)
        n->input[n->n_input++] = (char *)in[i];
    n->output = tp_arena_alloc(b->arena, sizeof *n->output);
    n->output[0] = name_new(b), n->n_output = 1;
    n->op_type = (char *)op;
    b->graph->node[b->graph->n_node++] = n;
    return n->output[0];
}

static void onnx_attribute(onnx_graph *b, const char *name,
                           Onnx__AttributeProto__AttributeType type,
                           const int64_t *ints, int n, float f)
{
    Onnx__NodeProto *node = b->graph->node[b->graph->n_node - 1];
    Onnx__AttributeProto *a = tp_arena_alloc(b->arena, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = (char *)name, a->has_type = true, a->type = type;
    if (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
        a->has_f = true, a->f = f;
    else if (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
        a->has_i = true, a->i = ints[0];
    else {
        a->ints = tp_arena_alloc(b->arena, (size_t)n * sizeof *a->ints);
        memcpy(a->ints, ints, (size_t)n * sizeof *a->ints);
        a->n_ints = (size_t)n;
    }
    Onnx__AttributeProto **grown = tp_arena_alloc(
        b->arena, (node->n_attribute + 1) * sizeof *grown);
    if (node->n_attribute > 0)
        memcpy(grown, node->attribute, node->n_attribute * sizeof *grown);
    grown[node->n_attribute++] = a;
    node->attribute = grown;
}
/* <<tp deploy: export>> */
static const char *onnx_tensor(onnx_graph *b, const char *name, int type,
                               const int64_t *dims, int ndim,
                               const void *data, size_t bytes)
{
    tp_check(b->graph->n_initializer < (size_t)b->capacity_tensors,
             "too many initialisers");
    Onnx__TensorProto *t = tp_arena_alloc(b->arena, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = name != NULL ? name_copy(b, name) : name_new(b);
    t->has_data_type = true, t->data_type = type;
    t->dims = tp_arena_alloc(b->arena, 4 * sizeof *t->dims);
    for (int i = 0; i < ndim; i++)
        t->dims[t->n_dims++] = dims[i];
    t->has_raw_data = true;
    t->raw_data = (ProtobufCBinaryData){bytes, (uint8_t *)data};
    b->graph->initializer[b->graph->n_initializer++] = t;
    return t->name;
}

static const char *onnx_weights(onnx_graph *b, const char *name,
                                const tp_tensor *t)
{
    int64_t dims[4];
    for (int i = 0; i < t->shape.ndim; i++)
        dims[i] = t->shape.dim[i];
    return onnx_tensor(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims,
                       t->shape.ndim, t->data,
                       (size_t)tp_tensor_count(t) * sizeof(float));
}
/* <<tp deploy: export>> */
static const char *onnx_ints(onnx_graph *b, const int64_t *values, int n,
                             bool scalar)
{
    int64_t *copy = tp_arena_alloc(b->arena, (size_t)n * sizeof *copy);
    memcpy(copy, values, (size_t)n * sizeof *copy);
    int64_t dims[1] = {n};
    return onnx_tensor(b, NULL, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, dims,
                       scalar ? 0 : 1, copy, (size_t)n * sizeof *copy);
}

static const char *onnx_scalar(onnx_graph *b, float value)
{
    float *copy = tp_arena_alloc(b->arena, sizeof *copy);
    *copy = value;
    return onnx_tensor(b, NULL, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, NULL, 0,
                       copy, sizeof *copy);
}
/* <<tp deploy: export>> */
static const char *onnx_layernorm(onnx_graph *b, const char *x,
                                  const char *gain, const char *bias)
{
    const char *y = onnx_node(b, "LayerNormalization", x, gain, bias);
    int64_t axis = -1;
    onnx_attribute(b, "axis", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
                   &axis, 1, 0);
    onnx_attribute(b, "epsilon", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT,
                   NULL, 0, 1e-5f);
    return y;
}

static const char *onnx_linear(onnx_graph *b, const char *x, const char *w,
                               const char *bias)
{
    return onnx_node(b, "Add", onnx_node(b, "MatMul", x, w, NULL), bias, NULL);
}

static const char *onnx_transpose(onnx_graph *b, const char *x,
                                  const int64_t *perm, int n)
{
    const char *y = onnx_node(b, "Transpose", x, NULL, NULL);
    onnx_attribute(b, "perm", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
                   perm, n, 0);
    return y;
}
/* <<tp deploy: export>> */
static const char *onnx_gelu(onnx_graph *b, const char *x)
{
    const char *x3 = onnx_node(b, "Mul", onnx_node(b, "Mul", x, x, NULL), x,
                               NULL);
    const char *inner = onnx_node(b, "Add", x,
                                  onnx_node(b, "Mul", x3,
                                            onnx_scalar(b, 0.044715f), NULL),
                                  NULL);
    const char *t = onnx_node(b, "Tanh",
                              onnx_node(b, "Mul", inner,
                                        onnx_scalar(b, 0.7978845608f), NULL),
                              NULL, NULL);
    const char *one_plus = onnx_node(b, "Add", t, onnx_scalar(b, 1.0f), NULL);
    return onnx_node(b, "Mul", onnx_node(b, "Mul", x, one_plus, NULL),
                     onnx_scalar(b, 0.5f), NULL);
}
/* <<tp deploy: export>> */
typedef struct onnx_shapes {
    int64_t t, h, d;
    const char *mask, *scale;
} onnx_shapes;

static const char *onnx_attention(onnx_graph *b, const char *qkv,
                                  const onnx_shapes *s)
{
    int64_t split[4] = {s->t, 3, s->h, s->d}, back[2] = {s->t, s->h * s->d};
    static const int64_t heads_first[4] = {1, 2, 0, 3}, kt[3] = {0, 2, 1},
                         tokens_first[3] = {1, 0, 2};
    const char *x = onnx_node(b, "Reshape", qkv, onnx_ints(b, split, 4, false),
                              NULL);
    x = onnx_transpose(b, x, heads_first, 4);
    const char *part[3];
    for (int64_t i = 0; i < 3; i++)
        part[i] = onnx_node(b, "Gather", x, onnx_ints(b, &i, 1, true), NULL);
    const char *scores = onnx_node(b, "MatMul", part[0],
                                   onnx_transpose(b, part[1], kt, 3), NULL);
    scores = onnx_node(b, "Add", onnx_node(b, "Mul", scores, s->scale, NULL),
                       s->mask, NULL);
    const char *p = onnx_node(b, "Softmax", scores, NULL, NULL);
    int64_t last = -1;
    onnx_attribute(b, "axis", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
                   &last, 1, 0);
    const char *o = onnx_transpose(b, onnx_node(b, "MatMul", p, part[2], NULL),
                                   tokens_first, 3);
    return onnx_node(b, "Reshape", o, onnx_ints(b, back, 2, false), NULL);
}
/* <<tp deploy: export>> */
static const char *onnx_param(onnx_graph *b, const tp_gpt *m, int layer,
                              const char *name)
{
    char full[96];
    if (layer >= 0)
        snprintf(full, sizeof full, "h.%d.%s", layer, name);
    else
        snprintf(full, sizeof full, "%s", name);
    const tp_param *p = tp_params_find(&m->params, full);
    tp_check(p != NULL, "the GPT has no tensor %s", full);
    return onnx_weights(b, full, p->tensor);
}

static const char *onnx_block(onnx_graph *b, const tp_gpt *m, int l,
                              const char *h, const onnx_shapes *s)
{
    const char *a = onnx_layernorm(b, h, onnx_param(b, m, l, "ln_1.weight"),
                                   onnx_param(b, m, l, "ln_1.bias"));
    a = onnx_linear(b, a, onnx_param(b, m, l, "attn.c_attn.weight"),
                    onnx_param(b, m, l, "attn.c_attn.bias"));
    a = onnx_linear(b, onnx_attention(b, a, s),
                    onnx_param(b, m, l, "attn.c_proj.weight"),
                    onnx_param(b, m, l, "attn.c_proj.bias"));
    h = onnx_node(b, "Add", h, a, NULL);
    const char *f = onnx_layernorm(b, h, onnx_param(b, m, l, "ln_2.weight"),
                                   onnx_param(b, m, l, "ln_2.bias"));
    f = onnx_linear(b, f, onnx_param(b, m, l, "mlp.c_fc.weight"),
                    onnx_param(b, m, l, "mlp.c_fc.bias"));
    f = onnx_linear(b, onnx_gelu(b, f), onnx_param(b, m, l, "mlp.c_proj.weight"),
                    onnx_param(b, m, l, "mlp.c_proj.bias"));
    return onnx_node(b, "Add", h, f, NULL);
}
/* <<tp deploy: export>> */
static Onnx__ValueInfoProto *onnx_value(onnx_graph *b, const char *name,
                                        int type, const int64_t *dims, int n)
{
    Onnx__TensorShapeProto *shape = tp_arena_alloc(b->arena, sizeof *shape);
    onnx__tensor_shape_proto__init(shape);
    shape->dim = tp_arena_alloc(b->arena, (size_t)n * sizeof *shape->dim);
    for (int i = 0; i < n; i++) {
        Onnx__TensorShapeProto__Dimension *d = tp_arena_alloc(b->arena, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = dims[i];
        shape->dim[shape->n_dim++] = d;
    }
    Onnx__TypeProto__Tensor *tensor = tp_arena_alloc(b->arena, sizeof *tensor);
    onnx__type_proto__tensor__init(tensor);
    tensor->has_elem_type = true, tensor->elem_type = type, tensor->shape = shape;
    Onnx__TypeProto *t = tp_arena_alloc(b->arena, sizeof *t);
    onnx__type_proto__init(t);
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, t->tensor_type = tensor;
    Onnx__ValueInfoProto *v = tp_arena_alloc(b->arena, sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = (char *)name, v->type = t;
    return v;
}
/* <<tp deploy: export>> */
static onnx_shapes onnx_attention_constants(onnx_graph *b, const tp_gpt *m,
                                            int length)
{
    onnx_shapes s = {length, m->config.n_head,
                     m->config.n_embd / m->config.n_head, NULL, NULL};
    float *mask = tp_arena_alloc(b->arena,
                                 (size_t)length * (size_t)length * sizeof *mask);
    for (int i = 0; i < length; i++)
        for (int j = 0; j < length; j++)
            mask[i * length + j] = j <= i ? 0.0f : -INFINITY;
    int64_t dims[2] = {length, length};
    s.mask = onnx_tensor(b, "causal_mask", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                         dims, 2, mask, (size_t)length * (size_t)length * 4);
    s.scale = onnx_scalar(b, 1.0f / sqrtf((float)s.d));
    return s;
}
/* <<tp deploy: export>> */
static void onnx_gpt_graph(onnx_graph *b, const tp_gpt *m, int length)
{
    int64_t *positions = tp_arena_alloc(b->arena, (size_t)length * sizeof *positions);
    for (int i = 0; i < length; i++)
        positions[i] = i;
    int64_t dims[1] = {length};
    const char *wte = onnx_param(b, m, -1, "wte.weight");
    const char *at = onnx_tensor(b, "positions",
                                 ONNX__TENSOR_PROTO__DATA_TYPE__INT64, dims, 1,
                                 positions, (size_t)length * sizeof *positions);
    const char *h = onnx_node(
        b, "Add", onnx_node(b, "Gather", wte, "tokens", NULL),
        onnx_node(b, "Gather", onnx_param(b, m, -1, "wpe.weight"), at, NULL),
        NULL);
    onnx_shapes s = onnx_attention_constants(b, m, length);
    for (int l = 0; l < m->config.n_layer; l++)
        h = onnx_block(b, m, l, h, &s);
    h = onnx_layernorm(b, h, onnx_param(b, m, -1, "ln_f.weight"),
                       onnx_param(b, m, -1, "ln_f.bias"));
    static const int64_t swap[2] = {1, 0};
    const char *logits = onnx_node(b, "MatMul", h,
                                   onnx_transpose(b, wte, swap, 2), NULL);
    b->graph->node[b->graph->n_node - 1]->output[0] = "logits";
    (void)logits;
}
/* <<tp deploy: export>> */
static Onnx__ModelProto *onnx_model(onnx_graph *b, const tp_gpt *m, int length)
{
    b->capacity_nodes = 16 + 40 * m->config.n_layer;
    b->capacity_tensors = 16 + 24 * m->config.n_layer;
    Onnx__GraphProto *g = tp_arena_alloc(b->arena, sizeof *g);
    onnx__graph_proto__init(g);
    g->name = "gpt";
    g->node = tp_arena_alloc(b->arena, (size_t)b->capacity_nodes * sizeof *g->node);
    g->initializer = tp_arena_alloc(
        b->arena, (size_t)b->capacity_tensors * sizeof *g->initializer);
    b->graph = g;
    onnx_gpt_graph(b, m, length);
    int64_t in[1] = {length}, out[2] = {length, m->config.vocab_size};
    g->input = tp_arena_alloc(b->arena, sizeof *g->input);
    g->input[0] = onnx_value(b, "tokens", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, in, 1);
    g->output = tp_arena_alloc(b->arena, sizeof *g->output);
    g->output[0] = onnx_value(b, "logits", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, out, 2);
    g->n_input = g->n_output = 1;
    /* <<tp deploy: the model message>> */
    Onnx__OperatorSetIdProto *opset = tp_arena_alloc(b->arena, sizeof *opset);
    onnx__operator_set_id_proto__init(opset);
    opset->domain = "", opset->has_version = true, opset->version = 17;
    Onnx__ModelProto *model = tp_arena_alloc(b->arena, sizeof *model);
    onnx__model_proto__init(model);
    model->has_ir_version = true, model->ir_version = 8;
    model->producer_name = "tp";
    model->opset_import = tp_arena_alloc(b->arena, sizeof *model->opset_import);
    model->opset_import[0] = opset, model->n_opset_import = 1;
    model->graph = g;
    return model;
}
/* <<tp deploy: export>> */
static const char *export_onnx = NULL, *export_model = "gpt.safetensors";
static int export_length = 0;

static const option gpt_export_options[] = {
    {"--model", OPTION_STRING, &export_model, 0, 0,
     "the checkpoint (default: gpt.safetensors)"},
    {"--onnx", OPTION_STRING, &export_onnx, 0, 0, "the ONNX file to write"},
    {"--length", OPTION_INT, &export_length, 1, 1 << 20,
     "the tokens of the graph's input (default: the model's positions)"},
    {NULL, 0, NULL, 0, 0, NULL},
};

typedef struct packed {
    uint8_t *bytes;
    size_t size;
} packed;

static int write_packed(FILE *f, const void *contents)
{
    const packed *p = contents;
    return fwrite(p->bytes, 1, p->size, f) == p->size ? 0 : -1;
}
/* <<tp deploy: export>> */
static bool exportable(const tp_gpt *m)
{
    const tp_gpt_modern *v = &m->modern;
    return m->config.positions == TP_POSITIONS_LEARNED
           && (v->kv_heads == 0 || v->kv_heads == m->config.n_head)
           && !v->rms_norm && !v->swiglu && !v->no_mlp && !m->post_ln
           && m->mlp == NULL && m->depth == NULL && m->ln_f_b != NULL;
}

static int export_gpt(const tp_gpt *m, int length)
{
    onnx_graph b = {.arena = tp_arena_new("onnx")};
    Onnx__ModelProto *model = onnx_model(&b, m, length);
    packed p = {NULL, onnx__model_proto__get_packed_size(model)};
    p.bytes = malloc(p.size);
    tp_check(p.bytes != NULL, "out of memory");
    onnx__model_proto__pack(model, p.bytes);
    tp_error error;
    int status = tp_save_file(export_onnx, write_packed, &p, &error);
    if (status != 0)
        fprintf(stderr, "tp gpt export: %s\n", error.message);
    else
        printf("%s: %d layers, %zu nodes, %zu initialisers, %zu bytes, "
               "%d tokens in, %d x %d logits out\n", export_onnx,
               m->config.n_layer, model->graph->n_node,
               model->graph->n_initializer, p.size, length, length,
               m->config.vocab_size);
    free(p.bytes);
    tp_arena_free(b.arena);
    return status != 0;
}
/* <<tp deploy: export>> */
static int gpt_export(void)
{
    if (export_onnx == NULL) {
        fprintf(stderr, "tp gpt export: give the file to write with --onnx\n");
        return 1;
    }
    if (check_output("gpt export", export_onnx) != 0)
        return 1;
    tp_error error;
    tp_gpt *m = tp_gpt_load(export_model, NULL, &error);
    if (m == NULL) {
        fprintf(stderr, "tp gpt export: %s\n", error.message);
        return 1;
    }
    int length = export_length > 0 ? export_length : m->config.n_positions;
    int status = 1;
    if (!exportable(m))
        fprintf(stderr, "tp gpt export: %s is not GPT-2's block with learned "
                "positions; only that is exported\n", export_model);
    else if (length > m->config.n_positions)
        fprintf(stderr, "tp gpt export: a length of %d for a model of %d "
                "positions\n", length, m->config.n_positions);
    else
        status = export_gpt(m, length);
    tp_gpt_free(m);
    return status;
}

/* <<tp deploy: figures>> */
static const int scheme_colour[SCHEMES] = {7, 4, 2};

static int gap_curve(const table *t, int s, int threads, double *p,
                     double *ms)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 32; r++)
        if (strcmp(t->label[r], scheme_names[s]) == 0
            && (int)t->value[r][0] == threads)
            p[n] = t->value[r][1], ms[n++] = t->value[r][2];
    return n;
}

static int most_threads(const table *t)
{
    int most = 1;
    for (int r = 0; r < t->rows; r++)
        most = t->value[r][0] > most ? (int)t->value[r][0] : most;
    return most;
}
/* <<tp deploy: figures>> */
static void gap_panel(tp_draw *d, const table *t, int threads, double x,
                      double y, double w, double h, double lo, double hi)
{
    tp_plot p = {d, x, y, w, h, {.lo = 0, .hi = 100, .label = "percentile"},
                 {.lo = lo, .hi = hi, .log = true, .label = "gap (ms)"}};
    tp_plot_frame(&p);
    tp_legend_entry legend[SCHEMES];
    for (int s = 0; s < SCHEMES; s++) {
        double pct[32], ms[32];
        int n = gap_curve(t, s, threads, pct, ms);
        tp_plot_line(&p, pct, ms, n, tp_category(scheme_colour[s]), false,
                     false);
        legend[s] = (tp_legend_entry){scheme_names[s],
                                      tp_category(scheme_colour[s]), false};
    }
    tp_plot_legend(&p, legend, SCHEMES, TP_TOP_LEFT);
}

static void gap_range(const table *t, double *lo, double *hi)
{
    *lo = 1e30, *hi = 0;
    for (int r = 0; r < t->rows; r++)
        *lo = fmin(*lo, t->value[r][2]), *hi = fmax(*hi, t->value[r][2]);
    *lo = *lo > 0 ? *lo / 1.5 : 0.01, *hi = *hi * 1.5;
}
/* <<tp deploy: figures>> */
static int draw_deployment_latency(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/deployment-gaps.tsv", t, error);
    if (status == 0) {
        double lo, hi;
        gap_range(t, &lo, &hi);
        int most = most_threads(t);
        char title[64];
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, 130, 4, 0.5, 0.0, 8, "one thread");
        gap_panel(d, t, 1, 50, 20, 160, 140, lo, hi);
        snprintf(title, sizeof title, "%d threads", most);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, 340, 4, 0.5, 0.0, 8, title);
        gap_panel(d, t, most, 260, 20, 160, 140, lo, hi);
    }
    free(t);
    return status;
}
/* <<tp deploy: figures>> */
static void card_first_tokens(tp_draw *d, const table *t, double x, double y)
{
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x, y, 0.0, 0.0, 7, "<b>one thread: first token; gaps p50 / "
            "p99 (ms)</b>");
    int row = 0;
    for (int r = 0; r < t->rows; r++) {
        if ((int)t->value[r][0] != 1)
            continue;
        char line[128];
        snprintf(line, sizeof line, "%s  %.1f;  %.2f / %.2f", t->label[r],
                 t->value[r][1], t->value[r][4], t->value[r][6]);
        tp_set_color(d->cr, tp_category(scheme_colour[row % SCHEMES]));
        tp_text(d, x, y + 12 + 11 * row++, 0.0, 0.0, 7, line);
    }
}

static void card_budget(tp_draw *d, const table *t, double x, double y)
{
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    tp_text(d, x, y, 0.0, 0.0, 7, "<b>in 64 MiB, 12 layers: widest</b>");
    int row = 0;
    for (int r = 0; r < t->rows; r++) {
        if (atoi(t->label[r]) != 64)
            continue;
        char line[96];
        snprintf(line, sizeof line, "%s  C = %.0f, %.1f M parameters",
                 scheme_names[row % SCHEMES], t->value[r][3],
                 t->value[r][4] / 1e6);
        tp_set_color(d->cr, tp_category(scheme_colour[row % SCHEMES]));
        tp_text(d, x, y + 12 + 11 * row++, 0.0, 0.0, 7, line);
    }
}
/* <<tp deploy: figures>> */
static int draw_card_deployment(tp_draw *d, tp_error *error)
{
    table *t[3];
    static const char *const path[3] = {"figures/data/deployment-gaps.tsv",
                                        "figures/data/deployment-latency.tsv",
                                        "figures/data/deployment-budget.tsv"};
    int status = 0;
    for (int i = 0; i < 3; i++) {
        t[i] = calloc(1, sizeof *t[i]);
        tp_check(t[i] != NULL, "out of memory");
        if (status == 0)
            status = read_table(path[i], t[i], error);
    }
    if (status == 0) {
        /* <<deployment card: the panels>> */
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>18. Real-time deployment</b>",
                "Users wait for the first token and notice the slowest gaps; a "
                "device has N MiB",
                "Data: tp bench latency, tp deploy budget (make measure-deployment)",
                &problem, &solutions);
        double lo, hi;
        gap_range(t[0], &lo, &hi);
        gap_panel(d, t[0], 1, problem.x + 46, problem.y + 24, problem.w - 64, 86,
                  lo, hi);
        card_first_tokens(d, t[1], problem.x + 10, problem.y + 150);
        card_budget(d, t[2], problem.x + 10, problem.y + 198);
        static const char *const rows[][3] = {
            {"Streaming, latency", "t0 and gap percentiles, tokens written as made",
             "this chapter"},
            {"Budgets", "the widest GPT whose checkpoint fits N MiB", "this chapter"},
            {"ONNX export", "opset 17 graph through protobuf-c, checked",
             "this chapter"},
            {"Edge build", "int8 decoder, OpenBLAS linked in", "this chapter"},
            {"Quantisation; pruning; distillation", "int8/int4; zeros; a student",
             "Chapters 340; 365; 330, 320"},
        };
        card_solutions(d, &solutions, rows, 5);
    }
    for (int i = 0; i < 3; i++)
        free(t[i]);
    return status;
}

static const command deploy_commands[] = {
    /* <<tp deploy: command table>> */
    {"gpt export", "write a GPT as an ONNX graph (opset 17), through protobuf-c",
     gpt_export_options, gpt_export, NULL},
    /* <<tp deploy: command table>> */
    {"bench latency", "time to the first token and percentiles of the gaps "
     "between tokens, 32-bit, int8 and int4, one thread and all",
     bench_latency_options, bench_latency, NULL},
    /* <<tp deploy: command table>> */
    {"deploy budget", "the widest GPT of 4 and of 12 layers whose weights fit "
     "16 MiB to 1 GiB, in 32 bits, int8 and int4", deploy_budget_options,
     deploy_budget, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure deploy_figures[] = {
    /* <<tp deploy: figure table>> */
    {"deployment-latency", "the gaps between tokens by percentile: 32 bits, "
     "int8, int4", 432, 200, draw_deployment_latency},
    /* <<tp deploy: figure table>> */
    {"card-deployment", "the card of real-time deployment", 440, 320,
     draw_card_deployment},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part deploy_part = {deploy_commands, deploy_figures};
