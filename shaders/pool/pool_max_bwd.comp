#version 450
// pool_max_bwd: gradient of max pooling as a gather, without atomics or an
// index tensor: the argmax of every window is recomputed from x.
//   dx[n,iy,ix,c] (+)= sum over the windows (oy, ox) containing (iy, ix)
//   whose argmax is (iy, ix) of dy[n,oy,ox,c].
// The argmax of a window is its first maximum in scan order (rows, then
// columns; PyTorch's rule): (iy, ix) is it iff every element scanned before
// it is < x[iy,ix] and every element scanned after it is <= x[iy,ix].
// Window geometry as in pool_fwd (clipped; padding never wins).
// Bindings: 0 x (in), 1 dy (in), 2 dx (in/out).
// Push: geometry; element offsets of x, dy, dx; quads = ceil(C/4).
// One invocation per (n, iy, ix, quad of 4 channels), quads fastest, folded
// linear grid. Spec constants: 0 workgroup size, 1 ACCUM, 2 VEC (C % 4 == 0,
// all offsets 4-aligned).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUM = false;
layout(constant_id = 2) const bool VEC = false;

IN_TENSOR(0, x);
IN_TENSOR(1, dy);
INOUT_TENSOR(2, dx);
layout(push_constant) uniform P { uint n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, xoff, dyoff, dxoff, quads; } p;

vec4 load_x(uint i, uint nv) {
    if (VEC) return LD4(x, i >> 2);
    vec4 v = vec4(0.0);
    [[unroll]] for (uint j = 0u; j < 4u; j++)
        if (j < nv) v[j] = LD1(x, i + j);
    return v;
}

vec4 load_dy(uint i, uint nv) {
    if (VEC) return LD4(dy, i >> 2);
    vec4 v = vec4(0.0);
    [[unroll]] for (uint j = 0u; j < 4u; j++)
        if (j < nv) v[j] = LD1(dy, i + j);
    return v;
}

uint first_window(uint i, uint k, uint s, uint pad) {
    int a = int(i + pad) - int(k) + 1;
    return a <= 0 ? 0u : (uint(a) + s - 1u) / s;
}

void main() {
    uint id = LINEAR_ID;
    uint q = id % p.quads, pix = id / p.quads;
    if (pix >= p.n * p.h * p.w) return;
    uint ix = pix % p.w, t = pix / p.w;
    uint iy = t % p.h, n = t / p.h;
    uint c = q * 4u, nv = min(4u, p.c - c);
    uint oy0 = first_window(iy, p.kh, p.sh, p.ph), oy1 = min((iy + p.ph) / p.sh + 1u, p.oh);
    uint ox0 = first_window(ix, p.kw, p.sw, p.pw), ox1 = min((ix + p.pw) / p.sw + 1u, p.ow);
    uint img = p.xoff + n * p.h * p.w * p.c + c;
    uint me = iy * p.w + ix;
    vec4 xm = load_x(img + me * p.c, nv);

    vec4 g = vec4(0.0);
    for (uint oy = oy0; oy < oy1; oy++) {
        int y0 = int(oy * p.sh) - int(p.ph);
        uint ys = uint(max(y0, 0)), ye = uint(min(y0 + int(p.kh), int(p.h)));
        for (uint ox = ox0; ox < ox1; ox++) {
            int x0 = int(ox * p.sw) - int(p.pw);
            uint xs = uint(max(x0, 0)), xe = uint(min(x0 + int(p.kw), int(p.w)));
            vec4 win = vec4(1.0); // 1 while (iy, ix) can still be this window's argmax
            for (uint yy = ys; yy < ye; yy++)
                for (uint xx = xs; xx < xe; xx++) {
                    uint e = yy * p.w + xx;
                    if (e == me) continue;
                    vec4 v = load_x(img + e * p.c, nv);
                    win *= vec4(e < me ? lessThan(v, xm) : lessThanEqual(v, xm));
                }
            // a select, not a product: 0 * inf in dy of a lost window must not leak
            g += mix(vec4(0.0), load_dy(p.dyoff + ((n * p.oh + oy) * p.ow + ox) * p.c + c, nv), greaterThan(win, vec4(0.5)));
        }
    }

    uint o = p.dxoff + pix * p.c + c;
    if (VEC) {
        if (ACCUM) g += RD4(dx, o >> 2);
        ST4(dx, o >> 2, g);
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (j < nv) ST1(dx, o + j, ACCUM ? RD1(dx, o + j) + g[j] : g[j]);
    }
}
