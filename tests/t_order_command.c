/* Generated from book/310-order.nw; edit the book, not this file. */
#include "command.h"
#include "program.h"

int main(void)
{
    find_program();
    /* <<t-order-command: checks>> */
    struct tap_outcome bad = tp("gpt train --positions spiral --steps 1 --out "
                                "/tmp/tp-order-bad.safetensors");
    ok(bad.status == 2 && strstr(bad.output, "unknown positions 'spiral'")
           && strchr(bad.output, '\n') == strrchr(bad.output, '\n')
           && access("/tmp/tp-order-bad.safetensors", F_OK) != 0,
       "an unknown --positions is refused in one line, nothing written");
    struct tap_outcome rope = tp("gpt train --positions rope --steps 2 --batch 2 "
                                 "--context 16 --layers 1 --heads 2 --width 16 "
                                 "--out /tmp/tp-order-rope.safetensors");
    struct tap_outcome said = tp("gpt sample --model /tmp/tp-order-rope.safetensors "
                                 "--prompt abc --tokens 4");
    ok(rope.status == 0 && said.status == 0 && strncmp(said.output, "abc", 3) == 0,
       "a GPT trained with RoPE saves, loads and samples");
    unlink("/tmp/tp-order-rope.safetensors");
    struct tap_outcome compare = tp("order compare --steps 2 --letters 3 "
                                    "--batch 2 --width 8 --heads 2 --layers 1 "
                                    "--tsv /tmp/tp-order.tsv");
    static table t;
    tp_error error;
    ok(compare.status == 0 && strstr(compare.output, "alibi")
           && read_table("/tmp/tp-order.tsv", &t, &error) == 0 && t.rows == 7,
       "tp order compare trains the seven encodings and writes their rows");
    unlink("/tmp/tp-order.tsv");
    return done_testing();
}
