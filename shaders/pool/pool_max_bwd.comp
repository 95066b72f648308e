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

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUM = false;
layout(constant_id = 2) const bool VEC = false;
layout(constant_id = 3) const uint SX = 1u;
layout(constant_id = 4) const uint KWS = 1u;
layout(constant_id = 5) const uint SWS = 1u;

IN_TENSOR(0, at);
IN_TENSOR(1, dy);
INOUT_TENSOR(2, dx);
layout(push_constant) uniform P {
    uint n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, atoff, dyoff, dxoff, quads;
    uint quads_m, quads_s, w_m, w_s, h_m, h_s, sh_m, sh_s, sw_m, sw_s; // fastdiv.glsl's divisors (w: strips with SX > 1)
} p;

#include "pool_bwd.glsl"

// SX elements (n, iy, ix0 + s) of a row of dx; see the header.
void strip(pool_strip e) {
    vec4 g[SX];
    [[unroll]] for (uint s = 0u; s < SX; s++) g[s] = vec4(0.0);
    for (uint oy = e.oy0; oy < e.oy1; oy++) {
        float ry = float((e.iy + p.ph - oy * p.sh) * KWS);
        uint orow = (e.n * p.oh + oy) * p.ow;
        vec4 a[NW], d[NW];
        [[unroll]] for (uint w = 0u; w < NW; w++) {
            a[w] = vec4(-1.0); // matches no position
            d[w] = vec4(0.0);
            uint ox = e.oxa + w;
            if (ox < e.oxb) {
                a[w] = LD4(at, p.atoff + (orow + ox) * p.quads + e.q);
                d[w] = load_dy(p.dyoff + (orow + ox) * p.c + e.c, e.nv);
            }
        }
        [[unroll]] for (uint s = 0u; s < SX; s++)
            [[unroll]] for (uint w = 0u; w < NW; w++) {
                int r = e.r0 + int(s) - int(w * SWS);
                bvec4 mine = r >= 0 && r < int(KWS) ? equal(a[w], vec4(ry + float(r))) : bvec4(false);
                // a select, not a product: 0 * inf in dy of a lost window must not leak
                g[s] = mix(g[s], g[s] + d[w], mine);
            }
    }
    store_strip(e, g);
}

void main() {
    if (SX > 1u) {
        pool_strip e;
        if (strip_of(LINEAR_ID, e)) strip(e);
        return;
    }
    pool_elem e;
    if (!elem_of(LINEAR_ID, e)) return;
    vec4 g = vec4(0.0);
    for (uint oy = e.oy0; oy < e.oy1; oy++) {
        // this element's position in the window's rows: iy - (oy*SH - PH)
        uint ry = (e.iy + p.ph - oy * p.sh) * p.kw;
        uint orow = (e.n * p.oh + oy) * p.ow;
        for (uint ox = e.ox0; ox < e.ox1; ox++) {
            float me = float(ry + e.ix + p.pw - ox * p.sw);
            vec4 a = LD4(at, p.atoff + (orow + ox) * p.quads + e.q);
            // a select, not a product: 0 * inf in dy of a lost window must not leak
            g += mix(vec4(0.0), load_dy(p.dyoff + (orow + ox) * p.c + e.c, e.nv), equal(a, vec4(me)));
        }
    }
    store_dx(e.pix, e.c, e.nv, g);
}
