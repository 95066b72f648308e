#version 450
// bn_stats: the batch statistics of BatchNorm (training), in one dispatch.
// Over the P = N*H*W pixels of an NHWC tensor cut into `chunks` chunks of L
// pixels, invocation (chunk j, channel quad q) computes the mean and M2
// (sum of squared deviations) of its chunk from sums shifted by the chunk's
// first value (so the sums stay of the size of the spread, not of the mean):
//   d = x - x[first];  mean = x[first] + sum d / n;  M2 = sum d^2 - (sum d)^2 / n
// and writes them to ws[j*4Q + c] and ws[(chunks + j)*4Q + c]. The last
// workgroup to finish (last_group.glsl) then combines the chunks per channel
// in chunk order, in two passes over the partials:
//   mean = m_0 + sum_j n_j (m_j - m_0) / P
//   M2   = sum_j M2_j + n_j (m_j - mean)^2
// (Chan's pairwise formula summed in one go: the differences are small and
// exact where the means are close, so the mean is rounded about once instead
// of once per chunk, which matters when |mean| >> std), then
//   save_mean = mean, save_invstd = 1/sqrt(M2/P + eps)       (biased variance)
//   running_mean = (1-momentum)*running_mean + momentum*mean
//   running_var  = (1-momentum)*running_var + momentum*M2/(P-1)  (unbiased)
// as PyTorch does. Deterministic.
// Bindings: 0 x (in), 1 ws (fp32, read and written, offset a multiple of 4),
// 2 running_mean, 3 running_var (in/out), 4 save_mean, 5 save_invstd (out),
// all [C]; 6 the arrival counter. Push: P, C, Q = ceil(C/4), L, chunks,
// offsets, eps, momentum. Spec constants: 0 workgroup size, 1 ALIGNED (C
// and the x offset multiples of 4: vec4 loads). Invocation id: quad id % Q
// of chunk id / Q (neighbours read neighbouring vec4s).
#extension GL_GOOGLE_include_directive : require
// texelFetch: with imageLoad this kernel ran 14-23% slower on lavapipe (the
// convolutions 4-10% faster; bench/results/image-inputs/)
#define ASVK_PREFER_TEXEL_FETCH
#include "io.glsl"
#define LAST_GROUP_BINDING 6
#include "last_group.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ALIGNED = false;

IN_TENSOR(0, x);
layout(set = 0, binding = 1, std430) coherent restrict buffer ws_block { vec4 ws[]; };
INOUT_TENSOR(2, rmean);
INOUT_TENSOR(3, rvar);
OUT_TENSOR(4, smean);
OUT_TENSOR(5, sinvstd);
layout(push_constant) uniform P {
    uint P, C, Q, L, chunks, xoff, wsoff, rmoff, rvoff, smoff, sioff, cnt;
    float eps, momentum;
} p;

// Four channels c0.. of the row starting at element `base`, clamped into the row.
#define LDQ(t, al, base, c0) ((al) ? LD4(t, ((base) + (c0)) >> 2)                                          \
    : vec4(LD1(t, (base) + min((c0), p.C - 1u)), LD1(t, (base) + min((c0) + 1u, p.C - 1u)),               \
           LD1(t, (base) + min((c0) + 2u, p.C - 1u)), LD1(t, (base) + min((c0) + 3u, p.C - 1u))))

void chunk_stats(uint q, uint j) {
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
    ws[(p.wsoff + j * stride + c0) >> 2] = shift + s1 / n;
    ws[(p.wsoff + (p.chunks + j) * stride + c0) >> 2] = max(s2 - s1 * (s1 / n), vec4(0.0));
}

void merge(uint q) {
    uint c0 = q * 4u, stride = p.Q * 4u, m2base = p.wsoff + p.chunks * stride;
    vec4 m0 = ws[(p.wsoff + c0) >> 2], s = vec4(0.0);
    for (uint j = 1u; j < p.chunks; j++) {
        float nj = float(min(p.L, p.P - j * p.L));
        s += nj * (ws[(p.wsoff + j * stride + c0) >> 2] - m0);
    }
    vec4 mean = m0 + s / float(p.P), m2 = vec4(0.0);
    for (uint j = 0u; j < p.chunks; j++) {
        float nj = float(min(p.L, p.P - j * p.L));
        vec4 d = ws[(p.wsoff + j * stride + c0) >> 2] - mean;
        m2 += ws[(m2base + j * stride + c0) >> 2] + nj * d * d;
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

void main() {
    uint id = LINEAR_ID;
    if (id / p.Q < p.chunks) chunk_stats(id % p.Q, id / p.Q);
    if (!last_group(p.cnt)) return;
    for (uint q = gl_LocalInvocationIndex; q < p.Q; q += gl_WorkGroupSize.x) merge(q);
    last_group_reset(p.cnt);
}
