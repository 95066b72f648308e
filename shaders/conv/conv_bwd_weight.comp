#version 450
// conv_bwd_weight: direct convolution, gradient of the weights, first (or
// only) pass of a deterministic two-pass reduction over output pixels:
//   out[s][g*Cog+co][ky][kx][ci] = sum over pixels p = (n, oy, ox) of chunk s of
//     dy[p][g*Cog+co] * x[n][oy*sh-ph+ky][ox*sw-pw+kx][g*Cg+ci]
// With one chunk `out` is dw itself (ACC: += instead of =); with several
// (REDUCE) the chunks' partials go to binding 3 and the last chunk to finish
// sums them into dw (chunk_reduce.glsl).
// Bindings: 0 x (in), 1 dy (in), 2 out = dw (in/out), 3 partials, 4 counters.
// Push (conv.glsl): off0..off3 element offsets of x, dy, out, partials;
// total; e0 = ceil(KW*Cg/TN) blocks of j = kx*Cg + ci (contiguous in w for a
// given ky); e1 = ceil(Cog/TM) output-channel blocks per group; e2 = pixels
// per chunk; e3 the counters.
// Spec: 0 WG, 1 TM (output channels, multiple of 4), 2 TN (j values,
// multiple of 4), 3 VDY (Cog % 4 == 0 and dy offset 4-aligned: vec4 dy
// loads), 4 VX (Cg % 4 == 0 and x offset 4-aligned: vec4 x loads), 5 ACC,
// 6 REDUCE.
// Mapping: one invocation per (j block, channel block, ky, chunk), j block
// fastest; per pixel it loads TM dy and TN x values and does TM*TN FMAs.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 8u;
layout(constant_id = 2) const uint TN = 8u;
layout(constant_id = 3) const bool VDY = false;
layout(constant_id = 4) const bool VX = false;
layout(constant_id = 5) const bool ACC = false;
layout(constant_id = 6) const bool REDUCE = false;
#include "conv.glsl"
#include "chunk_reduce.glsl"

IN_TENSOR(0, X);
IN_TENSOR(1, DY);
INOUT_TENSOR(2, OUT);

const uint QM = TM / 4u;
const uint QN = TN / 4u;

