/* Generated from book/180-drawing.nw; edit the book, not this file. */
#ifndef TP_DRAW_H
#define TP_DRAW_H

#include <cairo.h>
#include <stdbool.h>

#include "tp/check.h"

/* <<draw: colours>> */
typedef struct tp_color {
    double r, g, b;
} tp_color;

tp_color tp_rgb(unsigned hex);
tp_color tp_category(int i);
tp_color tp_viridis(double t);
void tp_set_color(cairo_t *cr, tp_color c);

/* <<draw: the drawing context and text>> */
typedef struct tp_draw {
    cairo_t *cr;
    int missing_glyphs;
    int overflows;
} tp_draw;

#define TP_SANS "TeX Gyre Heros, DejaVu Sans,"

void tp_text(tp_draw *d, double x, double y, double ax, double ay,
             double size, const char *markup);
double tp_text_width(tp_draw *d, double size, const char *markup);
void tp_text_box(tp_draw *d, double x, double y, double w, double h,
                 double size, const char *markup);

/* <<draw: shapes>> */
void tp_rounded_box(tp_draw *d, double x, double y, double w, double h,
                    double radius, tp_color fill, tp_color stroke);
void tp_arrow(tp_draw *d, double x0, double y0, double x1, double y1,
              tp_color color, double width);
void tp_label_box(tp_draw *d, double x, double y, double w, double h,
                  tp_color color, double size, const char *markup);
void tp_callout(tp_draw *d, double x, double y, double w, double h,
                const char *markup, double to_x, double to_y);
void tp_token_row(tp_draw *d, double x, double y, double cell_w,
                  double cell_h, const char *const tokens[], int n,
                  tp_color color);
void tp_matrix(tp_draw *d, double x, double y, int rows, int cols,
               double cell, tp_color color, const char *label);

/* <<draw: ticks and fits>> */
enum { TP_MAX_TICKS = 32 };

int tp_nice_ticks(double lo, double hi, int n, double ticks[TP_MAX_TICKS]);
int tp_log_ticks(double lo, double hi, double ticks[TP_MAX_TICKS]);
double tp_power_fit(const double *x, const double *y, int n,
                    double *coefficient);

/* <<draw: plots>> */
typedef struct tp_axis {
    double lo, hi;
    bool log;
    const char *label;
    const char *const *names;  /* a categorical axis: names of 0, 1, ... */
} tp_axis;

typedef struct tp_plot {
    tp_draw *d;
    double x, y, w, h;  /* the plotting area on the page */
    tp_axis ax, ay;
} tp_plot;

typedef enum tp_corner {
    TP_TOP_LEFT, TP_TOP_RIGHT, TP_BOTTOM_LEFT, TP_BOTTOM_RIGHT
} tp_corner;

typedef struct tp_legend_entry {
    const char *label;
    tp_color color;
    bool dashed;
} tp_legend_entry;

void tp_plot_frame(tp_plot *p);
double tp_plot_x(const tp_plot *p, double v);
double tp_plot_y(const tp_plot *p, double v);
void tp_plot_line(tp_plot *p, const double *x, const double *y, int n,
                  tp_color color, bool dashed, bool markers);
void tp_plot_legend(tp_plot *p, const tp_legend_entry *entries, int n,
                    tp_corner corner);
void tp_plot_bars(tp_plot *p, const double *values, int n, tp_color color);

/* <<draw: heatmaps>> */
void tp_heatmap(tp_draw *d, double x, double y, double w, double h,
                const float *values, int rows, int cols,
                const unsigned char *masked, double lo, double hi);
void tp_colorbar(tp_draw *d, double x, double y, double w, double h,
                 double lo, double hi, const char *label);

/* <<draw: the infographic card>> */
typedef struct tp_rect {
    double x, y, w, h;
} tp_rect;

void tp_card(tp_draw *d, double width, double height, const char *title,
             const char *subtitle, const char *source, tp_rect *problem,
             tp_rect *solutions);

/* <<draw: the figure registry>> */
typedef struct tp_figure {
    const char *name;
    const char *caption;
    double width, height;  /* points */
    int (*draw)(tp_draw *d, tp_error *error);
} tp_figure;

typedef struct tp_figure_report {
    int missing_glyphs, overflows;
} tp_figure_report;

int tp_figure_render(const tp_figure *f, const char *directory,
                     tp_figure_report *report, tp_error *error);

#endif
