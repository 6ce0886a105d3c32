/* Generated from book/385-hardware.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tp.h"

/* <<t-flash: validation>> */
static void refused(int heads, int n, int d, const char *because)
{
    char why[256] = "";
    int status = tp_flash_validate(heads, n, d, why, sizeof why);
    ok(status == -1 && strstr(why, because) != NULL && !strchr(why, '\n'),
       "%d heads of %d x %d are refused in one line: %s", heads, n, d, why);
}

static void validation(void)
{
    char why[256];
    for (int i = 0; i < TP_FLASH_HEAD_DIMS; i++)
        ok(tp_flash_validate(8, 1000, tp_flash_head_dims[i], why,
                             sizeof why) == 0,
           "head width %d is accepted", tp_flash_head_dims[i]);
    refused(8, 1000, 96, "compiled for 64 and 128 only");
    refused(8, 1000, 0, "head dimension 0");
    refused(8, 0, 64, "0 positions");
    refused(8, -5, 128, "-5 positions");
    refused(0, 10, 64, "0 heads");
    refused(70000, 10, 64, "70000 heads");
    refused(4096, 1 << 20, 128, "too large");
    refused(1, (1 << 20) + 1, 64, "2^20 positions");
}

/* <<t-flash: the table of operations>> */
static void operations(void)
{
    const char *names[] = {"attention", "attention-backward",
                           "attention-decode"};
    ok(tp_flash_operation_count == 3, "three operations");
    for (int i = 0; i < 3; i++) {
        const tp_gpu_operation *op = tp_flash_operation_named(names[i]);
        bool launchers = op != NULL;
        for (int v = 0; op != NULL && v < op->versions; v++)
#ifdef TP_CUDA
            launchers = launchers && op->version[v].launch != NULL;
#else
            launchers = launchers && op->version[v].launch == NULL;
#endif
        ok(launchers, "%s is in the table, with %s", names[i],
           "a launcher for each version exactly when built with CUDA");
    }
    ok(tp_flash_operation_named("attention-forward") == NULL,
       "an unknown operation is not found");
}

/* <<t-flash: the library's attention within the bounds>> */
static tp_tensor *input_tensor(tp_arena *arena, const tp_gpu_case *c,
                               int input, int heads, int rows, int d)
{
    tp_tensor *t = tp_tensor_new(arena, tp_shape4(1, heads, rows, d),
                                 TP_WITH_GRAD);
    memcpy(t->data, c->input[input], (size_t)heads * rows * d * sizeof(float));
    return t;
}

