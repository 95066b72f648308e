/* SVG drawings for run reports: a cell's DAG, and line charts. Written
 * directly (no Graphviz needed), self-contained, to embed in HTML. */
#ifndef ASVK_APPS_SVG_H
#define ASVK_APPS_SVG_H

#include <stdint.h>
#include <stdio.h>

#include "runtime/cell.h"

/* The cell as a left-to-right graph: nodes 0 (input, after the expand conv)
 * to N-1 (output), every edge an arc labelled with its operator, weighted
 * merges marked, expansion and SE in the caption. */
void svg_cell(FILE *f, const asvk_cell *c, const char *caption);

typedef struct svg_series {
    const char *name;
    const double *x, *y;
    uint32_t n;
} svg_series;

/* Up to 8 series on shared axes; NaN points are left out. */
void svg_chart(FILE *f, const char *title, const char *xlabel, const char *ylabel, const svg_series *s, uint32_t count);

#endif
