#version 450
// mix_bwd_dot: partial inner products <dy, x_k> for the architecture
// gradient of the mixture: invocation j sums dy[i]*x_k[i] over its chunk of
// CHUNK*4 elements in fixed order (four lanes, then (x+y)+(z+w)) and writes
// ws[k*chunks + j]; mix_bwd_alpha sums the partials. Deterministic, no atomics.
// Bindings: 0 dy, 1..16 x_0..x_15 (in; slots k >= K hold x_0, never read),
// 17 ws (out). Push: n, chunks, offsets. Spec constants: 0 workgroup size,
// 1 K, 2 ALIGNED (dy and x offsets multiples of 4), 3 CHUNK (quads per
// invocation). One invocation per chunk on a folded linear grid.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint K = 1u;
layout(constant_id = 2) const bool ALIGNED = false;
layout(constant_id = 3) const uint CHUNK = 128u;

IN_TENSOR(0, dy);
IN_TENSOR(1, x0);
IN_TENSOR(2, x1);
IN_TENSOR(3, x2);
IN_TENSOR(4, x3);
IN_TENSOR(5, x4);
IN_TENSOR(6, x5);
IN_TENSOR(7, x6);
IN_TENSOR(8, x7);
IN_TENSOR(9, x8);
IN_TENSOR(10, x9);
IN_TENSOR(11, x10);
IN_TENSOR(12, x11);
IN_TENSOR(13, x12);
IN_TENSOR(14, x13);
IN_TENSOR(15, x14);
IN_TENSOR(16, x15);
OUT_TENSOR(17, ws);
layout(push_constant) uniform P { uint n, chunks, dyoff, wsoff; uvec4 x[4]; } p;

uint xoff(uint k) { return p.x[k >> 2][k & 3u]; }
vec4 ldx4(uint k, uint e) {
    switch (k) {
    case 0u: return LD4(x0, e);
    case 1u: return LD4(x1, e);
    case 2u: return LD4(x2, e);
    case 3u: return LD4(x3, e);
    case 4u: return LD4(x4, e);
    case 5u: return LD4(x5, e);
    case 6u: return LD4(x6, e);
    case 7u: return LD4(x7, e);
    case 8u: return LD4(x8, e);
    case 9u: return LD4(x9, e);
    case 10u: return LD4(x10, e);
    case 11u: return LD4(x11, e);
    case 12u: return LD4(x12, e);
    case 13u: return LD4(x13, e);
    case 14u: return LD4(x14, e);
    default: return LD4(x15, e);
    }
}
float ldx1(uint k, uint e) {
    switch (k) {
    case 0u: return LD1(x0, e);
    case 1u: return LD1(x1, e);
    case 2u: return LD1(x2, e);
    case 3u: return LD1(x3, e);
    case 4u: return LD1(x4, e);
    case 5u: return LD1(x5, e);
    case 6u: return LD1(x6, e);
    case 7u: return LD1(x7, e);
    case 8u: return LD1(x8, e);
    case 9u: return LD1(x9, e);
    case 10u: return LD1(x10, e);
    case 11u: return LD1(x11, e);
    case 12u: return LD1(x12, e);
    case 13u: return LD1(x13, e);
    case 14u: return LD1(x14, e);
    default: return LD1(x15, e);
    }
}

void main() {
    uint j = LINEAR_ID;
    if (j >= p.chunks) return;
    vec4 acc[16];
    [[unroll]] for (uint k = 0u; k < K; k++) acc[k] = vec4(0.0);
    uint i0 = j * CHUNK * 4u, i1 = min(i0 + CHUNK * 4u, p.n);
    for (uint i = i0; i < i1; i += 4u) {
        if (ALIGNED && i + 4u <= i1) {
            vec4 g = LD4(dy, (p.dyoff + i) >> 2);
            [[unroll]] for (uint k = 0u; k < K; k++) acc[k] += g * ldx4(k, (xoff(k) + i) >> 2);
        } else {
            for (uint l = 0u; l < 4u && i + l < i1; l++) {
                float g = LD1(dy, p.dyoff + i + l);
                [[unroll]] for (uint k = 0u; k < K; k++) acc[k][l] += g * ldx1(k, xoff(k) + i + l);
            }
        }
    }
    [[unroll]] for (uint k = 0u; k < K; k++)
        ST1(ws, p.wsoff + k * p.chunks + j, (acc[k].x + acc[k].y) + (acc[k].z + acc[k].w));
}
