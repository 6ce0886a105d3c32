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
    &xl_part,
    /* <<program: the chapters' parts>> */
    &sparse_part,
    /* <<program: the chapters' parts>> */
    &performer_part,
    /* <<program: the chapters' parts>> */
    &reformer_part,
    /* <<program: the chapters' parts>> */
    &longformer_part,
    /* <<program: the chapters' parts>> */
    &switch_part,
    /* <<program: the chapters' parts>> */
    &quadratic_part,
    /* <<program: the chapters' parts>> */
    &order_part,
    /* <<program: the chapters' parts>> */
    &context_part,
    /* <<program: the chapters' parts>> */
    &decoding_part,
    /* <<program: the chapters' parts>> */
    &localbias_part,
    /* <<program: the chapters' parts>> */
    &datahunger_part,
    /* <<program: the chapters' parts>> */
    &memory_part,
    /* <<program: the chapters' parts>> */
    &compute_part,
    /* <<program: the chapters' parts>> */
    &length_part,
    /* <<program: the chapters' parts>> */
    &instability_part,
    /* <<program: the chapters' parts>> */
    &oversmoothing_part,
    /* <<program: the chapters' parts>> */
    &stream_part,
    /* <<program: the chapters' parts>> */
    &size_part,
    /* <<program: the chapters' parts>> */
    &noise_part,
    /* <<program: the chapters' parts>> */
    &explain_part,
    /* <<program: the chapters' parts>> */
    &dense_part,
    /* <<program: the chapters' parts>> */
    &hardware_part,
    /* <<program: the chapters' parts>> */
    &deploy_part,
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
static const void *given[64];
static int given_count;

bool option_given(const void *value)
{
    for (int i = 0; i < given_count; i++)
        if (given[i] == value)
            return true;
    return false;
}

static int parse_options(const command *c, int argc, char **argv)
{
    operands = argv;
    operand_count = 0;
    given_count = 0;
    for (int i = 0; i < argc; i++) {
        const option *o = find_option(c->options, argv[i]);
        if (o != NULL && given_count < 64)
            given[given_count++] = o->value;
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

/* <<tp: the manual page and the completion>> */
static void roff(FILE *out, const char *text)
{
    if (text[0] == '.' || text[0] == '\'')
        fputs("\\&", out);
    for (const char *c = text; *c != '\0'; c++)
        if (*c == '\\')
            fputs("\\e", out);
        else if (*c == '-')
            fputs("\\-", out);
        else
            fputc(*c, out);
}

static const char *value_name(const option *o)
{
    return o->kind == OPTION_INT ? "N" : o->kind == OPTION_FLOAT ? "X"
           : o->kind == OPTION_STRING ? "TEXT" : NULL;
}
/* <<tp: the manual page and the completion>> */
static void manual_command(const command *c)
{
    printf(".SS \"tp ");
    roff(stdout, c->name);
    printf("%s%s\"\n", c->operands ? " " : "", c->operands ? c->operands : "");
    roff(stdout, c->summary);
    printf(".\n");
    for (const option *o = c->options; o != NULL && o->name != NULL; o++) {
        printf(".TP\n\\fB");
        roff(stdout, o->name);
        printf("\\fR%s%s%s\n", value_name(o) ? " \\fI" : "",
               value_name(o) ? value_name(o) : "", value_name(o) ? "\\fR" : "");
        roff(stdout, o->help);
        if (o->kind == OPTION_INT || o->kind == OPTION_FLOAT)
            printf(" (%ld to %ld)", o->min, o->max);
        printf("\n");
    }
}

int write_manual(void)
{
    printf(".TH TP 1 \"\" \"Transformer Problems\" \"User Commands\"\n"
           ".SH NAME\ntp \\- train, measure and draw the models of "
           "Transformer Problems\n.SH SYNOPSIS\n.B tp\n.I COMMAND\n"
           ".RI [ OPTIONS ]\n.br\n.B tp\n.I COMMAND\n.B \\-\\-help\n"
           ".SH DESCRIPTION\n\\fBtp\\fR is the program of the book "
           "\\fITransformer Problems, a literate program in C\\fR: every "
           "model the book trains, every measurement it prints and every "
           "figure it draws is one of its commands. The default corpus is "
           "the book itself, compiled into the program.\n.SH COMMANDS\n");
    for (int i = 0; i < command_count; i++)
        manual_command(commands[i]);
    printf(".SH \"EXIT STATUS\"\n0 done, 1 failed, 2 used wrongly, 130 "
           "stopped by Ctrl\\-C (a training command saves its work "
           "first).\n.SH \"SEE ALSO\"\nThe book, whose chapters are the "
           "source of this program and of this page.\n");
    return 0;
}
/* <<tp: the manual page and the completion>> */
static bool same_first_word(const char *a, const char *b)
{
    size_t n = strcspn(a, " ");
    return n == strcspn(b, " ") && strncmp(a, b, n) == 0;
}

static void completion_cases(void)
{
    for (int i = 0; i < command_count; i++) {
        printf("        \"%s\"|\"%s \"*) words=\"", commands[i]->name,
               commands[i]->name);
        for (const option *o = commands[i]->options; o && o->name; o++)
            printf("%s%s", o == commands[i]->options ? "" : " ", o->name);
        printf(" --help\";;\n");
    }
    for (int i = 0; i < command_count; i++) {
        const char *space = strchr(commands[i]->name, ' ');
        bool first = true;
        for (int j = 0; j < i; j++)
            first = first && !same_first_word(commands[j]->name,
                                              commands[i]->name);
        if (space == NULL || !first)
            continue;
        printf("        \"%.*s\") words=\"", (int)(space - commands[i]->name),
               commands[i]->name);
        for (int j = i; j < command_count; j++)
            if (same_first_word(commands[j]->name, commands[i]->name))
                printf("%s ", strchr(commands[j]->name, ' ') + 1);
        printf("\";;\n");
    }
}

int write_completion(void)
{
    printf("# bash completion for tp, written by 'tp completion'\n"
           "_tp()\n{\n    local cur=${COMP_WORDS[COMP_CWORD]}\n"
           "    local prev=${COMP_WORDS[COMP_CWORD-1]}\n"
           "    local typed=\"${COMP_WORDS[*]:1:COMP_CWORD-1}\" words=\"\"\n"
           "    case \"$prev\" in\n");
    const char *texts[256];  /* the options that take a text, once each */
    int n = 0;
    for (int i = 0; i < command_count; i++)
        for (const option *o = commands[i]->options; o && o->name; o++) {
            bool seen = o->kind != OPTION_STRING;
            for (int j = 0; j < n && !seen; j++)
                seen = strcmp(texts[j], o->name) == 0;
            if (!seen && n < 256)
                texts[n++] = o->name;
        }
    bool any = n > 0;
    for (int j = 0; j < n; j++)
        printf("%s%s", j ? "|" : "        ", texts[j]);
    printf("%s)\n            COMPREPLY=($(compgen -f -- \"$cur\"))\n"
           "            return;;\n    esac\n    case \"$typed\" in\n",
           any ? "" : "        --never");
    completion_cases();
    printf("        \"\") words=\"help");
    for (int i = 0; i < command_count; i++) {
        bool first = true;
        for (int j = 0; j < i; j++)
            first = first && !same_first_word(commands[j]->name,
                                              commands[i]->name);
        if (first)
            printf(" %.*s", (int)strcspn(commands[i]->name, " "),
                   commands[i]->name);
    }
    printf("\";;\n    esac\n"
           "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\n"
           "complete -o default -F _tp tp\n");
    return 0;
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
