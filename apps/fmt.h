/* Numbers as the report shows them: one format on the whole page, three
 * significant digits, SI prefixes on counts (apps/fmt.c). */
#ifndef ASVK_APPS_FMT_H
#define ASVK_APPS_FMT_H

#include <stddef.h>

/* A count with an SI prefix before its unit: "3.13 M MAdds", "78.1 k params",
 * "512 params" (unit may be ""). A value that is not finite is "not finite". */
const char *fmt_si(char *buf, size_t n, double v, const char *unit);

/* Three significant digits and no prefix, for units that carry their own or
 * none: "2.28 ms", "0.0781 ms", "0.912", "85.3%". */
const char *fmt_sig(char *buf, size_t n, double v, const char *unit);

/* An axis' tick value v: as many decimals as the step between ticks needs,
 * scaled by the SI prefix of the axis' largest |value| (`top`): "1.9 M". */
const char *fmt_tick(char *buf, size_t n, double v, double step, double top);

/* A round tick step (1, 2 or 5 x 10^k; with `whole`, at least 1) near
 * `range / ticks`. */
double fmt_nice_step(double range, int ticks, int whole);

#endif
