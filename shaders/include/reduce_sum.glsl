// reduce_sum body, shared by reduce_sum.comp (shared-memory tree, every
// device) and reduce_sum_subgroup.comp (subgroupAdd; only built into pipelines
// on devices with subgroup arithmetic, since the capability is in the module).
//
// y[yoff + r*chunks + c] = sum of x[xoff + r*ld + e] over the elements e of
// chunk c of row r (chunk = WG*4*ITEMS elements, e < cols). With chunks == 1
// this is the row sum; otherwise a second dispatch sums the partials
// (runtime/blas.c). Fixed order, no atomics: results are deterministic.
// Bindings: 0 x (in), 1 y (out). One workgroup per (row, chunk) on a folded
// linear grid; the workgroup size must be a power of two.
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ITEMS = 8u;
layout(constant_id = 2) const bool ALIGNED = false;

IN_TENSOR(0, x);
OUT_TENSOR(1, y);
layout(push_constant) uniform P { uint rows, cols, ld, xoff, yoff, chunks; } p;

shared float partial[gl_WorkGroupSize.x];

void main() {
    uint g = LINEAR_GROUP;
    uint r = g / p.chunks, c = g % p.chunks;
    if (r >= p.rows) return; // whole workgroup leaves together: barriers stay uniform
    uint lid = gl_LocalInvocationID.x;
    uint chunk = gl_WorkGroupSize.x * 4u * ITEMS;
    uint base = p.xoff + r * p.ld;
    float s = 0.0;
    [[unroll]] for (uint t = 0u; t < ITEMS; t++) {
        uint e = c * chunk + (t * gl_WorkGroupSize.x + lid) * 4u;
        if (ALIGNED && e + 4u <= p.cols) {
            vec4 v = LD4(x, (base + e) >> 2);
            s += (v.x + v.y) + (v.z + v.w);
        } else {
            for (uint j = 0u; j < 4u; j++)
                if (e + j < p.cols) s += LD1(x, base + e + j);
        }
    }
#ifdef USE_SUBGROUP
    {
        s = subgroupAdd(s);
        if (gl_SubgroupInvocationID == 0u) partial[gl_SubgroupID] = s;
        barrier();
        if (lid == 0u) {
            float t = 0.0;
            for (uint k = 0u; k < gl_NumSubgroups; k++) t += partial[k];
            ST1(y, p.yoff + r * p.chunks + c, t);
        }
    }
#else
    {
        partial[lid] = s;
        barrier();
        for (uint h = gl_WorkGroupSize.x / 2u; h > 0u; h >>= 1) {
            if (lid < h) partial[lid] += partial[lid + h];
            barrier();
        }
        if (lid == 0u) ST1(y, p.yoff + r * p.chunks + c, partial[0]);
    }
#endif
}
