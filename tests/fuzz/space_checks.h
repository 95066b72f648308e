/* What the search-space harnesses check of a space that loaded. */
#ifndef ASVK_TESTS_FUZZ_SPACE_CHECKS_H
#define ASVK_TESTS_FUZZ_SPACE_CHECKS_H

#include <stddef.h>
#include <stdint.h>

/* Writes the input to `name` in the scratch folder and loads it under both
 * Motif readings, as `asvk space show`, `asvk search --space` and `asvk
 * latency --space` do. A space that loads must write and read back as itself
 * (space.json, and search_space.config for the cells that format holds), and
 * with a skeleton every choice of one cell per layer must build a network
 * with a cost (what the search and the latency probes build). */
void fuzz_space_input(const uint8_t *data, size_t size, const char *name);

#endif
