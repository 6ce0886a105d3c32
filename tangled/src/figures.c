/* Generated from book/180-drawing.nw; edit the book, not this file. */
#include <cairo-pdf.h>
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp.h"

/* <<figures: rendering>> */
static cairo_surface_t *record(const tp_figure *f, tp_figure_report *report,
                               tp_error *error, int *status)
{
    cairo_rectangle_t extents = {0, 0, f->width, f->height};
    cairo_surface_t *recording =
        cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents);
    cairo_t *cr = cairo_create(recording);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    tp_draw d = {.cr = cr};
    *status = f->draw(&d, error);
    cairo_destroy(cr);
    report->missing_glyphs = d.missing_glyphs;
    report->overflows = d.overflows;
    return recording;
}
/* <<figures: rendering>> */
static int write_pdf(cairo_surface_t *recording, const tp_figure *f,
                     const char *path)
{
    cairo_surface_t *pdf = cairo_pdf_surface_create(path, f->width, f->height);
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_CREATE_DATE,
                                   "2000-01-01T00:00:00Z");
    cairo_pdf_surface_set_metadata(pdf, CAIRO_PDF_METADATA_TITLE, f->caption);
    cairo_t *cr = cairo_create(pdf);
    cairo_set_source_surface(cr, recording, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_finish(pdf);
    int status = cairo_surface_status(pdf) == CAIRO_STATUS_SUCCESS ? 0 : -1;
    cairo_surface_destroy(pdf);
    return status;
}
/* <<figures: rendering>> */
static int write_png(cairo_surface_t *recording, const tp_figure *f,
                     const char *path)
{
    const double scale = 2.0;
    cairo_surface_t *image = cairo_image_surface_create(
        CAIRO_FORMAT_ARGB32, (int)ceil(f->width * scale),
        (int)ceil(f->height * scale));
    cairo_surface_set_device_scale(image, scale, scale);
    cairo_t *cr = cairo_create(image);
    cairo_set_source_surface(cr, recording, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    int status = cairo_surface_write_to_png(image, path) == CAIRO_STATUS_SUCCESS
                     ? 0 : -1;
    cairo_surface_destroy(image);
    return status;
}
/* <<figures: rendering>> */
static bool same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa != NULL && fb != NULL;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa != NULL)
        fclose(fa);
    if (fb != NULL)
        fclose(fb);
    return same;
}

static int replace_if_changed(const char *fresh, const char *path)
{
    if (same_bytes(fresh, path))
        return remove(fresh);
    return rename(fresh, path);
}
/* <<figures: rendering>> */
int tp_figure_render(const tp_figure *f, const char *directory,
                     tp_figure_report *report, tp_error *error)
{
    int status;
    cairo_surface_t *recording = record(f, report, error, &status);
    char pdf[4096], png[4096], fresh[4200];
    snprintf(pdf, sizeof pdf, "%s/%s.pdf", directory, f->name);
    snprintf(png, sizeof png, "%s/%s.png", directory, f->name);
    snprintf(fresh, sizeof fresh, "%s.new", pdf);
    if (status == 0 && (write_pdf(recording, f, fresh) != 0
                        || replace_if_changed(fresh, pdf) != 0))
        status = tp_error_set(error, "cannot write %s: %s", pdf,
                              strerror(errno));
    snprintf(fresh, sizeof fresh, "%s.new", png);
    if (status == 0 && (write_png(recording, f, fresh) != 0
                        || replace_if_changed(fresh, png) != 0))
        status = tp_error_set(error, "cannot write %s: %s", png,
                              strerror(errno));
    cairo_surface_destroy(recording);
    return status;
}
