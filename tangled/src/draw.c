/* Generated from book/180-drawing.nw; edit the book, not this file. */
#include <math.h>
#include <pango/pangocairo.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tp/draw.h"

static const double pi = 3.14159265358979323846;

/* <<draw: palettes>> */
static const unsigned okabe_ito[8] = {0xE69F00, 0x56B4E9, 0x009E73,
                                      0xF0E442, 0x0072B2, 0xD55E00,
                                      0xCC79A7, 0x999999};

static const unsigned viridis[256] = {
    /* <<draw: the 256 colours of viridis>> */
    0x440154, 0x440256, 0x450457, 0x450559, 0x46075A, 0x46085C, 0x460A5D, 0x460B5E,
    0x470D60, 0x470E61, 0x471063, 0x471164, 0x471365, 0x481467, 0x481668, 0x481769,
    0x48186A, 0x481A6C, 0x481B6D, 0x481C6E, 0x481D6F, 0x481F70, 0x482071, 0x482173,
    0x482374, 0x482475, 0x482576, 0x482677, 0x482878, 0x482979, 0x472A7A, 0x472C7A,
    0x472D7B, 0x472E7C, 0x472F7D, 0x46307E, 0x46327E, 0x46337F, 0x463480, 0x453581,
    0x453781, 0x453882, 0x443983, 0x443A83, 0x443B84, 0x433D84, 0x433E85, 0x423F85,
    0x424086, 0x424186, 0x414287, 0x414487, 0x404588, 0x404688, 0x3F4788, 0x3F4889,
    0x3E4989, 0x3E4A89, 0x3E4C8A, 0x3D4D8A, 0x3D4E8A, 0x3C4F8A, 0x3C508B, 0x3B518B,
    0x3B528B, 0x3A538B, 0x3A548C, 0x39558C, 0x39568C, 0x38588C, 0x38598C, 0x375A8C,
    0x375B8D, 0x365C8D, 0x365D8D, 0x355E8D, 0x355F8D, 0x34608D, 0x34618D, 0x33628D,
    0x33638D, 0x32648E, 0x32658E, 0x31668E, 0x31678E, 0x31688E, 0x30698E, 0x306A8E,
    0x2F6B8E, 0x2F6C8E, 0x2E6D8E, 0x2E6E8E, 0x2E6F8E, 0x2D708E, 0x2D718E, 0x2C718E,
    0x2C728E, 0x2C738E, 0x2B748E, 0x2B758E, 0x2A768E, 0x2A778E, 0x2A788E, 0x29798E,
    0x297A8E, 0x297B8E, 0x287C8E, 0x287D8E, 0x277E8E, 0x277F8E, 0x27808E, 0x26818E,
    0x26828E, 0x26828E, 0x25838E, 0x25848E, 0x25858E, 0x24868E, 0x24878E, 0x23888E,
    0x23898E, 0x238A8D, 0x228B8D, 0x228C8D, 0x228D8D, 0x218E8D, 0x218F8D, 0x21908D,
    0x21918C, 0x20928C, 0x20928C, 0x20938C, 0x1F948C, 0x1F958B, 0x1F968B, 0x1F978B,
    0x1F988B, 0x1F998A, 0x1F9A8A, 0x1E9B8A, 0x1E9C89, 0x1E9D89, 0x1F9E89, 0x1F9F88,
    0x1FA088, 0x1FA188, 0x1FA187, 0x1FA287, 0x20A386, 0x20A486, 0x21A585, 0x21A685,
    0x22A785, 0x22A884, 0x23A983, 0x24AA83, 0x25AB82, 0x25AC82, 0x26AD81, 0x27AD81,
    0x28AE80, 0x29AF7F, 0x2AB07F, 0x2CB17E, 0x2DB27D, 0x2EB37C, 0x2FB47C, 0x31B57B,
    0x32B67A, 0x34B679, 0x35B779, 0x37B878, 0x38B977, 0x3ABA76, 0x3BBB75, 0x3DBC74,
    0x3FBC73, 0x40BD72, 0x42BE71, 0x44BF70, 0x46C06F, 0x48C16E, 0x4AC16D, 0x4CC26C,
    0x4EC36B, 0x50C46A, 0x52C569, 0x54C568, 0x56C667, 0x58C765, 0x5AC864, 0x5CC863,
    0x5EC962, 0x60CA60, 0x63CB5F, 0x65CB5E, 0x67CC5C, 0x69CD5B, 0x6CCD5A, 0x6ECE58,
    0x70CF57, 0x73D056, 0x75D054, 0x77D153, 0x7AD151, 0x7CD250, 0x7FD34E, 0x81D34D,
    0x84D44B, 0x86D549, 0x89D548, 0x8BD646, 0x8ED645, 0x90D743, 0x93D741, 0x95D840,
    0x98D83E, 0x9BD93C, 0x9DD93B, 0xA0DA39, 0xA2DA37, 0xA5DB36, 0xA8DB34, 0xAADC32,
    0xADDC30, 0xB0DD2F, 0xB2DD2D, 0xB5DE2B, 0xB8DE29, 0xBADE28, 0xBDDF26, 0xC0DF25,
    0xC2DF23, 0xC5E021, 0xC8E020, 0xCAE11F, 0xCDE11D, 0xD0E11C, 0xD2E21B, 0xD5E21A,
    0xD8E219, 0xDAE319, 0xDDE318, 0xDFE318, 0xE2E418, 0xE5E419, 0xE7E419, 0xEAE51A,
    0xECE51B, 0xEFE51C, 0xF1E51D, 0xF4E61E, 0xF6E620, 0xF8E621, 0xFBE723, 0xFDE725,
};
/* <<draw: palettes>> */
tp_color tp_rgb(unsigned hex)
{
    return (tp_color){((hex >> 16) & 0xff) / 255.0, ((hex >> 8) & 0xff) / 255.0,
                      (hex & 0xff) / 255.0};
}

