// Shared by the GEMM kernels: C = act(alpha * op(A) * op(B) + beta * C + bias), batched.
// op(A) is M x K, op(B) is K x N, all row-major with leading dimensions
// lda/ldb/ldc (elements) and element offsets; TA/TB (spec constants, declared
// by the including shader) mean A is stored K x M / B is stored N x K.
// Batch b (gl_WorkGroupID.z) adds b * stride to each offset. row_base shifts
// the rows when the launcher splits a tall matrix over several dispatches.
// beta == 0 never reads C (so NaN garbage in C cannot leak into the result).
// Epilogue (spec constants declared by the including shader): BIAS adds
// bias[offbias + b*strbias + n] to column n of batch b (binding 3, never read
// without BIAS: any buffer then), ACT applies an asvk_act after everything
// else. BIAS false and ACT 0 compile to the plain C = alpha*AB + beta*C.
// REDUCE (a bool spec constant, declared by the including shader): split-K
// summed in the same dispatch. Batch z computes the partial product of the
// z-th K-slice (A and B advance by stra/strb) into Part[offpart + z*strc +
// m*ldc + n]; the last of a tile's slices to finish (last_group.glsl, one
// counter per output tile at cnt + tile) sums the tile's partials in slice
// order, whichever slice it is (deterministic: the sums a column-sum pass
// over the partials makes), and applies the epilogue into the one matrix C
// at offc. The second pass over the partials and its dispatch are saved.
// XA / XB (bool spec constants, declared by the including shader, with
// XACT and XV): A (not transposed) / B (not transposed) is a batch norm's
// input x, read through the BN's apply (bn_load.glsl): a BN fused into the
// 1x1 convolution that reads its output (forward: A) and into that
// convolution's weight gradient (B). The channel of A's element (m, k) of
// batch z is z * xstr + k, of B's element (k, n) z * xstr + n (xstr: the
// channels of a group, 0 when the batches are K-slices of the pixels).
// DA (a bool spec constant, declared by the including shader with DACT and
// DV): A is a batch norm's output gradient dy, read through the BN's
// backward (bn_grad_load.glsl): the BN's dx fused into the backward-data and
// weight gradient of the 1x1 convolution that produced its input t. A's
// element (m, k) of batch z is channel z * dstr + (TA ? m : k); t is laid out
// as A (offset offt).
// Bindings: 0 A (in), 1 B (in), 2 C (in/out), 3 bias (in), 4 Part (fp32,
// written and read back; REDUCE only, any storage buffer otherwise), 5 the
// tiles' counters (REDUCE only), 6-9 the BN's gamma, beta, mean, invstd
// (XA or XB only; any read-only buffer otherwise), 10 t, 11 the BN
// backward's terms (DA only; any buffer otherwise).
#include "io.glsl"
#include "act.glsl"
#define LAST_GROUP_BINDING 5
#include "last_group.glsl"

IN_TENSOR(0, A);
IN_TENSOR(1, B);
INOUT_TENSOR(2, C);
IN_TENSOR(3, Bias);
layout(set = 0, binding = 4, std430) coherent restrict buffer gemm_part_block { vec4 Part[]; };

layout(push_constant) uniform P {
    uint M, N, K;
    uint lda, ldb, ldc;
    uint offa, offb, offc;
    uint stra, strb, strc;
    uint row_base;
    float alpha, beta;
    uint offbias, strbias;
    uint offpart, cnt;
    uint xstr, xg, xb, xm, xi;
    uint offt, dstr, coff, cq, dp;
} p;

const bool XF = XA || XB;
#define XF_BINDING 6
#include "bn_load.glsl"
const bool DF = DA;
#define DF_BINDING 10
#include "bn_grad_load.glsl"

uint a_index(uint base, uint m, uint k) { return base + (TA ? k * p.lda + m : m * p.lda + k); }

