/* Engine: devices, memory, streams (barriers, replay, timestamps), kernels. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/internal.h"
#include "runtime/blas.h"
#include "shaders/registry.h"
#include "tests/harness.h"

static void devices_are_listed_and_probed(void) {
    asvk_device_info *d = NULL;
    uint32_t n = 0;
    OK(asvk_devices_list(&d, &n));
    CHECK(n >= 1, "no device listed");
    for (uint32_t i = 0; i < n; i++) {
        CHECK(d[i].name[0], "device %u has no name", i);
        CHECK(d[i].subgroup_size >= 1, "device %u subgroup size %u", i, d[i].subgroup_size);
        CHECK(d[i].max_storage_buffer_range >= (1u << 27) || d[i].type != ASVK_DEVICE_CPU,
              "lavapipe reports a 128 MiB maxStorageBufferRange, got %llu",
              (unsigned long long)d[i].max_storage_buffer_range);
        CHECK(d[i].max_shared_memory >= 16384, "shared memory %u below the Vulkan minimum", d[i].max_shared_memory);
    }
    free(d);
    const asvk_device_info *info = asvk_context_device(test_context());
    CHECK(info->api_version >= VK_API_VERSION_1_1, "device below Vulkan 1.1 was chosen");
}

static void device_selection_by_index_name_and_errors(void) {
    asvk_context *ctx;
    asvk_context_options o = {.device = "0", .validation = true};
    OK(asvk_context_create(&o, &ctx));
    char name[256];
    snprintf(name, sizeof name, "%s", asvk_context_device(ctx)->name);
    test_context_free(ctx);
    /* A case-insensitive substring of the name selects it too. */
    char sub[8] = {0};
    for (int i = 0; i < 4 && name[i]; i++) sub[i] = (char)(i % 2 ? name[i] : toupper((unsigned char)name[i]));
    o.device = sub;
    OK(asvk_context_create(&o, &ctx));
    CHECK(strcmp(asvk_context_device(ctx)->name, name) == 0, "'%s' chose %s", sub, asvk_context_device(ctx)->name);
    test_context_free(ctx);

    o.device = "99";
    asvk_status st = asvk_context_create(&o, &ctx);
    CHECK(st == ASVK_ERR_USAGE, "device 99: status %s", asvk_status_name(st));
    CHECK(strstr(asvk_error_message(), "99") && strstr(asvk_error_message(), "asvk devices"), "message: %s",
          asvk_error_message());
    o.device = "no-such-gpu";
    st = asvk_context_create(&o, &ctx);
    CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), "no-such-gpu"), "message: %s", asvk_error_message());

    setenv("ASVK_DEVICE", "42", 1);
    o.device = NULL;
    st = asvk_context_create(&o, &ctx);
    CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), "ASVK_DEVICE"), "ASVK_DEVICE=42: %s",
          asvk_error_message());
    unsetenv("ASVK_DEVICE");
}

static void missing_loader_and_feature_are_clear_errors(void) {
    asvk_context *ctx;
    setenv("ASVK_VULKAN_LIBRARY", "/nonexistent/libvulkan.so.1", 1);
    asvk_status st = test_context_new(&ctx);
    unsetenv("ASVK_VULKAN_LIBRARY");
    CHECK(st == ASVK_ERR_NO_LOADER && strstr(asvk_error_message(), "apt-get install"), "%s: %s",
          asvk_status_name(st), asvk_error_message());

    setenv("ASVK_DISABLE", "timestamps,fp16", 1);
    OK(test_context_new(&ctx));
    unsetenv("ASVK_DISABLE");
    st = asvk_context_require(ctx, "timestamps");
    CHECK(st == ASVK_ERR_FEATURE && strstr(asvk_error_message(), "timestamp"), "%s", asvk_error_message());
    st = asvk_context_require(ctx, "fp16");
    CHECK(st == ASVK_ERR_FEATURE && strstr(asvk_error_message(), "fp16"), "%s", asvk_error_message());
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    uint32_t ts;
    st = asvk_stream_timestamp(s, &ts);
    CHECK(st == ASVK_ERR_FEATURE, "a timestamp on a device without them: %s", asvk_status_name(st));
    asvk_stream_destroy(s);
    test_context_free(ctx);
}

/* The imageLoad path is a form of the texel path: on by default where texel
 * inputs are (CPU devices), off with them, and switched off alone by name. */