tp_color tp_category(int i)
{
    return tp_rgb(okabe_ito[((i % 8) + 8) % 8]);
}

tp_color tp_viridis(double t)
{
    t = isnan(t) ? 0.0 : t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t;
    return tp_rgb(viridis[(int)lround(t * 255.0)]);
}

void tp_set_color(cairo_t *cr, tp_color c)
{
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

/* <<draw: text with Pango>> */
static PangoLayout *layout_for(tp_draw *d, double size, const char *markup)
{
    tp_check(pango_parse_markup(markup, -1, 0, NULL, NULL, NULL, NULL),
             "not valid Pango markup: %s", markup);
    PangoLayout *layout = pango_cairo_create_layout(d->cr);
    PangoContext *context = pango_layout_get_context(layout);
    pango_cairo_context_set_resolution(context, 72.0);
    cairo_font_options_t *options = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(context, options);
    cairo_font_options_destroy(options);
    pango_context_set_round_glyph_positions(context, FALSE);
    pango_layout_context_changed(layout);
    /* <<draw: set the font and the text>> */
    char font[128];
    snprintf(font, sizeof font, "%s %g", TP_SANS, size);
    PangoFontDescription *description = pango_font_description_from_string(font);
    pango_layout_set_font_description(layout, description);
    pango_font_description_free(description);
    pango_layout_set_markup(layout, markup, -1);
    d->missing_glyphs += pango_layout_get_unknown_glyphs_count(layout);
    return layout;
}
/* <<draw: text with Pango>> */
static void show(tp_draw *d, PangoLayout *layout, double x, double y)
{
    cairo_move_to(d->cr, x, y);
    pango_cairo_show_layout(d->cr, layout);
    cairo_new_path(d->cr);
    g_object_unref(layout);
}

void tp_text(tp_draw *d, double x, double y, double ax, double ay,
             double size, const char *markup)
{
    PangoLayout *layout = layout_for(d, size, markup);
    PangoRectangle ink, logical;
    pango_layout_get_extents(layout, &ink, &logical);
    double w = (double)logical.width / PANGO_SCALE;
    double h = (double)logical.height / PANGO_SCALE;
    show(d, layout, x - ax * w, y - ay * h);
}
/* <<draw: text with Pango>> */
double tp_text_width(tp_draw *d, double size, const char *markup)
{
    PangoLayout *layout = layout_for(d, size, markup);
    PangoRectangle logical;
    pango_layout_get_extents(layout, NULL, &logical);
    g_object_unref(layout);
    return (double)logical.width / PANGO_SCALE;
}
/* <<draw: text with Pango>> */
void tp_text_box(tp_draw *d, double x, double y, double w, double h,
                 double size, const char *markup)
{
    PangoLayout *layout = layout_for(d, size, markup);
    pango_layout_set_width(layout, (int)(w * PANGO_SCALE));
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD);
    pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER);
    PangoRectangle ink, logical;
    pango_layout_get_extents(layout, &ink, &logical);
    double text_w = (double)ink.width / PANGO_SCALE;
    double text_h = (double)logical.height / PANGO_SCALE;
    if (text_w > w + 0.01 || text_h > h + 0.01)
        d->overflows++;
    show(d, layout, x, y + (h - text_h) / 2);
}

