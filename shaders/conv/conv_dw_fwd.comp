#version 450
// conv_dw_fwd: depthwise convolution forward (groups == Cin == Cout = C), any
// kernel and stride (conv_dw_k is the faster kernel for kernels up to 7x7 and
// strides up to 2):
//   y[n][oy][ox][c] = act(sum_{ky,kx} x[n][oy*sh-ph+ky][ox*sw-pw+kx][c] * w[c][ky][kx] (+ bias[c]))
// Bindings: 0 x (in), 1 w (in, [C][KH][KW]), 2 bias (in; any buffer when
// has_bias is 0, never read), 3 y (out).
// Push (conv.glsl): off0..off3 element offsets of x, w, bias, y; total
// invocations; e0 = ceil(OW/TP) pixel blocks per row, e1 = ceil(C/4) channel
// quads, e2 = groups of e3 consecutive pixel blocks per row.
// Spec: 0 WG (workgroup size), 1 TP (consecutive outputs along ox per
// invocation), 2 NIB (taps per window, conv.glsl), 3 VEC (C % 4 == 0 and the
// x and y offsets 4-aligned: vec4 loads/stores; else 4 scalar loads, channels
// >= C clamped and never stored), 4 ACT (asvk_act applied to every output;
// 0: none), 5 XF, 6 XACT, 7 XV (a batch norm fused into x's loads,
// bn_load.glsl: bindings 4-7).
// Mapping: one invocation per (channel quad, block group, oy, n), quad
// fastest, so neighbouring invocations touch neighbouring vec4s; it walks the
// e3 blocks of its group (a whole row on CPUs: integer divisions are costly
// there, and this leaves three per row).
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TP = 4u;
layout(constant_id = 2) const uint NIB = 3u;
layout(constant_id = 3) const bool VEC = false;
layout(constant_id = 4) const uint ACT = 0u;
layout(constant_id = 5) const bool XF = false;
layout(constant_id = 6) const uint XACT = 0u;
layout(constant_id = 7) const bool XV = false;
#include "conv.glsl"
#include "act.glsl"
#define XF_BINDING 4
#include "bn_load.glsl"

IN_TENSOR(0, X);
IN_TENSOR(1, Wt);
IN_TENSOR(2, B);
OUT_TENSOR(3, Y);

const uint L = TP + NIB - 1u;

void main() {
    uint id = LINEAR_ID;
    if (id >= p.total) return;
    uint q = id % p.e1, r = id / p.e1;
    uint xg = r % p.e2;
    r /= p.e2;
    uint oy = r % p.oh, n = r / p.oh;
    uint c = q * 4u, C = p.cin, kk = p.kh * p.kw;
    uint cl[4]; // channels clamped into range: loads stay in bounds
    [[unroll]] for (uint j = 0u; j < 4u; j++) cl[j] = min(c + j, C - 1u);
    vec4 bias = vec4(0.0);
    if (p.has_bias != 0u) bias = vec4(LD1(B, p.off2 + cl[0]), LD1(B, p.off2 + cl[1]), LD1(B, p.off2 + cl[2]), LD1(B, p.off2 + cl[3]));
    bn_quad f = XV ? bn_quad_at(c) : bn_quad_of(cl[0], cl[1], cl[2], cl[3]); // the fused BN's terms (XF)
    uint nkr = min(p.sw, p.kw);
    uint ybase = p.off3 + (n * p.oh + oy) * p.ow * C + c;

    for (uint xb = xg * p.e3; xb < min(xg * p.e3 + p.e3, p.e0); xb++) {
        uint ox0 = xb * TP;
        vec4 acc[TP];
        [[unroll]] for (uint t = 0u; t < TP; t++) acc[t] = vec4(0.0);
        for (uint ky = 0u; ky < p.kh; ky++) {
            int iy = int(oy * p.sh + ky) - int(p.ph);
            if (iy < 0 || iy >= int(p.h)) continue;
            uint rowbase = p.off0 + (n * p.h + uint(iy)) * p.w * C;
            for (uint kr = 0u; kr < nkr; kr++)
                for (uint i0 = 0u; kr + p.sw * i0 < p.kw; i0 += NIB) {
                    vec4 seg[L];
                    [[unroll]] for (uint s = 0u; s < L; s++) {
                        int ix = conv_in_col(ox0, i0, kr, s);
                        uint b = rowbase + uint(clamp(ix, 0, int(p.w) - 1)) * C;
                        vec4 v;
                        if (VEC) v = LD4(X, (b + c) >> 2);
                        else v = vec4(LD1(X, b + cl[0]), LD1(X, b + cl[1]), LD1(X, b + cl[2]), LD1(X, b + cl[3]));
                        seg[s] = ix >= 0 && ix < int(p.w) ? bn_apply4(f, v) : vec4(0.0);
                    }
                    [[unroll]] for (uint ii = 0u; ii < NIB; ii++) {
                        uint kx = kr + p.sw * (i0 + ii);
                        if (kx < p.kw) {
                            uint wi = p.off1 + ky * p.kw + kx;
                            vec4 wv = vec4(LD1(Wt, wi + cl[0] * kk), LD1(Wt, wi + cl[1] * kk), LD1(Wt, wi + cl[2] * kk),
                                           LD1(Wt, wi + cl[3] * kk));
                            [[unroll]] for (uint t = 0u; t < TP; t++) acc[t] += seg[t + ii] * wv;
                        }
                    }
                }
        }
        [[unroll]] for (uint t = 0u; t < TP; t++) {
            uint ox = ox0 + t;
            if (ox >= p.ow) break;
            uint yi = ybase + ox * C;
            vec4 v = act_apply(ACT, acc[t] + bias);
            if (VEC) {
                ST4(Y, yi >> 2, v);
            } else {
                [[unroll]] for (uint j = 0u; j < 4u; j++)
                    if (c + j < C) ST1(Y, yi + j, v[j]);
            }
        }
    }
}
