#version 450
// loss_ce_bwd: gradient of loss_ce_fwd's mean loss, scaled:
//   dz_ij (+)= (softmax(z_i)_j - t_ij) * scale / N,  t as in loss_ce_fwd,
// scale = dloss[0], read from the device (1.0 for a plain loss; the
// upstream gradient otherwise), so a recorded step can change it.
// A label outside [0, K) gives that row NaN gradients.
// Bindings: 0 logits (in), 1 labels (in), 2 dloss (in), 3 dlogits (in/out).
// Push: N, K, ON, OFF, element offsets.
// One invocation per row (max, sum of exponentials, then the K outputs),
// folded linear grid. Spec constants: 0 workgroup size, 1 ACCUM (dz += ...),
// 2 VEC (K and the logits and dlogits offsets 4-aligned).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUM = false;
layout(constant_id = 2) const bool VEC = false;

IN_TENSOR(0, z);
IN_TENSOR(1, labels);
IN_TENSOR(2, dloss);
INOUT_TENSOR(3, dz);
layout(push_constant) uniform P { uint n, k; float on, off; uint zoff, loff, doff, dzoff; } p;

void main() {
    uint i = LINEAR_ID;
    if (i >= p.n) return;
    uint base = p.zoff + i * p.k, obase = p.dzoff + i * p.k;
    float m = LD1(z, base);
    if (VEC) {
        for (uint j = 0u; j < p.k; j += 4u) {
            vec4 v = LD4(z, (base + j) >> 2);
            m = max(m, max(max(v.x, v.y), max(v.z, v.w)));
        }
    } else {
        for (uint j = 1u; j < p.k; j++) m = max(m, LD1(z, base + j));
    }
    float s = 0.0;
    if (VEC) {
        for (uint j = 0u; j < p.k; j += 4u) {
            vec4 e = exp(LD4(z, (base + j) >> 2) - m);
            s += (e.x + e.y) + (e.z + e.w);
        }
    } else {
        for (uint j = 0u; j < p.k; j++) s += exp(LD1(z, base + j) - m);
    }
    float lf = LD1(labels, p.loff + i);
    bool valid = lf >= 0.0 && lf < float(p.k);
    uint lab = valid ? uint(lf) : 0xffffffffu;
    float f = LD1(dloss, p.doff) / float(p.n);
    float rs = valid ? 1.0 / s : uintBitsToFloat(0x7fc00000u);
    if (VEC) {
        for (uint j = 0u; j < p.k; j += 4u) {
            vec4 t = vec4(p.off) + p.on * vec4(equal(uvec4(j, j + 1u, j + 2u, j + 3u), uvec4(lab)));
            vec4 g = (exp(LD4(z, (base + j) >> 2) - m) * rs - t) * f;
            uint o = (obase + j) >> 2;
            if (ACCUM) g += RD4(dz, o);
            ST4(dz, o, g);
        }
    } else {
        for (uint j = 0u; j < p.k; j++) {
            float t = p.off + (j == lab ? p.on : 0.0);
            float g = (exp(LD1(z, base + j) - m) * rs - t) * f;
            if (ACCUM) g += RD1(dz, obase + j);
            ST1(dz, obase + j, g);
        }
    }
}
