/* Generated from book/345-length.nw; edit the book, not this file. */
#include <math.h>
#include <string.h>

#include "tp/length.h"

/* <<length: naming the methods>> */
static const char *const method_names[TP_ROPE_SCALINGS] = {
    "plain", "interpolation", "ntk", "yarn"};

const char *tp_rope_scaling_name(tp_rope_scaling method)
{
    tp_check(method >= 0 && method < TP_ROPE_SCALINGS,
             "tp_rope_scaling_name: no method %d", (int)method);
    return method_names[method];
}

int tp_rope_scaling_parse(const char *name, tp_rope_scaling *method,
                          tp_error *error)
{
    for (int i = 0; i < TP_ROPE_SCALINGS; i++)
        if (strcmp(name, method_names[i]) == 0) {
            *method = (tp_rope_scaling)i;
            return 0;
        }
    return tp_error_set(error, "unknown RoPE scaling '%s' (plain, "
                        "interpolation, ntk or yarn)", name);
}

/* <<length: the angles of each method>> */
enum { YARN_ALPHA = 1, YARN_BETA = 32 };
static const double pi = 3.14159265358979323846;

static double scaled_angle(tp_rope_scaling method, double theta, int p,
                           int d, double factor, int trained)
{
    if (factor == 1.0)
        return theta;  /* each method is the identity there, exactly */
    switch (method) {
    case TP_ROPE_INTERPOLATION:
        return theta / factor;
    case TP_ROPE_NTK:
        return theta * pow(factor, -2.0 * p / (d - 2));
    case TP_ROPE_YARN: {
        double wavelength = 2.0 * pi / theta, turns = trained / wavelength;
        double gamma = (turns - YARN_ALPHA) / (YARN_BETA - YARN_ALPHA);
        gamma = gamma < 0.0 ? 0.0 : gamma > 1.0 ? 1.0 : gamma;
        return (1.0 - gamma) * theta / factor + gamma * theta;
    }
    default:
        return theta;
    }
}
/* <<length: the angles of each method>> */
int tp_rope_scale(tp_rope *r, tp_rope_scaling method, double factor,
                  int trained, tp_error *error)
{
    int d = 2 * r->pairs;
    if (!(factor > 0.0) || !isfinite(factor))
        return tp_error_set(error, "the RoPE scaling factor must be a "
                            "positive number, not %g", factor);
    if (method < 0 || method >= TP_ROPE_SCALINGS || trained < 1
        || (method == TP_ROPE_NTK && d < 4))
        return tp_error_set(error, "cannot scale RoPE by method %d for a "
                            "head of width %d trained at %d", (int)method, d,
                            trained);
    for (int p = 0; p < r->pairs; p++) {
        double theta = pow(TP_ROPE_BASE, -2.0 * p / d);
        r->theta[p] = scaled_angle(method, theta, p, d, factor,
                                          trained);
    }
    r->mscale = method == TP_ROPE_YARN && factor > 1.0
                    ? (float)(0.1 * log(factor) + 1.0) : 1.0f;
    return 0;
}
