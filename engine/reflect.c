/* A minimal SPIR-V reader: the descriptor bindings (set 0) a compute shader
 * declares, their kind (uniform texel buffer or storage buffer) and access
 * (readonly / writeonly decorations), the push-constant block's size and
 * the number of specialization constants. Enough to build pipeline layouts
 * and to track hazards without a hand-kept table per shader. */
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

enum {
    OpTypeInt = 21, OpTypeFloat = 22, OpTypeVector = 23, OpTypeMatrix = 24, OpTypeImage = 25,
    OpTypeSampledImage = 27, OpTypeArray = 28, OpTypeRuntimeArray = 29, OpTypeStruct = 30,
    OpTypePointer = 32, OpConstant = 43, OpVariable = 59, OpDecorate = 71, OpMemberDecorate = 72,
};
enum { DecSpecId = 1, DecArrayStride = 6, DecNonWritable = 24, DecNonReadable = 25, DecOffset = 35,
       DecBinding = 33, DecDescriptorSet = 34 };
enum { ScUniformConstant = 0, ScUniform = 2, ScPushConstant = 9, ScStorageBuffer = 12 };
enum { DimBuffer = 5 };

typedef struct {
    const uint32_t *words;
    size_t count;
    uint32_t bound;
    uint32_t *def;        /* id -> word index of its defining instruction, 0 if none */
    int32_t *binding;     /* id -> Binding decoration, -1 if none */
    int32_t *set;
    uint8_t *nonwritable; /* id (variable or struct) -> 1 if decorated NonWritable (any member) */
    uint8_t *nonreadable;
    uint32_t *stride;
} spv;

static const uint32_t *inst(const spv *m, uint32_t id) {
    return id < m->bound && m->def[id] ? m->words + m->def[id] : NULL;
}

static uint32_t member_offset(const spv *m, uint32_t st, uint32_t member) {
    for (size_t i = 5; i < m->count;) {
        uint32_t op = m->words[i] & 0xffff, n = m->words[i] >> 16;
        if (n == 0) break;
        if (op == OpMemberDecorate && m->words[i + 1] == st && m->words[i + 2] == member && m->words[i + 3] == DecOffset)
            return m->words[i + 4];
        i += n;
    }
    return 0;
}

static uint32_t type_size(const spv *m, uint32_t id, int depth) {
    const uint32_t *t = inst(m, id);
    if (!t || depth > 16) return 0;
    uint32_t op = t[0] & 0xffff, n = t[0] >> 16;
    switch (op) {
    case OpTypeInt:
    case OpTypeFloat: return t[2] / 8;
    case OpTypeVector:
    case OpTypeMatrix: return t[3] * type_size(m, t[2], depth + 1);
    case OpTypeArray: {
        const uint32_t *len = inst(m, t[3]);
        uint32_t count = len && (len[0] & 0xffff) == OpConstant ? len[3] : 0;
        uint32_t stride = m->stride[t[1]] ? m->stride[t[1]] : type_size(m, t[2], depth + 1);
        return count * stride;
    }
    case OpTypeStruct: {
        uint32_t end = 0;
        for (uint32_t k = 0; k + 2 < n; k++) {
            uint32_t e = member_offset(m, t[1], k) + type_size(m, t[2 + k], depth + 1);
            if (e > end) end = e;
        }
        return end;
    }
    default: return 0;
    }
}

