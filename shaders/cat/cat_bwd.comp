#version 450
// cat_bwd: the gradient of channel concatenation, a split of dy into all
// parts in one dispatch:
//   dx_i[r][c] (+)= dy[r][cbeg[i] + c]   for pixel r < rows, c < cnt[i],
// dy has C channels. Up to 8 parts (the launcher leaves out parts that need
// no gradient); unused bindings repeat part 0 and are never touched.
// Bindings: 0 dy (in), 1-8 dx_0..dx_7 (in/out). Push: rows, C, parts,
// dy offset, accumulate mask, cbeg[8], cnt[8], dx offsets[8].
// Invocations cover the parts one after another, each part in quads of 4
// consecutive floats of dx_i (flat index): a vec4 store where the dx_i index
// is 4-aligned, a vec4 load where the four lie in one row of dy at a
// 4-aligned index, scalar accesses otherwise. Folded linear grid.
// Spec constants: 0 workgroup size. The accumulate flags are a push-constant
// bit mask (bit i: dx_i += instead of =), not specialization constants: a
// network has many concat points with different masks, and 2^8 pipelines of
// one kernel would cost more in builds than the uniform branch costs here.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;

IN_TENSOR(0, dy);
INOUT_TENSOR(1, d0);
INOUT_TENSOR(2, d1);
INOUT_TENSOR(3, d2);
INOUT_TENSOR(4, d3);
INOUT_TENSOR(5, d4);
INOUT_TENSOR(6, d5);
INOUT_TENSOR(7, d6);
INOUT_TENSOR(8, d7);
layout(push_constant) uniform P { uint rows, c, parts, dyoff, accum; uint cbeg[8]; uint cnt[8]; uint dxoff[8]; } p;

#define ACCESS(part, stmt)     \
    switch (part) {            \
    case 0u: stmt(d0); break;  \
    case 1u: stmt(d1); break;  \
    case 2u: stmt(d2); break;  \
    case 3u: stmt(d3); break;  \
    case 4u: stmt(d4); break;  \
    case 5u: stmt(d5); break;  \
    case 6u: stmt(d6); break;  \
    default: stmt(d7); break;  \
    }

void store4(uint part, uint q, vec4 v) {
    bool acc = ((p.accum >> part) & 1u) != 0u;
#define S4(t) ST4(t, q, acc ? RD4(t, q) + v : v)
    ACCESS(part, S4)
#undef S4
}

void store1(uint part, uint i, float v) {
    bool acc = ((p.accum >> part) & 1u) != 0u;
#define S1(t) ST1(t, i, acc ? RD1(t, i) + v : v)
    ACCESS(part, S1)
#undef S1
}

void main() {
    uint q = LINEAR_ID, part = 0u;
    // find the part this quad belongs to
    for (;;) {
        if (part >= p.parts) return;
        uint nq = (p.rows * p.cnt[part] + 3u) / 4u;
        if (q < nq) break;
        q -= nq;
        part++;
    }
    uint cnt = p.cnt[part], total = p.rows * cnt, e = q * 4u;
    uint r = e / cnt, cc = e % cnt;
    uint di = p.dyoff + r * p.c + p.cbeg[part] + cc;
    vec4 v;
    if (cc + 4u <= cnt && (di & 3u) == 0u) {
        v = LD4(dy, di >> 2);
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++) {
            uint ej = e + j;
            v[j] = ej < total ? LD1(dy, p.dyoff + (ej / cnt) * p.c + p.cbeg[part] + ej % cnt) : 0.0;
        }
    }
    uint o = p.dxoff[part] + e;
    if (e + 4u <= total && (o & 3u) == 0u) {
        store4(part, o >> 2, v);
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (e + j < total) store1(part, o + j, v[j]);
    }
}
