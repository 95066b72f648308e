/* Architectures: the cost model against the published reference figures and
 * hand computations, asvk JSON and net.config round trips, the parameter
 * list against the cost model, atomic writes, and every malformed input
 * giving the right status and a message that names the key or layer. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/io/arch.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/json_read.h"
#include "tests/harness.h"

/* The expected failure: status and a message containing `want`. */
/* The published reference files live beside the repository (shared/), or
 * where ASVK_REFERENCE_DIR points. */
static const char *reference(const char *rel, char *buf, size_t n) {
    const char *dir = getenv("ASVK_REFERENCE_DIR");
    if (dir && *dir) snprintf(buf, n, "%s/%s", dir, rel);
    else {
        /* __FILE__ is <repo>/tests/runtime/test_arch.c */
        const char *f = __FILE__;
        const char *end = strstr(f, "/tests/runtime/");
        snprintf(buf, n, "%.*s/../shared/reference/%s", end ? (int)(end - f) : 1, end ? f : ".", rel);
    }
    if (access(buf, R_OK) != 0) {
        fprintf(stderr, "note: reference file %s not found (set ASVK_REFERENCE_DIR); its checks are skipped\n", buf);
        return NULL;
    }
    return buf;
}

static char tmpdir[256];

static const char *tmp_path(const char *name, char *buf, size_t n) {
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "%s/asvk_test_arch_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(tmpdir)) tmpdir[0] = 0;
    }
    snprintf(buf, n, "%s/%s", tmpdir, name);
    return buf;
}

static void cost_of(const char *spec, uint32_t res, uint64_t *params, uint64_t *madds) {
    asvk_arch a;
    asvk_cost c;
    *params = *madds = 0;
    OK(asvk_arch_open(spec, &a));
    asvk_status st = asvk_arch_cost(&a, res, &c);
    asvk_arch_free(&a);
    OK(st);
    *params = c.params, *madds = c.madds;
    asvk_cost_free(&c);
}

static void cost_reference_figures(void) {
    uint64_t p, m;
    /* DESIGN.md: ProxylessNAS-Mobile 320.4M MAdds, 4.08M params at 224. */
    char path[1024];
    const char *ref = reference("proxylessnas/proxyless_mobile.config", path, sizeof path);
    const char *specs[] = {"proxyless_mobile", ref};
    for (int i = 0; i < 2; i++) {
        if (!specs[i]) continue;
        cost_of(specs[i], 224, &p, &m);
        CHECK(m >= 320300000 && m <= 320500000, "%s MAdds %llu, expected 320.4M +- 0.1M", specs[i], (unsigned long long)m);
        CHECK(p >= 4070000 && p <= 4090000, "%s params %llu, expected 4.08M +- 0.01M", specs[i], (unsigned long long)p);
        /* exact figures of an independent (Python) count of the same file */
        CHECK(m == 320427584 && p == 4080512, "%s: %llu MAdds, %llu params", specs[i], (unsigned long long)m,
              (unsigned long long)p);
    }
    /* MobileNetV2-1.0 at 224: about 300.8M MAdds, 3.50M params (within 0.1%). */
    cost_of("mbv2", 224, &p, &m);
    CHECK(m > 300.8e6 * 0.999 && m < 300.8e6 * 1.001, "mbv2 MAdds %llu", (unsigned long long)m);
    /* 3.50M as published is a rounding of torchvision's exact 3,504,872 (0.14%
     * above 3.50M), which this count matches exactly. */
    CHECK(p == 3504872, "mbv2 params %llu, torchvision's mobilenet_v2 has 3504872", (unsigned long long)p);
    /* The MobileNetV2 paper's table: 0.75 -> 209M, 0.5 -> 97M, 1.0 at 160 -> 154M. */
    cost_of("mbv2:w=0.75", 0, &p, &m);
    CHECK(m == 209069792 && p == 2636424, "mbv2 w=0.75: %llu MAdds, %llu params", (unsigned long long)m,
          (unsigned long long)p);
    cost_of("mbv2:w=0.5", 0, &p, &m);
    CHECK(m == 97131840 && p == 1968680, "mbv2 w=0.5: %llu MAdds, %llu params", (unsigned long long)m,
          (unsigned long long)p);
    cost_of("mbv2:r=160", 0, &p, &m);
    CHECK(m == 154083200 && p == 3504872, "mbv2 r=160: %llu MAdds, %llu params", (unsigned long long)m,
          (unsigned long long)p);
    uint64_t m2;
    cost_of("mbv2", 160, &p, &m2); /* --resolution and r= agree */
    CHECK(m2 == m, "mbv2 at 160: %llu vs %llu", (unsigned long long)m2, (unsigned long long)m);
    cost_of("fmnist", 0, &p, &m);
    CHECK(p <= 1000000, "fmnist has %llu params, more than 1M", (unsigned long long)p);
}

