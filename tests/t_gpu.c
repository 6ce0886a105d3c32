/* Generated from book/190-cuda.nw; edit the book, not this file. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "tap.h"
#include "tp.h"
#include "tp/kernels.h"

#ifdef TP_CUDA
#include <cuda_runtime_api.h>
#endif

/* <<t-gpu: cuBLAS, opened on first use>> */
#ifdef TP_CUDA
static bool cublas_mapped(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096];
    bool found = false;
    while (maps != NULL && !found && fgets(line, sizeof line, maps) != NULL)
        found = strstr(line, "libcublas") != NULL;
    if (maps != NULL)
        fclose(maps);
    return found;
}

static int look_up_a_missing_function(void)
{
    return tp_cuda_cublas_symbol("cublasNoSuchFunction") != NULL;
}

static void cublas_opened_on_first_use(void)
{
    ok(!cublas_mapped(), "cuBLAS is not loaded when a program starts");
    ok(tp_cuda_cublas_symbol("cublasSgemm_v2") != NULL && cublas_mapped(),
       "the first function wanted opens it and is found there");
    dies_with(look_up_a_missing_function,
              "CUDA: cublasNoSuchFunction failed: ",
              "a function cuBLAS lacks stops the program, naming it");
}
#else
static void cublas_opened_on_first_use(void) {}
#endif

/* <<t-gpu: bfloat16>> */
static void bfloat16(void)
{
    is(tp_bf16_from_float(1.0f), 0x3f80, "1 is 0x3f80 in bfloat16");
    is(tp_bf16_from_float(-2.0f), 0xc000, "-2 is 0xc000");
    is(tp_bf16_from_float(1 + 0x1p-8f), 0x3f80, "a tie goes to even: down");
    is(tp_bf16_from_float(1 + 3 * 0x1p-8f), 0x3f82, "a tie goes to even: up");
    is(tp_bf16_from_float(1 + 0x1p-8f + 0x1p-20f), 0x3f81,
       "just above a tie rounds up");
    is(tp_bf16_from_float(FLT_MAX), 0x7f80,
       "the largest floats round to infinity");
    is(tp_bf16_from_float(-0.0f), 0x8000, "negative zero keeps its sign");
    ok(isnan(tp_float_from_bf16(tp_bf16_from_float(NAN))), "NaN stays NaN");
    /* <<t-gpu: every bfloat16 survives a round trip>> */
    long same = 0;
    for (uint32_t bits = 0; bits < 65536; bits++) {
        float x = tp_float_from_bf16((uint16_t)bits);
        uint16_t back = tp_bf16_from_float(x);
        same += isnan(x) ? isnan(tp_float_from_bf16(back)) : back == bits;
    }
    is(same, 65536, "every bfloat16 becomes a float and comes back unchanged");
    /* <<t-gpu: rounding errs by at most half a unit>> */
    tp_rng rng = tp_rng_seeded(3, 0);
    double worst = 0;
    for (int i = 0; i < 100000; i++) {
        float x = tp_rng_normal(&rng) * 1e3f;
        double error = fabs(tp_float_from_bf16(tp_bf16_from_float(x)) - x);
        worst = fmax(worst, error / fabs(x));
    }
    ok(worst <= 0x1p-8 && worst > 0x1p-9,
       "rounding to bfloat16 errs by at most 2^-8 relative (worst %.3g)", worst);
}

/* <<t-gpu: peaks>> */
static void peaks(void)
{
    tp_gpu a100 = {.major = 8, .minor = 0, .sms = 108, .clock_hz = 1.41e9,
                   .memory_clock_hz = 1.215e9, .bus_bits = 5120};
    near(tp_gpu_fp32_peak(&a100) / 1e12, 19.5, 0.05,
         "A100: 19.5 TFLOP/s in FP32, as its datasheet says");
    near(tp_gpu_bf16_peak(&a100) / 1e12, 312, 0.5,
         "A100: 312 TFLOP/s in bfloat16");
    near(tp_gpu_bandwidth(&a100) / 1e9, 1555, 1, "A100 40 GB: 1,555 GB/s");
    /* <<t-gpu: the H100's peaks>> */
    tp_gpu h100 = tp_gpu_h100_sxm();
    near(tp_gpu_fp32_peak(&h100) / 1e12, 66.9, 0.1,
         "H100 SXM: 67 TFLOP/s in FP32 at 1,980 MHz");
    near(tp_gpu_bandwidth(&h100) / 1e12, 3.35, 0.01, "H100 SXM: 3.35 TB/s");
    h100.clock_hz = 1.83e9;
    near(tp_gpu_bf16_peak(&h100) / 1e12, 989.4, 0.5,
         "H100 SXM: 989 TFLOP/s in bfloat16 at 1,830 MHz");
    tp_gpu ada = {.major = 8, .minor = 9, .sms = 142, .clock_hz = 2.52e9};
    ok(tp_gpu_fp32_peak(&ada) > 0 && tp_gpu_bf16_peak(&ada) == 0,
       "capability 8.9: the FP32 peak is known, the bfloat16 peak is not");
}

