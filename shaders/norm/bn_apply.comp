#version 450
// bn_apply: the normalisation pass of BatchNorm with the activation fused,
//   y = act((x - mean) * a + beta),  a = gamma * invstd     (x, y NHWC; the rest [C])
// MODE 0 (training): mean and invstd are the batch statistics that
// bn_stats_merge saved. MODE 1 (inference): they are running_mean and
// running_var, and invstd = 1/sqrt(running_var + eps): one pass in all.
// z is computed the same way by bn_bwd_reduce/bn_bwd_dx.
// Bindings: 0 x, 1 gamma, 2 beta, 3 mean, 4 invstd (MODE 0) or var (MODE 1)
// (in), 5 y (out; may be x itself). Push: P, C, Q = ceil(C/4), offsets, eps.
// Spec constants: 0 workgroup size, 1 ACT (asvk_act), 2 MODE, 3 ALIGNED
// (C, x and y offsets multiples of 4: vec4 loads/stores), 4 PALIGNED (C and
// the four [C] offsets multiples of 4), 5 ROWS (pixels per invocation).
// Invocation id: channel quad id % Q of pixels (id / Q)*ROWS.. +ROWS-1, so
// the per-channel terms are loaded once per ROWS pixels.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ACT = 0u;
layout(constant_id = 2) const uint MODE = 0u;
layout(constant_id = 3) const bool ALIGNED = false;
layout(constant_id = 4) const bool PALIGNED = false;
layout(constant_id = 5) const uint ROWS = 8u;
#include "act.glsl"

IN_TENSOR(0, x);
IN_TENSOR(1, gamma);
IN_TENSOR(2, beta);
IN_TENSOR(3, mean);
IN_TENSOR(4, stat);
OUT_TENSOR(5, y);
layout(push_constant) uniform P { uint P, C, Q, xoff, goff, boff, moff, soff, yoff; float eps; } p;

#define LDQ(t, al, base, c0) ((al) ? LD4(t, ((base) + (c0)) >> 2)                                          \
    : vec4(LD1(t, (base) + min((c0), p.C - 1u)), LD1(t, (base) + min((c0) + 1u, p.C - 1u)),               \
           LD1(t, (base) + min((c0) + 2u, p.C - 1u)), LD1(t, (base) + min((c0) + 3u, p.C - 1u))))

void main() {
    uint id = LINEAR_ID;
    uint q = id % p.Q, c0 = q * 4u, r0 = (id / p.Q) * ROWS;
    if (r0 >= p.P) return;
    vec4 invstd = LDQ(stat, PALIGNED, p.soff, c0);
    if (MODE == 1u) invstd = inversesqrt(invstd + p.eps);
    vec4 a = LDQ(gamma, PALIGNED, p.goff, c0) * invstd;
    vec4 m = LDQ(mean, PALIGNED, p.moff, c0), b = LDQ(beta, PALIGNED, p.boff, c0);
    [[unroll]] for (uint r = 0u; r < ROWS; r++) {
        uint px = r0 + r;
        if (px >= p.P) return;
        vec4 v = act_apply(ACT, (LDQ(x, ALIGNED, p.xoff + px * p.C, c0) - m) * a + b);
        uint yb = p.yoff + px * p.C + c0;
        if (ALIGNED) {
            ST4(y, yb >> 2, v);
        } else {
            for (uint j = 0u; j < 4u && c0 + j < p.C; j++) ST1(y, yb + j, v[j]);
        }
    }
}