/* One layer of each width-multiplied variant, by hand. */
static void mbv2_variants_by_hand(void) {
    asvk_arch a;
    asvk_cost c;
    /* w=0.75: stem make_divisible(24) = 24; stage 1 out make_divisible(12) = 16;
     * stage 2 out make_divisible(18) = 16, below 0.9*18, so 24. Layer 2 is the
     * first block of stage 2: 16 -> 96 (x6) at 112x112, dw 3x3 s2 -> 56x56, 96 -> 24. */
    OK(asvk_arch_builtin("mbv2:w=0.75", &a));
    OK(asvk_arch_cost(&a, 0, &c));
    CHECK(a.layers[0].conv.out == 24 && a.layers[1].mbconv.out == 16 && a.layers[2].mbconv.out == 24, "channels %u %u %u",
          a.layers[0].conv.out, a.layers[1].mbconv.out, a.layers[2].mbconv.out);
    uint64_t madds = 16ull * 96 * 112 * 112 + 96ull * 9 * 56 * 56 + 96ull * 24 * 56 * 56;
    uint64_t params = 16 * 96 + 2 * 96 + 96 * 9 + 2 * 96 + 96 * 24 + 2 * 24;
    CHECK(c.layers[2].madds == madds && c.layers[2].params == params, "w=0.75 layer 2: %llu/%llu vs %llu/%llu",
          (unsigned long long)c.layers[2].madds, (unsigned long long)c.layers[2].params, (unsigned long long)madds,
          (unsigned long long)params);
    CHECK(c.layers[c.count - 4].dims.out_c == 1280, "w=0.75 keeps the 1280 head");
    asvk_cost_free(&c);
    asvk_arch_free(&a);
    /* w=0.5 at r=160, 10 classes, 1 input channel: stem 1 -> 16, 3x3 s2 -> 80x80;
     * the head conv 160 -> 1280 at 5x5; the classifier 1280 -> 10. */
    OK(asvk_arch_builtin("mbv2:w=0.5:r=160:classes=10:in=1", &a));
    OK(asvk_arch_cost(&a, 0, &c));
    CHECK(c.layers[0].madds == 1ull * 16 * 9 * 80 * 80 && c.layers[0].params == 16 * 9 + 32, "w=0.5 stem %llu",
          (unsigned long long)c.layers[0].madds);
    uint32_t h = a.count - 4; /* head conv, global pool, dropout, linear */
    CHECK(c.layers[h].madds == 160ull * 1280 * 5 * 5 && c.layers[h].dims.in_c == 160, "w=0.5 head %llu in %u",
          (unsigned long long)c.layers[h].madds, c.layers[h].dims.in_c);
    CHECK(c.layers[a.count - 1].madds == 12800 && c.layers[a.count - 1].params == 12810, "classifier");
    asvk_cost_free(&c);
    asvk_arch_free(&a);
    /* r=160 for w=1: the last stage runs at 5x5: 7x7 k3 dw of 960 channels -> 960*9*25. */
    OK(asvk_arch_builtin("mbv2:r=160", &a));
    OK(asvk_arch_cost(&a, 0, &c));
    uint32_t last = a.count - 5; /* the 320-channel block */
    madds = 160ull * 960 * 25 + 960ull * 9 * 25 + 960ull * 320 * 25;
    CHECK(c.layers[last].madds == madds, "r=160 last block %llu vs %llu", (unsigned long long)c.layers[last].madds,
          (unsigned long long)madds);
    asvk_cost_free(&c);
    asvk_arch_free(&a);
}

/* Every layer type and option, for the round trips. */
static void build_zoo(asvk_arch *a) {
    asvk_arch_init(a);
    snprintf(a->name, sizeof a->name, "zoo \"quoted\"");
    a->in_channels = 2, a->resolution = 33, a->num_classes = 7, a->bn_momentum = 0.01, a->bn_eps = 1e-3;
    asvk_layer l = asvk_layer_default(ASVK_LAYER_CONV);
    l.conv.out = 16, l.conv.kernel = 5, l.conv.stride = 2, l.conv.bias = true, l.conv.act = ASVK_ACT_HSWISH;
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_CONV);
    l.conv.out = 32, l.conv.kernel = 3, l.conv.groups = 8, l.conv.bn = false, l.conv.act = ASVK_ACT_NONE;
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_MBCONV);
    l.mbconv.out = 32, l.mbconv.kernel = 5, l.mbconv.expand = 4.5, l.mbconv.se = true, l.mbconv.act = ASVK_ACT_SWISH;
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_MBCONV);
    l.mbconv.out = 32, l.mbconv.kernel = 3, l.mbconv.expand = 3, l.mbconv.mid = 40,
    l.mbconv.residual = ASVK_RESIDUAL_OFF;
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_SKIP);
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_POOL);
    l.pool.mode = ASVK_POOL_MAX, l.pool.kernel = 3, l.pool.stride = 2, l.pool.pad = 1;
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_MBCONV);
    l.mbconv.out = 48, l.mbconv.kernel = 7, l.mbconv.stride = 2, l.mbconv.expand = 1;
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_POOL);
    l.pool.kernel = 2;
    l.pool.stride = 2;
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_GLOBAL_POOL);
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_LINEAR);
    l.linear.out = 20, l.linear.act = ASVK_ACT_RELU, l.linear.bias = false;
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_DROPOUT);
    l.dropout = 0.1;
    asvk_arch_append(a, &l);
    l = asvk_layer_default(ASVK_LAYER_LINEAR);
    l.linear.out = 7;
    asvk_arch_append(a, &l);
}

