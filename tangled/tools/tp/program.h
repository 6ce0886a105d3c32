/* Generated from book/175-command.nw; edit the book, not this file. */
#ifndef TP_PROGRAM_H
#define TP_PROGRAM_H

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp.h"

/* <<tp: commands and options>> */
typedef struct option option;

typedef struct command {
    const char *name;        /* one or two words: "bench matmul" */
    const char *summary;     /* one line, for tp help */
    const option *options;   /* ends with an entry whose name is NULL */
    int (*run)(void);        /* after the options are parsed */
    const char *operands;    /* what may follow the options, or NULL */
} command;
/* <<tp: commands and options>> */
typedef enum option_kind {
    OPTION_INT, OPTION_FLOAT, OPTION_STRING, OPTION_FLAG
} option_kind;

struct option {
    const char *name;       /* "--threads" */
    option_kind kind;
    void *value;            /* an int, a float, a const char *, or a bool */
    long min, max;          /* the range of a number */
    const char *help;       /* one line, for --help */
};

/* <<program: the frame's interface>> */
extern char **operands;
extern int operand_count;

extern volatile sig_atomic_t interrupted;
void catch_interrupts(void);

typedef struct display {
    bool terminal;
    long first;          /* the first step of this run */
    double last_printed;
} display;

bool show_progress(const tp_progress *p, void *context);
int check_output(const char *command, const char *path);
bool option_given(const void *value);
int write_manual(void);
int write_completion(void);

enum { EXIT_INTERRUPTED = 130 };  /* 128 + SIGINT, as a shell reports it */
int exit_status(int status);

int run_tp(int argc, char **argv);

/* <<program: a chapter's part>> */
typedef struct chapter_part {
    const command *commands;
    const tp_figure *figures;
} chapter_part;

extern const chapter_part *const chapter_parts[];  /* ends with NULL */

/* <<program.h: the chapters' parts>> */
extern const chapter_part matmul_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part operators_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part attention_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part data_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part command_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part drawing_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part cuda_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part vanilla_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part bert_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part gpt_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part vit_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part xl_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part sparse_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part performer_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part reformer_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part longformer_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part switch_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part quadratic_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part order_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part context_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part decoding_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part localbias_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part datahunger_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part memory_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part compute_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part length_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part instability_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part oversmoothing_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part stream_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part size_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part noise_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part explain_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part dense_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part hardware_part;
/* <<program.h: the chapters' parts>> */
extern const chapter_part deploy_part;

/* <<program.h: what chapters share>> */
typedef struct gemm_case {
    const char *label;
    int batch, m, k, n;
    bool transpose_a, transpose_b;
} gemm_case;
/* <<program.h: what chapters share>> */
typedef struct gemm_operands {
    const gemm_case *c;
    tp_tensor *a, *b, *out;        /* as tp_gemm sees them */
    const float *a_memory, *b_memory;
} gemm_operands;
/* <<program.h: what chapters share>> */
typedef struct gpt_config {
    int batch, context, width, layers, heads, vocab;
} gpt_config;
/* <<program.h: what chapters share>> */
enum { MAX_PRODUCTS = 3 * (6 * 64 + 1) };

typedef struct step_work {
    gemm_operands products[MAX_PRODUCTS];
    int n;
    double gflop;
} step_work;

void make_step_work(step_work *w, tp_arena *arena, const gpt_config *g);
void run_step(void *context);
/* <<program.h: what chapters share>> */
void plot_roof(tp_plot *p, double peak, double bandwidth, double unit,
               tp_color color, bool dashed);
/* <<program.h: what chapters share>> */
extern const char *data_path, *data_tokenizer;
int load_corpus(const char *command, tp_corpus *corpus);
int make_tokenizer(const char *command, const tp_corpus *corpus,
                   tp_tokenizer *t);
/* <<program.h: what chapters share>> */
int figure_count(void);
const tp_figure *figure_at(int i);
const tp_figure *figure_find(const char *name);
/* <<program.h: what chapters share>> */
enum { TABLE_ROWS = 512, TABLE_COLS = 32 };

typedef struct table {
    int rows, cols;
    char label[TABLE_ROWS][48];
    double value[TABLE_ROWS][TABLE_COLS];
    char comments[4096];  /* the comment lines, joined */
} table;

int read_table(const char *path, table *t, tp_error *error);
/* <<program.h: what chapters share>> */
enum { NUMBER_MAX_DIGITS = 9, NUMBER_MAX_WORDS = 18 };
int number_target_ids(void);
long number_example(tp_rng *rng, bool test, int *digits, int *n_digits,
                    int *words, int *n_words);
/* <<program.h: what chapters share>> */
int argmax(const float *x, int n);
/* <<program.h: what chapters share>> */
tp_bert *bert_load(const char *command, const char *path, tp_words *words);
/* <<program.h: what chapters share>> */
double unigram_loss(const tp_corpus *train, const tp_corpus *validation);
/* <<program.h: what chapters share>> */
typedef tp_tensor *model_loss(tp_graph *g, void *model, const int *inputs,
                              const int *targets, int batch, int context);

typedef struct gpt_windows {
    tp_gpt *m;
    const int *tokens;
    long train, total;  /* tokens [0, train) train; [train, total) validate */
    int batch, context;
    tp_rng rng;
    int *inputs, *targets;  /* batch * context each */
    model_loss *loss;       /* another model's loss, or NULL: m's */
    void *model;            /* that model */
} gpt_windows;

tp_tensor *gpt_windows_loss(tp_graph *g, long step, void *windows);
double gpt_windows_validation(gpt_windows *w, int batches);
/* <<program.h: what chapters share>> */
int save_run_or_rescue(const char *path, const char *command,
                       const tp_gpt *m, const tp_optimizer *opt,
                       const tp_rng *data, tp_error *error);
/* <<program.h: what chapters share>> */
void prompt_label(char *out, size_t size, int byte);
void head_map(tp_draw *d, const table *t, int row0, int n, const int *prompt,
              double x, double y, bool labels);
int read_attention_maps(table *t, int prompt[24], int *n, tp_error *error);
/* <<program.h: what chapters share>> */
void time_at_length(void (*step)(void *), void *context, tp_arena *arena,
                    const char *method, int n, int threads, FILE *tsv,
                    double *ms, double *mib);
/* <<program.h: what chapters share>> */
typedef struct length_figure {
    const char *data;           /* rows written by time_at_length */
    const char *length;         /* the label of the length axis */
    double fastest, slowest;    /* the time axis, in ms */
    const char *const *methods;
    const int *colors;          /* each method's tp_category */
    int count;                  /* LENGTH_FIGURE_METHODS at most */
    tp_corner legend;
} length_figure;
enum { LENGTH_FIGURE_METHODS = 8 };
int draw_time_against_length(tp_draw *d, const length_figure *f,
                             tp_error *error);
/* <<program.h: what chapters share>> */
tp_train_options lm_schedule(long steps, long tokens_per_step,
                             tp_progress_fn *progress, void *context);
void lm_report(const char *name, const tp_progress *p, double validation,
               FILE *tsv);
/* <<program.h: what chapters share>> */
void card_solutions(tp_draw *d, const tp_rect *panel,
                    const char *const rows[][3], int n);

#endif
