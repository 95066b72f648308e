/* Kernels: pipelines per (shader, specialization constants, binding variant),
 * created lazily and kept for the context's life. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "shaders/registry.h"

static uint64_t fnv(const void *p, size_t n, uint64_t h) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

asvk_status asvk_kernel_get(asvk_context *ctx, const char *shader, const uint32_t *spec, uint32_t spec_count,
                            asvk_kernel **out) {
    if (spec_count > ASVK_MAX_SPEC)
        return asvk_error_set(ASVK_ERR_INTERNAL, "kernel %s: %u specialization constants, at most %d", shader,
                              spec_count, ASVK_MAX_SPEC);
    uint64_t h = fnv(shader, strlen(shader), 1469598103934665603ull);
    h = fnv(spec, spec_count * sizeof *spec, h);
    for (uint32_t i = 0; i < ctx->kernel_count; i++) {
        asvk_kernel *k = ctx->kernels[i];
        if (k->hash == h && k->spec_count == spec_count && strcmp(k->name, shader) == 0 &&
            memcmp(k->spec, spec, spec_count * sizeof *spec) == 0) {
            *out = k;
            return ASVK_OK;
        }
    }
    const asvk_shader_code *code = asvk_shader_find(shader);
    if (!code) return asvk_error_set(ASVK_ERR_INTERNAL, "no shader named '%s' is embedded in this build", shader);
    if (ctx->kernel_count == ctx->kernel_cap) {
        uint32_t cap = ctx->kernel_cap ? ctx->kernel_cap * 2 : 64;
        void *p = realloc(ctx->kernels, cap * sizeof *ctx->kernels);
        if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        ctx->kernels = p;
        ctx->kernel_cap = cap;
    }
    asvk_kernel *k = calloc(1, sizeof *k);
    if (!k) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    snprintf(k->name, sizeof k->name, "%s", shader);
    memcpy(k->spec, spec, spec_count * sizeof *spec);
    k->spec_count = spec_count;
    k->hash = h;
    k->code = code;
    /* Reflect the storage-buffer variant now: it gives the binding count. */
    asvk_status st = asvk_reflect(code->words[ASVK_SHADER_SSBO], code->word_count[ASVK_SHADER_SSBO],
                                  &k->variant[ASVK_SHADER_SSBO].refl);
    if (!st && spec_count > k->variant[ASVK_SHADER_SSBO].refl.spec_count)
        st = asvk_error_set(ASVK_ERR_INTERNAL, "kernel %s takes %u specialization constants, %u given", shader,
                            k->variant[ASVK_SHADER_SSBO].refl.spec_count, spec_count);
    if (st) {
        free(k);
        return asvk_error_prefix(st, "shader %s: ", shader);
    }
    ctx->kernels[ctx->kernel_count++] = k;
    *out = k;
    return ASVK_OK;
}

VkDescriptorType asvk_descriptor_type(asvk_bind_type t) {
    return t == ASVK_BIND_TEXEL   ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
           : t == ASVK_BIND_IMAGE ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER
                                  : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}

uint32_t asvk_kernel_binding_count(asvk_kernel *k) { return k->variant[ASVK_SHADER_SSBO].refl.binding_count; }

uint32_t asvk_context_pipeline_count(const asvk_context *ctx) { return ctx->pipelines_created; }

uint64_t asvk_context_pipeline_ns(const asvk_context *ctx) { return ctx->pipeline_ns; }

/* Builds pipeline variant v from SPIR-V variant `code_index`; an fp16
 * variant also specializes its F16_MASK constant to `mask`. */
