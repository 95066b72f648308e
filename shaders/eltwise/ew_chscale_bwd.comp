#version 450
// ew_chscale_bwd: gradients of y[n,h,w,c] = x[n,h,w,c] * s[n,c]:
//   dx[n,h,w,c] (+)= dy * s[n,c]
//   ds[n,c]     (+)= sum over h,w of dy * x
// in one pass over dy and x. The sum over an image's HW pixels is cut into
// `chunks` chunks of L pixels; invocation (n, chunk, quad) sums its chunk in
// fixed order. With one chunk (DIRECT) it writes ds itself; otherwise it
// writes its partial to the workspace, ws[(n*chunks + chunk)*4Q + c], which
// ew_chscale_merge sums in fixed order: deterministic, no atomics.
// Bindings: 0 x, 1 s, 2 dy (in), 3 dx, 4 ds or workspace (out or in/out).
// An output that is not wanted (HAS_DX/HAS_DS false) is never touched; its
// binding holds the other one. Push: N, HW, C, Q, L, chunks, offsets.
// Spec constants: 0 workgroup size, 1 ALIGNED (C, x/dy/dx offsets multiples
// of 4), 2 SALIGNED (C and s offset), 3 HAS_DX, 4 ACC_DX, 5 HAS_DS,
// 6 ACC_DS, 7 DIRECT. Invocation id: quad id % Q, then chunk, then image.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ALIGNED = false;
layout(constant_id = 2) const bool SALIGNED = false;
layout(constant_id = 3) const bool HAS_DX = true;
layout(constant_id = 4) const bool ACC_DX = false;
layout(constant_id = 5) const bool HAS_DS = true;
layout(constant_id = 6) const bool ACC_DS = false;
layout(constant_id = 7) const bool DIRECT = true;

IN_TENSOR(0, x);
IN_TENSOR(1, s);
IN_TENSOR(2, dy);
INOUT_TENSOR(3, dx);
INOUT_TENSOR(4, ds);
layout(push_constant) uniform P { uint N, HW, C, Q, L, chunks, xoff, soff, dyoff, dxoff, dsoff; } p;

#define LDQ(t, al, base, c0) ((al) ? LD4(t, ((base) + (c0)) >> 2)                                          \
    : vec4(LD1(t, (base) + min((c0), p.C - 1u)), LD1(t, (base) + min((c0) + 1u, p.C - 1u)),               \
           LD1(t, (base) + min((c0) + 2u, p.C - 1u)), LD1(t, (base) + min((c0) + 3u, p.C - 1u))))

void main() {
    uint id = LINEAR_ID;
    uint q = id % p.Q, rest = id / p.Q, chunk = rest % p.chunks, n = rest / p.chunks;
    if (n >= p.N) return;
    uint c0 = q * 4u;
    vec4 sv = LDQ(s, SALIGNED, p.soff + n * p.C, c0);
    uint h0 = chunk * p.L, h1 = min(h0 + p.L, p.HW);
    vec4 acc = vec4(0.0);
    for (uint h = h0; h < h1; h++) {
        uint px = n * p.HW + h;
        vec4 g = LDQ(dy, ALIGNED, p.dyoff + px * p.C, c0);
        if (HAS_DS) acc += g * LDQ(x, ALIGNED, p.xoff + px * p.C, c0);
        if (HAS_DX) {
            vec4 v = g * sv;
            uint b = p.dxoff + px * p.C + c0;
            if (ALIGNED) {
                ST4(dx, b >> 2, ACC_DX ? RD4(dx, b >> 2) + v : v);
            } else {
                for (uint j = 0u; j < 4u && c0 + j < p.C; j++) ST1(dx, b + j, ACC_DX ? RD1(dx, b + j) + v[j] : v[j]);
            }
        }
    }
    if (!HAS_DS) return;
    if (DIRECT) {
        uint b = p.dsoff + n * p.C + c0;
        for (uint j = 0u; j < 4u && c0 + j < p.C; j++) ST1(ds, b + j, ACC_DS ? RD1(ds, b + j) + acc[j] : acc[j]);
    } else {
        ST4(ds, (p.dsoff + (n * p.chunks + chunk) * p.Q * 4u + c0) >> 2, acc); // workspace: 4-aligned
    }
}
