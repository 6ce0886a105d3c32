/* Generated from book/320-decoding.nw; edit the book, not this file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/bench.h"
#include "tp/decoding.h"
#include "tp/exercise.h"

/* <<decoding: choosing a token>> */
static void distribution(const float *logits, int vocab, float temperature,
                         double *p)
{
    float top = logits[0];
    for (int i = 1; i < vocab; i++)
        top = logits[i] > top ? logits[i] : top;
    double total = 0.0;
    for (int i = 0; i < vocab; i++)
        total += p[i] = exp((double)(logits[i] - top) / temperature);
    for (int i = 0; i < vocab; i++)
        p[i] /= total;
}

static int draw(const double *p, int vocab, tp_rng *rng)
{
    double r = tp_rng_uniform(rng);
    for (int i = 0; i < vocab; i++)
        if ((r -= p[i]) < 0.0)
            return i;
    int last = vocab - 1;  /* rounding left r a hair above zero */
    while (last > 0 && p[last] == 0.0)
        last--;
    return last;
}
/* <<decoding: choosing a token>> */
static int choose(const float *logits, int vocab, float temperature,
                  double *p, tp_rng *rng)
{
    if (temperature <= 0.0f)
        return tp_gpt_sample_token(logits, vocab, 0.0f, 0, 1.0f, rng);
    distribution(logits, vocab, temperature, p);
    return draw(p, vocab, rng);
}

/* <<decoding: plain decoding>> */
static int check_lengths(const tp_gpt *m, const char *which, int n_prompt,
                         int n_new, tp_error *error)
{
    if (n_prompt < 1 || n_new < 1)
        return tp_error_set(error, "decoding needs a prompt and a token to "
                            "write (%d and %d)", n_prompt, n_new);
    if (n_prompt + n_new > m->config.n_positions)
        return tp_error_set(error, "%d prompt tokens and %d more do not fit "
                            "in the %d positions of the %s", n_prompt, n_new,
                            m->config.n_positions, which);
    return 0;
}
/* <<decoding: plain decoding>> */
static const float *next_logits(tp_gpt *m, tp_gpt_cache *cache,
                                const int *sequence, int length, int fresh,
                                tp_arena *scratch)
{
    int vocab = m->config.vocab_size;
    if (cache != NULL)
        return tp_gpt_extend(m, cache, sequence + length - fresh, fresh,
                             scratch) + (long)(fresh - 1) * vocab;
    tp_graph g = tp_graph_on(scratch);
    tp_set_grad(&g, false);
    return tp_gpt_forward(&g, m, sequence, 1, length)->data
           + (long)(length - 1) * vocab;
}
/* <<decoding: plain decoding>> */
int tp_gpt_generate(tp_gpt *m, const int *prompt, int n_prompt, int n_new,
              float temperature, bool cached, tp_rng *rng, int *out,
              double *seconds, tp_error *error)
{
    if (check_lengths(m, "model", n_prompt, n_new, error) != 0)
        return -1;
    int length = n_prompt, vocab = m->config.vocab_size;
    int *sequence = malloc((size_t)(n_prompt + n_new) * sizeof *sequence);
    double *p = malloc((size_t)vocab * sizeof *p);
    tp_check(sequence != NULL && p != NULL, "out of memory");
    memcpy(sequence, prompt, (size_t)n_prompt * sizeof *sequence);
    tp_gpt_cache *cache = cached ? tp_gpt_cache_new(m, n_prompt + n_new)
                                 : NULL;
    tp_arena *scratch = tp_arena_new("decoding");
    /* <<plain decoding: one token per step>> */
    double start = tp_seconds();
    for (int i = 0; i < n_new; i++) {
        int fresh = i == 0 ? n_prompt : 1;
        const float *logits = next_logits(m, cache, sequence, length, fresh,
                                          scratch);
        out[i] = sequence[length++] = choose(logits, vocab, temperature, p, rng);
        tp_arena_reset(scratch);
        if (seconds != NULL)
            seconds[i] = tp_seconds() - start;
    }
    tp_arena_free(scratch);
    tp_gpt_cache_free(cache);
    free(sequence), free(p);
    return 0;
}

