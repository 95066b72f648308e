/* Kernels: pipelines per (shader, specialization constants, binding variant),
 * created lazily and kept for the context's life. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The layouts of pipeline variant v from SPIR-V variant `code_index` (its
 * reflection, limits, descriptor set and pipeline layouts): cheap, and done
 * where the variant is asked for. */
static asvk_status build_layout(asvk_context *ctx, asvk_kernel *k, int code_index, asvk_pipeline_variant *v) {
    const int variant = code_index;
    const asvk_shader_code *code = k->code;
    const bool f16 = code_index == ASVK_SHADER_TEXEL_F16 || code_index == ASVK_SHADER_SSBO_F16;
    if (v->layout) return ASVK_OK; /* done when the variant was listed */
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
    return ASVK_OK;
}

/* The pipeline of variant v (its layouts built): the driver's compile, the
 * costly part, safe to run on several threads at once for different
 * variants (it touches no context state: *ns gets the time it took). An fp16
 * variant also specializes its F16_MASK constant to `mask`. */
static asvk_status build_pipeline(asvk_context *ctx, const asvk_kernel *k, int code_index, uint32_t mask,
                                  asvk_pipeline_variant *v, uint64_t *ns) {
    const int variant = code_index;
    const asvk_shader_code *code = k->code;
    const bool f16 = code_index == ASVK_SHADER_TEXEL_F16 || code_index == ASVK_SHADER_SSBO_F16;
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
    *ns = asvk_mono_ns() - t0;
    if (r != VK_SUCCESS) return asvk_vk_fail(ctx, r, "vkCreateComputePipelines");
    return ASVK_OK;
}

static void built(asvk_context *ctx, asvk_pipeline_variant *v, uint64_t ns) {
    ctx->pipeline_ns += ns;
    ctx->pipelines_created++;
    ctx->cache_dirty = true;
    v->ready = true;
}

static asvk_status build(asvk_context *ctx, asvk_kernel *k, int code_index, uint32_t mask, asvk_pipeline_variant *v) {
    uint64_t ns;
    asvk_status st = build_layout(ctx, k, code_index, v);
    if (!st) st = build_pipeline(ctx, k, code_index, mask, v, &ns);
    if (!st) built(ctx, v, ns);
    return st;
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
            return k->f16[i].v.ready ? ASVK_OK : build(ctx, k, variant + ASVK_SHADER_TEXEL_F16, f16_mask, *out);
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

/* A listed pipeline: its kernel, SPIR-V variant, fp16 mask and slot (f16: an index into k->f16, which may
 * move while the list grows). */
struct asvk_kernel_want {
    asvk_kernel *k;
    int code_index;
    uint32_t mask;
    int f16; /* -1: k->variant[code_index] */
    asvk_status st;
    char message[512];
};

static asvk_pipeline_variant *want_slot(const struct asvk_kernel_want *w) {
    return w->f16 < 0 ? &w->k->variant[w->code_index] : &w->k->f16[w->f16].v;
}

asvk_status asvk_kernel_want(asvk_context *ctx, asvk_kernel *k, int variant, uint32_t f16_mask) {
    if (variant != ASVK_SHADER_TEXEL && variant != ASVK_SHADER_SSBO && (f16_mask || variant != ASVK_SHADER_IMAGE))
        return asvk_error_set(ASVK_ERR_INTERNAL, "kernel %s: no variant %d%s", k->name, variant, f16_mask ? " with fp16" : "");
    int f16 = -1, code = variant;
    if (f16_mask) {
        code = variant + ASVK_SHADER_TEXEL_F16;
        for (uint32_t i = 0; i < k->f16_count && f16 < 0; i++)
            if (k->f16[i].mask == f16_mask && k->f16[i].variant == variant) f16 = (int)i;
        if (f16 < 0) { /* a new fp16 form, unbuilt */
            if (k->f16_count == k->f16_cap) {
                uint32_t cap = k->f16_cap ? 2 * k->f16_cap : 4;
                void *p = realloc(k->f16, cap * sizeof *k->f16);
                if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
                k->f16 = p, k->f16_cap = cap;
            }
            memset(&k->f16[k->f16_count], 0, sizeof k->f16[0]);
            k->f16[k->f16_count].mask = f16_mask, k->f16[k->f16_count].variant = variant;
            f16 = (int)k->f16_count++;
        }
    }
    asvk_pipeline_variant *v = f16 < 0 ? &k->variant[variant] : &k->f16[f16].v;
    if (v->ready || v->wanted) return ASVK_OK;
    asvk_status st = build_layout(ctx, k, code, v);
    if (st) return st;
    if (ctx->want_count == ctx->want_cap) {
        uint32_t cap = ctx->want_cap ? 2 * ctx->want_cap : 64;
        void *p = realloc(ctx->wants, cap * sizeof *ctx->wants);
        if (!p) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
        ctx->wants = p, ctx->want_cap = cap;
    }
    ctx->wants[ctx->want_count++] = (struct asvk_kernel_want){.k = k, .code_index = code, .mask = f16_mask, .f16 = f16};
    v->wanted = true;
    return ASVK_OK;
}

typedef struct {
    asvk_context *ctx;
    atomic_uint next;
} want_pool;

static void *build_worker(void *arg) {
    want_pool *p = arg;
    for (uint32_t i; (i = atomic_fetch_add(&p->next, 1)) < p->ctx->want_count;) {
        struct asvk_kernel_want *w = &p->ctx->wants[i];
        uint64_t ns; /* unused: the caller counts the wall-clock time of the whole build */
        w->st = build_pipeline(p->ctx, w->k, w->code_index, w->mask, want_slot(w), &ns);
        if (w->st) snprintf(w->message, sizeof w->message, "%s", asvk_error_message()); /* thread-local */
    }
    return NULL;
}

asvk_status asvk_kernels_build_wanted(asvk_context *ctx) {
    uint32_t n = ctx->want_count;
    if (!n) return ASVK_OK;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("ASVK_PIPELINE_THREADS"); /* a number: at most that many threads */
    if (env && atol(env) > 0 && atol(env) < cores) cores = atol(env);
    uint32_t threads = cores < 1 ? 1 : cores > 8 ? 8 : (uint32_t)cores;
    if (threads > n) threads = n;
    want_pool pool = {ctx, 0};
    uint64_t t0 = asvk_mono_ns();
    pthread_t tid[8];
    uint32_t started = 0;
    /* this thread is one of the workers; a thread that cannot start leaves its share to the others */
    for (uint32_t t = 1; t < threads; t++)
        if (pthread_create(&tid[started], NULL, build_worker, &pool) == 0) started++;
    build_worker(&pool);
    for (uint32_t t = 0; t < started; t++) pthread_join(tid[t], NULL);
    asvk_status st = ASVK_OK;
    for (uint32_t i = 0; i < n; i++) {
        struct asvk_kernel_want *w = &ctx->wants[i];
        asvk_pipeline_variant *v = want_slot(w);
        v->wanted = false;
        if (w->st) {
            if (!st) st = asvk_error_set(w->st, "%s", w->message);
        } else {
            built(ctx, v, 0);
        }
    }
    ctx->pipeline_ns += asvk_mono_ns() - t0; /* the wall-clock time: what start-up waited for */
    ctx->want_count = 0;
    return st;
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
    free(ctx->wants);
    ctx->wants = NULL;
    ctx->want_count = ctx->want_cap = 0;
}
