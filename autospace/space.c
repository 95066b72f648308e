/* Search spaces and their two file formats; see space.h. */
#include "autospace/space.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autospace/genome.h"
#include "runtime/cell_ops.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/json_read.h"

#define SPACE_FORMAT "asvk-space/1"

asvk_status asvk_space_set_skeleton(asvk_space *s, const asvk_skeleton *sk) {
    if (sk->count != s->layers)
        return asvk_error_set(ASVK_ERR_USAGE, "the space has %u layers, the skeleton %s %u", s->layers, sk->name,
                              sk->count);
    for (uint32_t l = 0; l < s->layers; l++) {
        uint32_t c, h;
        asvk_skeleton_layer_input(sk, l, &c, &h);
        for (uint32_t k = 0; k < s->count[l]; k++) {
            asvk_cell_shape shape;
            asvk_status st = asvk_cell_shape_of(&s->cells[l][k].cell, c, h, h, sk->layers[l].out, sk->layers[l].stride,
                                                &shape);
            if (st) return asvk_error_prefix(st, "layer %u, cell %u: ", l, k);
            asvk_cell_cost cost = asvk_cell_cost_of(&s->cells[l][k].cell, &shape);
            s->cells[l][k].madds = cost.madds, s->cells[l][k].params = cost.params;
        }
    }
    s->sk = *sk;
    s->has_skeleton = true;
    return ASVK_OK;
}

/* ---- writing ---- */

static asvk_status write_json(const char *path, cJSON *j) {
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text) return asvk_error_set(ASVK_ERR_OOM, "out of host memory writing %s", path);
    size_t n = strlen(text);
    text[n] = '\n'; /* cJSON_Print leaves no final newline; the NUL is not written */
    asvk_status st = asvk_file_write_atomic(path, text, n + 1);
    free(text);
    return st;
}

static asvk_status space_json(const asvk_space *s, cJSON **out) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", SPACE_FORMAT);
    cJSON_AddStringToObject(j, "name", s->name);
    if (s->generations) cJSON_AddNumberToObject(j, "generations", s->generations);
    if (s->has_skeleton) cJSON_AddItemToObject(j, "skeleton", asvk_skeleton_to_json(&s->sk));
    cJSON *layers = cJSON_AddArrayToObject(j, "layers");
    for (uint32_t l = 0; l < s->layers; l++) {
        cJSON *lo = cJSON_CreateObject();
        cJSON_AddItemToArray(layers, lo);
        if (s->has_skeleton) {
            uint32_t c, h;
            asvk_skeleton_layer_input(&s->sk, l, &c, &h);
            cJSON_AddNumberToObject(lo, "in", c);
            cJSON_AddNumberToObject(lo, "size", h);
            cJSON_AddNumberToObject(lo, "out", s->sk.layers[l].out);
            cJSON_AddNumberToObject(lo, "stride", s->sk.layers[l].stride);
        }
        if (s->no_skip[l]) cJSON_AddBoolToObject(lo, "skip", false);
        cJSON *cells = cJSON_AddArrayToObject(lo, "cells");
        for (uint32_t k = 0; k < s->count[l]; k++) {
            const asvk_space_cell *c = &s->cells[l][k];
            cJSON *co = cJSON_CreateObject();
            cJSON_AddItemToArray(cells, co);
            char line[256];
            asvk_genome_format(&c->cell, line, sizeof line);
            cJSON_AddStringToObject(co, "cell", line);
            cJSON *g = asvk_genome_to_json(&c->cell);
            if (!g) {
                cJSON_Delete(j);
                return asvk_error_prefix(ASVK_ERR_USAGE, "layer %u, cell %u: ", l, k);
            }
            cJSON_AddItemToObject(co, "genome", g);
            if (c->has_fitness) asvk_json_add_exact(co, "fitness", c->fitness);
            if (c->has_fitness) cJSON_AddNumberToObject(co, "sampled", c->sampled);
            if (s->has_skeleton) {
                cJSON_AddNumberToObject(co, "madds", (double)c->madds);
                cJSON_AddNumberToObject(co, "params", (double)c->params);
            }
            cJSON_AddBoolToObject(co, "anchor", c->anchor);
        }
    }
    *out = j;
    return ASVK_OK;
}

asvk_status asvk_space_save_json(const asvk_space *s, const char *path) {
    cJSON *j;
    asvk_status st = space_json(s, &j);
    return st ? asvk_error_prefix(st, "%s: ", path) : write_json(path, j);
}

asvk_status asvk_space_to_text(const asvk_space *s, char **text) {
    cJSON *j;
    asvk_status st = space_json(s, &j);
    if (st) return st;
    *text = cJSON_Print(j);
    cJSON_Delete(j);
    return *text ? ASVK_OK : asvk_error_set(ASVK_ERR_OOM, "out of host memory");
}

