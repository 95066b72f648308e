#version 450
// conv_dw_bwd_weight: depthwise convolution, gradient of the weights, first
// (or only) pass of a deterministic two-pass reduction over pixels:
//   out[s][c][ky][kx] = sum over output rows (n, oy) of chunk s, and ox, of
//     dy[n][oy][ox][c] * x[n][oy*sh-ph+ky][ox*sw-pw+kx][c]
// With one chunk `out` is dw itself (ACC: += instead of =); with several
// (REDUCE) the chunks' partials go to binding 3 and the last chunk to finish
// sums them into dw (chunk_reduce.glsl).
// Bindings: 0 x (in), 1 dy (in), 2 out = dw (in/out), 3 partials, 4 counters.
// Push (conv.glsl): off0..off3 element offsets of x, dy, out, partials; total;
// e0 = ceil(C/4) channel quads, e1 = windows per kernel row (residues x
// windows of NIB taps, conv.glsl), e2 = output rows per chunk, e3 the counters.
// Spec: 0 WG, 1 TP (consecutive outputs per step), 2 NIB, 3 VEC (C % 4 == 0
// and x, dy offsets 4-aligned), 4 ACC, 5 XF, 6 XACT, 7 XV (a batch norm fused
// into x's loads, bn_load.glsl: bindings 5-8), 8 REDUCE.
// Mapping: one invocation per (channel quad, window, ky, chunk), quad
// fastest; it accumulates NIB taps of row ky, walking its rows TP outputs at
// a time with TP dy values and TP + NIB - 1 x columns in registers.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TP = 4u;
layout(constant_id = 2) const uint NIB = 3u;
layout(constant_id = 3) const bool VEC = false;
layout(constant_id = 4) const bool ACC = false;
layout(constant_id = 5) const bool XF = false;
layout(constant_id = 6) const uint XACT = 0u;
layout(constant_id = 7) const bool XV = false;
layout(constant_id = 8) const bool REDUCE = false;
#include "conv.glsl"
#include "chunk_reduce.glsl"
#define XF_BINDING 5
#include "bn_load.glsl"

IN_TENSOR(0, X);
IN_TENSOR(1, DY);
INOUT_TENSOR(2, OUT);

const uint L = TP + NIB - 1u;

vec4 load(uint b, uint c, uint cl[4], bool dy) {
    if (VEC) return dy ? LD4(DY, (b + c) >> 2) : LD4(X, (b + c) >> 2);
    if (dy) return vec4(LD1(DY, b + cl[0]), LD1(DY, b + cl[1]), LD1(DY, b + cl[2]), LD1(DY, b + cl[3]));
    return vec4(LD1(X, b + cl[0]), LD1(X, b + cl[1]), LD1(X, b + cl[2]), LD1(X, b + cl[3]));
}

void main() {
    uint id = LINEAR_ID, chunks = (p.n * p.oh + p.e2 - 1u) / p.e2, per_chunk = p.e0 * p.e1 * p.kh;
    bool valid = true;
    if (REDUCE) {
        if (!chunk_id(per_chunk, chunks, id, valid)) return;
    } else if (id >= p.total) {
        return;
    }
    uint q = id % p.e0, r = id / p.e0;
    uint wi = r % p.e1;
    r /= p.e1;
    uint ky = r % p.kh, chunk = r / p.kh;
    uint nkr = min(p.sw, p.kw), kr = wi % nkr, i0 = (wi / nkr) * NIB;
    if (kr + p.sw * i0 >= p.kw) { // an empty window: no taps to write
        if (!REDUCE) return;
        valid = false; // REDUCE: every invocation reaches the group's barriers
    }
    uint c = q * 4u, C = p.cin, kk = p.kh * p.kw;
    uint cl[4];
    [[unroll]] for (uint j = 0u; j < 4u; j++) cl[j] = min(c + j, C - 1u);

    bn_quad f = XV ? bn_quad_at(c) : bn_quad_of(cl[0], cl[1], cl[2], cl[3]); // the fused BN's terms (XF)

    vec4 acc[NIB];
    [[unroll]] for (uint ii = 0u; ii < NIB; ii++) acc[ii] = vec4(0.0);

    uint r0 = chunk * p.e2, r1 = min(r0 + p.e2, p.n * p.oh);
    if (!valid) r1 = r0; // padding lanes: no work (they still reach chunk_last)
    for (uint row = r0; row < r1; row++) {
        uint n = row / p.oh, oy = row % p.oh;
        int iy = int(oy * p.sh + ky) - int(p.ph);
        if (iy < 0 || iy >= int(p.h)) continue;
        uint xrow = p.off0 + (n * p.h + uint(iy)) * p.w * C, dyrow = p.off1 + row * p.ow * C;
        for (uint ox0 = 0u; ox0 < p.ow; ox0 += TP) {
            vec4 d[TP], xs[L];
            [[unroll]] for (uint t = 0u; t < TP; t++) {
                uint ox = ox0 + t;
                vec4 v = load(dyrow + min(ox, p.ow - 1u) * C, c, cl, true);
                d[t] = ox < p.ow ? v : vec4(0.0);
            }
            [[unroll]] for (uint s = 0u; s < L; s++) {
                int ix = conv_in_col(ox0, i0, kr, s);
                vec4 v = load(xrow + uint(clamp(ix, 0, int(p.w) - 1)) * C, c, cl, false);
                xs[s] = ix >= 0 && ix < int(p.w) ? bn_apply4(f, v) : vec4(0.0);
            }
            [[unroll]] for (uint ii = 0u; ii < NIB; ii++)
                [[unroll]] for (uint t = 0u; t < TP; t++) acc[ii] += d[t] * xs[t + ii];
        }
    }

    if (REDUCE) {
        if (valid)
            [[unroll]] for (uint ii = 0u; ii < NIB; ii++) {
                uint kx = kr + p.sw * (i0 + ii);
                if (kx >= p.kw) break;
                [[unroll]] for (uint j = 0u; j < 4u; j++)
                    if (c + j < C) part_set(p.off3 + chunk * C * kk + (c + j) * kk + ky * p.kw + kx, acc[ii][j]);
            }
        if (!chunk_last(per_chunk, chunks) || !valid) return;
        [[unroll]] for (uint ii = 0u; ii < NIB; ii++) {
            uint kx = kr + p.sw * (i0 + ii);
            if (kx >= p.kw) break;
            [[unroll]] for (uint j = 0u; j < 4u; j++)
                if (c + j < C) {
                    uint o = (c + j) * kk + ky * p.kw + kx;
                    float v = chunk_sum(o, C * kk, chunks);
                    if (ACC) v += RD1(OUT, p.off2 + o);
                    ST1(OUT, p.off2 + o, v);
                }
        }
        return;
    }
    uint base = p.off2 + chunk * C * kk + ky * p.kw;
    [[unroll]] for (uint ii = 0u; ii < NIB; ii++) {
        uint kx = kr + p.sw * (i0 + ii);
        if (kx >= p.kw) break;
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (c + j < C) {
                uint o = base + (c + j) * kk + kx;
                float v = acc[ii][j];
                if (ACC) v += RD1(OUT, o);
                ST1(OUT, o, v);
            }
    }
}
