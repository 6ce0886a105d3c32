/* Generated from book/180-drawing.nw; edit the book, not this file. */
#include "program.h"

/* <<figures: reading measured tables>> */
int read_table(const char *path, table *t, tp_error *error)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tp_error_set(error, "cannot open %s (%s): run the chapter's "
                            "make measure target", path, strerror(errno));
    char line[1024];
    bool header = true;
    *t = (table){0};
    while (fgets(line, sizeof line, f) != NULL && t->rows < TABLE_ROWS) {
        if (line[0] == '#') {
            strncat(t->comments, line + 1,
                    sizeof t->comments - strlen(t->comments) - 1);
            continue;
        }
        if (header) {
            header = false;
            continue;
        }
        /* <<figures: read one row of a table>> */
        char *field = strtok(line, "\t\n");
        if (field == NULL)
            continue;
        snprintf(t->label[t->rows], sizeof t->label[0], "%s", field);
        int c = 0;
        while ((field = strtok(NULL, "\t\n")) != NULL && c < TABLE_COLS)
            t->value[t->rows][c++] = strtod(field, NULL);
        t->cols = c;
        t->rows++;
    }
    fclose(f);
    return t->rows > 0 ? 0 : tp_error_set(error, "%s has no rows", path);
}

/* <<figures: finding a figure>> */
enum { MAX_FIGURES = 128 };
static const tp_figure *figures[MAX_FIGURES];
static int figures_gathered = -1;

int figure_count(void)
{
    if (figures_gathered >= 0)
        return figures_gathered;
    figures_gathered = 0;
    for (const chapter_part *const *p = chapter_parts; *p != NULL; p++)
        for (const tp_figure *f = (*p)->figures; f != NULL && f->name != NULL;
             f++) {
            tp_check(figures_gathered < MAX_FIGURES, "more than %d figures",
                     MAX_FIGURES);
            figures[figures_gathered++] = f;
        }
    return figures_gathered;
}
/* <<figures: finding a figure>> */
const tp_figure *figure_at(int i)
{
    tp_check(i >= 0 && i < figure_count(), "no figure %d", i);
    return figures[i];
}

const tp_figure *figure_find(const char *name)
{
    for (int i = 0; i < figure_count(); i++)
        if (strcmp(figures[i]->name, name) == 0)
            return figures[i];
    return NULL;
}

/* <<tp drawing: figures>> */
static void step(tp_draw *d, double x0, double y0, double x1, double y1,
                 const char *label)
{
    tp_arrow(d, x0, y0, x1, y1, tp_rgb(0x555555), 0.9);
    cairo_set_source_rgb(d->cr, 0.35, 0.35, 0.35);
    tp_text(d, (x0 + x1) / 2, (y0 + y1) / 2 - 2, 0.5, 1.0, 7, label);
}
/* <<tp drawing: figures>> */
static int draw_pipeline(tp_draw *d, tp_error *error)
{
    (void)error;
    const double w = 86, h = 30;
    tp_label_box(d, 8, 65, w, h, tp_category(4), 8, "<b>book/*.nw</b> chapters");
    tp_label_box(d, 124, 15, w, h, tp_category(2), 8, "tangled/ and tests/");
    tp_label_box(d, 240, 15, w, h, tp_category(2), 8, "libtp.a, tp, tests");
    tp_label_box(d, 350, 15, w, h, tp_category(2), 8, "test results (TAP)");
    tp_label_box(d, 240, 65, w, h, tp_category(0), 8, "figures/*.pdf");
    tp_label_box(d, 124, 115, w, h, tp_category(6), 8, "LaTeX");
    tp_label_box(d, 346, 115, w, h, tp_category(6), 8, "<b>the book</b> (PDF)");
    step(d, 94, 72, 124, 38, "");
    step(d, 210, 30, 240, 30, "cc");
    step(d, 326, 30, 350, 30, "prove");
    step(d, 283, 45, 283, 65, "");
    step(d, 94, 88, 124, 122, "");
    step(d, 210, 130, 346, 130, "pdflatex");
    step(d, 326, 88, 346, 118, "");
    cairo_set_source_rgb(d->cr, 0.35, 0.35, 0.35);
    tp_text(d, 287, 55, 0.0, 0.5, 7, "tp figures");
    tp_text(d, 104, 52, 1.0, 0.5, 7, "notangle");
    tp_text(d, 104, 108, 1.0, 0.5, 7, "noweave");
    return 0;
}

/* <<tp drawing: commands>> */
static bool figures_list = false, figures_all = false;
static const char *figures_out = "figures";

static const option figures_options[] = {
    {"--list", OPTION_FLAG, &figures_list, 0, 0, "list the figures"},
    {"--all", OPTION_FLAG, &figures_all, 0, 0, "render every figure"},
    {"--out", OPTION_STRING, &figures_out, 0, 0,
     "the directory to write into (default: figures)"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp drawing: commands>> */
static int render_figure(const tp_figure *f)
{
    tp_figure_report report;
    tp_error error;
    if (tp_figure_render(f, figures_out, &report, &error) != 0) {
        fprintf(stderr, "tp figures: %s: %s\n", f->name, error.message);
        return 1;
    }
    printf("%-24s %s/%s.pdf, .png", f->name, figures_out, f->name);
    if (report.missing_glyphs || report.overflows)
        printf("  (%d missing glyphs, %d overflowing texts)",
               report.missing_glyphs, report.overflows);
    printf("\n");
    return report.missing_glyphs || report.overflows;
}
/* <<tp drawing: commands>> */
static int figures_command(void)
{
    if (figures_list) {
        for (int i = 0; i < figure_count(); i++)
            printf("%-24s %s\n", figure_at(i)->name,
                   figure_at(i)->caption);
        return 0;
    }
    if (!figures_all && operand_count == 0) {
        fprintf(stderr, "tp figures: name figures, or use --all or --list\n");
        return 2;
    }
    int failed = 0;
    for (int i = 0; figures_all && i < figure_count(); i++)
        failed |= render_figure(figure_at(i));
    for (int i = 0; !figures_all && i < operand_count; i++) {
        const tp_figure *f = figure_find(operands[i]);
        if (f == NULL)
            fprintf(stderr, "tp figures: no figure is named '%s'; see "
                    "'tp figures --list'\n", operands[i]);
        failed |= f == NULL ? 2 : render_figure(f);
    }
    return failed;
}

static const command drawing_commands[] = {
    /* <<tp drawing: command table>> */
    {"figures", "render the book's figures to PDF and PNG", figures_options,
     figures_command, "[NAME...]"},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure drawing_figures[] = {
    /* <<tp drawing: figure table>> */
    {"pipeline", "how the book becomes a library, tests, figures and a PDF",
     440, 152, draw_pipeline},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part drawing_part = {drawing_commands, drawing_figures};
