#version 450
// conv_bwd_data: direct convolution, gradient of the input, as a gather
// (implicit GEMM over (ky, kx, co); every dx element written once):
//   dx[n][iy][ix][g*Cg+ci] (=, or += when ACC) sum over taps with
//     oy = (iy+ph-ky)/sh, ox = (ix+pw-kx)/sw exact and in range, co < Cog, of
//   dy[n][oy][ox][g*Cog+co] * w[g*Cog+co][ky][kx][ci]
// Bindings: 0 dy (in), 1 w (in, OHWI), 2 dx (in/out).
// Push (conv.glsl): off0..off2 element offsets of dy, w, dx; total; e0 =
// pixel blocks per residue class = ceil(ceil(W/sw)/TM); e1 = ceil(Cg/TN)
// channel blocks per group.
// Spec: 0 WG, 1 TM, 2 TN (multiple of 4), 3 NIB, 4 V (Cog % 4 == 0, Cg % 4 ==
// 0 and every offset 4-aligned: dy read as vec4 along co, w as vec4 along ci,
// dx stored as vec4; scalar otherwise), 5 ACC.
// Mapping: one invocation per (channel block, pixel block, residue r, iy, n),
// channel block fastest; its pixels are ix = r + sw*(m0 + t), t < TM, which
// share TM + NIB - 1 dy columns per window (see conv_dw_bwd_data).
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 8u;
layout(constant_id = 2) const uint TN = 8u;
layout(constant_id = 3) const uint NIB = 3u;
layout(constant_id = 4) const bool V = false;
layout(constant_id = 5) const bool ACC = false;
#include "conv.glsl"

IN_TENSOR(0, DY);
IN_TENSOR(1, Wt);
INOUT_TENSOR(2, DX);

const uint QN = TN / 4u;
const uint L = TM + NIB - 1u;

void main() {
    uint id = LINEAR_ID;
    if (id >= p.total) return;
    uint ncb = p.groups * p.e1;
    uint cbg = id % ncb, r = id / ncb;
    uint mb = r % p.e0;
    r /= p.e0;
    uint res = r % p.sw;
    r /= p.sw;
    uint iy = r % p.h, n = r / p.h;
    uint g = cbg / p.e1, ci0 = (cbg % p.e1) * TN, m0 = mb * TM;
    uint cg = p.cg, cog = p.cog, kk = p.kh * p.kw, wstride = kk * cg;
    uint kxf = (res + p.pw) % p.sw, Q = (res + p.pw - kxf) / p.sw;
    uint cl[TN]; // input channels, clamped into the group
    [[unroll]] for (uint j = 0u; j < TN; j++) cl[j] = min(ci0 + j, cg - 1u);

    vec4 acc[TM][QN];
    [[unroll]] for (uint t = 0u; t < TM; t++)
        [[unroll]] for (uint q = 0u; q < QN; q++) acc[t][q] = vec4(0.0);

    for (uint ky = 0u; ky < p.kh; ky++) {
        int ty = int(iy + p.ph) - int(ky);
        if (ty < 0 || uint(ty) % p.sh != 0u) continue;
        uint oy = uint(ty) / p.sh;
        if (oy >= p.oh) continue;
        uint rowbase = p.off0 + (n * p.oh + oy) * p.ow * p.cout + g * cog;
        for (uint i0 = 0u; kxf + p.sw * i0 < p.kw; i0 += NIB) {
            if (V) {
                for (uint co = 0u; co < cog; co += 4u) {
                    vec4 seg[L];
                    [[unroll]] for (uint s = 0u; s < L; s++) {
                        int ox = int(m0 + Q + s) - int(i0 + NIB - 1u);
                        vec4 v = LD4(DY, (rowbase + uint(clamp(ox, 0, int(p.ow) - 1)) * p.cout + co) >> 2);
                        seg[s] = ox >= 0 && ox < int(p.ow) ? v : vec4(0.0);
                    }
                    [[unroll]] for (uint ii = 0u; ii < NIB; ii++) {
                        uint kx = kxf + p.sw * (i0 + ii);
                        if (kx < p.kw) {
                            uint tb = p.off1 + (g * cog + co) * wstride + (ky * p.kw + kx) * cg;
                            [[unroll]] for (uint q = 0u; q < QN; q++) {
                                uint ci = min(ci0 + q * 4u, cg - 4u);
                                vec4 w0 = LD4(Wt, (tb + ci) >> 2);
                                vec4 w1 = LD4(Wt, (tb + wstride + ci) >> 2);
                                vec4 w2 = LD4(Wt, (tb + 2u * wstride + ci) >> 2);
                                vec4 w3 = LD4(Wt, (tb + 3u * wstride + ci) >> 2);
                                [[unroll]] for (uint t = 0u; t < TM; t++) {
                                    vec4 d = seg[t + NIB - 1u - ii];
                                    acc[t][q] += d.x * w0 + d.y * w1 + d.z * w2 + d.w * w3;
                                }
                            }
                        }
                    }
                }
            } else {
                for (uint co = 0u; co < cog; co++) {
                    float seg[L];
                    [[unroll]] for (uint s = 0u; s < L; s++) {
                        int ox = int(m0 + Q + s) - int(i0 + NIB - 1u);
                        float v = LD1(DY, rowbase + uint(clamp(ox, 0, int(p.ow) - 1)) * p.cout + co);
                        seg[s] = ox >= 0 && ox < int(p.ow) ? v : 0.0;
                    }
                    [[unroll]] for (uint ii = 0u; ii < NIB; ii++) {
                        uint kx = kxf + p.sw * (i0 + ii);
                        if (kx < p.kw) {
                            uint tb = p.off1 + (g * cog + co) * wstride + (ky * p.kw + kx) * cg;
                            [[unroll]] for (uint q = 0u; q < QN; q++) {
                                vec4 wv = vec4(LD1(Wt, tb + cl[q * 4u]), LD1(Wt, tb + cl[q * 4u + 1u]),
                                               LD1(Wt, tb + cl[q * 4u + 2u]), LD1(Wt, tb + cl[q * 4u + 3u]));
                                [[unroll]] for (uint t = 0u; t < TM; t++) acc[t][q] += seg[t + NIB - 1u - ii] * wv;
                            }
                        }
                    }
                }
            }
        }
    }

    [[unroll]] for (uint t = 0u; t < TM; t++) {
        uint ix = res + p.sw * (m0 + t);
        if (ix >= p.w) break;
        uint xb = p.off2 + ((n * p.h + iy) * p.w + ix) * p.cin + g * cg;
        [[unroll]] for (uint q = 0u; q < QN; q++) {
            uint ci = ci0 + q * 4u;
            vec4 v = acc[t][q];
            if (V && ci + 4u <= cg) {
                if (ACC) v += RD4(DX, (xb + ci) >> 2);
                ST4(DX, (xb + ci) >> 2, v);
            } else {
                [[unroll]] for (uint j = 0u; j < 4u; j++)
                    if (ci + j < cg) {
                        float s = v[j];
                        if (ACC) s += RD1(DX, xb + ci + j);
                        ST1(DX, xb + ci + j, s);
                    }
            }
        }
    }
}
