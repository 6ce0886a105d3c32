/* Generated from book/130-matmul.nw; edit the book, not this file. */
#include <cblas.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
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

/* <<roofline: what the processor says>> */
void tp_cpuid_signature(unsigned eax, int *family, int *model,
                        int *stepping)
{
    unsigned base_family = (eax >> 8) & 0xf;
    *family = (int)base_family;
    if (base_family == 0xf)
        *family += (int)((eax >> 20) & 0xff);
    *model = (int)((eax >> 4) & 0xf);
    if (base_family == 0x6 || base_family == 0xf)
        *model += (int)((eax >> 16) & 0xf) << 4;
    *stepping = (int)(eax & 0xf);
}
/* <<roofline: what the processor says>> */
tp_cpu_cache tp_cpuid_cache(unsigned eax, unsigned ebx, unsigned ecx)
{
    static const char types[] = {0, 'd', 'i', 'u'};
    unsigned type = eax & 0x1f;
    if (type == 0 || type > 3)
        return (tp_cpu_cache){0};
    long ways = (ebx >> 22) + 1, partitions = ((ebx >> 12) & 0x3ff) + 1;
    long line = (ebx & 0xfff) + 1, sets = (long)ecx + 1;
    return (tp_cpu_cache){.level = (int)((eax >> 5) & 7),
                          .type = types[type],
                          .kib = ways * partitions * line * sets / 1024,
                          .sharing = (int)((eax >> 14) & 0xfff) + 1};
}
/* <<roofline: what the processor says>> */
void tp_cpuid_legacy_caches(unsigned ecx5, unsigned ecx6, unsigned edx6,
                            tp_cpu_cache cache[3])
{
    cache[0] = (tp_cpu_cache){1, 'd', (long)(ecx5 >> 24), 0};
    cache[1] = (tp_cpu_cache){2, 'u', (long)(ecx6 >> 16), 0};
    cache[2] = (tp_cpu_cache){3, 'u', (long)(edx6 >> 18) * 512, 0};
}
/* <<roofline: what the processor says>> */
static TP_PRINTF(3, 4) void add(char *text, size_t size,
                                const char *format, ...)
{
    size_t used = strlen(text);
    if (used + 1 >= size)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(text + used, size - used, format, args);
    va_end(args);
}
/* <<roofline: what the processor says>> */
static const struct vector_extension {
    const char *name, *flag;  /* as the header prints it; as Linux does */
    int reg, bit;             /* 0 ecx of leaf 1, 1 ebx of leaf 7, 2 ecx
                                 of leaf 7, 3 eax of leaf 7 subleaf 1 */
} vector_extensions[] = {
    {"AVX2", "avx2", 1, 5},
    {"FMA", "fma", 0, 12},
    {"AVX-512F", "avx512f", 1, 16},
    {"AVX-512-VNNI", "avx512_vnni", 2, 11},
    {"AVX-VNNI", "avx_vnni", 3, 4},
};
enum { VECTOR_EXTENSIONS = sizeof vector_extensions
                           / sizeof vector_extensions[0] };
/* <<roofline: what the processor says>> */
static void name_extensions(const bool has[], char *text, size_t size)
{
    text[0] = '\0';
    for (int i = 0; i < VECTOR_EXTENSIONS; i++)
        if (has[i])
            add(text, size, text[0] ? " %s" : "%s", vector_extensions[i].name);
    if (text[0] == '\0')
        snprintf(text, size, "no AVX2, FMA or AVX-512");
}

void tp_cpuid_vector(unsigned ecx1, unsigned ebx7, unsigned ecx7,
                     unsigned eax7_1, char *text, size_t size)
{
    const unsigned reg[] = {ecx1, ebx7, ecx7, eax7_1};
    bool has[VECTOR_EXTENSIONS];
    for (int i = 0; i < VECTOR_EXTENSIONS; i++)
        has[i] = (reg[vector_extensions[i].reg] >> vector_extensions[i].bit)
                 & 1;
    name_extensions(has, text, size);
}
/* <<roofline: what the processor says>> */
static void add_number(char *line, size_t size, const char *what, int n)
{
    if (n >= 0)
        add(line, size, " %s %d", what, n);
    else
        add(line, size, " %s unknown", what);
}

