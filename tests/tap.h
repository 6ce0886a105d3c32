/* Generated from book/110-testing.nw; edit the book, not this file. */
#ifndef TP_TAP_H
#define TP_TAP_H

/* <<tap: ask for POSIX>> */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* <<tap: the printf-format attribute>> */
#if defined(__GNUC__)
#define TAP_PRINTF(format_index, first_argument) \
    __attribute__((__format__(__printf__, format_index, first_argument)))
#else
#define TAP_PRINTF(format_index, first_argument)
#endif

/* <<tap: the state of a test program>> */
static struct {
    int planned;        /* the count plan() announced, or -1 */
    int run;            /* test points reported so far */
    int failed;         /* failed test points, not counting TODO ones */
    const char *todo;   /* why the current checks may fail, or NULL */
    int clock_started;  /* whether the time limit is running */
} tap_state = {-1, 0, 0, NULL, 0};

/* <<tap: a time limit>> */
enum { TAP_DEFAULT_SECONDS = 300 };

static inline void tap_out_of_time(int signal_number)
{
    static const char line[] =
        "Bail out! the test ran past its time limit (TAP_TIME_LIMIT)\n";
    (void)signal_number;
    (void)!write(STDOUT_FILENO, line, sizeof line - 1);
    _exit(255);
}

static inline void tap_start_clock(void)
{
    const char *text = getenv("TAP_TIME_LIMIT");
    char *end = NULL;
    long seconds = text ? strtol(text, &end, 10) : TAP_DEFAULT_SECONDS;
    if (text && (end == text || *end != '\0' || seconds < 0))
        seconds = TAP_DEFAULT_SECONDS;  /* nonsense: keep the default */
    if (seconds == 0)
        return;
    struct sigaction action = {.sa_handler = tap_out_of_time};
    sigemptyset(&action.sa_mask);
    sigaction(SIGALRM, &action, NULL);
    alarm((unsigned)(seconds < 86400 ? seconds : 86400));
    tap_state.clock_started = 1;
}

#if defined(__GNUC__)
__attribute__((constructor)) static void tap_clock_before_main(void)
{
    tap_start_clock();
}
#endif

/* <<tap: diagnostics>> */
static inline void tap_print_comment(FILE *stream, const char *format,
                                     va_list args)
{
    char text[2048];
    vsnprintf(text, sizeof text, format, args);
    for (char *line = text; *line != '\0';) {
        char *end = strchr(line, '\n');
        if (end != NULL)
            *end = '\0';
        fprintf(stream, "# %s\n", line);
        if (end == NULL)
            break;
        line = end + 1;
    }
}
/* <<tap: diagnostics>> */
static inline TAP_PRINTF(1, 2) void diag(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fflush(stdout);
    tap_print_comment(tap_state.todo ? stdout : stderr, format, args);
    va_end(args);
}

static inline TAP_PRINTF(1, 2) void note(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    tap_print_comment(stdout, format, args);
    va_end(args);
}

/* <<tap: reporting a test point>> */
/* <<tap: printing a description>> */
static inline void tap_print_description(const char *format, va_list args)
{
    char text[512];
    vsnprintf(text, sizeof text, format, args);
    for (const char *c = text; *c != '\0'; c++) {
        if (*c == '#' || *c == '\\')
            putchar('\\');
        putchar(*c == '\n' ? ' ' : *c);
    }
}

static inline int tap_report(int passed, const char *file, int line,
                             const char *format, va_list args)
{
    if (!tap_state.clock_started)
        tap_start_clock();  /* a compiler without constructors */
    tap_state.run++;
    printf("%s %d - ", passed ? "ok" : "not ok", tap_state.run);
    tap_print_description(format, args);
    if (tap_state.todo != NULL)
        printf(" # TODO %s", tap_state.todo);
    putchar('\n');
    if (!passed) {
        if (tap_state.todo == NULL)
            tap_state.failed++;
        diag("  Failed %stest at %s line %d.",
             tap_state.todo ? "(TODO) " : "", file, line);
    }
    return passed;
}

