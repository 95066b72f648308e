#include "tests/fuzz/space_checks.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autospace/space.h"
#include "runtime/io/atomic_file.h"
#include "tests/fuzz/common.h"

static void same_cells(const asvk_space *a, const asvk_space *b, const char *what) {
    if (a->layers != b->layers) fuzz_fail("%s: %u layers read back as %u", what, a->layers, b->layers);
    for (uint32_t l = 0; l < a->layers; l++) {
        if (a->count[l] != b->count[l])
            fuzz_fail("%s: layer %u's %u cells read back as %u", what, l, a->count[l], b->count[l]);
        for (uint32_t k = 0; k < a->count[l]; k++)
            if (a->cells[l][k].hash != b->cells[l][k].hash || memcmp(&a->cells[l][k].cell, &b->cells[l][k].cell,
                                                                      sizeof a->cells[l][k].cell) != 0)
                fuzz_fail("%s: layer %u cell %u reads back as another cell", what, l, k);
    }
}

/* Whether some layer holds one cell twice: a search_space.config may (cells
 * its codes tell apart can be equal under a reading; the published file's
 * layer 7 has two under code-2, and `asvk space show` lists them as in the
 * file), a space.json may not (the search names a cell's weights by its
 * hash). Such a space's space.json is refused on reading, by name; see
 * tests/fuzz/README.md. */
static bool repeats_a_cell(const asvk_space *s) {
    for (uint32_t l = 0; l < s->layers; l++)
        for (uint32_t k = 1; k < s->count[l]; k++)
            for (uint32_t i = 0; i < k; i++)
                if (s->cells[l][i].hash == s->cells[l][k].hash) return true;
    return false;
}

static void check_json_round_trip(const asvk_space *s, asvk_space *back) {
    char *text, path[4096];
    if (asvk_space_to_text(s, &text) != ASVK_OK) fuzz_fail("a loaded space does not write: %s", asvk_error_message());
    fuzz_write(path, sizeof path, "written/space.json", text, strlen(text));
    if (repeats_a_cell(s)) {
        if (asvk_space_load(path, ASVK_MOTIF_READING_DEFAULT, back) == ASVK_OK ||
            !strstr(asvk_error_message(), "is the same cell as"))
            fuzz_fail("a space.json repeating a cell gave '%s'", asvk_error_message());
        free(text);
        return;
    }
    if (asvk_space_load(path, ASVK_MOTIF_READING_DEFAULT, back) != ASVK_OK)
        fuzz_fail("a written space.json does not read back: %s\n%s", asvk_error_message(), text);
    same_cells(s, back, "space.json");
    if (back->has_skeleton != s->has_skeleton || back->generations != s->generations)
        fuzz_fail("space.json reads back with another skeleton or generation count:\n%s", text);
    for (uint32_t l = 0; l < s->layers; l++)
        for (uint32_t k = 0; k < s->count[l]; k++) {
            const asvk_space_cell *x = &s->cells[l][k], *y = &back->cells[l][k];
            if (x->madds != y->madds || x->params != y->params || x->anchor != y->anchor ||
                x->has_fitness != y->has_fitness || (x->has_fitness && x->fitness != y->fitness) ||
                (x->has_fitness && x->sampled != y->sampled))
                fuzz_fail("space.json reads back layer %u cell %u with other figures:\n%s", l, k, text);
        }
    free(text);
}

/* The cells search_space.config holds (space.h): no SE, operators the format
 * has, each written once per layer; no file when a layer keeps none. */
static void check_motif_round_trip(const asvk_space *s, asvk_motif_reading reading, asvk_space *back) {
    char path[4096];
    fuzz_path(path, sizeof path, "written/search_space.config");
    uint32_t kept;
    if (asvk_space_save_motif(s, path, reading, &kept) != ASVK_OK)
        fuzz_fail("a loaded space does not write as search_space.config: %s", asvk_error_message());
    bool empty_layer = false;
    uint32_t n = 0;
    asvk_space *want = calloc(1, sizeof *want);
    if (!want) fuzz_fail("out of memory");
    want->layers = s->layers;
    for (uint32_t l = 0; l < s->layers; l++) {
        cJSON *written[ASVK_SPACE_MAX_CELLS];
        uint32_t w = 0;
        for (uint32_t k = 0; k < s->count[l]; k++) {
            cJSON *m = NULL;
            if (s->cells[l][k].cell.se || asvk_motif_to_json(&s->cells[l][k].cell, reading, &m)) continue;
            bool twice = false;
            for (uint32_t i = 0; i < w && !twice; i++) twice = cJSON_Compare(written[i], m, true);
            if (twice) {
                cJSON_Delete(m);
                continue;
            }
            written[w++] = m;
            want->cells[l][want->count[l]++] = s->cells[l][k];
        }
        for (uint32_t i = 0; i < w; i++) cJSON_Delete(written[i]);
        empty_layer |= want->count[l] == 0;
        n += want->count[l];
    }
    if (empty_layer) {
        if (kept != 0 || access(path, F_OK) == 0)
            fuzz_fail("a space with a layer the format holds no cell of wrote search_space.config (%u cells)", kept);
    } else {
        if (kept != n) fuzz_fail("search_space.config: %u cells kept, %u expected", kept, n);
        if (asvk_space_load(path, reading, back) != ASVK_OK)
            fuzz_fail("a written search_space.config does not read back: %s", asvk_error_message());
        same_cells(want, back, "search_space.config");
    }
    free(want);
}

static void check_networks(const asvk_space *s) {
    asvk_cell cells[ASVK_SKEL_MAX_LAYERS];
    for (uint32_t pick = 0; pick < ASVK_SPACE_MAX_CELLS; pick++) {
        bool more = false;
        for (uint32_t l = 0; l < s->layers; l++) {
            cells[l] = s->cells[l][pick < s->count[l] ? pick : s->count[l] - 1].cell;
            more |= pick + 1 < s->count[l];
        }
        asvk_arch a;
        if (asvk_skeleton_to_arch(&s->sk, cells, NULL, &a) != ASVK_OK)
            fuzz_fail("cells %u of a loaded space do not build a network: %s", pick, asvk_error_message());
        asvk_cost cost;
        if (asvk_arch_cost(&a, 0, &cost) != ASVK_OK)
            fuzz_fail("cells %u of a loaded space build a network without a cost: %s", pick, asvk_error_message());
        asvk_cost_free(&cost);
        asvk_arch_free(&a);
        if (!more) break;
    }
}

void fuzz_space_input(const uint8_t *data, size_t size, const char *name) {
    fuzz_clean();
    char path[4096];
    fuzz_write(path, sizeof path, name, data, size);
    asvk_space *s = malloc(sizeof *s), *back = malloc(sizeof *back);
    if (!s || !back) fuzz_fail("out of memory");
    for (int r = 0; r < 2; r++) {
        asvk_motif_reading reading = r ? ASVK_MOTIF_K_CODE : ASVK_MOTIF_K_CODE_MINUS_2;
        asvk_error_clear();
        if (asvk_space_load(path, reading, s) != ASVK_OK) {
            if (!asvk_error_message()[0]) fuzz_fail("refused without a message");
            continue;
        }
        check_json_round_trip(s, back);
        check_motif_round_trip(s, reading, back);
        if (s->has_skeleton) check_networks(s);
    }
    free(s), free(back);
}
