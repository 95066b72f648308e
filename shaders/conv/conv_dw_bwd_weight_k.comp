#version 450
// conv_dw_bwd_weight_k: depthwise convolution, gradient of the weights, with
// the kernel shape fixed when the pipeline is created (KH, KW, SH, SW
// specialization constants, tap loops unrolled); first (or only) pass of a
// deterministic two-pass reduction over output rows:
//   out[s][c][ky][kx] = sum over output rows (n, oy) of chunk s, and ox, of
//     dy[n][oy][ox][c] * x[n][oy*SH-ph+ky][ox*SW-pw+kx][c]
// With one chunk `out` is dw itself (ACC: += instead of =); with several
// (REDUCE) the chunks' partials go to binding 3 and the last chunk to finish
// sums them into dw (chunk_reduce.glsl).
// Bindings: 0 x (in), 1 dy (in), 2 out = dw (in/out), 3 partials, 4 counters.
// Push (conv.glsl): off0..off3 element offsets of x, dy, out, partials; total;
// e0 = ceil(C/4) channel quads, e2 = output rows per chunk, e3 the counters.
// Spec: 0 WG, 1 TP (outputs per step), 2 KH, 3 KW, 4 SH, 5 SW, 6 ACC, 7 XF,
// 8 XACT, 9 XV (a batch norm fused into x's loads, bn_load.glsl: bindings
// 5-8), 10 TRW (output rows per block, below), 11 REDUCE.
// Requires C % 4 == 0 and 4-aligned x and dy offsets; the launcher sends
// other shapes to conv_dw_bwd_weight.
// Mapping: one invocation per (channel quad, chunk), quad fastest, holding
// all KH*KW sums of its quad; it walks its rows in blocks of TRW output rows
// of one image, and per step loads TRW*TP dy values and, for each of the
// (TRW-1)*SH + KH input rows the block reaches, (TP-1)*SW + KW x values
// (TRW 1: KH rows per output row). Each sum takes its terms in the order
// (step, input row, output row, tap, output), so TRW is part of the result's
// rounding.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TP = 8u;
layout(constant_id = 2) const uint KH = 3u;
layout(constant_id = 3) const uint KW = 3u;
layout(constant_id = 4) const uint SH = 1u;
layout(constant_id = 5) const uint SW = 1u;
layout(constant_id = 6) const bool ACC = false;
layout(constant_id = 7) const bool XF = false;
layout(constant_id = 8) const uint XACT = 0u;
layout(constant_id = 9) const bool XV = false;
layout(constant_id = 10) const uint TRW = 1u;
layout(constant_id = 11) const bool REDUCE = false;
#include "conv.glsl"
#include "chunk_reduce.glsl"
#define XF_BINDING 5
#include "bn_load.glsl"

IN_TENSOR(0, X);
IN_TENSOR(1, DY);
INOUT_TENSOR(2, OUT);

const uint KK = KH * KW;
const uint L = (TP - 1u) * SW + KW;
const uint NR = (TRW - 1u) * SH + KH; // the input rows of a block of TRW output rows

void main() {
    uint id = LINEAR_ID, chunks = (p.n * p.oh + p.e2 - 1u) / p.e2;
    bool valid = true;
    if (REDUCE) {
        if (!chunk_id(p.e0, chunks, id, valid)) return;
    } else if (id >= p.total) {
        return;
    }
    uint q = id % p.e0, chunk = id / p.e0;
    uint c = q * 4u, C = p.cin;
    bn_quad f = bn_quad_at(c); // the fused BN's terms of the quad (XF)

    vec4 acc[KK];
    [[unroll]] for (uint e = 0u; e < KK; e++) acc[e] = vec4(0.0);

    uint r0 = chunk * p.e2, r1 = min(r0 + p.e2, p.n * p.oh);
    if (!valid) r1 = r0; // padding lanes: no work (they still reach chunk_last)
    uint n = r0 / p.oh, oy = r0 % p.oh;
    // blocks of up to TRW output rows of one image: each input row a block
    // reaches is loaded once per step for all the block's rows (tap ky = u -
    // i*SH of output row i, known at compile time), where a row at a time
    // loads it for each of the KH / SH rows it reaches
    for (uint row = r0; row < r1;) {
        uint b = min(min(TRW, r1 - row), p.oh - oy);
        for (uint ox0 = 0u; ox0 < p.ow; ox0 += TP) {
            vec4 d[TRW][TP];
            [[unroll]] for (uint i = 0u; i < TRW; i++)
                [[unroll]] for (uint t = 0u; t < TP; t++) {
                    uint ox = ox0 + t;
                    d[i][t] = vec4(0.0);
                    if (i < b) {
                        vec4 v = LD4(DY, (p.off1 + ((row + i) * p.ow + min(ox, p.ow - 1u)) * C + c) >> 2);
                        d[i][t] = ox < p.ow ? v : vec4(0.0);
                    }
                }
            [[unroll]] for (uint u = 0u; u < NR; u++) {
                int iy = int(oy * SH + u) - int(p.ph);
                if (u >= (b - 1u) * SH + KH || iy < 0 || iy >= int(p.h)) continue;
                uint xrow = p.off0 + (n * p.h + uint(iy)) * p.w * C;
                vec4 xs[L];
                [[unroll]] for (uint s = 0u; s < L; s++) {
                    int ix = int(ox0 * SW + s) - int(p.pw);
                    vec4 v = LD4(X, (xrow + uint(clamp(ix, 0, int(p.w) - 1)) * C + c) >> 2);
                    xs[s] = ix >= 0 && ix < int(p.w) ? bn_apply4(f, v) : vec4(0.0);
                }
                [[unroll]] for (uint i = 0u; i < TRW; i++) {
                    if (u < i * SH || u - i * SH >= KH || i >= b) continue;
                    uint ky = u - i * SH;
                    [[unroll]] for (uint kx = 0u; kx < KW; kx++)
                        [[unroll]] for (uint t = 0u; t < TP; t++) acc[ky * KW + kx] += d[i][t] * xs[t * SW + kx];
                }
            }
        }
        row += b, oy += b;
        if (oy == p.oh) {
            oy = 0u;
            n++;
        }
    }

    if (REDUCE) {
        // A lane's KK taps of its 4 channels are the 4*KK consecutive
        // elements from c*KK ([j][e]): written and merged as KK vec4s (C % 4
        // == 0; the launcher keeps the partials' offset a multiple of 4).
        if (valid)
            [[unroll]] for (uint m = 0u; m < KK; m++) {
                vec4 v;
                [[unroll]] for (uint t = 0u; t < 4u; t++) v[t] = acc[(4u * m + t) % KK][(4u * m + t) / KK];
                Part[(p.off3 + chunk * C * KK + c * KK + 4u * m) >> 2] = v;
            }
        if (!chunk_last(p.e0, chunks) || !valid) return;
        for (uint m = 0u; m < KK; m++) {
            vec4 v = chunk_sum4(c * KK + 4u * m, C * KK, chunks);
            [[unroll]] for (uint t = 0u; t < 4u; t++) {
                uint o = p.off2 + c * KK + 4u * m + t;
                float r = v[t];
                if (ACC) r += RD1(OUT, o);
                ST1(OUT, o, r);
            }
        }
        return;
    }
    uint base = p.off2 + chunk * C * KK;
    [[unroll]] for (uint j = 0u; j < 4u; j++)
        [[unroll]] for (uint e = 0u; e < KK; e++) {
                uint o = base + (c + j) * KK + e;
                float v = acc[e][j];
                if (ACC) v += RD1(OUT, o);
                ST1(OUT, o, v);
            }
}
