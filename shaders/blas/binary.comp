#version 450
// binary: c[i] = a[i] OP b[i] for i < n; OP = add (0), sub (1), mul (2).
// Bindings: 0 a (in), 1 b (in), 2 c (out). Push: n and element offsets.
// One invocation per 4 elements, vec4 when all offsets are 4-aligned.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0u;
layout(constant_id = 2) const bool ALIGNED = false;
// N4 (ALIGNED and the length a multiple of 4): vec4 only. lavapipe runs both
// sides of a branch that differs between lanes, so an unused scalar tail
// still slowed every vec4 store.
layout(constant_id = 3) const bool N4 = false;

IN_TENSOR(0, a);
IN_TENSOR(1, b);
OUT_TENSOR(2, c);
layout(push_constant) uniform P { uint n, aoff, boff, coff; } p;

vec4 op(vec4 x, vec4 y) {
    if (OP == 0u) return x + y;
    if (OP == 1u) return x - y;
    return x * y;
}

void main() {
    uint i = LINEAR_ID * 4u;
    if (i >= p.n) return;
    if (ALIGNED && (N4 || i + 4u <= p.n)) {
        ST4(c, (p.coff + i) >> 2, op(LD4(a, (p.aoff + i) >> 2), LD4(b, (p.boff + i) >> 2)));
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (i + j < p.n) ST1(c, p.coff + i + j, op(vec4(LD1(a, p.aoff + i + j)), vec4(LD1(b, p.boff + i + j))).x);
    }
}
