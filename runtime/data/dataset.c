#include "runtime/data/dataset.h"
#include "runtime/io/json_read.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const asvk_norm asvk_norm_fashion_mnist = {{0.2860406f, 0.2860406f, 0.2860406f}, {0.3530242f, 0.3530242f, 0.3530242f}};
const asvk_norm asvk_norm_cifar10 = {{0.4913997f, 0.4821584f, 0.4465309f}, {0.2470322f, 0.2434851f, 0.2615878f}};

asvk_status asvk_dataset_create(uint32_t n, uint32_t h, uint32_t w, uint32_t c, uint32_t classes,
                                const char *source, asvk_dataset **out) {
    *out = NULL;
    if (!h || !w || (c != 1 && c != 3))
        return asvk_error_set(ASVK_ERR_USAGE, "a dataset of %ux%ux%u images: height and width must be positive "
                                              "and channels 1 or 3", h, w, c);
    uint64_t bytes = (uint64_t)n * h * w * c;
    if (bytes > SIZE_MAX / 2)
        return asvk_error_set(ASVK_ERR_OOM, "a dataset of %u images of %ux%ux%u is too large for this host", n, h,
                              w, c);
    asvk_dataset *d = calloc(1, sizeof *d);
    if (!d) return asvk_error_set(ASVK_ERR_OOM, "out of host memory for a dataset");
    d->n = n, d->h = h, d->w = w, d->c = c, d->classes = classes;
    d->pixels = calloc(bytes ? bytes : 1, 1);
    d->labels = calloc(n ? n : 1, sizeof *d->labels);
    d->source = strdup(source ? source : "(generated)");
    if (!d->pixels || !d->labels || !d->source) {
        asvk_dataset_destroy(d);
        return asvk_error_set(ASVK_ERR_OOM, "out of host memory for %u images of %ux%ux%u", n, h, w, c);
    }
    *out = d;
    return ASVK_OK;
}

static void free_names(asvk_dataset *d) {
    if (!d->class_names) return;
    for (uint32_t i = 0; i < d->classes; i++) free(d->class_names[i]);
    free(d->class_names);
    d->class_names = NULL;
}

void asvk_dataset_destroy(asvk_dataset *d) {
    if (!d) return;
    free_names(d);
    free(d->pixels);
    free(d->labels);
    free(d->source);
    free(d);
}

asvk_status asvk_dataset_set_class_names(asvk_dataset *d, const char *const *names) {
    free_names(d);
    if (!names || !d->classes) return ASVK_OK;
    d->class_names = calloc(d->classes, sizeof *d->class_names);
    if (!d->class_names) return asvk_error_set(ASVK_ERR_OOM, "out of host memory for class names");
    for (uint32_t i = 0; i < d->classes; i++) {
        asvk_status st = names[i] ? asvk_utf8_check(names[i], d->source ? d->source : "the dataset", "class name")
                                  : ASVK_OK; /* they reach JSON and the report */
        if (st) {
            free_names(d);
            return st;
        }
        d->class_names[i] = strdup(names[i] ? names[i] : "");
        if (!d->class_names[i]) {
            free_names(d);
            return asvk_error_set(ASVK_ERR_OOM, "out of host memory for class names");
        }
    }
    return ASVK_OK;
}

asvk_status asvk_dataset_validate(const asvk_dataset *d) {
    const char *src = d->source ? d->source : "dataset";
    if (!d->h || !d->w || (d->c != 1 && d->c != 3))
        return asvk_error_set(ASVK_ERR_USAGE, "%s: images of %ux%ux%u; height and width must be positive and "
                                              "channels 1 or 3", src, d->h, d->w, d->c);
    if (!d->pixels || !d->labels) return asvk_error_set(ASVK_ERR_USAGE, "%s: no pixel or label storage", src);
    if (!d->classes) return asvk_error_set(ASVK_ERR_USAGE, "%s: no classes", src);
    for (uint32_t i = 0; i < d->n; i++)
        if (d->labels[i] < 0 || (uint32_t)d->labels[i] >= d->classes)
            return asvk_error_set(ASVK_ERR_USAGE, "%s: label %d of image %u is outside 0..%u", src, d->labels[i], i,
                                  d->classes - 1);
    return ASVK_OK;
}

asvk_status asvk_dataset_norm(const asvk_dataset *d, const uint32_t *idx, uint32_t count, asvk_norm *out) {
    if (!idx) count = d->n;
    if (!count) return asvk_error_set(ASVK_ERR_USAGE, "%s: no images to measure", d->source);
    /* Exact integer histograms: sums in double over 10^8 pixels would lose
     * the last digits the constants above are quoted with. */
    uint64_t hist[3][256] = {{0}};
    uint64_t per = (uint64_t)d->h * d->w;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t i = idx ? idx[k] : k;
        if (i >= d->n)
            return asvk_error_set(ASVK_ERR_USAGE, "%s: index %u is past the %u images", d->source, i, d->n);
        const uint8_t *p = asvk_dataset_image(d, i);
        for (uint64_t q = 0; q < per; q++)
            for (uint32_t ch = 0; ch < d->c; ch++) hist[ch][p[q * d->c + ch]]++;
    }
    *out = (asvk_norm){{0}, {1, 1, 1}};
    for (uint32_t ch = 0; ch < d->c; ch++) {
        double s = 0, n = (double)count * (double)per;
        for (int v = 0; v < 256; v++) s += (double)hist[ch][v] * v;
        double mean = s / n, var = 0;
        for (int v = 0; v < 256; v++) var += (double)hist[ch][v] * (v - mean) * (v - mean);
        out->mean[ch] = (float)(mean / 255);
        out->std[ch] = (float)(sqrt(var / n) / 255);
    }
    for (uint32_t ch = d->c; ch < 3; ch++) out->mean[ch] = out->mean[0], out->std[ch] = out->std[0];
    return ASVK_OK;
}