static void add_caches(const tp_processor *p, char *line, size_t size)
{
    int shown = 0;
    for (int i = 0; i < p->caches; i++) {
        const tp_cpu_cache *c = &p->cache[i];
        if (c->type == 'i' || c->kib <= 0)
            continue;
        bool mib = c->kib % 1024 == 0;
        add(line, size, "%sL%d%s %ld %s", shown++ ? ", " : "", c->level,
            c->type == 'd' ? "d" : "", mib ? c->kib / 1024 : c->kib,
            mib ? "MiB" : "KiB");
        if (c->sharing > 0)
            add(line, size, " for %d thread%s", c->sharing,
                c->sharing == 1 ? "" : "s");
    }
    if (shown == 0)
        add(line, size, "caches unknown");
    else
        add(line, size, " (%s)", p->cache_source ? p->cache_source
                                                 : "source unknown");
}
/* <<roofline: what the processor says>> */
void tp_processor_line(const tp_processor *p, char *line, size_t size)
{
    snprintf(line, size, "processor: %s",
             p->vendor[0] ? p->vendor : "unknown vendor");
    add_number(line, size, "family", p->family);
    add_number(line, size, "model", p->model);
    add_number(line, size, "stepping", p->stepping);
    if (p->brand[0])
        add(line, size, " (%s)", p->brand);
    add(line, size, "; %s; ",
        p->vector[0] ? p->vector : "vector extensions unknown");
    add_caches(p, line, size);
}

/* <<roofline: asking the processor>> */
static void name_vendor(tp_processor *p, const char *id)
{
    static const char *names[][2] = {{"GenuineIntel", "Intel"},
                                     {"AuthenticAMD", "AMD"},
                                     {"HygonGenuine", "Hygon"}};
    snprintf(p->vendor, sizeof p->vendor, "%s", id);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(id, names[i][0]) == 0)
            snprintf(p->vendor, sizeof p->vendor, "%s", names[i][1]);
}
/* <<roofline: asking the processor>> */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>
#define ROOFLINE_CPUID 1

static void cpuid_identity(tp_processor *p)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return;
    char id[13] = {0};
    memcpy(id, &b, 4), memcpy(id + 4, &d, 4), memcpy(id + 8, &c, 4);
    name_vendor(p, id);
    if (__get_cpuid(1, &a, &b, &c, &d))
        tp_cpuid_signature(a, &p->family, &p->model, &p->stepping);
    unsigned brand[13] = {0};
    for (unsigned leaf = 0; leaf < 3; leaf++)
        if (!__get_cpuid(0x80000002 + leaf, &brand[4 * leaf],
                         &brand[4 * leaf + 1], &brand[4 * leaf + 2],
                         &brand[4 * leaf + 3]))
            return;
    char *text = (char *)brand;
    text += strspn(text, " ");
    snprintf(p->brand, sizeof p->brand, "%s", text);
    for (size_t n = strlen(p->brand); n > 0 && p->brand[n - 1] == ' '; n--)
        p->brand[n - 1] = '\0';
}
/* <<roofline: asking the processor>> */
static void cpuid_vector(tp_processor *p)
{
    unsigned a, b, c, d, ecx1, ebx7 = 0, ecx7 = 0, eax7_1 = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    ecx1 = c;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        ebx7 = b, ecx7 = c;
        if (a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d))
            eax7_1 = a;
    }
    tp_cpuid_vector(ecx1, ebx7, ecx7, eax7_1, p->vector, sizeof p->vector);
}
/* <<roofline: asking the processor>> */
static void cpuid_cache_list(tp_processor *p, unsigned leaf,
                             const char *source)
{
    unsigned a, b, c, d;
    for (unsigned i = 0; p->caches < TP_CPU_CACHES
                         && __get_cpuid_count(leaf, i, &a, &b, &c, &d); i++) {
        tp_cpu_cache cache = tp_cpuid_cache(a, b, c);
        if (cache.level == 0)
            break;
        p->cache[p->caches++] = cache;
    }
    if (p->caches > 0)
        p->cache_source = source;
}
/* <<roofline: asking the processor>> */
static void cpuid_caches(tp_processor *p)
{
    unsigned a, b, c, d, ecx5;
    if (strcmp(p->vendor, "AMD") != 0 && strcmp(p->vendor, "Hygon") != 0) {
        cpuid_cache_list(p, 4, "CPUID leaf 4");
        return;
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d) && ((c >> 22) & 1))
        cpuid_cache_list(p, 0x8000001D, "CPUID leaf 0x8000001D");
    if (p->caches > 0 || !__get_cpuid(0x80000005, &a, &b, &c, &d))
        return;
    ecx5 = c;
    if (!__get_cpuid(0x80000006, &a, &b, &c, &d))
        return;
    tp_cpuid_legacy_caches(ecx5, c, d, p->cache);
    p->caches = 3;
    p->cache_source = "CPUID leaves 0x80000005-6, sharing not given";
}
#endif
/* <<roofline: asking the processor>> */
static bool cpuinfo_field(const char *key, char *value, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return false;
    char line[4096];
    size_t n = strlen(key);
    bool found = false, at_start = true;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        bool whole = at_start;  /* a line longer than the buffer */
        at_start = strchr(line, '\n') != NULL;
        char *colon = strchr(line, ':');
        if (!whole || colon == NULL || strncmp(line, key, n) != 0
            || line + n + strspn(line + n, " \t") != colon)
            continue;
        snprintf(value, size, "%s", colon + 1 + strspn(colon + 1, " \t"));
        value[strcspn(value, "\n")] = '\0';
        found = true;
    }
    fclose(f);
    return found;
}
/* <<roofline: asking the processor>> */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *at = strstr(list, word); at != NULL;
         at = strstr(at + 1, word))
        if ((at == list || at[-1] == ' ') && (at[n] == ' ' || at[n] == '\0'))
            return true;
    return false;
}

