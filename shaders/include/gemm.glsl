// Shared by the GEMM kernels: C = alpha * op(A) * op(B) + beta * C, batched.
// op(A) is M x K, op(B) is K x N, all row-major with leading dimensions
// lda/ldb/ldc (elements) and element offsets; TA/TB (spec constants, declared
// by the including shader) mean A is stored K x M / B is stored N x K.
// Batch b (gl_WorkGroupID.z) adds b * stride to each offset. row_base shifts
// the rows when the launcher splits a tall matrix over several dispatches.
// beta == 0 never reads C (so NaN garbage in C cannot leak into the result).
// Bindings: 0 A (in), 1 B (in), 2 C (in/out).
#include "io.glsl"

IN_TENSOR(0, A);
IN_TENSOR(1, B);
INOUT_TENSOR(2, C);

layout(push_constant) uniform P {
    uint M, N, K;
    uint lda, ldb, ldc;
    uint offa, offb, offc;
    uint stra, strb, strc;
    uint row_base;
    float alpha, beta;
} p;

uint a_index(uint base, uint m, uint k) { return base + (TA ? k * p.lda + m : m * p.lda + k); }
uint b_index(uint base, uint k, uint n) { return base + (TB ? n * p.ldb + k : k * p.ldb + n); }

void store_c(uint base, uint m, uint n, float v) {
    uint i = base + m * p.ldc + n;
    float r = p.alpha * v;
    if (p.beta != 0.0) r += p.beta * RD1(C, i);
    ST1(C, i, r);
}

// Four consecutive columns n..n+3 of row m; vec4 store when VC (ldc and
// offset 4-aligned) and all four are inside N.
void store_c4(uint base, uint m, uint n, vec4 v, bool vc) {
    if (m >= p.M) return;
    if (vc && n + 4u <= p.N) {
        uint i = (base + m * p.ldc + n) >> 2;
        vec4 r = p.alpha * v;
        if (p.beta != 0.0) r += p.beta * RD4(C, i);
        ST4(C, i, r);
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (n + j < p.N) store_c(base, m, n + j, v[j]);
    }
}
