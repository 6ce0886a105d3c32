/* Generated from book/120-tensors.nw; edit the book, not this file. */
#ifndef TP_ARENA_H
#define TP_ARENA_H

#include <stddef.h>

typedef struct tp_arena tp_arena;

enum { TP_ALIGNMENT = 64 };

/* <<arena: is this an AddressSanitizer build?>> */
#if defined(__SANITIZE_ADDRESS__)
#define TP_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TP_ADDRESS_SANITIZER 1
#endif
#endif

tp_arena *tp_arena_new(const char *name);
void tp_arena_free(tp_arena *arena);

void *tp_arena_alloc(tp_arena *arena, size_t bytes);
void *tp_arena_zeroed(tp_arena *arena, size_t count, size_t size);
void tp_arena_reset(tp_arena *arena);

size_t tp_arena_used(const tp_arena *arena);
size_t tp_arena_peak(const tp_arena *arena);
void tp_arena_reset_peak(tp_arena *arena);

#endif
