#version 450
// dropout_apply: out[i] (+)= in[i] * mask(i) * scale for i < n, with
// mask(i) = 1 when the counter-based hash of (seed, stream, i) is at least
// `threshold` (24-bit), else 0, and scale = 1/(1-p). The forward is
// y = dropout(x) (ACCUM off); the backward dx (+)= dropout(dy) recomputes
// the very same mask, so no mask tensor is stored. The seed is read from the
// step buffer (ASVK_STEP_SEED, uint bits) so a recorded step draws a new mask
// on every replay; `stream` separates the dropout layers of one step; i is
// the index inside the tensor (views do not change the mask).
//   key  = h(seed ^ h(stream ^ 0x9e3779b9))
//   mask = (h(h(i ^ key) + key) >> 8) >= threshold,  h = lowbias32
// tests/ref/eltwise_ref.c holds the same hash in C. threshold = 0 keeps every
// element and scale = 1: p = 0 is the exact identity.
// Bindings: 0 in, 1 step (in), 2 out (out, or in/out when ACCUM; may be `in`
// itself when not accumulating). Push: n, offsets, index of the seed in the
// step binding, threshold, scale, stream. Spec constants: 0 workgroup size,
// 1 ALIGNED (in/out offsets multiples of 4), 2 ITEMS (quads per invocation),
// 3 ACCUM. Mapping as act_fwd.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ALIGNED = false;
layout(constant_id = 2) const uint ITEMS = 4u;
layout(constant_id = 3) const bool ACCUM = false;

IN_TENSOR(0, src);
IN_TENSOR(1, step);
INOUT_TENSOR(2, dst);
layout(push_constant) uniform P { uint n, soff, doff, seed_index, threshold; float scale; uint stream; } p;

// Chris Wellons' lowbias32: a bijective 32-bit mixer with low avalanche bias.
uint lowbias32(uint x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

float keep(uint key, uint i) { return (lowbias32(lowbias32(i ^ key) + key) >> 8) >= p.threshold ? p.scale : 0.0; }

void main() {
    uint key = lowbias32(floatBitsToUint(LD1(step, p.seed_index)) ^ lowbias32(p.stream ^ 0x9e3779b9u));
    for (uint t = 0u; t < ITEMS; t++) {
        uint i = ((LINEAR_GROUP * ITEMS + t) * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * 4u;
        if (i >= p.n) return;
        if (ALIGNED && i + 4u <= p.n) {
            uint o = (p.doff + i) >> 2;
            vec4 m = vec4(keep(key, i), keep(key, i + 1u), keep(key, i + 2u), keep(key, i + 3u));
            vec4 v = LD4(src, (p.soff + i) >> 2) * m;
            ST4(dst, o, ACCUM ? RD4(dst, o) + v : v);
        } else {
            for (uint j = 0u; j < 4u && i + j < p.n; j++) {
                uint o = p.doff + i + j;
                float v = LD1(src, p.soff + i + j) * keep(key, i + j);
                ST1(dst, o, ACCUM ? RD1(dst, o) + v : v);
            }
        }
    }
}
