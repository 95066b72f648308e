#version 450
// bn_stats_merge: pass 2 of the BatchNorm batch statistics. Per channel,
// combines the chunk means m_j and M2_j of bn_stats (n_j pixels each) in
// chunk order, in two passes over the partials:
//   mean = m_0 + sum_j n_j (m_j - m_0) / P
//   M2   = sum_j M2_j + n_j (m_j - mean)^2
// (Chan's pairwise formula summed in one go: the differences are small and
// exact where the means are close, so the mean is rounded about once instead
// of once per chunk, which matters when |mean| >> std), then
//   save_mean = mean, save_invstd = 1/sqrt(M2/P + eps)       (biased variance)
//   running_mean = (1-momentum)*running_mean + momentum*mean
//   running_var  = (1-momentum)*running_var + momentum*M2/(P-1)  (unbiased)
// as PyTorch does. Bindings: 0 ws (in), 1 running_mean, 2 running_var
// (in/out), 3 save_mean, 4 save_invstd (out); all [C] but the workspace.
// Push: P, C, Q, L, chunks, offsets, eps, momentum. Spec constants:
// 0 workgroup size. One invocation per channel quad.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;

IN_TENSOR(0, ws);
INOUT_TENSOR(1, rmean);
INOUT_TENSOR(2, rvar);
OUT_TENSOR(3, smean);
OUT_TENSOR(4, sinvstd);
layout(push_constant) uniform P {
    uint P, C, Q, L, chunks, wsoff, rmoff, rvoff, smoff, sioff;
    float eps, momentum;
} p;

void main() {
    uint q = LINEAR_ID;
    if (q >= p.Q) return;
    uint c0 = q * 4u, stride = p.Q * 4u, m2base = p.wsoff + p.chunks * stride;
    vec4 m0 = LD4(ws, (p.wsoff + c0) >> 2), s = vec4(0.0);
    for (uint j = 1u; j < p.chunks; j++) {
        float nj = float(min(p.L, p.P - j * p.L));
        s += nj * (LD4(ws, (p.wsoff + j * stride + c0) >> 2) - m0);
    }
    vec4 mean = m0 + s / float(p.P), m2 = vec4(0.0);
    for (uint j = 0u; j < p.chunks; j++) {
        float nj = float(min(p.L, p.P - j * p.L));
        vec4 d = LD4(ws, (p.wsoff + j * stride + c0) >> 2) - mean;
        m2 += LD4(ws, (m2base + j * stride + c0) >> 2) + nj * d * d;
    }
    vec4 invstd = inversesqrt(m2 / float(p.P) + p.eps);
    vec4 unbiased = m2 / float(p.P - 1u);
    for (uint l = 0u; l < 4u && c0 + l < p.C; l++) {
        uint c = c0 + l;
        ST1(smean, p.smoff + c, mean[l]);
        ST1(sinvstd, p.sioff + c, invstd[l]);
        ST1(rmean, p.rmoff + c, (1.0 - p.momentum) * RD1(rmean, p.rmoff + c) + p.momentum * mean[l]);
        ST1(rvar, p.rvoff + c, (1.0 - p.momentum) * RD1(rvar, p.rvoff + c) + p.momentum * unbiased[l]);
    }
}
