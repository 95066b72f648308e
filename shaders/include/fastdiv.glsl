// n / d for a divisor known only at run time, from the host's
// asvk_fastdiv_of(d) = (magic, shifts) in the push constants
// (runtime/kernels/common.h: Granlund and Montgomery's round-up method,
// exact for every 32-bit n and d >= 1). A multiply-high and two shifts, where
// `n / d` costs one scalar division per SIMD lane on CPU devices.
#ifndef ASVK_FASTDIV_GLSL
#define ASVK_FASTDIV_GLSL

uint fdiv(uint n, uint magic, uint shifts) {
    uint hi, lo;
    umulExtended(n, magic, hi, lo);
    return (hi + ((n - hi) >> (shifts & 0xffu))) >> (shifts >> 8);
}

#endif
