#version 450
// axpy: y[i] = alpha * x[i] + y[i] for i < n.
// Bindings: 0 x (in), 1 y (in/out). Push: n, offsets, alpha.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ALIGNED = false;
// N4 (ALIGNED and the length a multiple of 4): vec4 only. lavapipe runs both
// sides of a branch that differs between lanes, so an unused scalar tail
// still slowed every vec4 store.
layout(constant_id = 2) const bool N4 = false;

IN_TENSOR(0, x);
INOUT_TENSOR(1, y);
layout(push_constant) uniform P { uint n, xoff, yoff; float alpha; } p;

void main() {
    uint i = LINEAR_ID * 4u;
    if (i >= p.n) return;
    if (ALIGNED && (N4 || i + 4u <= p.n)) {
        uint o = (p.yoff + i) >> 2;
        ST4(y, o, p.alpha * LD4(x, (p.xoff + i) >> 2) + RD4(y, o));
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (i + j < p.n) ST1(y, p.yoff + i + j, p.alpha * LD1(x, p.xoff + i + j) + RD1(y, p.yoff + i + j));
    }
}
