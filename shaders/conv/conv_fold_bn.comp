#version 450
// conv_fold_bn: folds an inference BatchNorm into the convolution before it,
// so that the convolution's epilogue (bias, activation) does all of BN:
//   a[co]      = gamma[co] * inversesqrt(var[co] + eps)      (as bn_apply computes it)
//   wf[co][e]  = w[co][e] * a[co]                            e < KC = KH*KW*Cin/groups (OHWI rows)
//   bf[co]     = (bias[co] - mean[co]) * a[co] + beta[co]    (bias 0 without BIAS; bn_apply's order)
// Bindings: 0 w, 1 bias (any buffer without BIAS, never read), 2 gamma,
// 3 beta, 4 mean, 5 var (in), 6 wf, 7 bf (out).
// Push: cout, KC, WQ = ceil(cout*KC/4) weight quads, element offsets of the
// eight bindings, total invocations, eps.
// Spec: 0 WG, 1 BIAS, 2 VW (w and wf offsets 4-aligned: vec4 loads and
// stores of the weights; scalar otherwise).
// Mapping: invocation id < WQ writes wf[4id .. 4id+3] (each element scaled
// by its own channel's a, so rows of any length KC work); invocation WQ + q
// writes bf[4q .. 4q+3].
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool BIAS = false;
layout(constant_id = 2) const bool VW = false;

IN_TENSOR(0, Wt);
IN_TENSOR(1, Bc);
IN_TENSOR(2, Gamma);
IN_TENSOR(3, Beta);
IN_TENSOR(4, Mean);
IN_TENSOR(5, Var);
OUT_TENSOR(6, Wf);
OUT_TENSOR(7, Bf);

layout(push_constant) uniform P {
    uint cout, kc, wq;
    uint offw, offb, offg, offbeta, offm, offv, offwf, offbf;
    uint total;
    float eps;
} p;

float scale(uint co) { return LD1(Gamma, p.offg + co) * inversesqrt(LD1(Var, p.offv + co) + p.eps); }

void main() {
    uint id = LINEAR_ID;
    if (id >= p.total) return;
    if (id < p.wq) {
        uint i0 = id * 4u, n = p.cout * p.kc;
        vec4 a;
        [[unroll]] for (uint j = 0u; j < 4u; j++) a[j] = scale(min(i0 + j, n - 1u) / p.kc);
        if (VW && i0 + 4u <= n) {
            ST4(Wf, (p.offwf + i0) >> 2, LD4(Wt, (p.offw + i0) >> 2) * a);
        } else {
            [[unroll]] for (uint j = 0u; j < 4u; j++)
                if (i0 + j < n) ST1(Wf, p.offwf + i0 + j, LD1(Wt, p.offw + i0 + j) * a[j]);
        }
        return;
    }
    uint c0 = (id - p.wq) * 4u;
    [[unroll]] for (uint j = 0u; j < 4u; j++) {
        uint co = c0 + j;
        if (co >= p.cout) break;
        float b = BIAS ? LD1(Bc, p.offb + co) : 0.0;
        ST1(Bf, p.offbf + co, (b - LD1(Mean, p.offm + co)) * scale(co) + LD1(Beta, p.offbeta + co));
    }
}
