#version 450
// copy2d: y[yoff + r*yld + c] = x[xoff + r*xld + c] for r < rows, c < cols.
// The strided copy behind channel concat and split. Bindings: 0 x (in), 1 y (out).
// One invocation per 4 columns of a row (quads = ceil(cols/4)), on a folded
// linear grid. vec4 loads/stores when every offset and stride is 4-aligned
// (spec constant ALIGNED).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ALIGNED = false;
// N4 (ALIGNED and cols a multiple of 4): vec4 only. lavapipe runs both
// sides of a branch that differs between lanes, so an unused scalar tail
// still slowed every vec4 store.
layout(constant_id = 2) const bool N4 = false;

IN_TENSOR(0, x);
OUT_TENSOR(1, y);
layout(push_constant) uniform P { uint rows, cols, xld, yld, xoff, yoff, quads; } p;

void main() {
    uint id = LINEAR_ID;
    uint r = id / p.quads, c = (id % p.quads) * 4u;
    if (r >= p.rows) return;
    uint xs = p.xoff + r * p.xld + c, ys = p.yoff + r * p.yld + c;
    if (ALIGNED && (N4 || c + 4u <= p.cols)) {
        ST4(y, ys >> 2, LD4(x, xs >> 2));
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (c + j < p.cols) ST1(y, ys + j, LD1(x, xs + j));
    }
}