/* <<t-gpu: the table of operations>> */
static void operations(void)
{
    bool found = true, several = true, launchable = true;
    for (int i = 0; i < tp_gpu_operation_count; i++) {
        const tp_gpu_operation *op = &tp_gpu_operations[i];
        found = found && tp_gpu_operation_named(op->name) == op;
        several = several && op->versions >= 2;
        for (int v = 0; v < op->versions; v++)
#ifdef TP_CUDA
            launchable = launchable && op->version[v].launch != NULL;
#else
            launchable = launchable && op->version[v].launch == NULL;
#endif
    }
    ok(found && several && tp_gpu_operation_named("gemmm") == NULL,
       "every operation is found by its name and has several versions");
    ok(launchable, "versions have launchers exactly when built with CUDA");
    const tp_gpu_version *v0 = &tp_gpu_operation_named("gemm")->version[0];
    ok(strcmp(v0->name, "v0") == 0 && strstr(v0->idea, "cuBLAS") != NULL,
       "version 0 of the FP32 product is cuBLAS");
}

/* <<t-gpu: the library's operators are within the bounds>> */
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
           && moved.output == output && moved.index == i,
       "%s: one %s moved by twice its bound is caught and named", what, name);
    got[i] = kept;
}
/* <<t-gpu: the library's operators are within the bounds>> */
static tp_tensor *input_tensor(tp_arena *arena, const tp_gpu_case *c,
                               int input, tp_shape shape)
{
    tp_tensor *t = tp_tensor_new(arena, shape, TP_WITH_GRAD);
    long count = tp_shape_count(shape);
    bool bf16 = c->input_bytes[input] == (size_t)count * sizeof(uint16_t);
    for (long i = 0; i < count; i++)
        t->data[i] = bf16 ? tp_float_from_bf16(((const uint16_t *)
                                                c->input[input])[i])
                          : ((const float *)c->input[input])[i];
    return t;
}
/* <<t-gpu: the library's operators are within the bounds>> */
static void products_within_bounds(tp_graph *g)
{
    const char *names[] = {"gemm", "gemm-bf16"};
    for (int i = 0; i < 2; i++) {
        tp_gpu_case *c = tp_gpu_case_new(tp_gpu_operation_named(names[i]),
                                         37, 53, 129, 1);
        tp_tensor *a = input_tensor(g->arena, c, 0, tp_shape2(37, 129));
        tp_tensor *b = input_tensor(g->arena, c, 1, tp_shape2(129, 53));
        within_bound(c, 0, tp_matmul(g, a, b)->data, "the library's");
        tp_gpu_case_free(c);
    }
}
/* <<t-gpu: the library's operators are within the bounds>> */
static float *float_softmax(tp_arena *arena, const float *x, int rows,
                            int cols)
{
    float *y = tp_arena_alloc(arena, (size_t)rows * cols * sizeof *y);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * cols;
        float max = -INFINITY, sum = 0;
        for (int j = 0; j < cols; j++)
            max = fmaxf(max, xr[j]);
        for (int j = 0; j < cols; j++)
            sum += expf(xr[j] - max);
        for (int j = 0; j < cols; j++)
            y[(long)r * cols + j] = expf(xr[j] - max) / sum;
    }
    return y;
}
/* <<t-gpu: the library's operators are within the bounds>> */
static void softmax_and_gelu_within_bounds(tp_graph *g)
{
    tp_gpu_case *c = tp_gpu_case_new(tp_gpu_operation_named("softmax"), 13,
                                     300, 1, 2);
    tp_tensor *x = input_tensor(g->arena, c, 0, tp_shape2(13, 300));
    within_bound(c, 0, tp_softmax(g, x)->data, "the library's");
    float *y = float_softmax(g->arena, x->data, 13, 300);
    within_bound(c, 0, y, "a float loop's");
    tp_gpu_case_free(c);
    c = tp_gpu_case_new(tp_gpu_operation_named("bias-gelu"), 7, 301, 1, 3);
    x = input_tensor(g->arena, c, 0, tp_shape2(7, 301));
    tp_tensor *bias = input_tensor(g->arena, c, 1, tp_shape1(301));
    within_bound(c, 0, tp_gelu_tanh(g, tp_add(g, x, bias))->data,
                 "the library's");
    tp_gpu_case_free(c);
}
/* <<t-gpu: the library's operators are within the bounds>> */
static void layernorm_within_bounds(tp_graph *g)
{
    int rows = 11, cols = 257;
    tp_gpu_case *c = tp_gpu_case_new(tp_gpu_operation_named("layernorm"),
                                     rows, cols, 1, 4);
    tp_tensor *x = input_tensor(g->arena, c, 0, tp_shape2(rows, cols));
    tp_tensor *gain = input_tensor(g->arena, c, 1, tp_shape1(cols));
    tp_tensor *bias = input_tensor(g->arena, c, 2, tp_shape1(cols));
    tp_tensor *y = tp_layernorm(g, x, gain, bias, TP_LAYERNORM_EPS);
    within_bound(c, 0, y->data, "the library's");
    tp_gpu_case_free(c);
    /* <<t-gpu: the backward pass of LayerNorm within its bounds>> */
    rows = 19, cols = 130;
    c = tp_gpu_case_new(tp_gpu_operation_named("layernorm-backward"), rows,
                        cols, 1, 5);
    tp_tensor *dy = input_tensor(g->arena, c, 0, tp_shape2(rows, cols));
    x = input_tensor(g->arena, c, 1, tp_shape2(rows, cols));
    gain = input_tensor(g->arena, c, 2, tp_shape1(cols));
    bias = tp_tensor_new(g->arena, tp_shape1(cols), TP_WITH_GRAD);
    tp_backward_from(g, tp_layernorm(g, x, gain, bias, TP_LAYERNORM_EPS), dy);
    within_bound(c, 0, x->grad, "the library's");
    within_bound(c, 1, gain->grad, "the library's");
    within_bound(c, 2, bias->grad, "the library's");
    tp_gpu_case_free(c);
}
/* <<t-gpu: the library's operators are within the bounds>> */
static void operators_within_bounds(void)
{
    tp_arena *arena = tp_arena_new("t_gpu");
    tp_graph g = tp_graph_on(arena);
    products_within_bounds(&g);
    softmax_and_gelu_within_bounds(&g);
    layernorm_within_bounds(&g);
    tp_arena_free(arena);
}

