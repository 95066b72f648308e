#version 450
// optim_sgd: one torch.optim.SGD step (dampening 0) over a contiguous range
// of n parameters (a whole parameter group in one dispatch):
//   d = g + wd * p                       (when wd != 0)
//   buf = momentum * buf + d             (MOMENTUM; buf starts at zero, so
//                                         the first step gives buf = d exactly,
//                                         PyTorch's first-step rule)
//   d = NESTEROV ? d + momentum * buf : buf
//   p = p - lr * d
// lr = step[LR_SLOT], read at run time from the step buffer (a recorded
// step is replayed with new learning rates); momentum and wd are push
// constants since they do not change between steps.
// Bindings: 0 step (in), 1 grad (in), 2 param (in/out), 3 momentum buffer
// (in/out; unused without MOMENTUM). Push: n, lr slot, element offsets,
// momentum, wd. One invocation per 4 parameters, folded linear grid.
// Spec constants: 0 workgroup size, 1 MOMENTUM, 2 NESTEROV, 3 VEC (grad,
// param and buffer offsets 4-aligned: vec4 accesses).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool MOMENTUM = false;
layout(constant_id = 2) const bool NESTEROV = false;
layout(constant_id = 3) const bool VEC = false;

IN_TENSOR(0, step);
IN_TENSOR(1, grad);
INOUT_TENSOR(2, param);
INOUT_TENSOR(3, mbuf);
layout(push_constant) uniform P { uint n, lr_slot, soff, goff, poff, boff; float momentum, wd; } p;

vec4 update(vec4 g, inout vec4 w, inout vec4 b, float lr) {
    vec4 d = g;
    if (p.wd != 0.0) d += p.wd * w;
    if (MOMENTUM) {
        b = p.momentum * b + d;
        d = NESTEROV ? d + p.momentum * b : b;
    }
    return w - lr * d;
}

void main() {
    uint i = LINEAR_ID * 4u;
    if (i >= p.n) return;
    float lr = LD1(step, p.soff + p.lr_slot);
    if (VEC && i + 4u <= p.n) {
        vec4 w = RD4(param, (p.poff + i) >> 2), b = vec4(0.0);
        if (MOMENTUM) b = RD4(mbuf, (p.boff + i) >> 2);
        w = update(LD4(grad, (p.goff + i) >> 2), w, b, lr);
        ST4(param, (p.poff + i) >> 2, w);
        if (MOMENTUM) ST4(mbuf, (p.boff + i) >> 2, b);
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++) {
            if (i + j >= p.n) break;
            vec4 w = vec4(RD1(param, p.poff + i + j)), b = vec4(0.0);
            if (MOMENTUM) b = vec4(RD1(mbuf, p.boff + i + j));
            w = update(vec4(LD1(grad, p.goff + i + j)), w, b, lr);
            ST1(param, p.poff + i + j, w.x);
            if (MOMENTUM) ST1(mbuf, p.boff + i + j, b.x);
        }
    }
}
