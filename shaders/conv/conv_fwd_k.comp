#version 450
// conv_fwd_k: direct convolution forward for few input channels per group
// (stems: Cin = 1 or 3), with the kernel shape and Cg fixed when the pipeline
// is created (KH, KW, SH, SW, CG specialization constants, tap loops
// unrolled, each invocation's weights held in registers):
//   y[n][oy][ox][g*Cog+co] = bias + sum_{ky,kx,ci<CG} x[n][oy*SH-ph+ky][ox*SW-pw+kx][g*CG+ci]
//                                                    * w[g*Cog+co][ky][kx][ci], then act
// Bindings: 0 x (in), 1 w (in, OHWI), 2 bias (in; any buffer when has_bias
// is 0, never read), 3 y (out).
// Push (conv.glsl): off0..off3 element offsets of x, w, bias, y; total;
// e1 = ceil(Cog/TN) channel blocks per group, e2 = ceil(OH/TR) row groups.
// Spec: 0 WG, 1 TP (outputs along ox per step), 2 TR (output rows per
// invocation), 3 TN (output channels per invocation, multiple of 4), 4 KH,
// 5 KW, 6 SH, 7 SW, 8 CG, 9 VO (Cog % 4 == 0 and the y offset 4-aligned: vec4
// stores), 10 ACT (asvk_act applied to every output; 0: none).
// Mapping: one invocation per (channel block, row group, n), channel block
// fastest. It loads its TN x KH*KW*CG weights once, then walks its rows TP
// outputs at a time; each input row of a step is loaded once per channel as
// (TP-1)*SW + KW values and feeds every output row it reaches.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TP = 8u;
layout(constant_id = 2) const uint TR = 1u;
layout(constant_id = 3) const uint TN = 8u;
layout(constant_id = 4) const uint KH = 3u;
layout(constant_id = 5) const uint KW = 3u;
layout(constant_id = 6) const uint SH = 1u;
layout(constant_id = 7) const uint SW = 1u;
layout(constant_id = 8) const uint CG = 1u;
layout(constant_id = 9) const bool VO = false;
layout(constant_id = 10) const uint ACT = 0u;
#include "conv.glsl"
#include "act.glsl"

IN_TENSOR(0, X);
IN_TENSOR(1, Wt);
IN_TENSOR(2, B);
OUT_TENSOR(3, Y);

const uint KC = KH * KW * CG;        // weights per output channel
const uint QN = TN / 4u;
const uint L = (TP - 1u) * SW + KW;  // input columns of a step
const uint RIN = (TR - 1u) * SH + KH; // input rows of a step

void main() {
    uint id = LINEAR_ID;
    if (id >= p.total) return;
    uint ncb = p.groups * p.e1;
    uint cbg = id % ncb, r = id / ncb;
    uint rg = r % p.e2, n = r / p.e2;
    uint g = cbg / p.e1, col0 = (cbg % p.e1) * TN, oy0 = rg * TR, cin = p.cin;

    // wv[e][q][j]: weight e = (ky*KW + kx)*CG + ci of output channel col0 + 4q + j
    vec4 wv[KC][QN];
    [[unroll]] for (uint q = 0u; q < QN; q++)
        [[unroll]] for (uint j = 0u; j < 4u; j++) {
            uint row = p.off1 + (g * p.cog + min(col0 + q * 4u + j, p.cog - 1u)) * KC;
            [[unroll]] for (uint e = 0u; e < KC; e++) wv[e][q][j] = LD1(Wt, row + e);
        }
    vec4 bias[QN];
    [[unroll]] for (uint q = 0u; q < QN; q++) {
        bias[q] = vec4(0.0);
        if (p.has_bias != 0u)
            [[unroll]] for (uint j = 0u; j < 4u; j++) bias[q][j] = LD1(B, p.off2 + g * p.cog + min(col0 + q * 4u + j, p.cog - 1u));
    }

    for (uint ox0 = 0u; ox0 < p.ow; ox0 += TP) {
        vec4 acc[TR][TP][QN];
        [[unroll]] for (uint rr = 0u; rr < TR; rr++)
            [[unroll]] for (uint t = 0u; t < TP; t++)
                [[unroll]] for (uint q = 0u; q < QN; q++) acc[rr][t][q] = vec4(0.0);
        [[unroll]] for (uint jr = 0u; jr < RIN; jr++) {
            int iy = int(oy0 * SH + jr) - int(p.ph);
            if (iy < 0 || iy >= int(p.h)) continue;
            uint rowbase = p.off0 + (n * p.h + uint(iy)) * p.w * cin + g * CG;
            [[unroll]] for (uint ci = 0u; ci < CG; ci++) {
                float seg[L];
                [[unroll]] for (uint s = 0u; s < L; s++) {
                    int ix = int(ox0 * SW + s) - int(p.pw);
                    float v = LD1(X, rowbase + uint(clamp(ix, 0, int(p.w) - 1)) * cin + ci);
                    seg[s] = ix >= 0 && ix < int(p.w) ? v : 0.0;
                }
                [[unroll]] for (uint rr = 0u; rr < TR; rr++) {
                    int ky = int(jr) - int(rr * SH); // a constant once unrolled
                    if (ky >= 0 && ky < int(KH)) {
                        [[unroll]] for (uint kx = 0u; kx < KW; kx++) {
                            uint e = (uint(ky) * KW + kx) * CG + ci;
                            [[unroll]] for (uint t = 0u; t < TP; t++)
                                [[unroll]] for (uint q = 0u; q < QN; q++) acc[rr][t][q] += seg[t * SW + kx] * wv[e][q];
                        }
                    }
                }
            }
        }
        [[unroll]] for (uint rr = 0u; rr < TR; rr++) {
            uint oy = oy0 + rr;
            if (oy >= p.oh) break;
            [[unroll]] for (uint t = 0u; t < TP; t++) {
                uint ox = ox0 + t;
                if (ox >= p.ow) break;
                uint yb = p.off3 + ((n * p.oh + oy) * p.ow + ox) * p.cout + g * p.cog;
                [[unroll]] for (uint q = 0u; q < QN; q++) {
                    uint co = col0 + q * 4u;
                    vec4 v = act_apply(ACT, acc[rr][t][q] + bias[q]);
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
    }
}
