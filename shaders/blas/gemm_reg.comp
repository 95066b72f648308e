#version 450
// gemm_reg: register-blocked GEMM without shared memory. Each invocation
// computes a TM x TN block of C (TM, TN multiples of 4) as QM x QN quads;
// quads are interleaved across the workgroup so that neighbouring
// invocations load and store neighbouring vec4s (coalesced on GPUs, one
// cache line per gather on CPUs). K advances 4 at a time: one vec4 load
// brings four k values of a row of A (or four rows of B) where VA/VB say the
// contiguous dimension is 4-aligned; scalar loads otherwise and for the K tail.
// Loads clamp to the matrix so only stores need bounds checks.
// This is the fast kernel on lavapipe (no barriers; texel loads); see
// shared/notes/lavapipe-performance.md. Grid: x over N/(WG_X*TN), y over
// M/(WG_Y*TM), z batch. Spec constants: 0 WG_X, 1 WG_Y, 2 TM, 3 TN, 4 TA,
// 5 TB, 6 VA, 7 VB, 8 VC (vec4 stores to C), 9 ACT, 10 BIAS (the epilogue,
// gemm.glsl), 11 VBIAS (bias offset and batch stride 4-aligned: vec4 loads),
// 12 N4 (VC and N % 4 == 0: vec4 stores only, store_c4), 13 FULL (N4, and
// M and N multiples of the rows and columns of a workgroup: no bounds checks),
// 14 REDUCE (split-K summed in the dispatch, gemm.glsl), 15 XA, 16 XB, 17 XACT,
// 18 XV (an operand read through a batch norm's apply, gemm.glsl; the vec4
// paths load the apply's terms once per channel quad: per K step for A,
// once for B's columns), 19 DA, 20 DACT, 21 DV (A read through a batch
// norm's backward, gemm.glsl: the terms per K step when A's columns are the
// channels, once per row quad when transposed A's rows are).
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const uint TM = 8u;
layout(constant_id = 3) const uint TN = 8u;
layout(constant_id = 4) const bool TA = false;
layout(constant_id = 5) const bool TB = false;
layout(constant_id = 6) const bool VA = false;
layout(constant_id = 7) const bool VB = false;
layout(constant_id = 8) const bool VC = false;
layout(constant_id = 9) const uint ACT = 0u;
layout(constant_id = 10) const bool BIAS = false;
layout(constant_id = 11) const bool VBIAS = false;
layout(constant_id = 12) const bool N4 = false;
layout(constant_id = 13) const bool FULL = false;
layout(constant_id = 14) const bool REDUCE = false;
layout(constant_id = 15) const bool XA = false;
layout(constant_id = 16) const bool XB = false;
layout(constant_id = 17) const uint XACT = 0u;
layout(constant_id = 18) const bool XV = false;
layout(constant_id = 19) const bool DA = false;
layout(constant_id = 20) const uint DACT = 0u;
layout(constant_id = 21) const bool DV = false;
#include "gemm.glsl"

const uint QM = TM / 4u;
const uint QN = TN / 4u;

