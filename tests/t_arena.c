/* Generated from book/120-tensors.nw; edit the book, not this file. */
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "tp.h"

/* <<t-arena: allocations are aligned and disjoint>> */
static void allocations_are_aligned_and_disjoint(void)
{
    tp_arena *arena = tp_arena_new("test");
    enum { N = 40 };
    unsigned char *memory[N];
    size_t size[N];
    int aligned = 1, intact = 1;
    for (int i = 0; i < N; i++) {
        size[i] = (size_t)1 + (size_t)i * i * i * 97;  /* up to ~5.7 MB */
        memory[i] = tp_arena_alloc(arena, size[i]);
        aligned &= (uintptr_t)memory[i] % TP_ALIGNMENT == 0;
        memset(memory[i], i, size[i]);
    }
    for (int i = 0; i < N; i++)
        for (size_t j = 0; j < size[i]; j++)
            intact &= memory[i][j] == i;
    ok(aligned, "every allocation is aligned to %d bytes", TP_ALIGNMENT);
    ok(intact, "no allocation overwrites another");
    tp_arena_free(arena);
}

/* <<t-arena: zeroed memory is zero after reuse>> */
static void zeroed_memory_is_zero_after_reuse(void)
{
    tp_arena *arena = tp_arena_new("test");
    memset(tp_arena_alloc(arena, 4096), 0xff, 4096);
    tp_arena_reset(arena);
    float *x = tp_arena_zeroed(arena, 1024, sizeof(float));
    int zero = 1;
    for (int i = 0; i < 1024; i++)
        zero &= x[i] == 0.0f;
    ok(zero, "tp_arena_zeroed clears memory a previous step dirtied");
    tp_arena_free(arena);
}

/* <<t-arena: accounting>> */
static void accounting(void)
{
    tp_arena *arena = tp_arena_new("test");
    tp_arena_alloc(arena, 1);
    tp_arena_alloc(arena, 64);
    tp_arena_alloc(arena, 65);
    is(tp_arena_used(arena), 256, "1, 64 and 65 bytes use 256 bytes");
    tp_arena_reset(arena);
    is(tp_arena_used(arena), 0, "a reset arena has nothing in use");
    is(tp_arena_peak(arena), 256, "the peak survives a reset");
    tp_arena_reset_peak(arena);
    is(tp_arena_peak(arena), 0, "tp_arena_reset_peak starts a new count");
    /* <<t-arena: a reset merges blocks>> */
    size_t mb = (size_t)1 << 20;
    for (int round = 0; round < 2; round++) {
        char *a = tp_arena_alloc(arena, mb);
        char *b = tp_arena_alloc(arena, mb);
        char *c = tp_arena_alloc(arena, mb);
        size_t gap = (size_t)(b - a);
        int consecutive = gap >= mb && gap <= mb + TP_ALIGNMENT
                          && c - b == b - a;
        if (round == 1)
            ok(consecutive, "after a reset, a step fits in one merged block");
        tp_arena_reset(arena);
    }
    tp_arena_free(arena);
}

/* <<t-arena: broken contracts and red zones>> */
static int overflowing_request(void)
{
    tp_arena *arena = tp_arena_new("huge");
    tp_arena_zeroed(arena, SIZE_MAX / 2, 4);
    return 0;
}

static int write_past_the_end(void)
{
    tp_arena *arena = tp_arena_new("test");
    float *x = tp_arena_alloc(arena, 16 * sizeof(float));
    float *volatile past = x + 16;  /* volatile: keep the bad write */
    *past = 1.0f;
    tp_arena_free(arena);
    return 0;
}

static void broken_contracts_and_red_zones(void)
{
    dies_with(overflowing_request, "arena \"huge\"",
              "a request that overflows stops, naming the arena");
#ifdef TP_ADDRESS_SANITIZER
    dies_with(write_past_the_end, "use-after-poison",
              "AddressSanitizer catches a write past an allocation");
#else
    (void)write_past_the_end;
    skip(1, "not an AddressSanitizer build");
#endif
}

int main(void)
{
    allocations_are_aligned_and_disjoint();
    zeroed_memory_is_zero_after_reuse();
    accounting();
    broken_contracts_and_red_zones();
    return done_testing();
}