asvk_status asvk_reflect(const uint32_t *words, size_t count, asvk_reflection *out) {
    memset(out, 0, sizeof *out);
    if (count < 5 || words[0] != 0x07230203u)
        return asvk_error_set(ASVK_ERR_INTERNAL, "embedded shader is not SPIR-V");
    spv m = {.words = words, .count = count, .bound = words[3]};
    if (m.bound == 0 || m.bound > (1u << 22)) return asvk_error_set(ASVK_ERR_INTERNAL, "SPIR-V id bound %u is implausible", m.bound);
    m.def = calloc(m.bound, sizeof *m.def);
    m.binding = malloc(m.bound * sizeof *m.binding);
    m.set = malloc(m.bound * sizeof *m.set);
    m.nonwritable = calloc(m.bound, 1);
    m.nonreadable = calloc(m.bound, 1);
    m.stride = calloc(m.bound, sizeof *m.stride);
    asvk_status st = ASVK_OK;
    if (!m.def || !m.binding || !m.set || !m.nonwritable || !m.nonreadable || !m.stride) {
        st = asvk_error_set(ASVK_ERR_OOM, "out of host memory reading SPIR-V");
        goto done;
    }
    for (uint32_t i = 0; i < m.bound; i++) m.binding[i] = m.set[i] = -1;

    int max_spec = -1;
    for (size_t i = 5; i < count;) {
        uint32_t op = words[i] & 0xffff, n = words[i] >> 16;
        if (n == 0 || i + n > count) { st = asvk_error_set(ASVK_ERR_INTERNAL, "truncated SPIR-V"); goto done; }
        const uint32_t *w = words + i;
        uint32_t result = 0;
        if (op == OpVariable || op == OpConstant) result = w[2];
        else if ((op >= 19 && op <= 39) && n > 1) result = w[1]; /* OpType* */
        if (result && result < m.bound) m.def[result] = (uint32_t)i;
        if (op == OpDecorate && n >= 3 && w[1] < m.bound) {
            uint32_t id = w[1], dec = w[2];
            if (dec == DecBinding && n >= 4) m.binding[id] = (int32_t)w[3];
            if (dec == DecDescriptorSet && n >= 4) m.set[id] = (int32_t)w[3];
            if (dec == DecNonWritable) m.nonwritable[id] = 1;
            if (dec == DecNonReadable) m.nonreadable[id] = 1;
            if (dec == DecArrayStride && n >= 4) m.stride[id] = w[3];
            if (dec == DecSpecId && n >= 4 && (int)w[3] > max_spec) max_spec = (int)w[3];
        }
        if (op == OpMemberDecorate && n >= 4 && w[1] < m.bound) {
            if (w[3] == DecNonWritable) m.nonwritable[w[1]] = 1;
            if (w[3] == DecNonReadable) m.nonreadable[w[1]] = 1;
        }
        i += n;
    }
    out->spec_count = (uint32_t)(max_spec + 1);

    for (size_t i = 5; i < count;) {
        uint32_t op = words[i] & 0xffff, n = words[i] >> 16;
        const uint32_t *w = words + i;
        i += n;
        if (op != OpVariable) continue;
        uint32_t var = w[2], sc = w[3];
        const uint32_t *ptr = inst(&m, w[1]);
        if (!ptr || (ptr[0] & 0xffff) != OpTypePointer) continue;
        uint32_t pointee = ptr[3];
        if (sc == ScPushConstant) {
            out->push_size = type_size(&m, pointee, 0);
            continue;
        }
        if (sc != ScUniformConstant && sc != ScUniform && sc != ScStorageBuffer) continue;
        if (m.binding[var] < 0) continue;
        if (m.set[var] != 0) { st = asvk_error_set(ASVK_ERR_INTERNAL, "shader uses descriptor set %d; asvk binds set 0 only", m.set[var]); goto done; }
        uint32_t b = (uint32_t)m.binding[var];
        if (b >= ASVK_MAX_BINDINGS) { st = asvk_error_set(ASVK_ERR_INTERNAL, "shader binding %u is beyond %d", b, ASVK_MAX_BINDINGS); goto done; }
        const uint32_t *t = inst(&m, pointee);
        if (t && (t[0] & 0xffff) == OpTypeSampledImage) t = inst(&m, t[2]);
        if (sc == ScUniformConstant) {
            /* Sampled 1: a uniform texel buffer; 2: a storage texel buffer,
             * which asvk binds for reading only (IN_TENSOR's imageLoad form) */
            bool ro = m.nonwritable[var];
            if (!t || (t[0] & 0xffff) != OpTypeImage || t[3] != DimBuffer || (t[7] != 1 && !(t[7] == 2 && ro))) {
                st = asvk_error_set(ASVK_ERR_INTERNAL, "binding %u is not a uniform or read-only storage texel buffer", b);
                goto done;
            }
            out->type[b] = t[7] == 1 ? ASVK_BIND_TEXEL : ASVK_BIND_IMAGE;
            out->access[b] = ASVK_ACCESS_READ;
        } else {
            out->type[b] = ASVK_BIND_STORAGE;
            bool ro = m.nonwritable[var] || m.nonwritable[pointee];
            bool wo = m.nonreadable[var] || m.nonreadable[pointee];
            out->access[b] = ro ? ASVK_ACCESS_READ : wo ? ASVK_ACCESS_WRITE : (ASVK_ACCESS_READ | ASVK_ACCESS_WRITE);
        }
        if (b + 1 > out->binding_count) out->binding_count = b + 1;
    }
    for (uint32_t b = 0; b < out->binding_count; b++)
        if (!out->access[b]) { st = asvk_error_set(ASVK_ERR_INTERNAL, "shader bindings are not dense: %u is missing", b); goto done; }
done:
    free(m.def);
    free(m.binding);
    free(m.set);
    free(m.nonwritable);
    free(m.nonreadable);
    free(m.stride);
    return st;
}