static void json_round_trip(void) {
    const char *specs[] = {"mbv2", "mbv2:w=0.5:r=160:classes=10:in=1:dropout=0.3", "proxyless_mobile", "fmnist", NULL};
    for (int i = 0; i < 5; i++) {
        asvk_arch a, b;
        if (specs[i]) OK(asvk_arch_builtin(specs[i], &a));
        else build_zoo(&a);
        OK(asvk_arch_validate(&a, 0));
        char *text;
        OK(asvk_arch_to_json(&a, &text));
        OK(asvk_arch_parse(text, strlen(text), "mem.json", &b));
        CHECK(asvk_arch_equal(&a, &b), "%s: JSON round trip differs:\n%s", a.name, text);
        asvk_arch_free(&b);
        char path[512];
        tmp_path("rt.json", path, sizeof path);
        OK(asvk_arch_save(path, &a));
        OK(asvk_arch_load(path, &b));
        CHECK(asvk_arch_equal(&a, &b), "%s: file round trip differs", a.name);
        asvk_arch_free(&b);
        OK(asvk_arch_copy(&b, &a));
        CHECK(asvk_arch_equal(&a, &b), "copy differs");
        b.layers[b.count - 1].linear.bias = !b.layers[b.count - 1].linear.bias;
        CHECK(!asvk_arch_equal(&a, &b), "a changed layer still compares equal");
        asvk_arch_free(&b);
        free(text);
        asvk_arch_free(&a);
    }
}

static void netconfig_import_export(void) {
    char path[1024], out[512];
    const char *ref = reference("proxylessnas/proxyless_mobile.config", path, sizeof path);
    asvk_arch a, b, c;
    if (ref) { /* the reference file is the built-in, layer for layer */
        OK(asvk_arch_load(ref, &a));
        OK(asvk_arch_builtin("proxyless_mobile", &b));
        CHECK(asvk_arch_equal(&a, &b), "proxyless_mobile.config differs from the built-in");
        CHECK(a.bn_eps == 1e-3 && a.bn_momentum == 0.1 && a.count == 26, "bn %g %g, %u layers", a.bn_eps, a.bn_momentum,
              a.count);
        /* and the built-in exports to the published file, key for key */
        char *mine, *theirs;
        size_t len;
        OK(asvk_arch_to_netconfig(&b, &mine));
        OK(asvk_file_read_all(ref, 0, &theirs, &len));
        cJSON *x = cJSON_Parse(mine), *y = cJSON_Parse(theirs);
        CHECK(x && y && cJSON_Compare(x, y, true), "exported proxyless_mobile differs from the published file");
        cJSON_Delete(x), cJSON_Delete(y);
        free(mine), free(theirs);
        asvk_arch_free(&a);
        asvk_arch_free(&b);
    }
    /* export then import: equal, for the built-ins and for a network with
     * SE, other activations, a mid override and a residual switched off */
    const char *specs[] = {"proxyless_mobile", "mbv2:w=0.75:classes=10", "fmnist", NULL};
    for (int i = 0; i < 4; i++) {
        if (specs[i]) {
            OK(asvk_arch_builtin(specs[i], &a));
        } else {
            asvk_arch_init(&a);
            a.num_classes = 5, a.resolution = 64;
            asvk_layer l = asvk_layer_default(ASVK_LAYER_CONV);
            l.conv.out = 16, l.conv.kernel = 3, l.conv.stride = 2, l.conv.act = ASVK_ACT_HSWISH;
            asvk_arch_append(&a, &l);
            l = asvk_layer_default(ASVK_LAYER_MBCONV);
            l.mbconv.out = 16, l.mbconv.kernel = 5, l.mbconv.se = true, l.mbconv.act = ASVK_ACT_HSWISH, l.mbconv.mid = 72;
            asvk_arch_append(&a, &l);
            l.mbconv.residual = ASVK_RESIDUAL_OFF, l.mbconv.se = false, l.mbconv.mid = 0, l.mbconv.act = ASVK_ACT_RELU6;
            asvk_arch_append(&a, &l);
            l = asvk_layer_default(ASVK_LAYER_GLOBAL_POOL);
            asvk_arch_append(&a, &l);
            l = asvk_layer_default(ASVK_LAYER_LINEAR);
            l.linear.out = 5;
            asvk_arch_append(&a, &l);
        }
        snprintf(a.name, sizeof a.name, "exported"); /* an import takes its name from the file */
        a.resolution = 224;                         /* a net.config has no resolution; import assumes 224 */
        tmp_path("exported.config", out, sizeof out);
        OK(asvk_arch_save_netconfig(out, &a));
        OK(asvk_arch_load(out, &c));
        CHECK(asvk_arch_equal(&a, &c), "%s: net.config export/import differs", specs[i] ? specs[i] : "custom");
        asvk_arch_free(&c);
        asvk_arch_free(&a);
    }
    /* an architecture the format cannot hold */
    build_zoo(&a);
    char *text = NULL;
    EXPECT_ERR(asvk_arch_to_netconfig(&a, &text), ASVK_ERR_USAGE, "layer 1 (conv) has no place there");
    CHECK(text == NULL, "no text on failure");
    asvk_arch_free(&a);
}

/* A valid base with one layer slot substituted. */
#define HEAD "{\"format\": \"asvk-arch/1\", \"name\": \"t\", \"in_channels\": 3, \"resolution\": 32, \"num_classes\": 10, "
#define TAIL ", {\"type\": \"global_pool\"}, {\"type\": \"linear\", \"out\": 10}]}"
#define L(x) HEAD "\"layers\": [{\"type\": \"conv\", \"out\": 16, \"kernel\": 3, \"stride\": 2}, " x TAIL

