#version 450
// pool_avg_bwd: gradient of average pooling (count_include_pad = false),
// as a gather: dx[n,iy,ix,c] (+)= sum over the windows (oy, ox) that contain
// (iy, ix) of dy[n,oy,ox,c] / count(oy, ox), count being the window's number
// of in-image elements (see pool_fwd). Windows in order oy, then ox.
// Bindings: 0 dy (in, N x OH x OW x C), 1 dx (in/out, N x H x W x C).
// Push: as pool_fwd with xoff/yoff the offsets of dx/dy, then fastdiv.glsl's
// terms for quads, W, H, SH and SW.
// One invocation per (n, iy, ix, quad of 4 channels), quads fastest, folded
// linear grid. Spec constants: 0 workgroup size, 1 ACCUM (dx += instead of
// dx =), 2 VEC (C % 4 == 0, offsets 4-aligned), 3 SX, 4 KWS, 5 SWS: strips
// of SX elements of a row of dx per invocation, as in pool_max_bwd (each
// window's dy / count computed once for the strip, the same value each
// element would compute; the same order of terms).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"
#include "fastdiv.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUM = false;
layout(constant_id = 2) const bool VEC = false;
layout(constant_id = 3) const uint SX = 1u;
layout(constant_id = 4) const uint KWS = 1u;
layout(constant_id = 5) const uint SWS = 1u;
const uint NW = (SX + KWS - 2u) / SWS + 1u; // the windows of a strip (pool_max_bwd)

IN_TENSOR(0, dy);
INOUT_TENSOR(1, dx);
layout(push_constant) uniform P {
    uint n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, xoff, yoff, quads;
    uint quads_m, quads_s, w_m, w_s, h_m, h_s, sh_m, sh_s, sw_m, sw_s; // fastdiv.glsl's divisors (w: strips with SX > 1)
} p;

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

// Number of in-image elements of the window of output o along one axis.
uint window_len(uint o, uint k, uint s, uint pad, uint size) {
    int b = int(o * s) - int(pad);
    return uint(min(b + int(k), int(size)) - max(b, 0));
}

void store_dx(uint pix, uint c, uint nv, vec4 g) {
    uint o = p.xoff + pix * p.c + c;
    if (VEC) {
        if (ACCUM) g += RD4(dx, o >> 2);
        ST4(dx, o >> 2, g);
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (j < nv) ST1(dx, o + j, ACCUM ? RD1(dx, o + j) + g[j] : g[j]);
    }
}

// SX elements (n, iy, ix0 + s) of a row of dx; see pool_max_bwd's strip().
void strip(uint pix, uint q) {
    uint strips = (p.w + SX - 1u) / SX;
    if (pix >= p.n * p.h * strips) return;
    uint t = fdiv(pix, p.w_m, p.w_s), ix0 = (pix - t * strips) * SX;
    uint n = fdiv(t, p.h_m, p.h_s), iy = t - n * p.h;
    uint c = q * 4u, nv = min(4u, p.c - c);
    uint oy0 = first_window(iy, p.kh, p.sh, p.ph, p.sh_m, p.sh_s), oy1 = min(fdiv(iy + p.ph, p.sh_m, p.sh_s) + 1u, p.oh);
    uint oxa = first_window(ix0, KWS, SWS, p.pw, p.sw_m, p.sw_s);
    uint oxb = min(fdiv(ix0 + SX - 1u + p.pw, p.sw_m, p.sw_s) + 1u, p.ow);
    int r0 = int(ix0 + p.pw) - int(oxa * SWS);
    uint img = p.yoff + n * p.oh * p.ow * p.c + c;

    vec4 g[SX];
    [[unroll]] for (uint s = 0u; s < SX; s++) g[s] = vec4(0.0);
    for (uint oy = oy0; oy < oy1; oy++) {
        uint ly = window_len(oy, p.kh, p.sh, p.ph, p.h);
        vec4 d[NW];
        [[unroll]] for (uint w = 0u; w < NW; w++) {
            d[w] = vec4(0.0);
            uint ox = oxa + w;
            if (ox < oxb) d[w] = load_dy(img + (oy * p.ow + ox) * p.c, nv) / float(ly * window_len(ox, KWS, SWS, p.pw, p.w));
        }
        [[unroll]] for (uint s = 0u; s < SX; s++)
            [[unroll]] for (uint w = 0u; w < NW; w++) {
                int r = r0 + int(s) - int(w * SWS);
                if (r >= 0 && r < int(KWS) && oxa + w < oxb) g[s] += d[w];
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
    uint img = p.yoff + n * p.oh * p.ow * p.c + c;

    vec4 g = vec4(0.0);
    for (uint oy = oy0; oy < oy1; oy++) {
        uint ly = window_len(oy, p.kh, p.sh, p.ph, p.h);
        for (uint ox = ox0; ox < ox1; ox++) {
            float cnt = float(ly * window_len(ox, p.kw, p.sw, p.pw, p.w));
            g += load_dy(img + (oy * p.ow + ox) * p.c, nv) / cnt;
        }
    }

    store_dx(pix, c, nv, g);
}
