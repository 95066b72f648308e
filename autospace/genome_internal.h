/* Shared by the genome's files only: the graph part of a cell with, for
 * each node, the node of the original cell it descends from (id, -1: new),
 * which canonicalisation carries along so that a mutation can tell the
 * trainer which weights a child inherits (genome.h, asvk_genome_map). */
#ifndef ASVK_AUTOSPACE_GENOME_INTERNAL_H
#define ASVK_AUTOSPACE_GENOME_INTERNAL_H

#include "autospace/genome.h"

typedef struct asvk_genome_work {
    uint32_t n;
    uint8_t op[ASVK_CELL_MAX_NODES][ASVK_CELL_MAX_NODES];
    uint8_t mix[ASVK_CELL_MAX_NODES];
    int8_t id[ASVK_CELL_MAX_NODES];
} asvk_genome_work;

/* ids start as the node numbers */
void asvk_genome_work_from_cell(const asvk_cell *c, asvk_genome_work *w);
/* The canonical rules of genome.h on a well-formed graph (ids follow their nodes). */
asvk_status asvk_genome_canonical_work(asvk_genome_work *w, float expand);
/* A cell with w's graph and like's expand, se and act; every other byte zero. */
void asvk_genome_work_to_cell(const asvk_genome_work *w, const asvk_cell *like, asvk_cell *out);
/* The hash of c's encoding as it is (no canonicalisation). */
uint64_t asvk_genome_hash_raw(const asvk_cell *c);
/* Convolutions: the edges that make a cell cost something. */
bool asvk_genome_op_has_params(uint8_t op);

#endif
