#version 450
// conv_bias_add: y[pix][c] += bias[c] over all pixels (the bias of the
// convolutions that run as a GEMM).
// Bindings: 0 bias (in), 1 y (in/out).
// Push (conv.glsl): off0, off1 element offsets of bias, y; cout; total; e0 =
// ceil(Cout/4) channel quads.
// Spec: 0 WG, 1 VEC (Cout % 4 == 0 and both offsets 4-aligned).
// Mapping: one invocation per (channel quad, pixel), quad fastest.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool VEC = false;
#include "conv.glsl"

IN_TENSOR(0, B);
INOUT_TENSOR(1, Y);

void main() {
    uint id = LINEAR_ID;
    if (id >= p.total) return;
    uint cq = id % p.e0, pix = id / p.e0, C = p.cout, c = cq * 4u;
    uint o = p.off1 + pix * C + c;
    if (VEC) {
        ST4(Y, o >> 2, RD4(Y, o >> 2) + LD4(B, (p.off0 + c) >> 2));
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (c + j < C) ST1(Y, o + j, RD1(Y, o + j) + LD1(B, p.off0 + c + j));
    }
}