static void image_inputs_follow_texel_inputs(void) {
    const asvk_switches *sw = asvk_context_switches(test_context());
    const asvk_device_info *info = asvk_context_device(test_context());
    if (info->type == ASVK_DEVICE_CPU)
        CHECK(sw->texel_inputs && sw->image_inputs, "%s: texel %d image %d, both expected on a CPU device", info->name,
              sw->texel_inputs, sw->image_inputs);
    CHECK(sw->texel_inputs || !sw->image_inputs, "image inputs on without texel inputs");
    const char *old = getenv("ASVK_DISABLE");
    char *saved = old ? strdup(old) : NULL;
    static const char *const lists[] = {"texel", "image"};
    for (int i = 0; i < 2; i++) {
        asvk_context *ctx;
        setenv("ASVK_DISABLE", lists[i], 1);
        OK(test_context_new(&ctx));
        const asvk_switches *s = asvk_context_switches(ctx);
        CHECK(!s->image_inputs && (i == 0 ? !s->texel_inputs : s->texel_inputs == sw->texel_inputs),
              "ASVK_DISABLE=%s: texel %d image %d", lists[i], s->texel_inputs, s->image_inputs);
        test_context_free(ctx);
    }
    if (saved) setenv("ASVK_DISABLE", saved, 1);
    else unsetenv("ASVK_DISABLE");
    free(saved);
}

static void memory_is_sub_allocated(void) {
    asvk_context *ctx = test_context();
    asvk_memory_stats before, after;
    asvk_memory_stats_get(ctx, &before);
    enum { N = 300 };
    asvk_buffer b[N];
    for (int i = 0; i < N; i++) OK(asvk_buffer_alloc(ctx, 4 * test_rand_range(1, 5000), &b[i]));
    asvk_memory_stats_get(ctx, &after);
    CHECK(after.allocate_calls - before.allocate_calls <= 1, "%u vkAllocateMemory calls for %d small buffers",
          after.allocate_calls - before.allocate_calls, N);
    /* No two live allocations overlap, and each honours the binding alignment. */
    for (int i = 0; i < N; i++) {
        CHECK(b[i].offset % asvk_context_device(ctx)->min_storage_offset_alignment == 0, "misaligned offset");
        for (int j = i + 1; j < N; j++)
            if (b[i].block == b[j].block)
                CHECK(b[i].offset + b[i].size <= b[j].offset || b[j].offset + b[j].size <= b[i].offset,
                      "allocations %d and %d overlap", i, j);
    }
    /* Freeing everything and allocating again reuses the same block. */
    for (int i = 0; i < N; i += 2) asvk_buffer_free(ctx, &b[i]);
    for (int i = 1; i < N; i += 2) asvk_buffer_free(ctx, &b[i]);
    asvk_memory_stats mid;
    asvk_memory_stats_get(ctx, &mid);
    CHECK(mid.used == before.used, "used %llu after freeing all, %llu before", (unsigned long long)mid.used,
          (unsigned long long)before.used);
    asvk_buffer big;
    OK(asvk_buffer_alloc(ctx, 8u << 20, &big));
    asvk_memory_stats_get(ctx, &after);
    CHECK(after.allocate_calls == mid.allocate_calls, "coalesced free space was not reused");
    asvk_buffer_free(ctx, &big);

    /* Past maxStorageBufferRange: a clear limit error, not a crash. */
    asvk_buffer huge;
    asvk_status st = asvk_buffer_alloc(ctx, asvk_context_device(ctx)->max_storage_buffer_range + 4096, &huge);
    CHECK(st == ASVK_ERR_LIMIT && strstr(asvk_error_message(), "maxStorageBufferRange"), "%s: %s",
          asvk_status_name(st), asvk_error_message());
}

static void memory_budget_gives_a_clear_error(void) {
    setenv("ASVK_MEMORY_BUDGET", "1M", 1);
    asvk_context *ctx;
    asvk_status st = test_context_new(&ctx);
    unsetenv("ASVK_MEMORY_BUDGET");
    OK(st);
    asvk_buffer a, b;
    OK(asvk_buffer_alloc(ctx, 512 * 1024, &a));
    st = asvk_buffer_alloc(ctx, 768 * 1024, &b);
    CHECK(st == ASVK_ERR_OOM && strstr(asvk_error_message(), "out of device memory") &&
              strstr(asvk_error_message(), "--batch"),
          "%s: %s", asvk_status_name(st), asvk_error_message());
    asvk_buffer_free(ctx, &a);
    OK(asvk_buffer_alloc(ctx, 768 * 1024, &b)); /* fits once the first is freed */
    asvk_buffer_free(ctx, &b);
    test_context_free(ctx);

    setenv("ASVK_MEMORY_BUDGET", "lots", 1);
    st = test_context_new(&ctx);
    unsetenv("ASVK_MEMORY_BUDGET");
    CHECK(st == ASVK_ERR_USAGE && strstr(asvk_error_message(), "ASVK_MEMORY_BUDGET"), "%s", asvk_error_message());
}

