#version 450
// pool_avg_bwd: gradient of average pooling (count_include_pad = false),
// as a gather: dx[n,iy,ix,c] (+)= sum over the windows (oy, ox) that contain
// (iy, ix) of dy[n,oy,ox,c] / count(oy, ox), count being the window's number
// of in-image elements (see pool_fwd). Windows in order oy, then ox.
// Bindings: 0 dy (in, N x OH x OW x C), 1 dx (in/out, N x H x W x C).
// Push: as pool_fwd with dxoff/dyoff the offsets of dx/dy, then fastdiv.glsl's
// terms for quads, W, H, SH and SW.
// One invocation per (n, iy, ix, quad of 4 channels), quads fastest, folded
// linear grid. Spec constants: 0 workgroup size, 1 ACCUM (dx += instead of
// dx =), 2 VEC (C % 4 == 0, offsets 4-aligned), 3 SX, 4 KWS, 5 SWS: strips
// of SX elements of a row of dx per invocation, as in pool_max_bwd (each
// window's dy / count computed once for the strip, the same value each
// element would compute; the same order of terms).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUM = false;
layout(constant_id = 2) const bool VEC = false;
layout(constant_id = 3) const uint SX = 1u;
layout(constant_id = 4) const uint KWS = 1u;
layout(constant_id = 5) const uint SWS = 1u;

IN_TENSOR(0, dy);
INOUT_TENSOR(1, dx);
layout(push_constant) uniform P {
    uint n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw, dxoff, dyoff, quads;
    uint quads_m, quads_s, w_m, w_s, h_m, h_s, sh_m, sh_s, sw_m, sw_s; // fastdiv.glsl's divisors (w: strips with SX > 1)
} p;

#include "pool_bwd.glsl"

// Number of in-image elements of the window of output o along one axis.
uint window_len(uint o, uint k, uint s, uint pad, uint size) {
    int b = int(o * s) - int(pad);
    return uint(min(b + int(k), int(size)) - max(b, 0));
}

// SX elements (n, iy, ix0 + s) of a row of dx; see pool_max_bwd's strip().
void strip(pool_strip e) {
    uint img = p.dyoff + e.n * p.oh * p.ow * p.c + e.c;
    vec4 g[SX];
    [[unroll]] for (uint s = 0u; s < SX; s++) g[s] = vec4(0.0);
    for (uint oy = e.oy0; oy < e.oy1; oy++) {
        uint ly = window_len(oy, p.kh, p.sh, p.ph, p.h);
        vec4 d[NW];
        [[unroll]] for (uint w = 0u; w < NW; w++) {
            d[w] = vec4(0.0);
            uint ox = e.oxa + w;
            if (ox < e.oxb) d[w] = load_dy(img + (oy * p.ow + ox) * p.c, e.nv) / float(ly * window_len(ox, KWS, SWS, p.pw, p.w));
        }
        [[unroll]] for (uint s = 0u; s < SX; s++)
            [[unroll]] for (uint w = 0u; w < NW; w++) {
                int r = e.r0 + int(s) - int(w * SWS);
                if (r >= 0 && r < int(KWS) && e.oxa + w < e.oxb) g[s] += d[w];
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
    uint img = p.dyoff + e.n * p.oh * p.ow * p.c + e.c;
    vec4 g = vec4(0.0);
    for (uint oy = e.oy0; oy < e.oy1; oy++) {
        uint ly = window_len(oy, p.kh, p.sh, p.ph, p.h);
        for (uint ox = e.ox0; ox < e.ox1; ox++) {
            float cnt = float(ly * window_len(ox, p.kw, p.sw, p.pw, p.w));
            g += load_dy(img + (oy * p.ow + ox) * p.c, e.nv) / cnt;
        }
    }
    store_dx(e.pix, e.c, e.nv, g);
}
