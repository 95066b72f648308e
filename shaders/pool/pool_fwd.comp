#version 450
// pool_fwd: 2-D average or max pooling over NHWC activations (also global
// average pooling: the window is the whole image).
//   window of output (oy, ox): rows oy*SH - PH + ky (ky < KH), columns
//   ox*SW - PW + kx (kx < KW), clipped to the image (the launcher guarantees
//   2*pad <= kernel, so no window is empty).
//   average: sum over the clipped window / its element count
//            (count_include_pad = false);
//   max:     maximum over the clipped window (padding never wins).
// Pooling may read x through a training batch norm's apply (XF: the BN fused
// into the pool that reads its output, runtime/ops/fuse_bn.c; bn_load.glsl):
// the BN's output is then never stored. With ARG (below) too: max pooling's
// backward finds the maxima of the BN's output the same way. Bindings: 0 x (in, N x H x W x C), 1 y (out, N x OH x OW x C),
// 2-5 the fused BN's gamma, beta, mean, invstd ([C]; XF only, any buffer
// otherwise). Push: geometry, element offsets of x and y, quads = ceil(C/4),
// the BN vectors' offsets, fastdiv.glsl's terms for quads, OW and OH. One invocation per (n, oy, ox, quad of 4
// channels), quads fastest, on a folded linear grid. Spec constants: 0
// workgroup size, 1 MAX (else average), 2 VEC (C % 4 == 0 and both offsets
// 4-aligned: vec4 loads/stores), 3 XF, 4 XACT (the BN's asvk_act), 5 XV (the
// BN vectors' offsets 4-aligned, with VEC), 6 ARG (with MAX: y receives each
// window's first maximum instead of its value, as its position in the
// unclipped window, (iy - y0) * KW + (ix - x0), a float per channel in a vec4
// per (output pixel, quad): y is then N x OH x OW x quads vec4s from the
// 4-aligned offset yoff, whatever C. The first phase of max pooling's
// backward, pool_max_bwd the second), 7 SX, 8 KWS, 9 SWS (below).
// Strips (SX > 1): an invocation computes SX neighbouring outputs of a row
// (ox = strip * SX + s) for window width KWS and stride SWS fixed at build
// time, and loads each row of their windows' union once into registers,
// (SX - 1) * SWS + KWS vec4s, where one output per invocation loads SX * KWS:
// on lavapipe each load is a called texel fetch of ~40 instructions (8 lane
// loads and a transpose), which bounds these kernels. The outputs see their
// windows' elements in the same order as with SX = 1 (rows, then columns),
// so the sums and the first maxima are the same; a padded column is skipped.
// Then the grid's pixels are (n, oy, strip) with strips = ceil(OW / SX).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"
#include "fastdiv.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool MAX = false;
layout(constant_id = 2) const bool VEC = false;
layout(constant_id = 3) const bool XF = false;
layout(constant_id = 4) const uint XACT = 0u;
layout(constant_id = 5) const bool XV = false;
layout(constant_id = 6) const bool ARG = false;
layout(constant_id = 7) const uint SX = 1u;
layout(constant_id = 8) const uint KWS = 1u;
layout(constant_id = 9) const uint SWS = 1u;
const uint RW = (SX - 1u) * SWS + KWS; // a strip's columns

IN_TENSOR(0, x);
OUT_TENSOR(1, y);
layout(push_constant) uniform P {
    uint n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, xoff, yoff, quads, xg, xb, xm, xi;
    uint quads_m, quads_s, ow_m, ow_s, oh_m, oh_s; // fastdiv.glsl's divisors (ow: strips with SX > 1)
} p;
#define XF_BINDING 2
#include "bn_load.glsl"

// Channels c..c+3 at element index i (channel c of a pixel); nv of them exist.
vec4 load_x(uint i, uint nv) {
    if (VEC) return LD4(x, i >> 2);
    vec4 v = vec4(0.0);
    [[unroll]] for (uint j = 0u; j < 4u; j++)
        if (j < nv) v[j] = LD1(x, i + j);
    return v;
}

