#version 450
// optim_adamw: one torch.optim.AdamW step (amsgrad off) over a contiguous
// range of n parameters (a whole parameter group in one dispatch):
//   p = p * (1 - lr * wd)
//   m = b1 * m + (1 - b1) * g
//   v = b2 * v + (1 - b2) * g^2
//   p = p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),
//   bc1 = 1 - b1^t, bc2 = 1 - b2^t.
// lr = step[LR_SLOT] and t = step[ASVK_STEP_T] (1-based) are read at run
// time from the step buffer; betas, eps, wd are push constants.
// Bias corrections: 1 - b^t = -expm1(t ln b), with ln b computed by the host
// in double; expm1 by its Taylor series where |t ln b| < 0.5 (1 - exp would
// lose up to all digits there: 1 - 0.999^1 = 0.001 from exp's few-ulp
// error), 1 - exp(.) elsewhere (no cancellation: exp <= 0.61).
// Bindings: 0 step (in), 1 grad (in), 2 param (in/out), 3 m (in/out),
// 4 v (in/out). Push: n, lr slot, t slot, element offsets, b1, b2, ln b1,
// ln b2, eps, wd. One invocation per 4 parameters, folded linear grid.
// Spec constants: 0 workgroup size, 1 VEC (grad, param, m, v offsets 4-aligned).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool VEC = false;

IN_TENSOR(0, step);
IN_TENSOR(1, grad);
INOUT_TENSOR(2, param);
INOUT_TENSOR(3, mom);
INOUT_TENSOR(4, vel);
layout(push_constant) uniform P {
    uint n, lr_slot, t_slot, soff, goff, poff, moff, voff;
    float b1, b2, ln_b1, ln_b2, eps, wd;
} p;

// 1 - exp(y) for y <= 0, to a few ulp.
float one_minus_exp(float y) {
    if (y < -88.0) return 1.0; // exp(y) < 2^-126: nothing left to subtract
    if (y < -0.5) return 1.0 - exp(y);
    float s = 1.0; // expm1(y) = y (1 + y/2 (1 + y/3 (1 + ...)))
    [[unroll]] for (int k = 11; k >= 2; k--) s = 1.0 + s * y / float(k);
    return -y * s;
}

void main() {
    uint i = LINEAR_ID * 4u;
    if (i >= p.n) return;
    float lr = LD1(step, p.soff + p.lr_slot), t = LD1(step, p.soff + p.t_slot);
    float decay = 1.0 - lr * p.wd;
    float step_size = lr / one_minus_exp(t * p.ln_b1);
    float sbc2 = sqrt(one_minus_exp(t * p.ln_b2));
    if (VEC && i + 4u <= p.n) {
        vec4 g = LD4(grad, (p.goff + i) >> 2);
        uint pi = (p.poff + i) >> 2, mi = (p.moff + i) >> 2, vi = (p.voff + i) >> 2;
        vec4 m = p.b1 * RD4(mom, mi) + (1.0 - p.b1) * g;
        vec4 v = p.b2 * RD4(vel, vi) + (1.0 - p.b2) * (g * g);
        vec4 w = RD4(param, pi) * decay;
        w -= step_size * m / (sqrt(v) / sbc2 + p.eps);
        ST4(param, pi, w);
        ST4(mom, mi, m);
        ST4(vel, vi, v);
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++) {
            if (i + j >= p.n) break;
            float g = LD1(grad, p.goff + i + j);
            uint pi = p.poff + i + j, mi = p.moff + i + j, vi = p.voff + i + j;
            float m = p.b1 * RD1(mom, mi) + (1.0 - p.b1) * g;
            float v = p.b2 * RD1(vel, vi) + (1.0 - p.b2) * (g * g);
            float w = RD1(param, pi) * decay;
            w -= step_size * m / (sqrt(v) / sbc2 + p.eps);
            ST1(param, pi, w);
            ST1(mom, mi, m);
            ST1(vel, vi, v);
        }
    }
}
