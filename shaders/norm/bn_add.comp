#version 450
// bn_add: the residual add with the batch norms of its inputs fused in
// (runtime/ops/fuse_bn.c):
//   c = f_a(a) + f_b(b),  f(x) = x, or a training BN's apply
//   act((x - mean) * (gamma * invstd) + beta) per channel (bn_apply's expression),
// over NHWC tensors of P pixels and C channels. The BN's output, which the
// add read, is then never stored.
// Bindings: 0 a, 1 b (in), 2 c (out), 3-6 a's BN gamma, beta, mean, invstd,
// 7-10 b's ([C] each; any buffer for a side without one, never read).
// Push: P, C, Q = ceil(C/4), the element offsets of a, b, c and of the eight
// BN vectors. Spec constants: 0 workgroup size, 1 BNA, 2 ACTA, 3 BNB, 4 ACTB
// (a side's BN and its asvk_act), 5 ALIGNED (C and every offset multiples of
// 4: vec4 loads and stores), 6 ROWS (pixels per invocation).
// Invocation id: channel quad id % Q of pixels (id / Q)*ROWS.. +ROWS-1, so
// the BN terms are loaded once per ROWS pixels (bn_apply's layout).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool BNA = false;
layout(constant_id = 2) const uint ACTA = 0u;
layout(constant_id = 3) const bool BNB = false;
layout(constant_id = 4) const uint ACTB = 0u;
layout(constant_id = 5) const bool ALIGNED = false;
layout(constant_id = 6) const uint ROWS = 8u;
#include "act.glsl"

IN_TENSOR(0, A);
IN_TENSOR(1, B);
OUT_TENSOR(2, Cout);
IN_TENSOR(3, Ag);
IN_TENSOR(4, Ab);
IN_TENSOR(5, Am);
IN_TENSOR(6, Ai);
IN_TENSOR(7, Bg);
IN_TENSOR(8, Bb);
IN_TENSOR(9, Bm);
IN_TENSOR(10, Bi);
layout(push_constant) uniform P {
    uint P, C, Q, aoff, boff, coff;
    uint ag, ab, am, ai, bg, bb, bm, bi;
} p;

// Four channels c0.. at element `base`, clamped into the row.
#define LDQ(t, base, c0) (ALIGNED ? LD4(t, ((base) + (c0)) >> 2)                                              \
    : vec4(LD1(t, (base) + min((c0), p.C - 1u)), LD1(t, (base) + min((c0) + 1u, p.C - 1u)),                  \
           LD1(t, (base) + min((c0) + 2u, p.C - 1u)), LD1(t, (base) + min((c0) + 3u, p.C - 1u))))

void main() {
    uint id = LINEAR_ID;
    uint q = id % p.Q, c0 = q * 4u, r0 = (id / p.Q) * ROWS;
    if (r0 >= p.P) return;
    vec4 sa = vec4(1.0), ma = vec4(0.0), ba = vec4(0.0), sb = vec4(1.0), mb = vec4(0.0), bb = vec4(0.0);
    if (BNA) {
        sa = LDQ(Ag, p.ag, c0) * LDQ(Ai, p.ai, c0);
        ma = LDQ(Am, p.am, c0), ba = LDQ(Ab, p.ab, c0);
    }
    if (BNB) {
        sb = LDQ(Bg, p.bg, c0) * LDQ(Bi, p.bi, c0);
        mb = LDQ(Bm, p.bm, c0), bb = LDQ(Bb, p.bb, c0);
    }
    [[unroll]] for (uint r = 0u; r < ROWS; r++) {
        uint px = r0 + r;
        if (px >= p.P) return;
        vec4 x = LDQ(A, p.aoff + px * p.C, c0), y = LDQ(B, p.boff + px * p.C, c0);
        if (BNA) x = act_apply(ACTA, (x - ma) * sa + ba);
        if (BNB) y = act_apply(ACTB, (y - mb) * sb + bb);
        vec4 v = x + y;
        uint cb = p.coff + px * p.C + c0;
        if (ALIGNED) {
            ST4(Cout, cb >> 2, v);
        } else {
            for (uint j = 0u; j < 4u && c0 + j < p.C; j++) ST1(Cout, cb + j, v[j]);
        }
    }
}
