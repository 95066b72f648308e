#version 450
// gemm_naive: one invocation per output element, scalar loads. The baseline
// `asvk bench gemm` measures the tiled kernels against, and a second,
// independent implementation for the tests. Grid: x over N, y over M, z batch.
// Spec constants: 0 WG_X, 1 WG_Y, 2 TA, 3 TB, 4 ACT, 5 BIAS (the epilogue,
// gemm.glsl), 6 REDUCE (split-K summed in the dispatch), 7 XA, 8 XB, 9 XACT,
// 10 XV (an operand read through a batch norm's apply, gemm.glsl), 11 DA,
// 12 DACT, 13 DV (A read through a batch norm's backward, gemm.glsl).
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const bool TA = false;
layout(constant_id = 3) const bool TB = false;
layout(constant_id = 4) const uint ACT = 0u;
layout(constant_id = 5) const bool BIAS = false;
layout(constant_id = 6) const bool REDUCE = false;
layout(constant_id = 7) const bool XA = false;
layout(constant_id = 8) const bool XB = false;
layout(constant_id = 9) const uint XACT = 0u;
layout(constant_id = 10) const bool XV = false;
layout(constant_id = 11) const bool DA = false;
layout(constant_id = 12) const uint DACT = 0u;
layout(constant_id = 13) const bool DV = false;
#include "gemm.glsl"

void main() {
    uint n = gl_GlobalInvocationID.x, m = gl_GlobalInvocationID.y + p.row_base, z = gl_WorkGroupID.z;
    bool inside = m < p.M && n < p.N;
    if (!REDUCE && !inside) return; // REDUCE: every invocation reaches the group's barriers
    uint ba = p.offa + z * p.stra, bb = p.offb + z * p.strb;
    float s = 0.0;
    if (inside)
        for (uint k = 0u; k < p.K; k++) s += xa1(z, m, k, LD1(A, a_index(ba, m, k))) * xb1(z, n, LD1(B, b_index(bb, k, n)));
    if (!REDUCE) {
        store_c(p.offc + z * p.strc, m, n, s, bias1(z, n));
        return;
    }
    uint e = part_index(z, m, n);
    if (inside) Part[e >> 2][e & 3u] = s;
    if (!reduce_last_slice() || !inside) return;
    s = 0.0;
    for (uint zz = 0u; zz < gl_NumWorkGroups.z; zz++) {
        e = part_index(zz, m, n);
        s += Part[e >> 2][e & 3u];
    }
    store_c(p.offc, m, n, s, bias1(0u, n));
}
