/* Generated from book/910-course.nw; edit the book, not this file. */
#ifndef TP_EXERCISE_H
#define TP_EXERCISE_H

/* The starting point of an exercise not yet done: prints
   "exercise ID: not done yet" and ends the program with status 3. */
_Noreturn void tp_exercise_missing(const char *id);

#endif
