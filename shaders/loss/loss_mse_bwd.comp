#version 450
// loss_mse_bwd: gradient of loss_mse_fwd's scale * sum (y - t)^2 with
// respect to y, scaled by the upstream gradient:
//   dy[i] (=, or += when ACCUM) f * (y[i] - t[i]) for i < n,  f = SCALE2 * dout[0],
// SCALE2 = 2 * scale, dout[0] read from the device (the gradient of the
// loss term), so a recorded step may change it between replays. The target
// t gets no gradient.
// Bindings: 0 y (in), 1 t (in), 2 dout (in, 1 float), 3 dy (in/out; must not
// overlap y or t).
// Push: N, element offsets of y, t, dout and dy, SCALE2.
// Four elements per invocation, element 4*i .. 4*i+3 for invocation i of a
// folded linear grid. Spec constants: 0 workgroup size, 1 ACCUM (dy += ...),
// 2 VEC (the y, t and dy offsets 4-aligned: vec4 loads and stores; the tail
// past the last whole vec4 is scalar).
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUM = false;
layout(constant_id = 2) const bool VEC = false;

IN_TENSOR(0, y);
IN_TENSOR(1, t);
IN_TENSOR(2, dout);
INOUT_TENSOR(3, dy);
layout(push_constant) uniform P { uint n, yoff, toff, doff, dyoff; float scale2; } p;

void main() {
    uint e = LINEAR_ID * 4u;
    if (e >= p.n) return;
    float f = p.scale2 * LD1(dout, p.doff);
    if (VEC && e + 4u <= p.n) {
        vec4 g = f * (LD4(y, (p.yoff + e) >> 2) - LD4(t, (p.toff + e) >> 2));
        uint o = (p.dyoff + e) >> 2;
        if (ACCUM) g += RD4(dy, o);
        ST4(dy, o, g);
    } else {
        for (uint j = 0u; j < 4u; j++)
            if (e + j < p.n) {
                float g = f * (LD1(y, p.yoff + e + j) - LD1(t, p.toff + e + j));
                if (ACCUM) g += RD1(dy, p.dyoff + e + j);
                ST1(dy, p.dyoff + e + j, g);
            }
    }
}
