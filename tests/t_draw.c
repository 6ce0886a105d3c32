/* Generated from book/180-drawing.nw; edit the book, not this file. */
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "program.h"

/* <<t-draw: ticks, colours and fits>> */
static bool ticks_are(double lo, double hi, const double *expected, int n)
{
    double ticks[TP_MAX_TICKS];
    int count = tp_nice_ticks(lo, hi, 5, ticks);
    bool same = count == n;
    for (int i = 0; same && i < n; i++)
        same = fabs(ticks[i] - expected[i]) < 1e-9 * fmax(1, fabs(hi));
    return same;
}
/* <<t-draw: ticks, colours and fits>> */
static void ticks_colours_and_fits(void)
{
    ok(ticks_are(0, 1, (double[]){0, 0.2, 0.4, 0.6, 0.8, 1}, 6),
       "[0, 1] has ticks every 0.2");
    ok(ticks_are(-3.2, 12.7, (double[]){0, 4, 8, 12}, 4),
       "[-3.2, 12.7] has ticks 0, 4, 8, 12 (raw step 3.18, nice step 4)");
    ok(ticks_are(0, 7.3, (double[]){0, 1.5, 3, 4.5, 6}, 5),
       "[0, 7.3] has ticks every 1.5");
    double logs[TP_MAX_TICKS];
    int n = tp_log_ticks(3, 3000, logs);
    ok(n == 3 && logs[0] == 10 && logs[2] == 1000,
       "[3, 3000] has decade ticks 10, 100, 1000");
    tp_color first = tp_viridis(0), last = tp_viridis(1);
    ok(lround(first.r * 255) == 0x44 && lround(first.g * 255) == 0x01
           && lround(first.b * 255) == 0x54,
       "viridis starts at #440154");
    ok(lround(last.r * 255) == 0xFD && lround(last.g * 255) == 0xE7
           && lround(last.b * 255) == 0x25,
       "viridis ends at #FDE725");
    double x[5] = {1, 2, 4, 8, 16}, y[5], c;
    for (int i = 0; i < 5; i++)
        y[i] = 3 * x[i] * x[i] * (i % 2 ? 1.01 : 0.99);
    near(tp_power_fit(x, y, 5, &c), 2, 0.01, "the fit of 3x^2 has exponent 2");
    near(c, 3, 0.05, "and coefficient 3");
}

/* <<t-draw: the counters can fail>> */
static void counters_can_fail(void)
{
    /* <<t-draw: a card with ordinary text fits>> */
    cairo_surface_t *card = cairo_recording_surface_create(
        CAIRO_CONTENT_COLOR_ALPHA, NULL);
    tp_draw c = {.cr = cairo_create(card)};
    tp_rect problem, solutions;
    tp_card(&c, 432, 324, "<b>1. Quadratic complexity</b>",
            "Double the context, quadruple the time and the memory",
            "data: make measure-attention (tp bench attention)", &problem,
            &solutions);
    ok(c.overflows == 0 && c.missing_glyphs == 0, "a card's texts fit");
    near(problem.w / solutions.w, 1.5, 1e-9, "its panels share the width 3:2");
    cairo_destroy(c.cr);
    cairo_surface_destroy(card);
    cairo_surface_t *s = cairo_recording_surface_create(
        CAIRO_CONTENT_COLOR_ALPHA, NULL);
    tp_draw d = {.cr = cairo_create(s)};
    tp_text(&d, 0, 0, 0, 0, 9, "attention");
    is(d.missing_glyphs, 0, "ordinary text has every glyph");
    tp_text(&d, 0, 0, 0, 0, 9, "\xf0\x97\x80\x80");  /* U+17000, Tangut */
    ok(d.missing_glyphs > 0, "a character no font has is counted");
    tp_text_box(&d, 0, 0, 200, 40, 9, "fits easily");
    is(d.overflows, 0, "short text fits its box");
    tp_text_box(&d, 0, 0, 30, 10, 9, "a sentence far too long for this box");
    ok(d.overflows > 0, "long text in a small box is counted");
    cairo_destroy(d.cr);
    cairo_surface_destroy(s);
}

