#version 450
// linear_bias_fill: y[r][j] = b[j] for r < rows, j < cols: the bias
// broadcast that the linear forward's GEMM (beta = 1) then adds x W^T onto.
// Bindings: 0 b (in), 1 y (out). Push: total = rows*cols, cols, element offsets.
// One invocation per 4 consecutive floats of y (flat index), folded linear
// grid. Spec constants: 0 workgroup size, 1 VY (y offset 4-aligned: vec4
// stores), 2 VB (cols and the b offset 4-aligned too: vec4 bias loads).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool VY = false;
layout(constant_id = 2) const bool VB = false;

IN_TENSOR(0, b);
OUT_TENSOR(1, y);
layout(push_constant) uniform P { uint total, cols, boff, yoff; } p;

void main() {
    uint e = LINEAR_ID * 4u;
    if (e >= p.total) return;
    if (VY && e + 4u <= p.total) {
        uint j = e % p.cols;
        vec4 v;
        if (VB) {
            v = LD4(b, (p.boff + j) >> 2);
        } else {
            [[unroll]] for (uint k = 0u; k < 4u; k++) v[k] = LD1(b, p.boff + (e + k) % p.cols);
        }
        ST4(y, (p.yoff + e) >> 2, v);
    } else {
        [[unroll]] for (uint k = 0u; k < 4u; k++)
            if (e + k < p.total) ST1(y, p.yoff + e + k, LD1(b, p.boff + (e + k) % p.cols));
    }
}
