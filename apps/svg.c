/* SVG cells and charts; see svg.h. Text widths are estimated from the
 * character count (no font metrics here), generously, so that a label is
 * never cut: tests/cli/check_report.py measures them in a browser. */
#include "apps/svg.h"

#include <math.h>
#include <string.h>

#include "apps/fmt.h"
#include "autospace/genome.h"
#include "runtime/cell_ops.h"

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                                      "#7f7f7f"};

/* a sans-serif text's width at font size `px` (DejaVu Sans, the widest common default, is about 0.64 em per digit) */
static double text_width(const char *s, size_t len, double px) { return (double)len * 0.66 * px; }

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
    const double gap = 130, r = 16, line = 16;
    uint32_t n = c->nodes;
    char foot[64];
    snprintf(foot, sizeof foot, "expansion %g%s", (double)c->expand, c->se ? ", SE" : "");
    /* arcs over the nodes rise with their span (a quadratic curve peaks at
     * half its control offset), alternating above and below the node row;
     * the drawing is as tall as its highest arc and label on each side */
    double up = r + 10, down = r + 4;
    int e = 0;
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = 0; j + 1 < i; j++)
            if (c->op[i][j]) {
                double reach = r + (2 * 22 * (i - j - 1) + 20) / 2 + 6 + 12; /* the curve, a gap, the label */
                if (e++ % 2) down = fmax(down, reach + 8);
                else up = fmax(up, reach);
            }
    /* the caption's lines ('\n') and the footer set the width when wider than the graph */
    const char *lines[4];
    size_t lens[4];
    uint32_t nl = 0;
    double width = gap * (n - 1) + 80;
    for (const char *p = caption ? caption : ""; nl < 4;) {
        const char *end = strchr(p, '\n');
        lines[nl] = p, lens[nl] = end ? (size_t)(end - p) : strlen(p);
        width = fmax(width, text_width(p, lens[nl], 12) + 16);
        nl++;
        if (!end) break;
        p = end + 1;
    }
    width = fmax(width, text_width(foot, strlen(foot), 11) + 16);
    double mid = 8 + nl * line + up, height = mid + down + 22, x0 = (width - gap * (n - 1)) / 2;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"cellgraph\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n", ceil(width), ceil(height));
    for (uint32_t k = 0; k < nl; k++)
        fprintf(f, "<text class=\"caption\" x=\"8\" y=\"%.0f\" font-size=\"12\">%.*s</text>\n", 4 + line * (k + 1),
                (int)lens[k], lines[k]);
    e = 0;
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = 0; j < i; j++) {
            asvk_cell_op op = (asvk_cell_op)c->op[i][j];
            if (!op) continue;
            double xa = x0 + gap * j, xb = x0 + gap * i, span = i - j, lx = (xa + xb) / 2, ly;
            if (span == 1) {
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                        xa + r, mid, xb - r, mid, op_colour(op));
                ly = mid - 6;
            } else {
                int side = e++ % 2 ? 1 : -1;
                double ctrl = 2 * 22 * (span - 1) + 20; /* the curve rises to about half of it */
                fprintf(f, "<path d=\"M %.1f %.1f Q %.1f %.1f %.1f %.1f\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                        xa, mid + side * r, lx, mid + side * (r + ctrl), xb, mid + side * r, op_colour(op));
                ly = mid + side * (r + ctrl / 2 + 6) + (side > 0 ? 8 : 0);
            }
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">%s%s</text>\n", lx, ly,
                    op_colour(op), asvk_genome_op_short(op), j == 0 ? " *" : "");
        }
    for (uint32_t i = 0; i < n; i++) {
        double x = x0 + gap * i;
        bool weighted = c->mix[i] == ASVK_MIX_WEIGHTED && asvk_cell_inputs(c, i) > 1;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.0f\" fill=\"%s\" stroke=\"#333\"/>\n", x, mid, r,
                weighted ? "#ffe08a" : "#fff");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%u</text>\n", x, mid + 4, i);
    }
    fprintf(f, "<text x=\"8\" y=\"%.0f\" fill=\"#555\">%s</text>\n", height - 8, foot);
    fprintf(f, "</svg>\n");
}

/* round ticks over [lo, hi]; a single value gets one tick and a unit of room on each side */
typedef struct {
    double lo, hi, step;
    uint32_t n;
    char label[16][24];
    double at[16];
} axis;