/* <<draw: drawing shapes>> */
void tp_rounded_box(tp_draw *d, double x, double y, double w, double h,
                    double radius, tp_color fill, tp_color stroke)
{
    cairo_t *cr = d->cr;
    double r = fmin(radius, fmin(w, h) / 2);
    cairo_new_sub_path(cr);
    cairo_arc(cr, x + w - r, y + r, r, -(pi / 2), 0);
    cairo_arc(cr, x + w - r, y + h - r, r, 0, (pi / 2));
    cairo_arc(cr, x + r, y + h - r, r, (pi / 2), pi);
    cairo_arc(cr, x + r, y + r, r, pi, 3 * pi / 2);
    cairo_close_path(cr);
    tp_set_color(cr, fill);
    cairo_fill_preserve(cr);
    tp_set_color(cr, stroke);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
}
/* <<draw: drawing shapes>> */
void tp_arrow(tp_draw *d, double x0, double y0, double x1, double y1,
              tp_color color, double width)
{
    cairo_t *cr = d->cr;
    double angle = atan2(y1 - y0, x1 - x0), head = 4 * width + 2;
    tp_set_color(cr, color);
    cairo_set_line_width(cr, width);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1 - head * cos(angle), y1 - head * sin(angle));
    cairo_stroke(cr);
    cairo_move_to(cr, x1, y1);
    cairo_line_to(cr, x1 - head * cos(angle - 0.4), y1 - head * sin(angle - 0.4));
    cairo_line_to(cr, x1 - head * cos(angle + 0.4), y1 - head * sin(angle + 0.4));
    cairo_close_path(cr);
    cairo_fill(cr);
}
/* <<draw: drawing shapes>> */
void tp_label_box(tp_draw *d, double x, double y, double w, double h,
                  tp_color color, double size, const char *markup)
{
    tp_color light = {1 - 0.18 * (1 - color.r), 1 - 0.18 * (1 - color.g),
                      1 - 0.18 * (1 - color.b)};
    tp_rounded_box(d, x, y, w, h, 4, light, color);
    cairo_set_source_rgb(d->cr, 0, 0, 0);
    tp_text_box(d, x + 3, y + 1, w - 6, h - 2, size, markup);
}

void tp_callout(tp_draw *d, double x, double y, double w, double h,
                const char *markup, double to_x, double to_y)
{
    tp_label_box(d, x, y, w, h, tp_category(7), 8, markup);
    double from_x = to_x < x ? x : to_x > x + w ? x + w : to_x;
    double from_y = to_y < y ? y : to_y > y + h ? y + h : to_y;
    tp_arrow(d, from_x, from_y, to_x, to_y, tp_category(7), 0.8);
}
/* <<draw: drawing shapes>> */
void tp_token_row(tp_draw *d, double x, double y, double cell_w,
                  double cell_h, const char *const tokens[], int n,
                  tp_color color)
{
    for (int i = 0; i < n; i++)
        tp_label_box(d, x + i * cell_w, y, cell_w - 2, cell_h, color, 8,
                     tokens[i]);
}