static void within_bound(const tp_gpu_case *c, int output, float *got,
                         const char *by)
{
    const char *what = c->op->name, *name = c->op->output_name[output];
    tp_gpu_mismatch worst = {0};
    bool inside = tp_gpu_case_check(c, output, got, &worst);
    ok(inside, "%s: %s %s is within the bound (worst %.2g of it)", what, by,
       name, worst.ratio);
    long i = c->output_count[output] / 2;
    float kept = got[i];
    got[i] = (float)(c->reference[output][i] + 2 * c->tolerance[output][i]);
    tp_gpu_mismatch moved = {0};
    ok(!tp_gpu_case_check(c, output, got, &moved) && moved.bad == 1
           && moved.index == i,
       "%s: one %s moved by twice its bound is caught and named", what, name);
    got[i] = kept;
}
/* <<t-flash: the library's attention within the bounds>> */
static void lse_by_definition(const tp_gpu_case *c, int queries, float *lse)
{
    int n = c->rows, d = c->cols;
    const float *q = c->input[0], *k = c->input[1];
    for (int h = 0; h < c->inner; h++)
        for (int r = 0; r < queries; r++) {
            int seen = r + n - queries + 1;
            double s[512], max = -INFINITY, sum = 0;
            for (int j = 0; j < seen; j++) {
                s[j] = 0;
                for (int x = 0; x < d; x++)
                    s[j] += (double)q[((long)h * queries + r) * d + x]
                            * k[((long)h * n + j) * d + x];
                s[j] /= sqrt(d);
                max = fmax(max, s[j]);
            }
            for (int j = 0; j < seen; j++)
                sum += exp(s[j] - max);
            lse[h * queries + r] = (float)(max + log(sum));
        }
}
/* <<t-flash: the library's attention within the bounds>> */
static void forward_within_bounds(tp_graph *g, int heads, int n, int d)
{
    tp_graph_reset(g);
    tp_gpu_case *c = tp_gpu_case_new(tp_flash_operation_named("attention"),
                                     n, d, heads, 3);
    tp_tensor *q = input_tensor(g->arena, c, 0, heads, n, d);
    tp_tensor *k = input_tensor(g->arena, c, 1, heads, n, d);
    tp_tensor *v = input_tensor(g->arena, c, 2, heads, n, d);
    tp_attention_options causal = {.causal = true};
    within_bound(c, 0, tp_attention(g, q, k, v, &causal)->data,
                 "the library's");
    float *lse = calloc((size_t)heads * n, sizeof *lse);
    lse_by_definition(c, n, lse);
    within_bound(c, 1, lse, "the definition's");
    /* <<t-flash: a diagonal forgotten is caught>> */
    tp_attention_options strict = {.allowed = calloc((size_t)n * n, 1)};
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            ((unsigned char *)strict.allowed)[i * n + j] = 1;
    ((unsigned char *)strict.allowed)[0] = 1;  /* row 0 must see something */
    tp_gpu_mismatch worst = {0};
    bool inside = tp_gpu_case_check(c, 0, tp_attention(g, q, k, v, &strict)->data,
                                    &worst);
    ok(!inside && worst.bad > heads * n * d / 2, "attention: without the "
       "diagonal, %ld outputs of %d are outside the bound", worst.bad,
       heads * n * d);
    free((void *)strict.allowed);
    free(lse);
    tp_gpu_case_free(c);
}
/* <<t-flash: the library's attention within the bounds>> */
static void decode_within_bounds(tp_graph *g, int heads, int n, int d)
{
    tp_graph_reset(g);
    tp_gpu_case *c = tp_gpu_case_new(
        tp_flash_operation_named("attention-decode"), n, d, heads, 4);
    tp_tensor *q = input_tensor(g->arena, c, 0, heads, 1, d);
    tp_tensor *k = input_tensor(g->arena, c, 1, heads, n, d);
    tp_tensor *v = input_tensor(g->arena, c, 2, heads, n, d);
    within_bound(c, 0, tp_attention(g, q, k, v, NULL)->data, "the library's");
    float *lse = calloc((size_t)heads, sizeof *lse);
    lse_by_definition(c, 1, lse);
    within_bound(c, 1, lse, "the definition's");
    free(lse);
    tp_gpu_case_free(c);
}
/* <<t-flash: the library's attention within the bounds>> */
static void backward_within_bounds(tp_graph *g, int heads, int n, int d)
{
    tp_graph_reset(g);
    tp_gpu_case *c = tp_gpu_case_new(
        tp_flash_operation_named("attention-backward"), n, d, heads, 5);
    tp_tensor *q = input_tensor(g->arena, c, 0, heads, n, d);
    tp_tensor *k = input_tensor(g->arena, c, 1, heads, n, d);
    tp_tensor *v = input_tensor(g->arena, c, 2, heads, n, d);
    tp_tensor *dout = input_tensor(g->arena, c, 4, heads, n, d);
    tp_attention_options causal = {.causal = true};
    tp_backward_from(g, tp_attention(g, q, k, v, &causal), dout);
    within_bound(c, 0, q->grad, "the library's");
    within_bound(c, 1, k->grad, "the library's");
    within_bound(c, 2, v->grad, "the library's");
    tp_gpu_case_free(c);
}
/* <<t-flash: the library's attention within the bounds>> */
static void library_within_bounds(void)
{
    tp_arena *arena = tp_arena_new("t_flash");
    tp_graph g = tp_graph_on(arena);
    forward_within_bounds(&g, 2, 37, 64);
    forward_within_bounds(&g, 1, 70, 128);
    decode_within_bounds(&g, 3, 300, 64);
    backward_within_bounds(&g, 2, 45, 64);
    backward_within_bounds(&g, 1, 33, 128);
    tp_arena_free(arena);
}

int main(void)
{
    validation();
    operations();
    library_within_bounds();
    return done_testing();
}
