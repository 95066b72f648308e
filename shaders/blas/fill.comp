#version 450
// fill: y[off + i] = value for i < n.
// Bindings: 0 y (out). Push: n, off, value. One invocation per 4 elements;
// vec4 stores where the start is 4-aligned (spec constant ALIGNED).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ALIGNED = false;
// N4 (ALIGNED and the length a multiple of 4): vec4 only. lavapipe runs both
// sides of a branch that differs between lanes, so an unused scalar tail
// still slowed every vec4 store.
layout(constant_id = 2) const bool N4 = false;

OUT_TENSOR(0, y);
layout(push_constant) uniform P { uint n, off; float value; } p;

void main() {
    uint i = LINEAR_ID * 4u;
    if (i >= p.n) return;
    if (ALIGNED && (N4 || i + 4u <= p.n)) {
        ST4(y, (p.off + i) >> 2, vec4(p.value));
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (i + j < p.n) ST1(y, p.off + i + j, p.value);
    }
}
