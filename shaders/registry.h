/* Name -> SPIR-V registry of the shaders embedded at build time. */
#ifndef ASVK_SHADERS_REGISTRY_H
#define ASVK_SHADERS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

/* How read-only tensors reach a kernel; each shader is compiled for both. */
typedef enum {
    ASVK_SHADER_TEXEL = 0, /* uniform texel buffers (RGBA32F views) */
    ASVK_SHADER_SSBO = 1,  /* read-only storage buffers */
    ASVK_SHADER_VARIANTS = 2
} asvk_shader_variant;

typedef struct asvk_shader_code {
    const char *name;
    const uint32_t *words[ASVK_SHADER_VARIANTS];
    size_t word_count[ASVK_SHADER_VARIANTS];
} asvk_shader_code;

const asvk_shader_code *asvk_shader_find(const char *name);
unsigned asvk_shader_count(void);
const asvk_shader_code *asvk_shader_at(unsigned i);

#endif
