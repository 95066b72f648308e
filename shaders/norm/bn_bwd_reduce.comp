#version 450
// bn_bwd_reduce: pass 1 of the BatchNorm backward (training mode). With the
// saved batch statistics, recomputes z = (x - mean)*gamma*invstd + beta as
// bn_apply does (z is not stored), g = dy * act'(z), xhat = (x - mean)*invstd,
// and per chunk j of L pixels and channel quad q sums
//   ws[j*4Q + c] = sum g,   ws[(chunks + j)*4Q + c] = sum g*xhat
// in pixel order; bn_bwd_merge sums the chunks. Deterministic.
// Bindings: 0 x, 1 dy, 2 gamma, 3 beta, 4 mean, 5 invstd (in), 6 ws (out,
// offset a multiple of 4). Push: P, C, Q, L, chunks, offsets. Spec
// constants: 0 workgroup size, 1 ACT, 2 ALIGNED (C, x and dy offsets
// multiples of 4), 3 PALIGNED (C and the [C] offsets). Invocation id: quad
// id % Q of chunk id / Q.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ACT = 0u;
layout(constant_id = 2) const bool ALIGNED = false;
layout(constant_id = 3) const bool PALIGNED = false;
#include "act.glsl"

IN_TENSOR(0, x);
IN_TENSOR(1, dy);
IN_TENSOR(2, gamma);
IN_TENSOR(3, beta);
IN_TENSOR(4, mean);
IN_TENSOR(5, invstd);
OUT_TENSOR(6, ws);
layout(push_constant) uniform P { uint P, C, Q, L, chunks, xoff, dyoff, goff, boff, moff, ioff, wsoff; } p;

#define LDQ(t, al, base, c0) ((al) ? LD4(t, ((base) + (c0)) >> 2)                                          \
    : vec4(LD1(t, (base) + min((c0), p.C - 1u)), LD1(t, (base) + min((c0) + 1u, p.C - 1u)),               \
           LD1(t, (base) + min((c0) + 2u, p.C - 1u)), LD1(t, (base) + min((c0) + 3u, p.C - 1u))))

void main() {
    uint id = LINEAR_ID;
    uint q = id % p.Q, j = id / p.Q;
    if (j >= p.chunks) return;
    uint c0 = q * 4u, p0 = j * p.L, p1 = min(p0 + p.L, p.P);
    vec4 is = LDQ(invstd, PALIGNED, p.ioff, c0);
    vec4 a = LDQ(gamma, PALIGNED, p.goff, c0) * is;
    vec4 m = LDQ(mean, PALIGNED, p.moff, c0), b = LDQ(beta, PALIGNED, p.boff, c0);
    vec4 sg = vec4(0.0), sgx = vec4(0.0);
    for (uint px = p0; px < p1; px++) {
        vec4 xc = LDQ(x, ALIGNED, p.xoff + px * p.C, c0) - m;
        vec4 g = LDQ(dy, ALIGNED, p.dyoff + px * p.C, c0);
        if (ACT != ACT_NONE) g *= act_grad(ACT, xc * a + b);
        sg += g;
        sgx += g * (xc * is);
    }
    uint stride = p.Q * 4u;
    ST4(ws, (p.wsoff + j * stride + c0) >> 2, sg);
    ST4(ws, (p.wsoff + (p.chunks + j) * stride + c0) >> 2, sgx);
}
