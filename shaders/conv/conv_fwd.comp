#version 450
// conv_fwd: direct convolution forward (any kernel, stride, padding, groups)
// as an implicit GEMM, no im2col buffer:
//   y[n][oy][ox][g*Cog+co] = sum_{ky,kx,ci<Cg} x[n][oy*sh-ph+ky][ox*sw-pw+kx][g*Cg+ci]
//                                              * w[g*Cog+co][ky][kx][ci]  (+ bias), then act
// Bindings: 0 x (in), 1 w (in, OHWI), 2 bias (in; any buffer when has_bias
// is 0, never read), 3 y (out).
// Push (conv.glsl): off0..off3 element offsets of x, w, bias, y; total; e0 =
// ceil(OW/TM) pixel blocks per row; e1 = ceil(Cog/TN) channel blocks per group.
// Spec: 0 WG, 1 TM (consecutive outputs along ox per invocation), 2 TN
// (output channels per invocation, a multiple of 4), 3 NIB (taps per window,
// conv.glsl), 4 VK (Cg % 4 == 0, x and w offsets 4-aligned: vec4 loads along
// ci; scalar loads otherwise, e.g. stems with Cin = 1 or 3), 5 VO (Cog % 4 ==
// 0 and the y offset 4-aligned: vec4 stores), 6 ACT (asvk_act applied to
// every output; 0: none).
// Mapping: one invocation per (channel block, pixel block, oy, n), channel
// block fastest: neighbouring invocations share their x loads and store
// neighbouring channels. Each keeps TM x TN sums, and per (ky, window, ci
// step) loads TM + NIB - 1 x values and NIB * TN weights.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 8u;
layout(constant_id = 2) const uint TN = 8u;
layout(constant_id = 3) const uint NIB = 3u;
layout(constant_id = 4) const bool VK = false;
layout(constant_id = 5) const bool VO = false;
layout(constant_id = 6) const uint ACT = 0u;
#include "conv.glsl"
#include "act.glsl"

IN_TENSOR(0, X);
IN_TENSOR(1, Wt);
IN_TENSOR(2, B);
OUT_TENSOR(3, Y);

const uint QN = TN / 4u;
const uint L = TM + NIB - 1u;