/* <<t-draw: every figure>> */
static bool run_and_read(const char *command, char *out, size_t size)
{
    FILE *p = popen(command, "r");
    if (p == NULL)
        return false;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    return pclose(p) == 0;
}

static bool fonts_embedded(const char *pdf)
{
    char command[4400], out[4096];
    snprintf(command, sizeof command, "pdffonts '%s'", pdf);
    if (!run_and_read(command, out, sizeof out))
        return false;
    /* After two header lines, one line per font; counted from its end,
       the fifth field says whether the font is embedded. */
    int lines = 0, fonts = 0, embedded = 0;
    char *lines_left, *fields_left;
    for (char *line = strtok_r(out, "\n", &lines_left); line != NULL;
         line = strtok_r(NULL, "\n", &lines_left)) {
        if (++lines <= 2)
            continue;
        char *field[32];
        int n = 0;
        for (char *f = strtok_r(line, " ", &fields_left); f != NULL && n < 32;
             f = strtok_r(NULL, " ", &fields_left))
            field[n++] = f;
        fonts++;
        embedded += n >= 5 && strcmp(field[n - 5], "yes") == 0;
    }
    return fonts > 0 && embedded == fonts;
}
/* <<t-draw: every figure>> */
static bool page_size_is(const char *pdf, const tp_figure *f)
{
    char command[4400], out[4096], expected[64];
    snprintf(command, sizeof command, "pdfinfo '%s'", pdf);
    if (!run_and_read(command, out, sizeof out))
        return false;
    snprintf(expected, sizeof expected, " %g x %g pts",
             f->width, f->height);
    return strstr(out, expected) != NULL;
}

static bool same_file(const char *a, const char *b)
{
    char command[8500];
    snprintf(command, sizeof command, "cmp -s '%s' '%s'", a, b);
    return system(command) == 0;
}
/* <<t-draw: every figure>> */
static void every_figure(void)
{
    char one[] = "/tmp/tp-figures-XXXXXX", two[] = "/tmp/tp-figures-XXXXXX";
    if (mkdtemp(one) == NULL || mkdtemp(two) == NULL)
        bail_out("cannot make temporary directories");
    for (int i = 0; i < figure_count(); i++) {
        const tp_figure *f = figure_at(i);
        tp_figure_report r1, r2;
        tp_error error = {""};
        int status = tp_figure_render(f, one, &r1, &error)
                     | tp_figure_render(f, two, &r2, &error);
        if (!ok(status == 0, "figure %s renders", f->name))
            diag("%s", error.message);
        ok(r1.missing_glyphs == 0 && r1.overflows == 0,
           "%s: no missing glyph, no overflowing text", f->name);
        /* <<t-draw: the files of one figure>> */
        char pdf1[4200], pdf2[4200], png1[4200], png2[4200];
        snprintf(pdf1, sizeof pdf1, "%s/%s.pdf", one, f->name);
        snprintf(pdf2, sizeof pdf2, "%s/%s.pdf", two, f->name);
        snprintf(png1, sizeof png1, "%s/%s.png", one, f->name);
        snprintf(png2, sizeof png2, "%s/%s.png", two, f->name);
        ok(same_file(pdf1, pdf2) && same_file(png1, png2),
           "%s: rendering twice gives the same bytes", f->name);
        ok(fonts_embedded(pdf1), "%s: every font is embedded", f->name);
        ok(page_size_is(pdf1, f), "%s: the page is %g x %g points", f->name,
           f->width, f->height);
    }
    char command[100];
    snprintf(command, sizeof command, "rm -rf '%s' '%s'", one, two);
    if (system(command) != 0)
        diag("could not remove %s and %s", one, two);
}

int main(void)
{
    ticks_colours_and_fits();
    counters_can_fail();
    every_figure();
    return done_testing();
}
