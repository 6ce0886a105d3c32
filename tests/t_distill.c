/* Generated from book/320-decoding.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "gradients.h"
#include "tap.h"
#include "tp.h"

/* <<t-distill: logits>> */
enum { ROWS = 8, CLASSES = 7 };
static const int targets[ROWS] = {0, 6, 3, 2, 5, 1, 4, 3};

static tp_tensor *logits(tp_arena *arena, uint64_t seed, bool grad)
{
    tp_tensor *x = tp_tensor_new(arena, tp_shape2(ROWS, CLASSES),
                                 grad ? TP_WITH_GRAD : TP_NO_GRAD);
    tp_rng rng = tp_rng_seeded(seed, 0);
    tp_fill_uniform(x, &rng, -3.0f, 3.0f);
    return x;
}

typedef struct distill_case {
    const tp_tensor *teacher;
    float temperature, weight;
} distill_case;

static tp_tensor *distill_forward(tp_graph *g, tp_tensor *const inputs[],
                                  void *context)
{
    const distill_case *c = context;
    return tp_distill_loss(g, inputs[0], c->teacher, targets, c->temperature,
                           c->weight);
}

/* <<t-distill: the gradient>> */
static void gradient(tp_arena *arena)
{
    const float temperature[3] = {0.5f, 2.0f, 4.0f};
    const float weight[3] = {0.9f, 0.5f, 1.0f};
    for (int i = 0; i < 3; i++) {
        distill_case c = {logits(arena, 2, false), temperature[i], weight[i]};
        char what[64];
        snprintf(what, sizeof what, "tau %g, lambda %g", temperature[i],
                 weight[i]);
        check_gradients(distill_forward, (tp_tensor *[]){logits(arena, 1, true)},
                        1, &c, what);
    }
}

/* <<t-distill: a student equal to its teacher>> */
static void equal_student(tp_arena *arena, tp_arena *step)
{
    const float temperature[4] = {0.25f, 1.0f, 2.0f, 10.0f};
    for (int i = 0; i < 4; i++) {
        tp_tensor *student = logits(arena, 3, true);
        tp_tensor *teacher = logits(arena, 3, false);
        tp_graph g = tp_graph_on(step);
        tp_tensor *kl = tp_distill_divergence(&g, student, teacher,
                                              temperature[i]);
        tp_backward(&g, kl);
        double largest = 0.0;
        for (int e = 0; e < ROWS * CLASSES; e++)
            largest = fmax(largest, fabs(student->grad[e]));
        ok(kl->data[0] == 0.0f && largest == 0.0,
           "tau %g: a student equal to its teacher diverges by 0, with "
           "gradient 0 (largest %g)", temperature[i], largest);
        tp_graph_reset(&g);
    }
}

/* <<t-distill: the formula>> */
static double direct_divergence(const float *s, const float *t, double tau)
{
    double total = 0.0;
    for (int r = 0; r < ROWS; r++) {
        double zp = 0.0, zq = 0.0, kl = 0.0;
        for (int j = 0; j < CLASSES; j++) {
            zp += exp(t[r * CLASSES + j] / tau);
            zq += exp(s[r * CLASSES + j] / tau);
        }
        for (int j = 0; j < CLASSES; j++) {
            double p = exp(t[r * CLASSES + j] / tau) / zp;
            double q = exp(s[r * CLASSES + j] / tau) / zq;
            kl += p * log(p / q);
        }
        total += tau * tau * kl;
    }
    return total / ROWS;
}

static void formula(tp_arena *arena, tp_arena *step)
{
    const float temperature[4] = {0.5f, 1.0f, 2.0f, 8.0f};
    tp_tensor *student = logits(arena, 4, false), *teacher = logits(arena, 5, false);
    for (int i = 0; i < 4; i++) {
        tp_graph g = tp_graph_on(step);
        double got = tp_distill_divergence(&g, student, teacher,
                                           temperature[i])->data[0];
        double want = direct_divergence(student->data, teacher->data,
                                        temperature[i]);
        ok(fabs(got - want) <= 1e-5 * fmax(1.0, want),
           "tau %g: tau^2 KL is %.6f, the direct loop's %.6f", temperature[i],
           got, want);
        tp_graph_reset(&g);
    }
}

/* <<t-distill: no soft targets>> */
static void no_soft_targets(tp_arena *arena, tp_arena *step)
{
    tp_tensor *a = logits(arena, 6, true), *b = logits(arena, 6, true);
    tp_tensor *teacher = logits(arena, 7, false);
    tp_graph g = tp_graph_on(step);
    tp_tensor *loss = tp_distill_loss(&g, a, teacher, targets, 2.0f, 0.0f);
    tp_backward(&g, loss);
    float mixed = loss->data[0];
    tp_graph_reset(&g);
    loss = tp_cross_entropy(&g, b, targets, -1);
    tp_backward(&g, loss);
    float plain = loss->data[0];
    tp_graph_reset(&g);
    size_t bytes = ROWS * CLASSES * sizeof(float);
    ok(mixed == plain && memcmp(a->grad, b->grad, bytes) == 0,
       "lambda 0 gives the cross-entropy's loss (%.7f) and gradient exactly",
       (double)mixed);
}

int main(void)
{
    tp_arena *arena = tp_arena_new("t_distill"), *step = tp_arena_new("step");
    gradient(arena);
    equal_student(arena, step);
    formula(arena, step);
    no_soft_targets(arena, step);
    tp_arena_free(step);
    tp_arena_free(arena);
    return done_testing();
}
