#version 450
// pool_max_bwd: gradient of max pooling as a gather, without atomics, from
// the position of every window's first maximum (rows, then columns; PyTorch's
// rule), found by pool_fwd's ARG variant in the backward's first dispatch:
//   dx[n,iy,ix,c] (+)= sum over the windows (oy, ox) containing (iy, ix)
//   whose maximum is at (iy, ix) of dy[n,oy,ox,c].
// Finding each window's maximum once, rather than once per element of the
// window as a gather from x alone must, reads x once per window element
// instead of KH*KW times: at 3x3 stride 1, 9 vec4 loads per output instead
// of ~90 per input, and straight-line work in place of nested loops whose
// trip counts differ between the lanes of a SIMD group.
// Window geometry as in pool_fwd (clipped; padding never wins).
// Bindings: 0 at (in: N x OH x OW x quads vec4s, each channel's maximum as
// its position (iy - y0) * KW + (ix - x0) in the unclipped window), 1 dy
// (in), 2 dx (in/out).
// Push: geometry; vec4 offset of at, element offsets of dy, dx; quads =
// ceil(C/4); fastdiv.glsl's terms for quads, W, H, SH and SW. One invocation per (n, iy, ix, quad of 4 channels), quads
// fastest, folded linear grid. Spec constants: 0 workgroup size, 1 ACCUM,
// 2 VEC (C % 4 == 0, dy and dx offsets 4-aligned), 3 SX, 4 KWS, 5 SWS:
// strips as in pool_fwd. With SX > 1 an invocation computes SX neighbouring
// elements of a row of dx (ix = strip * SX + s) for window width KWS and
// stride SWS fixed at build time, and loads the positions and dy of each
// row of the windows that hold any of them once, at most NW of them (below),
// where one element per invocation loads KW / SW windows each. An element
// sums its windows in the same order either way (rows, then columns). The
// grid's pixels are then (n, iy, strip), strips = ceil(W / SX).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"
#include "fastdiv.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUM = false;
layout(constant_id = 2) const bool VEC = false;
layout(constant_id = 3) const uint SX = 1u;
layout(constant_id = 4) const uint KWS = 1u;
layout(constant_id = 5) const uint SWS = 1u;
// the windows of a strip: SX + KWS - 2 columns of window starts, every SWS-th
const uint NW = (SX + KWS - 2u) / SWS + 1u;

IN_TENSOR(0, at);
IN_TENSOR(1, dy);
INOUT_TENSOR(2, dx);
layout(push_constant) uniform P {
    uint n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, atoff, dyoff, dxoff, quads;
    uint quads_m, quads_s, w_m, w_s, h_m, h_s, sh_m, sh_s, sw_m, sw_s; // fastdiv.glsl's divisors (w: strips with SX > 1)
} p;

vec4 load_dy(uint i, uint nv) {
    if (VEC) return LD4(dy, i >> 2);
    vec4 v = vec4(0.0);
    [[unroll]] for (uint j = 0u; j < 4u; j++)
        if (j < nv) v[j] = LD1(dy, i + j);
    return v;
}

uint first_window(uint i, uint k, uint s, uint pad, uint s_m, uint s_s) {
    int a = int(i + pad) - int(k) + 1;
    return a <= 0 ? 0u : fdiv(uint(a) + s - 1u, s_m, s_s);
}

void store_dx(uint pix, uint c, uint nv, vec4 g) {
    uint o = p.dxoff + pix * p.c + c;
    if (VEC) {
        if (ACCUM) g += RD4(dx, o >> 2);
        ST4(dx, o >> 2, g);
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (j < nv) ST1(dx, o + j, ACCUM ? RD1(dx, o + j) + g[j] : g[j]);
    }
}

