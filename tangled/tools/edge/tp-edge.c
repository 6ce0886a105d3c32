/* Generated from book/390-deployment.nw; edit the book, not this file. */
#define _GNU_SOURCE  /* dl_iterate_phdr */
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tp/compute.h"
#include "tp/deploy.h"
#include "tp/bench.h"
#include "tp/matmul.h"

/* <<tp-edge: shared libraries>> */
typedef struct libraries {
    int count;
    char names[1024];
} libraries;

static int add_library(struct dl_phdr_info *info, size_t size, void *context)
{
    (void)size;
    libraries *l = context;
    const char *name = info->dlpi_name, *slash = strrchr(name, '/');
    if (name[0] == '\0' || strstr(name, "linux-vdso") != NULL)
        return 0;
    size_t used = strlen(l->names);
    snprintf(l->names + used, sizeof l->names - used, "%s%s",
             l->count++ > 0 ? "," : "", slash != NULL ? slash + 1 : name);
    return 0;
}

/* <<tp-edge: decoding>> */
static bool write_token(int token, void *context)
{
    (void)context;
    putchar(token);
    fflush(stdout);
    return true;
}

static int bench(tp_quant_gpt *q, const char *label, int tokens)
{
    int prompt[4] = {'T', 'h', 'e', ' '};
    double *times = malloc((size_t)tokens * sizeof *times), rate[5];
    for (int r = 0; r < 5; r++) {
        int made = tp_gpt_token_times(q->model, prompt, 4, tokens, times);
        rate[r] = (made - 1) / (times[made - 1] - times[0]);
    }
    free(times);
    libraries l = {0};
    dl_iterate_phdr(add_library, &l);
    struct stat self;
    long size = stat("/proc/self/exe", &self) == 0 ? (long)self.st_size : -1;
    printf("%s\t%ld\t%d\t%.3f\t%s\n", label, size, l.count,
           tp_median(rate, 5), l.names);
    return 0;
}
/* <<tp-edge: decoding>> */
int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--machine") == 0) {
        tp_describe_machine(stdout);
        printf("linking\tbytes\tshared_libraries\ttokens_per_s\tlibraries\n");
        return 0;
    }
    bool timing = argc == 4 && strcmp(argv[1], "--bench") == 0;
    if (!timing && (argc < 2 || argc > 3)) {
        fprintf(stderr, "usage: tp-edge INT8-CHECKPOINT [PROMPT]\n"
                "       tp-edge --bench LABEL INT8-CHECKPOINT\n"
                "       tp-edge --machine\n");
        return 1;
    }
    tp_error error;
    tp_quant_gpt *q = tp_quant_gpt_load(argv[timing ? 3 : 1], &error);
    if (q == NULL) {
        fprintf(stderr, "tp-edge: %s\n", error.message);
        return 1;
    }
    tp_quant_gpt_attach(q);
    int status = 0, positions = q->model->config.n_positions;
    if (timing)
        status = bench(q, argv[2], positions - 4);
    else {
        /* <<tp-edge: continue the prompt>> */
        const char *text = argc == 3 ? argv[2] : "The ";
        int n = (int)strlen(text);
        if (n < 1 || n >= positions) {
            fprintf(stderr, "tp-edge: the prompt must have 1 to %d bytes\n",
                    positions - 1);
            status = 1;
        } else {
            int *prompt = malloc((size_t)n * sizeof *prompt);
            for (int i = 0; i < n; i++)
                prompt[i] = (unsigned char)text[i];
            fputs(text, stdout);
            tp_sampling greedy = {0.0f, 0, 1.0f};
            tp_gpt_stream(q->model, prompt, n, positions - n, greedy, NULL,
                          write_token, NULL);
            putchar('\n');
            free(prompt);
        }
    }
    tp_quant_gpt_free(q);
    return status;
}
