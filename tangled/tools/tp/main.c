/* Generated from book/175-command.nw; edit the book, not this file. */
#include "program.h"

int main(int argc, char **argv)
{
    return run_tp(argc, argv);
}
