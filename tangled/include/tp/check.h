/* Generated from book/120-tensors.nw; edit the book, not this file. */
#ifndef TP_CHECK_H
#define TP_CHECK_H

/* <<check: the printf-format attribute>> */
#if defined(__GNUC__)
#define TP_PRINTF(format_index, first_argument) \
    __attribute__((__format__(__printf__, format_index, first_argument)))
#else
#define TP_PRINTF(format_index, first_argument)
#endif

/* <<check: broken contracts>> */
#define tp_check(condition, ...)                                     \
    ((condition) ? (void)0                                           \
                 : tp_fail(__FILE__, __LINE__, __func__, __VA_ARGS__))

_Noreturn void tp_fail(const char *file, int line, const char *function,
                       const char *format, ...) TP_PRINTF(4, 5);

/* <<check: failures of the outside world>> */
typedef struct tp_error {
    char message[512];
} tp_error;

int tp_error_set(tp_error *error, const char *format, ...) TP_PRINTF(2, 3);

#endif
