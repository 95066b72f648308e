/* Name -> SPIR-V registry of the shaders embedded at build time. */
#ifndef ASVK_SHADERS_REGISTRY_H
#define ASVK_SHADERS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

/* How read-only tensors reach a kernel, and whether tensors may be stored as
 * fp16; each shader is compiled for all five. */
typedef enum {
    ASVK_SHADER_TEXEL = 0,     /* uniform texel buffers (RGBA32F views) */
    ASVK_SHADER_SSBO = 1,      /* read-only storage buffers */
    ASVK_SHADER_TEXEL_F16 = 2, /* the same, any binding fp16 per the F16_MASK constant (RGBA16F views) */
    ASVK_SHADER_SSBO_F16 = 3,
    ASVK_SHADER_IMAGE = 4,     /* storage texel buffers (RGBA32F views) read by imageLoad: fp32 only */
    ASVK_SHADER_VARIANTS = 5
} asvk_shader_variant;

/* The specialization constant of the fp16 variants: bit b set when binding b holds fp16. */
#define ASVK_SHADER_F16_SPEC_ID 23u

typedef struct asvk_shader_code {
    const char *name;
    const uint32_t *words[ASVK_SHADER_VARIANTS];
    size_t word_count[ASVK_SHADER_VARIANTS];
} asvk_shader_code;

const asvk_shader_code *asvk_shader_find(const char *name);
unsigned asvk_shader_count(void);
const asvk_shader_code *asvk_shader_at(unsigned i);

#endif
