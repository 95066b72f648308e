#version 450
// mix_bwd_alpha: the architecture gradient of y = sum_k w_k x_k,
// w = softmax(alpha). With d_k = <dy, x_k> (the sum of the partials
// ws[k*chunks + j] from mix_bwd_dot),
//   dalpha_j (+)= sum_k w_k (delta_jk - w_j) d_k = w_j (d_j - sum_k w_k d_k).
// One workgroup: invocation l sums partials l, l+WG, ... in order, a
// shared-memory tree combines the WG sums of each k, invocation 0 applies
// the softmax Jacobian. Deterministic. Bindings: 0 ws, 1 alpha (in),
// 2 dalpha (out, or in/out when ACCUM). Push: chunks, offsets. Spec
// constants: 0 workgroup size (a power of two), 1 K, 2 ACCUM.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint K = 1u;
layout(constant_id = 2) const bool ACCUM = false;

IN_TENSOR(0, ws);
IN_TENSOR(1, alpha);
INOUT_TENSOR(2, dalpha);
layout(push_constant) uniform P { uint chunks, wsoff, aoff, doff; } p;

shared float part[K * gl_WorkGroupSize.x];

void main() {
    uint lid = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    [[unroll]] for (uint k = 0u; k < K; k++) {
        float s = 0.0;
        for (uint j = lid; j < p.chunks; j += wg) s += LD1(ws, p.wsoff + k * p.chunks + j);
        part[k * wg + lid] = s;
    }
    barrier();
    for (uint h = wg / 2u; h > 0u; h >>= 1) {
        if (lid < h)
            [[unroll]] for (uint k = 0u; k < K; k++) part[k * wg + lid] += part[k * wg + lid + h];
        barrier();
    }
    if (lid != 0u) return;
    float w[16], m = LD1(alpha, p.aoff), sum = 0.0;
    [[unroll]] for (uint k = 1u; k < K; k++) m = max(m, LD1(alpha, p.aoff + k));
    [[unroll]] for (uint k = 0u; k < K; k++) { w[k] = exp(LD1(alpha, p.aoff + k) - m); sum += w[k]; }
    [[unroll]] for (uint k = 0u; k < K; k++) w[k] /= sum;
    float wd = 0.0;
    [[unroll]] for (uint k = 0u; k < K; k++) wd += w[k] * part[k * wg];
    [[unroll]] for (uint k = 0u; k < K; k++) {
        float v = w[k] * (part[k * wg] - wd);
        ST1(dalpha, p.doff + k, ACCUM ? RD1(dalpha, p.doff + k) + v : v);
    }
}
