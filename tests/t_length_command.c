/* Generated from book/345-length.nw; edit the book, not this file. */
#include "command.h"
#include "program.h"

int main(void)
{
    find_program();
    /* <<t-length-command: checks>> */
    const char *small = "--steps 2 --batch 2 --context 16 --layers 1 --heads 2 "
                        "--width 16";
    char line[512];
    snprintf(line, sizeof line, "gpt train %s --positions rope --out "
             "/tmp/tp-length-rope.safetensors", small);
    tp(line);
    snprintf(line, sizeof line, "gpt train %s --out "
             "/tmp/tp-length-learned.safetensors", small);
    tp(line);
    struct tap_outcome past = tp("length eval --model "
                                 "/tmp/tp-length-rope.safetensors --length 64 "
                                 "--tokens 128");
    struct tap_outcome yarn = tp("length eval --model "
                                 "/tmp/tp-length-rope.safetensors --length 64 "
                                 "--tokens 128 --scaling yarn");
    ok(past.status == 0 && strstr(past.output, "rope positions, plain scaling: "
                                              "loss ")
           && yarn.status == 0 && strstr(yarn.output, "yarn scaling: loss "),
       "a RoPE model is measured at four times its length, scaled or not");
    /* <<t-length-command: refusals>> */
    struct tap_outcome table_end = tp("length eval --model "
                                      "/tmp/tp-length-learned.safetensors "
                                      "--length 17");
    ok(table_end.status == 1
           && strstr(table_end.output, "learned positions for 16 tokens; it has "
                                       "no position for token 17\n")
           && strchr(table_end.output, '\n') == strrchr(table_end.output, '\n'),
       "learned positions past their table: one line, exit 1");
    static const char *const bad[4][2] = {
        {"--scaling yarn --factor 0", "must be a positive number, not 0"},
        {"--scaling ntk --factor -2", "must be a positive number, not -2"},
        {"--scaling linear", "unknown RoPE scaling 'linear'"},
        {"--factor x2", "--factor must be a number, not 'x2'"}};
    for (int i = 0; i < 4; i++) {
        snprintf(line, sizeof line, "length eval --model "
                 "/tmp/tp-length-rope.safetensors --length 32 %s", bad[i][0]);
        struct tap_outcome o = tp(line);
        ok(o.status == 2 && strstr(o.output, bad[i][1]), "%s is refused: %s",
           bad[i][0], bad[i][1]);
    }
    struct tap_outcome not_rope = tp("length eval --model "
                                     "/tmp/tp-length-learned.safetensors "
                                     "--length 16 --scaling yarn");
    ok(not_rope.status == 2
           && strstr(not_rope.output, "only a model with RoPE can be scaled"),
       "a model without RoPE is not scaled");
    unlink("/tmp/tp-length-rope.safetensors");
    unlink("/tmp/tp-length-learned.safetensors");
    /* <<t-length-command: the comparison>> */
    struct tap_outcome compare = tp("length compare --steps 2 --context 16 "
                                    "--longest 32 --tokens 64 --batch 2 "
                                    "--width 8 --heads 2 --layers 1 --tsv "
                                    "/tmp/tp-length.tsv");
    static table t;
    tp_error error;
    bool learned_refused = false;
    if (compare.status == 0 && read_table("/tmp/tp-length.tsv", &t, &error) == 0)
        for (int r = 0; r < t.rows; r++)
            learned_refused = learned_refused
                              || (strcmp(t.label[r], "learned") == 0
                                  && t.value[r][0] == 32 && isnan(t.value[r][1]));
    ok(compare.status == 0 && t.rows == 20 && learned_refused,
       "tp length compare writes ten methods at two lengths, learned refused "
       "past its table");
    unlink("/tmp/tp-length.tsv");
    return done_testing();
}
