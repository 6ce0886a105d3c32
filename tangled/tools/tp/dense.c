/* Generated from book/380-dense-inputs.nw; edit the book, not this file. */
#include "program.h"

/* <<tp dense: checking the input>> */
static int dense_refuse(const char *command, tp_dense_input in, bool video)
{
    if (video && in.frames < 2)
        fprintf(stderr, "tp %s: --frames %d: one frame cannot show a "
                "motion; give 2 or more\n", command, in.frames);
    else if (in.size % in.patch != 0)
        fprintf(stderr, "tp %s: --patch %d does not divide --size %d\n",
                command, in.patch, in.size);
    else if (in.frames % in.depth != 0)
        fprintf(stderr, "tp %s: --depth %d does not divide --frames %d\n",
                command, in.depth, in.frames);
    else
        return 0;
    return 2;
}

/* <<tp dense: commands>> */
static int cost_layers = 4, cost_width = 64, cost_heads = 4, cost_runs = 3,
           cost_largest = 256, cost_longest = 16, cost_size = 0,
           cost_patch = 0;
static const char *cost_tsv = NULL;

static const option dense_cost_options[] = {
    {"--layers", OPTION_INT, &cost_layers, 1, 64, "blocks of the ViT"},
    {"--width", OPTION_INT, &cost_width, 1, 4096, "its width C"},
    {"--heads", OPTION_INT, &cost_heads, 1, 64, "its heads"},
    {"--runs", OPTION_INT, &cost_runs, 1, 1000, "timed runs (median)"},
    {"--largest", OPTION_INT, &cost_largest, 32, 1024, "the largest side"},
    {"--longest", OPTION_INT, &cost_longest, 2, 64, "the most frames"},
    {"--size", OPTION_INT, &cost_size, 1, 4096,
     "time only this side (with --patch)"},
    {"--patch", OPTION_INT, &cost_patch, 1, 4096, "and this patch"},
    {"--tsv", OPTION_STRING, &cost_tsv, 0, 0, "write the rows here"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp dense: commands>> */
typedef struct forward_work {
    tp_vit *image_model;
    tp_vivit *video_model;
    const float *input;
    tp_arena *arena;
} forward_work;

static void run_forward(void *context)
{
    forward_work *w = context;
    tp_graph g = tp_graph_on(w->arena);
    tp_set_grad(&g, false);
    if (w->image_model != NULL)
        tp_vit_forward(&g, w->image_model, w->input, 1, NULL);
    else
        tp_vivit_forward(&g, w->video_model, w->input, 1);
    tp_arena_reset(w->arena);
}
/* <<tp dense: commands>> */
static void time_both(forward_work *w, int all_threads, double ms[2])
{
    for (int k = 0; k < 2; k++) {
        tp_set_threads(k == 0 ? 1 : all_threads);
        double start = tp_seconds();
        run_forward(w);  /* once untimed: pages touched, threads started */
        int runs = tp_seconds() - start > 1.0 ? 1 : cost_runs;
        ms[k] = k == 1 && all_threads == 1
                    ? ms[0] : 1e3 * tp_time(run_forward, w, runs).median;
    }
}

static void random_input(float *x, long n, uint64_t seed)
{
    tp_rng rng = tp_rng_seeded(seed, 3);
    for (long i = 0; i < n; i++)
        x[i] = tp_rng_uniform(&rng);
}
/* <<tp dense: commands>> */
static void cost_row(const char *label, tp_dense_input in, int all_threads,
                     FILE *tsv)
{
    long pixels = (long)in.frames * in.size * in.size;
    float *input = malloc((size_t)pixels * sizeof *input);
    tp_check(input != NULL, "out of memory");
    random_input(input, pixels, 1);
    tp_rng rng = tp_rng_seeded(1, 0);
    forward_work w = {.input = input, .arena = tp_arena_new("cost")};
    if (in.frames == 1) {
        w.image_model = tp_vit_new((tp_vit_config){in.size, in.patch, 5,
            cost_layers, cost_heads, cost_width});
        tp_vit_init(w.image_model, &rng);
    } else {
        w.video_model = tp_vivit_new((tp_vivit_config){in, 5, cost_layers,
            cost_heads, cost_width});
        tp_vivit_init(w.video_model, &rng);
    }
    double ms[2];
    time_both(&w, all_threads, ms);
    /* <<tp dense cost: print and write the row>> */
    tp_dense_cost c = tp_vit_cost(in, cost_layers, cost_width, 5);
    long n = tp_dense_tokens(in);
    printf("%-9s %4d %3d %3d %2d %6ld %10.3f %10.3f %9.2f %9.2f\n", label,
           in.size, in.patch, in.frames, in.depth, n, c.attention / 1e9,
           c.linear / 1e9, ms[0], ms[1]);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%d\t%d\t%d\t%d\t%ld\t%.6g\t%.6g\t%.6g\t%.4g\t%.4g\n",
                label, in.size, in.patch, in.frames, in.depth, n,
                c.attention / 1e9, c.linear / 1e9, tp_cost_total(c) / 1e9,
                ms[0], ms[1]);
    fflush(stdout);
    tp_vit_free(w.image_model), tp_vivit_free(w.video_model);
    tp_arena_free(w.arena), free(input);
}
/* <<tp dense: commands>> */
static FILE *open_tsv(const char *command, const char *path,
                      const char *columns)
{
    if (path == NULL)
        return NULL;
    FILE *tsv = fopen(path, "w");
    if (tsv == NULL) {
        fprintf(stderr, "tp %s: cannot write %s: %s\n", command, path,
                strerror(errno));
        return NULL;
    }
    tp_describe_machine(tsv);
    fprintf(tsv, "# written by: tp %s\n%s\n", command, columns);
    return tsv;
}
/* <<tp dense: commands>> */
static void cost_sweep(int all_threads, FILE *tsv)
{
    for (int patch = 4; patch <= 16; patch *= 2) {
        char label[16];
        snprintf(label, sizeof label, "image-p%d", patch);
        for (int size = 32; size <= cost_largest; size *= 2)
            cost_row(label, (tp_dense_input){1, 1, size, patch}, all_threads,
                     tsv);
    }
    for (int depth = 1; depth <= 2; depth++) {
        char label[16];
        snprintf(label, sizeof label, "video-t%d", depth);
        for (int frames = 2; frames <= cost_longest; frames *= 2)
            cost_row(label, (tp_dense_input){frames, depth, 64, 8},
                     all_threads, tsv);
    }
}
/* <<tp dense: commands>> */
static int dense_cost(void)
{
    bool one = option_given(&cost_size) || option_given(&cost_patch);
    tp_dense_input single = {1, 1, cost_size, cost_patch > 0 ? cost_patch : 4};
    if ((one && dense_refuse("dense cost", single, false) != 0)
        || (cost_tsv != NULL && check_output("dense cost", cost_tsv) != 0))
        return 2;
    if (cost_width % cost_heads != 0) {
        fprintf(stderr, "tp dense cost: --heads %d does not divide --width "
                "%d\n", cost_heads, cost_width);
        return 2;
    }
    FILE *tsv = open_tsv("dense cost", cost_tsv, "input\tsize\tpatch\tframes"
                         "\tdepth\ttokens\tattention_gflop\tlinear_gflop"
                         "\ttotal_gflop\tms_1_thread\tms_all_threads");
    if (cost_tsv != NULL && tsv == NULL)
        return 1;
    int all = tp_threads();
    printf("ViT forward, batch 1: %d blocks, width %d; times in ms on 1 and "
           "%d threads\n%-9s %4s %3s %3s %2s %6s %10s %10s %9s %9s\n", cost_layers,
           cost_width, all, "input", "S", "P", "F", "t", "N", "attn GF",
           "linear GF", "1 thread", "all");
    if (one)
        cost_row("image", single, all, tsv);
    else
        cost_sweep(all, tsv);
    tp_set_threads(all);
    return tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
}
/* <<tp dense: commands>> */
static int stage_size = 64, stage_patch = 4, stage_stages = 3,
           stage_blocks = 2, stage_width = 32, stage_heads = 2;
static const char *stage_tsv = NULL;

static const option dense_stages_options[] = {
    {"--size", OPTION_INT, &stage_size, 8, 1024, "the side of the image"},
    {"--patch", OPTION_INT, &stage_patch, 1, 256, "the side of a patch"},
    {"--stages", OPTION_INT, &stage_stages, 1, TP_HVIT_MAX_STAGES, "stages"},
    {"--blocks", OPTION_INT, &stage_blocks, 1, 16, "blocks per stage"},
    {"--width", OPTION_INT, &stage_width, 1, 1024, "the first stage's width"},
    {"--heads", OPTION_INT, &stage_heads, 1, 64, "the first stage's heads"},
    {"--runs", OPTION_INT, &cost_runs, 1, 1000, "timed runs (median)"},
    {"--tsv", OPTION_STRING, &stage_tsv, 0, 0, "write the rows here"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp dense: commands>> */
typedef struct stage_work {
    tp_hvit *m;
    int stage;
    tp_tensor *tokens;  /* the stage's input, kept */
    tp_arena *arena;
} stage_work;

static void run_stage(void *context)
{
    stage_work *w = context;
    tp_graph g = tp_graph_on(w->arena);
    tp_set_grad(&g, false);
    tp_hvit_stage_forward(&g, w->m, w->stage, w->tokens);
    tp_arena_reset(w->arena);
}
/* <<tp dense: commands>> */
static void stage_row(FILE *tsv, const char *label, int tokens, int width,
                      double gflop, const double ms[2])
{
    printf("%-8s %6d %6d %10.4f %9.2f %9.2f\n", label, tokens, width, gflop,
           ms[0], ms[1]);
    if (tsv != NULL)
        fprintf(tsv, "%s\t%d\t%d\t%.6g\t%.4g\t%.4g\n", label, tokens, width,
                gflop, ms[0], ms[1]);
}

static void time_stage(stage_work *w, int all_threads, double ms[2])
{
    for (int k = 0; k < 2; k++) {
        tp_set_threads(k == 0 ? 1 : all_threads);
        run_stage(w);
        ms[k] = k == 1 && all_threads == 1
                    ? ms[0] : 1e3 * tp_time(run_stage, w, cost_runs).median;
    }
}
/* <<tp dense: commands>> */
static void stages_rows(tp_hvit *m, const float *image, int all, FILE *tsv)
{
    tp_arena *keep = tp_arena_new("stage inputs");
    tp_graph g = tp_graph_on(keep);
    tp_set_grad(&g, false);
    stage_work w = {m, 0, tp_hvit_embed(&g, m, image, 1),
                    tp_arena_new("stage")};
    for (int s = 0; s < m->config.stages; s++) {
        double ms[2];
        char label[16];
        w.stage = s;
        time_stage(&w, all, ms);
        snprintf(label, sizeof label, "stage%d", s);
        stage_row(tsv, label, w.tokens->shape.dim[1], w.tokens->shape.dim[2],
                  tp_cost_total(tp_hvit_stage_cost(&m->config, s)) / 1e9, ms);
        w.tokens = tp_hvit_stage_forward(&g, m, s, w.tokens);
    }
    tp_arena_free(w.arena), tp_arena_free(keep);
}
/* <<tp dense: commands>> */
typedef struct whole_work {
    tp_hvit *m;
    const float *image;
    tp_arena *arena;
} whole_work;

static void run_hvit(void *context)
{
    whole_work *w = context;
    tp_graph g = tp_graph_on(w->arena);
    tp_set_grad(&g, false);
    tp_hvit_forward(&g, w->m, w->image, 1);
    tp_arena_reset(w->arena);
}
/* <<tp dense: commands>> */
static void whole_rows(tp_hvit *m, float *image, int all, FILE *tsv)
{
    const tp_hvit_config *c = &m->config;
    whole_work h = {m, image, tp_arena_new("hvit")};
    double ms[2];
    for (int k = 0; k < 2; k++) {
        tp_set_threads(k == 0 ? 1 : all);
        run_hvit(&h);
        ms[k] = k == 1 && all == 1 ? ms[0]
                                   : 1e3 * tp_time(run_hvit, &h, cost_runs).median;
    }
    int n = tp_patch_count(c->image_size, c->patch_size);
    stage_row(tsv, "hvit", n, c->n_embd, tp_hvit_total_cost(c) / 1e9, ms);
    tp_rng rng = tp_rng_seeded(1, 0);
    forward_work v = {tp_vit_new((tp_vit_config){c->image_size, c->patch_size,
        c->n_classes, c->stages * c->blocks, c->n_head, c->n_embd}), NULL,
        image, h.arena};
    tp_vit_init(v.image_model, &rng);
    time_both(&v, all, ms);
    stage_row(tsv, "vit", n, c->n_embd, tp_cost_total(tp_vit_cost(
        (tp_dense_input){1, 1, c->image_size, c->patch_size},
        c->stages * c->blocks, c->n_embd, c->n_classes)) / 1e9, ms);
    tp_vit_free(v.image_model), tp_arena_free(h.arena);
}
/* <<tp dense: commands>> */
static int dense_stages(void)
{
    tp_dense_input in = {1, 1, stage_size, stage_patch};
    if (dense_refuse("dense stages", in, false) != 0)
        return 2;
    int grid = stage_size / stage_patch, halvings = 1 << (stage_stages - 1);
    if (grid % halvings != 0)
        fprintf(stderr, "tp dense stages: --stages %d halves the grid %d "
                "times, and %d patches a side do not halve so\n",
                stage_stages, stage_stages - 1, grid);
    else if (stage_width % stage_heads != 0)
        fprintf(stderr, "tp dense stages: --heads %d does not divide --width "
                "%d\n", stage_heads, stage_width);
    if (grid % halvings != 0 || stage_width % stage_heads != 0)
        return 2;
    if (stage_tsv != NULL && check_output("dense stages", stage_tsv) != 0)
        return 2;
    FILE *tsv = open_tsv("dense stages", stage_tsv, "model\ttokens\twidth\t"
                         "gflop\tms_1_thread\tms_all_threads");
    if (stage_tsv != NULL && tsv == NULL)
        return 1;
    /* <<tp dense stages: make the model and time it>> */
    tp_hvit *m = tp_hvit_new((tp_hvit_config){stage_size, stage_patch, 5,
        stage_stages, stage_blocks, stage_heads, stage_width});
    tp_rng rng = tp_rng_seeded(1, 0);
    tp_hvit_init(m, &rng);
    float *image = malloc((size_t)stage_size * stage_size * sizeof *image);
    tp_check(image != NULL, "out of memory");
    random_input(image, (long)stage_size * stage_size, 2);
    int all = tp_threads();
    printf("hierarchical ViT, %d x %d image, patches of %d; ms on 1 and %d "
           "threads\n%-8s %6s %6s %10s %9s %9s\n", stage_size, stage_size,
           stage_patch, all, "part", "N", "C", "GFLOP", "1 thread", "all");
    stages_rows(m, image, all, tsv);
    whole_rows(m, image, all, tsv);
    tp_set_threads(all);
    free(image), tp_hvit_free(m);
    return tsv != NULL && fclose(tsv) != 0 ? 1 : 0;
}
/* <<tp dense: commands>> */
static int video_steps = 600, video_batch = 32, video_size = 16,
           video_patch = 4, video_frames = 4, video_depth = 2, video_speed = 1,
           video_width = 32, video_layers = 2, video_heads = 2,
           video_seed = 1, video_every = 100;
static const char *video_tsv = NULL;
/* <<tp dense: commands>> */
static const option dense_video_options[] = {
    {"--steps", OPTION_INT, &video_steps, 1, 100000000, "training steps"},
    {"--batch", OPTION_INT, &video_batch, 1, 4096, "clips per step"},
    {"--size", OPTION_INT, &video_size, 8, 256, "the side of a frame"},
    {"--patch", OPTION_INT, &video_patch, 1, 256, "the side of a patch"},
    {"--frames", OPTION_INT, &video_frames, 1, 64, "frames per clip"},
    {"--depth", OPTION_INT, &video_depth, 1, 64, "frames per tubelet"},
    {"--speed", OPTION_INT, &video_speed, 1, 16, "pixels moved per frame"},
    {"--width", OPTION_INT, &video_width, 1, 1024, "the models' width"},
    {"--layers", OPTION_INT, &video_layers, 1, 16, "their blocks"},
    {"--heads", OPTION_INT, &video_heads, 1, 64, "their heads"},
    {"--seed", OPTION_INT, &video_seed, 0, 1000000000, "the seed"},
    {"--eval-every", OPTION_INT, &video_every, 1, 100000000,
     "steps between test accuracies"},
    {"--tsv", OPTION_STRING, &video_tsv, 0, 0, "write the accuracies here"},
    {NULL, 0, NULL, 0, 0, NULL},
};
/* <<tp dense: commands>> */
typedef struct video_run {
    tp_vivit *clips_model;  /* or */
    tp_vit *frame_model;
    tp_rng rng;
    float *clips;
    int *labels;
    display shown;
    float *test_clips;
    int *test_labels;
    FILE *tsv;
} video_run;

static tp_tensor *video_forward(tp_graph *g, video_run *r, const float *clips,
                                int n)
{
    if (r->clips_model != NULL)
        return tp_vivit_forward(g, r->clips_model, clips, n);
    long frame = (long)video_size * video_size,
         clip = frame * video_frames;
    float *first = tp_arena_alloc(g->arena, (size_t)(n * frame) * sizeof *first);
    for (int b = 0; b < n; b++)
        memcpy(first + b * frame, clips + b * clip,
               (size_t)frame * sizeof *first);
    return tp_vit_forward(g, r->frame_model, first, n, NULL);
}
/* <<tp dense: commands>> */
static void draw_clips(float *clips, int *labels, int n, tp_rng *rng)
{
    long clip = (long)video_frames * video_size * video_size;
    for (int b = 0; b < n; b++)
        labels[b] = (int)tp_motion_video(video_size, video_frames,
                                         video_speed, rng, clips + b * clip);
}

static tp_tensor *video_loss(tp_graph *g, long step, void *context)
{
    (void)step;
    video_run *r = context;
    draw_clips(r->clips, r->labels, video_batch, &r->rng);
    return tp_cross_entropy(g, video_forward(g, r, r->clips, video_batch),
                            r->labels, -1);
}
/* <<tp dense: commands>> */
enum { VIDEO_TESTS = 1000 };

static int video_accuracy(video_run *r)
{
    tp_arena *arena = tp_arena_new("evaluation");
    long clip = (long)video_frames * video_size * video_size;
    int right = 0;
    for (int start = 0; start < VIDEO_TESTS; start += 100) {
        tp_graph g = tp_graph_on(arena);
        tp_set_grad(&g, false);
        tp_tensor *logits = video_forward(&g, r, r->test_clips + start * clip,
                                          100);
        for (int i = 0; i < 100; i++)
            right += argmax(logits->data + i * TP_DIRECTIONS, TP_DIRECTIONS)
                     == r->test_labels[start + i];
        tp_arena_reset(arena);
    }
    tp_arena_free(arena);
    return right;
}
/* <<tp dense: commands>> */
static bool video_progress(const tp_progress *p, void *context)
{
    video_run *r = context;
    bool going = show_progress(p, &r->shown);
    if ((p->step + 1) % video_every == 0 || p->step + 1 == p->steps) {
        int right = video_accuracy(r);
        const char *name = r->clips_model != NULL ? "tubelets" : "one-frame";
        printf("%s, step %ld: test accuracy %.1f%% (%d of %d)\n", name,
               p->step + 1, 100.0 * right / VIDEO_TESTS, right, VIDEO_TESTS);
        if (r->tsv != NULL)
            fprintf(r->tsv, "%s\t%ld\t%.4g\n", name, p->step + 1,
                    100.0 * right / VIDEO_TESTS);
        fflush(stdout);
    }
    return going;
}
/* <<tp dense: commands>> */
static int video_train(video_run *r, tp_params *params, long tokens)
{
    tp_error error;
    r->rng = tp_rng_seeded((uint64_t)video_seed, 1);
    tp_optimizer *opt = tp_adamw_new(params, 0.999f, 0.05f);
    tp_arena *step = tp_arena_new("step");
    tp_graph g = tp_graph_on(step);
    tp_train_options o = {.steps = video_steps, .warmup = video_steps / 10 + 1,
                          .max_lr = 1e-3f, .min_lr = 1e-5f, .clip = 1.0,
                          .tokens_per_step = video_batch * tokens,
                          .progress = video_progress, .progress_context = r};
    int status = tp_train(&g, params, opt, &o, video_loss, r, NULL, &error);
    if (status != 0 && !interrupted)
        fprintf(stderr, "tp dense video: %s\n", error.message);
    tp_arena_free(step);
    tp_optimizer_free(opt);
    return status;
}
/* <<tp dense: commands>> */
static int video_both(video_run *r)
{
    tp_dense_input in = {video_frames, video_depth, video_size, video_patch};
    tp_rng init = tp_rng_seeded((uint64_t)video_seed, 0);
    r->clips_model = tp_vivit_new((tp_vivit_config){in, TP_DIRECTIONS,
        video_layers, video_heads, video_width});
    tp_vivit_init(r->clips_model, &init);
    printf("tubelets: %ld parameters, %ld tokens of %d pixels\n",
           tp_params_count(&r->clips_model->params), tp_dense_tokens(in),
           video_depth * video_patch * video_patch);
    int status = video_train(r, &r->clips_model->params, tp_dense_tokens(in));
    tp_vivit_free(r->clips_model);
    r->clips_model = NULL;
    if (status != 0)
        return status;
    /* <<tp dense video: the single-frame model>> */
    r->frame_model = tp_vit_new((tp_vit_config){video_size, video_patch,
        TP_DIRECTIONS, video_layers, video_heads, video_width});
    tp_vit_init(r->frame_model, &init);
    printf("one frame: %ld parameters, %d patches of %d pixels\n",
           tp_params_count(&r->frame_model->params),
           tp_patch_count(video_size, video_patch), video_patch * video_patch);
    status = video_train(r, &r->frame_model->params,
                         tp_patch_count(video_size, video_patch));
    tp_vit_free(r->frame_model);
    return status;
}
/* <<tp dense: commands>> */
static int dense_video(void)
{
    tp_dense_input in = {video_frames, video_depth, video_size, video_patch};
    if (dense_refuse("dense video", in, true) != 0)
        return 2;
    if (video_width % video_heads != 0) {
        fprintf(stderr, "tp dense video: --heads %d does not divide --width "
                "%d\n", video_heads, video_width);
        return 2;
    }
    if (video_tsv != NULL && check_output("dense video", video_tsv) != 0)
        return 2;
    video_run r = {.shown = {.terminal = isatty(STDERR_FILENO)}};
    r.tsv = open_tsv("dense video", video_tsv, "model\tstep\taccuracy");
    if (video_tsv != NULL && r.tsv == NULL)
        return 1;
    /* <<tp dense video: the clips>> */
    long clip = (long)video_frames * video_size * video_size;
    r.clips = malloc((size_t)(video_batch * clip) * sizeof *r.clips);
    r.labels = malloc((size_t)video_batch * sizeof *r.labels);
    r.test_clips = malloc((size_t)(VIDEO_TESTS * clip) * sizeof *r.test_clips);
    r.test_labels = malloc(VIDEO_TESTS * sizeof *r.test_labels);
    tp_check(r.clips != NULL && r.labels != NULL && r.test_clips != NULL
                 && r.test_labels != NULL, "out of memory");
    tp_rng test_rng = tp_rng_seeded((uint64_t)video_seed, 2);
    draw_clips(r.test_clips, r.test_labels, VIDEO_TESTS, &test_rng);
    catch_interrupts();
    int status = video_both(&r);
    free(r.clips), free(r.labels), free(r.test_clips), free(r.test_labels);
    if (r.tsv != NULL && fclose(r.tsv) != 0)
        status = 1;
    return exit_status(status);
}

/* <<tp dense: figures>> */
enum { COST_SIZE = 0, COST_FRAMES = 2, COST_TOKENS = 4, COST_MS_1 = 8,
       COST_MS_ALL = 9 };

static int cost_curve(const table *t, const char *label, int x_column,
                      int y_column, double *x, double *y)
{
    int n = 0;
    for (int r = 0; r < t->rows && n < 16; r++)
        if (strcmp(t->label[r], label) == 0)
            x[n] = t->value[r][x_column], y[n++] = t->value[r][y_column];
    return n;
}
/* <<tp dense: figures>> */
static tp_axis time_axis(const table *t)
{
    double lo = INFINITY, hi = 0.0;
    for (int r = 0; r < t->rows; r++)
        for (int c = COST_MS_1; c <= COST_MS_ALL; c++)
            lo = fmin(lo, t->value[r][c]), hi = fmax(hi, t->value[r][c]);
    if (!(lo > 0.0 && hi > lo))
        lo = 0.1, hi = 1000.0;
    return (tp_axis){.lo = pow(10.0, floor(log10(lo))),
                     .hi = pow(10.0, ceil(log10(hi))), .log = true,
                     .label = "forward pass (ms)"};
}
/* <<tp dense: figures>> */
static void cost_lines(tp_plot *p, const table *t, const char *const *labels,
                       int n, int x_column, bool both, bool legend)
{
    tp_plot_frame(p);
    tp_legend_entry entries[4];
    for (int i = 0; i < n; i++) {
        double x[16], y[16];
        int m = cost_curve(t, labels[i], x_column, COST_MS_1, x, y);
        tp_plot_line(p, x, y, m, tp_category(i), false, true);
        if (both) {
            m = cost_curve(t, labels[i], x_column, COST_MS_ALL, x, y);
            tp_plot_line(p, x, y, m, tp_category(i), true, false);
        }
        entries[i] = (tp_legend_entry){labels[i], tp_category(i), false};
    }
    if (legend)
        tp_plot_legend(p, entries, n, TP_TOP_LEFT);
}
/* <<tp dense: figures>> */
static const char *const image_labels[3] = {"image-p4", "image-p8",
                                            "image-p16"};
static const char *const video_labels[2] = {"video-t1", "video-t2"};

static int draw_dense_cost(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/dense-cost.tsv", t, error);
    if (status == 0) {
        tp_axis ms = time_axis(t);
        tp_plot images = {d, 46, 14, 170, 170, {.lo = 24, .hi = 340,
            .log = true, .label = "image side S (pixels)"}, ms};
        tp_plot clips = {d, 260, 14, 170, 170, {.lo = 1.5, .hi = 24,
            .log = true, .label = "frames F (64 \xc3\x97 64, P = 8)"}, ms};
        cost_lines(&images, t, image_labels, 3, COST_SIZE, true, true);
        cost_lines(&clips, t, video_labels, 2, COST_FRAMES, true, true);
    }
    free(t);
    return status;
}
/* <<tp dense: figures>> */
static tp_color pale(tp_color c)
{
    return (tp_color){0.55 * c.r + 0.45, 0.55 * c.g + 0.45,
                      0.55 * c.b + 0.45};
}

static void grid_cell(tp_draw *d, double x, double y, double side,
                      tp_color fill, const char *label)
{
    tp_set_color(d->cr, fill);
    cairo_rectangle(d->cr, x, y, side, side);
    cairo_fill_preserve(d->cr);
    cairo_set_source_rgb(d->cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(d->cr, 0.6);
    cairo_stroke(d->cr);
    if (label != NULL)
        tp_text(d, x + side / 2, y + side / 2, 0.5, 0.5, 7, label);
}
/* <<tp dense: figures>> */
static void draw_merging(tp_draw *d)
{
    static const char *const place[2][2] = {{"0", "2"}, {"1", "3"}};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            grid_cell(d, 20 + 22 * j, 40 + 22 * i, 22,
                      pale(tp_category((i / 2) * 2 + j / 2)),
                      place[i % 2][j % 2]);
    tp_text(d, 64, 20, 0.5, 0.0, 8, "G \xc3\x97 G tokens of width C");
    for (int q = 0; q < 4; q++)
        grid_cell(d, 130 + 18 * q, 62, 18, pale(tp_category(0)),
                  place[q % 2][q / 2]);
    tp_text(d, 166, 88, 0.5, 0.0, 7, "concatenated: 4C");
    tp_arrow(d, 110, 71, 128, 71, tp_rgb(0x555555), 0.8);
    tp_arrow(d, 204, 71, 236, 71, tp_rgb(0x555555), 0.8);
    tp_text(d, 220, 50, 0.5, 0.0, 7, "LN, 4C\xe2\x86\x92" "2C");
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            grid_cell(d, 240 + 26 * j, 44 + 26 * i, 26,
                      pale(tp_category(i * 2 + j)), "2C");
    tp_text(d, 266, 20, 0.5, 0.0, 8, "G/2 \xc3\x97 G/2");
}
/* <<tp dense: figures>> */
static void draw_tubelets(tp_draw *d)
{
    for (int f = 0; f < 4; f++) {
        double x0 = 318 + 30 * f, y0 = 44;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                bool first = i == 0 && j == 0;
                tp_color c = first ? pale(tp_category(f < 2 ? 4 : 5))
                                   : tp_rgb(0xf2f2f2);
                grid_cell(d, x0 + 6 * j, y0 + 6 * i, 6, c, NULL);
            }
        char label[16];
        snprintf(label, sizeof label, "frame %d", f);
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, x0 + 12, y0 + 28, 0.5, 0.0, 6, label);
    }
    tp_text(d, 374, 20, 0.5, 0.0, 8, "F frames of G \xc3\x97 G patches");
    tp_text(d, 374, 90, 0.5, 0.0, 7, "two tubelets of t = 2 frames,");
    tp_text(d, 374, 100, 0.5, 0.0, 7, "each one token of tP\xc2\xb2 numbers");
}

static int draw_dense_merge(tp_draw *d, tp_error *error)
{
    (void)error;
    draw_merging(d);
    draw_tubelets(d);
    return 0;
}
/* <<tp dense: figures>> */
static int draw_dense_video(tp_draw *d, tp_error *error)
{
    table *t = calloc(1, sizeof *t);
    tp_check(t != NULL, "out of memory");
    int status = read_table("figures/data/dense-video.tsv", t, error);
    if (status == 0) {
        double last = t->rows > 0 ? t->value[t->rows - 1][0] : 1.0;
        tp_plot p = {d, 46, 12, 380, 135, {.lo = 0, .hi = last,
            .label = "training step"}, {.lo = 0, .hi = 100,
            .label = "test accuracy (%)"}};
        tp_plot_frame(&p);
        /* <<dense video figure: the two models and chance>> */
        static const char *const models[2] = {"tubelets", "one frame"};
        static const char *const labels[2] = {"tubelets", "one-frame"};
        static const double label_y[2] = {90, 36};
        for (int i = 0; i < 2; i++) {
            double x[64], y[64];
            int n = 0;
            for (int r = 0; r < t->rows && n < 64; r++)
                if (strcmp(t->label[r], labels[i]) == 0)
                    x[n] = t->value[r][0], y[n++] = t->value[r][1];
            tp_plot_line(&p, x, y, n, tp_category(i), false, true);
            tp_set_color(d->cr, tp_category(i));
            tp_text(d, tp_plot_x(&p, last / 2), tp_plot_y(&p, label_y[i]), 0.5, 0.5,
                    8, models[i]);
        }
        double cx[2] = {0, last}, cy[2] = {25, 25};
        tp_plot_line(&p, cx, cy, 2, tp_rgb(0x999999), true, false);
        tp_set_color(d->cr, tp_rgb(0x777777));
        tp_text(d, tp_plot_x(&p, last * 0.9), tp_plot_y(&p, 17), 0.5, 0.5, 8,
                "chance, 25%");
    }
    free(t);
    return status;
}
/* <<tp dense: figures>> */
static double row_value(const table *t, const char *label, int key_column,
                        double key, int column)
{
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], label) == 0
            && (key_column < 0 || t->value[r][key_column] == key))
            return t->value[r][column];
    return NAN;
}

