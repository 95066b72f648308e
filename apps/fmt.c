/* Report number formats; see fmt.h. */
#include "apps/fmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const prefixes[] = {"", "k", "M", "G", "T", "P"};

/* the power of 1000 (0 .. 5) that brings |v| below 1000 after rounding to 3 digits */
static int thousands(double v) {
    int e = 0;
    for (double a = fabs(v); e < 5 && a >= 999.5; a /= 1000) e++;
    return e;
}

/* v (finite, |v| < 1000 or any when the caller accepts more digits) to 3 significant digits */
static void sig3(char *buf, size_t n, double v) {
    if (v == 0) {
        snprintf(buf, n, "0");
        return;
    }
    int digits = 2 - (int)floor(log10(fabs(v)));
    double r = round(v * pow(10, digits)) / pow(10, digits); /* 9.996 -> 10.0: one decimal fewer */
    digits = 2 - (int)floor(log10(fabs(r)));
    if (digits < 0) digits = 0;
    if (digits > 9) digits = 9;
    snprintf(buf, n, "%.*f", digits, r);
}

static const char *put(char *buf, size_t n, const char *num, const char *prefix, const char *unit) {
    snprintf(buf, n, "%s%s%s%s%s", num, prefix[0] ? " " : "", prefix, unit[0] && unit[0] != '%' ? " " : "", unit);
    return buf;
}

const char *fmt_si(char *buf, size_t n, double v, const char *unit) {
    if (!isfinite(v)) return snprintf(buf, n, "not finite"), buf;
    int e = fabs(v) < 1 ? 0 : thousands(v);
    char num[32];
    sig3(num, sizeof num, v / pow(1000, e));
    return put(buf, n, num, prefixes[e], unit ? unit : "");
}

const char *fmt_sig(char *buf, size_t n, double v, const char *unit) {
    if (!isfinite(v)) return snprintf(buf, n, "not finite"), buf;
    char num[48];
    if (fabs(v) >= 999.5) snprintf(num, sizeof num, "%.0f", v);
    else sig3(num, sizeof num, v);
    return put(buf, n, num, "", unit ? unit : "");
}

const char *fmt_tick(char *buf, size_t n, double v, double step, double top) {
    int e = thousands(top);
    double scale = pow(1000, e), s = step / scale;
    int decimals = 0; /* as many as make the step whole: 2.5 -> 1, 0.25 -> 2 */
    for (double d = s; decimals < 12 && (d < 1 - 1e-9 || fabs(d - round(d)) > 1e-6 * d); d *= 10) decimals++;
    double x = v / scale;
    if (fabs(x) < s * 1e-6) return snprintf(buf, n, "0"), buf; /* no "-0" or "0 k" */
    snprintf(buf, n, "%.*f%s%s", decimals, x, e ? " " : "", prefixes[e]);
    return buf;
}

double fmt_nice_step(double range, int ticks, int whole) {
    if (!(range > 0) || !isfinite(range)) return 1;
    double rough = range / ticks, p = pow(10, floor(log10(rough))), m = rough / p;
    double step = (m < 1.42 ? 1 : m < 3.17 ? 2 : m < 7.08 ? 5 : 10) * p; /* the nearest, geometrically */
    return whole && step < 1 ? 1 : step;
}