/* <<t-gpu: opening the device, and its errors>> */
#ifdef TP_CUDA
static int allocate_too_much(void)
{
    void *p = NULL;
    size_t huge = (size_t)1 << 62;
    TP_CUDA_CHECK(cudaMalloc(&p, huge));
    return 0;
}
#endif
/* <<t-gpu: opening the device, and its errors>> */
static void device(void)
{
    tp_gpu gpu;
    char why[256];
    if (tp_gpu_open(&gpu, why, sizeof why) != 0)
        ok(strncmp(why, "no CUDA device (", 16) == 0,
           "without a device, opening says why: %s", why);
    else
        ok(gpu.sms > 0 && gpu.l2_bytes > 0 && tp_gpu_bandwidth(&gpu) > 0,
           "the device %s reports its SMs, its L2 and its memory", gpu.name);
#ifdef TP_CUDA
    dies_with(allocate_too_much, "CUDA: cudaMalloc(&p, huge) failed: ",
              "a failed CUDA call stops the program, naming the call");
    dies_with(allocate_too_much, "t_gpu.c:",
              "and naming the file and the line");
#endif
}

int main(void)
{
    cublas_opened_on_first_use();
    bfloat16();
    peaks();
    operations();
    operators_within_bounds();
    device();
    return done_testing();
}
