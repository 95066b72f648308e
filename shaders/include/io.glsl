// Tensor bindings and loads, written once for every kernel.
//
// Read-only tensors are declared with IN_TENSOR and read with LD4 (a vec4 at
// vec4 index i) or LD1 (a float at element index i). Each shader is compiled
// twice (shaders/CMakeLists.txt): with ASVK_IN_TEXEL=1 they are RGBA32F
// uniform texel buffers, read through the texture path (18-30x faster than
// storage-buffer loads on lavapipe); with ASVK_IN_TEXEL=0 they are read-only
// storage buffers. The engine picks the variant per device and per dispatch.
// Written tensors are storage buffers of vec4; ST1 writes one component.
//
// Buffers are bound from 16-byte aligned offsets with ranges rounded up to
// 16 bytes, so a vec4 whose first element is in range can always be read.
#ifndef ASVK_IO_GLSL
#define ASVK_IO_GLSL

#extension GL_EXT_control_flow_attributes : require

#if ASVK_IN_TEXEL
#define IN_TENSOR(b, name) layout(set = 0, binding = b) uniform samplerBuffer name
#define LD4(name, i) texelFetch(name, int(i))
#else
#define IN_TENSOR(b, name) layout(set = 0, binding = b, std430) readonly restrict buffer name##_block { vec4 name[]; }
#define LD4(name, i) name[i]
#endif
#define LD1(name, i) LD4(name, (i) >> 2)[(i) & 3u]

#define OUT_TENSOR(b, name) layout(set = 0, binding = b, std430) writeonly restrict buffer name##_block { vec4 name[]; }
#define INOUT_TENSOR(b, name) layout(set = 0, binding = b, std430) restrict buffer name##_block { vec4 name[]; }
#define ST4(name, i, v) name[i] = (v)
#define ST1(name, i, v) name[(i) >> 2][(i) & 3u] = (v)
#define RD4(name, i) name[i]
#define RD1(name, i) name[(i) >> 2][(i) & 3u]

// Linear workgroup index of a 1-D grid that the engine folded into x and y
// (asvk_stream_dispatch_linear) to stay within maxComputeWorkGroupCount.
#define LINEAR_GROUP (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x)
#define LINEAR_ID (LINEAR_GROUP * gl_WorkGroupSize.x + gl_LocalInvocationID.x)

#endif
