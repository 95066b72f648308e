// Loads through a batch norm's training apply: a BN fused into the kernels
// that read its output (runtime/ops/fuse_bn.c). Such a kernel is handed the BN's
// input x instead of its output y and applies, per channel c,
//   y = act((x - mean[c]) * (gamma[c] * invstd[c]) + beta[c])
// to every value it loads: bn_apply.comp's arithmetic (MODE 0) in its order,
// with mean and invstd the batch statistics bn_stats saved. The BN's output
// is then never stored nor loaded: a pass over the tensor and a dispatch
// fewer per BN. Zero padding stays zero: callers apply it to loaded values
// only, never to the zeros they put outside the input.
//
// The including shader declares, before including it, the bool spec
// constants XF (on; off compiles every function here away) and XV (the four
// offsets multiples of 4: vec4 loads of a channel quad), the uint spec
// constant XACT (asvk_act), XF_BINDING (the first of four consecutive
// bindings: gamma, beta, mean, invstd, [C] each) and push constants xg, xb,
// xm, xi (their element offsets) in its block `p`.
#ifndef ASVK_BN_LOAD_GLSL
#define ASVK_BN_LOAD_GLSL
#include "io.glsl"
#include "act.glsl"

IN_TENSOR(XF_BINDING, XfGamma);
IN_TENSOR(XF_BINDING + 1, XfBeta);
IN_TENSOR(XF_BINDING + 2, XfMean);
IN_TENSOR(XF_BINDING + 3, XfInvstd);

// The apply of four channels: y = act((x - m) * a + b).
struct bn_quad { vec4 a, m, b; };

// Channels c0..c0+3 (c0 a multiple of 4 when XV; every channel < C).
bn_quad bn_quad_at(uint c0) {
    bn_quad f = bn_quad(vec4(0.0), vec4(0.0), vec4(0.0));
    if (!XF) return f;
    if (XV) {
        f.a = LD4(XfGamma, (p.xg + c0) >> 2) * LD4(XfInvstd, (p.xi + c0) >> 2);
        f.m = LD4(XfMean, (p.xm + c0) >> 2);
        f.b = LD4(XfBeta, (p.xb + c0) >> 2);
        return f;
    }
    [[unroll]] for (uint j = 0u; j < 4u; j++) {
        f.a[j] = LD1(XfGamma, p.xg + c0 + j) * LD1(XfInvstd, p.xi + c0 + j);
        f.m[j] = LD1(XfMean, p.xm + c0 + j);
        f.b[j] = LD1(XfBeta, p.xb + c0 + j);
    }
    return f;
}

// Four arbitrary channels (scalar loads; clamped channels of a ragged quad).
bn_quad bn_quad_of(uint c0, uint c1, uint c2, uint c3) {
    bn_quad f = bn_quad(vec4(0.0), vec4(0.0), vec4(0.0));
    if (!XF) return f;
    uint c[4] = uint[4](c0, c1, c2, c3);
    [[unroll]] for (uint j = 0u; j < 4u; j++) {
        f.a[j] = LD1(XfGamma, p.xg + c[j]) * LD1(XfInvstd, p.xi + c[j]);
        f.m[j] = LD1(XfMean, p.xm + c[j]);
        f.b[j] = LD1(XfBeta, p.xb + c[j]);
    }
    return f;
}

vec4 bn_apply4(bn_quad f, vec4 x) { return XF ? act_apply(XACT, (x - f.m) * f.a + f.b) : x; }

// One value of channel c (scalar loads of its three terms).
float bn_apply1(uint c, float x) {
    if (!XF) return x;
    float a = LD1(XfGamma, p.xg + c) * LD1(XfInvstd, p.xi + c);
    return act_apply(XACT, (x - LD1(XfMean, p.xm + c)) * a + LD1(XfBeta, p.xb + c));
}

#endif