/* <<tap: the plan>> */
static inline _Noreturn TAP_PRINTF(1, 2) void bail_out(const char *format,
                                                  ...);

static inline void plan(int count)
{
    if (tap_state.planned >= 0 || tap_state.run > 0)
        bail_out("plan(%d) called after a plan or a test point", count);
    tap_state.planned = count;
    printf("1..%d\n", count);
}
/* <<tap: the plan>> */
static inline int done_testing(void)
{
    if (tap_state.planned < 0) {
        tap_state.planned = tap_state.run;
        printf("1..%d\n", tap_state.run);
    }
    if (tap_state.planned != tap_state.run) {
        diag("Looks like you planned %d tests but ran %d.",
             tap_state.planned, tap_state.run);
        return 255;
    }
    if (tap_state.failed > 0)
        diag("Looks like you failed %d test%s of %d.", tap_state.failed,
             tap_state.failed == 1 ? "" : "s", tap_state.run);
    return tap_state.failed < 254 ? tap_state.failed : 254;
}

/* <<tap: checks>> */
#define ok(condition, ...) \
    tap_ok((condition) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)
#define is(got, expected, ...) \
    tap_is((long long)(got), (long long)(expected), __FILE__, __LINE__, \
           __VA_ARGS__)
#define is_str(got, expected, ...) \
    tap_is_str((got), (expected), __FILE__, __LINE__, __VA_ARGS__)
#define near(got, expected, tolerance, ...) \
    tap_near((double)(got), (double)(expected), (double)(tolerance), \
             __FILE__, __LINE__, __VA_ARGS__)
/* <<tap: checks>> */
static inline TAP_PRINTF(4, 5) int tap_ok(int passed, const char *file,
                                          int line, const char *format,
                                          ...)
{
    va_list args;
    va_start(args, format);
    passed = tap_report(passed, file, line, format, args);
    va_end(args);
    return passed;
}
/* <<tap: checks>> */
static inline TAP_PRINTF(5, 6) int tap_is(long long got, long long expected,
                                          const char *file, int line,
                                          const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int passed = tap_report(got == expected, file, line, format, args);
    va_end(args);
    if (!passed)
        diag("       got: %lld\n  expected: %lld", got, expected);
    return passed;
}
/* <<tap: checks>> */
static inline void tap_diag_string(const char *label, const char *s)
{
    if (s == NULL)
        diag("%10s: NULL", label);
    else
        diag("%10s: \"%s\"", label, s);
}

static inline TAP_PRINTF(5, 6) int tap_is_str(const char *got,
                                              const char *expected,
                                              const char *file, int line,
                                              const char *format, ...)
{
    int equal = (got == NULL || expected == NULL)
                    ? got == expected
                    : strcmp(got, expected) == 0;
    va_list args;
    va_start(args, format);
    int passed = tap_report(equal, file, line, format, args);
    va_end(args);
    if (!passed) {
        tap_diag_string("got", got);
        tap_diag_string("expected", expected);
    }
    return passed;
}
/* <<tap: checks>> */
static inline TAP_PRINTF(6, 7) int tap_near(double got, double expected,
                                            double tolerance,
                                            const char *file, int line,
                                            const char *format, ...)
{
    int close_enough = got == expected
                       || fabs(got - expected) <= tolerance;
    va_list args;
    va_start(args, format);
    int passed = tap_report(close_enough, file, line, format, args);
    va_end(args);
    if (!passed)
        diag("       got: %.9g\n  expected: %.9g\n"
             "difference: %.3g\n tolerance: %.3g",
             got, expected, fabs(got - expected), tolerance);
    return passed;
}