static void upload_download_round_trip(void) {
    asvk_context *ctx = test_context();
    size_t n = 5 * (1u << 20) + 3; /* more than one staging chunk */
    uint8_t *src = malloc(n), *dst = malloc(n);
    for (size_t i = 0; i < n; i++) src[i] = (uint8_t)test_rand_u32();
    asvk_buffer b;
    OK(asvk_buffer_alloc(ctx, n + 13, &b));
    OK(asvk_buffer_upload(ctx, b, 13, src, n));
    memset(dst, 0, n);
    OK(asvk_buffer_download(ctx, b, 13, dst, n));
    CHECK(memcmp(src, dst, n) == 0, "bytes differ after a round trip");
    asvk_status st = asvk_buffer_upload(ctx, b, 20, src, n);
    CHECK(st != ASVK_OK, "an upload past the end of a buffer was accepted");
    asvk_buffer_free(ctx, &b);
    free(src);
    free(dst);
}

/* Four buffers of n floats and the chain below recorded into s: fill ->
 * axpy -> axpy -> copy -> binary -> fill, each step reading what the one
 * before wrote, the first two fills independent (no barrier between them:
 * checked when s records); w ends at 38.5 everywhere and z at -1. */
typedef struct { asvk_buffer x, y, z, w; } chain_buffers;

static void chain_alloc(asvk_context *ctx, uint64_t n, chain_buffers *b) {
    OK(asvk_buffer_alloc(ctx, n * 4, &b->x));
    OK(asvk_buffer_alloc(ctx, n * 4, &b->y));
    OK(asvk_buffer_alloc(ctx, n * 4, &b->z));
    OK(asvk_buffer_alloc(ctx, n * 4, &b->w));
}

static void chain_record(asvk_stream *s, const chain_buffers *b, uint64_t n) {
    OK(asvk_blas_fill(s, b->x, n, 2.0f));
    OK(asvk_blas_fill(s, b->y, n, 1.0f)); /* independent of the first: no barrier */
    asvk_stream_stats st;
    asvk_stream_stats_get(s, &st);
    CHECK(st.barriers == 0, "%u barriers between independent fills", st.barriers);
    OK(asvk_blas_axpy(s, 3.0f, b->x, b->y, n)); /* y = 7: reads x, y (RAW) */
    OK(asvk_blas_axpy(s, 0.5f, b->y, b->x, n)); /* x = 2 + 3.5 = 5.5: writes x read before (WAR), reads y (RAW) */
    OK(asvk_blas_copy(s, b->z, b->x, n));       /* z = 5.5 (transfer after compute) */
    OK(asvk_blas_binary(s, ASVK_BINARY_MUL, b->z, b->y, b->w, n)); /* w = 38.5 (compute after transfer) */
    OK(asvk_blas_fill(s, b->z, n, -1.0f));      /* WAR on z */
}

/* After the chain ran: w and z hold what it computes; the buffers are freed. */
static void chain_check_free(asvk_context *ctx, chain_buffers *b, uint64_t n) {
    float *h = malloc(n * 4);
    OK(test_download(ctx, b->w, h, n));
    bool good = true;
    for (uint64_t i = 0; i < n; i++) good &= h[i] == 38.5f;
    CHECK(good, "w[0] = %g, expected 38.5", h[0]);
    OK(test_download(ctx, b->z, h, n));
    CHECK(h[0] == -1.0f && h[n - 1] == -1.0f, "z = %g after the last fill", h[0]);
    free(h);
    asvk_buffer_free(ctx, &b->x), asvk_buffer_free(ctx, &b->y), asvk_buffer_free(ctx, &b->z);
    asvk_buffer_free(ctx, &b->w);
}

