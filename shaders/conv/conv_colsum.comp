#version 450
// conv_colsum: column sums of a row-major [rows][cols] matrix, by chunks of
// rows: y[s][c] (=, or += when ACC) sum_{r in chunk s} x[r][c], in row order
// (deterministic). Serves the bias gradient (x = dy as [N*OH*OW][Cout]) and
// the second pass of the split 1x1 weight gradients on CPU devices (x =
// partials [S][|dw|]; GPUs and the other weight gradients sum their chunks
// in their own dispatch).
// Bindings: 0 x (in), 1 y (in/out).
// Push (conv.glsl): off0, off1 element offsets of x, y; total; e0 =
// ceil(cols/4) column quads, e1 = rows per chunk, e2 = rows, e3 = cols.
// Spec: 0 WG, 1 VEC (cols % 4 == 0 and both offsets 4-aligned), 2 ACC.
// Mapping: one invocation per (column quad, chunk), quad fastest.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool VEC = false;
layout(constant_id = 2) const bool ACC = false;
#include "conv.glsl"

IN_TENSOR(0, X);
INOUT_TENSOR(1, Y);

void main() {
    uint id = LINEAR_ID;
    if (id >= p.total) return;
    uint cq = id % p.e0, chunk = id / p.e0, cols = p.e3;
    uint c = cq * 4u, r0 = chunk * p.e1, r1 = min(r0 + p.e1, p.e2);
    uint cl[4];
    [[unroll]] for (uint j = 0u; j < 4u; j++) cl[j] = min(c + j, cols - 1u);
    vec4 s = vec4(0.0);
    for (uint r = r0; r < r1; r++) {
        uint b = p.off0 + r * cols;
        if (VEC) s += LD4(X, (b + c) >> 2);
        else s += vec4(LD1(X, b + cl[0]), LD1(X, b + cl[1]), LD1(X, b + cl[2]), LD1(X, b + cl[3]));
    }
    uint o = p.off1 + chunk * cols + c;
    if (VEC) {
        if (ACC) s += RD4(Y, o >> 2);
        ST4(Y, o >> 2, s);
    } else {
        [[unroll]] for (uint j = 0u; j < 4u; j++)
            if (c + j < cols) {
                float v = s[j];
                if (ACC) v += RD1(Y, o + j);
                ST1(Y, o + j, v);
            }
    }
}