void tp_matrix(tp_draw *d, double x, double y, int rows, int cols,
               double cell, tp_color color, const char *label)
{
    cairo_t *cr = d->cr;
    tp_color light = {1 - 0.25 * (1 - color.r), 1 - 0.25 * (1 - color.g),
                      1 - 0.25 * (1 - color.b)};
    tp_set_color(cr, light);
    cairo_rectangle(cr, x, y, cols * cell, rows * cell);
    cairo_fill(cr);
    tp_set_color(cr, color);
    cairo_set_line_width(cr, 0.5);
    for (int i = 0; i <= rows; i++)
        cairo_move_to(cr, x, y + i * cell), cairo_rel_line_to(cr, cols * cell, 0);
    for (int j = 0; j <= cols; j++)
        cairo_move_to(cr, x + j * cell, y), cairo_rel_line_to(cr, 0, rows * cell);
    cairo_stroke(cr);
    if (label != NULL) {
        cairo_set_source_rgb(cr, 0, 0, 0);
        tp_text(d, x + cols * cell / 2, y + rows * cell + 3, 0.5, 0.0, 8, label);
    }
}

/* <<draw: choosing ticks>> */
int tp_nice_ticks(double lo, double hi, int n, double ticks[TP_MAX_TICKS])
{
    tp_check(hi > lo && n >= 1 && n < TP_MAX_TICKS,
             "no ticks for [%g, %g] with %d intervals", lo, hi, n);
    static const double nice[] = {1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10};
    double raw = (hi - lo) / n, scale = pow(10.0, floor(log10(raw)));
    double step = 10 * scale;
    for (int i = 0; i < 10; i++)
        if (nice[i] * scale >= raw * (1 - 1e-9)) {
            step = nice[i] * scale;
            break;
        }
    double first = ceil(lo / step - 1e-9);
    int count = 0;
    for (double k = first; k * step <= hi + 1e-9 * step && count < TP_MAX_TICKS;
         k++)
        ticks[count++] = k * step + 0.0;  /* + 0.0 turns -0 into 0 */
    return count;
}
/* <<draw: choosing ticks>> */
int tp_log_ticks(double lo, double hi, double ticks[TP_MAX_TICKS])
{
    tp_check(lo > 0 && hi > lo, "no logarithmic ticks for [%g, %g]", lo, hi);
    int count = 0;
    for (int e = (int)ceil(log10(lo) - 1e-9);
         e <= (int)floor(log10(hi) + 1e-9) && count < TP_MAX_TICKS; e++)
        ticks[count++] = pow(10.0, e);
    return count;
}

/* <<draw: fitting a power law>> */
double tp_power_fit(const double *x, const double *y, int n,
                    double *coefficient)
{
    double su = 0, sv = 0, suu = 0, suv = 0;
    for (int i = 0; i < n; i++) {
        tp_check(x[i] > 0 && y[i] > 0, "a power law needs positive points");
        double u = log(x[i]), v = log(y[i]);
        su += u, sv += v, suu += u * u, suv += u * v;
    }
    double denominator = n * suu - su * su;
    tp_check(n >= 2 && denominator > 0, "a power fit needs two distinct x");
    double k = (n * suv - su * sv) / denominator;
    if (coefficient != NULL)
        *coefficient = exp((sv - k * su) / n);
    return k;
}

/* <<draw: drawing plots>> */
static double axis_fraction(const tp_axis *a, double v)
{
    if (a->log)
        return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    return (v - a->lo) / (a->hi - a->lo);
}

double tp_plot_x(const tp_plot *p, double v)
{
    return p->x + p->w * axis_fraction(&p->ax, v);
}

double tp_plot_y(const tp_plot *p, double v)
{
    return p->y + p->h * (1.0 - axis_fraction(&p->ay, v));
}
/* <<draw: drawing plots>> */
static void tick_label(const tp_axis *a, double v, char *text, size_t size)
{
    if (a->names != NULL)
        snprintf(text, size, "%s", a->names[(int)lround(v)]);
    else if (a->log)
        snprintf(text, size, "10<sup>%d</sup>", (int)lround(log10(v)));
    else
        snprintf(text, size, "%g", fabs(v) < 1e-12 ? 0.0 : v);
}

