#version 450
#extension GL_EXT_control_flow_attributes : require
// 8x8 register-blocked SGEMM C = A B (A M x K, B K x N, row-major), operands read as RGBA32F
// texels through texelFetch (uniform texel buffer) or imageLoad (storage texel buffer).
layout(local_size_x = 8, local_size_y = 1) in;
#if IMG
layout(set=0, binding=0, rgba32f) uniform readonly restrict imageBuffer A;
layout(set=0, binding=1, rgba32f) uniform readonly restrict imageBuffer B;
#define LD(T, i) imageLoad(T, int(i))
#else
layout(set=0, binding=0) uniform samplerBuffer A;
layout(set=0, binding=1) uniform samplerBuffer B;
#define LD(T, i) texelFetch(T, int(i))
#endif
layout(set=0, binding=2, std430) writeonly restrict buffer Cb { vec4 C[]; };
layout(push_constant) uniform P { uint M, N, K; } p;
void main() {
  uint r0 = gl_WorkGroupID.y * 8u;
  uint c0 = (gl_WorkGroupID.x * 2u * 8u + gl_LocalInvocationID.x) * 4u; // quads c0 and c0 + 32
  uint K4 = p.K / 4u, N4 = p.N / 4u;
  vec4 acc[8][2];
  for (int i = 0; i < 8; i++) { acc[i][0] = vec4(0.0); acc[i][1] = vec4(0.0); }
  for (uint k4 = 0u; k4 < K4; k4++) {
    vec4 a[8];
    [[unroll]] for (uint i = 0u; i < 8u; i++) a[i] = LD(A, (r0 + i) * K4 + k4);
    [[unroll]] for (uint kk = 0u; kk < 4u; kk++) {
      uint k = k4 * 4u + kk;
      vec4 b0 = LD(B, k * N4 + c0 / 4u), b1 = LD(B, k * N4 + c0 / 4u + 8u);
      [[unroll]] for (uint i = 0u; i < 8u; i++) { acc[i][0] += a[i][kk] * b0; acc[i][1] += a[i][kk] * b1; }
    }
  }
  [[unroll]] for (uint i = 0u; i < 8u; i++) { C[((r0 + i) * p.N + c0) / 4u] = acc[i][0]; C[((r0 + i) * p.N + c0) / 4u + 8u] = acc[i][1]; }
}
