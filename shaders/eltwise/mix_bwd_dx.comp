#version 450
// mix_bwd_dx: input gradients of the mixture y = sum_k w_k x_k,
// w = softmax(alpha): dx_k[i] (+)= w_k * dy[i] for every wanted k, reading dy
// once. Bindings: 0 dy, 1 alpha (in), 2..17 dx_0..dx_15 (out or in/out; slots
// of unwanted k hold a wanted output and are never touched). Push: n, offsets.
// Spec constants: 0 workgroup size, 1 K, 2 ALIGNED (all offsets multiples of
// 4), 3 ITEMS (quads per invocation), 4 WANT (bit k: dx_k is computed),
// 5 ACC (bit k: dx_k is added to, not written). Mapping as act_fwd.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint K = 1u;
layout(constant_id = 2) const bool ALIGNED = false;
layout(constant_id = 3) const uint ITEMS = 4u;
layout(constant_id = 4) const uint WANT = 0xffffu;
layout(constant_id = 5) const uint ACC = 0u;

IN_TENSOR(0, dy);
IN_TENSOR(1, alpha);
INOUT_TENSOR(2, dx0);
INOUT_TENSOR(3, dx1);
INOUT_TENSOR(4, dx2);
INOUT_TENSOR(5, dx3);
INOUT_TENSOR(6, dx4);
INOUT_TENSOR(7, dx5);
INOUT_TENSOR(8, dx6);
INOUT_TENSOR(9, dx7);
INOUT_TENSOR(10, dx8);
INOUT_TENSOR(11, dx9);
INOUT_TENSOR(12, dx10);
INOUT_TENSOR(13, dx11);
INOUT_TENSOR(14, dx12);
INOUT_TENSOR(15, dx13);
INOUT_TENSOR(16, dx14);
INOUT_TENSOR(17, dx15);
layout(push_constant) uniform P { uint n, dyoff, aoff, pad; uvec4 d[4]; } p;

uint doff(uint k) { return p.d[k >> 2][k & 3u]; }
#define UPD4(t, o, v, acc) ST4(t, o, (acc) ? RD4(t, o) + (v) : (v))
#define UPD1(t, o, v, acc) ST1(t, o, (acc) ? RD1(t, o) + (v) : (v))
void st4(uint k, uint o, vec4 v) {
    bool a = (ACC & (1u << k)) != 0u;
    switch (k) {
    case 0u: UPD4(dx0, o, v, a); break;
    case 1u: UPD4(dx1, o, v, a); break;
    case 2u: UPD4(dx2, o, v, a); break;
    case 3u: UPD4(dx3, o, v, a); break;
    case 4u: UPD4(dx4, o, v, a); break;
    case 5u: UPD4(dx5, o, v, a); break;
    case 6u: UPD4(dx6, o, v, a); break;
    case 7u: UPD4(dx7, o, v, a); break;
    case 8u: UPD4(dx8, o, v, a); break;
    case 9u: UPD4(dx9, o, v, a); break;
    case 10u: UPD4(dx10, o, v, a); break;
    case 11u: UPD4(dx11, o, v, a); break;
    case 12u: UPD4(dx12, o, v, a); break;
    case 13u: UPD4(dx13, o, v, a); break;
    case 14u: UPD4(dx14, o, v, a); break;
    default: UPD4(dx15, o, v, a); break;
    }
}
void st1(uint k, uint o, float v) {
    bool a = (ACC & (1u << k)) != 0u;
    switch (k) {
    case 0u: UPD1(dx0, o, v, a); break;
    case 1u: UPD1(dx1, o, v, a); break;
    case 2u: UPD1(dx2, o, v, a); break;
    case 3u: UPD1(dx3, o, v, a); break;
    case 4u: UPD1(dx4, o, v, a); break;
    case 5u: UPD1(dx5, o, v, a); break;
    case 6u: UPD1(dx6, o, v, a); break;
    case 7u: UPD1(dx7, o, v, a); break;
    case 8u: UPD1(dx8, o, v, a); break;
    case 9u: UPD1(dx9, o, v, a); break;
    case 10u: UPD1(dx10, o, v, a); break;
    case 11u: UPD1(dx11, o, v, a); break;
    case 12u: UPD1(dx12, o, v, a); break;
    case 13u: UPD1(dx13, o, v, a); break;
    case 14u: UPD1(dx14, o, v, a); break;
    default: UPD1(dx15, o, v, a); break;
    }
}

void main() {
    float w[16], m = LD1(alpha, p.aoff), sum = 0.0;
    [[unroll]] for (uint k = 1u; k < K; k++) m = max(m, LD1(alpha, p.aoff + k));
    [[unroll]] for (uint k = 0u; k < K; k++) { w[k] = exp(LD1(alpha, p.aoff + k) - m); sum += w[k]; }
    [[unroll]] for (uint k = 0u; k < K; k++) w[k] /= sum;

    for (uint t = 0u; t < ITEMS; t++) {
        uint i = ((LINEAR_GROUP * ITEMS + t) * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * 4u;
        if (i >= p.n) return;
        if (ALIGNED && i + 4u <= p.n) {
            vec4 g = LD4(dy, (p.dyoff + i) >> 2);
            [[unroll]] for (uint k = 0u; k < K; k++)
                if ((WANT & (1u << k)) != 0u) st4(k, (doff(k) + i) >> 2, w[k] * g);
        } else {
            for (uint j = 0u; j < 4u && i + j < p.n; j++) {
                float g = LD1(dy, p.dyoff + i + j);
                [[unroll]] for (uint k = 0u; k < K; k++)
                    if ((WANT & (1u << k)) != 0u) st1(k, doff(k) + i + j, w[k] * g);
            }
        }
    }
}
