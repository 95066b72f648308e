// Tensor bindings and loads, written once for every kernel.
//
// Read-only tensors are declared with IN_TENSOR and read with LD4 (a vec4 at
// vec4 index i) or LD1 (a float at element index i). Each shader is compiled
// twice (shaders/CMakeLists.txt): with ASVK_IN_TEXEL=1 they are RGBA32F
// uniform texel buffers, read through the texture path (18-30x faster than
// storage-buffer loads on lavapipe); with ASVK_IN_TEXEL=0 they are read-only
// storage buffers. The engine picks the variant per device and per dispatch.
// Written tensors are storage buffers of vec4; ST1 writes one component.
// Both compile a second time with ASVK_F16=1 (below): the variants that can
// store tensors as fp16. A fifth variant (ASVK_IN_IMAGE=1, fp32 only) binds
// the read-only tensors as RGBA32F storage texel buffers read by imageLoad:
// lavapipe calls a function for every texelFetch from a float texel buffer
// (SGEMM spends 58% of its cycles there) and compiles image loads on a
// cheaper path (docs/perf.md, "What bounds SGEMM on lavapipe"). A shader
// measured faster with texelFetch defines ASVK_PREFER_TEXEL_FETCH before
// including this file: its image variant is then its texel variant.
//
// Buffers are bound from 16-byte aligned offsets with ranges rounded up to
// 16 bytes, so a vec4 whose first element is in range can always be read.
#ifndef ASVK_IO_GLSL
#define ASVK_IO_GLSL

#extension GL_EXT_control_flow_attributes : require

#ifndef ASVK_F16
#define ASVK_F16 0
#endif

#if ASVK_F16
// fp16 storage variants (ASVK_F16=1): any tensor may be stored as fp16, one
// bit per binding in the specialization constant F16_MASK (constant_id 23,
// set by the engine from the buffers bound; every branch on it folds when
// the pipeline is built). Storage-buffer tensors are declared twice at their
// binding, as vec4 and as f16vec4 (aliases of one descriptor); texel inputs
// need nothing: an fp16 tensor is bound through an RGBA16F view and
// texelFetch converts. Arithmetic stays fp32: loads widen, stores narrow.
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(constant_id = 23) const uint F16_MASK = 0u;
#define IS_F16(name) ((F16_MASK & (1u << name##_binding)) != 0u)
#endif

#ifndef ASVK_IN_IMAGE
#define ASVK_IN_IMAGE 0
#endif
#if ASVK_IN_IMAGE && defined(ASVK_PREFER_TEXEL_FETCH)
#undef ASVK_IN_IMAGE
#define ASVK_IN_IMAGE 0
#endif

#if ASVK_IN_IMAGE && ASVK_F16
#error "the imageLoad variant is fp32 only: fp16 tensors are read through RGBA16F uniform texel views"
#elif ASVK_IN_IMAGE
#define IN_TENSOR(b, name) layout(set = 0, binding = b, rgba32f) uniform readonly restrict imageBuffer name; const uint name##_binding = b
#define LD4(name, i) imageLoad(name, int(i))
#elif ASVK_IN_TEXEL
#define IN_TENSOR(b, name) layout(set = 0, binding = b) uniform samplerBuffer name; const uint name##_binding = b
#define LD4(name, i) texelFetch(name, int(i))
#elif ASVK_F16
#define IN_TENSOR(b, name)                                                                        \
    layout(set = 0, binding = b, std430) readonly restrict buffer name##_block { vec4 name[]; }; \
    layout(set = 0, binding = b, std430) readonly restrict buffer name##_hblock { f16vec4 name##_h[]; }; \
    const uint name##_binding = b
#define LD4(name, i) (IS_F16(name) ? vec4(name##_h[i]) : name[i])
#else
#define IN_TENSOR(b, name) layout(set = 0, binding = b, std430) readonly restrict buffer name##_block { vec4 name[]; }; const uint name##_binding = b
#define LD4(name, i) name[i]
#endif
#define LD1(name, i) LD4(name, (i) >> 2)[(i) & 3u]

#if ASVK_F16
#define OUT_TENSOR(b, name)                                                                        \
    layout(set = 0, binding = b, std430) writeonly restrict buffer name##_block { vec4 name[]; }; \
    layout(set = 0, binding = b, std430) writeonly restrict buffer name##_hblock { f16vec4 name##_h[]; }; \
    const uint name##_binding = b
#define INOUT_TENSOR(b, name)                                                            \
    layout(set = 0, binding = b, std430) restrict buffer name##_block { vec4 name[]; }; \
    layout(set = 0, binding = b, std430) restrict buffer name##_hblock { f16vec4 name##_h[]; }; \
    const uint name##_binding = b
#define ST4(name, i, v) do { if (IS_F16(name)) name##_h[i] = f16vec4(v); else name[i] = (v); } while (false)
#define ST1(name, i, v) do { if (IS_F16(name)) name##_h[(i) >> 2][(i) & 3u] = float16_t(v); else name[(i) >> 2][(i) & 3u] = (v); } while (false)
#define RD4(name, i) (IS_F16(name) ? vec4(name##_h[i]) : name[i])
#define RD1(name, i) RD4(name, (i) >> 2)[(i) & 3u]
#else
#define OUT_TENSOR(b, name) layout(set = 0, binding = b, std430) writeonly restrict buffer name##_block { vec4 name[]; }; const uint name##_binding = b
#define INOUT_TENSOR(b, name) layout(set = 0, binding = b, std430) restrict buffer name##_block { vec4 name[]; }; const uint name##_binding = b
#define ST4(name, i, v) name[i] = (v)
#define ST1(name, i, v) name[(i) >> 2][(i) & 3u] = (v)
#define RD4(name, i) name[i]
#define RD1(name, i) name[(i) >> 2][(i) & 3u]
#endif

// Linear workgroup index of a 1-D grid that the engine folded into x and y
// (asvk_stream_dispatch_linear) to stay within maxComputeWorkGroupCount.
#define LINEAR_GROUP (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x)
#define LINEAR_ID (LINEAR_GROUP * gl_WorkGroupSize.x + gl_LocalInvocationID.x)

#endif
