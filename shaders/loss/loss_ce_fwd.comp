#version 450
// loss_ce_fwd: softmax cross-entropy with label smoothing, mean over the batch.
//   logits z: [N][K] row-major; labels: N floats holding class indices.
//   target t_j = ON * [j == label] + OFF  (ON = 1 - eps, OFF = eps / K)
//   loss_i = -sum_j t_j log softmax(z)_j
//          = log(S) + ON * (m - z_label) + OFF * sum_j (m - z_j),
//   m = max_j z_j, S = sum_j exp(z_j - m): every term is >= 0, so there is
//   no cancellation, and nothing overflows.
//   loss = (1/N) sum_i loss_i; correct = #{i : first argmax_j z_ij == label_i}.
// A label outside [0, K) gives that sample a NaN loss (visible, not hidden).
// Bindings: 0 logits (in), 1 labels (in), 2 loss (out, 1 float),
// 3 correct (out, 1 float), 4 per-sample losses (out, N floats; written
// only when PER_SAMPLE). Push: N, K, ON, OFF, element offsets.
// ONE workgroup: invocation l handles rows l, l + WG, ... in order; the
// partial sums meet in a fixed shared-memory tree, so the result is
// deterministic. Spec constants: 0 WG (power of two), 1 PER_SAMPLE,
// 2 VEC (K and the logits offset 4-aligned: vec4 loads).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool PER_SAMPLE = false;
layout(constant_id = 2) const bool VEC = false;

IN_TENSOR(0, z);
IN_TENSOR(1, labels);
OUT_TENSOR(2, loss);
OUT_TENSOR(3, correct);
OUT_TENSOR(4, samples);
layout(push_constant) uniform P { uint n, k; float on, off; uint zoff, loff, lossoff, coroff, soff; } p;

shared float part_loss[gl_WorkGroupSize.x];
shared float part_cor[gl_WorkGroupSize.x];

void main() {
    uint lid = gl_LocalInvocationID.x;
    float lsum = 0.0, csum = 0.0;
    for (uint i = lid; i < p.n; i += gl_WorkGroupSize.x) {
        uint base = p.zoff + i * p.k;
        // max and its first index
        float m = LD1(z, base);
        uint am = 0u;
        if (VEC) {
            for (uint j = 0u; j < p.k; j += 4u) {
                vec4 v = LD4(z, (base + j) >> 2);
                [[unroll]] for (uint c = 0u; c < 4u; c++)
                    if (v[c] > m) { m = v[c]; am = j + c; }
            }
        } else {
            for (uint j = 1u; j < p.k; j++) {
                float v = LD1(z, base + j);
                if (v > m) { m = v; am = j; }
            }
        }
        // S = sum exp(z - m), D = sum (m - z)
        float s = 0.0, d = 0.0;
        if (VEC) {
            for (uint j = 0u; j < p.k; j += 4u) {
                vec4 v = LD4(z, (base + j) >> 2);
                vec4 e = exp(v - m);
                s += (e.x + e.y) + (e.z + e.w);
                vec4 g = m - v;
                d += (g.x + g.y) + (g.z + g.w);
            }
        } else {
            for (uint j = 0u; j < p.k; j++) {
                float v = LD1(z, base + j);
                s += exp(v - m);
                d += m - v;
            }
        }
        float lf = LD1(labels, p.loff + i);
        float li;
        if (lf >= 0.0 && lf < float(p.k)) {
            uint lab = uint(lf);
            li = log(s) + p.on * (m - LD1(z, base + lab)) + p.off * d;
            csum += am == lab ? 1.0 : 0.0;
        } else {
            li = uintBitsToFloat(0x7fc00000u); // NaN: the label is not a class
        }
        lsum += li;
        if (PER_SAMPLE) ST1(samples, p.soff + i, li);
    }
    part_loss[lid] = lsum;
    part_cor[lid] = csum;
    barrier();
    for (uint h = gl_WorkGroupSize.x / 2u; h > 0u; h >>= 1) {
        if (lid < h) {
            part_loss[lid] += part_loss[lid + h];
            part_cor[lid] += part_cor[lid + h];
        }
        barrier();
    }
    if (lid == 0u) {
        ST1(loss, p.lossoff, part_loss[0] / float(p.n));
        ST1(correct, p.coroff, part_cor[0]);
    }
}
