#version 450
// bn_bwd_reduce: the sums of the BatchNorm backward (training mode), in one
// dispatch. With the saved batch statistics, recomputes
// z = (x - mean)*gamma*invstd + beta as bn_apply does (z is not stored),
// g = dy * act'(z), xhat = (x - mean)*invstd, and per chunk j of L pixels
// and channel quad q sums, in pixel order,
//   part[j*4Q + c] = sum g,   part[(chunks + j)*4Q + c] = sum g*xhat.
// The last workgroup to finish (last_group.glsl) sums the chunks in chunk
// order into the totals sum g and sum g*xhat (kept in the workspace for
// bn_bwd_dx: the parameter gradients may be accumulated into and so cannot
// serve) and into the parameter gradients
//   dbeta (+)= sum g,   dgamma (+)= sum g*xhat,
// and writes after the totals the per-channel terms of dx, gamma*invstd,
// mean, beta, invstd: with the totals, what a convolution's backward needs
// to compute dx itself as it loads it (the BN's dx fused into the
// convolution that produced its input, bn_grad_load.glsl).
// Deterministic.
// Bindings: 0 x, 1 dy, 2 gamma, 3 beta, 4 mean, 5 invstd (in), 6 ws (fp32,
// read and written: totals [2][4Q] then the terms [4][4Q] at toff, partials
// [2][chunks][4Q] at poff, offsets multiples of 4), 7 dgamma, 8 dbeta (out or in/out, [C]),
// 9 the arrival counter. Push: P, C, Q, L, chunks, offsets. Spec constants:
// 0 workgroup size, 1 ACT, 2 ALIGNED (C, x and dy offsets multiples of 4),
// 3 PALIGNED (C and the [C] offsets), 4 ACC_GAMMA, 5 ACC_BETA (add instead
// of write). Invocation id: quad id % Q of chunk id / Q.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"
#define LAST_GROUP_BINDING 9
#include "last_group.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ACT = 0u;
layout(constant_id = 2) const bool ALIGNED = false;
layout(constant_id = 3) const bool PALIGNED = false;
layout(constant_id = 4) const bool ACC_GAMMA = false;
layout(constant_id = 5) const bool ACC_BETA = false;
#include "act.glsl"

IN_TENSOR(0, x);
IN_TENSOR(1, dy);
IN_TENSOR(2, gamma);
IN_TENSOR(3, beta);
IN_TENSOR(4, mean);
IN_TENSOR(5, invstd);
layout(set = 0, binding = 6, std430) coherent restrict buffer ws_block { vec4 ws[]; };
INOUT_TENSOR(7, dgamma);
INOUT_TENSOR(8, dbeta);
layout(push_constant) uniform P {
    uint P, C, Q, L, chunks, xoff, dyoff, goff, boff, moff, ioff, toff, poff, dgoff, dboff, cnt;
} p;

#define LDQ(t, al, base, c0) ((al) ? LD4(t, ((base) + (c0)) >> 2)                                          \
    : vec4(LD1(t, (base) + min((c0), p.C - 1u)), LD1(t, (base) + min((c0) + 1u, p.C - 1u)),               \
           LD1(t, (base) + min((c0) + 2u, p.C - 1u)), LD1(t, (base) + min((c0) + 3u, p.C - 1u))))

void chunk_sums(uint q, uint j) {
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
    ws[(p.poff + j * stride + c0) >> 2] = sg;
    ws[(p.poff + (p.chunks + j) * stride + c0) >> 2] = sgx;
}

void merge(uint q) {
    uint c0 = q * 4u, stride = p.Q * 4u;
    vec4 sg = vec4(0.0), sgx = vec4(0.0);
    for (uint j = 0u; j < p.chunks; j++) {
        sg += ws[(p.poff + j * stride + c0) >> 2];
        sgx += ws[(p.poff + (p.chunks + j) * stride + c0) >> 2];
    }
    ws[(p.toff + c0) >> 2] = sg;
    ws[(p.toff + stride + c0) >> 2] = sgx;
    vec4 is = LDQ(invstd, PALIGNED, p.ioff, c0);
    ws[(p.toff + 2u * stride + c0) >> 2] = LDQ(gamma, PALIGNED, p.goff, c0) * is;
    ws[(p.toff + 3u * stride + c0) >> 2] = LDQ(mean, PALIGNED, p.moff, c0);
    ws[(p.toff + 4u * stride + c0) >> 2] = LDQ(beta, PALIGNED, p.boff, c0);
    ws[(p.toff + 5u * stride + c0) >> 2] = is;
    for (uint l = 0u; l < 4u && c0 + l < p.C; l++) {
        uint g = p.dgoff + c0 + l, b = p.dboff + c0 + l;
        ST1(dgamma, g, ACC_GAMMA ? RD1(dgamma, g) + sgx[l] : sgx[l]);
        ST1(dbeta, b, ACC_BETA ? RD1(dbeta, b) + sg[l] : sg[l]);
    }
}

void main() {
    uint id = LINEAR_ID;
    if (id / p.Q < p.chunks) chunk_sums(id % p.Q, id / p.Q);
    if (!last_group(p.cnt)) return;
    for (uint q = gl_LocalInvocationIndex; q < p.Q; q += gl_WorkGroupSize.x) merge(q);
    last_group_reset(p.cnt);
}
