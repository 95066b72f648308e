#version 450
// ew_chscale_fwd: channel scale (squeeze-excitation):
//   y[n,h,w,c] = x[n,h,w,c] * s[n,c]      x, y NHWC; s [N][C]
// Bindings: 0 x, 1 s (in), 2 y (out; may be x itself). Push: pixels
// P = N*H*W, HW = H*W, C, Q = ceil(C/4) channel quads, offsets.
// Spec constants: 0 workgroup size, 1 ALIGNED (C, x and y offsets multiples
// of 4: vec4 loads/stores), 2 SALIGNED (C and the s offset multiples of 4),
// 3 ROWS (pixels per invocation). Invocation id owns channel quad id % Q of
// pixels (id / Q)*ROWS .. +ROWS-1; channels of a partial quad beyond C are
// neither stored nor read past the channel row. Folded linear grid.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ALIGNED = false;
layout(constant_id = 2) const bool SALIGNED = false;
layout(constant_id = 3) const uint ROWS = 4u;

IN_TENSOR(0, x);
IN_TENSOR(1, s);
OUT_TENSOR(2, y);
layout(push_constant) uniform P { uint P, HW, C, Q, xoff, soff, yoff; } p;

// Four channels c0.. of row `base` (an element index), clamped into the row.
#define LDQ(t, al, base, c0) ((al) ? LD4(t, ((base) + (c0)) >> 2)                                          \
    : vec4(LD1(t, (base) + min((c0), p.C - 1u)), LD1(t, (base) + min((c0) + 1u, p.C - 1u)),               \
           LD1(t, (base) + min((c0) + 2u, p.C - 1u)), LD1(t, (base) + min((c0) + 3u, p.C - 1u))))

void main() {
    uint id = LINEAR_ID;
    uint q = id % p.Q, c0 = q * 4u, r0 = (id / p.Q) * ROWS;
    if (r0 >= p.P) return;
    [[unroll]] for (uint r = 0u; r < ROWS; r++) {
        uint px = r0 + r;
        if (px >= p.P) return;
        vec4 v = LDQ(x, ALIGNED, p.xoff + px * p.C, c0) * LDQ(s, SALIGNED, p.soff + (px / p.HW) * p.C, c0);
        uint yb = p.yoff + px * p.C + c0;
        if (ALIGNED) {
            ST4(y, yb >> 2, v);
        } else {
            for (uint j = 0u; j < 4u && c0 + j < p.C; j++) ST1(y, yb + j, v[j]);
        }
    }
}
