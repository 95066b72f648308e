/* Summaries of repeated timings. */
#ifndef ASVK_APPS_STATS_H
#define ASVK_APPS_STATS_H
#include <stddef.h>
typedef struct { double median, min, max; size_t n; } asvk_summary;
/* Sorts v in place. */
asvk_summary asvk_summarize(double *v, size_t n);
double asvk_now_ns(void);
#endif
