/* Generated from book/385-hardware.nw; edit the book, not this file. */
#ifndef TP_FLASH_H
#define TP_FLASH_H

#include <stddef.h>

#include "tp/gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* <<flash: what the kernels accept>> */
enum { TP_FLASH_HEAD_DIMS = 2 };
extern const int tp_flash_head_dims[TP_FLASH_HEAD_DIMS];  /* 64, 128 */
int tp_flash_validate(int heads, int n, int d, char *why, size_t why_size);

/* <<flash: the operations>> */
extern const tp_gpu_operation tp_flash_operations[];
extern const int tp_flash_operation_count;
const tp_gpu_operation *tp_flash_operation_named(const char *name);

/* <<flash: launchers>> */
struct tp_kernel_args;
void tp_cuda_attention_cublas(const struct tp_kernel_args *args);
void tp_cuda_attention_v1(const struct tp_kernel_args *args);
void tp_cuda_attention_v2(const struct tp_kernel_args *args);
void tp_cuda_attention_v4(const struct tp_kernel_args *args);
void tp_cuda_attention_backward_v1(const struct tp_kernel_args *args);
void tp_cuda_decode_v1(const struct tp_kernel_args *args);
void tp_cuda_decode_v4(const struct tp_kernel_args *args);

#ifdef __cplusplus
}
#endif

#endif
