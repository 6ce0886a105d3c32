/* Generated from book/120-tensors.nw; edit the book, not this file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/arena.h"
#include "tp/check.h"

/* <<arena: poisoning under AddressSanitizer>> */
#ifdef TP_ADDRESS_SANITIZER
#include <sanitizer/asan_interface.h>
enum { RED_ZONE = TP_ALIGNMENT };
static void poison(void *p, size_t n) { ASAN_POISON_MEMORY_REGION(p, n); }
static void unpoison(void *p, size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); }
#else
enum { RED_ZONE = 0 };
static void poison(void *p, size_t n) { (void)p, (void)n; }
static void unpoison(void *p, size_t n) { (void)p, (void)n; }
#endif

/* <<arena: blocks>> */
typedef struct block {
    struct block *below;  /* the block allocated before this one */
    size_t size;          /* bytes of data */
    size_t used;          /* bytes of data handed out */
} block;

enum { HEADER = (sizeof(block) + TP_ALIGNMENT - 1) / TP_ALIGNMENT
                * TP_ALIGNMENT,
       FIRST_BLOCK = 1 << 20 };

static char *block_data(block *b)
{
    return (char *)b + HEADER;
}
/* <<arena: blocks>> */
static block *block_new(const char *arena_name, size_t size, block *below)
{
    tp_check(size <= SIZE_MAX - HEADER,
             "arena \"%s\": %zu bytes is more than memory can hold",
             arena_name, size);
    /* Every size here is a multiple of 64, as aligned_alloc requires. */
    block *b = aligned_alloc(TP_ALIGNMENT, HEADER + size);
    tp_check(b != NULL, "arena \"%s\": out of memory asking for %zu bytes",
             arena_name, size);
    b->below = below;
    b->size = size;
    b->used = 0;
    poison(block_data(b), size);
    return b;
}

/* <<arena: creating and freeing>> */
struct tp_arena {
    const char *name;
    block *top;
    size_t used;  /* bytes handed out since the last reset */
    size_t peak;  /* the most used has been */
};

tp_arena *tp_arena_new(const char *name)
{
    tp_arena *arena = calloc(1, sizeof *arena);
    tp_check(arena != NULL, "arena \"%s\": out of memory", name);
    arena->name = name;
    return arena;
}

static void free_blocks(tp_arena *arena)
{
    while (arena->top != NULL) {
        block *below = arena->top->below;
        free(arena->top);
        arena->top = below;
    }
}

void tp_arena_free(tp_arena *arena)
{
    if (arena != NULL) {
        free_blocks(arena);
        free(arena);
    }
}

/* <<arena: allocating>> */
static size_t round_up(size_t bytes)
{
    return (bytes + TP_ALIGNMENT - 1) / TP_ALIGNMENT * TP_ALIGNMENT;
}

void *tp_arena_alloc(tp_arena *arena, size_t bytes)
{
    tp_check(bytes <= SIZE_MAX / 2, "arena \"%s\": cannot allocate %zu bytes",
             arena->name, bytes);
    size_t need = round_up(bytes) + RED_ZONE;
    block *top = arena->top;
    if (top == NULL || top->size - top->used < need) {
        size_t size = top == NULL ? FIRST_BLOCK : 2 * top->size;
        top = arena->top = block_new(arena->name, need > size ? need : size,
                                     top);
    }
    char *memory = block_data(top) + top->used;
    top->used += need;
    arena->used += round_up(bytes);
    if (arena->used > arena->peak)
        arena->peak = arena->used;
    unpoison(memory, bytes);
    return memory;
}
/* <<arena: allocating>> */
void *tp_arena_zeroed(tp_arena *arena, size_t count, size_t size)
{
    tp_check(size == 0 || count <= SIZE_MAX / size,
             "arena \"%s\": %zu objects of %zu bytes overflow a size_t",
             arena->name, count, size);
    void *memory = tp_arena_alloc(arena, count * size);
    memset(memory, 0, count * size);
    return memory;
}

/* <<arena: resetting and measuring>> */
void tp_arena_reset(tp_arena *arena)
{
    block *top = arena->top;
    if (top != NULL && top->below != NULL) {
        size_t total = 0;
        for (block *b = top; b != NULL; b = b->below)
            total += b->size;
        free_blocks(arena);
        arena->top = block_new(arena->name, total, NULL);
    } else if (top != NULL) {
        top->used = 0;
        poison(block_data(top), top->size);
    }
    arena->used = 0;
}
/* <<arena: resetting and measuring>> */
size_t tp_arena_used(const tp_arena *arena) { return arena->used; }
size_t tp_arena_peak(const tp_arena *arena) { return arena->peak; }
void tp_arena_reset_peak(tp_arena *arena) { arena->peak = arena->used; }