// SX outputs (n, oy, ox0 + s) of one row; see the header.
void strip(uint pix, uint q) {
    uint strips = (p.ow + SX - 1u) / SX;
    if (pix >= p.n * p.oh * strips) return;
    uint t = fdiv(pix, p.ow_m, p.ow_s), ox0 = (pix - t * strips) * SX;
    uint n = fdiv(t, p.oh_m, p.oh_s), oy = t - n * p.oh;
    uint c = q * 4u, nv = min(4u, p.c - c);
    int y0 = int(oy * p.sh) - int(p.ph), c0 = int(ox0 * SWS) - int(p.pw);
    uint ys = uint(max(y0, 0)), ye = uint(min(y0 + int(p.kh), int(p.h)));
    uint img = p.xoff + n * p.h * p.w * p.c + c;
    uint cl = p.c - 1u;
    bn_quad f = XV && VEC ? bn_quad_at(c) : bn_quad_of(min(c, cl), min(c + 1u, cl), min(c + 2u, cl), min(c + 3u, cl));

    // the first maximum starts at -inf (padding never wins, nor a later equal element), at the
    // window's first element in the image
    vec4 acc[SX], at[SX];
    [[unroll]] for (uint s = 0u; s < SX; s++) {
        int x0 = c0 + int(s * SWS);
        acc[s] = vec4(MAX ? uintBitsToFloat(0xff800000u) : 0.0);
        at[s] = vec4(float(uint(int(ys) - y0) * KWS + uint(max(x0, 0) - x0)));
    }
    for (uint iy = ys; iy < ye; iy++) {
        vec4 row[RW];
        bool inside[RW];
        [[unroll]] for (uint j = 0u; j < RW; j++) {
            int ix = c0 + int(j);
            inside[j] = ix >= 0 && ix < int(p.w);
            row[j] = vec4(0.0);
            if (inside[j]) row[j] = bn_apply4(f, load_x(img + (iy * p.w + uint(ix)) * p.c, nv));
        }
        float ry = float(uint(int(iy) - y0) * KWS);
        [[unroll]] for (uint s = 0u; s < SX; s++)
            [[unroll]] for (uint kx = 0u; kx < KWS; kx++) {
                uint j = s * SWS + kx;
                if (MAX && ARG) {
                    bvec4 gt = inside[j] ? greaterThan(row[j], acc[s]) : bvec4(false);
                    acc[s] = mix(acc[s], row[j], gt);
                    at[s] = mix(at[s], vec4(ry + float(kx)), gt);
                } else if (MAX) {
                    if (inside[j]) acc[s] = max(acc[s], row[j]);
                } else {
                    if (inside[j]) acc[s] += row[j];
                }
            }
    }
    [[unroll]] for (uint s = 0u; s < SX; s++) {
        uint ox = ox0 + s;
        if (ox >= p.ow) break;
        uint pix1 = (n * p.oh + oy) * p.ow + ox;
        if (MAX && ARG) {
            ST4(y, (p.yoff >> 2) + pix1 * p.quads + q, at[s]);
            continue;
        }
        vec4 v = acc[s];
        if (!MAX) {
            int x0 = c0 + int(s * SWS);
            v /= float((ye - ys) * uint(min(x0 + int(KWS), int(p.w)) - max(x0, 0)));
        }
        uint o = p.yoff + pix1 * p.c + c;
        if (VEC) {
            ST4(y, o >> 2, v);
        } else {
            [[unroll]] for (uint j = 0u; j < 4u; j++)
                if (j < nv) ST1(y, o + j, v[j]);
        }
    }
}

void main() {
    uint id = LINEAR_ID;
    if (SX > 1u) {
        uint pix = fdiv(id, p.quads_m, p.quads_s);
        strip(pix, id - pix * p.quads);
        return;
    }
    uint pix = fdiv(id, p.quads_m, p.quads_s), q = id - pix * p.quads;
    if (pix >= p.n * p.oh * p.ow) return;
    uint t = fdiv(pix, p.ow_m, p.ow_s), ox = pix - t * p.ow;
    uint n = fdiv(t, p.oh_m, p.oh_s), oy = t - n * p.oh;
    uint c = q * 4u, nv = min(4u, p.c - c);
    int y0 = int(oy * p.sh) - int(p.ph), x0 = int(ox * p.sw) - int(p.pw);
    uint ys = uint(max(y0, 0)), ye = uint(min(y0 + int(p.kh), int(p.h)));
    uint xs = uint(max(x0, 0)), xe = uint(min(x0 + int(p.kw), int(p.w)));
    uint img = p.xoff + n * p.h * p.w * p.c + c;
    // the fused BN's terms of these channels (a ragged quad clamps its missing ones)
    uint cl = p.c - 1u;
    bn_quad f = XV && VEC ? bn_quad_at(c) : bn_quad_of(min(c, cl), min(c + 1u, cl), min(c + 2u, cl), min(c + 3u, cl));

    vec4 acc = MAX ? bn_apply4(f, load_x(img + (ys * p.w + xs) * p.c, nv)) : vec4(0.0);
    if (MAX && ARG) {
        // the first maximum in scan order (rows, then columns; PyTorch's rule): a later element
        // replaces it only when greater
        vec4 at = vec4(float(uint(int(ys) - y0) * p.kw + uint(int(xs) - x0)));
        for (uint iy = ys; iy < ye; iy++)
            for (uint ix = xs; ix < xe; ix++) {
                vec4 v = bn_apply4(f, load_x(img + (iy * p.w + ix) * p.c, nv));
                bvec4 gt = greaterThan(v, acc);
                acc = mix(acc, v, gt);
                at = mix(at, vec4(float(uint(int(iy) - y0) * p.kw + uint(int(ix) - x0))), gt);
            }
        ST4(y, (p.yoff >> 2) + pix * p.quads + q, at);
        return;
    }
    for (uint iy = ys; iy < ye; iy++)
        for (uint ix = xs; ix < xe; ix++) {
            vec4 v = bn_apply4(f, load_x(img + (iy * p.w + ix) * p.c, nv));
            acc = MAX ? max(acc, v) : acc + v;
        }
    if (!MAX) acc /= float((ye - ys) * (xe - xs));

    uint o = p.yoff + pix * p.c + c;
    if (VEC) {
        ST4(y, o >> 2, acc);
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (j < nv) ST1(y, o + j, acc[j]);
    }
}
