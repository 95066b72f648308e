#version 450
// peak_fma: the device's arithmetic ceiling for asvk bench peak. Every
// invocation runs CHAINS independent vec4 multiply-add chains for `iters`
// steps (acc = acc * a + b on 4 lanes: 8 flops a step and chain), enough
// independent work to hide the FMA latency, then stores their sum so that
// nothing is dead code. Bindings: 0 y (out, one vec4 per invocation).
// Push: iters, a, b. Flops: invocations * iters * CHAINS * 8. (4 chains
// measured 61 GFLOP/s on lavapipe here, 8 69, 16 72.)
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
const uint CHAINS = 16u;

OUT_TENSOR(0, y);
layout(push_constant) uniform P { uint iters; float a, b; } p;

void main() {
    vec4 acc[CHAINS];
    float s = float(gl_LocalInvocationID.x) * 0.001;
    [[unroll]] for (uint j = 0u; j < CHAINS; j++) acc[j] = vec4(s + float(j), s, -s, 1.0);
    vec4 a = vec4(p.a), b = vec4(p.b);
    for (uint i = 0u; i < p.iters; i++)
        [[unroll]] for (uint j = 0u; j < CHAINS; j++) acc[j] = fma(acc[j], a, b);
    vec4 t = vec4(0.0);
    [[unroll]] for (uint j = 0u; j < CHAINS; j++) t += acc[j];
    ST4(y, LINEAR_ID, t);
}
