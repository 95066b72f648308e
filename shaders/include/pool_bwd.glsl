// What pool_max_bwd and pool_avg_bwd share: the window geometry of a dx
// element or of a strip of SX of them, dy's loads and dx's stores.
// The including shader declares first: the spec constants ACCUM, VEC, SX, KWS
// and SWS; tensors dy and dx; and the push block p with the fields n, h, w,
// c, oh, ow, kh, kw, sh, sw, ph, pw, dxoff, quads and fastdiv.glsl's terms
// quads_m/_s, w_m/_s, h_m/_s, sh_m/_s and sw_m/_s (w: strips with SX > 1).
#ifndef ASVK_POOL_BWD_GLSL
#define ASVK_POOL_BWD_GLSL

#include "fastdiv.glsl"

// the windows of a strip: SX + KWS - 2 columns of window starts, every SWS-th
const uint NW = (SX + KWS - 2u) / SWS + 1u;

vec4 load_dy(uint i, uint nv) {
    if (VEC) return LD4(dy, i >> 2);
    vec4 v = vec4(0.0);
    [[unroll]] for (uint j = 0u; j < 4u; j++)
        if (j < nv) v[j] = LD1(dy, i + j);
    return v;
}

// First output index o along one axis whose window [o*s - pad, o*s - pad + k) contains i.
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

// One dx element (n, iy, ix) and channel quad q of invocation `id` (quads
// fastest), and the windows holding it: oy0 <= oy < oy1, ox0 <= ox < ox1.
// False past the tensor's end.
struct pool_elem { uint pix, n, iy, ix, q, c, nv, oy0, oy1, ox0, ox1; };
bool elem_of(uint id, out pool_elem e) {
    e.pix = fdiv(id, p.quads_m, p.quads_s), e.q = id - e.pix * p.quads;
    if (e.pix >= p.n * p.h * p.w) return false;
    uint t = fdiv(e.pix, p.w_m, p.w_s);
    e.ix = e.pix - t * p.w;
    e.n = fdiv(t, p.h_m, p.h_s), e.iy = t - e.n * p.h;
    e.c = e.q * 4u, e.nv = min(4u, p.c - e.c);
    e.oy0 = first_window(e.iy, p.kh, p.sh, p.ph, p.sh_m, p.sh_s), e.oy1 = min(fdiv(e.iy + p.ph, p.sh_m, p.sh_s) + 1u, p.oh);
    e.ox0 = first_window(e.ix, p.kw, p.sw, p.pw, p.sw_m, p.sw_s), e.ox1 = min(fdiv(e.ix + p.pw, p.sw_m, p.sw_s) + 1u, p.ow);
    return true;
}

// A strip of SX elements (n, iy, ix0 + s) of a row of dx and channel quad q
// of invocation `id`: the window rows oy0 <= oy < oy1 and the windows holding
// any of its elements, oxa <= ox < oxb (at most NW); element s sits at column
// r0 + s - w * SWS of window oxa + w. False past the tensor's end.
struct pool_strip { uint n, iy, ix0, q, c, nv, oy0, oy1, oxa, oxb; int r0; };
bool strip_of(uint id, out pool_strip e) {
    uint pix = fdiv(id, p.quads_m, p.quads_s), strips = (p.w + SX - 1u) / SX;
    e.q = id - pix * p.quads;
    if (pix >= p.n * p.h * strips) return false;
    uint t = fdiv(pix, p.w_m, p.w_s);
    e.ix0 = (pix - t * strips) * SX;
    e.n = fdiv(t, p.h_m, p.h_s), e.iy = t - e.n * p.h;
    e.c = e.q * 4u, e.nv = min(4u, p.c - e.c);
    e.oy0 = first_window(e.iy, p.kh, p.sh, p.ph, p.sh_m, p.sh_s), e.oy1 = min(fdiv(e.iy + p.ph, p.sh_m, p.sh_s) + 1u, p.oh);
    e.oxa = first_window(e.ix0, KWS, SWS, p.pw, p.sw_m, p.sw_s);
    e.oxb = min(fdiv(e.ix0 + SX - 1u + p.pw, p.sw_m, p.sw_s) + 1u, p.ow);
    e.r0 = int(e.ix0 + p.pw) - int(e.oxa * SWS);
    return true;
}

// The strip's SX sums to dx, the elements inside the row.
void store_strip(pool_strip e, vec4 g[SX]) {
    [[unroll]] for (uint s = 0u; s < SX; s++) {
        if (e.ix0 + s >= p.w) break;
        store_dx((e.n * p.h + e.iy) * p.w + e.ix0 + s, e.c, e.nv, g[s]);
    }
}

#endif
