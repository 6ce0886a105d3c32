/* Generated from book/130-matmul.nw; edit the book, not this file. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tp.h"

/* <<t-processor: signatures>> */
static void signature(unsigned eax, int family, int model, int stepping,
                      const char *what)
{
    int f, m, s;
    tp_cpuid_signature(eax, &f, &m, &s);
    if (!ok(f == family && m == model && s == stepping,
            "%s: 0x%08X is family %d, model %d, stepping %d", what, eax,
            family, model, stepping))
        diag("got family %d, model %d, stepping %d", f, m, s);
}

static void signatures(void)
{
    signature(0x00B00F21, 26, 2, 1, "AMD Zen 5, base family 0xF plus 11");
    signature(0x00A00F11, 25, 1, 1, "AMD Zen 3");
    signature(0x000806F8, 6, 143, 8, "Intel Sapphire Rapids, model 0x8F");
    signature(0x00000F29, 15, 2, 9, "Pentium 4, family 0xF, no extension");
    signature(0x00010543, 5, 4, 3, "family 5 ignores the extended model");
}

/* <<t-processor: caches>> */
static void caches(void)
{
    tp_cpu_cache l1 = tp_cpuid_cache(0x1C004121, 0x01C0003F, 0x0000003F);
    ok(l1.level == 1 && l1.type == 'd' && l1.kib == 32 && l1.sharing == 2,
       "leaf 4: level-1 data, 8 ways of 64 sets of 64 bytes, 32 KiB for "
       "2 threads");
    tp_cpu_cache l3 = tp_cpuid_cache(0x0003C163, 0x03C0003F, 0x00007FFF);
    ok(l3.level == 3 && l3.type == 'u' && l3.kib == 32 * 1024
           && l3.sharing == 16,
       "leaf 0x8000001D: level-3 unified, 16 ways of 32768 sets of 64 "
       "bytes, 32 MiB for 16 threads");
    is(tp_cpuid_cache(0, 0x03C0003F, 0x7FFF).level, 0,
       "type 0 ends the list of caches");
    tp_cpu_cache legacy[3];
    tp_cpuid_legacy_caches(0x300C0140, 0x04006140, 0x0FE09140, legacy);
    ok(legacy[0].kib == 48 && legacy[1].kib == 1024
           && legacy[2].kib == 1016 * 512 && legacy[2].sharing == 0,
       "legacy leaves of the book's machine: L1d 48 KiB, L2 1 MiB, L3 "
       "508 MiB, sharing not given");
}

/* <<t-processor: vector extensions>> */
static void vector_extensions(void)
{
    char text[96];
    tp_cpuid_vector(0xFED83203, 0xF1BB03A9, 0x18005F42, 0x30, text,
                    sizeof text);
    is_str(text, "AVX2 FMA AVX-512F AVX-512-VNNI AVX-VNNI",
           "the book's machine has AVX2, FMA, AVX-512F and both VNNIs");
    tp_cpuid_vector(1u << 12, 1u << 5, 0, 0, text, sizeof text);
    is_str(text, "AVX2 FMA", "AVX2 and FMA alone");
    tp_cpuid_vector(~(1u << 12), ~(1u << 5 | 1u << 16), ~(1u << 11),
                    ~(1u << 4), text, sizeof text);
    is_str(text, "no AVX2, FMA or AVX-512",
           "every other bit set names no extension");
}

/* <<t-processor: the header's line>> */
static void header_lines(void)
{
    tp_processor p = {.vendor = "AMD", .brand = "EPYC", .family = 26,
                      .model = 2, .stepping = 1, .vector = "AVX2 FMA",
                      .caches = 3, .cache_source = "leaves 5 and 6"};
    tp_cpuid_legacy_caches(0x300C0140, 0x04006140, 0x0FE09140, p.cache);
    char line[512];
    tp_processor_line(&p, line, sizeof line);
    is_str(line, "processor: AMD family 26 model 2 stepping 1 (EPYC); "
           "AVX2 FMA; L1d 48 KiB, L2 1 MiB, L3 508 MiB (leaves 5 and 6)",
           "a processor with every fact known");
    p.cache[0] = (tp_cpu_cache){1, 'i', 32, 2};
    p.cache[1] = tp_cpuid_cache(0x1C004121, 0x01C0003F, 0x0000003F);
    p.caches = 2;
    tp_processor_line(&p, line, sizeof line);
    ok(strstr(line, "; L1d 32 KiB for 2 threads (leaves 5 and 6)") != NULL,
       "the instruction cache is left out, sharing is said: %s", line);
    tp_processor unknown = {.family = -1, .model = -1, .stepping = -1};
    tp_processor_line(&unknown, line, sizeof line);
    is_str(line, "processor: unknown vendor family unknown model unknown "
           "stepping unknown; vector extensions unknown; caches unknown",
           "nothing known: every field says so");
    char small[24];
    tp_processor_line(&p, small, sizeof small);
    ok(strlen(small) == sizeof small - 1
           && strncmp(small, "processor: AMD family 2", 23) == 0,
       "a short buffer is filled and cut, never overrun");
}

/* <<t-processor: this machine>> */
static bool no_empty_field(const char *line)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", line);
    copy[strcspn(copy, "\n")] = '\0';
    for (char *field = strtok(copy, ";,"); field != NULL;
         field = strtok(NULL, ";,"))
        if (strspn(field, " ()") == strlen(field))
            return false;
    return strstr(line, ";;") == NULL && strstr(line, ",,") == NULL
           && strstr(line, "()") == NULL;
}

static bool kernel_family(char *family, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    bool found = false;
    while (f != NULL && !found && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "cpu family\t", 11) == 0 && strchr(line, ':')) {
            snprintf(family, size, "family %d ", atoi(strchr(line, ':') + 1));
            found = true;
        }
    if (f != NULL)
        fclose(f);
    return found;
}
/* <<t-processor: this machine>> */
static void this_machine(void)
{
    FILE *f = tmpfile();
    tp_describe_machine(f);
    rewind(f);
    char first[1024], line[1024] = "";
    bool read = fgets(first, sizeof first, f) && fgets(line, sizeof line, f);
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    ok(read && strncmp(line, "# processor: ", 13) == 0,
       "the header's second line is the processor's: %s", line);
    ok(strstr(line, " family ") != NULL, "it names the family");
    ok(no_empty_field(line + 1), "none of its fields is empty");
    char family[32];
    if (kernel_family(family, sizeof family))
        ok(strstr(line, family) != NULL, "its %sis the kernel's", family);
    else
        skip(1, "no cpu family in /proc/cpuinfo");
}

int main(void)
{
    signatures();
    caches();
    vector_extensions();
    header_lines();
    this_machine();
    return done_testing();
}
