#version 450
// pool_fwd: 2-D average or max pooling over NHWC activations (also global
// average pooling: the window is the whole image).
//   window of output (oy, ox): rows oy*SH - PH + ky (ky < KH), columns
//   ox*SW - PW + kx (kx < KW), clipped to the image (the launcher guarantees
//   2*pad <= kernel, so no window is empty).
//   average: sum over the clipped window / its element count
//            (count_include_pad = false);
//   max:     maximum over the clipped window (padding never wins).
// Bindings: 0 x (in, N x H x W x C), 1 y (out, N x OH x OW x C).
// Push: geometry, element offsets of x and y, quads = ceil(C/4).
// One invocation per (n, oy, ox, quad of 4 channels), quads fastest, on a
// folded linear grid. Spec constants: 0 workgroup size, 1 MAX (else average),
// 2 VEC (C % 4 == 0 and both offsets 4-aligned: vec4 loads/stores).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool MAX = false;
layout(constant_id = 2) const bool VEC = false;

IN_TENSOR(0, x);
OUT_TENSOR(1, y);
layout(push_constant) uniform P { uint n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, xoff, yoff, quads; } p;

// Channels c..c+3 at element index i (channel c of a pixel); nv of them exist.
vec4 load_x(uint i, uint nv) {
    if (VEC) return LD4(x, i >> 2);
    vec4 v = vec4(0.0);
    [[unroll]] for (uint j = 0u; j < 4u; j++)
        if (j < nv) v[j] = LD1(x, i + j);
    return v;
}

void main() {
    uint id = LINEAR_ID;
    uint q = id % p.quads, pix = id / p.quads;
    if (pix >= p.n * p.oh * p.ow) return;
    uint ox = pix % p.ow, t = pix / p.ow;
    uint oy = t % p.oh, n = t / p.oh;
    uint c = q * 4u, nv = min(4u, p.c - c);
    int y0 = int(oy * p.sh) - int(p.ph), x0 = int(ox * p.sw) - int(p.pw);
    uint ys = uint(max(y0, 0)), ye = uint(min(y0 + int(p.kh), int(p.h)));
    uint xs = uint(max(x0, 0)), xe = uint(min(x0 + int(p.kw), int(p.w)));
    uint img = p.xoff + n * p.h * p.w * p.c + c;

    vec4 acc = MAX ? load_x(img + (ys * p.w + xs) * p.c, nv) : vec4(0.0);
    for (uint iy = ys; iy < ye; iy++)
        for (uint ix = xs; ix < xe; ix++) {
            vec4 v = load_x(img + (iy * p.w + ix) * p.c, nv);
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