asvk_status asvk_space_save_motif(const asvk_space *s, const char *path, asvk_motif_reading reading, uint32_t *kept) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", "SuperProxylessNASNets");
    cJSON *blocks = cJSON_AddArrayToObject(j, "blocks");
    uint32_t n = 0;
    bool empty = false;
    for (uint32_t l = 0; l < s->layers; l++) {
        cJSON *b = cJSON_CreateArray();
        cJSON_AddItemToArray(blocks, b);
        for (uint32_t k = 0; k < s->count[l]; k++) {
            cJSON *m = NULL;
            /* the format has no SE flag: such a cell would read back without it */
            if (s->cells[l][k].cell.se || asvk_motif_to_json(&s->cells[l][k].cell, reading, &m)) continue;
            /* two cells the format writes alike would read back as one cell twice */
            bool twice = false;
            for (const cJSON *o = b->child; o && !twice; o = o->next) twice = cJSON_Compare(o, m, true);
            if (twice) {
                cJSON_Delete(m);
                continue;
            }
            cJSON_AddItemToArray(b, m);
            n++;
        }
        empty |= cJSON_GetArraySize(b) == 0;
    }
    if (kept) *kept = empty ? 0 : n;
    if (empty) { /* a layer without a choice is no space: no file (nor an older one) */
        cJSON_Delete(j);
        if (remove(path) != 0 && errno != ENOENT)
            return asvk_error_set(ASVK_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
        return ASVK_OK;
    }
    return write_json(path, j);
}

uint32_t asvk_space_cells(const asvk_space *s) {
    uint32_t n = 0;
    for (uint32_t l = 0; l < s->layers; l++) n += s->count[l];
    return n;
}

/* ---- reading ---- */

