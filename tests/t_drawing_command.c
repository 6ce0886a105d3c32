/* Generated from book/180-drawing.nw; edit the book, not this file. */
#include "command.h"

int main(void)
{
    find_program();
    /* <<t-drawing-command: checks>> */
    struct tap_outcome list = tp("figures --list");
    ok(list.status == 0 && strstr(list.output, "attention-masks"),
       "tp figures --list lists the figures");
    struct tap_outcome unknown_figure = tp("figures no-such-figure");
    ok(unknown_figure.status == 2
           && strstr(unknown_figure.output, "no figure is named 'no-such-figure'"),
       "an unknown figure name is refused");
    struct tap_outcome nothing = tp("figures");
    ok(nothing.status == 2 && strstr(nothing.output, "--all or --list"),
       "tp figures without names says what it needs");
    return done_testing();
}
