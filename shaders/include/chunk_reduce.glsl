// Chunked reductions summed in the same dispatch (REDUCE): the weight-
// gradient kernels split their sum over pixels or rows into chunks; instead
// of writing every chunk's partials for a second pass (conv_colsum) to sum,
// the grid is laid out chunk by chunk, each workgroup holding invocations of
// one chunk (per_chunk invocations, padded to whole groups), and the last
// chunk of each group position to finish (last_group.glsl, one counter per
// position at p.e3 + position) sums that position's partials in chunk
// order, whichever chunk it is: the same sums, in the same order, as the
// second pass made. Include after conv.glsl.
// Bindings: 3 the partials (fp32, at p.off3, chunk stride given by the
// kernel), 4 the positions' counters. Both unused without REDUCE.
#ifndef ASVK_CHUNK_REDUCE_GLSL
#define ASVK_CHUNK_REDUCE_GLSL

#define LAST_GROUP_BINDING 4
#include "last_group.glsl"

layout(set = 0, binding = 3, std430) coherent restrict buffer chunk_part_block { float Part[]; };

uint chunk_groups(uint per_chunk) { return (per_chunk + gl_WorkGroupSize.x - 1u) / gl_WorkGroupSize.x; }

// The invocation's id in the kernel's own numbering (chunk * per_chunk +
// index in the chunk) and whether it is a real one (the last group of a
// chunk has padding). False for a group past the last chunk (the rounding of
// the grid): it must return at once.
bool chunk_id(uint per_chunk, uint chunks, out uint id, out bool valid) {
    uint gpc = chunk_groups(per_chunk), chunk = LINEAR_GROUP / gpc;
    uint inner = (LINEAR_GROUP % gpc) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    valid = inner < per_chunk;
    id = chunk * per_chunk + min(inner, per_chunk - 1u);
    return chunk < chunks;
}

// Every invocation of a group calls it after writing its partials (barriers
// inside): true in the group that completes its position's last chunk.
bool chunk_last(uint per_chunk, uint chunks) {
    uint slot = p.e3 + LINEAR_GROUP % chunk_groups(per_chunk);
    bool last = last_group_of(slot, chunks);
    if (last) last_group_reset(slot);
    return last;
}

// Element o of every chunk's partials (chunk stride `stride`), summed in chunk order.
float chunk_sum(uint o, uint stride, uint chunks) {
    float v = 0.0;
    for (uint s = 0u; s < chunks; s++) v += Part[p.off3 + s * stride + o];
    return v;
}

#endif
