/* Generated from book/385-hardware.nw; edit the book, not this file. */
#include "tap.h"
#include "tp.h"

static void check_versions(const tp_gpu_operation *op, int n, int d,
                           int heads)
{
    tp_gpu_case *c = tp_gpu_case_new(op, n, d, heads, 11);
    for (int v = 0; v < op->versions; v++) {
        tp_gpu_mismatch w;
        bool right = tp_gpu_check_version(c, v, &w);
        ok(right, "%s %s (%s), %d heads of %d x %d: within the bound "
           "(worst %.2g of it)", op->name, op->version[v].name,
           op->version[v].idea, heads, n, d, w.ratio);
        if (!right)
            diag("%ld outside; worst %s[%ld] = %g, want %g within %g", w.bad,
                 op->output_name[w.output], w.index, w.got, w.want,
                 w.tolerance);
    }
    tp_gpu_case_free(c);
}

int main(void)
{
    tp_gpu gpu;
    char why[256];
    if (tp_gpu_open(&gpu, why, sizeof why) != 0) {
        note("%s", why);
        skip_all("no CUDA device");
    }
    note("%s", gpu.name);
    static const int lengths[] = {1, 31, 33, 100, 257};
    static const int cache_lengths[] = {1, 255, 256, 257, 1000};
    for (int w = 0; w < TP_FLASH_HEAD_DIMS; w++)
        for (int heads = 1; heads <= 3; heads += 2)
            for (int s = 0; s < 5; s++) {
                int d = tp_flash_head_dims[w];
                check_versions(tp_flash_operation_named("attention"),
                               lengths[s], d, heads);
                check_versions(tp_flash_operation_named("attention-backward"),
                               lengths[s], d, heads);
                check_versions(tp_flash_operation_named("attention-decode"),
                               cache_lengths[s], d, heads);
            }
    return done_testing();
}
