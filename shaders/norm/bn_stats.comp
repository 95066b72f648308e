#version 450
// bn_stats: pass 1 of the batch statistics of BatchNorm (training). Over
// the P = N*H*W pixels of an NHWC tensor cut into `chunks` chunks of L
// pixels, invocation (chunk j, channel quad q) computes the mean and M2
// (sum of squared deviations) of its chunk from sums shifted by the chunk's
// first value (so the sums stay of the size of the spread, not of the mean):
//   d = x - x[first];  mean = x[first] + sum d / n;  M2 = sum d^2 - (sum d)^2 / n
// and writes them to ws[j*4Q + c] and ws[(chunks + j)*4Q + c].
// bn_stats_merge combines the chunks (Chan's formula). Deterministic.
// Bindings: 0 x (in), 1 ws (out, offset a multiple of 4). Push: P, C,
// Q = ceil(C/4), L, chunks, offsets. Spec constants: 0 workgroup size,
// 1 ALIGNED (C and the x offset multiples of 4: vec4 loads). Invocation id:
// quad id % Q of chunk id / Q (neighbours read neighbouring vec4s).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ALIGNED = false;

IN_TENSOR(0, x);
OUT_TENSOR(1, ws);
layout(push_constant) uniform P { uint P, C, Q, L, chunks, xoff, wsoff; } p;

// Four channels c0.. of the row starting at element `base`, clamped into the row.
#define LDQ(t, al, base, c0) ((al) ? LD4(t, ((base) + (c0)) >> 2)                                          \
    : vec4(LD1(t, (base) + min((c0), p.C - 1u)), LD1(t, (base) + min((c0) + 1u, p.C - 1u)),               \
           LD1(t, (base) + min((c0) + 2u, p.C - 1u)), LD1(t, (base) + min((c0) + 3u, p.C - 1u))))

void main() {
    uint id = LINEAR_ID;
    uint q = id % p.Q, j = id / p.Q;
    if (j >= p.chunks) return;
    uint c0 = q * 4u, p0 = j * p.L, p1 = min(p0 + p.L, p.P);
    vec4 shift = LDQ(x, ALIGNED, p.xoff + p0 * p.C, c0);
    vec4 s1 = vec4(0.0), s2 = vec4(0.0);
    for (uint px = p0 + 1u; px < p1; px++) {
        vec4 d = LDQ(x, ALIGNED, p.xoff + px * p.C, c0) - shift;
        s1 += d;
        s2 += d * d;
    }
    float n = float(p1 - p0);
    uint stride = p.Q * 4u;
    ST4(ws, (p.wsoff + j * stride + c0) >> 2, shift + s1 / n);
    ST4(ws, (p.wsoff + (p.chunks + j) * stride + c0) >> 2, max(s2 - s1 * (s1 / n), vec4(0.0)));
}