static void malformed_json(void) {
    static const struct { const char *text, *want; } cases[] = {
        {"", "empty file"},
        {HEAD "\"layers\": [", "not valid JSON"},
        {"{\n  \"format\": \"asvk-arch/1\",\n  \"name\": \"x\"\n  \"layers\": []\n}", "line 4, column 3"},
        {L("{\"type\": \"skip\"}") " extra", "not valid JSON at line 1"},
        {"[1, 2]", "must hold a JSON object"},
        {"{\"name\": \"x\"}", "neither an asvk architecture"},
        {"{\"format\": \"asvk-arch/9\", \"name\": \"x\"}", "format 'asvk-arch/9'"},
        {HEAD "\"layer\": []}", "unknown key 'layer'"},
        {HEAD "\"layers\": []}", "layers must be a non-empty array"},
        {HEAD "\"num_classes\": 10, \"layers\": []}", "key 'num_classes' is given twice"},
        {"{\"format\": \"asvk-arch/1\", \"name\": \"t\", \"layers\": [{\"type\": \"skip\"}]}", "num_classes is missing"},
        {HEAD "\"bn\": {\"eps\": \"small\"}, \"layers\": [{\"type\": \"skip\"}]}", "bn.eps must be a number"},
        {HEAD "\"bn\": {\"momentun\": 0.1}, \"layers\": [{\"type\": \"skip\"}]}", "bn: unknown key 'momentun'"},
        {L("{\"type\": \"mbconv\", \"out\": 16, \"kernal\": 3, \"expand\": 6}"), "layers[1]: unknown key 'kernal'"},
        {L("{\"type\": \"mbconv\", \"kernel\": 3, \"expand\": 6}"), "layers[1].out is missing"},
        {L("{\"type\": \"mbconv\", \"out\": 16, \"kernel\": 3.5, \"expand\": 6}"), "layers[1].kernel must be an integer"},
        {L("{\"type\": \"mbconv\", \"out\": 16, \"kernel\": 4, \"expand\": 6}"), "layer 1 (mbconv): kernel must be odd"},
        {L("{\"type\": \"mbconv\", \"out\": \"16\", \"kernel\": 3, \"expand\": 6}"), "layers[1].out must be an integer"},
        {L("{\"type\": \"mbconv\", \"out\": 16, \"kernel\": 3, \"expand\": 0}"), "layers[1].expand must be a number"},
        {L("{\"type\": \"mbconv\", \"out\": 24, \"kernel\": 3, \"expand\": 6, \"residual\": true}"),
         "layer 1 (mbconv): a residual add needs stride 1 and equal input and output channels"},
        {L("{\"type\": \"mbconv\", \"out\": 16, \"kernel\": 3, \"expand\": 1, \"mid\": 32}"), "layer 1 (mbconv): expand ratio 1"},
        {L("{\"type\": \"mbconv\", \"out\": 16, \"kernel\": 3, \"expand\": 6, \"se\": 1}"), "layers[1].se must be true or false"},
        {L("{\"type\": \"convv\"}"), "layers[1].type 'convv' is not a layer type"},
        {L("{\"kernel\": 3}"), "layers[1].type is missing"},
        {L("7"), "layers[1] must be a JSON object"},
        {L("{\"type\": \"conv\", \"out\": 16, \"kernel\": 3, \"act\": \"gelu\"}"), "layers[1].act 'gelu' is not an activation"},
        {L("{\"type\": \"conv\", \"out\": 20, \"kernel\": 3, \"groups\": 3}"), "layer 1 (conv): groups (3) must divide"},
        {L("{\"type\": \"pool\", \"mode\": \"mean\", \"kernel\": 3}"), "layers[1].mode must be \"avg\" or \"max\""},
        {L("{\"type\": \"pool\", \"mode\": \"avg\", \"kernel\": 3, \"pad\": 2}"), "layer 1 (pool): pad (2) must be at most"},
        {L("{\"type\": \"pool\", \"mode\": \"max\", \"kernel\": 3, \"stride\": 8}, "
           "{\"type\": \"pool\", \"mode\": \"max\", \"kernel\": 3}"),
         "layer 2 (pool): a 3x3 window (padding 0) does not fit its 2x2 input"},
        {L("{\"type\": \"dropout\", \"rate\": 1}"), "layers[1].rate must be a number from 0"},
        {L("{\"type\": \"skip\", \"stride\": 2}"), "layers[1]: unknown key 'stride'"},
        {L("{\"type\": \"linear\", \"out\": 10}"), "layer 1 (linear): its input is a 16x16x16 map"},
        {HEAD "\"layers\": [{\"type\": \"conv\", \"out\": 16, \"kernel\": 3}, {\"type\": \"global_pool\"}, "
              "{\"type\": \"linear\", \"out\": 9}]}",
         "must end with num_classes (10) x 1 x 1"},
        {HEAD "\"layers\": [{\"type\": \"conv\", \"out\": 16, \"kernel\": 3}]}", "ends with a 16x32x32 output"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        asvk_arch a;
        asvk_status st = asvk_arch_parse(cases[i].text, strlen(cases[i].text), "case.json", &a);
        CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), cases[i].want) &&
                  strncmp(asvk_error_message(), "case.json: ", 11) == 0,
              "case %zu gave %s '%s', expected usage error with '%s'", i, asvk_status_name(st), asvk_error_message(),
              cases[i].want);
        if (!st) asvk_arch_free(&a);
    }
    /* the same base is valid */
    asvk_arch a;
    const char *good = L("{\"type\": \"mbconv\", \"out\": 16, \"kernel\": 3, \"expand\": 6}");
    OK(asvk_arch_parse(good, strlen(good), "good.json", &a));
    asvk_arch_free(&a);
}

