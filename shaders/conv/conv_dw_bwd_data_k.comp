#version 450
// conv_dw_bwd_data_k: depthwise convolution, gradient of the input, as a
// gather with the kernel shape fixed when the pipeline is created (KH, KW,
// SH, SW specialization constants; every tap loop unrolled, the taps that
// reach each input pixel known at compile time):
//   dx[n][iy][ix][c] (=, or += when ACC) sum over (ky, kx) with
//     oy = (iy + ph - ky)/SH, ox = (ix + pw - kx)/SW exact and in range
//   of dy[n][oy][ox][c] * w[c][ky][kx]
// Bindings: 0 dy (in), 1 w (in, [C][KH][KW]), 2 dx (in/out).
// Push (conv.glsl): off0..off2 element offsets of dy, w, dx; total; e0 =
// ceil(C/4) channel quads, e1 = row groups, e2 = first row class, e3 = first
// column class (below).
// Spec: 0 WG, 1 TPQ, 2 TRQ, 3 KH, 4 KW, 5 SH, 6 SW, 7 VW (the w offset
// 4-aligned), 8 ACC. Requires C % 4 == 0 and 4-aligned dy and dx offsets;
// the launcher sends other shapes to conv_dw_bwd_data.
// Mapping: input rows are taken in classes r of SH rows, iy = SH*r - ph + b
// (b < SH), so that iy + ph - ky = SH*r + (b - ky): whether tap ky reaches
// row b of a class, and from which dy row (r + floor((b-ky)/SH)), is a
// compile-time fact; columns likewise, in classes m of SW columns. One
// invocation per (channel quad, group of TRQ row classes, n), quad fastest;
// it loads its quad's weights once and walks its rows TPQ column classes
// (SW*TPQ columns) per step, loading each dy row it needs once per step as
// TPQ + ceil((KW-1)/SW) columns.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TPQ = 4u;
layout(constant_id = 2) const uint TRQ = 1u;
layout(constant_id = 3) const uint KH = 3u;
layout(constant_id = 4) const uint KW = 3u;
layout(constant_id = 5) const uint SH = 1u;
layout(constant_id = 6) const uint SW = 1u;
layout(constant_id = 7) const bool VW = false;
layout(constant_id = 8) const bool ACC = false;
#include "conv.glsl"

IN_TENSOR(0, DY);
IN_TENSOR(1, Wt);
INOUT_TENSOR(2, DX);

const uint KK = KH * KW;
const uint RB = SH * TRQ;                     // input rows per invocation
const uint CA = SW * TPQ;                     // input columns per step
const uint DH = (KH - 1u + SH - 1u) / SH;     // dy rows above the classes' own
const uint DW = (KW - 1u + SW - 1u) / SW;
const uint NDR = TRQ + DH;                    // dy rows per step
const uint LD = TPQ + DW;                     // dy columns per step

// floor(a / s) and whether s divides a, for a > -s*KMAX (constants once unrolled)
int fdiv(int a, uint s) { return (a + int(s * (KH + KW))) / int(s) - int(KH + KW); }
bool divides(int a, uint s) { return (a + int(s * (KH + KW))) % int(s) == 0; }

void main() {
    uint id = LINEAR_ID;
    if (id >= p.total) return;
    uint q = id % p.e0, rr = id / p.e0;
    uint rg = rr % p.e1, n = rr / p.e1;
    uint c = q * 4u, C = p.cin;
    int r0 = int(p.e2 + rg * TRQ);

    vec4 wv[KK]; // the weights of tap ky*KW + kx for the 4 channels
    if (VW) {
        vec4 blk[KK];
        uint b = (p.off1 + c * KK) >> 2;
        [[unroll]] for (uint e = 0u; e < KK; e++) blk[e] = LD4(Wt, b + e);
        [[unroll]] for (uint e = 0u; e < KK; e++)
            [[unroll]] for (uint j = 0u; j < 4u; j++) wv[e][j] = blk[(j * KK + e) / 4u][(j * KK + e) % 4u];
    } else {
        [[unroll]] for (uint e = 0u; e < KK; e++)
            [[unroll]] for (uint j = 0u; j < 4u; j++) wv[e][j] = LD1(Wt, p.off1 + (c + j) * KK + e);
    }

    for (int m0 = int(p.e3); int(SW) * m0 - int(p.pw) < int(p.w); m0 += int(TPQ)) {
        vec4 acc[RB][CA];
        [[unroll]] for (uint b = 0u; b < RB; b++)
            [[unroll]] for (uint a = 0u; a < CA; a++) acc[b][a] = vec4(0.0);
        [[unroll]] for (uint dri = 0u; dri < NDR; dri++) {
            int dr = int(dri) - int(DH);
            int oy = r0 + dr;
            if (oy < 0 || oy >= int(p.oh)) continue;
            uint rowbase = p.off0 + (n * p.oh + uint(oy)) * p.ow * C;
            vec4 seg[LD];
            [[unroll]] for (uint s = 0u; s < LD; s++) {
                int ox = m0 + int(s) - int(DW);
                vec4 v = LD4(DY, (rowbase + uint(clamp(ox, 0, int(p.ow) - 1)) * C + c) >> 2);
                seg[s] = ox >= 0 && ox < int(p.ow) ? v : vec4(0.0);
            }
            [[unroll]] for (uint b = 0u; b < RB; b++)
                [[unroll]] for (uint ky = 0u; ky < KH; ky++) {
                    int db = int(b) - int(ky);
                    if (divides(db, SH) && fdiv(db, SH) == dr) {
                        [[unroll]] for (uint a = 0u; a < CA; a++)
                            [[unroll]] for (uint kx = 0u; kx < KW; kx++) {
                                int da = int(a) - int(kx);
                                if (divides(da, SW)) acc[b][a] += seg[fdiv(da, SW) + int(DW)] * wv[ky * KW + kx];
                            }
                    }
                }
        }
        [[unroll]] for (uint b = 0u; b < RB; b++) {
            int iy = int(SH) * r0 - int(p.ph) + int(b);
            if (iy < 0 || iy >= int(p.h)) continue;
            uint rowbase = p.off2 + (n * p.h + uint(iy)) * p.w * C + c;
            [[unroll]] for (uint a = 0u; a < CA; a++) {
                int ix = int(SW) * m0 - int(p.pw) + int(a);
                if (ix < 0 || ix >= int(p.w)) continue;
                uint xi = (rowbase + uint(ix) * C) >> 2;
                vec4 v = acc[b][a];
                if (ACC) v += RD4(DX, xi);
                ST4(DX, xi, v);
            }
        }
    }
}
