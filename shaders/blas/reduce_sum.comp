#version 450
// reduce_sum: row sums (or partial sums) with a shared-memory tree; see include/reduce_sum.glsl.
#extension GL_GOOGLE_include_directive : require
#include "reduce_sum.glsl"