#define NC(x)                                                                                                      \
    "{\"name\": \"ProxylessNASNets\", \"bn\": {\"momentum\": 0.1, \"eps\": 0.001}, \"first_conv\": {\"name\": "    \
    "\"ConvLayer\", \"kernel_size\": 3, \"stride\": 2, \"in_channels\": 3, \"out_channels\": 16, \"act_func\": "  \
    "\"relu6\"}, \"blocks\": [" x "], \"classifier\": {\"name\": \"LinearLayer\", \"in_features\": 16, "          \
    "\"out_features\": 10}}"
#define MB(in, out, s) \
    "{\"name\": \"MobileInvertedResidualBlock\", \"mobile_inverted_conv\": {\"name\": \"MBInvertedConvLayer\", " \
    "\"in_channels\": " #in ", \"out_channels\": " #out ", \"kernel_size\": 3, \"stride\": " #s ", \"expand_ratio\": 6}"
#define ID(c) ", \"shortcut\": {\"name\": \"IdentityLayer\", \"in_channels\": " #c ", \"out_channels\": " #c "}}"

static void malformed_netconfig(void) {
    static const struct { const char *text, *want; } cases[] = {
        {NC(MB(8, 16, 1) ", \"shortcut\": null}"), "blocks[0].mobile_inverted_conv.in_channels is 8, but the layer before gives 16"},
        {NC(MB(16, 16, 2) ID(16)), "blocks[0].shortcut: an identity shortcut needs stride 1"},
        {NC(MB(16, 24, 1) ID(16)), "blocks[0].shortcut: an identity shortcut needs equal"},
        {NC("{\"name\": \"MobileInvertedResidualBlock\", \"mobile_inverted_conv\": {\"name\": \"ZeroLayer\", \"stride\": 1}, "
            "\"shortcut\": null}"), "blocks[0]: a ZeroLayer without a shortcut"},
        {NC("{\"name\": \"MobileInvertedResidualBlock\", \"mobile_inverted_conv\": {\"name\": \"Motif\", \"in_channels\": 16}}"),
         "blocks[0].mobile_inverted_conv.out_channels is missing"},
        {NC("{\"name\": \"MobileInvertedResidualBlock\", \"mobile_inverted_conv\": {\"name\": \"SepConv\"}}"),
         "blocks[0].mobile_inverted_conv is a 'SepConv'"},
        {NC("{\"name\": \"ResBlock\"}"), "blocks[0] is a 'ResBlock'"},
        {NC("{\"name\": \"MobileInvertedResidualBlock\", \"mobile_inverted_conv\": {\"name\": \"MBInvertedConvLayer\", "
            "\"in_channels\": 16, \"out_channels\": 16, \"kernel\": 3}}"),
         "blocks[0].mobile_inverted_conv: unknown key 'kernel'"},
        {"{\"first_conv\": {\"name\": \"ConvLayer\", \"in_channels\": 3, \"out_channels\": 8, \"dilation\": 2}, "
         "\"blocks\": [], \"classifier\": {\"name\": \"LinearLayer\", \"in_features\": 8, \"out_features\": 2}}",
         "first_conv.dilation must be"},
        {"{\"first_conv\": {\"name\": \"ConvLayer\", \"in_channels\": 3, \"out_channels\": 8, \"act_func\": \"tanh\"}, "
         "\"blocks\": [], \"classifier\": {\"name\": \"LinearLayer\", \"in_features\": 8, \"out_features\": 2}}",
         "first_conv.act_func 'tanh' is not supported"},
        {"{\"first_conv\": {\"name\": \"ConvLayer\", \"in_channels\": 3, \"out_channels\": 8}, \"blocks\": [], "
         "\"classifier\": {\"name\": \"LinearLayer\", \"in_features\": 16, \"out_features\": 2}}",
         "classifier.in_features is 16, but the layer before gives 8"},
        {"{\"first_conv\": {\"name\": \"ConvLayer\", \"in_channels\": 3, \"out_channels\": 8}, \"blocks\": []}",
         "classifier is missing"},
        {"{\"first_conv\": {\"name\": \"ConvLayer\", \"in_channels\": 3, \"out_channels\": 8}, \"blocks\": [], "
         "\"classifier\": {\"name\": \"LinearLayer\", \"in_features\": 8, \"out_features\": 2}, \"head\": 1}",
         "unknown key 'head'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        asvk_arch a;
        asvk_status st = asvk_arch_parse(cases[i].text, strlen(cases[i].text), "net.config", &a);
        CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), cases[i].want),
              "net.config case %zu gave %s '%s', expected '%s'", i, asvk_status_name(st), asvk_error_message(),
              cases[i].want);
        if (!st) asvk_arch_free(&a);
    }
    asvk_arch a;
    const char *good = NC(MB(16, 16, 1) ID(16) ", " MB(16, 16, 1) ", \"shortcut\": null}");
    OK(asvk_arch_parse(good, strlen(good), "dir/good.config", &a));
    CHECK(strcmp(a.name, "good") == 0 && a.num_classes == 10 && a.count == 5, "name '%s', %u layers", a.name, a.count);
    CHECK(a.layers[1].mbconv.residual == ASVK_RESIDUAL_AUTO && a.layers[2].mbconv.residual == ASVK_RESIDUAL_OFF,
          "residuals from shortcuts");
    asvk_arch_free(&a);
}