/* <<tap: skipping, todo and bailing out>> */
static inline void skip(int count, const char *reason)
{
    for (int i = 0; i < count; i++)
        printf("ok %d # skip %s\n", ++tap_state.run, reason);
}
/* <<tap: skipping, todo and bailing out>> */
static inline _Noreturn void skip_all(const char *reason)
{
    if (tap_state.planned >= 0 || tap_state.run > 0)
        bail_out("skip_all() called after a plan or a test point");
    printf("1..0 # SKIP %s\n", reason);
    exit(0);
}
/* <<tap: skipping, todo and bailing out>> */
static inline void todo_start(const char *reason) { tap_state.todo = reason; }
static inline void todo_end(void) { tap_state.todo = NULL; }
/* <<tap: skipping, todo and bailing out>> */
static inline _Noreturn TAP_PRINTF(1, 2) void bail_out(const char *format,
                                                  ...)
{
    va_list args;
    va_start(args, format);
    printf("Bail out! ");
    vprintf(format, args);
    putchar('\n');
    va_end(args);
    exit(255);
}

/* <<tap: exercises>> */
static inline const char *tap_chosen_exercise(void)
{
    const char *chosen = getenv("TP_EXERCISE");
    return chosen != NULL && *chosen != '\0' ? chosen : NULL;
}

static inline int exercise_tests(const char *id)
{
    const char *chosen = tap_chosen_exercise();
    if (chosen != NULL && strcmp(chosen, id) != 0)
        return 0;
    note("exercise %s", id);
    return 1;
}

static inline int general_tests(void)
{
    return tap_chosen_exercise() == NULL;
}

/* <<tap: running code in a child process>> */
struct tap_outcome {
    char output[4096];  /* standard output and error, in order */
    size_t length;      /* the bytes of output kept, zero bytes included */
    int status;         /* the exit status, or -1 if killed by a signal */
    int signal;         /* the signal that killed the child, or 0 */
};

/* <<tap: reading a pipe to its end>> */
static inline size_t tap_read_all(int fd, char *buffer, size_t capacity)
{
    size_t used = 0;
    char spill[512];
    for (;;) {
        int full = used + 1 >= capacity;
        char *into = full ? spill : buffer + used;
        size_t room = full ? sizeof spill : capacity - 1 - used;
        ssize_t n = read(fd, into, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (!full)
            used += (size_t)n;
    }
    buffer[used] = '\0';
    return used;
}

static inline struct tap_outcome tap_run(int (*body)(void))
{
    struct tap_outcome outcome = {.status = -1};
    int ends[2];
    if (pipe(ends) != 0)
        bail_out("pipe: %s", strerror(errno));
    fflush(stdout);  /* or the child would print our buffer again */
    fflush(stderr);
    pid_t child = fork();
    if (child < 0)
        bail_out("fork: %s", strerror(errno));
    if (child == 0) {
        dup2(ends[1], STDOUT_FILENO);
        dup2(ends[1], STDERR_FILENO);
        close(ends[0]);
        close(ends[1]);
        tap_start_clock();
        exit(body());
    }
    close(ends[1]);
    outcome.length = tap_read_all(ends[0], outcome.output,
                                  sizeof outcome.output);
    close(ends[0]);
    /* <<tap: wait for the child and record how it ended>> */
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR)
            bail_out("waitpid: %s", strerror(errno));
    if (WIFEXITED(status))
        outcome.status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        outcome.signal = WTERMSIG(status);
    return outcome;
}
/* <<tap: running code in a child process>> */
#define dies_with(body, message, ...) \
    tap_dies_with((body), (message), __FILE__, __LINE__, __VA_ARGS__)

static inline TAP_PRINTF(5, 6) int tap_dies_with(int (*body)(void),
                                                 const char *message,
                                                 const char *file, int line,
                                                 const char *format, ...)
{
    struct tap_outcome outcome = tap_run(body);
    int died = outcome.signal != 0 || outcome.status != 0;
    int passed_check = died && strstr(outcome.output, message) != NULL;
    va_list args;
    va_start(args, format);
    int passed = tap_report(passed_check, file, line, format, args);
    va_end(args);
    if (!passed) {
        diag("%s; it printed:", died ? "it stopped" : "it did not stop");
        diag("%s", outcome.output);
        diag("expected a message containing \"%s\"", message);
    }
    return passed;
}

#endif
