#version 450
// loss_mse_fwd: scaled sum of squared differences, first (or only) pass of a
// deterministic two-pass reduction:
//   out[ooff + g] = scale * sum over the elements i < n of chunk g of (y[i] - t[i])^2,
//   chunk g = elements [g * CHUNK, (g + 1) * CHUNK), CHUNK = WG * 4 * ITEMS.
// With one chunk `out` is the loss itself; otherwise it is the workspace of
// per-chunk partials, which the launcher sums with reduce_sum
// (runtime/kernels/loss.c).
// Bindings: 0 y (in), 1 t (in), 2 out (out).
// Push: N, element offsets of y, t and out, CHUNKS (workgroups that write),
// SCALE.
// One workgroup per chunk on a folded linear grid: invocation l sums, in
// order, the vec4 (or 4 scalars) at element g*CHUNK + (k*WG + l)*4 for
// k < ITEMS (coalesced), each as (dx^2 + dy^2) + (dz^2 + dw^2); the WG
// partial sums meet in a fixed shared-memory tree. No atomics: the result
// is deterministic. Spec constants: 0 WG (power of two), 1 ITEMS, 2 VEC (the
// y and t offsets 4-aligned: vec4 loads; the tail past the last whole vec4
// is read as scalars).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ITEMS = 8u;
layout(constant_id = 2) const bool VEC = false;

IN_TENSOR(0, y);
IN_TENSOR(1, t);
OUT_TENSOR(2, outp);
layout(push_constant) uniform P { uint n, yoff, toff, ooff, chunks; float scale; } p;

shared float partial[gl_WorkGroupSize.x];

void main() {
    uint g = LINEAR_GROUP;
    if (g >= p.chunks) return; // the whole workgroup leaves together: barriers stay uniform
    uint lid = gl_LocalInvocationID.x;
    uint chunk = gl_WorkGroupSize.x * 4u * ITEMS;
    float s = 0.0;
    [[unroll]] for (uint k = 0u; k < ITEMS; k++) {
        uint e = g * chunk + (k * gl_WorkGroupSize.x + lid) * 4u;
        if (VEC && e + 4u <= p.n) {
            vec4 d = LD4(y, (p.yoff + e) >> 2) - LD4(t, (p.toff + e) >> 2);
            s += (d.x * d.x + d.y * d.y) + (d.z * d.z + d.w * d.w);
        } else {
            for (uint j = 0u; j < 4u; j++)
                if (e + j < p.n) {
                    float d = LD1(y, p.yoff + e + j) - LD1(t, p.toff + e + j);
                    s += d * d;
                }
        }
    }
    partial[lid] = s;
    barrier();
    for (uint h = gl_WorkGroupSize.x / 2u; h > 0u; h >>= 1) {
        if (lid < h) partial[lid] += partial[lid + h];
        barrier();
    }
    if (lid == 0u) ST1(outp, p.ooff + g, p.scale * partial[0]);
}
