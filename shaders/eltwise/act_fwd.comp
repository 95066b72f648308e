#version 450
// act_fwd: y[i] = act(x[i]) for i < n (any shape: the activation is element-wise).
// Bindings: 0 x (in), 1 y (out; may be x itself: each element is read before
// it is written by the same invocation). Push: n and element offsets.
// Spec constants: 0 workgroup size, 1 ACT (asvk_act), 2 ALIGNED (both offsets
// multiples of 4: vec4 loads/stores), 3 ITEMS (quads per invocation).
// Invocation lid of group g owns quads (g*ITEMS + t)*WG + lid, t < ITEMS, so
// neighbouring invocations touch neighbouring vec4s. Folded linear grid.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ACT = 0u;
layout(constant_id = 2) const bool ALIGNED = false;
layout(constant_id = 3) const uint ITEMS = 4u;
#include "act.glsl"

IN_TENSOR(0, x);
OUT_TENSOR(1, y);
layout(push_constant) uniform P { uint n, xoff, yoff; } p;

void main() {
    for (uint t = 0u; t < ITEMS; t++) {
        uint i = ((LINEAR_GROUP * ITEMS + t) * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * 4u;
        if (i >= p.n) return;
        if (ALIGNED && i + 4u <= p.n) {
            ST4(y, (p.yoff + i) >> 2, act_apply(ACT, LD4(x, (p.xoff + i) >> 2)));
        } else {
            for (uint j = 0u; j < 4u && i + j < p.n; j++)
                ST1(y, p.yoff + i + j, act_apply(ACT, LD1(x, p.xoff + i + j)));
        }
    }
}
