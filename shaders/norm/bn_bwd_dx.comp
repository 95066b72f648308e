#version 450
// bn_bwd_dx: pass 3 of the BatchNorm backward (training mode, through the
// batch statistics):
//   dx (+)= a * (g - sum g / P - xhat * sum g*xhat / P),   a = gamma*invstd,
// with g = dy * act'(z) and xhat recomputed as in bn_bwd_reduce and the
// totals from bn_bwd_merge. Bindings: 0 x, 1 dy, 2 gamma, 3 beta, 4 mean,
// 5 invstd, 6 totals ([2][4Q], offset a multiple of 4) (in), 7 dx (out, or
// in/out when ACCUM). Push: P, C, Q, offsets. Spec constants: 0 workgroup
// size, 1 ACT, 2 ALIGNED (C, x, dy and dx offsets multiples of 4),
// 3 PALIGNED (C and the [C] offsets), 4 ACCUM, 5 ROWS (pixels per
// invocation). Invocation id: channel quad id % Q of pixels (id/Q)*ROWS...
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ACT = 0u;
layout(constant_id = 2) const bool ALIGNED = false;
layout(constant_id = 3) const bool PALIGNED = false;
layout(constant_id = 4) const bool ACCUM = false;
layout(constant_id = 5) const uint ROWS = 8u;
#include "act.glsl"

IN_TENSOR(0, x);
IN_TENSOR(1, dy);
IN_TENSOR(2, gamma);
IN_TENSOR(3, beta);
IN_TENSOR(4, mean);
IN_TENSOR(5, invstd);
IN_TENSOR(6, tot);
INOUT_TENSOR(7, dx);
layout(push_constant) uniform P { uint P, C, Q, xoff, dyoff, goff, boff, moff, ioff, toff, dxoff; } p;

#define LDQ(t, al, base, c0) ((al) ? LD4(t, ((base) + (c0)) >> 2)                                          \
    : vec4(LD1(t, (base) + min((c0), p.C - 1u)), LD1(t, (base) + min((c0) + 1u, p.C - 1u)),               \
           LD1(t, (base) + min((c0) + 2u, p.C - 1u)), LD1(t, (base) + min((c0) + 3u, p.C - 1u))))

void main() {
    uint id = LINEAR_ID;
    uint q = id % p.Q, c0 = q * 4u, r0 = (id / p.Q) * ROWS;
    if (r0 >= p.P) return;
    vec4 is = LDQ(invstd, PALIGNED, p.ioff, c0);
    vec4 a = LDQ(gamma, PALIGNED, p.goff, c0) * is;
    vec4 m = LDQ(mean, PALIGNED, p.moff, c0), b = LDQ(beta, PALIGNED, p.boff, c0);
    float inv_p = 1.0 / float(p.P);
    vec4 mg = LD4(tot, (p.toff + c0) >> 2) * inv_p, mgx = LD4(tot, (p.toff + p.Q * 4u + c0) >> 2) * inv_p;
    [[unroll]] for (uint r = 0u; r < ROWS; r++) {
        uint px = r0 + r;
        if (px >= p.P) return;
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