void main() {
    uint npix = p.n * p.oh * p.ow;
    uint id = LINEAR_ID, chunks = (npix + p.e2 - 1u) / p.e2, per_chunk = p.e0 * p.groups * p.e1 * p.kh;
    bool valid = true;
    if (REDUCE) {
        if (!chunk_id(per_chunk, chunks, id, valid)) return;
    } else if (id >= p.total) {
        return;
    }
    uint jb = id % p.e0, r = id / p.e0;
    uint ncb = p.groups * p.e1;
    uint cbg = r % ncb;
    r /= ncb;
    uint ky = r % p.kh, chunk = r / p.kh;
    uint g = cbg / p.e1, co0 = (cbg % p.e1) * TM, j0 = jb * TN;
    uint cg = p.cg, cog = p.cog, cin = p.cin, nj = p.kw * cg;
    // Per j: its kx and input channel, j clamped into range (vec4: per quad).
    int jx[TN];
    uint jc[TN];
    [[unroll]] for (uint j = 0u; j < TN; j++) {
        uint jj = VX ? min(j0 + (j & ~3u), nj - 4u) + (j & 3u) : min(j0 + j, nj - 1u);
        jx[j] = int(jj / cg);
        jc[j] = g * cg + jj % cg;
    }

    vec4 acc[TM][QN];
    [[unroll]] for (uint i = 0u; i < TM; i++)
        [[unroll]] for (uint q = 0u; q < QN; q++) acc[i][q] = vec4(0.0);

    uint p0 = chunk * p.e2, p1 = min(p0 + p.e2, npix);
    if (!valid) p1 = p0; // padding lanes: no work (they still reach chunk_last)
    uint ox = p0 % p.ow, oy = (p0 / p.ow) % p.oh, n = p0 / (p.ow * p.oh);
    for (uint pix = p0; pix < p1; pix++) {
        int iy = int(oy * p.sh + ky) - int(p.ph);
        if (iy >= 0 && iy < int(p.h)) {
            uint db = p.off1 + pix * p.cout + g * cog;
            vec4 d[QM];
            [[unroll]] for (uint q = 0u; q < QM; q++) {
                if (VDY) {
                    d[q] = LD4(DY, (db + min(co0 + q * 4u, cog - 4u)) >> 2);
                } else {
                    [[unroll]] for (uint k = 0u; k < 4u; k++) d[q][k] = LD1(DY, db + min(co0 + q * 4u + k, cog - 1u));
                }
            }
            uint xrow = p.off0 + (n * p.h + uint(iy)) * p.w * cin;
            int ixb = int(ox * p.sw) - int(p.pw);
            vec4 xv[QN];
            [[unroll]] for (uint q = 0u; q < QN; q++) {
                if (VX) {
                    int ix = ixb + jx[q * 4u];
                    vec4 v = LD4(X, (xrow + uint(clamp(ix, 0, int(p.w) - 1)) * cin + jc[q * 4u]) >> 2);
                    xv[q] = ix >= 0 && ix < int(p.w) ? v : vec4(0.0);
                } else {
                    [[unroll]] for (uint k = 0u; k < 4u; k++) {
                        int ix = ixb + jx[q * 4u + k];
                        float v = LD1(X, xrow + uint(clamp(ix, 0, int(p.w) - 1)) * cin + jc[q * 4u + k]);
                        xv[q][k] = ix >= 0 && ix < int(p.w) ? v : 0.0;
                    }
                }
            }
            [[unroll]] for (uint i = 0u; i < TM; i++)
                [[unroll]] for (uint q = 0u; q < QN; q++) acc[i][q] += d[i / 4u][i % 4u] * xv[q];
        }
        if (++ox == p.ow) {
            ox = 0u;
            if (++oy == p.oh) {
                oy = 0u;
                n++;
            }
        }
    }

    uint kk = p.kh * p.kw, wcount = p.cout * kk * cg;
    if (REDUCE) {
        if (valid)
            [[unroll]] for (uint i = 0u; i < TM; i++) {
                uint co = co0 + i;
                if (co >= cog) break;
                uint ob = (g * cog + co) * kk * cg + ky * nj;
                [[unroll]] for (uint j = 0u; j < TN; j++)
                    if (j0 + j < nj) part_set(p.off3 + chunk * wcount + ob + j0 + j, acc[i][j / 4u][j % 4u]);
            }
        if (!chunk_last(per_chunk, chunks) || !valid) return;
        [[unroll]] for (uint i = 0u; i < TM; i++) {
            uint co = co0 + i;
            if (co >= cog) break;
            uint ob = (g * cog + co) * kk * cg + ky * nj;
            [[unroll]] for (uint j = 0u; j < TN; j++)
                if (j0 + j < nj) {
                    float v = chunk_sum(ob + j0 + j, wcount, chunks);
                    if (ACC) v += RD1(OUT, p.off2 + ob + j0 + j);
                    ST1(OUT, p.off2 + ob + j0 + j, v);
                }
        }
        return;
    }
    uint base = p.off2 + chunk * wcount + ky * nj;
    [[unroll]] for (uint i = 0u; i < TM; i++) {
        uint co = co0 + i;
        if (co >= cog) break;
        uint ob = base + (g * cog + co) * kk * cg;
        [[unroll]] for (uint j = 0u; j < TN; j++) {
            uint jj = j0 + j;
            if (jj < nj) {
                float v = acc[i][j / 4u][j % 4u];
                if (ACC) v += RD1(OUT, ob + jj);
                ST1(OUT, ob + jj, v);
            }
        }
    }
}
