#version 450
// mix_fwd: the AutoSpace mixture (Eqn. 3), y[i] = sum_{k<K} w_k * x_k[i] for
// i < n, with w = softmax(alpha) over K <= 16 architecture weights. All K
// inputs are read in one pass and y is stored once: recording one
// y += w_k x_k per input would store y K times (stores are the slow part on
// lavapipe) and pay K dispatches. Each invocation computes the softmax from
// alpha itself (K exps, for ITEMS*4*K loads), subtracting the maximum.
// Bindings: 0..15 x_0..x_15 (in; slots k >= K hold x_0 and are never read),
// 16 alpha (in, K floats), 17 y (out). Push: n, offsets of alpha, y and the
// inputs. Spec constants: 0 workgroup size, 1 K, 2 ALIGNED (every offset a
// multiple of 4), 3 ITEMS (quads per invocation). Mapping as act_fwd.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint K = 1u;
layout(constant_id = 2) const bool ALIGNED = false;
layout(constant_id = 3) const uint ITEMS = 4u;

IN_TENSOR(0, x0);
IN_TENSOR(1, x1);
IN_TENSOR(2, x2);
IN_TENSOR(3, x3);
IN_TENSOR(4, x4);
IN_TENSOR(5, x5);
IN_TENSOR(6, x6);
IN_TENSOR(7, x7);
IN_TENSOR(8, x8);
IN_TENSOR(9, x9);
IN_TENSOR(10, x10);
IN_TENSOR(11, x11);
IN_TENSOR(12, x12);
IN_TENSOR(13, x13);
IN_TENSOR(14, x14);
IN_TENSOR(15, x15);
IN_TENSOR(16, alpha);
OUT_TENSOR(17, y);
layout(push_constant) uniform P { uint n, aoff, yoff, pad; uvec4 x[4]; } p;

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
    // softmax(alpha), the same code in mix_bwd_dx and mix_bwd_alpha
    float w[16], m = LD1(alpha, p.aoff), sum = 0.0;
    [[unroll]] for (uint k = 1u; k < K; k++) m = max(m, LD1(alpha, p.aoff + k));
    [[unroll]] for (uint k = 0u; k < K; k++) { w[k] = exp(LD1(alpha, p.aoff + k) - m); sum += w[k]; }
    [[unroll]] for (uint k = 0u; k < K; k++) w[k] /= sum;

    for (uint t = 0u; t < ITEMS; t++) {
        uint i = ((LINEAR_GROUP * ITEMS + t) * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * 4u;
        if (i >= p.n) return;
        if (ALIGNED && i + 4u <= p.n) {
            vec4 acc = vec4(0.0);
            [[unroll]] for (uint k = 0u; k < K; k++) acc += w[k] * ldx4(k, (xoff(k) + i) >> 2);
            ST4(y, (p.yoff + i) >> 2, acc);
        } else {
            for (uint j = 0u; j < 4u && i + j < p.n; j++) {
                float acc = 0.0;
                [[unroll]] for (uint k = 0u; k < K; k++) acc += w[k] * ldx1(k, xoff(k) + i + j);
                ST1(y, p.yoff + i + j, acc);
            }
        }
    }
}
