#version 450
// bn_bwd_onepass: the whole BatchNorm backward (training mode) in one
// dispatch, one workgroup per G channel quads: the sums of bn_bwd_reduce,
// then bn_bwd_dx's dx, with a workgroup barrier between them instead of a
// second dispatch. Invocation i of a group takes quad i % G of the group's
// and walks pixels i / G, i / G + WG / G, ... twice (neighbouring
// invocations read neighbouring quads of a pixel: G = 4 reads each 64-byte
// line of x and dy in one group):
//   pass 1: sum g, sum g*xhat over its pixels (g = dy * act'(z), z and xhat
//           recomputed from x as bn_bwd_reduce does), in pixel order;
//   the group's sums in invocation order (shared memory) make the quad's
//   totals, dbeta (+)= sum g, dgamma (+)= sum g*xhat;
//   pass 2: dx (+)= a * (g - sum g / P - xhat * sum g*xhat / P), a = gamma*invstd.
// Deterministic. For CPU devices (lavapipe) and wide layers (runtime/kernels/
// norm.c): a dispatch and a barrier fewer per batch norm, and no partials
// stored and read back. GPUs keep the two dispatches (Q / G groups would
// leave most of a GPU idle), as do narrow layers on CPUs (too few groups).
// Bindings: 0 x, 1 dy, 2 gamma, 3 beta, 4 mean, 5 invstd (in), 6 dgamma,
// 7 dbeta (out or in/out, [C]), 8 dx (out, or in/out when ACCUM). Push: P, C,
// Q, offsets. Spec constants: 0 workgroup size, 1 ACT, 2 ALIGNED (C, x, dy
// and dx offsets multiples of 4), 3 PALIGNED (C and the [C] offsets),
// 4 ACC_GAMMA, 5 ACC_BETA, 6 ACCUM, 7 DX (dx wanted), 8 G (quads a group,
// dividing the workgroup size). Workgroup: quads LINEAR_GROUP * G ...
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ACT = 0u;
layout(constant_id = 2) const bool ALIGNED = false;
layout(constant_id = 3) const bool PALIGNED = false;
layout(constant_id = 4) const bool ACC_GAMMA = false;
layout(constant_id = 5) const bool ACC_BETA = false;
layout(constant_id = 6) const bool ACCUM = false;
layout(constant_id = 7) const bool DX = true;
layout(constant_id = 8) const uint G = 4u;
#include "act.glsl"

IN_TENSOR(0, x);
IN_TENSOR(1, dy);
IN_TENSOR(2, gamma);
IN_TENSOR(3, beta);
IN_TENSOR(4, mean);
IN_TENSOR(5, invstd);
INOUT_TENSOR(6, dgamma);
INOUT_TENSOR(7, dbeta);
INOUT_TENSOR(8, dx);
layout(push_constant) uniform P { uint P, C, Q, xoff, dyoff, goff, boff, moff, ioff, dgoff, dboff, dxoff; } p;

#define LDQ(t, al, base, c0) ((al) ? LD4(t, ((base) + (c0)) >> 2)                                          \
    : vec4(LD1(t, (base) + min((c0), p.C - 1u)), LD1(t, (base) + min((c0) + 1u, p.C - 1u)),               \
           LD1(t, (base) + min((c0) + 2u, p.C - 1u)), LD1(t, (base) + min((c0) + 3u, p.C - 1u))))

shared vec4 part_g[gl_WorkGroupSize.x];
shared vec4 part_gx[gl_WorkGroupSize.x];

void main() {
    uint i = gl_LocalInvocationIndex, qi = i % G, lane = i / G, lanes = gl_WorkGroupSize.x / G;
    uint q = LINEAR_GROUP * G + qi, c0 = min(q, p.Q - 1u) * 4u; // a quad past Q repeats the last, stores nothing
    vec4 is = LDQ(invstd, PALIGNED, p.ioff, c0);
    vec4 a = LDQ(gamma, PALIGNED, p.goff, c0) * is;
    vec4 m = LDQ(mean, PALIGNED, p.moff, c0), b = LDQ(beta, PALIGNED, p.boff, c0);
    vec4 sg = vec4(0.0), sgx = vec4(0.0);
    for (uint px = lane; px < p.P; px += lanes) {
        vec4 xc = LDQ(x, ALIGNED, p.xoff + px * p.C, c0) - m;
        vec4 g = LDQ(dy, ALIGNED, p.dyoff + px * p.C, c0);
        if (ACT != ACT_NONE) g *= act_grad(ACT, xc * a + b);
        sg += g;
        sgx += g * (xc * is);
    }
    part_g[i] = sg;
    part_gx[i] = sgx;
    barrier();
    if (lane == 0u) { // the quad's sums, lane by lane; kept in its lane-0 slot (i == qi) for pass 2
        sg = vec4(0.0), sgx = vec4(0.0);
        for (uint j = 0u; j < lanes; j++) sg += part_g[j * G + qi], sgx += part_gx[j * G + qi];
        part_g[qi] = sg;
        part_gx[qi] = sgx;
        for (uint l = 0u; l < 4u && q < p.Q && c0 + l < p.C; l++) {
            uint gi = p.dgoff + c0 + l, bi = p.dboff + c0 + l;
            ST1(dgamma, gi, ACC_GAMMA ? RD1(dgamma, gi) + sgx[l] : sgx[l]);
            ST1(dbeta, bi, ACC_BETA ? RD1(dbeta, bi) + sg[l] : sg[l]);
        }
    }
    if (!DX) return;
    barrier();
    if (q >= p.Q) return;
    float inv_p = 1.0 / float(p.P);
    vec4 mg = part_g[qi] * inv_p, mgx = part_gx[qi] * inv_p;
    for (uint px = lane; px < p.P; px += lanes) {
        vec4 xc = LDQ(x, ALIGNED, p.xoff + px * p.C, c0) - m;
        vec4 g = LDQ(dy, ALIGNED, p.dyoff + px * p.C, c0);
        if (ACT != ACT_NONE) g *= act_grad(ACT, xc * a + b);
        vec4 v = a * (g - mg - (xc * is) * mgx);
        uint o = p.dxoff + px * p.C + c0;
        if (ALIGNED) {
            ST4(dx, o >> 2, ACCUM ? RD4(dx, o >> 2) + v : v);
        } else {
            for (uint j = 0u; j < 4u && c0 + j < p.C; j++) ST1(dx, o + j, ACCUM ? RD1(dx, o + j) + v[j] : v[j]);
        }
    }
}