static void processor_from_cpuinfo(tp_processor *p)
{
    char value[4096];
    if (p->vendor[0] == '\0'
        && cpuinfo_field("vendor_id", value, sizeof value))
        name_vendor(p, value);
    int *number[] = {&p->family, &p->model, &p->stepping};
    const char *key[] = {"cpu family", "model", "stepping"};
    for (int i = 0; i < 3; i++)
        if (*number[i] < 0 && cpuinfo_field(key[i], value, sizeof value)
            && isdigit((unsigned char)value[0]))
            *number[i] = atoi(value);
    if (p->vector[0] == '\0' && cpuinfo_field("flags", value, sizeof value)) {
        bool has[VECTOR_EXTENSIONS];
        for (int i = 0; i < VECTOR_EXTENSIONS; i++)
            has[i] = has_word(value, vector_extensions[i].flag);
        name_extensions(has, p->vector, sizeof p->vector);
    }
}
/* <<roofline: asking the processor>> */
static bool sysfs_fact(int index, const char *fact, char *value, size_t size)
{
    char path[96];
    snprintf(path, sizeof path,
             "/sys/devices/system/cpu/cpu0/cache/index%d/%s", index, fact);
    FILE *f = fopen(path, "r");
    bool read = f != NULL && fgets(value, (int)size, f) != NULL;
    if (f != NULL)
        fclose(f);
    return read;
}

static void caches_from_sysfs(tp_processor *p)
{
    char level[16], type[16], size[16];
    for (int i = 0; p->caches < TP_CPU_CACHES
                    && sysfs_fact(i, "level", level, sizeof level)
                    && sysfs_fact(i, "type", type, sizeof type)
                    && sysfs_fact(i, "size", size, sizeof size); i++) {
        char *unit;
        long kib = strtol(size, &unit, 10);
        p->cache[p->caches++] = (tp_cpu_cache){
            .level = atoi(level),
            .type = type[0] == 'D' ? 'd' : type[0] == 'I' ? 'i' : 'u',
            .kib = *unit == 'M' ? kib * 1024 : kib};
    }
    if (p->caches > 0)
        p->cache_source = "sysfs";
}
/* <<roofline: asking the processor>> */
void tp_processor_read(tp_processor *p)
{
    *p = (tp_processor){.family = -1, .model = -1, .stepping = -1};
#ifdef ROOFLINE_CPUID
    cpuid_identity(p);
    cpuid_vector(p);
    cpuid_caches(p);
#endif
    processor_from_cpuinfo(p);
    if (p->caches == 0)
        caches_from_sysfs(p);
}

/* <<roofline: describing the machine>> */
static void cpu_model(char *model, size_t size)
{
    if (!cpuinfo_field("model name", model, size))
        snprintf(model, size, "unknown processor");
}
/* <<roofline: describing the machine>> */
void tp_describe_machine(FILE *out)
{
    char model[128], processor[512];
    cpu_model(model, sizeof model);
    tp_processor p;
    tp_processor_read(&p);
    tp_processor_line(&p, processor, sizeof processor);
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    fprintf(out, "# machine: %s, %ld cores online\n", model,
            sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(out, "# %s\n", processor);
    fprintf(out, "# OpenBLAS: %s; kernels for %s; OPENBLAS_CORETYPE=%s; "
            "%d threads\n", openblas_get_config(), openblas_get_corename(),
            coretype ? coretype : "(unset)", tp_threads());
}
