// Activation functions and their derivatives, by asvk_act code
// (runtime/kernels/common.h). Self-contained: include it from any kernel that
// fuses an activation and pass the code as a specialization constant, so
// that the compiler folds the switch away:
//
//   layout(constant_id = 1) const uint ACT = 0u;
//   #include "act.glsl"
//   y = act_apply(ACT, z);  dz = dy * act_grad(ACT, z);
//
// Every function has a float and a vec4 overload. act_grad(z) is dy/dz at
// the pre-activation z, with PyTorch's one-sided values at the kinks:
//   relu   z > 0 ? 1 : 0                    (0 at z = 0)
//   relu6  0 < z < 6 ? 1 : 0                (0 at z = 0 and z = 6)
//   hswish z < -3 ? 0 : z <= 3 ? z/3 + 1/2 : 1   (-1/2 at z = -3, 3/2 at z = 3)
//   hsigmoid  -3 < z < 3 ? 1/6 : 0          (0 at z = -3 and z = 3)
// sigmoid(z) = 1 / (1 + exp(-z)) saturates cleanly: exp(-z) = inf gives 0.
#ifndef ASVK_ACT_GLSL
#define ASVK_ACT_GLSL

#define ACT_NONE 0u
#define ACT_RELU 1u
#define ACT_RELU6 2u
#define ACT_HSWISH 3u
#define ACT_SWISH 4u
#define ACT_SIGMOID 5u
#define ACT_HSIGMOID 6u

// step(e, z) is 0 for z < e, else 1: the derivatives below are exact 0/1
// selections, written with it so that one body serves float and vec4.
#define ASVK_ACT_DEFINE(T)                                                                       \
    T act_sigmoid(T z) { return 1.0 / (1.0 + exp(-z)); }                                       \
    T act_apply(uint code, T z) {                                                              \
        if (code == ACT_RELU) return max(z, T(0.0));                                           \
        if (code == ACT_RELU6) return clamp(z, T(0.0), T(6.0));                                \
        if (code == ACT_HSWISH) return z * clamp(z + 3.0, T(0.0), T(6.0)) * (1.0 / 6.0);       \
        if (code == ACT_SWISH) return z * act_sigmoid(z);                                      \
        if (code == ACT_SIGMOID) return act_sigmoid(z);                                        \
        if (code == ACT_HSIGMOID) return clamp(z + 3.0, T(0.0), T(6.0)) * (1.0 / 6.0);         \
        return z;                                                                              \
    }                                                                                          \
    T act_grad(uint code, T z) {                                                               \
        T pos = T(1.0) - step(z, T(0.0)); /* z > 0 */                                          \
        if (code == ACT_RELU) return pos;                                                      \
        if (code == ACT_RELU6) return pos * (T(1.0) - step(T(6.0), z)); /* 0 < z < 6 */       \
        if (code == ACT_HSWISH) {                                                              \
            T lo = step(T(-3.0), z), hi = T(1.0) - step(z, T(3.0)); /* z >= -3, z > 3 */       \
            return hi + (T(1.0) - hi) * lo * (z * (1.0 / 3.0) + 0.5);                          \
        }                                                                                      \
        if (code == ACT_SWISH) {                                                               \
            T s = act_sigmoid(z);                                                              \
            return s * (1.0 + z * (1.0 - s));                                                  \
        }                                                                                      \
        if (code == ACT_SIGMOID) {                                                             \
            T s = act_sigmoid(z);                                                              \
            return s * (1.0 - s);                                                              \
        }                                                                                      \
        if (code == ACT_HSIGMOID) /* -3 < z < 3 */                                             \
            return (T(1.0) - step(z, T(-3.0))) * (T(1.0) - step(T(3.0), z)) * (1.0 / 6.0);     \
        return T(1.0);                                                                         \
    }

ASVK_ACT_DEFINE(float)
ASVK_ACT_DEFINE(vec4)
#undef ASVK_ACT_DEFINE

#endif