static int axis_ticks(const tp_axis *a, double ticks[TP_MAX_TICKS])
{
    if (a->names != NULL) {
        int n = 0;
        for (int i = (int)ceil(a->lo); i <= a->hi && n < TP_MAX_TICKS; i++)
            ticks[n++] = i;
        return n;
    }
    return a->log ? tp_log_ticks(a->lo, a->hi, ticks)
                  : tp_nice_ticks(a->lo, a->hi, 5, ticks);
}
/* <<draw: drawing plots>> */
static void minor_ticks(tp_plot *p, bool x_axis)
{
    const tp_axis *a = x_axis ? &p->ax : &p->ay;
    if (!a->log)
        return;
    cairo_t *cr = p->d->cr;
    cairo_set_line_width(cr, 0.6);
    for (double decade = pow(10, floor(log10(a->lo))); decade < a->hi;
         decade *= 10)
        for (int m = 2; m <= 9; m++) {
            double v = m * decade;
            if (v < a->lo || v > a->hi)
                continue;
            if (x_axis)
                cairo_move_to(cr, tp_plot_x(p, v), p->y + p->h),
                    cairo_rel_line_to(cr, 0, 2.0);
            else
                cairo_move_to(cr, p->x, tp_plot_y(p, v)),
                    cairo_rel_line_to(cr, -2.0, 0);
        }
    cairo_stroke(cr);
}
/* <<draw: drawing plots>> */
static void major_ticks(tp_plot *p, bool x_axis)
{
    tp_draw *d = p->d;
    const tp_axis *a = x_axis ? &p->ax : &p->ay;
    double ticks[TP_MAX_TICKS];
    int n = axis_ticks(a, ticks);
    for (int i = 0; i < n; i++) {
        double at = x_axis ? tp_plot_x(p, ticks[i]) : tp_plot_y(p, ticks[i]);
        char label[32];
        tick_label(a, ticks[i], label, sizeof label);
        /* <<draw: one major tick, its grid line and its label>> */
        cairo_set_source_rgb(d->cr, 0.88, 0.88, 0.88);
        cairo_set_line_width(d->cr, 0.5);
        if (x_axis)
            cairo_move_to(d->cr, at, p->y), cairo_line_to(d->cr, at, p->y + p->h);
        else
            cairo_move_to(d->cr, p->x, at), cairo_line_to(d->cr, p->x + p->w, at);
        cairo_stroke(d->cr);
        cairo_set_source_rgb(d->cr, 0, 0, 0);
        cairo_set_line_width(d->cr, 0.8);
        if (x_axis) {
            cairo_move_to(d->cr, at, p->y + p->h), cairo_rel_line_to(d->cr, 0, 3.5);
            cairo_stroke(d->cr);
            tp_text(d, at, p->y + p->h + 3.5 + 3.5, 0.5, 0.0, 8, label);
        } else {
            cairo_move_to(d->cr, p->x, at), cairo_rel_line_to(d->cr, -3.5, 0);
            cairo_stroke(d->cr);
            tp_text(d, p->x - 3.5 - 3.5, at, 1.0, 0.5, 8, label);
        }
    }
}
/* <<draw: drawing plots>> */
void tp_plot_frame(tp_plot *p)
{
    cairo_t *cr = p->d->cr;
    major_ticks(p, true);
    major_ticks(p, false);
    cairo_set_source_rgb(cr, 0, 0, 0);
    minor_ticks(p, true);
    minor_ticks(p, false);
    cairo_set_line_width(cr, 0.8);
    cairo_rectangle(cr, p->x, p->y, p->w, p->h);
    cairo_stroke(cr);
    if (p->ax.label != NULL)
        tp_text(p->d, p->x + p->w / 2, p->y + p->h + 22, 0.5, 0.0, 9,
                p->ax.label);
    if (p->ay.label != NULL) {
        cairo_save(cr);
        cairo_translate(cr, p->x - 34, p->y + p->h / 2);
        cairo_rotate(cr, -(pi / 2));
        tp_text(p->d, 0, 0, 0.5, 1.0, 9, p->ay.label);
        cairo_restore(cr);
    }
}
/* <<draw: drawing plots>> */
void tp_plot_line(tp_plot *p, const double *x, const double *y, int n,
                  tp_color color, bool dashed, bool markers)
{
    cairo_t *cr = p->d->cr;
    cairo_save(cr);
    cairo_rectangle(cr, p->x, p->y, p->w, p->h);
    cairo_clip(cr);
    tp_set_color(cr, color);
    cairo_set_line_width(cr, 1.4);
    double dash[] = {4.0, 2.5};
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
    for (int i = 0; i < n; i++)
        cairo_line_to(cr, tp_plot_x(p, x[i]), tp_plot_y(p, y[i]));
    cairo_stroke(cr);
    for (int i = 0; markers && i < n; i++) {
        cairo_arc(cr, tp_plot_x(p, x[i]), tp_plot_y(p, y[i]), 2.2, 0, 2 * pi);
        cairo_fill(cr);
    }
    cairo_restore(cr);
}
/* <<draw: drawing plots>> */
void tp_plot_bars(tp_plot *p, const double *values, int n, tp_color color)
{
    double base = p->ay.log ? p->ay.lo : fmax(p->ay.lo, 0.0);
    double half = p->w / (p->ax.hi - p->ax.lo) / 3;
    tp_set_color(p->d->cr, color);
    for (int i = 0; i < n; i++) {
        double x = tp_plot_x(p, i), top = tp_plot_y(p, values[i]);
        cairo_rectangle(p->d->cr, x - half, top, 2 * half,
                        tp_plot_y(p, base) - top);
    }
    cairo_fill(p->d->cr);
}
/* <<draw: drawing plots>> */
void tp_plot_legend(tp_plot *p, const tp_legend_entry *entries, int n,
                    tp_corner corner)
{
    tp_draw *d = p->d;
    double width = 0, line = 11;
    for (int i = 0; i < n; i++)
        width = fmax(width, tp_text_width(d, 8, entries[i].label));
    bool right = corner == TP_TOP_RIGHT || corner == TP_BOTTOM_RIGHT;
    bool bottom = corner == TP_BOTTOM_LEFT || corner == TP_BOTTOM_RIGHT;
    double x = right ? p->x + p->w - 6 - (width + 28) : p->x + 6;
    double y = bottom ? p->y + p->h - 6 - (n * line + 6) : p->y + 6;
    cairo_set_source_rgb(d->cr, 1, 1, 1);
    cairo_rectangle(d->cr, x, y, width + 28, n * line + 6);
    cairo_fill(d->cr);
    for (int i = 0; i < n; i++) {
        double cy = y + 3 + line * (i + 0.5);
        tp_set_color(d->cr, entries[i].color);
        cairo_set_line_width(d->cr, 1.4);
        double dash[] = {4.0, 2.5};
        cairo_set_dash(d->cr, dash, entries[i].dashed ? 2 : 0, 0);
        cairo_move_to(d->cr, x + 4, cy), cairo_rel_line_to(d->cr, 16, 0);
        cairo_stroke(d->cr);
        cairo_set_dash(d->cr, NULL, 0, 0);
        cairo_set_source_rgb(d->cr, 0, 0, 0);
        tp_text(d, x + 24, cy, 0.0, 0.5, 8, entries[i].label);
    }
}