// SX elements (n, iy, ix0 + s) of a row of dx; see the header.
void strip(uint pix, uint q) {
    uint strips = (p.w + SX - 1u) / SX;
    if (pix >= p.n * p.h * strips) return;
    uint t = fdiv(pix, p.w_m, p.w_s), ix0 = (pix - t * strips) * SX;
    uint n = fdiv(t, p.h_m, p.h_s), iy = t - n * p.h;
    uint c = q * 4u, nv = min(4u, p.c - c);
    uint oy0 = first_window(iy, p.kh, p.sh, p.ph, p.sh_m, p.sh_s), oy1 = min(fdiv(iy + p.ph, p.sh_m, p.sh_s) + 1u, p.oh);
    // the windows holding any of the strip's elements: oxa <= ox < oxb
    uint oxa = first_window(ix0, KWS, SWS, p.pw, p.sw_m, p.sw_s);
    uint oxb = min(fdiv(ix0 + SX - 1u + p.pw, p.sw_m, p.sw_s) + 1u, p.ow);
    // element s's position in window oxa + w's columns: r0 + s - w * SWS
    int r0 = int(ix0 + p.pw) - int(oxa * SWS);

    vec4 g[SX];
    [[unroll]] for (uint s = 0u; s < SX; s++) g[s] = vec4(0.0);
    for (uint oy = oy0; oy < oy1; oy++) {
        float ry = float((iy + p.ph - oy * p.sh) * KWS);
        uint orow = (n * p.oh + oy) * p.ow;
        vec4 a[NW], d[NW];
        [[unroll]] for (uint w = 0u; w < NW; w++) {
            a[w] = vec4(-1.0); // matches no position
            d[w] = vec4(0.0);
            uint ox = oxa + w;
            if (ox < oxb) {
                a[w] = LD4(at, p.atoff + (orow + ox) * p.quads + q);
                d[w] = load_dy(p.dyoff + (orow + ox) * p.c + c, nv);
            }
        }
        [[unroll]] for (uint s = 0u; s < SX; s++)
            [[unroll]] for (uint w = 0u; w < NW; w++) {
                int r = r0 + int(s) - int(w * SWS);
                bvec4 mine = r >= 0 && r < int(KWS) ? equal(a[w], vec4(ry + float(r))) : bvec4(false);
                // a select, not a product: 0 * inf in dy of a lost window must not leak
                g[s] = mix(g[s], g[s] + d[w], mine);
            }
    }
    [[unroll]] for (uint s = 0u; s < SX; s++) {
        if (ix0 + s >= p.w) break;
        store_dx((n * p.h + iy) * p.w + ix0 + s, c, nv, g[s]);
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
    if (pix >= p.n * p.h * p.w) return;
    uint t = fdiv(pix, p.w_m, p.w_s), ix = pix - t * p.w;
    uint n = fdiv(t, p.h_m, p.h_s), iy = t - n * p.h;
    uint c = q * 4u, nv = min(4u, p.c - c);
    uint oy0 = first_window(iy, p.kh, p.sh, p.ph, p.sh_m, p.sh_s), oy1 = min(fdiv(iy + p.ph, p.sh_m, p.sh_s) + 1u, p.oh);
    uint ox0 = first_window(ix, p.kw, p.sw, p.pw, p.sw_m, p.sw_s), ox1 = min(fdiv(ix + p.pw, p.sw_m, p.sw_s) + 1u, p.ow);

    vec4 g = vec4(0.0);
    for (uint oy = oy0; oy < oy1; oy++) {
        // this element's position in the window's rows: iy - (oy*SH - PH)
        uint ry = (iy + p.ph - oy * p.sh) * p.kw;
        uint orow = (n * p.oh + oy) * p.ow;
        for (uint ox = ox0; ox < ox1; ox++) {
            float me = float(ry + ix + p.pw - ox * p.sw);
            vec4 a = LD4(at, p.atoff + (orow + ox) * p.quads + q);
            // a select, not a product: 0 * inf in dy of a lost window must not leak
            g += mix(vec4(0.0), load_dy(p.dyoff + (orow + ox) * p.c + c, nv), equal(a, vec4(me)));
        }
    }

    store_dx(pix, c, nv, g);
}