static void malformed_api_and_builtins(void) {
    asvk_arch a;
    OK(asvk_arch_builtin("fmnist", &a));
    a.layers[0].conv.act = (asvk_act)99;
    EXPECT_ERR(asvk_arch_validate(&a, 0), ASVK_ERR_USAGE, "layer 0 (conv): unknown activation code 99");
    a.layers[0].conv.act = ASVK_ACT_RELU6;
    a.layers[3].type = (asvk_layer_type)42;
    EXPECT_ERR(asvk_arch_validate(&a, 0), ASVK_ERR_USAGE, "layer 3 has an unknown type");
    a.layers[3].type = ASVK_LAYER_MBCONV;
    EXPECT_ERR(asvk_arch_validate(&a, 20000), ASVK_ERR_USAGE, "resolution must be from 1");
    OK(asvk_arch_validate(&a, 1)); /* same padding keeps every map at least 1x1 */
    asvk_arch_free(&a);
    EXPECT_ERR(asvk_arch_open("mbv3", &a), ASVK_ERR_USAGE, "no architecture file or built-in named 'mbv3' (built-ins: mbv2");
    EXPECT_ERR(asvk_arch_open("mbv2:w=abc", &a), ASVK_ERR_USAGE, "built-in 'mbv2:w=abc': w must be a number");
    EXPECT_ERR(asvk_arch_open("mbv2:depth=2", &a), ASVK_ERR_USAGE, "unknown option 'depth'");
    EXPECT_ERR(asvk_arch_open("mbv2:r=0", &a), ASVK_ERR_USAGE, "r must be an integer from 1");
    EXPECT_ERR(asvk_arch_builtin("resnet50", &a), ASVK_ERR_USAGE, "no built-in architecture 'resnet50'");
    EXPECT_ERR(asvk_arch_open("/nonexistent/arch.json", &a), ASVK_ERR_USAGE, "cannot open '/nonexistent/arch.json'");
    EXPECT_ERR(asvk_arch_open("missing.json", &a), ASVK_ERR_USAGE, "cannot open 'missing.json'");
    EXPECT_ERR(asvk_arch_open("/tmp", &a), ASVK_ERR_USAGE, "it is a folder");
    OK(asvk_arch_open("mbv2:in=1:classes=10:r=32", &a));
    CHECK(a.in_channels == 1 && a.num_classes == 10 && a.resolution == 32, "options");
    asvk_arch_free(&a);
}

/* Names end up in JSON, safetensors headers and the HTML report: anything
 * that is not UTF-8 is refused where it is read, naming the file and field. */
static void utf8_names(void) {
    static const char *const good[] = {"", "plain", "\xc3\xbcn\xc3\xaf" "code", "\xe6\x97\xa5\xe6\x9c\xac",
                                       "\xf0\x9d\x84\x9e" /* U+1D11E */, "\xf4\x8f\xbf\xbf" /* U+10FFFF */,
                                       "\xed\x9f\xbf" /* U+D7FF */, "\xee\x80\x80" /* U+E000 */};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) OK(asvk_utf8_check(good[i], "f.json", "name"));
    static const struct { const char *s, *want; } bad[] = {
        {"\xff", "byte 0 is 0xff"},             /* never in UTF-8 */
        {"ab\x80", "byte 2 is 0x80"},           /* a continuation byte alone */
        {"\xc0\x80", "byte 0 is 0xc0"},         /* overlong NUL */
        {"\xc1\xbf", "byte 0 is 0xc1"},         /* overlong */
        {"\xe0\x80\xaf", "byte 0 is 0xe0"},     /* overlong '/' */
        {"\xed\xa0\x80", "byte 0 is 0xed"},     /* a surrogate (U+D800) */
        {"\xf4\x90\x80\x80", "byte 0 is 0xf4"}, /* above U+10FFFF */
        {"\xf5\x80\x80\x80", "byte 0 is 0xf5"},
        {"x\xe2\x82", "byte 1 is 0xe2"},        /* cut short by the end */
        {"\xf0\x9f\x98y", "byte 0 is 0xf0"},    /* cut short by a plain byte */
        {"\xe2\x82\xac\xe2\x82", "byte 3 is 0xe2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT_ERR(asvk_utf8_check(bad[i].s, "f.json", "layers[2].name"), ASVK_ERR_USAGE, bad[i].want);
        CHECK(strncmp(asvk_error_message(), "f.json: layers[2].name is not valid UTF-8", 41) == 0, "case %zu: '%s'", i,
              asvk_error_message());
    }
    /* no file part: the caller prefixes the file */
    EXPECT_ERR(asvk_utf8_check("\xff", NULL, "name"), ASVK_ERR_USAGE, "name is not valid UTF-8");
    CHECK(strncmp(asvk_error_message(), "name is", 7) == 0, "'%s'", asvk_error_message());

    /* read through the JSON readers: the architecture's name, a layer's string member */
    asvk_arch a;
    static const struct { const char *text, *want; } files[] = {
        {"{\"format\": \"asvk-arch/1\", \"name\": \"t\xffx\", \"in_channels\": 3, \"resolution\": 32, \"num_classes\": 10, "
         "\"layers\": [{\"type\": \"conv\", \"out\": 16, \"kernel\": 3, \"stride\": 2}" TAIL,
         "latin1.json: name is not valid UTF-8 (byte 1 is 0xff)"}, /* valid but for the name */
        {L("{\"type\": \"conv\", \"out\": 16, \"kernel\": 3, \"act\": \"relu\xe9\"}"),
         "latin1.json: layers[1].act is not valid UTF-8 (byte 4 is 0xe9)"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        asvk_status st = asvk_arch_parse(files[i].text, strlen(files[i].text), "latin1.json", &a);
        CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), files[i].want), "file %zu gave %s '%s', expected '%s'",
              i, asvk_status_name(st), asvk_error_message(), files[i].want);
        if (!st) asvk_arch_free(&a);
    }
    /* a net.config is named after its file */
    const char *nc = NC(MB(16, 16, 1) ID(16));
    EXPECT_ERR(asvk_arch_parse(nc, strlen(nc), "dir/net\xff.config", &a), ASVK_ERR_USAGE,
               "dir/net\xff.config: the file name (the network's name) is not valid UTF-8");
    /* a long file name is cut to a name at a character boundary, never inside one */
    char path[300] = "dir/";
    for (int i = 0; i < 60; i++) strcat(path, "\xc3\xbc");
    strcat(path, ".config");
    OK(asvk_arch_parse(nc, strlen(nc), path, &a));
    CHECK(strlen(a.name) > 0 && strlen(a.name) % 2 == 0, "name of %zu bytes", strlen(a.name));
    OK(asvk_utf8_check(a.name, path, "the name"));
    asvk_arch_free(&a);
}

