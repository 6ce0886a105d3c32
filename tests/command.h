/* Generated from book/175-command.nw; edit the book, not this file. */
#ifndef TP_TESTS_COMMAND_H
#define TP_TESTS_COMMAND_H

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "tp.h"

static const char *program;
static const char *arguments;

static int run_program(void)
{
    char line[512];
    snprintf(line, sizeof line, "%s %s", program, arguments);
    execl("/bin/sh", "sh", "-c", line, (char *)NULL);
    return 127;
}

static inline struct tap_outcome tp(const char *args)
{
    arguments = args;
    return tap_run(run_program);
}

static inline void find_program(void)
{
    program = getenv("TP_PROGRAM");
    if (program == NULL)
        skip_all("TP_PROGRAM is not set (run the tests with make check)");
}

#endif