static void stream_barriers_follow_hazards(void) {
    asvk_context *ctx = test_context();
    const uint64_t n = 1000;
    chain_buffers b;
    chain_alloc(ctx, n, &b);
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    chain_record(s, &b, n);
    asvk_stream_stats st;
    asvk_stream_stats_get(s, &st);
    CHECK(st.barriers == 5, "%u barriers for 5 dependent steps", st.barriers);
    CHECK(st.dispatches == 6 && st.transfers == 1, "%u dispatches, %u transfers", st.dispatches, st.transfers);
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    chain_check_free(ctx, &b, n);
}

static void stream_replays_and_times(void) {
    asvk_context *ctx = test_context();
    const uint64_t n = 4099;
    asvk_buffer x, y;
    OK(asvk_buffer_alloc(ctx, n * 4, &x));
    OK(asvk_buffer_alloc(ctx, n * 4, &y));
    asvk_stream *init;
    OK(asvk_stream_create(ctx, &init));
    OK(asvk_blas_fill(init, x, n, 1.5f));
    OK(asvk_blas_fill(init, y, n, 0.0f));
    OK(asvk_stream_run(init));
    asvk_stream_destroy(init);

    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    uint32_t t0, t1;
    OK(asvk_stream_timestamp(s, &t0));
    OK(asvk_blas_axpy(s, 2.0f, x, y, n));
    OK(asvk_stream_timestamp(s, &t1));
    for (int i = 0; i < 3; i++) OK(asvk_stream_run(s)); /* recorded once, replayed three times */
    double ns = -1;
    OK(asvk_stream_elapsed_ns(s, t0, t1, &ns));
    CHECK(ns > 0 && ns < 60e9, "elapsed %g ns", ns);
    asvk_stream_stats st;
    asvk_stream_stats_get(s, &st);
    CHECK(st.submits == 3 && st.dispatches == 1, "%u submits, %u dispatches", st.submits, st.dispatches);
    asvk_status bad = asvk_blas_axpy(s, 1.0f, x, y, n);
    CHECK(bad == ASVK_ERR_INTERNAL, "recording into a submitted stream was accepted");
    asvk_stream_destroy(s);
    float h[8];
    OK(asvk_buffer_download(ctx, y, (n - 8) * 4, h, sizeof h));
    CHECK(h[7] == 9.0f, "after 3 replays y = %g, expected 9", h[7]);
    asvk_buffer_free(ctx, &x), asvk_buffer_free(ctx, &y);
}

/* A dry pass records nothing and builds the pipelines its dispatches would
 * use (on several threads); the recording after it builds none, hands out
 * the same counters, and computes what a plain recording does. */
static void stream_dry_pass_builds_pipelines(void) {
    asvk_context *ctx; /* its own context: no pipeline built before */
    OK(asvk_context_create(NULL, &ctx));
    const uint64_t n = 1000;
    chain_buffers b;
    chain_alloc(ctx, n, &b);
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    asvk_buffer counter[2];
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0) OK(asvk_stream_dry_begin(s));
        chain_record(s, &b, n);
        OK(asvk_stream_counter(s, &counter[pass]));
        asvk_stream_stats st;
        asvk_stream_stats_get(s, &st);
        if (pass == 0) {
            CHECK(st.dispatches == 0 && st.transfers == 0 && st.barriers == 0, "the dry pass recorded %u dispatches, "
                  "%u transfers, %u barriers", st.dispatches, st.transfers, st.barriers);
            CHECK(asvk_context_pipeline_count(ctx) == 0, "%u pipelines built during the dry pass",
                  asvk_context_pipeline_count(ctx));
            uint32_t t;
            EXPECT_ERR(asvk_stream_timestamp(s, &t), ASVK_ERR_INTERNAL, "dry pass");
            EXPECT_ERR(asvk_stream_dry_begin(s), ASVK_ERR_INTERNAL, "twice");
            OK(asvk_stream_dry_end(s));
            CHECK(asvk_context_pipeline_count(ctx) >= 3, "%u pipelines built by the dry pass's end (fill, axpy, mul)",
                  asvk_context_pipeline_count(ctx));
        } else {
            CHECK(st.dispatches == 6 && st.transfers == 1 && st.barriers == 5, "%u dispatches, %u transfers, %u "
                  "barriers", st.dispatches, st.transfers, st.barriers);
        }
    }
    uint32_t built = asvk_context_pipeline_count(ctx);
    CHECK(counter[0].block == counter[1].block && counter[0].offset == counter[1].offset,
          "the counter after the dry pass is not the one the dry pass saw");
    EXPECT_ERR(asvk_stream_dry_end(s), ASVK_ERR_INTERNAL, "without beginning");
    OK(asvk_stream_run(s));
    CHECK(asvk_context_pipeline_count(ctx) == built, "the recording built %u more pipelines",
          asvk_context_pipeline_count(ctx) - built);
    asvk_stream_destroy(s);
    chain_check_free(ctx, &b, n);
    CHECK(asvk_context_destroy(ctx) == 0, "validation messages");
}

