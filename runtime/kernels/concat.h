/* Channel concatenation and split of NHWC tensors (shaders/cat/).
 *
 * y (pixels x C, C = sum of c_i) = concat over the channel axis of parts
 * x_i (pixels x c_i each, tight rows), pixels = N*H*W. The backward pass is
 * the split of dy into the dx_i.
 *
 * Each direction is ONE fused dispatch over all parts rather than one
 * asvk_blas_copy2d per part, because (1) the parts of a concat write
 * interleaved row slices of one buffer, which the stream's hazard tracker
 * sees as overlapping writes (a barrier after every copy2d), and each
 * dispatch costs ~60 us on lavapipe; (2) the split must accumulate into
 * gradients (dx_i += ...), which copy2d cannot; (3) the concat writes y in
 * whole vec4s even when the c_i are not multiples of 4 (copy2d would write
 * misaligned rows element by element). Buffers are views at any 4-byte offset. */
#ifndef ASVK_RUNTIME_KERNELS_CONCAT_H
#define ASVK_RUNTIME_KERNELS_CONCAT_H

#include "runtime/kernels/common.h"

#define ASVK_CONCAT_MAX_PARTS 8

/* y = concat(x_0, ..., x_{parts-1}) along channels; channels[i] = c_i
 * (parts with 0 channels are allowed and ignored). 1 <= parts <= 8. */
asvk_status asvk_concat_forward(asvk_stream *s, uint64_t pixels, uint32_t parts, const uint32_t *channels,
                                const asvk_buffer *x, asvk_buffer y);

/* dx_i (+)= dy[:, offset_i : offset_i + c_i] for every part whose dx[i] is
 * not empty (an empty buffer, {0}, skips a part that needs no gradient);
 * accumulate[i] chooses add or write per part (NULL: write all). */
asvk_status asvk_concat_backward(asvk_stream *s, uint64_t pixels, uint32_t parts, const uint32_t *channels,
                                 asvk_buffer dy, const asvk_buffer *dx, const bool *accumulate);

#endif