static int count_tmp_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

static void atomic_write(void) {
    char path[512];
    tmp_path("atomic.bin", path, sizeof path);
    OK(asvk_file_write_atomic(path, "first version, longer", 21));
    OK(asvk_file_write_atomic(path, "second", 6)); /* replaces, never appends or leaves a tail */
    char *data;
    size_t n;
    OK(asvk_file_read_all(path, 0, &data, &n));
    CHECK(n == 6 && memcmp(data, "second", 6) == 0 && data[6] == 0, "read back %zu bytes", n);
    free(data);
    asvk_file_part parts[3] = {{"ab", 2}, {NULL, 0}, {"cde", 3}};
    OK(asvk_file_write_atomic_parts(path, parts, 3));
    OK(asvk_file_read_all(path, 0, &data, &n));
    CHECK(n == 5 && memcmp(data, "abcde", 5) == 0, "parts read back wrong");
    free(data);
    EXPECT_ERR(asvk_file_read_all(path, 4, &data, &n), ASVK_ERR_USAGE, "more than the 4");
    CHECK(count_tmp_files(tmpdir) == 0, "a temporary file was left in %s", tmpdir);
    /* a failing write leaves neither the target nor a temporary file */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/folder/x.bin", tmpdir);
    EXPECT_ERR(asvk_file_write_atomic(bad, "x", 1), ASVK_ERR_IO, "cannot write");
    char dir_target[512];
    tmp_path("a_folder", dir_target, sizeof dir_target);
    mkdir(dir_target, 0755);
    EXPECT_ERR(asvk_file_write_atomic(dir_target, "x", 1), ASVK_ERR_IO, "rename failed");
    CHECK(count_tmp_files(tmpdir) == 0, "a failed write left a temporary file in %s", tmpdir);
    rmdir(dir_target);
    EXPECT_ERR(asvk_file_read_all("/nonexistent/file", 0, &data, &n), ASVK_ERR_USAGE, "No such file");
}

static void params_match_cost(void) {
    for (int i = 0; i < 5; i++) {
        const char *specs[] = {"mbv2", "proxyless_mobile", "fmnist", "mbv2:w=0.35:classes=3", NULL};
        asvk_arch a;
        if (specs[i]) OK(asvk_arch_builtin(specs[i], &a));
        else build_zoo(&a);
        asvk_param *p;
        uint32_t n;
        asvk_cost c;
        OK(asvk_arch_params(&a, &p, &n));
        OK(asvk_arch_cost(&a, 0, &c));
        uint64_t total = 0, *per_layer = calloc(a.count, sizeof *per_layer);
        for (uint32_t k = 0; k < n; k++) {
            uint64_t count = 1, scount = 1;
            for (uint32_t d = 0; d < p[k].rank; d++) count *= p[k].shape[d], scount *= p[k].storage[d];
            CHECK(count == p[k].count && scount == count, "%s: count %llu", p[k].name, (unsigned long long)count);
            if (p[k].trainable) total += p[k].count, per_layer[p[k].layer] += p[k].count;
            CHECK(p[k].decay == (p[k].role == ASVK_PARAM_CONV_WEIGHT || p[k].role == ASVK_PARAM_LINEAR_WEIGHT),
                  "%s decay", p[k].name);
            for (uint32_t j = 0; j < k; j++) CHECK(strcmp(p[j].name, p[k].name), "name %s twice", p[k].name);
        }
        CHECK(total == c.params, "%s: parameter list holds %llu trainable elements, the cost model %llu", a.name,
              (unsigned long long)total, (unsigned long long)c.params);
        for (uint32_t l = 0; l < a.count; l++)
            CHECK(per_layer[l] == c.layers[l].params, "%s layer %u: %llu vs %llu", a.name, l,
                  (unsigned long long)per_layer[l], (unsigned long long)c.layers[l].params);
        if (i == 0) { /* names, shapes and layouts of the contract */
            CHECK(strcmp(p[0].name, "layers.0.conv.weight") == 0 && p[0].shape[0] == 32 && p[0].shape[1] == 3 &&
                      p[0].storage[1] == 3 && p[0].storage[3] == 3 && p[0].role == ASVK_PARAM_CONV_WEIGHT,
                  "stem weight %s", p[0].name);
            CHECK(strcmp(p[1].name, "layers.0.bn.weight") == 0 && strcmp(p[4].name, "layers.0.bn.running_var") == 0 &&
                      !p[4].trainable && p[1].trainable && !p[1].decay,
                  "stem BN %s %s", p[1].name, p[4].name);
            CHECK(strcmp(p[5].name, "layers.1.dw.weight") == 0 && p[5].shape[1] == 1 && p[5].shape[2] == 3 &&
                      p[5].storage[1] == 3 && p[5].storage[3] == 1,
                  "first block (expand 1) starts with its depthwise conv: %s", p[5].name);
            CHECK(strcmp(p[n - 2].name, "layers.21.weight") == 0 && p[n - 2].shape[0] == 1000 &&
                      p[n - 2].shape[1] == 1280 && strcmp(p[n - 1].name, "layers.21.bias") == 0,
                  "classifier %s", p[n - 2].name);
        }
        if (!specs[i]) {
            bool se = false;
            for (uint32_t k = 0; k < n; k++)
                se |= strcmp(p[k].name, "layers.2.se.reduce.weight") == 0 && p[k].shape[0] == 40 && p[k].shape[1] == 144;
            CHECK(se, "zoo layer 2 has se.reduce of 144 -> make_divisible(144 / 4 = 36) = 40");
        }
        free(per_layer);
        free(p);
        asvk_cost_free(&c);
        asvk_arch_free(&a);
    }
}

