// Shared by the conv kernels (shaders/conv/): one push-constant block for all
// of them (runtime/kernels/conv.c fills it), and the window walk.
//
// Layouts: activations NHWC, element (n, y, x, c) at ((n*H + y)*W + x)*C + c;
// weights OHWI, element (co, ky, kx, ci) at ((co*KH + ky)*KW + kx)*Cg + ci
// with Cg = Cin/groups, Cog = Cout/groups; group g owns input channels
// [g*Cg, (g+1)*Cg) and output channels [g*Cog, (g+1)*Cog).
//
// Windows: a kernel row is walked by residue kr = kx mod sw and, inside a
// residue, in windows of NIB taps kx = kr + sw*(i0 + ii), ii < NIB. Output
// column ox reads input column sw*(ox + i0 + ii) - pw + kr, so TP consecutive
// outputs and NIB taps share TP + NIB - 1 input columns: a sliding window
// held in registers, whatever the stride. The backward-data gather walks
// input columns of one residue class (ix = r + sw*m) the same way.
#ifndef ASVK_CONV_GLSL
#define ASVK_CONV_GLSL
#include "io.glsl"

layout(push_constant) uniform P {
    uint n, h, w, cin;     // input geometry
    uint oh, ow, cout, groups;
    uint kh, kw, sh, sw;
    uint ph, pw, cg, cog;  // padding; channels per group in / out
    uint off0, off1, off2, off3; // element offsets of bindings 0..3
    uint total;            // invocations of the grid (LINEAR_ID < total)
    uint e0, e1, e2, e3;   // kernel-specific, see each kernel
    uint has_bias;         // forward kernels: add the bias (binding 2); a push constant, not a
                           // specialization constant, to halve the pipelines to compile
    uint xg, xb, xm, xi;   // a batch norm fused into the input's loads: element offsets of its
                           // gamma, beta, mean, invstd (bn_load.glsl; depthwise kernels)
} p;

// Input column of window position s (0 <= s < TP + NIB - 1) for outputs
// starting at ox0, window start i0, residue kr; may lie in the padding.
int conv_in_col(uint ox0, uint i0, uint kr, uint s) { return int(p.sw * (ox0 + i0 + s) + kr) - int(p.pw); }

#endif