static asvk_status read_asvk(const cJSON *j, const char *path, asvk_space *s) {
    static const char *const keys[] = {"format", "name", "generations", "skeleton", "layers", NULL};
    static const char *const layer_keys[] = {"in", "size", "out", "stride", "skip", "cells", NULL};
    static const char *const cell_keys[] = {"cell", "genome", "fitness", "sampled", "madds", "params", "anchor", NULL};
    asvk_status st;
    const char *name;
    /* top-level members: the key path starts after "<file>: " */
    if ((st = asvk_json_check_keys(j, "", keys)) || (st = asvk_json_string(j, "", "name", true, NULL, &name)) ||
        (st = asvk_json_uint(j, "", "generations", false, 0, 0, 1u << 30, &s->generations)))
        return asvk_error_prefix(st, "%s: ", path);
    snprintf(s->name, sizeof s->name, "%s", name);
    asvk_genome_options any;
    asvk_genome_options_default(&any);
    any.expand_count = 0; /* a space may hold any ratio: the run chose its set */
    const cJSON *layers = asvk_json_get(j, "layers");
    if (!cJSON_IsArray(layers) || !cJSON_GetArraySize(layers) || cJSON_GetArraySize(layers) > ASVK_SKEL_MAX_LAYERS)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: layers must be an array of 1 to %d layers", path, ASVK_SKEL_MAX_LAYERS);
    char ctx[1200];
    for (const cJSON *lo = layers->child; lo; lo = lo->next) {
        uint32_t l = s->layers++;
        snprintf(ctx, sizeof ctx, "%.1000s: layers[%u]", path, l);
        if (!cJSON_IsObject(lo)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be an object", ctx);
        bool skip;
        if ((st = asvk_json_check_keys(lo, ctx, layer_keys)) || (st = asvk_json_bool(lo, ctx, "skip", false, true, &skip)))
            return st;
        s->no_skip[l] = !skip;
        const cJSON *cells = asvk_json_get(lo, "cells");
        if (!cJSON_IsArray(cells) || !cJSON_GetArraySize(cells) || cJSON_GetArraySize(cells) > ASVK_SPACE_MAX_CELLS)
            return asvk_error_set(ASVK_ERR_USAGE, "%s.cells must be an array of 1 to %d cells", ctx, ASVK_SPACE_MAX_CELLS);
        for (const cJSON *co = cells->child; co; co = co->next) {
            uint32_t k = s->count[l]++;
            asvk_space_cell *c = &s->cells[l][k];
            char cctx[1300];
            snprintf(cctx, sizeof cctx, "%s.cells[%u]", ctx, k);
            if (!cJSON_IsObject(co)) return asvk_error_set(ASVK_ERR_USAGE, "%s must be an object", cctx);
            double madds, params;
            if ((st = asvk_json_check_keys(co, cctx, cell_keys)) ||
                (st = asvk_json_number(co, cctx, "madds", false, 0, 0, 1e18, &madds)) ||
                (st = asvk_json_number(co, cctx, "params", false, 0, 0, 1e18, &params)) ||
                (st = asvk_json_bool(co, cctx, "anchor", false, false, &c->anchor)) ||
                (st = asvk_json_uint(co, cctx, "sampled", false, 0, 0, 1u << 30, &c->sampled)))
                return st;
            const cJSON *fit = asvk_json_get(co, "fitness");
            if (fit && (st = asvk_json_number(co, cctx, "fitness", true, 0, -1e9, 1e9, &c->fitness))) return st;
            c->has_fitness = fit != NULL;
            char gctx[1400];
            snprintf(gctx, sizeof gctx, "%s.genome", cctx);
            asvk_cell cell;
            if ((st = asvk_genome_from_json(asvk_json_get(co, "genome"), gctx, &any, &cell)) ||
                (st = asvk_genome_canonical(&cell, &c->cell, &c->hash)))
                return st;
            for (uint32_t i = 0; i < k; i++)
                if (s->cells[l][i].hash == c->hash)
                    return asvk_error_set(ASVK_ERR_USAGE, "%s is the same cell as cells[%u]", cctx, i);
        }
    }
    const cJSON *sk = asvk_json_get(j, "skeleton");
    if (sk) {
        asvk_skeleton skel;
        snprintf(ctx, sizeof ctx, "%.1000s: skeleton", path);
        if ((st = asvk_skeleton_from_json(sk, ctx, &skel))) return st;
        if ((st = asvk_space_set_skeleton(s, &skel))) return asvk_error_prefix(st, "%s: ", path);
    }
    return ASVK_OK;
}

static asvk_status read_motif(const cJSON *j, const char *path, asvk_motif_reading reading, asvk_space *s) {
    static const char *const keys[] = {"name", "blocks", NULL};
    asvk_status st;
    const char *name;
    if ((st = asvk_json_check_keys(j, "", keys)) || (st = asvk_json_string(j, "", "name", false, "", &name)))
        return asvk_error_prefix(st, "%s: ", path);
    /* the file's own name says nothing ("SuperProxylessNASNets"): the space is named after the file */
    const char *base = strrchr(path, '/');
    if ((st = asvk_utf8_check(base ? base + 1 : path, path, "the file name (the space's name)"))) return st;
    snprintf(s->name, sizeof s->name, "%s", base ? base + 1 : path);
    const cJSON *blocks = asvk_json_get(j, "blocks");
    if (!cJSON_IsArray(blocks) || !cJSON_GetArraySize(blocks) || cJSON_GetArraySize(blocks) > ASVK_SKEL_MAX_LAYERS)
        return asvk_error_set(ASVK_ERR_USAGE, "%s: blocks must be an array of 1 to %d layers", path, ASVK_SKEL_MAX_LAYERS);
    for (const cJSON *b = blocks->child; b; b = b->next) {
        uint32_t l = s->layers++;
        if (!cJSON_IsArray(b) || !cJSON_GetArraySize(b) || cJSON_GetArraySize(b) > ASVK_SPACE_MAX_CELLS)
            return asvk_error_set(ASVK_ERR_USAGE, "%s: blocks[%u] must be an array of 1 to %d Motif matrices", path, l,
                                  ASVK_SPACE_MAX_CELLS);
        for (const cJSON *m = b->child; m; m = m->next) {
            uint32_t k = s->count[l]++;
            asvk_space_cell *c = &s->cells[l][k];
            char ctx[1200];
            snprintf(ctx, sizeof ctx, "%.1000s: blocks[%u][%u]", path, l, k);
            asvk_cell cell;
            if ((st = asvk_motif_from_json(m, ctx, reading, &cell))) return st;
            if ((st = asvk_cell_check(&cell)) || (st = asvk_genome_canonical(&cell, &c->cell, &c->hash)))
                return asvk_error_prefix(st, "%s: ", ctx);
            /* the published spaces repeat no cell within a layer; equal ones under our reading are kept apart */
        }
    }
    return ASVK_OK;
}

asvk_status asvk_space_load(const char *path, asvk_motif_reading reading, asvk_space *out) {
    memset(out, 0, sizeof *out);
    char *text;
    size_t size;
    asvk_status st = asvk_file_read_all(path, 1 << 26, &text, &size);
    if (st) return st;
    cJSON *j;
    st = asvk_json_parse(text, size, path, &j);
    free(text);
    if (st) return st;
    if (!cJSON_IsObject(j)) st = asvk_error_set(ASVK_ERR_USAGE, "%s must hold a JSON object", path);
    else if (asvk_json_get(j, "format")) {
        const cJSON *f = asvk_json_get(j, "format");
        if (!cJSON_IsString(f) || strcmp(f->valuestring, SPACE_FORMAT) != 0)
            st = asvk_error_set(ASVK_ERR_USAGE, "%s: format must be \"%s\"", path, SPACE_FORMAT);
        else st = read_asvk(j, path, out);
    } else if (asvk_json_get(j, "blocks")) {
        st = read_motif(j, path, reading, out);
    } else {
        st = asvk_error_set(ASVK_ERR_USAGE, "%s is neither an asvk space (\"format\": \"%s\") nor an AutoSpace "
                            "search_space.config (\"blocks\")", path, SPACE_FORMAT);
    }
    cJSON_Delete(j);
    if (st) memset(out, 0, sizeof *out);
    return st;
}
