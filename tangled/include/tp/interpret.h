/* Generated from book/375-interpretability.nw; edit the book, not this file. */
#ifndef TP_INTERPRET_H
#define TP_INTERPRET_H

#include "tp/gpt.h"
#include "tp/random.h"

/* <<interpret.h: circuits>> */
tp_gpt *tp_gpt_attention_only(tp_gpt_config config);
void tp_repeated_tokens(int vocab, int period, int length, int batch,
                        tp_rng *rng, int *tokens);
double tp_previous_token_score(const tp_tensor *map, int head);
double tp_induction_score(const tp_tensor *map, int head, int period);

typedef struct tp_head_edit {
    int layer, head;
    const tp_tensor *source;  /* NULL: zero the head; else its output */
} tp_head_edit;

tp_tensor *tp_gpt_edited_logits(tp_gpt *m, const int *tokens, int batch,
                                int length, const tp_head_edit *edits, int n,
                                tp_tensor **heads, tp_arena *arena);
void tp_gpt_position_losses(tp_gpt *m, const int *tokens, int batch,
                            int length, const tp_head_edit *edits, int n,
                            double *losses);

/* <<interpret.h: attributions>> */
double tp_gradient_times_input(tp_gpt *m, const int *tokens, int length,
                               int position, int target, float *attribution);
double tp_integrated_gradients(tp_gpt *m, const int *tokens, int length,
                               int position, int target, int steps,
                               float *attribution, double *at_baseline);

/* <<interpret.h: rollout>> */
void tp_attention_rollout(tp_tensor *const maps[], int layers, int sequence,
                          float *rollout);

/* <<interpret.h: probes>> */
tp_tensor **tp_gpt_hidden_states(tp_gpt *m, const int *tokens, int batch,
                                 int length, tp_arena *arena);
double tp_probe_accuracy(const float *x, const int *labels, int n, int dim,
                         int classes, int train, int steps);
void tp_control_labels(const int *tokens, const int *labels, int n,
                       int vocab, uint64_t seed, int *control);

#endif
