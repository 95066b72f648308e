#version 450
layout(local_size_x = 64) in;
layout(set=0, binding=0, rgba32f) uniform writeonly restrict imageBuffer O;
layout(set=0, binding=1) uniform samplerBuffer I;
layout(push_constant) uniform P { uint n; uint mode; } p;
void main() {
  uint i = gl_GlobalInvocationID.y * 65535u * 64u + gl_GlobalInvocationID.x;
  if (i >= p.n) return;
  vec4 v = p.mode == 1u ? texelFetch(I, int(i)) : vec4(float(i), 1.0, 2.0, 3.0);
  imageStore(O, int(i), v);
}
