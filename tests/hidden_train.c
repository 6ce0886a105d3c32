/* Generated from book/990-hidden-tests.nw; edit the book, not this file. */
/* The hidden tests of exercises train.adam-update and train.warmup-cosine. */
#include <math.h>

#include "tap.h"
#include "tp.h"

enum { COUNT = 5000, STEPS = 10 };

static void adam_against_doubles(tp_optimizer_kind kind, const char *name)
{
    tp_arena *arena = tp_arena_new("hidden");
    tp_rng rng = tp_rng_seeded(2027, 11);
    tp_params params = {0};
    tp_tensor *w = tp_param_new(&params, arena, "w", tp_shape2(50, 100));
    tp_optimizer_config c = {.kind = kind, .beta1 = 0.8f, .beta2 = 0.9f,
                             .eps = 1e-6f, .weight_decay = 0.2f};
    tp_optimizer *opt = tp_optimizer_new(&params, c);
    static double theta[COUNT], m[COUNT], v[COUNT];
    for (int i = 0; i < COUNT; i++)
        theta[i] = w->data[i] = (float)(i % 7) - 3.0f, m[i] = v[i] = 0.0;
    for (int t = 1; t <= STEPS; t++) {
        double lr = 0.01 * t;
        for (int i = 0; i < COUNT; i++) {
            double g = w->grad[i] = (float)tp_rng_normal(&rng);
            if (kind == TP_ADAM)
                g += c.weight_decay * theta[i];
            m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
            v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g;
            if (kind == TP_ADAMW)
                theta[i] -= lr * c.weight_decay * theta[i];
            theta[i] -= lr * (m[i] / (1 - pow(c.beta1, t)))
                        / (sqrt(v[i] / (1 - pow(c.beta2, t))) + c.eps);
        }
        tp_optimizer_step(opt, (float)lr);
    }
    double worst = 0.0;
    for (int i = 0; i < COUNT; i++)
        worst = fmax(worst, fabs(w->data[i] - theta[i]));
    near(worst, 0.0, 1e-4, "%s: ten steps equal the update in doubles", name);
    tp_optimizer_free(opt);
    tp_params_free(&params);
    tp_arena_free(arena);
}

static void schedule_edges(void)
{
    near(tp_lr_warmup_cosine(0, 1, 11, 2.0f, 0.5f), 2.0, 1e-6,
         "a warm-up of one step starts at the full rate");
    near(tp_lr_warmup_cosine(6, 1, 11, 2.0f, 0.5f), 1.25, 1e-6,
         "half way down the cosine, the rate is half way to the floor");
    near(tp_lr_warmup_cosine(1000, 1, 11, 2.0f, 0.5f), 0.5, 0.0,
         "past the end, the floor");
    bool never_up = true;
    for (long step = 20; step < 300; step++)
        never_up = never_up && tp_lr_warmup_cosine(step + 1, 20, 300, 1.0f, 0.0f)
                                   <= tp_lr_warmup_cosine(step, 20, 300, 1.0f, 0.0f);
    ok(never_up, "after the warm-up, the rate never increases");
}

int main(void)
{
    if (exercise_tests("train.adam-update")) {
        adam_against_doubles(TP_ADAM, "Adam, coupled decay");
        adam_against_doubles(TP_ADAMW, "AdamW, decoupled decay");
    }
    if (exercise_tests("train.warmup-cosine"))
        schedule_edges();
    return done_testing();
}