static void axis_make(axis *a, double min, double max, bool whole, bool pad_single) {
    if (max == min) {
        double half = whole ? 0.5 : min != 0 ? fabs(min) * 0.1 : 1;
        if (pad_single) { /* one x: the point in the middle, its own tick only */
            a->lo = min - half, a->hi = max + half, a->step = 2 * half, a->n = 1, a->at[0] = min;
            if (whole) fmt_tick(a->label[0], sizeof a->label[0], min, 1, fabs(min));
            else fmt_sig(a->label[0], sizeof a->label[0], min, "");
            return;
        }
        min -= half, max += half;
    }
    a->step = fmt_nice_step(max - min, 4, whole);
    while ((max - min) / a->step > 14) a->step *= 2; /* (cannot happen with 4 steps; guards the arrays) */
    a->lo = floor(min / a->step + 1e-9) * a->step, a->hi = ceil(max / a->step - 1e-9) * a->step;
    double top = fmax(fabs(a->lo), fabs(a->hi));
    a->n = 0;
    for (double v = a->lo; v <= a->hi + a->step * 1e-6 && a->n < 16; v = a->lo + a->n * a->step) {
        a->at[a->n] = v;
        fmt_tick(a->label[a->n++], sizeof a->label[0], v, a->step, top);
    }
}

void svg_chart(FILE *f, const char *title, const char *xlabel, const char *ylabel, const svg_series *s, uint32_t count) {
    if (count > 8) count = 8;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    bool whole = true;
    for (uint32_t k = 0; k < count; k++)
        for (uint32_t i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) continue;
            xmin = fmin(xmin, s[k].x[i]), xmax = fmax(xmax, s[k].x[i]);
            ymin = fmin(ymin, s[k].y[i]), ymax = fmax(ymax, s[k].y[i]);
            whole = whole && s[k].x[i] == floor(s[k].x[i]);
        }
    bool empty = !isfinite(xmin);
    if (empty) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    axis ax, ay;
    axis_make(&ax, xmin, xmax, whole, true);
    axis_make(&ay, ymin, ymax, false, false);
    /* margins from what they hold: the y tick labels and axis title on the left, the legend on the right */
    size_t ywide = 0, names = 0;
    for (uint32_t i = 0; i < ay.n; i++) ywide = ywide > strlen(ay.label[i]) ? ywide : strlen(ay.label[i]);
    for (uint32_t k = 0; k < count; k++) names = names > strlen(s[k].name) ? names : strlen(s[k].name);
    const double pw = 350, ph = 230, t = 30, b = 40;
    double l = 30 + text_width("", ywide, 11) + 6, r = 24 + text_width("", names, 11);
    double w = fmax(l + pw + r, l + text_width(title, strlen(title), 13) + 8), h = t + ph + b;
    double px = l + pw, py = t + ph; /* the plot's right and bottom edges */
#define X(v) (l + pw * ((v) - ax.lo) / (ax.hi - ax.lo))
#define Y(v) (py - ph * ((v) - ay.lo) / (ay.hi - ay.lo))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n", ceil(w), h);
    fprintf(f, "<text class=\"title\" x=\"%.0f\" y=\"18\" font-size=\"13\">%s</text>\n", l, title);
    fprintf(f, "<rect class=\"frame\" x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#999\"/>\n",
            l, t, pw, ph);
    for (uint32_t i = 0; i < ay.n; i++) {
        double y = Y(ay.at[i]);
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", l + 1, y, px - 1, y);
        fprintf(f, "<text class=\"tick y\" x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s</text>\n", l - 5,
                y + 4, ay.label[i]);
    }
    for (uint32_t i = 0; i < ax.n; i++) {
        double x = X(ax.at[i]);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#999\"/>\n", x, py, x, py + 4);
        fprintf(f, "<text class=\"tick x\" x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n", x,
                py + 16, ax.label[i]);
    }
    fprintf(f, "<text class=\"xlabel\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", l + pw / 2, h - 6, xlabel);
    fprintf(f, "<text class=\"ylabel\" x=\"16\" y=\"%.0f\" transform=\"rotate(-90 16 %.0f)\" text-anchor=\"middle\">%s</text>\n",
            t + ph / 2, t + ph / 2, ylabel);
    if (empty)
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#555\">no finite values</text>\n", l + pw / 2,
                t + ph / 2);
    for (uint32_t k = 0; k < count; k++) {
        uint32_t pts = 0;
        for (uint32_t i = 0; i < s[k].n; i++) pts += isfinite(s[k].x[i]) && isfinite(s[k].y[i]);
        if (pts > 1) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colours[k]);
            for (uint32_t i = 0; i < s[k].n; i++)
                if (isfinite(s[k].x[i]) && isfinite(s[k].y[i])) fprintf(f, "%.1f,%.1f ", X(s[k].x[i]), Y(s[k].y[i]));
            fprintf(f, "\"/>\n");
        }
        for (uint32_t i = 0; i < s[k].n; i++) /* markers: a series of one point shows as a larger dot */
            if (isfinite(s[k].x[i]) && isfinite(s[k].y[i]))
                fprintf(f, "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"/>\n", X(s[k].x[i]),
                        Y(s[k].y[i]), pts > 1 ? "2.5" : "4.5", colours[k]);
        fprintf(f, "<text class=\"legend\" x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s</text>\n", px + 12, t + 14 + 16.0 * k,
                colours[k], s[k].name);
    }
#undef X
#undef Y
    fprintf(f, "</svg>\n");
}