/* <<decoding: speculative decoding>> */
typedef struct speculator {
    tp_gpt *target, *draft;
    tp_gpt_cache *target_cache, *draft_cache;
    tp_arena *scratch;
    int vocab, k;
    float temperature;
    tp_rng *rng;
    int *proposed;  /* k + 1: the last token written, then x_1 .. x_k */
    double *q, *p;  /* k rows of the draft's q; k + 1 of the target's p */
    int *best;      /* k + 1: the target's most likely token of each row */
} speculator;
/* <<decoding: speculative decoding>> */
static void propose(speculator *s, int k)
{
    for (int i = 0; i < k; i++) {
        const float *logits = tp_gpt_extend(s->draft, s->draft_cache,
                                            &s->proposed[i], 1, s->scratch);
        s->proposed[i + 1] = choose(logits, s->vocab, s->temperature,
                                    s->q + (long)i * s->vocab, s->rng);
        tp_arena_reset(s->scratch);
    }
}
/* <<decoding: speculative decoding>> */
static void verify(speculator *s, int k)
{
    const float *logits = tp_gpt_extend(s->target, s->target_cache,
                                        s->proposed, k + 1, s->scratch);
    for (int i = 0; i <= k; i++) {
        const float *row = logits + (long)i * s->vocab;
        s->best[i] = tp_gpt_sample_token(row, s->vocab, 0.0f, 0, 1.0f, s->rng);
        if (s->temperature > 0.0f)
            distribution(row, s->vocab, s->temperature,
                         s->p + (long)i * s->vocab);
    }
    tp_arena_reset(s->scratch);
}
/* <<decoding: speculative decoding>> */
static bool keep(speculator *s, int i)
{
    int x = s->proposed[i + 1];
    if (s->temperature <= 0.0f)
        return x == s->best[i];
    /* <<solution: decoding.accept>> */
    double p = s->p[(long)i * s->vocab + x], q = s->q[(long)i * s->vocab + x];
    return tp_rng_uniform(s->rng) * q < p;  /* u < p/q, without dividing */
}
/* <<decoding: speculative decoding>> */
static int replacement(speculator *s, int i)
{
    if (s->temperature <= 0.0f)
        return s->best[i];
    double *p = s->p + (long)i * s->vocab;
    if (tp_speculative_residual(p, s->q + (long)i * s->vocab, s->vocab) <= 0.0)
        return s->best[i];
    return draw(p, s->vocab, s->rng);
}
/* <<decoding: speculative decoding>> */
double tp_speculative_residual(double *p, const double *q, int vocab)
{
    /* <<solution: decoding.residual>> */
    double mass = 0.0;
    for (int v = 0; v < vocab; v++)
        mass += p[v] = p[v] > q[v] ? p[v] - q[v] : 0.0;
    if (mass > 0.0)
        for (int v = 0; v < vocab; v++)
            p[v] /= mass;
    return mass;
}
/* <<decoding: speculative decoding>> */
static int round_of(speculator *s, int last, int k, int *out,
                    tp_speculation *stats)
{
    s->proposed[0] = last;
    propose(s, k);
    verify(s, k);
    int accepted = 0;
    while (accepted < k && keep(s, accepted)) {
        out[accepted] = s->proposed[accepted + 1];
        accepted++;
    }
    out[accepted] = accepted < k ? replacement(s, accepted)
                    : s->temperature <= 0.0f
                        ? s->best[k] : draw(s->p + (long)k * s->vocab,
                                            s->vocab, s->rng);
    /* <<speculative round: put the caches back>> */
    s->target_cache->length -= k - accepted;
    if (accepted == k) {
        tp_gpt_extend(s->draft, s->draft_cache, &s->proposed[k], 1, s->scratch);
        tp_arena_reset(s->scratch);
    } else {
        s->draft_cache->length -= k - 1 - accepted;
    }
    stats->rounds++, stats->proposed += k, stats->accepted += accepted;
    return accepted + 1;
}
/* <<decoding: speculative decoding>> */
static int check_speculation(const tp_gpt *target, const tp_gpt *draft,
                             int n_prompt, int n_new, int k, tp_error *error)
{
    if (draft->config.vocab_size != target->config.vocab_size)
        return tp_error_set(error, "the draft has a vocabulary of %d tokens "
                            "but the target %d", draft->config.vocab_size,
                            target->config.vocab_size);
    if (k < 1)
        return tp_error_set(error, "the draft must propose at least one token "
                            "a round, not %d", k);
    if (target->config.positions != TP_POSITIONS_LEARNED
        || draft->config.positions != TP_POSITIONS_LEARNED)
        return tp_error_set(error, "speculative decoding here reads several "
                            "tokens at once only with learned positions, "
                            "not %s", tp_position_name(
                                target->config.positions
                                        != TP_POSITIONS_LEARNED
                                    ? target->config.positions
                                    : draft->config.positions));
    if (check_lengths(target, "target", n_prompt, n_new, error) != 0
        || check_lengths(draft, "draft", n_prompt, n_new, error) != 0)
        return -1;
    return 0;
}
/* <<decoding: speculative decoding>> */
int tp_speculative_decode(tp_gpt *target, tp_gpt *draft, const int *prompt,
                          int n_prompt, int n_new, int k, float temperature,
                          tp_rng *rng, int *out, tp_speculation *stats,
                          tp_error *error)
{
    if (check_speculation(target, draft, n_prompt, n_new, k, error) != 0)
        return -1;
    speculator s;
    /* <<speculative decoding: make the state>> */
    int vocab = target->config.vocab_size, capacity = n_prompt + n_new;
    s = (speculator){.target = target, .draft = draft,
                     .target_cache = tp_gpt_cache_new(target, capacity),
                     .draft_cache = tp_gpt_cache_new(draft, capacity),
                     .scratch = tp_arena_new("speculative decoding"),
                     .vocab = vocab, .k = k, .temperature = temperature,
                     .rng = rng};
    s.proposed = malloc((size_t)(k + 1) * sizeof *s.proposed);
    s.best = malloc((size_t)(k + 1) * sizeof *s.best);
    s.q = malloc((size_t)k * (size_t)vocab * sizeof *s.q);
    s.p = malloc((size_t)(k + 1) * (size_t)vocab * sizeof *s.p);
    int *buffer = malloc((size_t)(n_new + 1) * sizeof *buffer);
    tp_check(s.proposed != NULL && s.best != NULL && s.q != NULL && s.p != NULL
                 && buffer != NULL, "out of memory");
    /* <<speculative decoding: read the prompt>> */
    if (n_prompt > 1) {
        tp_gpt_extend(target, s.target_cache, prompt, n_prompt - 1, s.scratch);
        tp_arena_reset(s.scratch);
        tp_gpt_extend(draft, s.draft_cache, prompt, n_prompt - 1, s.scratch);
        tp_arena_reset(s.scratch);
    }
    tp_speculation counts = {0, 0, 0};
    int written = 0, last = prompt[n_prompt - 1];
    while (written < n_new) {
        int round_k = k < n_new - written ? k : n_new - written;
        written += round_of(&s, last, round_k, buffer + written, &counts);
        last = buffer[written - 1];
    }
    memcpy(out, buffer, (size_t)n_new * sizeof *out);
    if (stats != NULL)
        *stats = counts;
    /* <<speculative decoding: free the state>> */
    free(s.proposed), free(s.best), free(s.q), free(s.p), free(buffer);
    tp_arena_free(s.scratch);
    tp_gpt_cache_free(s.target_cache);
    tp_gpt_cache_free(s.draft_cache);
    return 0;
}
