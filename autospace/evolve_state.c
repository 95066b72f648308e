/* Saving and resuming an evolution run: dir/state.json names the weight
 * bank of the same generation (dir/bank-<generation>.safetensors), which is
 * written first; a run killed at any point resumes from a consistent pair. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autospace/bank.h"
#include "autospace/evolve.h"
#include "runtime/io/atomic_file.h"

/* The parts of struct asvk_evolve this file needs (defined in evolve.c). */
#include "autospace/evolve_internal.h"
#include "runtime/io/json_read.h"

static cJSON *member_json(const asvk_member *m) {
    cJSON *o = cJSON_CreateObject();
    char h[24];
    snprintf(h, sizeof h, "%016llx", (unsigned long long)m->hash);
    cJSON_AddStringToObject(o, "hash", h);
    cJSON_AddItemToObject(o, "genome", asvk_genome_to_json(&m->cell));
    asvk_json_add_exact(o, "fitness", m->fitness); /* read back on resume */
    cJSON_AddNumberToObject(o, "born", m->born);
    cJSON_AddNumberToObject(o, "sampled", m->sampled);
    cJSON_AddBoolToObject(o, "anchor", m->anchor);
    snprintf(h, sizeof h, "%016llx", (unsigned long long)m->parent);
    cJSON_AddStringToObject(o, "parent", h);
    cJSON_AddNumberToObject(o, "madds", (double)m->madds);
    if (m->ms > 0) asvk_json_add_exact(o, "latency_ms", m->ms);
    cJSON_AddNumberToObject(o, "params", (double)m->params);
    return o;
}

asvk_status asvk_evolve_save(asvk_evolve *e, const char *dir) {
    char bank[1100], path[1100];
    snprintf(bank, sizeof bank, "%s/bank-%04u.safetensors", dir, e->generation);
    asvk_status st = asvk_bank_save(e->bank, bank, NULL, 0);
    if (st) return st;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "asvk-evolve-state/1");
    cJSON_AddNumberToObject(j, "generation", e->generation);
    char rng[24];
    snprintf(rng, sizeof rng, "%016llx", (unsigned long long)e->rng);
    cJSON_AddStringToObject(j, "rng", rng);
    cJSON_AddStringToObject(j, "bank", strrchr(bank, '/') + 1);
    cJSON *layers = cJSON_AddArrayToObject(j, "layers");
    for (uint32_t l = 0; l < e->cfg.sk.count; l++) {
        cJSON *arr = cJSON_CreateArray();
        for (uint32_t i = 0; i < e->pop[l].count; i++) cJSON_AddItemToArray(arr, member_json(&e->pop[l].m[i]));
        cJSON_AddItemToArray(layers, arr);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text) return asvk_error_set(ASVK_ERR_OOM, "out of host memory");
    snprintf(path, sizeof path, "%s/state.json", dir);
    st = asvk_file_write_atomic(path, text, strlen(text));
    free(text);
    if (st) return st;
    /* Older banks are no longer referenced. */
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        unsigned g;
        if (sscanf(de->d_name, "bank-%4u.safetensors", &g) == 1 && g != e->generation) {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            remove(path);
        }
    }
    if (d) closedir(d);
    return ASVK_OK;
}

static bool hex64(const cJSON *x, uint64_t *out) {
    return cJSON_IsString(x) && asvk_genome_hash_parse(x->valuestring, out);
}

