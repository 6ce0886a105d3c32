/* Generated from book/110-testing.nw; edit the book, not this file. */
/* The harness tests itself: every scenario's output and exit status. */
#include "tap.h"

/* <<t-tap: scenarios>> */
static int passing(void)
{
    plan(3);
    ok(1 + 1 == 2, "one and one make two");
    is(6 * 7, 42, "six sevens make %d", 42);
    near(sqrt(2.0) * sqrt(2.0), 2.0, 1e-12, "sqrt(2) squared is 2");
    return done_testing();
}
/* <<t-tap: scenarios>> */
static int failing(void)
{
    ok(0, "a false claim");
    is(2 + 2, 5, "two and two make five");
    near(3.14159, 3.0, 0.1, "pi is near three");
    is_str("attention", "retention", "the words match");
    return done_testing();
}
/* <<t-tap: scenarios>> */
static int nearness(void)
{
    near(1.0, 1.0 + 1e-7, 1e-6, "inside the tolerance");
    near(1.0, 1.1, 1e-3, "outside the tolerance");
    near(NAN, NAN, 1.0, "NaN is near nothing, not even NaN");
    near(INFINITY, INFINITY, 0.0, "an infinity is near itself");
    near(2.0, 2.0, 0.0, "equal numbers pass a zero tolerance");
    near(-INFINITY, 0.0, 1e300, "no finite tolerance reaches infinity");
    return done_testing();
}
/* <<t-tap: scenarios>> */
static int skipping_and_todo(void)
{
    plan(4);
    skip(2, "no CUDA device");
    todo_start("not written yet");
    ok(0, "a future feature");
    todo_end();
    ok(1, "back to normal");
    return done_testing();
}
/* <<t-tap: scenarios>> */
static int nothing_to_do(void)
{
    skip_all("no CUDA device");
}

static int disaster(void)
{
    ok(1, "before the disaster");
    bail_out("out of %s", "memory");
}

static int stopped_early(void)
{
    plan(3);
    ok(1, "first");
    ok(1, "second");
    return done_testing();
}

static int endless(void)
{
    setenv("TAP_TIME_LIMIT", "1", 1);
    tap_start_clock();
    while (tap_state.run >= 0)
        pause();  /* a test stuck for good, waiting without spinning */
    return 0;
}

static int awkward_descriptions(void)
{
    ok(1, "fixes issue #7");
    ok(1, "a back\\slash and a\nline break");
    return done_testing();
}
/* <<t-tap: scenarios>> */
static int aborts_loudly(void)
{
    fprintf(stderr, "tp: shapes [2, 3] and [4, 5] do not match\n");
    abort();
}

static int returns_quietly(void)
{
    return 0;
}

static int deaths(void)
{
    dies_with(aborts_loudly, "[2, 3] and [4, 5]", "a loud stop passes");
    dies_with(returns_quietly, "[2, 3]", "a quiet success fails");
    dies_with(aborts_loudly, "[7, 7]", "the wrong message fails");
    return done_testing();
}
/* <<t-tap: scenarios>> */
static int exercises(void)
{
    if (exercise_tests("tap.first"))
        ok(1, "the first exercise's check");
    if (exercise_tests("tap.second"))
        ok(1, "the second exercise's check");
    if (general_tests())
        ok(1, "a general check");
    return done_testing();
}

static int first_exercise(void)
{
    setenv("TP_EXERCISE", "tap.first", 1);
    return exercises();
}

static int second_exercise(void)
{
    setenv("TP_EXERCISE", "tap.second", 1);
    return exercises();
}

/* <<t-tap: checking the scenarios>> */
static int contains(const char *text, const char *part)
{
    return strstr(text, part) != NULL;
}

