#version 450
// ew_add_into: dst[i] += src[i] for i < n: the gradient of c = a + b routed
// to an input that already holds a gradient (the write case is a transfer
// copy, recorded by the launcher). Bindings: 0 src (in), 1 dst (in/out).
// Push: n and element offsets. Spec constants: 0 workgroup size, 1 ALIGNED
// (both offsets multiples of 4), 2 ITEMS (quads per invocation). Mapping as act_fwd.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ALIGNED = false;
layout(constant_id = 2) const uint ITEMS = 4u;

IN_TENSOR(0, src);
INOUT_TENSOR(1, dst);
layout(push_constant) uniform P { uint n, soff, doff; } p;

void main() {
    for (uint t = 0u; t < ITEMS; t++) {
        uint i = ((LINEAR_GROUP * ITEMS + t) * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * 4u;
        if (i >= p.n) return;
        if (ALIGNED && i + 4u <= p.n) {
            uint o = (p.doff + i) >> 2;
            ST4(dst, o, RD4(dst, o) + LD4(src, (p.soff + i) >> 2));
        } else {
            for (uint j = 0u; j < 4u && i + j < p.n; j++)
                ST1(dst, p.doff + i + j, RD1(dst, p.doff + i + j) + LD1(src, p.soff + i + j));
        }
    }
}
