/* Generated from book/100-part-machine.nw; edit the book, not this file. */
/* The smallest program against the installed library: a product on the
   tape, its sum, and the gradient of the sum, which is B's row sums. */
#include <stdio.h>

#include <tp.h>

int main(void)
{
    tp_arena *arena = tp_arena_new("first");
    tp_graph g = tp_graph_on(arena);
    const float a_values[] = {1, 2, 3, 4}, b_values[] = {1, 2, 3, 4, 5, 6};
    tp_tensor *a = tp_tensor_new(arena, tp_shape2(2, 2), TP_WITH_GRAD);
    tp_tensor *b = tp_tensor_from(arena, tp_shape2(2, 3), b_values);
    for (int i = 0; i < 4; i++)
        a->data[i] = a_values[i];
    tp_tensor *total = tp_sum(&g, tp_matmul(&g, a, b));
    tp_backward(&g, total);
    printf("sum of A B = %g\n", total->data[0]);
    printf("d sum / d A = [[%g %g] [%g %g]]\n", a->grad[0], a->grad[1],
           a->grad[2], a->grad[3]);
    tp_arena_free(arena);
    return 0;
}
