/* Generated from book/320-decoding.nw; edit the book, not this file. */
#include <math.h>

#include "tp/check.h"
#include "tp/distill.h"
#include "tp/parallel.h"

/* <<distill: the divergence>> */
/* log sum_j exp(x_j / tau), without overflow */
static double tempered_log_sum(const float *x, int c, double tau)
{
    double m = -INFINITY, sum = 0.0;
    for (int j = 0; j < c; j++)
        m = x[j] / tau > m ? x[j] / tau : m;
    for (int j = 0; j < c; j++)
        sum += exp(x[j] / tau - m);
    return m + log(sum);
}
/* <<distill: the divergence>> */
typedef struct divergence_saved {
    double *teacher_p;      /* rows * c: p at the temperature */
    double *student_lse;    /* rows: the student's log-normaliser */
    double tau;
} divergence_saved;

static double row_divergence(const float *s, const float *t, int c,
                             double tau, double *p, double *student_lse)
{
    double lse_t = tempered_log_sum(t, c, tau);
    double lse_s = tempered_log_sum(s, c, tau), kl = 0.0;
    for (int j = 0; j < c; j++) {
        double log_p = t[j] / tau - lse_t, log_q = s[j] / tau - lse_s;
        p[j] = exp(log_p);
        kl += p[j] * (log_p - log_q);
    }
    *student_lse = lse_s;
    return kl;
}
/* <<distill: the divergence>> */
static void divergence_backward(tp_node *node)
{
    const divergence_saved *s = node->saved;
    tp_tensor *x = node->input[0];
    int c = x->shape.dim[x->shape.ndim - 1];
    long rows = tp_tensor_count(x) / c;
    double scale = node->output->grad[0] * s->tau / (double)rows;
    TP_PARALLEL_FOR(rows * c)
    for (long r = 0; r < rows; r++)
        for (int j = 0; j < c; j++) {
            double q = exp(x->data[r * c + j] / s->tau - s->student_lse[r]);
            x->grad[r * c + j] +=
                (float)(scale * (q - s->teacher_p[r * c + j]));
        }
}
/* <<distill: the divergence>> */
tp_tensor *tp_distill_divergence(tp_graph *g, tp_tensor *logits,
                                 const tp_tensor *teacher, float temperature)
{
    tp_check(temperature > 0.0f, "tp_distill_divergence: the temperature %g "
             "is not positive", (double)temperature);
    tp_check(tp_shape_equal(logits->shape, teacher->shape)
                 && tp_tensor_is_contiguous(logits)
                 && tp_tensor_is_contiguous(teacher),
             "tp_distill_divergence: the student's logits %s and the "
             "teacher's %s must have one contiguous shape",
             tp_shape_str(logits->shape).text,
             tp_shape_str(teacher->shape).text);
    int c = logits->shape.dim[logits->shape.ndim - 1];
    long rows = tp_tensor_count(logits) / c;
    divergence_saved *s = tp_arena_zeroed(g->arena, 1, sizeof *s);
    s->teacher_p = tp_arena_alloc(g->arena, (size_t)(rows * c) * sizeof(double));
    s->student_lse = tp_arena_alloc(g->arena, (size_t)rows * sizeof(double));
    s->tau = temperature;
    double *kl = tp_arena_alloc(g->arena, (size_t)rows * sizeof *kl), total = 0;
    TP_PARALLEL_FOR(rows * c)
    for (long r = 0; r < rows; r++)
        kl[r] = row_divergence(logits->data + r * c, teacher->data + r * c, c,
                               s->tau, s->teacher_p + r * c, s->student_lse + r);
    for (long r = 0; r < rows; r++)  /* in order: the same sum every run */
        total += kl[r];
    bool grad = tp_needs_grad(g, 1, (tp_tensor *[]){logits});
    tp_tensor *loss = tp_tensor_empty(g->arena, tp_shape1(1),
                                      grad ? TP_WITH_GRAD : TP_NO_GRAD);
    loss->data[0] = (float)(s->tau * s->tau * total / (double)rows);
    if (grad)
        tp_record(g, "distill_divergence", divergence_backward, loss, 1,
                  (tp_tensor *[]){logits})->saved = s;
    return loss;
}

/* <<distill: the loss>> */
tp_tensor *tp_distill_loss(tp_graph *g, tp_tensor *logits,
                           const tp_tensor *teacher, const int *targets,
                           float temperature, float weight)
{
    tp_check(weight >= 0.0f && weight <= 1.0f, "tp_distill_loss: the weight "
             "%g of the soft targets is not in [0, 1]", (double)weight);
    tp_tensor *hard = tp_cross_entropy(g, logits, targets, -1);
    tp_tensor *soft = tp_distill_divergence(g, logits, teacher, temperature);
    return tp_add(g, tp_scale(g, hard, 1.0f - weight),
                  tp_scale(g, soft, weight));
}
