#version 450
// linear_colsum: column sums of a row-major matrix, in chunks of rows:
//   y[yoff + g*cols + j] (+)= sum over r in [g*RPC, min((g+1)*RPC, rows)) of x[xoff + r*ld + j]
// for chunk g < chunks, column j < cols. The bias gradient of a linear layer
// (db = column sums of dy). One chunk is the whole reduction; with several,
// a second dispatch (chunks -> 1) sums the partials (runtime/kernels/linear.c).
// Rows are added in order: deterministic, no atomics.
// Bindings: 0 x (in), 1 y (in/out). Push: rows, cols, ld, rows per chunk,
// chunks, quads = ceil(cols/4), offsets.
// One invocation per (chunk, quad of 4 columns), folded linear grid.
// Spec constants: 0 workgroup size, 1 ACCUM (y += sum; else y = sum),
// 2 VX (ld and the x offset 4-aligned), 3 VY (y offset, and cols when
// chunks > 1, 4-aligned).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUM = false;
layout(constant_id = 2) const bool VX = false;
layout(constant_id = 3) const bool VY = false;

IN_TENSOR(0, x);
INOUT_TENSOR(1, y);
layout(push_constant) uniform P { uint rows, cols, ld, rpc, chunks, quads, xoff, yoff; } p;

void main() {
    uint id = LINEAR_ID;
    uint q = id % p.quads, g = id / p.quads;
    if (g >= p.chunks) return;
    uint j = q * 4u;
    bool full = j + 4u <= p.cols;
    uint r0 = g * p.rpc, r1 = min(r0 + p.rpc, p.rows);
    vec4 s = vec4(0.0);
    for (uint r = r0; r < r1; r++) {
        uint i = p.xoff + r * p.ld + j;
        if (VX && full) {
            s += LD4(x, i >> 2);
        } else {
            [[unroll]] for (uint k = 0u; k < 4u; k++)
                if (j + k < p.cols) s[k] += LD1(x, i + k);
        }
    }
    uint o = p.yoff + g * p.cols + j;
    if (VY && full) {
        if (ACCUM) s = RD4(y, o >> 2) + s;
        ST4(y, o >> 2, s);
    } else {
        [[unroll]] for (uint k = 0u; k < 4u; k++)
            if (j + k < p.cols) ST1(y, o + k, ACCUM ? RD1(y, o + k) + s[k] : s[k]);
    }
}
