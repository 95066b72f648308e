#version 450
// act_bwd: dx[i] (+)= dy[i] * act'(x[i]) for i < n, x being the forward INPUT
// (the pre-activation). act' as in include/act.glsl (PyTorch's values at kinks).
// Bindings: 0 x (in), 1 dy (in), 2 dx (out, or in/out when ACCUM).
// Push: n and element offsets. Spec constants: 0 workgroup size, 1 ACT,
// 2 ALIGNED (all offsets multiples of 4), 3 ITEMS (quads per invocation),
// 4 ACCUM (add into dx instead of writing it). Mapping as act_fwd.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ACT = 0u;
layout(constant_id = 2) const bool ALIGNED = false;
layout(constant_id = 3) const uint ITEMS = 4u;
layout(constant_id = 4) const bool ACCUM = false;
#include "act.glsl"

IN_TENSOR(0, x);
IN_TENSOR(1, dy);
INOUT_TENSOR(2, dx);
layout(push_constant) uniform P { uint n, xoff, dyoff, dxoff; } p;

void main() {
    for (uint t = 0u; t < ITEMS; t++) {
        uint i = ((LINEAR_GROUP * ITEMS + t) * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * 4u;
        if (i >= p.n) return;
        if (ALIGNED && i + 4u <= p.n) {
            uint o = (p.dxoff + i) >> 2;
            vec4 g = LD4(dy, (p.dyoff + i) >> 2) * act_grad(ACT, LD4(x, (p.xoff + i) >> 2));
            ST4(dx, o, ACCUM ? RD4(dx, o) + g : g);
        } else {
            for (uint j = 0u; j < 4u && i + j < p.n; j++) {
                uint o = p.dxoff + i + j;
                float g = LD1(dy, p.dyoff + i + j) * act_grad(ACT, LD1(x, p.xoff + i + j));
                ST1(dx, o, ACCUM ? RD1(dx, o) + g : g);
            }
        }
    }
}