// A's element (m, k) / B's (k, n) of batch z, loaded as v, through the BN's
// apply when the operand is fused (XA / XB) or through the BN's backward
// (DA: t loaded beside it); v itself otherwise.
float xa1(uint z, uint m, uint k, float v) {
    if (DA) return bnd_apply1(z * p.dstr + (TA ? m : k), v, LD1(DfT, a_index(p.offt + z * p.stra, m, k)));
    return XA ? bn_apply1(z * p.xstr + k, v) : v;
}
float xb1(uint z, uint n, float v) { return XB ? bn_apply1(z * p.xstr + n, v) : v; }
uint b_index(uint base, uint k, uint n) { return base + (TB ? n * p.ldb + k : k * p.ldb + n); }

// The bias of column n of batch z (n clamped into N: loads stay in range);
// 0 without BIAS.
float bias1(uint z, uint n) { return BIAS ? LD1(Bias, p.offbias + z * p.strbias + min(n, p.N - 1u)) : 0.0; }
// Columns n..n+3 (n a multiple of 4); one vec4 load when VBIAS (offbias and
// strbias 4-aligned), else four clamped scalar loads.
vec4 bias4(uint z, uint n, bool vbias) {
    if (!BIAS) return vec4(0.0);
    if (vbias) return LD4(Bias, (p.offbias + z * p.strbias + min(n, (p.N - 1u) & ~3u)) >> 2);
    return vec4(bias1(z, n), bias1(z, n + 1u), bias1(z, n + 2u), bias1(z, n + 3u));
}

void store_c(uint base, uint m, uint n, float v, float bias) {
    uint i = base + m * p.ldc + n;
    float r = p.alpha * v;
    if (p.beta != 0.0) r += p.beta * RD1(C, i);
    if (BIAS) r += bias;
    ST1(C, i, act_apply(ACT, r));
}

// Four consecutive columns n..n+3 of row m; vec4 store when VC (ldc and
// offset 4-aligned) and all four are inside N. N4 (VC and N % 4 == 0: a
// quad is wholly inside N or wholly outside) leaves out the scalar path:
// lavapipe runs both sides of a branch that differs between lanes, so the
// mere presence of the scalar stores slowed every vec4 store.
void store_c4(uint base, uint m, uint n, vec4 v, vec4 bias, bool vc, bool n4, bool full) {
    if (!full && m >= p.M) return;
    if (n4 ? full || n < p.N : vc && n + 4u <= p.N) {
        uint i = (base + m * p.ldc + n) >> 2;
        vec4 r = p.alpha * v;
        if (p.beta != 0.0) r += p.beta * RD4(C, i);
        if (BIAS) r += bias;
        ST4(C, i, act_apply(ACT, r));
    } else if (!n4) {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (n + j < p.N) store_c(base, m, n + j, v[j], bias[j]);
    }
}

// ---- REDUCE: the partials of the K-slices ----

uint part_index(uint z, uint m, uint n) { return p.offpart + z * p.strc + m * p.ldc + n; }

// Batch z's partial of row m, columns n..n+3 (the elements store_c4 would store).
void part_store4(uint z, uint m, uint n, vec4 v, bool vc, bool n4, bool full) {
    if (!full && m >= p.M) return;
    if (n4 ? full || n < p.N : vc && n + 4u <= p.N) {
        Part[part_index(z, m, n) >> 2] = v;
    } else if (!n4) {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (n + j < p.N) { uint i = part_index(z, m, n + j); Part[i >> 2][i & 3u] = v[j]; }
    }
}

// The sum over every slice of row m, columns n..n+3, in slice order; reads
// clamped into the matrix (values outside it are never stored).
vec4 part_sum4(uint m, uint n, bool vc) {
    m = min(m, p.M - 1u);
    bool quad = vc && n + 4u <= p.N;
    vec4 s = vec4(0.0);
    for (uint z = 0u; z < gl_NumWorkGroups.z; z++) {
        if (quad) {
            s += Part[part_index(z, m, n) >> 2];
        } else {
            [[unroll]] for (uint j = 0u; j < 4u; j++) {
                uint i = part_index(z, m, min(n + j, p.N - 1u));
                s[j] += Part[i >> 2][i & 3u];
            }
        }
    }
    return s;
}

// Every invocation of every group calls it after storing its partials
// (barriers inside): true in the group that finishes its tile's last slice.
bool reduce_last_slice() {
    uint slot = p.cnt + gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    bool last = last_group_of(slot, gl_NumWorkGroups.z);
    if (last) last_group_reset(slot);
    return last;
}