/* Numbers written by asvk_json_exact read back bit for bit (the state files
 * a run resumes from): doubles of every magnitude (through cJSON's own
 * printer 263 of these 2001 come back 1 ulp off; a fitness that did made a
 * resumed evolution end with another space); non-finite values become null. */
static void exact_numbers(void) {
    double v[2001];
    for (int i = 0; i < 2001; i++) {
        uint64_t bits = (uint64_t)test_rand_u32() << 32 | test_rand_u32();
        double x;
        memcpy(&x, &bits, sizeof x);
        v[i] = isfinite(x) ? x : (double)test_rand_uniform(-2, 2) / 3;
    }
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "v");
    for (int i = 0; i < 2001; i++) cJSON_AddItemToArray(arr, asvk_json_exact(v[i]));
    asvk_json_add_exact(o, "nan", NAN);
    asvk_json_add_exact(o, "one", 1.0);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    CHECK(text && strstr(text, "\"one\":\t1") && strstr(text, "\"nan\":\tnull"), "%.200s", text ? text : "(null)");
    cJSON *back = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(back, "v");
    CHECK(cJSON_GetArraySize(b) == 2001, "%d numbers read back", cJSON_GetArraySize(b));
    int i = 0, wrong = 0;
    for (const cJSON *x = b ? b->child : NULL; x; x = x->next, i++)
        if (!cJSON_IsNumber(x) || memcmp(&x->valuedouble, &v[i], sizeof v[i]) != 0) {
            if (!wrong++) CHECK(false, "v[%d] = %.17g read back as %.17g", i, v[i], x->valuedouble);
        }
    CHECK(wrong == 0, "%d of 2001 numbers did not read back exactly", wrong);
    cJSON_Delete(back);
}

/* Inputs the fuzzer found (tests/fuzz/README.md); each failed before its fix
 * (under the sanitizer build where it says undefined behaviour). */
static void fuzzed_inputs(void) {
    static const struct { const char *text, *want; } cases[] = {
        /* a cell edge's node number far outside int: converting it to int was
         * undefined behaviour (tests/fuzz/corpus/arch_json/edge-node-5e81) */
        {L("{\"type\": \"cell\", \"out\": 16, \"genome\": {\"nodes\": 4, \"expand\": 6, \"edges\": "
           "[[0, 1, \"dw3x3\"], [1, 5555555555555555555555555555555555555555555555555555555555555555555555555555555552, "
           "\"identity\"]]}}"),
         "layers[1].genome.edges[1] must be a [from, to, \"op\"] triple"},
        {L("{\"type\": \"cell\", \"out\": 16, \"genome\": {\"nodes\": 4, \"expand\": 6, \"edges\": "
           "[[-3e9, 1, \"dw3x3\"]]}}"),
         "layers[1].genome.edges[0] must be a [from, to, \"op\"] triple"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        asvk_arch a;
        asvk_status st = asvk_arch_parse(cases[i].text, strlen(cases[i].text), "case.json", &a);
        CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), cases[i].want),
              "case %zu gave %s '%s', expected usage error with '%s'", i, asvk_status_name(st), asvk_error_message(),
              cases[i].want);
        if (!st) asvk_arch_free(&a);
    }
}

static void cleanup(void) {
    if (!tmpdir[0]) return;
    DIR *d = opendir(tmpdir);
    char p[600];
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name), unlink(p);
    if (d) closedir(d);
    rmdir(tmpdir);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"cost_reference_figures", cost_reference_figures},
        {"mbv2_variants_by_hand", mbv2_variants_by_hand},
        {"json_round_trip", json_round_trip},
        {"netconfig_import_export", netconfig_import_export},
        {"malformed_json", malformed_json},
        {"malformed_netconfig", malformed_netconfig},
        {"malformed_api_and_builtins", malformed_api_and_builtins},
        {"utf8_names", utf8_names},
        {"atomic_write", atomic_write},
        {"exact_numbers", exact_numbers},
        {"params_match_cost", params_match_cost},
        {"fuzzed_inputs", fuzzed_inputs},
    };
    int rc = test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
    cleanup();
    return rc;
}