/* <<draw: drawing heatmaps>> */
static cairo_surface_t *cell_image(const float *values, int rows, int cols,
                                   const unsigned char *masked, double lo,
                                   double hi)
{
    cairo_surface_t *image = cairo_image_surface_create(CAIRO_FORMAT_RGB24,
                                                        cols, rows);
    cairo_surface_flush(image);
    unsigned char *pixels = cairo_image_surface_get_data(image);
    int stride = cairo_image_surface_get_stride(image);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            tp_color c = masked != NULL && masked[i * cols + j]
                             ? tp_rgb(0xEEEEEE)
                             : tp_viridis((values[i * cols + j] - lo) / (hi - lo));
            uint32_t rgb = (uint32_t)lround(c.r * 255) << 16
                           | (uint32_t)lround(c.g * 255) << 8
                           | (uint32_t)lround(c.b * 255);
            memcpy(pixels + i * stride + 4 * j, &rgb, 4);
        }
    cairo_surface_mark_dirty(image);
    return image;
}
/* <<draw: drawing heatmaps>> */
static void hatch(cairo_t *cr, double x, double y, double w, double h)
{
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, 0.72, 0.72, 0.72);
    cairo_set_line_width(cr, 0.5);
    for (double k = -h; k < w; k += 3.0)
        cairo_move_to(cr, x + k, y + h), cairo_line_to(cr, x + k + h, y);
    cairo_stroke(cr);
    cairo_restore(cr);
}
/* <<draw: drawing heatmaps>> */
void tp_heatmap(tp_draw *d, double x, double y, double w, double h,
                const float *values, int rows, int cols,
                const unsigned char *masked, double lo, double hi)
{
    cairo_surface_t *image = cell_image(values, rows, cols, masked, lo, hi);
    cairo_save(d->cr);
    cairo_translate(d->cr, x, y);
    cairo_scale(d->cr, w / cols, h / rows);
    cairo_set_source_surface(d->cr, image, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(d->cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(d->cr, 0, 0, cols, rows);
    cairo_fill(d->cr);
    cairo_restore(d->cr);
    cairo_surface_destroy(image);
    double cw = w / cols, ch = h / rows;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            if (masked != NULL && masked[i * cols + j])
                hatch(d->cr, x + j * cw, y + i * ch, cw, ch);
            else if (cw >= 16 && ch >= 9)
                /* <<draw: print the value of a large cell>> */
                {
                    double t = (values[i * cols + j] - lo) / (hi - lo);
                    char text[16];
                    snprintf(text, sizeof text, "%.2f", values[i * cols + j]);
                    if (t < 0.6)
                        cairo_set_source_rgb(d->cr, 1, 1, 1);
                    else
                        cairo_set_source_rgb(d->cr, 0, 0, 0);
                    tp_text(d, x + (j + 0.5) * cw, y + (i + 0.5) * ch, 0.5, 0.5,
                            fmin(7, ch * 0.7), text);
                }
        }
}
/* <<draw: drawing heatmaps>> */
void tp_colorbar(tp_draw *d, double x, double y, double w, double h,
                 double lo, double hi, const char *label)
{
    for (int k = 0; k < 256; k++) {
        tp_set_color(d->cr, tp_viridis(k / 255.0));
        cairo_rectangle(d->cr, x, y + h * (1 - (k + 1) / 256.0), w,
                        h / 256.0 + 0.05);
        cairo_fill(d->cr);
    }
    double ticks[TP_MAX_TICKS];
    int n = tp_nice_ticks(lo, hi, 4, ticks);
    cairo_set_source_rgb(d->cr, 0, 0, 0);
    cairo_set_line_width(d->cr, 0.6);
    for (int i = 0; i < n; i++) {
        double ty = y + h * (1 - (ticks[i] - lo) / (hi - lo));
        char text[32];
        snprintf(text, sizeof text, "%g", ticks[i]);
        cairo_move_to(d->cr, x + w, ty), cairo_rel_line_to(d->cr, 2.5, 0);
        cairo_stroke(d->cr);
        tp_text(d, x + w + 4, ty, 0.0, 0.5, 7, text);
    }
    if (label != NULL)
        tp_text(d, x + w / 2, y - 3, 0.5, 1.0, 8, label);
}

/* <<draw: drawing the card>> */
static void panel(tp_draw *d, tp_rect r, const char *heading, tp_color color)
{
    tp_rounded_box(d, r.x, r.y, r.w, r.h, 6, tp_rgb(0xFAFAFA), color);
    tp_set_color(d->cr, color);
    tp_text(d, r.x + 8, r.y + 5, 0.0, 0.0, 8, heading);
}

void tp_card(tp_draw *d, double width, double height, const char *title,
             const char *subtitle, const char *source, tp_rect *problem,
             tp_rect *solutions)
{
    double m = 12, top = 50, bottom = 20, gap = 8;
    cairo_set_source_rgb(d->cr, 0, 0, 0);
    tp_text(d, m, m, 0.0, 0.0, 14, title);
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    tp_text(d, m, m + 19, 0.0, 0.0, 9, subtitle);
    double inner = width - 2 * m - gap, h = height - top - bottom;
    *problem = (tp_rect){m, top, inner * 0.6, h};
    *solutions = (tp_rect){m + inner * 0.6 + gap, top, inner * 0.4, h};
    panel(d, *problem, "<b>PROBLEM</b>", tp_category(5));
    panel(d, *solutions, "<b>SOLUTIONS</b>", tp_category(2));
    cairo_set_source_rgb(d->cr, 0.45, 0.45, 0.45);
    tp_text(d, m, height - 6, 0.0, 1.0, 7, source);
}
