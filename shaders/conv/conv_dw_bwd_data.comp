#version 450
// conv_dw_bwd_data: depthwise convolution, gradient of the input, as a
// gather (every dx element written once, no atomics):
//   dx[n][iy][ix][c] (=, or += when ACC) sum over (ky, kx) with
//     oy = (iy + ph - ky)/sh, ox = (ix + pw - kx)/sw exact and in range
//   of dy[n][oy][ox][c] * w[c][ky][kx]
// Bindings: 0 dy (in), 1 w (in, [C][KH][KW]), 2 dx (in/out).
// Push (conv.glsl): off0..off2 element offsets of dy, w, dx; total; e0 =
// pixel blocks per residue class = ceil(ceil(W/sw)/TP); e1 = ceil(C/4).
// Spec: 0 WG, 1 TP, 2 NIB (taps per window; ceil(KW/sw) when small), 3 VEC
// (C % 4 == 0 and offsets 4-aligned), 4 ACC.
// Mapping: one invocation per (channel quad, pixel block, residue r, iy, n),
// quad fastest. Its pixels are ix = r + sw*(m0 + t), t < TP: inside one
// residue class the taps that reach them are kx = kxf + sw*i (kxf = (r+pw)
// mod sw), tap i reading dy column ox = m0 + t + Q - i (Q = (r+pw-kxf)/sw),
// so TP outputs and NIB taps share TP + NIB - 1 dy columns.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TP = 4u;
layout(constant_id = 2) const uint NIB = 3u;
layout(constant_id = 3) const bool VEC = false;
layout(constant_id = 4) const bool ACC = false;
#include "conv.glsl"

IN_TENSOR(0, DY);
IN_TENSOR(1, Wt);
INOUT_TENSOR(2, DX);

const uint L = TP + NIB - 1u;

void main() {
    uint id = LINEAR_ID;
    if (id >= p.total) return;
    uint q = id % p.e1, r = id / p.e1;
    uint mb = r % p.e0;
    r /= p.e0;
    uint res = r % p.sw;
    r /= p.sw;
    uint iy = r % p.h, n = r / p.h;
    uint c = q * 4u, m0 = mb * TP, C = p.cin, kk = p.kh * p.kw;
    uint cl[4];
    [[unroll]] for (uint j = 0u; j < 4u; j++) cl[j] = min(c + j, C - 1u);
    uint kxf = (res + p.pw) % p.sw, Q = (res + p.pw - kxf) / p.sw;

    vec4 acc[TP];
    [[unroll]] for (uint t = 0u; t < TP; t++) acc[t] = vec4(0.0);

    for (uint ky = 0u; ky < p.kh; ky++) {
        int ty = int(iy + p.ph) - int(ky);
        if (ty < 0 || uint(ty) % p.sh != 0u) continue;
        uint oy = uint(ty) / p.sh;
        if (oy >= p.oh) continue;
        uint rowbase = p.off0 + (n * p.oh + oy) * p.ow * C;
        for (uint i0 = 0u; kxf + p.sw * i0 < p.kw; i0 += NIB) {
            vec4 seg[L];
            [[unroll]] for (uint s = 0u; s < L; s++) {
                int ox = int(m0 + Q + s) - int(i0 + NIB - 1u);
                uint b = rowbase + uint(clamp(ox, 0, int(p.ow) - 1)) * C;
                vec4 v;
                if (VEC) v = LD4(DY, (b + c) >> 2);
                else v = vec4(LD1(DY, b + cl[0]), LD1(DY, b + cl[1]), LD1(DY, b + cl[2]), LD1(DY, b + cl[3]));
                seg[s] = ox >= 0 && ox < int(p.ow) ? v : vec4(0.0);
            }
            [[unroll]] for (uint ii = 0u; ii < NIB; ii++) {
                uint kx = kxf + p.sw * (i0 + ii);
                if (kx < p.kw) {
                    uint wi = p.off1 + ky * p.kw + kx;
                    vec4 wv = vec4(LD1(Wt, wi + cl[0] * kk), LD1(Wt, wi + cl[1] * kk), LD1(Wt, wi + cl[2] * kk),
                                   LD1(Wt, wi + cl[3] * kk));
                    [[unroll]] for (uint t = 0u; t < TP; t++) acc[t] += seg[t + NIB - 1u - ii] * wv;
                }
            }
        }
    }

    [[unroll]] for (uint t = 0u; t < TP; t++) {
        uint ix = res + p.sw * (m0 + t);
        if (ix >= p.w) break;
        uint xi = p.off2 + ((n * p.h + iy) * p.w + ix) * C + c;
        if (VEC) {
            vec4 v = acc[t];
            if (ACC) v += RD4(DX, xi >> 2);
            ST4(DX, xi >> 2, v);
        } else {
            [[unroll]] for (uint j = 0u; j < 4u; j++)
                if (c + j < C) {
                    float v = acc[t][j];
                    if (ACC) v += RD1(DX, xi + j);
                    ST1(DX, xi + j, v);
                }
        }
    }
}