static double last_accuracy(const table *t, const char *label)
{
    double a = NAN;
    for (int r = 0; r < t->rows; r++)
        if (strcmp(t->label[r], label) == 0)
            a = t->value[r][1];
    return a;
}
/* <<tp dense: figures>> */
static void dense_numbers(tp_draw *d, const table *const t[3], double x,
                          double y)
{
    char line[4][160];
    snprintf(line[0], sizeof line[0], "S = 256: N = %.0f tokens at P = 4, "
             "%.0f at P = 16", row_value(t[0], "image-p4", COST_SIZE, 256,
                                        COST_TOKENS),
             row_value(t[0], "image-p16", COST_SIZE, 256, COST_TOKENS));
    snprintf(line[1], sizeof line[1], "forward, 1 thread: %.0f ms against "
             "%.1f ms", row_value(t[0], "image-p4", COST_SIZE, 256, COST_MS_1),
             row_value(t[0], "image-p16", COST_SIZE, 256, COST_MS_1));
    snprintf(line[2], sizeof line[2], "hierarchical ViT %.1f ms, plain ViT "
             "%.1f ms (1 thread)", row_value(t[1], "hvit", -1, 0, 3),
             row_value(t[1], "vit", -1, 0, 3));
    snprintf(line[3], sizeof line[3], "moving shapes: tubelets %.1f%%, one "
             "frame %.1f%% (chance 25%%)", last_accuracy(t[2], "tubelets"),
             last_accuracy(t[2], "one-frame"));
    cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
    for (int i = 0; i < 4; i++)
        tp_text(d, x, y + 11 * i, 0.0, 0.0, 7, line[i]);
}
/* <<tp dense: figures>> */
static int draw_card_dense(tp_draw *d, tp_error *error)
{
    table *t[3];
    static const char *const path[3] = {"figures/data/dense-cost.tsv",
        "figures/data/dense-stages.tsv", "figures/data/dense-video.tsv"};
    int status = 0;
    for (int i = 0; i < 3; i++) {
        t[i] = calloc(1, sizeof *t[i]);
        tp_check(t[i] != NULL, "out of memory");
        if (status == 0)
            status = read_table(path[i], t[i], error);
    }
    if (status == 0) {
        /* <<dense card: the problem and the solutions>> */
        tp_rect problem, solutions;
        tp_card(d, 440, 320, "<b>16. Dense inputs</b>",
                "Pixels are many: halve the patch, four times the tokens, sixteen "
                "times the attention",
                "Data: tp dense cost, stages, video (make measure-dense)", &problem,
                &solutions);
        double px = problem.x, py = problem.y;
        tp_plot p = {d, px + 44, py + 30, 186, 100, {.lo = 24, .hi = 340,
            .log = true, .label = "image side S"}, time_axis(t[0])};
        cairo_set_source_rgb(d->cr, 0.2, 0.2, 0.2);
        tp_text(d, px + 132, py + 18, 0.5, 0.0, 7, "ViT forward (ms), patches of "
                "4, 8, 16");
        cost_lines(&p, t[0], image_labels, 3, COST_SIZE, false, true);
        dense_numbers(d, (const table *const *)t, px + 8, py + 178);
        /* <<dense card: the solutions>> */
        static const char *const solution[][3] = {
            {"Patch embedding", "one token per P \xc3\x97 P patch",
             "Vision Transformer; measured here"},
            {"Hierarchical ViT", "Swin's patch merging: 4 times fewer tokens a stage",
             "this chapter"},
            {"Tubelet embedding", "ViViT: one token per t \xc3\x97 P \xc3\x97 P block",
             "this chapter"},
        };
        card_solutions(d, &solutions, solution, 3);
    }
    for (int i = 0; i < 3; i++)
        free(t[i]);
    return status;
}

static const command dense_commands[] = {
    /* <<tp dense: command table>> */
    {"dense cost", "tokens, work and forward time of a ViT against image side "
     "and frames", dense_cost_options, dense_cost, NULL},
    {"dense stages", "time each stage of a hierarchical ViT and a plain ViT",
     dense_stages_options, dense_stages, NULL},
    {"dense video", "train tubelets and a one-frame ViT on moving shapes",
     dense_video_options, dense_video, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static const tp_figure dense_figures[] = {
    /* <<tp dense: figure table>> */
    {"dense-cost", "forward time of a ViT against image side and frames, "
     "one thread (solid) and all (dashed)", 440, 230, draw_dense_cost},
    /* <<tp dense: figure table>> */
    {"dense-merge", "patch merging and tubelets", 440, 140, draw_dense_merge},
    /* <<tp dense: figure table>> */
    {"dense-video", "test accuracy on moving shapes: tubelets and one frame",
     440, 190, draw_dense_video},
    /* <<tp dense: figure table>> */
    {"card-dense", "the card of dense inputs", 440, 320, draw_card_dense},
    {NULL, NULL, 0, 0, NULL}
};

const chapter_part dense_part = {dense_commands, dense_figures};
