#version 450
// ew_chscale_merge: ds[n,c] (+)= sum over chunks k (in order) of
// ws[(n*chunks + k)*4Q + c], the partials of ew_chscale_bwd.
// Bindings: 0 ws (in), 1 ds (out, or in/out when ACCUM). Push: N, C, Q,
// chunks, offsets (the workspace's is a multiple of 4). Spec constants:
// 0 workgroup size, 1 ACCUM. Invocation id: quad id % Q of image id / Q.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUM = false;

IN_TENSOR(0, ws);
INOUT_TENSOR(1, ds);
layout(push_constant) uniform P { uint N, C, Q, chunks, wsoff, dsoff; } p;

void main() {
    uint id = LINEAR_ID;
    uint q = id % p.Q, n = id / p.Q;
    if (n >= p.N) return;
    uint c0 = q * 4u;
    vec4 acc = vec4(0.0);
    for (uint k = 0u; k < p.chunks; k++) acc += LD4(ws, (p.wsoff + (n * p.chunks + k) * p.Q * 4u + c0) >> 2);
    uint b = p.dsoff + n * p.C + c0;
    for (uint j = 0u; j < 4u && c0 + j < p.C; j++) ST1(ds, b + j, ACCUM ? RD1(ds, b + j) + acc[j] : acc[j]);
}