asvk_status asvk_evolve_load(asvk_evolve *e, const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/state.json", dir);
    char *text;
    size_t size;
    asvk_status st = asvk_file_read_all(path, 1 << 26, &text, &size);
    if (st) return st;
    cJSON *j = cJSON_ParseWithLength(text, size);
    free(text);
    if (!j) return asvk_error_set(ASVK_ERR_USAGE, "%s is not valid JSON", path);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(j, "generation");
    const cJSON *bank = cJSON_GetObjectItemCaseSensitive(j, "bank");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(j, "layers");
    uint64_t rng;
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "asvk-evolve-state/1") != 0 || !cJSON_IsNumber(gen) ||
        !cJSON_IsString(bank) || !hex64(cJSON_GetObjectItemCaseSensitive(j, "rng"), &rng) || !cJSON_IsArray(layers) ||
        (uint32_t)cJSON_GetArraySize(layers) != e->cfg.sk.count) {
        cJSON_Delete(j);
        return asvk_error_set(ASVK_ERR_USAGE, "%s is not an evolution state of this skeleton (%u layers)", path,
                              e->cfg.sk.count);
    }
    asvk_population pops[ASVK_SKEL_MAX_LAYERS] = {{0}};
    for (uint32_t l = 0; l < e->cfg.sk.count && !st; l++) {
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetArrayItem(layers, (int)l)) {
            asvk_member mb = {0};
            const cJSON *gj = cJSON_GetObjectItemCaseSensitive(m, "genome");
            char ctx[1200];
            snprintf(ctx, sizeof ctx, "%.1100s: layers[%u]", path, l);
            if ((st = asvk_genome_from_json(gj, ctx, &e->cfg.genome, &mb.cell))) break;
            double f = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "fitness"));
            if (!hex64(cJSON_GetObjectItemCaseSensitive(m, "hash"), &mb.hash) ||
                !hex64(cJSON_GetObjectItemCaseSensitive(m, "parent"), &mb.parent) || !isfinite(f)) {
                st = asvk_error_set(ASVK_ERR_USAGE, "%s: a member of layer %u is malformed", path, l);
                break;
            }
            mb.fitness = f;
            mb.born = (uint32_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "born"));
            mb.sampled = (uint32_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "sampled"));
            mb.anchor = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "anchor"));
            mb.madds = (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "madds"));
            mb.params = (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "params"));
            /* priced again: the table of this invocation is the one that counts */
            if (e->cfg.lut && (st = asvk_lut_predict_cell(e->cfg.lut, &e->cfg.sk, l, &mb.cell, &mb.ms))) break;
            if ((st = asvk_pop_add(&pops[l], &mb))) break;
        }
    }
    if (!st) {
        snprintf(path, sizeof path, "%s/%s", dir, bank->valuestring);
        st = asvk_bank_load(e->bank, path);
    }
    if (!st) {
        for (uint32_t l = 0; l < e->cfg.sk.count; l++) {
            asvk_pop_free(&e->pop[l]);
            e->pop[l] = pops[l];
        }
        e->generation = (uint32_t)gen->valuedouble;
        e->rng = rng;
    } else {
        for (uint32_t l = 0; l < e->cfg.sk.count; l++) asvk_pop_free(&pops[l]);
    }
    cJSON_Delete(j);
    return st;
}

char *asvk_evolve_history_json(const asvk_evolve *e, const asvk_generation_stats *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "generation", s->generation + 1);
    cJSON_AddNumberToObject(o, "loss", s->loss);
    cJSON_AddNumberToObject(o, "accuracy", s->accuracy);
    if (isfinite(s->val_loss)) cJSON_AddNumberToObject(o, "val_loss", s->val_loss);
    if (isfinite(s->val_accuracy)) cJSON_AddNumberToObject(o, "val_accuracy", s->val_accuracy);
    cJSON_AddNumberToObject(o, "expected_madds", s->expected_madds);
    if (e->cfg.lut) cJSON_AddNumberToObject(o, "expected_latency_ms", s->expected_ms);
    if (isfinite(s->alpha_grad_ce)) asvk_json_add_exact(o, "alpha_grad_ce", s->alpha_grad_ce);
    if (isfinite(s->alpha_grad_cost)) asvk_json_add_exact(o, "alpha_grad_cost", s->alpha_grad_cost);
    cJSON_AddNumberToObject(o, "seconds", s->seconds);
    cJSON *layers = cJSON_AddArrayToObject(o, "layers");
    for (uint32_t l = 0; l < e->cfg.sk.count; l++) {
        cJSON *lo = cJSON_CreateObject();
        cJSON *samp = cJSON_AddArrayToObject(lo, "sampled");
        for (uint32_t k = 0; k < e->cfg.k; k++) {
            cJSON *x = cJSON_CreateObject();
            char h[24];
            /* the sample's members may have been removed since: hashes were kept in shares */
            snprintf(h, sizeof h, "%016llx", (unsigned long long)e->sample_hash[l][k]);
            cJSON_AddStringToObject(x, "hash", h);
            asvk_json_add_exact(x, "share", e->share[l][k]);
            if (e->cfg.fitness == ASVK_EVOLVE_FITNESS_PERTURB) asvk_json_add_exact(x, "score", e->score[l][k]);
            cJSON_AddItemToArray(samp, x);
        }
        cJSON *fit = cJSON_AddArrayToObject(lo, "fitness");
        for (uint32_t i = 0; i < e->pop[l].count; i++) cJSON_AddItemToArray(fit, asvk_json_exact(e->pop[l].m[i].fitness));
        asvk_json_add_exact(lo, "best_fitness", s->best_fitness[l]);
        cJSON_AddItemToArray(layers, lo);
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}