/* Every embedded shader reflects in its fp32 variants (uniform texel
 * buffers, storage buffers, storage texel buffers) with the same interface;
 * a shader that prefers texelFetch (ASVK_PREFER_TEXEL_FETCH) has its texel
 * variant as its image variant, word for word. */
static void shaders_reflect_consistently(void) {
    CHECK(asvk_shader_count() >= 8, "only %u shaders embedded", asvk_shader_count());
    unsigned images = 0; /* shaders whose image variant reads by imageLoad */
    for (unsigned i = 0; i < asvk_shader_count(); i++) {
        const asvk_shader_code *c = asvk_shader_at(i);
        asvk_reflection t, s, m;
        asvk_status a = asvk_reflect(c->words[ASVK_SHADER_TEXEL], c->word_count[ASVK_SHADER_TEXEL], &t);
        asvk_status b = asvk_reflect(c->words[ASVK_SHADER_SSBO], c->word_count[ASVK_SHADER_SSBO], &s);
        asvk_status d = asvk_reflect(c->words[ASVK_SHADER_IMAGE], c->word_count[ASVK_SHADER_IMAGE], &m);
        CHECK(a == ASVK_OK && b == ASVK_OK && d == ASVK_OK, "%s: %s", c->name, asvk_error_message());
        CHECK(t.binding_count == s.binding_count && t.push_size == s.push_size && t.spec_count == s.spec_count,
              "%s: variants differ", c->name);
        CHECK(m.binding_count == s.binding_count && m.push_size == s.push_size && m.spec_count == s.spec_count,
              "%s: the image variant differs", c->name);
        bool texel_fetch = c->word_count[ASVK_SHADER_IMAGE] == c->word_count[ASVK_SHADER_TEXEL] &&
                           memcmp(c->words[ASVK_SHADER_IMAGE], c->words[ASVK_SHADER_TEXEL],
                                  c->word_count[ASVK_SHADER_TEXEL] * 4) == 0;
        images += !texel_fetch;
        CHECK(s.push_size <= 128, "%s: %u bytes of push constants exceed the portable 128", c->name, s.push_size);
        for (uint32_t k = 0; k < s.binding_count; k++) {
            CHECK(s.type[k] == ASVK_BIND_STORAGE, "%s: binding %u is not a storage buffer in the ssbo variant", c->name, k);
            if (s.access[k] == ASVK_ACCESS_READ) {
                CHECK(t.type[k] == ASVK_BIND_TEXEL, "%s: read-only binding %u is not a texel buffer", c->name, k);
                CHECK(m.type[k] == (texel_fetch ? ASVK_BIND_TEXEL : ASVK_BIND_IMAGE) && m.access[k] == ASVK_ACCESS_READ,
                      "%s: read-only binding %u is not a read-only storage texel buffer in the image variant", c->name, k);
            } else {
                CHECK(t.type[k] == ASVK_BIND_STORAGE && t.access[k] == s.access[k], "%s: binding %u", c->name, k);
                CHECK(m.type[k] == ASVK_BIND_STORAGE && m.access[k] == s.access[k], "%s: binding %u (image)", c->name, k);
            }
        }
    }
    CHECK(images * 2 > asvk_shader_count(), "only %u of %u shaders read by imageLoad in their image variant", images,
          asvk_shader_count());
    const asvk_shader_code *g = asvk_shader_find("gemm_reg");
    CHECK(g && (g->word_count[ASVK_SHADER_IMAGE] != g->word_count[ASVK_SHADER_TEXEL] ||
                memcmp(g->words[ASVK_SHADER_IMAGE], g->words[ASVK_SHADER_TEXEL], g->word_count[ASVK_SHADER_TEXEL] * 4)),
          "gemm_reg's image variant is its texel one");
    asvk_kernel *k;
    asvk_status st = asvk_kernel_get(test_context(), "no_such_shader", NULL, 0, &k);
    CHECK(st == ASVK_ERR_INTERNAL, "an unknown shader name was accepted");
}

