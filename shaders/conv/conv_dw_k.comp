#version 450
// conv_dw_k: depthwise convolution forward with the kernel shape fixed when
// the pipeline is created (KH, KW, SH, SW specialization constants, every tap
// loop unrolled, each invocation's weights held in registers):
//   y[n][oy][ox][c] = act(bias[c] + sum_{ky<KH,kx<KW} x[n][oy*SH-ph+ky][ox*SW-pw+kx][c] * w[c][ky][kx])
// Bindings: 0 x (in), 1 w (in, [C][KH][KW]), 2 bias (in; any buffer when
// has_bias is 0, never read), 3 y (out).
// Push (conv.glsl): n, h, w, cin (= C) of x; oh, ow of y; ph, pw; off0..off3
// element offsets of x, w, bias, y; total; e0 = ceil(C/4) channel quads,
// e1 = ceil(OH/TR) groups of output rows.
// Spec: 0 WG, 1 TP (outputs along ox per step), 2 TR (output rows per
// invocation), 3 KH, 4 KW, 5 SH, 6 SW, 7 VW (the w offset 4-aligned: a
// quad's 4*KH*KW weights are KH*KW aligned vec4s), 8 ACT (asvk_act applied
// to every output; 0: none), 9 XF, 10 XACT, 11 XV (a batch norm fused into
// x's loads, bn_load.glsl: bindings 4-7).
// Requires C % 4 == 0 and 4-aligned x and y offsets (vec4 loads and stores);
// the launcher sends other shapes to conv_dw_fwd.
// Mapping: one invocation per (channel quad, row group, n), quad fastest. It
// loads its quad's weights once, then walks its TR output rows along ox, TP
// columns per step; each of the (TR-1)*SH + KH input rows of a step is loaded
// once, as (TP-1)*SW + KW columns, and feeds every output row it reaches.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TP = 8u;
layout(constant_id = 2) const uint TR = 2u;
layout(constant_id = 3) const uint KH = 3u;
layout(constant_id = 4) const uint KW = 3u;
layout(constant_id = 5) const uint SH = 1u;
layout(constant_id = 6) const uint SW = 1u;
layout(constant_id = 7) const bool VW = false;
layout(constant_id = 8) const uint ACT = 0u;
layout(constant_id = 9) const bool XF = false;
layout(constant_id = 10) const uint XACT = 0u;
layout(constant_id = 11) const bool XV = false;
#include "conv.glsl"
#include "act.glsl"
#define XF_BINDING 4
#include "bn_load.glsl"

IN_TENSOR(0, X);
IN_TENSOR(1, Wt);
IN_TENSOR(2, B);
OUT_TENSOR(3, Y);

const uint KK = KH * KW;
const uint L = (TP - 1u) * SW + KW;  // input columns of a step
const uint RIN = (TR - 1u) * SH + KH; // input rows of a step

void main() {
    uint id = LINEAR_ID;
    if (id >= p.total) return;
    uint q = id % p.e0, r = id / p.e0;
    uint rg = r % p.e1, n = r / p.e1;
    uint c = q * 4u, C = p.cin, oy0 = rg * TR;

    // wv[e] = the weights of tap e = ky*KW + kx for the 4 channels
    vec4 wv[KK];
    if (VW) {
        vec4 blk[KK]; // channel j, tap e at float j*KK + e of the block
        uint b = (p.off1 + c * KK) >> 2;
        [[unroll]] for (uint e = 0u; e < KK; e++) blk[e] = LD4(Wt, b + e);
        [[unroll]] for (uint e = 0u; e < KK; e++)
            [[unroll]] for (uint j = 0u; j < 4u; j++) wv[e][j] = blk[(j * KK + e) / 4u][(j * KK + e) % 4u];
    } else {
        [[unroll]] for (uint e = 0u; e < KK; e++)
            [[unroll]] for (uint j = 0u; j < 4u; j++) wv[e][j] = LD1(Wt, p.off1 + (c + j) * KK + e);
    }
    vec4 bias = vec4(0.0);
    if (p.has_bias != 0u) bias = vec4(LD1(B, p.off2 + c), LD1(B, p.off2 + c + 1u), LD1(B, p.off2 + c + 2u), LD1(B, p.off2 + c + 3u));
    bn_quad f = bn_quad_at(c); // the fused BN's terms of the quad (XF)

    for (uint ox0 = 0u; ox0 < p.ow; ox0 += TP) {
        vec4 acc[TR][TP];
        [[unroll]] for (uint rr = 0u; rr < TR; rr++)
            [[unroll]] for (uint t = 0u; t < TP; t++) acc[rr][t] = vec4(0.0);
        [[unroll]] for (uint j = 0u; j < RIN; j++) {
            int iy = int(oy0 * SH + j) - int(p.ph);
            if (iy < 0 || iy >= int(p.h)) continue;
            uint rowbase = p.off0 + (n * p.h + uint(iy)) * p.w * C;
            vec4 seg[L];
            [[unroll]] for (uint s = 0u; s < L; s++) {
                int ix = int(ox0 * SW + s) - int(p.pw);
                vec4 v = LD4(X, (rowbase + uint(clamp(ix, 0, int(p.w) - 1)) * C + c) >> 2);
                seg[s] = ix >= 0 && ix < int(p.w) ? bn_apply4(f, v) : vec4(0.0);
            }
            [[unroll]] for (uint rr = 0u; rr < TR; rr++) {
                int ky = int(j) - int(rr * SH); // a constant once unrolled
                if (ky >= 0 && ky < int(KH)) {
                    [[unroll]] for (uint kx = 0u; kx < KW; kx++) {
                        uint e = uint(ky) * KW + kx;
                        [[unroll]] for (uint t = 0u; t < TP; t++) acc[rr][t] += seg[t * SW + kx] * wv[e];
                    }
                }
            }
        }
        [[unroll]] for (uint rr = 0u; rr < TR; rr++) {
            uint oy = oy0 + rr;
            if (oy >= p.oh) break;
            uint yrow = p.off3 + (n * p.oh + oy) * p.ow * C + c;
            [[unroll]] for (uint t = 0u; t < TP; t++) {
                uint ox = ox0 + t;
                if (ox >= p.ow) break;
                ST4(Y, (yrow + ox * C) >> 2, act_apply(ACT, acc[rr][t] + bias));
            }
        }
    }
}
