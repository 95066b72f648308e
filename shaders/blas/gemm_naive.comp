#version 450
// gemm_naive: one invocation per output element, scalar loads. The baseline
// `asvk bench gemm` measures the tiled kernels against, and a second,
// independent implementation for the tests. Grid: x over N, y over M, z batch.
// Spec constants: 0 WG_X, 1 WG_Y, 2 TA, 3 TB, 4 ACT, 5 BIAS (the epilogue,
// gemm.glsl).
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const bool TA = false;
layout(constant_id = 3) const bool TB = false;
layout(constant_id = 4) const uint ACT = 0u;
layout(constant_id = 5) const bool BIAS = false;
#include "gemm.glsl"

void main() {
    uint n = gl_GlobalInvocationID.x, m = gl_GlobalInvocationID.y + p.row_base, z = gl_WorkGroupID.z;
    if (m >= p.M || n >= p.N) return;
    uint ba = p.offa + z * p.stra, bb = p.offb + z * p.strb;
    float s = 0.0;
    for (uint k = 0u; k < p.K; k++) s += LD1(A, a_index(ba, m, k)) * LD1(B, b_index(bb, k, n));
    store_c(p.offc + z * p.strc, m, n, s, bias1(z, n));
}