void main() {
    uint id = LINEAR_ID;
    if (id >= p.total) return;
    uint ncb = p.groups * p.e1;
    uint cbg = id % ncb, r = id / ncb;
    uint xb = r % p.e0;
    r /= p.e0;
    uint oy = r % p.oh, n = r / p.oh;
    uint g = cbg / p.e1, col0 = (cbg % p.e1) * TN, ox0 = xb * TM;
    uint cg = p.cg, cin = p.cin, kk = p.kh * p.kw;
    uint wrow[TN]; // weight row of each output channel (clamped into the group)
    [[unroll]] for (uint j = 0u; j < TN; j++) wrow[j] = p.off1 + (g * p.cog + min(col0 + j, p.cog - 1u)) * kk * cg;

    vec4 acc[TM][QN];
    [[unroll]] for (uint t = 0u; t < TM; t++)
        [[unroll]] for (uint q = 0u; q < QN; q++) acc[t][q] = vec4(0.0);

    uint nkr = min(p.sw, p.kw);
    for (uint ky = 0u; ky < p.kh; ky++) {
        int iy = int(oy * p.sh + ky) - int(p.ph);
        if (iy < 0 || iy >= int(p.h)) continue;
        uint rowbase = p.off0 + (n * p.h + uint(iy)) * p.w * cin + g * cg;
        for (uint kr = 0u; kr < nkr; kr++)
            for (uint i0 = 0u; kr + p.sw * i0 < p.kw; i0 += NIB) {
                if (VK) {
                    for (uint ci = 0u; ci < cg; ci += 4u) {
                        vec4 seg[L];
                        [[unroll]] for (uint s = 0u; s < L; s++) {
                            int ix = conv_in_col(ox0, i0, kr, s);
                            vec4 v = LD4(X, (rowbase + uint(clamp(ix, 0, int(p.w) - 1)) * cin + ci) >> 2);
                            seg[s] = ix >= 0 && ix < int(p.w) ? v : vec4(0.0);
                        }
                        [[unroll]] for (uint ii = 0u; ii < NIB; ii++) {
                            uint kx = kr + p.sw * (i0 + ii);
                            if (kx < p.kw) {
                                uint tap = (ky * p.kw + kx) * cg + ci;
                                [[unroll]] for (uint q = 0u; q < QN; q++) {
                                    vec4 w0 = LD4(Wt, (wrow[q * 4u] + tap) >> 2);
                                    vec4 w1 = LD4(Wt, (wrow[q * 4u + 1u] + tap) >> 2);
                                    vec4 w2 = LD4(Wt, (wrow[q * 4u + 2u] + tap) >> 2);
                                    vec4 w3 = LD4(Wt, (wrow[q * 4u + 3u] + tap) >> 2);
                                    [[unroll]] for (uint t = 0u; t < TM; t++) {
                                        vec4 xv = seg[t + ii];
                                        acc[t][q] += vec4(dot(xv, w0), dot(xv, w1), dot(xv, w2), dot(xv, w3));
                                    }
                                }
                            }
                        }
                    }
                } else {
                    for (uint ci = 0u; ci < cg; ci++) {
                        float seg[L];
                        [[unroll]] for (uint s = 0u; s < L; s++) {
                            int ix = conv_in_col(ox0, i0, kr, s);
                            float v = LD1(X, rowbase + uint(clamp(ix, 0, int(p.w) - 1)) * cin + ci);
                            seg[s] = ix >= 0 && ix < int(p.w) ? v : 0.0;
                        }
                        [[unroll]] for (uint ii = 0u; ii < NIB; ii++) {
                            uint kx = kr + p.sw * (i0 + ii);
                            if (kx < p.kw) {
                                uint tap = (ky * p.kw + kx) * cg + ci;
                                [[unroll]] for (uint q = 0u; q < QN; q++) {
                                    vec4 wv = vec4(LD1(Wt, wrow[q * 4u] + tap), LD1(Wt, wrow[q * 4u + 1u] + tap),
                                                   LD1(Wt, wrow[q * 4u + 2u] + tap), LD1(Wt, wrow[q * 4u + 3u] + tap));
                                    [[unroll]] for (uint t = 0u; t < TM; t++) acc[t][q] += seg[t + ii] * wv;
                                }
                            }
                        }
                    }
                }
            }
    }

    vec4 bias[QN];
    [[unroll]] for (uint q = 0u; q < QN; q++) {
        bias[q] = vec4(0.0);
        if (p.has_bias != 0u)
            [[unroll]] for (uint j = 0u; j < 4u; j++) bias[q][j] = LD1(B, p.off2 + g * p.cog + min(col0 + q * 4u + j, p.cog - 1u));
    }
    [[unroll]] for (uint t = 0u; t < TM; t++) {
        uint ox = ox0 + t;
        if (ox >= p.ow) break;
        uint yb = p.off3 + ((n * p.oh + oy) * p.ow + ox) * p.cout + g * p.cog;
        [[unroll]] for (uint q = 0u; q < QN; q++) {
            uint co = col0 + q * 4u;
            vec4 v = act_apply(ACT, acc[t][q] + bias[q]);
            if (VO) { // Cog % 4 == 0: a quad is wholly in or out, no scalar path (lavapipe
                     // runs both sides of a branch that differs between lanes)
                if (co < p.cog) ST4(Y, (yb + co) >> 2, v);
            } else {
                [[unroll]] for (uint j = 0u; j < 4u; j++)
                    if (co + j < p.cog) ST1(Y, yb + co + j, v[j]);
            }
        }
    }
}