/* Whether `first` occurs in text, and `second` after it. */
static int in_order(const char *text, const char *first, const char *second)
{
    const char *at = strstr(text, first);
    return at != NULL && strstr(at + strlen(first), second) != NULL;
}
/* <<t-tap: checking the scenarios>> */
int main(void)
{
    struct tap_outcome passed = tap_run(passing), failed = tap_run(failing),
                       nearly = tap_run(nearness),
                       skipped = tap_run(skipping_and_todo),
                       nothing = tap_run(nothing_to_do),
                       bailed = tap_run(disaster),
                       early = tap_run(stopped_early),
                       stuck = tap_run(endless),
                       awkward = tap_run(awkward_descriptions),
                       died = tap_run(deaths);
    unsetenv("TP_EXERCISE");  /* the whole program, as make check runs it */
    struct tap_outcome all = tap_run(exercises),
                       first = tap_run(first_exercise),
                       second = tap_run(second_exercise);

    plan(36);
    /* <<t-tap: check the passing scenario>> */
    is_str(passed.output,
           "1..3\n"
           "ok 1 - one and one make two\n"
           "ok 2 - six sevens make 42\n"
           "ok 3 - sqrt(2) squared is 2\n",
           "a passing program prints its plan and one line per check");
    is(passed.status, 0, "a passing program exits with status 0");
    volatile double square = sqrt(2.0) * sqrt(2.0);  /* rounded, not fused */
    ok(square - 2.0 == ldexp(1.0, -51),
       "the square of the computed sqrt(2) is 2 + 2^-51, one ulp above 2");
    near(fma(sqrt(2.0), sqrt(2.0), -2.0), 2.734e-16, 1e-19,
         "fused, sqrt(2) * sqrt(2) - 2 is the exact error of the square");
    /* <<t-tap: check the failing scenario>> */
    is(failed.status, 4, "the exit status counts the failures");
    ok(in_order(failed.output, "not ok 1 - a false claim\n#   Failed test at ",
                "t_tap.c line "),
       "a failure names the file of the failed check, after the test line");
    ok(in_order(failed.output, "not ok 2 - two and two make five\n",
                "#        got: 4\n#   expected: 5\n"),
       "is() shows what it got and what it expected");
    ok(in_order(failed.output, "not ok 3 - pi is near three\n",
                "#        got: 3.14159\n#   expected: 3\n"
                "# difference: 0.142\n#  tolerance: 0.1\n"),
       "near() shows the difference and the tolerance");
    ok(in_order(failed.output, "not ok 4 - the words match\n",
                "#        got: \"attention\"\n#   expected: \"retention\"\n"),
       "is_str() shows both strings");
    ok(in_order(failed.output, "not ok 4", "1..4\n"),
       "without a plan, done_testing() prints one at the end");
    ok(contains(failed.output, "# Looks like you failed 4 tests of 4.\n"),
       "the summary counts the failures");
    /* <<t-tap: check the nearness scenario>> */
    ok(contains(nearly.output, "ok 1 - inside the tolerance\n"),
       "1e-7 apart is near with a tolerance of 1e-6");
    ok(contains(nearly.output, "not ok 2 - outside the tolerance\n"),
       "0.1 apart is not near with a tolerance of 1e-3");
    ok(contains(nearly.output, "not ok 3 - NaN is near nothing"),
       "NaN fails near(), even against NaN");
    ok(contains(nearly.output, "ok 4 - an infinity is near itself\n"),
       "an infinity passes near() against itself");
    ok(contains(nearly.output, "ok 5 - equal numbers pass a zero tolerance\n"),
       "equal numbers pass a zero tolerance");
    ok(contains(nearly.output, "not ok 6 - no finite tolerance"),
       "an infinity is not near a finite number");
    is(nearly.status, 3, "three of the six nearness checks fail");
    /* <<t-tap: check skipping and todo>> */
    ok(in_order(skipped.output,
                "1..4\nok 1 # skip no CUDA device\nok 2 # skip no CUDA device\n"
                "not ok 3 - a future feature # TODO not written yet\n",
                "ok 4 - back to normal\n"),
       "skips and TODOs carry their directives and keep the numbering");
    is(skipped.status, 0, "an expected failure does not fail the program");
    /* <<t-tap: check the scenarios that end early>> */
    is_str(nothing.output, "1..0 # SKIP no CUDA device\n",
           "skip_all() prints an empty plan with the reason");
    is(nothing.status, 0, "a program with nothing to do here passes");
    is_str(bailed.output, "ok 1 - before the disaster\nBail out! out of memory\n",
           "bail_out() prints the reason after what ran");
    is(bailed.status, 255, "bail_out() exits with status 255");
    ok(contains(early.output, "# Looks like you planned 3 tests but ran 2.\n"),
       "a program that ran fewer tests than planned says so");
    is(early.status, 255, "and fails, although every check it ran passed");
    ok(contains(stuck.output, "Bail out! the test ran past its time limit"),
       "a program stuck past its time limit bails out, saying so");
    is(stuck.status, 255, "and exits with status 255");
    is_str(awkward.output,
           "ok 1 - fixes issue \\#7\n"
           "ok 2 - a back\\\\slash and a line break\n"
           "1..2\n",
           "a # and a backslash are escaped, a line break becomes a space");
    /* <<t-tap: check the death checks>> */
    ok(contains(died.output, "ok 1 - a loud stop passes\n"),
       "dies_with() passes when the code stops with the message");
    ok(in_order(died.output, "not ok 2 - a quiet success fails\n",
                "# it did not stop"),
       "dies_with() fails, and says so, when the code does not stop");
    ok(contains(died.output, "not ok 3 - the wrong message fails\n"),
       "dies_with() fails when the code stops with another message");
    is(died.status, 2, "two of the three death checks fail");
    /* <<t-tap: check the exercise blocks>> */
    is_str(all.output,
           "# exercise tap.first\nok 1 - the first exercise's check\n"
           "# exercise tap.second\nok 2 - the second exercise's check\n"
           "ok 3 - a general check\n1..3\n",
           "with no exercise chosen, every block runs, each exercise named");
    is_str(first.output,
           "# exercise tap.first\nok 1 - the first exercise's check\n1..1\n",
           "with TP_EXERCISE=tap.first, only its block runs");
    is_str(second.output,
           "# exercise tap.second\nok 1 - the second exercise's check\n1..1\n",
           "with TP_EXERCISE=tap.second, only its block runs");
    return done_testing();
}
