#version 450
// gemm_smem: shared-memory tiled GEMM with per-invocation register blocking,
// the classic shape for discrete and integrated GPUs. A workgroup of
// WG_X x WG_Y invocations computes a BM x BN tile of C (BM = WG_Y*TM,
// BN = WG_X*TN); K advances BK at a time through shared tiles As[BK][BM] and
// Bs[BK][BN], loaded cooperatively so that neighbouring invocations read
// neighbouring addresses along each operand's contiguous dimension.
// Invocation (tx, ty) owns rows ty + i*WG_Y and columns tx + j*WG_X, so its
// shared reads are conflict-free and its stores coalesced. Out-of-range
// elements load as zero. Grid: x over N/BN, y over M/BM, z batch.
// Spec constants: 0 WG_X, 1 WG_Y, 2 TM, 3 TN, 4 TA, 5 TB, 6 BK, 7 ACT, 8 BIAS
// (the epilogue, gemm.glsl), 9 REDUCE (split-K summed in the dispatch), 10 XA,
// 11 XB, 12 XACT, 13 XV (an operand read through a batch norm's apply, gemm.glsl),
// 14 DA, 15 DACT, 16 DV (A read through a batch norm's backward, gemm.glsl).
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const uint TM = 4u;
layout(constant_id = 3) const uint TN = 4u;
layout(constant_id = 4) const bool TA = false;
layout(constant_id = 5) const bool TB = false;
layout(constant_id = 6) const uint BK = 16u;
layout(constant_id = 7) const uint ACT = 0u;
layout(constant_id = 8) const bool BIAS = false;
layout(constant_id = 9) const bool REDUCE = false;
layout(constant_id = 10) const bool XA = false;
layout(constant_id = 11) const bool XB = false;
layout(constant_id = 12) const uint XACT = 0u;
layout(constant_id = 13) const bool XV = false;
layout(constant_id = 14) const bool DA = false;
layout(constant_id = 15) const uint DACT = 0u;
layout(constant_id = 16) const bool DV = false;
#include "gemm.glsl"

const uint WX = gl_WorkGroupSize.x;
const uint WY = gl_WorkGroupSize.y;
const uint BM = WY * TM;
const uint BN = WX * TN;
const uint THREADS = WX * WY;

shared float As[BK * BM];
shared float Bs[BK * BN];

void main() {
    uint z = gl_WorkGroupID.z;
    uint ba = p.offa + z * p.stra, bb = p.offb + z * p.strb, bc = p.offc + z * p.strc;
    uint m0 = gl_WorkGroupID.y * BM + p.row_base, n0 = gl_WorkGroupID.x * BN;
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y, t = gl_LocalInvocationIndex;

    float acc[TM][TN];
    [[unroll]] for (uint i = 0u; i < TM; i++)
        [[unroll]] for (uint j = 0u; j < TN; j++) acc[i][j] = 0.0;

    for (uint k0 = 0u; k0 < p.K; k0 += BK) {
        // Element e of the tile: contiguous-dimension-fastest, so that
        // consecutive invocations read consecutive addresses.
        for (uint e = t; e < BK * BM; e += THREADS) {
            uint kk = TA ? e / BM : e % BK, mm = TA ? e % BM : e / BK;
            uint m = m0 + mm, k = k0 + kk;
            As[kk * BM + mm] = (m < p.M && k < p.K) ? xa1(z, m, k, LD1(A, a_index(ba, m, k))) : 0.0;
        }
        for (uint e = t; e < BK * BN; e += THREADS) {
            uint kk = TB ? e % BK : e / BN, nn = TB ? e / BK : e % BN;
            uint n = n0 + nn, k = k0 + kk;
            Bs[kk * BN + nn] = (n < p.N && k < p.K) ? xb1(z, n, LD1(B, b_index(bb, k, n))) : 0.0;
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk++) {
            float a[TM], b[TN];
            [[unroll]] for (uint i = 0u; i < TM; i++) a[i] = As[kk * BM + ty + i * WY];
            [[unroll]] for (uint j = 0u; j < TN; j++) b[j] = Bs[kk * BN + tx + j * WX];
            [[unroll]] for (uint i = 0u; i < TM; i++)
                [[unroll]] for (uint j = 0u; j < TN; j++) acc[i][j] += a[i] * b[j];
        }
        barrier();
    }
    if (REDUCE) {
        [[unroll]] for (uint i = 0u; i < TM; i++) {
            uint m = m0 + ty + i * WY;
            [[unroll]] for (uint j = 0u; j < TN; j++) {
                uint n = n0 + tx + j * WX, e = part_index(z, m, n);
                if (m < p.M && n < p.N) Part[e >> 2][e & 3u] = acc[i][j];
            }
        }
        if (!reduce_last_slice()) return;
        [[unroll]] for (uint i = 0u; i < TM; i++) {
            uint m = m0 + ty + i * WY;
            if (m >= p.M) continue;
            [[unroll]] for (uint j = 0u; j < TN; j++) {
                uint n = n0 + tx + j * WX;
                if (n >= p.N) continue;
                float v = 0.0;
                for (uint zz = 0u; zz < gl_NumWorkGroups.z; zz++) {
                    uint e = part_index(zz, m, n);
                    v += Part[e >> 2][e & 3u];
                }
                store_c(p.offc, m, n, v, bias1(0u, n));
            }
        }
        return;
    }
    [[unroll]] for (uint i = 0u; i < TM; i++) {
        uint m = m0 + ty + i * WY;
        if (m >= p.M) continue;
        [[unroll]] for (uint j = 0u; j < TN; j++) {
            uint n = n0 + tx + j * WX;
            if (n < p.N) store_c(bc, m, n, acc[i][j], bias1(z, n));
        }
    }
}
