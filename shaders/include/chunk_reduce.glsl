// Chunked reductions summed in the same dispatch (REDUCE): the weight-
// gradient kernels split their sum over pixels or rows into chunks; instead
// of writing every chunk's partials for a second pass (conv_colsum) to sum,
// the grid is laid out so that a workgroup's lanes cover fixed positions
// (below), and the last group of each position range to finish
// (last_group.glsl, one counter per range at p.e3 + range) sums the
// partials of its positions in chunk order, whichever chunk it holds: the
// same sums, in the same order, as the second pass made. Include after
// conv.glsl.
// Bindings: 3 the partials (fp32, at p.off3, chunk stride given by the
// kernel), 4 the positions' counters. Both unused without REDUCE.
#ifndef ASVK_CHUNK_REDUCE_GLSL
#define ASVK_CHUNK_REDUCE_GLSL

#define LAST_GROUP_BINDING 4
#include "last_group.glsl"

layout(set = 0, binding = 3, std430) coherent restrict buffer chunk_part_block { vec4 Part[]; };

// Element i of the partials (p.off3 included by the caller).
void part_set(uint i, float v) { Part[i >> 2][i & 3u] = v; }

// The grid: a chunk of at least a workgroup's invocations takes
// ceil(per_chunk / WG) whole groups (its positions), one chunk a group; a
// smaller chunk takes `span` lanes (per_chunk rounded up to a power of two,
// which divides a power-of-two WG) and a group holds WG / span chunks, so
// that small chunks do not each pay for a whole group. The launcher
// (runtime/kernels/conv.c, launch_chunked) lays out the same grid.
uint chunk_span(uint per_chunk) {
    uint wg = gl_WorkGroupSize.x;
    if (per_chunk >= wg || (wg & (wg - 1u)) != 0u) return wg;
    uint s = 1u;
    while (s < per_chunk) s <<= 1u;
    return s;
}
uint chunk_positions(uint per_chunk) { return (per_chunk + gl_WorkGroupSize.x - 1u) / gl_WorkGroupSize.x; }

// The invocation's id in the kernel's own numbering (chunk * per_chunk +
// index in the chunk, clamped into range) and whether it is a real one:
// invalid lanes (padding) must do no work and write nothing, but must reach
// chunk_last. False for a group past the grid (the rounding of a folded
// linear grid): it must return at once.
bool chunk_id(uint per_chunk, uint chunks, out uint id, out bool valid) {
    uint span = chunk_span(per_chunk), per_group = gl_WorkGroupSize.x / span, pos = chunk_positions(per_chunk);
    uint g = LINEAR_GROUP, lane = gl_LocalInvocationID.x;
    uint chunk = (g / pos) * per_group + lane / span, inner = (g % pos) * gl_WorkGroupSize.x + lane % span;
    valid = inner < per_chunk && chunk < chunks;
    id = min(chunk, chunks - 1u) * per_chunk + min(inner, per_chunk - 1u);
    return g / pos < (chunks + per_group - 1u) / per_group;
}

// Every invocation of a group calls it after writing its partials (barriers
// inside): true in the lanes that sum their position's chunks, in the group
// that completes that position's last chunk: the real lanes of the group's
// first chunk.
bool chunk_last(uint per_chunk, uint chunks) {
    uint span = chunk_span(per_chunk), per_group = gl_WorkGroupSize.x / span, pos = chunk_positions(per_chunk);
    uint slot = p.e3 + LINEAR_GROUP % pos, lane = gl_LocalInvocationID.x;
    bool last = last_group_of(slot, (chunks + per_group - 1u) / per_group);
    if (last) last_group_reset(slot);
    return last && lane < span && (LINEAR_GROUP % pos) * gl_WorkGroupSize.x + lane < per_chunk;
}

// Element o of every chunk's partials (chunk stride `stride`), summed in chunk order.
float chunk_sum(uint o, uint stride, uint chunks) {
    float v = 0.0;
    for (uint s = 0u; s < chunks; s++) {
        uint i = p.off3 + s * stride + o;
        v += Part[i >> 2][i & 3u];
    }
    return v;
}

// Elements o..o+3 the same way, one vec4 load a chunk (p.off3, o and stride
// multiples of 4): storage-buffer loads are slow on lavapipe, scalar ones
// four times so.
vec4 chunk_sum4(uint o, uint stride, uint chunks) {
    vec4 v = vec4(0.0);
    for (uint s = 0u; s < chunks; s++) v += Part[(p.off3 + s * stride + o) >> 2];
    return v;
}

#endif
