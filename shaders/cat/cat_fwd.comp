#version 450
// cat_fwd: channel concatenation of NHWC tensors, all parts in one dispatch:
//   y[r][cbeg[i] + c] = x_i[r][c]   for pixel r < rows, c < channels of part i,
// y has C = sum of the parts' channels; part i spans channels
// [cbeg[i], cbeg[i+1]) (the last ends at C). Up to 8 parts; unused bindings
// repeat part 0 and are never read.
// Bindings: 0-7 x_0..x_7 (in), 8 y (out). Push: total = rows*C, C, parts,
// y offset, cbeg[8], x offsets[8].
// One invocation per 4 consecutive floats of y (flat index): vec4 stores
// where the y offset is 4-aligned (spec VY); a vec4 load where the four
// come from one row of one part at a 4-aligned index, scalar loads otherwise.
// Folded linear grid. Spec constants: 0 workgroup size, 1 VY.
#extension GL_GOOGLE_include_directive : require
#include "io.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool VY = false;

IN_TENSOR(0, x0);
IN_TENSOR(1, x1);
IN_TENSOR(2, x2);
IN_TENSOR(3, x3);
IN_TENSOR(4, x4);
IN_TENSOR(5, x5);
IN_TENSOR(6, x6);
IN_TENSOR(7, x7);
OUT_TENSOR(8, y);
layout(push_constant) uniform P { uint total, c, parts, yoff; uint cbeg[8]; uint xoff[8]; } p;

float ld1(uint part, uint i) {
    switch (part) {
    case 0u: return LD1(x0, i);
    case 1u: return LD1(x1, i);
    case 2u: return LD1(x2, i);
    case 3u: return LD1(x3, i);
    case 4u: return LD1(x4, i);
    case 5u: return LD1(x5, i);
    case 6u: return LD1(x6, i);
    default: return LD1(x7, i);
    }
}

vec4 ld4(uint part, uint q) {
    switch (part) {
    case 0u: return LD4(x0, q);
    case 1u: return LD4(x1, q);
    case 2u: return LD4(x2, q);
    case 3u: return LD4(x3, q);
    case 4u: return LD4(x4, q);
    case 5u: return LD4(x5, q);
    case 6u: return LD4(x6, q);
    default: return LD4(x7, q);
    }
}

// The part holding channel ch (the last part starting at or before it).
uint part_of(uint ch) {
    uint i = p.parts - 1u;
    while (i > 0u && p.cbeg[i] > ch) i--;
    return i;
}

uint part_end(uint i) { return i + 1u < p.parts ? p.cbeg[i + 1u] : p.c; }

// Element index in x_part of flat y element e.
uint x_index(uint e, out uint part, out uint rest) {
    uint r = e / p.c, ch = e % p.c;
    part = part_of(ch);
    uint cnt = part_end(part) - p.cbeg[part], cc = ch - p.cbeg[part];
    rest = cnt - cc; // elements of this part left in the row
    return p.xoff[part] + r * cnt + cc;
}

void main() {
    uint e = LINEAR_ID * 4u;
    if (e >= p.total) return;
    bool full = e + 4u <= p.total;
    uint part, rest;
    uint xi = x_index(e, part, rest);
    if (VY && full) {
        vec4 v;
        if (rest >= 4u && (xi & 3u) == 0u) {
            v = ld4(part, xi >> 2);
        } else {
            v.x = ld1(part, xi);
            [[unroll]] for (uint j = 1u; j < 4u; j++) {
                uint pj, rj;
                uint xj = x_index(e + j, pj, rj);
                v[j] = ld1(pj, xj);
            }
        }
        ST4(y, (p.yoff + e) >> 2, v);
    } else {
        ST1(y, p.yoff + e, ld1(part, xi));
        [[unroll]] for (uint j = 1u; j < 4u; j++)
            if (e + j < p.total) {
                uint pj, rj;
                uint xj = x_index(e + j, pj, rj);
                ST1(y, p.yoff + e + j, ld1(pj, xj));
            }
    }
}
