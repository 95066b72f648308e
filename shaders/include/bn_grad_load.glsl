// Loads through a batch norm's backward: the BN's dx fused into the
// convolution's backward that reads it (runtime/ops/fuse_bn.c). The
// convolution produced the BN's input t; its backward reads dL/dt, which
// the BN's dx pass would have stored. Such a kernel is handed instead the
// BN's output gradient dy and t, with the per-channel terms the BN's
// backward sums left in its workspace (bn_bwd_reduce: the totals sum g,
// sum g*xhat, then gamma*invstd, mean, beta, invstd), and computes per
// channel c, in bn_bwd_dx's order,
//   xc = t - mean, g = dy * act'(xc * a + beta),
//   dL/dt = a * (g - sum g / P - (xc * invstd) * sum g*xhat / P),  a = gamma*invstd
// for every value it loads. The dx pass, its dispatch and the tensor it
// wrote are saved.
//
// The including shader declares, before including it, the bool spec
// constants DF (on; off compiles every function here away) and DV (vec4
// loads of a channel quad's terms), the uint spec constant DACT (asvk_act),
// DF_BINDING (two consecutive read-only bindings: t, then the terms, fp32
// rows of cq floats at element offset coff) and push constants dp (the BN's pixels P),
// coff, cq in its block `p`.
#ifndef ASVK_BN_GRAD_LOAD_GLSL
#define ASVK_BN_GRAD_LOAD_GLSL
#include "io.glsl"
#include "act.glsl"

IN_TENSOR(DF_BINDING, DfT);
IN_TENSOR(DF_BINDING + 1, DfTerms);

// The terms of four channels: mg = sum g / P, mgx = sum g*xhat / P.
struct bnd_quad { vec4 a, m, b, is, mg, mgx; };

float bnd_term(uint row, uint c) { return LD1(DfTerms, p.coff + row * p.cq + c); }

bnd_quad bnd_none() { return bnd_quad(vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0)); }

// Channels c0..c0+3 (c0 a multiple of 4 when DV; every channel < C).
bnd_quad bnd_quad_at(uint c0) {
    bnd_quad f = bnd_none();
    if (!DF) return f;
    float inv_p = 1.0 / float(p.dp);
    if (DV) {
        uint q = (p.coff + c0) >> 2, r = p.cq >> 2;
        f.mg = LD4(DfTerms, q) * inv_p, f.mgx = LD4(DfTerms, q + r) * inv_p;
        f.a = LD4(DfTerms, q + 2u * r), f.m = LD4(DfTerms, q + 3u * r);
        f.b = LD4(DfTerms, q + 4u * r), f.is = LD4(DfTerms, q + 5u * r);
        return f;
    }
    [[unroll]] for (uint j = 0u; j < 4u; j++) {
        f.mg[j] = bnd_term(0u, c0 + j) * inv_p, f.mgx[j] = bnd_term(1u, c0 + j) * inv_p;
        f.a[j] = bnd_term(2u, c0 + j), f.m[j] = bnd_term(3u, c0 + j);
        f.b[j] = bnd_term(4u, c0 + j), f.is[j] = bnd_term(5u, c0 + j);
    }
    return f;
}

vec4 bnd_apply4(bnd_quad f, vec4 dy, vec4 t) {
    if (!DF) return dy;
    vec4 xc = t - f.m, g = dy;
    if (DACT != ACT_NONE) g *= act_grad(DACT, xc * f.a + f.b);
    return f.a * (g - f.mg - (xc * f.is) * f.mgx);
}

// One value of channel c.
float bnd_apply1(uint c, float dy, float t) {
    if (!DF) return dy;
    float inv_p = 1.0 / float(p.dp);
    float a = bnd_term(2u, c), xc = t - bnd_term(3u, c), g = dy;
    if (DACT != ACT_NONE) g *= act_grad(DACT, xc * a + bnd_term(4u, c));
    return a * (g - bnd_term(0u, c) * inv_p - (xc * bnd_term(5u, c)) * (bnd_term(1u, c) * inv_p));
}

#endif
