/* SVG drawings for run reports: a cell's DAG, and line charts. Written
 * directly (no Graphviz needed), self-contained, to embed in HTML. */
#ifndef ASVK_APPS_SVG_H
#define ASVK_APPS_SVG_H

#include <stdint.h>
#include <stdio.h>

#include "runtime/cell.h"

/* The cell as a left-to-right graph: nodes 0 (input, after the expand conv)
 * to N-1 (output), every edge an arc labelled with its operator (* when
 * strided), weighted merges yellow, expansion and SE below. The caption may
 * hold lines ('\n'); the drawing is as wide and tall as what it holds. */
void svg_cell(FILE *f, const asvk_cell *c, const char *caption);

typedef struct svg_series {
    const char *name;
    const double *x, *y;
    uint32_t n;
} svg_series;

/* Up to 8 series on shared axes with round ticks (whole numbers on an x of
 * whole numbers; SI prefixes on large values); non-finite points are left
 * out, a series of one point is a dot, an x of one value a single tick. The
 * margins fit the labels. Its parts carry classes (chart, title, frame,
 * "tick x", "tick y", xlabel, ylabel, point, legend) that
 * tests/cli/check_report.py measures. */
void svg_chart(FILE *f, const char *title, const char *xlabel, const char *ylabel, const svg_series *s, uint32_t count);

#endif
