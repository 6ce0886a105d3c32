/* Generated from book/120-tensors.nw; edit the book, not this file. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "tp/check.h"

void tp_fail(const char *file, int line, const char *function,
             const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fflush(stdout);
    fprintf(stderr, "%s:%d: %s: ", file, line, function);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    abort();
}

int tp_error_set(tp_error *error, const char *format, ...)
{
    if (error != NULL) {
        va_list args;
        va_start(args, format);
        vsnprintf(error->message, sizeof error->message, format, args);
        va_end(args);
    }
    return -1;
}