static asvk_status build(asvk_context *ctx, asvk_kernel *k, int code_index, uint32_t mask, asvk_pipeline_variant *v) {
    const int variant = code_index;
    const asvk_shader_code *code = k->code;
    const bool f16 = code_index == ASVK_SHADER_TEXEL_F16 || code_index == ASVK_SHADER_SSBO_F16;
    if (f16 && k->spec_count > ASVK_SHADER_F16_SPEC_ID)
        return asvk_error_set(ASVK_ERR_INTERNAL, "kernel %s uses specialization constant %u, reserved for fp16 storage",
                              k->name, ASVK_SHADER_F16_SPEC_ID);
    asvk_status st = asvk_reflect(code->words[variant], code->word_count[variant], &v->refl);
    if (st) return asvk_error_prefix(st, "shader %s: ", k->name);
    if (v->refl.push_size > ctx->info.max_push_constants)
        return asvk_error_set(ASVK_ERR_LIMIT, "kernel %s needs %u bytes of push constants; %s allows %u", k->name,
                              v->refl.push_size, ctx->info.name, ctx->info.max_push_constants);
    uint32_t count[3] = {0}; /* by asvk_bind_type */
    for (uint32_t b = 0; b < v->refl.binding_count; b++) count[v->refl.type[b]]++;
    /* a device below a kernel's binding count (the Vulkan minimum is 4 storage
     * buffers per stage) gets a clear error rather than a failed pipeline;
     * the imageLoad variant is only chosen within its limit (stream.c) */
    if (count[ASVK_BIND_STORAGE] > ctx->info.max_stage_storage_buffers ||
        count[ASVK_BIND_TEXEL] > ctx->info.max_stage_texel_buffers ||
        count[ASVK_BIND_IMAGE] > ctx->info.max_stage_storage_images)
        return asvk_error_set(ASVK_ERR_LIMIT, "kernel %s binds %u storage buffers, %u uniform and %u storage texel "
                              "buffers; %s allows %u, %u and %u per shader stage", k->name, count[ASVK_BIND_STORAGE],
                              count[ASVK_BIND_TEXEL], count[ASVK_BIND_IMAGE], ctx->info.name,
                              ctx->info.max_stage_storage_buffers, ctx->info.max_stage_texel_buffers,
                              ctx->info.max_stage_storage_images);

    VkDescriptorSetLayoutBinding lb[ASVK_MAX_BINDINGS];
    for (uint32_t b = 0; b < v->refl.binding_count; b++)
        lb[b] = (VkDescriptorSetLayoutBinding){
            .binding = b,
            .descriptorType = asvk_descriptor_type(v->refl.type[b]),
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo dl = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .flags = ctx->sw.push_descriptors ? VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR : 0,
        .bindingCount = v->refl.binding_count,
        .pBindings = lb};
    ASVK_VK(ctx, ctx->vk.vkCreateDescriptorSetLayout(ctx->device, &dl, NULL, &v->set_layout));
    VkPushConstantRange pr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, v->refl.push_size};
    VkPipelineLayoutCreateInfo pl = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                     .setLayoutCount = 1,
                                     .pSetLayouts = &v->set_layout,
                                     .pushConstantRangeCount = v->refl.push_size ? 1 : 0,
                                     .pPushConstantRanges = &pr};
    ASVK_VK(ctx, ctx->vk.vkCreatePipelineLayout(ctx->device, &pl, NULL, &v->layout));

    uint64_t t0 = asvk_mono_ns();
    VkShaderModuleCreateInfo smi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                    .codeSize = code->word_count[variant] * 4,
                                    .pCode = code->words[variant]};
    VkShaderModule module;
    ASVK_VK(ctx, ctx->vk.vkCreateShaderModule(ctx->device, &smi, NULL, &module));
    VkSpecializationMapEntry entries[ASVK_MAX_SPEC + 1];
    uint32_t data[ASVK_MAX_SPEC + 1], n = k->spec_count;
    for (uint32_t i = 0; i < n; i++) entries[i] = (VkSpecializationMapEntry){i, i * 4, 4}, data[i] = k->spec[i];
    if (f16) /* ids below spec_count are the kernel's own: 23 is never one */
        entries[n] = (VkSpecializationMapEntry){ASVK_SHADER_F16_SPEC_ID, n * 4, 4}, data[n] = mask, n++;
    VkSpecializationInfo si = {n, entries, n * 4, data};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = module,
                  .pName = "main",
                  .pSpecializationInfo = n ? &si : NULL},
        .layout = v->layout};
    VkResult r = ctx->vk.vkCreateComputePipelines(ctx->device, ctx->pipeline_cache, 1, &ci, NULL, &v->pipeline);
    ctx->vk.vkDestroyShaderModule(ctx->device, module, NULL);
    ctx->pipeline_ns += asvk_mono_ns() - t0;
    if (r != VK_SUCCESS) return asvk_vk_fail(ctx, r, "vkCreateComputePipelines");
    ctx->pipelines_created++;
    ctx->cache_dirty = true;
    v->ready = true;
    return ASVK_OK;
}

asvk_status asvk_kernel_variant(asvk_context *ctx, asvk_kernel *k, int variant, uint32_t f16_mask,
                                asvk_pipeline_variant **out) {
    if (variant != ASVK_SHADER_TEXEL && variant != ASVK_SHADER_SSBO && (f16_mask || variant != ASVK_SHADER_IMAGE))
        return asvk_error_set(ASVK_ERR_INTERNAL, "kernel %s: no variant %d%s", k->name, variant, f16_mask ? " with fp16" : "");
    if (!f16_mask) {
        asvk_pipeline_variant *v = &k->variant[variant];
        *out = v;
        return v->ready ? ASVK_OK : build(ctx, k, variant, 0, v);
    }
    for (uint32_t i = 0; i < k->f16_count; i++)
        if (k->f16[i].mask == f16_mask && k->f16[i].variant == variant) {
            *out = &k->f16[i].v;
            return ASVK_OK;
        }
    if (k->f16_count == k->f16_cap) {
        uint32_t cap = k->f16_cap ? 2 * k->f16_cap : 4;
        void *p = realloc(k->f16, cap * sizeof *k->f16);
        if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        k->f16 = p, k->f16_cap = cap;
    }
    asvk_kernel_f16 *e = &k->f16[k->f16_count];
    memset(e, 0, sizeof *e);
    e->mask = f16_mask, e->variant = variant;
    asvk_status st = build(ctx, k, variant + ASVK_SHADER_TEXEL_F16, f16_mask, &e->v);
    if (st) return st;
    k->f16_count++;
    *out = &e->v;
    return ASVK_OK;
}

void asvk_kernels_destroy_all(asvk_context *ctx) {
    for (uint32_t i = 0; i < ctx->kernel_count; i++) {
        asvk_kernel *k = ctx->kernels[i];
        for (uint32_t v = 0; v < ASVK_SHADER_VARIANTS + k->f16_count; v++) {
            asvk_pipeline_variant *p = v < ASVK_SHADER_VARIANTS ? &k->variant[v] : &k->f16[v - ASVK_SHADER_VARIANTS].v;
            if (p->pipeline) ctx->vk.vkDestroyPipeline(ctx->device, p->pipeline, NULL);
            if (p->layout) ctx->vk.vkDestroyPipelineLayout(ctx->device, p->layout, NULL);
            if (p->set_layout) ctx->vk.vkDestroyDescriptorSetLayout(ctx->device, p->set_layout, NULL);
        }
        free(k->f16);
        free(k);
    }
    free(ctx->kernels);
    ctx->kernels = NULL;
    ctx->kernel_count = 0;
}