static void pipeline_cache_is_saved_and_survives_corruption(void) {
    char dir[] = "/tmp/asvk-cache-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    setenv("ASVK_CACHE_DIR", dir, 1);
    asvk_context *ctx;
    OK(test_context_new(&ctx));
    char path[1024];
    snprintf(path, sizeof path, "%s", asvk_context_pipeline_cache_path(ctx));
    asvk_buffer b;
    OK(asvk_buffer_alloc(ctx, 64, &b));
    asvk_stream *s;
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_blas_fill(s, b, 16, 1.0f));
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    asvk_buffer_free(ctx, &b);
    test_context_free(ctx);
    /* The file holds at least Vulkan's cache header for this device (lavapipe
     * caches nothing beyond it; GPU drivers append their binaries). */
    uint32_t header[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    CHECK(f && fread(header, 4, 2, f) == 2 && header[0] >= 32 && header[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE,
          "no valid pipeline cache at %s", path);
    if (f) fclose(f);
    CHECK(strstr(path, "pipelines-") != NULL, "cache file not named per device: %s", path);
    /* A corrupt file is ignored and replaced. */
    f = fopen(path, "wb");
    fputs("this is not a pipeline cache, it is garbage of some length........", f);
    fclose(f);
    OK(test_context_new(&ctx));
    OK(asvk_buffer_alloc(ctx, 64, &b));
    OK(asvk_stream_create(ctx, &s));
    OK(asvk_blas_fill(s, b, 16, 2.0f));
    OK(asvk_stream_run(s));
    asvk_stream_destroy(s);
    float h[16];
    OK(test_download(ctx, b, h, 16));
    CHECK(h[15] == 2.0f, "fill after a corrupt cache gave %g", h[15]);
    asvk_buffer_free(ctx, &b);
    test_context_free(ctx);
    header[0] = header[1] = 0;
    f = fopen(path, "rb");
    CHECK(f && fread(header, 4, 2, f) == 2 && header[0] >= 32 && header[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE,
          "the corrupt cache was not replaced by a valid one");
    if (f) fclose(f);
    unsetenv("ASVK_CACHE_DIR");
    remove(path);
    rmdir(dir);
}

static void count_message(void *user, asvk_log_level level, const char *msg) {
    (void)msg;
    if (level == ASVK_LOG_VALIDATION) ++*(int *)user;
}

/* The harness relies on validation messages reaching it: provoke one on
 * purpose (a zero-sized buffer, VUID-VkBufferCreateInfo-size-00912) and
 * check that it is counted. */
static void validation_messages_are_caught(void) {
    int seen = 0;
    asvk_context_options o = {.validation = true, .log = count_message, .log_user = &seen};
    asvk_context *ctx;
    OK(asvk_context_create(&o, &ctx));
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 0,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
    VkBuffer b = VK_NULL_HANDLE;
    if (ctx->vk.vkCreateBuffer(ctx->device, &bci, NULL, &b) == VK_SUCCESS && b)
        ctx->vk.vkDestroyBuffer(ctx->device, b, NULL);
    CHECK(seen >= 1, "a zero-sized buffer raised no validation message");
    CHECK(asvk_context_destroy(ctx) >= 1, "the context did not count the message");
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"validation_messages_are_caught", validation_messages_are_caught},
        {"devices_are_listed_and_probed", devices_are_listed_and_probed},
        {"device_selection_by_index_name_and_errors", device_selection_by_index_name_and_errors},
        {"missing_loader_and_feature_are_clear_errors", missing_loader_and_feature_are_clear_errors},
        {"image_inputs_follow_texel_inputs", image_inputs_follow_texel_inputs},
        {"memory_is_sub_allocated", memory_is_sub_allocated},
        {"memory_budget_gives_a_clear_error", memory_budget_gives_a_clear_error},
        {"upload_download_round_trip", upload_download_round_trip},
        {"stream_barriers_follow_hazards", stream_barriers_follow_hazards},
        {"stream_replays_and_times", stream_replays_and_times},
        {"stream_dry_pass_builds_pipelines", stream_dry_pass_builds_pipelines},
        {"shaders_reflect_consistently", shaders_reflect_consistently},
        {"pipeline_cache_is_saved_and_survives_corruption", pipeline_cache_is_saved_and_survives_corruption},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
