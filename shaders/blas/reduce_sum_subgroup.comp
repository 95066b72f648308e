#version 450
// reduce_sum_subgroup: reduce_sum with subgroupAdd; see include/reduce_sum.glsl.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#define USE_SUBGROUP 1
#include "reduce_sum.glsl"
