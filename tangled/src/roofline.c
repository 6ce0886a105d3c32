/* Generated from book/130-matmul.nw; edit the book, not this file. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp/bench.h"
#include "tp/check.h"
#include "tp/matmul.h"

/* <<roofline: FMA loops>> */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define FMA_CHAINS(vec, set1, fma, add, reduce)                        \
    vec m = set1(0.999999f), c = set1(1e-6f);                          \
    vec x0 = set1(1.00f), x1 = set1(1.01f), x2 = set1(1.02f),          \
        x3 = set1(1.03f), x4 = set1(1.04f), x5 = set1(1.05f),          \
        x6 = set1(1.06f), x7 = set1(1.07f), x8 = set1(1.08f),          \
        x9 = set1(1.09f), x10 = set1(1.10f), x11 = set1(1.11f);        \
    for (long i = 0; i < iterations; i++) {                            \
        x0 = fma(x0, m, c), x1 = fma(x1, m, c), x2 = fma(x2, m, c);    \
        x3 = fma(x3, m, c), x4 = fma(x4, m, c), x5 = fma(x5, m, c);    \
        x6 = fma(x6, m, c), x7 = fma(x7, m, c), x8 = fma(x8, m, c);    \
        x9 = fma(x9, m, c), x10 = fma(x10, m, c), x11 = fma(x11, m, c); \
    }                                                                  \
    x0 = add(add(add(x0, x1), add(x2, x3)), add(add(x4, x5), add(x6, x7))); \
    return reduce(add(x0, add(add(x8, x9), add(x10, x11))));
/* <<roofline: FMA loops>> */
__attribute__((target("avx512f"))) static float fma_avx512(long iterations)
{
    FMA_CHAINS(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,
               _mm512_reduce_add_ps)
}

__attribute__((target("avx2,fma"))) static inline float sum8(__m256 v)
{
    float lane[8];
    _mm256_storeu_ps(lane, v);
    return lane[0] + lane[1] + lane[2] + lane[3] + lane[4] + lane[5]
           + lane[6] + lane[7];
}

__attribute__((target("avx2,fma"))) static float fma_avx2(long iterations)
{
    FMA_CHAINS(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, sum8)
}
#endif

/* <<roofline: the peak of one core>> */
typedef struct fma_run {
    float (*loop)(long iterations);
    long iterations;
    float sink;
} fma_run;

static void run_fma(void *context)
{
    fma_run *r = context;
    r->sink += r->loop(r->iterations);
}
/* <<roofline: the peak of one core>> */
double tp_peak_gflops(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    fma_run run = {.iterations = 4000000};
    int lanes;
    if (__builtin_cpu_supports("avx512f"))
        run.loop = fma_avx512, lanes = 16;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        run.loop = fma_avx2, lanes = 8;
    else
        return 0.0;
    tp_timing t = tp_time(run_fma, &run, 5);
    return 12.0 * lanes * 2.0 * (double)run.iterations / t.best * 1e-9;
#else
    return 0.0;
#endif
}

/* <<roofline: copy bandwidth>> */
typedef struct copy_run {
    char *from, *to;
    size_t bytes;
} copy_run;

static void run_copy(void *context)
{
    copy_run *r = context;
    memcpy(r->to, r->from, r->bytes);
}

double tp_copy_bandwidth(void)
{
    copy_run run = {.bytes = (size_t)256 << 20};
    run.from = malloc(run.bytes);
    run.to = malloc(run.bytes);
    tp_check(run.from != NULL && run.to != NULL, "out of memory");
    memset(run.from, 1, run.bytes);
    memset(run.to, 0, run.bytes);
    tp_timing t = tp_time(run_copy, &run, 5);
    free(run.from);
    free(run.to);
    return 2.0 * (double)run.bytes / t.median * 1e-9;
}

/* <<roofline: describing the machine>> */
static void cpu_model(char *model, size_t size)
{
    snprintf(model, size, "unknown processor");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
            snprintf(model, size, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    fclose(f);
}
/* <<roofline: describing the machine>> */
void tp_describe_machine(FILE *out)
{
    char model[128];
    cpu_model(model, sizeof model);
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    fprintf(out, "# machine: %s, %ld cores online\n", model,
            sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(out, "# OpenBLAS: %s; kernels for %s; OPENBLAS_CORETYPE=%s; "
            "%d threads\n", openblas_get_config(), openblas_get_corename(),
            coretype ? coretype : "(unset)", tp_threads());
}