uint row_quad(uint q) { return ((gl_WorkGroupID.y * QM + q) * gl_WorkGroupSize.y + gl_LocalInvocationID.y) * 4u + p.row_base; }
uint col_quad(uint q) { return ((gl_WorkGroupID.x * QN + q) * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * 4u; }

void main() {
    uint z = gl_WorkGroupID.z;
    uint ba = p.offa + z * p.stra, bb = p.offb + z * p.strb, bc = p.offc + z * p.strc;
    uint mlast = p.M - 1u, nlast = p.N - 1u;
    // Quad starts clamped into the matrix: a quad wholly outside loads the
    // last quad instead (its results are never stored).
    uint mq[QM], nq[QN];
    [[unroll]] for (uint q = 0u; q < QM; q++) mq[q] = min(row_quad(q), mlast & ~3u);
    [[unroll]] for (uint q = 0u; q < QN; q++) nq[q] = min(col_quad(q), nlast & ~3u);

    float acc[TM][TN];
    [[unroll]] for (uint i = 0u; i < TM; i++)
        [[unroll]] for (uint j = 0u; j < TN; j++) acc[i][j] = 0.0;

    // B's apply terms by column quad (XB: the columns are channels)
    bn_quad fb[QN];
    [[unroll]] for (uint q = 0u; q < QN; q++)
        fb[q] = XB && VB && !TB ? bn_quad_at(z * p.xstr + nq[q]) : bn_quad(vec4(0.0), vec4(0.0), vec4(0.0));

    // A's backward terms by row quad (DA, transposed A: the rows are channels)
    uint bt = p.offt + z * p.stra;
    bnd_quad da_rows[QM];
    [[unroll]] for (uint q = 0u; q < QM; q++)
        da_rows[q] = DA && DV && VA && TA ? bnd_quad_at(z * p.dstr + mq[q]) : bnd_none();

    uint k4 = p.K & ~3u;
    for (uint k0 = 0u; k0 < k4; k0 += 4u) {
        float a[TM][4], b[4][TN];
        // A's apply terms of columns k0..k0+3 (XA: they are channels)
        bn_quad fa = XA && VA && !TA ? bn_quad_at(z * p.xstr + k0) : bn_quad(vec4(0.0), vec4(0.0), vec4(0.0));
        // ...or its backward terms (DA)
        bnd_quad da = DA && DV && VA && !TA ? bnd_quad_at(z * p.dstr + k0) : bnd_none();
        [[unroll]] for (uint q = 0u; q < QM; q++)
            [[unroll]] for (uint ii = 0u; ii < 4u; ii++) {
                uint i = q * 4u + ii, m = min(mq[q] + ii, mlast);
                if (!TA && VA && (!DA || DV)) {
                    vec4 v = LD4(A, a_index(ba, m, k0) >> 2);
                    if (XA) v = bn_apply4(fa, v);
                    if (DA) v = bnd_apply4(da, v, LD4(DfT, a_index(bt, m, k0) >> 2));
                    a[i][0] = v.x; a[i][1] = v.y; a[i][2] = v.z; a[i][3] = v.w;
                } else if (TA && VA && (!DA || DV)) {
                    vec4 v = LD4(A, a_index(ba, mq[q], k0 + ii) >> 2);
                    if (DA) v = bnd_apply4(da_rows[q], v, LD4(DfT, a_index(bt, mq[q], k0 + ii) >> 2));
                    a[q * 4u + 0u][ii] = v.x; a[q * 4u + 1u][ii] = v.y;
                    a[q * 4u + 2u][ii] = v.z; a[q * 4u + 3u][ii] = v.w;
                } else {
                    [[unroll]] for (uint kk = 0u; kk < 4u; kk++) a[i][kk] = xa1(z, m, k0 + kk, LD1(A, a_index(ba, m, k0 + kk)));
                }
            }
        [[unroll]] for (uint q = 0u; q < QN; q++)
            [[unroll]] for (uint jj = 0u; jj < 4u; jj++) {
                uint j = q * 4u + jj, n = min(nq[q] + jj, nlast);
                if (TB && VB) {
                    vec4 v = LD4(B, b_index(bb, k0, n) >> 2);
                    b[0][j] = v.x; b[1][j] = v.y; b[2][j] = v.z; b[3][j] = v.w;
                } else if (!TB && VB) {
                    vec4 v = LD4(B, b_index(bb, k0 + jj, nq[q]) >> 2);
                    if (XB) v = bn_apply4(fb[q], v);
                    b[jj][q * 4u + 0u] = v.x; b[jj][q * 4u + 1u] = v.y;
                    b[jj][q * 4u + 2u] = v.z; b[jj][q * 4u + 3u] = v.w;
                } else {
                    [[unroll]] for (uint kk = 0u; kk < 4u; kk++) b[kk][j] = xb1(z, n, LD1(B, b_index(bb, k0 + kk, n)));
                }
            }
        [[unroll]] for (uint kk = 0u; kk < 4u; kk++)
            [[unroll]] for (uint i = 0u; i < TM; i++)
                [[unroll]] for (uint j = 0u; j < TN; j++) acc[i][j] += a[i][kk] * b[kk][j];
    }
    for (uint k = k4; k < p.K; k++) {
        float a[TM], b[TN];
        [[unroll]] for (uint i = 0u; i < TM; i++) {
            uint m = min(mq[i / 4u] + i % 4u, mlast);
            a[i] = xa1(z, m, k, LD1(A, a_index(ba, m, k)));
        }
        [[unroll]] for (uint j = 0u; j < TN; j++) {
            uint n = min(nq[j / 4u] + j % 4u, nlast);
            b[j] = xb1(z, n, LD1(B, b_index(bb, k, n)));
        }
        [[unroll]] for (uint i = 0u; i < TM; i++)
            [[unroll]] for (uint j = 0u; j < TN; j++) acc[i][j] += a[i] * b[j];
    }

    vec4 bias[QN]; // loaded once for the TM rows
    [[unroll]] for (uint qj = 0u; qj < QN; qj++) bias[qj] = bias4(REDUCE ? 0u : z, col_quad(qj), VBIAS);
    if (REDUCE) {
        [[unroll]] for (uint qi = 0u; qi < QM; qi++)
            [[unroll]] for (uint ii = 0u; ii < 4u; ii++) {
                uint i = qi * 4u + ii, m = row_quad(qi) + ii;
                [[unroll]] for (uint qj = 0u; qj < QN; qj++) {
                    uint j = qj * 4u;
                    part_store4(z, m, col_quad(qj), vec4(acc[i][j], acc[i][j + 1u], acc[i][j + 2u], acc[i][j + 3u]),
                                VC, N4, FULL);
                }
            }
        if (!reduce_last_slice()) return;
        [[unroll]] for (uint qi = 0u; qi < QM; qi++)
            [[unroll]] for (uint ii = 0u; ii < 4u; ii++) {
                uint m = row_quad(qi) + ii;
                [[unroll]] for (uint qj = 0u; qj < QN; qj++)
                    store_c4(p.offc, m, col_quad(qj), part_sum4(m, col_quad(qj), VC), bias[qj], VC, N4, FULL);
            }
        return;
    }
    [[unroll]] for (uint qi = 0u; qi < QM; qi++)
        [[unroll]] for (uint ii = 0u; ii < 4u; ii++) {
            uint i = qi * 4u + ii, m = row_quad(qi) + ii;
            [[unroll]] for (uint qj = 0u; qj < QN; qj++) {
                uint j = qj * 4u;
                store_c4(bc, m, col_quad(qj), vec4(acc[i][j], acc[i][j + 1u], acc[i][j + 2u], acc[i][j + 3u]),
                         bias[qj], VC, N4, FULL);
            }
        }
}
