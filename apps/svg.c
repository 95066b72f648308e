/* SVG cells and charts; see svg.h. */
#include "apps/svg.h"

#include <math.h>
#include <string.h>

#include "autospace/genome.h"
#include "runtime/cell_ops.h"

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                                      "#7f7f7f"};

static const char *op_colour(asvk_cell_op op) {
    switch (op) {
    case ASVK_CELL_IDENTITY: return "#7f7f7f";
    case ASVK_CELL_CONV1X1:
    case ASVK_CELL_CONV3X3: return "#d62728";
    case ASVK_CELL_DW3X3:
    case ASVK_CELL_DW5X5:
    case ASVK_CELL_DW7X7: return "#1f77b4";
    default: return "#2ca02c"; /* pools */
    }
}

void svg_cell(FILE *f, const asvk_cell *c, const char *caption) {
    const double gap = 130, r = 16;
    uint32_t n = c->nodes;
    /* arcs over the nodes rise with their span (a quadratic curve peaks at
     * half its control offset), alternating above and below the node row */
    double width = gap * (n - 1) + 80, height = 280, mid = 140;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
               "font-size=\"11\">\n", width, height);
    fprintf(f, "<text x=\"6\" y=\"16\" font-size=\"12\">%s</text>\n", caption ? caption : "");
    int e = 0;
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = 0; j < i; j++) {
            asvk_cell_op op = (asvk_cell_op)c->op[i][j];
            if (!op) continue;
            double x0 = 40 + gap * j, x1 = 40 + gap * i, span = i - j, lx = (x0 + x1) / 2, ly;
            if (span == 1) {
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                        x0 + r, mid, x1 - r, mid, op_colour(op));
                ly = mid - 6;
            } else {
                int side = e++ % 2 ? 1 : -1;
                double ctrl = 2 * 22 * (span - 1) + 20; /* the curve rises to about half of it */
                fprintf(f, "<path d=\"M %.1f %.1f Q %.1f %.1f %.1f %.1f\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                        x0, mid + side * r, lx, mid + side * (r + ctrl), x1, mid + side * r, op_colour(op));
                ly = mid + side * (r + ctrl / 2 + 6) + (side > 0 ? 8 : 0);
            }
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">%s%s</text>\n", lx, ly,
                    op_colour(op), asvk_genome_op_short(op), j == 0 ? " *" : "");
        }
    for (uint32_t i = 0; i < n; i++) {
        double x = 40 + gap * i;
        bool weighted = c->mix[i] == ASVK_MIX_WEIGHTED && asvk_cell_inputs(c, i) > 1;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.0f\" fill=\"%s\" stroke=\"#333\"/>\n", x, mid, r,
                weighted ? "#ffe08a" : "#fff");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%u</text>\n", x, mid + 4, i);
    }
    fprintf(f, "<text x=\"6\" y=\"%.0f\" fill=\"#555\">e%g%s  (* strided edge; yellow: weighted merge)</text>\n",
            height - 6, (double)c->expand, c->se ? ", SE" : "");
    fprintf(f, "</svg>\n");
}

void svg_chart(FILE *f, const char *title, const char *xlabel, const char *ylabel, const svg_series *s, uint32_t count) {
    const double w = 560, h = 300, l = 60, r = 150, t = 30, b = 40;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (uint32_t k = 0; k < count; k++)
        for (uint32_t i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) continue;
            xmin = fmin(xmin, s[k].x[i]), xmax = fmax(xmax, s[k].x[i]);
            ymin = fmin(ymin, s[k].y[i]), ymax = fmax(ymax, s[k].y[i]);
        }
    if (!isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    if (xmax == xmin) xmax = xmin + 1;
    if (ymax == ymin) ymax = ymin + 1, ymin -= 1;
    double pad = 0.05 * (ymax - ymin);
    ymin -= pad, ymax += pad;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
               "font-size=\"11\">\n", w, h);
    fprintf(f, "<text x=\"%.0f\" y=\"18\" font-size=\"13\">%s</text>\n", l, title);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#999\"/>\n", l, t,
            w - l - r, h - t - b);
    for (int g = 0; g <= 4; g++) {
        double yv = ymin + (ymax - ymin) * g / 4, y = h - b - (h - t - b) * g / 4.0;
        double xv = xmin + (xmax - xmin) * g / 4, x = l + (w - l - r) * g / 4.0;
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%.4g</text>\n", l - 4, y + 4, yv);
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#555\">%.4g</text>\n", x, h - b + 14, xv);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", l + (w - l - r) / 2, h - 6, xlabel);
    fprintf(f, "<text x=\"14\" y=\"%.0f\" transform=\"rotate(-90 14 %.0f)\" text-anchor=\"middle\">%s</text>\n",
            t + (h - t - b) / 2, t + (h - t - b) / 2, ylabel);
    for (uint32_t k = 0; k < count && k < 8; k++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colours[k]);
        for (uint32_t i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) continue;
            double x = l + (w - l - r) * (s[k].x[i] - xmin) / (xmax - xmin);
            double y = h - b - (h - t - b) * (s[k].y[i] - ymin) / (ymax - ymin);
            fprintf(f, "%.1f,%.1f ", x, y);
        }
        fprintf(f, "\"/>\n");
        for (uint32_t i = 0; i < s[k].n; i++) { /* markers: a series of one point shows too */
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) continue;
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                    l + (w - l - r) * (s[k].x[i] - xmin) / (xmax - xmin),
                    h - b - (h - t - b) * (s[k].y[i] - ymin) / (ymax - ymin), colours[k]);
        }
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s</text>\n", w - r + 8, t + 14 + 16.0 * k, colours[k],
                s[k].name);
    }
    fprintf(f, "</svg>\n");
}
