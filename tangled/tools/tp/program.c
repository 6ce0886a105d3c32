/* Generated from book/175-command.nw; edit the book, not this file. */
#include "program.h"

const chapter_part *const chapter_parts[] = {
    /* <<program: the chapters' parts>> */
    &matmul_part,
    /* <<program: the chapters' parts>> */
    &operators_part,
    /* <<program: the chapters' parts>> */
    &attention_part,
    /* <<program: the chapters' parts>> */
    &data_part,
    /* <<program: the chapters' parts>> */
    &command_part,
    /* <<program: the chapters' parts>> */
    &drawing_part,
    /* <<program: the chapters' parts>> */
    &cuda_part,
    /* <<program: the chapters' parts>> */
    &vanilla_part,
    /* <<program: the chapters' parts>> */
    &bert_part,
    /* <<program: the chapters' parts>> */
    &gpt_part,
    /* <<program: the chapters' parts>> */
    &vit_part,
    /* <<program: the chapters' parts>> */
    &quadratic_part,
    /* <<program: the chapters' parts>> */
    &decoding_part,
    /* <<program: the chapters' parts>> */
    &memory_part,
    NULL
};

/* <<tp: parsing options>> */
char **operands;
int operand_count;

static int parse_int(const char *command_name, const option *o,
                     const char *text)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno != 0 || value < o->min
        || value > o->max) {
        fprintf(stderr, "tp %s: %s must be an integer from %ld to %ld, "
                "not '%s'\n", command_name, o->name, o->min, o->max, text);
        return -1;
    }
    *(int *)o->value = (int)value;
    return 0;
}
/* <<tp: parsing options>> */
static int parse_float(const char *command_name, const option *o,
                       const char *text)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || errno != 0 || !isfinite(value)
        || value < (double)o->min || value > (double)o->max) {
        fprintf(stderr, "tp %s: %s must be a number from %ld to %ld, not "
                "'%s'\n", command_name, o->name, o->min, o->max, text);
        return -1;
    }
    *(float *)o->value = (float)value;
    return 0;
}
/* <<tp: parsing options>> */
static const option *find_option(const option *options, const char *name)
{
    for (const option *o = options; o != NULL && o->name != NULL; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}
/* <<tp: parsing options>> */
static int parse_options(const command *c, int argc, char **argv)
{
    operands = argv;
    operand_count = 0;
    for (int i = 0; i < argc; i++) {
        const option *o = find_option(c->options, argv[i]);
        if (o == NULL && c->operands != NULL && argv[i][0] != '-') {
            operands[operand_count++] = argv[i];  /* never past i */
            continue;
        }
        if (o == NULL) {
            fprintf(stderr, "tp %s: unknown option '%s'; see 'tp %s --help'\n",
                    c->name, argv[i], c->name);
            return -1;
        }
        if (o->kind == OPTION_FLAG) {
            *(bool *)o->value = true;
            continue;
        }
        if (i + 1 == argc) {
            fprintf(stderr, "tp %s: %s needs a value\n", c->name, o->name);
            return -1;
        }
        const char *text = argv[++i];
        if (o->kind == OPTION_STRING)
            *(const char **)o->value = text;
        else if (o->kind == OPTION_FLOAT ? parse_float(c->name, o, text) != 0
                                         : parse_int(c->name, o, text) != 0)
            return -1;
    }
    return 0;
}

/* <<tp: progress and interruption>> */
volatile sig_atomic_t interrupted = 0;

static void on_interrupt(int signal)
{
    (void)signal;
    interrupted = 1;
}

void catch_interrupts(void)
{
    struct sigaction action = {.sa_handler = on_interrupt};
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}
/* <<tp: progress and interruption>> */
bool show_progress(const tp_progress *p, void *context)
{
    display *d = context;
    char line[192];
    tp_progress_format(p, line, sizeof line);
    bool last = p->step + 1 == p->steps || interrupted;
    if (d->terminal)
        fprintf(stderr, "\r%s\033[K%s", line, last ? "\n" : "");
    else if (p->step == d->first || last || p->seconds - d->last_printed >= 5) {
        fprintf(stderr, "%s\n", line);
        d->last_printed = p->seconds;
    }
    fflush(stderr);
    return !interrupted;
}
/* <<tp: progress and interruption>> */
int exit_status(int status)
{
    return status != 0 ? 1 : interrupted ? EXIT_INTERRUPTED : 0;
}

int check_output(const char *command, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        fprintf(stderr, "tp %s: cannot write %s: it is not a regular file\n",
                command, path);
        return -1;
    }
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path) + 1 : 0;
    char probe[4200];
    snprintf(probe, sizeof probe, "%.*s.tp-probe-XXXXXX", dir, path);
    int fd = mkstemp(probe);
    if (fd < 0) {
        fprintf(stderr, "tp %s: cannot write %s: %s\n", command, path,
                strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

/* <<tp: help>> */
enum { MAX_COMMANDS = 128 };
static const command *commands[MAX_COMMANDS];
static int command_count;

static void gather_commands(void)
{
    for (const chapter_part *const *p = chapter_parts; *p != NULL; p++)
        for (const command *c = (*p)->commands; c != NULL && c->name != NULL;
             c++) {
            tp_check(command_count < MAX_COMMANDS, "more than %d commands",
                     MAX_COMMANDS);
            commands[command_count++] = c;
        }
}
/* <<tp: help>> */
static void list_commands(FILE *out)
{
    fprintf(out, "usage: tp COMMAND [OPTIONS]\n\ncommands:\n");
    for (int i = 0; i < command_count; i++)
        fprintf(out, "  %-16s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n'tp COMMAND --help' explains one command.\n"
            "Exit status: 0 done, 1 failed, 2 used wrongly, 130 stopped by "
            "Ctrl-C\n(a training command saves its work first).\n");
}

static void command_help(const command *c)
{
    printf("usage: tp %s [OPTIONS]%s%s\n\n%s\n", c->name,
           c->operands ? " " : "", c->operands ? c->operands : "", c->summary);
    if (c->options != NULL && c->options[0].name != NULL)
        printf("\noptions:\n");
    for (const option *o = c->options; o != NULL && o->name != NULL; o++) {
        char flag[48];
        snprintf(flag, sizeof flag, "%s%s", o->name,
                 o->kind == OPTION_INT ? " N" : o->kind == OPTION_FLOAT ? " X"
                 : o->kind == OPTION_STRING ? " TEXT" : "");
        printf("  %-18s %s", flag, o->help);
        if (o->kind == OPTION_INT || o->kind == OPTION_FLOAT)
            printf(" (%ld to %ld)", o->min, o->max);
        printf("\n");
    }
}

/* <<tp: finding and running a command>> */
static int words_match(const char *name, int argc, char **argv)
{
    const char *space = strchr(name, ' ');
    if (space == NULL)
        return argc >= 1 && strcmp(argv[0], name) == 0 ? 1 : 0;
    size_t first = (size_t)(space - name);
    return argc >= 2 && strlen(argv[0]) == first
                   && strncmp(argv[0], name, first) == 0
                   && strcmp(argv[1], space + 1) == 0
               ? 2
               : 0;
}
/* <<tp: finding and running a command>> */
static int commands_starting_with(const char *word)
{
    int found = 0;
    size_t n = strlen(word);
    for (int i = 0; i < command_count; i++)
        if (strncmp(commands[i]->name, word, n) == 0
            && commands[i]->name[n] == ' ') {
            if (found++ == 0)
                fprintf(stderr, "tp %s: choose one of:\n", word);
            fprintf(stderr, "  tp %-14s %s\n", commands[i]->name,
                    commands[i]->summary);
        }
    return found;
}
/* <<tp: finding and running a command>> */
int run_tp(int argc, char **argv)
{
    gather_commands();
    if (argc < 2 || strcmp(argv[1], "help") == 0
        || strcmp(argv[1], "--help") == 0) {
        list_commands(stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; i < command_count; i++) {
        int words = words_match(commands[i]->name, argc - 1, argv + 1);
        if (words == 0)
            continue;
        int rest = argc - 1 - words;
        char **options = argv + 1 + words;
        if (rest >= 1 && strcmp(options[0], "--help") == 0) {
            command_help(commands[i]);
            return 0;
        }
        if (parse_options(commands[i], rest, options) != 0)
            return 2;
        return commands[i]->run();
    }
    if (commands_starting_with(argv[1]) == 0)
        fprintf(stderr, "tp: unknown command '%s'; see 'tp help'\n", argv[1]);
    return 2;
}
