/* Generated from book/100-part-machine.nw; edit the book, not this file. */
#ifndef TP_H
#define TP_H

/* <<tp.h: module headers>> */
#include "tp/bench.h"
/* <<tp.h: module headers>> */
#include "tp/check.h"
/* <<tp.h: module headers>> */
#include "tp/arena.h"
/* <<tp.h: module headers>> */
#include "tp/random.h"
/* <<tp.h: module headers>> */
#include "tp/tensor.h"
/* <<tp.h: module headers>> */
#include "tp/matmul.h"
/* <<tp.h: module headers>> */
#include "tp/parallel.h"
/* <<tp.h: module headers>> */
#include "tp/autodiff.h"
/* <<tp.h: module headers>> */
#include "tp/ops.h"
/* <<tp.h: module headers>> */
#include "tp/attention.h"
/* <<tp.h: module headers>> */
#include "tp/train.h"
/* <<tp.h: module headers>> */
#include "tp/checkpoint.h"
/* <<tp.h: module headers>> */
#include "tp/data.h"
/* <<tp.h: module headers>> */
#include "tp/draw.h"
/* <<tp.h: module headers>> */
#include "tp/gpu.h"
/* <<tp.h: module headers>> */
#include "tp/block.h"
/* <<tp.h: module headers>> */
#include "tp/vanilla.h"
/* <<tp.h: module headers>> */
#include "tp/bert.h"
/* <<tp.h: module headers>> */
#include "tp/gpt.h"
/* <<tp.h: module headers>> */
#include "tp/vit.h"
/* <<tp.h: module headers>> */
#include "tp/xl.h"
/* <<tp.h: module headers>> */
#include "tp/sparse.h"
/* <<tp.h: module headers>> */
#include "tp/performer.h"
/* <<tp.h: module headers>> */
#include "tp/reformer.h"
/* <<tp.h: module headers>> */
#include "tp/blocksparse.h"
/* <<tp.h: module headers>> */
#include "tp/longformer.h"
/* <<tp.h: module headers>> */
#include "tp/switch.h"
/* <<tp.h: module headers>> */
#include "tp/subquadratic.h"
/* <<tp.h: module headers>> */
#include "tp/positions.h"
/* <<tp.h: module headers>> */
#include "tp/context.h"
/* <<tp.h: module headers>> */
#include "tp/decoding.h"
/* <<tp.h: module headers>> */
#include "tp/maskpredict.h"
/* <<tp.h: module headers>> */
#include "tp/distill.h"
/* <<tp.h: module headers>> */
#include "tp/conv.h"
/* <<tp.h: module headers>> */
#include "tp/localbias.h"
/* <<tp.h: module headers>> */
#include "tp/datahunger.h"
/* <<tp.h: module headers>> */
#include "tp/memory.h"
/* <<tp.h: module headers>> */
#include "tp/compute.h"
/* <<tp.h: module headers>> */
#include "tp/length.h"
/* <<tp.h: module headers>> */
#include "tp/stability.h"
/* <<tp.h: module headers>> */
#include "tp/smoothing.h"
/* <<tp.h: module headers>> */
#include "tp/streaming.h"
/* <<tp.h: module headers>> */
#include "tp/size.h"
/* <<tp.h: module headers>> */
#include "tp/noise.h"
/* <<tp.h: module headers>> */
#include "tp/interpret.h"
/* <<tp.h: module headers>> */
#include "tp/dense.h"
/* <<tp.h: module headers>> */
#include "tp/flash.h"
/* <<tp.h: module headers>> */
#include "tp/deploy.h"
/* <<tp.h: module headers>> */
#include "tp/exercise.h"

#endif
