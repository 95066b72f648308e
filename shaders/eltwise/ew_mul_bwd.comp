#version 450
// ew_mul_bwd: the gradients of c = a * b: da[i] (+)= dy[i] * b[i] and
// db[i] (+)= dy[i] * a[i] for i < n, in one pass over dy.
// Bindings: 0 dy, 1 a, 2 b (in), 3 da, 4 db (out or in/out). A gradient that
// is not wanted (HAS_DA/HAS_DB false) is never touched; its binding holds the
// other output. Push: n and element offsets. Spec constants: 0 workgroup
// size, 1 ALIGNED (all offsets multiples of 4), 2 ITEMS (quads per
// invocation), 3 HAS_DA, 4 HAS_DB, 5 ACC_DA, 6 ACC_DB (add instead of write).
// Mapping as act_fwd.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ALIGNED = false;
layout(constant_id = 2) const uint ITEMS = 4u;
layout(constant_id = 3) const bool HAS_DA = true;
layout(constant_id = 4) const bool HAS_DB = true;
layout(constant_id = 5) const bool ACC_DA = false;
layout(constant_id = 6) const bool ACC_DB = false;

IN_TENSOR(0, dy);
IN_TENSOR(1, a);
IN_TENSOR(2, b);
INOUT_TENSOR(3, da);
INOUT_TENSOR(4, db);
layout(push_constant) uniform P { uint n, dyoff, aoff, boff, daoff, dboff; } p;

void main() {
    for (uint t = 0u; t < ITEMS; t++) {
        uint i = ((LINEAR_GROUP * ITEMS + t) * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * 4u;
        if (i >= p.n) return;
        if (ALIGNED && i + 4u <= p.n) {
            vec4 g = LD4(dy, (p.dyoff + i) >> 2);
            if (HAS_DA) {
                uint o = (p.daoff + i) >> 2;
                vec4 v = g * LD4(b, (p.boff + i) >> 2);
                ST4(da, o, ACC_DA ? RD4(da, o) + v : v);
            }
            if (HAS_DB) {
                uint o = (p.dboff + i) >> 2;
                vec4 v = g * LD4(a, (p.aoff + i) >> 2);
                ST4(db, o, ACC_DB ? RD4(db, o) + v : v);
            }
        } else {
            for (uint j = 0u; j < 4u && i + j < p.n; j++) {
                float g = LD1(dy, p.dyoff + i + j);
                if (HAS_DA) {
                    uint o = p.daoff + i + j;
                    float v = g * LD1(b, p.boff + i + j);
                    ST1(da, o, ACC_DA ? RD1(da, o) + v : v);
                }
                if (HAS_DB) {
                    uint o = p.dboff + i + j;
                    float v = g * LD1(a, p.aoff + i + j);
                    ST1(db, o, ACC_DB ? RD1(db, o) + v : v);
                }
            }
        }
    }
}
