#version 450
// bn_bwd_merge: pass 2 of the BatchNorm backward. Sums the chunk partials of
// bn_bwd_reduce in chunk order into the totals sum g and sum g*xhat (kept in
// the workspace for bn_bwd_dx: the parameter gradients may be accumulated
// into and so cannot serve) and into the parameter gradients
//   dbeta (+)= sum g,   dgamma (+)= sum g*xhat.
// Bindings: 0 partials (in), 1 totals (out, [2][4Q], offset a multiple of 4),
// 2 dgamma, 3 dbeta (out or in/out, [C]). Push: C, Q, chunks, offsets.
// Spec constants: 0 workgroup size, 1 ACC_GAMMA, 2 ACC_BETA (add instead of
// write). One invocation per channel quad.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACC_GAMMA = false;
layout(constant_id = 2) const bool ACC_BETA = false;

IN_TENSOR(0, part);
OUT_TENSOR(1, tot);
INOUT_TENSOR(2, dgamma);
INOUT_TENSOR(3, dbeta);
layout(push_constant) uniform P { uint C, Q, chunks, poff, toff, goff, boff; } p;

void main() {
    uint q = LINEAR_ID;
    if (q >= p.Q) return;
    uint c0 = q * 4u, stride = p.Q * 4u;
    vec4 sg = vec4(0.0), sgx = vec4(0.0);
    for (uint j = 0u; j < p.chunks; j++) {
        sg += LD4(part, (p.poff + j * stride + c0) >> 2);
        sgx += LD4(part, (p.poff + (p.chunks + j) * stride + c0) >> 2);
    }
    ST4(tot, (p.toff + c0) >> 2, sg);
    ST4(tot, (p.toff + stride + c0) >> 2, sgx);
    for (uint l = 0u; l < 4u && c0 + l < p.C; l++) {
        uint g = p.goff + c0 + l, b = p.boff + c0 + l;
        ST1(dgamma, g, ACC_GAMMA ? RD1(dgamma, g) + sgx[l] : sgx[l]);
        ST1(dbeta, b, ACC_BETA ? RD1(dbeta, b) + sg[l] : sg[l]);
    }
}
