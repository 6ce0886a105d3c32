/* Generated from book/190-cuda.nw; edit the book, not this file. */
#include "tap.h"
#include "tp.h"

static const int product_sizes[][3] = {
    {1, 1, 1}, {67, 45, 33}, {128, 128, 128}, {256, 256, 512},
    {200, 300, 129}, {257, 129, 520},
};
static const int row_sizes[][2] = {
    {1, 1}, {37, 100}, {64, 1023}, {33, 4096}, {5, 7000},
};

/* <<t-cuda: every version at one size>> */
static void check_versions(const tp_gpu_operation *op, int rows, int cols,
                           int inner)
{
    tp_gpu_case *c = tp_gpu_case_new(op, rows, cols, inner, 7);
    for (int v = 0; v < op->versions; v++) {
        tp_gpu_mismatch w;
        bool right = tp_gpu_check_version(c, v, &w);
        ok(right, "%s %s (%s) at %d x %d x %d: within the bound "
           "(worst %.2g of it)", op->name, op->version[v].name,
           op->version[v].idea, rows, cols, inner, w.ratio);
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
    /* <<t-cuda: every operation at every size>> */
    for (int i = 0; i < tp_gpu_operation_count; i++) {
        const tp_gpu_operation *op = &tp_gpu_operations[i];
        if (op->bound != TP_GPU_MEMORY_BOUND)
            for (size_t s = 0; s < sizeof product_sizes / sizeof *product_sizes;
                 s++)
                check_versions(op, product_sizes[s][0], product_sizes[s][1],
                               product_sizes[s][2]);
        else
            for (size_t s = 0; s < sizeof row_sizes / sizeof *row_sizes; s++)
                check_versions(op, row_sizes[s][0], row_sizes[s][1], 1);
    }
    return done_testing();
}
