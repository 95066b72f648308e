#include "tests/harness.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int test_failures = 0;
uint64_t test_seed = 0;
static uint64_t rng_state;
static asvk_context *shared_ctx;
static uint32_t validation_seen;

static void on_log(void *user, asvk_log_level level, const char *msg) {
    (void)user;
    if (level == ASVK_LOG_VALIDATION) {
        validation_seen++;
        fprintf(stderr, "VALIDATION: %s\n", msg);
    } else if (level == ASVK_LOG_WARNING) {
        fprintf(stderr, "warning: %s\n", msg);
    }
}

asvk_status test_context_new(asvk_context **out) {
    asvk_context_options o = {.validation = getenv("ASVK_TEST_NO_VALIDATION") == NULL, .log = on_log};
    return asvk_context_create(&o, out);
}

void test_context_free(asvk_context *ctx) {
    uint32_t n = asvk_context_destroy(ctx);
    if (n) {
        test_failures++;
        fprintf(stderr, "the validation layer reported %u message(s) (printed above)\n", n);
    }
}

asvk_context *test_context(void) {
    if (!shared_ctx) {
        asvk_status st = test_context_new(&shared_ctx);
        if (st) {
            fprintf(stderr, "cannot create a Vulkan context: %s\n", asvk_error_message());
            exit(1);
        }
    }
    return shared_ctx;
}

uint32_t test_rand_u32(void) {
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

uint32_t test_rand_range(uint32_t lo, uint32_t hi) { return lo + test_rand_u32() % (hi - lo + 1); }

float test_rand_uniform(float lo, float hi) { return lo + (hi - lo) * (float)(test_rand_u32() >> 8) / 16777216.0f; }

void test_fill_uniform(float *v, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) v[i] = test_rand_uniform(lo, hi);
}

asvk_status test_upload(asvk_context *ctx, const float *v, size_t n, asvk_buffer *out) {
    asvk_status st = asvk_buffer_alloc(ctx, n * 4, out);
    if (st) return st;
    return asvk_buffer_upload(ctx, *out, 0, v, n * 4);
}

asvk_status test_download(asvk_context *ctx, asvk_buffer b, float *v, size_t n) {
    return asvk_buffer_download(ctx, b, 0, v, n * 4);
}

int test_main(int argc, char **argv, const test_case *cases, size_t count) {
    const char *s = getenv("ASVK_TEST_SEED");
    /* A fixed default keeps CI deterministic; set ASVK_TEST_SEED to explore. */
    test_seed = s && *s ? strtoull(s, NULL, 10) : 20261128u;
    rng_state = test_seed;
    fprintf(stderr, "seed %llu (ASVK_TEST_SEED=%llu replays it)\n", (unsigned long long)test_seed,
            (unsigned long long)test_seed);
    /* a case list in tests/CMakeLists.txt with a misspelt name must not drop that case silently */
    for (int a = 1; a < argc; a++) {
        bool known = false;
        for (size_t i = 0; i < count; i++) known |= strcmp(argv[a], cases[i].name) == 0;
        if (!known) {
            fprintf(stderr, "no test case is named '%s'\n", argv[a]);
            return 1;
        }
    }
    int ran = 0;
    for (size_t i = 0; i < count; i++) {
        bool selected = argc < 2;
        for (int a = 1; a < argc; a++) selected |= strcmp(argv[a], cases[i].name) == 0;
        if (!selected) continue;
        int before = test_failures;
        uint32_t vbefore = validation_seen;
        fprintf(stderr, "[ RUN  ] %s\n", cases[i].name);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cases[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (validation_seen != vbefore) {
            test_failures++;
            fprintf(stderr, "%s: %u validation message(s)\n", cases[i].name, validation_seen - vbefore);
        }
        fprintf(stderr, "[ %s ] %s (%.2f s)\n", test_failures == before ? " OK " : "FAIL", cases[i].name,
                (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
        ran++;
    }
    if (shared_ctx) test_context_free(shared_ctx);
    if (ran == 0) {
        fprintf(stderr, "no test case matched\n");
        return 1;
    }
    fprintf(stderr, "%d case(s), %d failure(s)\n", ran, test_failures);
    return test_failures ? 1 : 0;
}
