/* The test harness: every test binary creates its contexts with the Vulkan
 * validation layer (synchronization validation included) and fails on any
 * validation message; CHECK failures print the file, line, seed and values.
 * Random inputs come from a seeded generator; ASVK_TEST_SEED replays a run. */
#ifndef ASVK_TESTS_HARNESS_H
#define ASVK_TESTS_HARNESS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"

typedef struct {
    const char *name;
    void (*fn)(void);
} test_case;

extern int test_failures;
extern uint64_t test_seed;

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            test_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK(%s) failed (seed %llu): ", __FILE__, __LINE__, #cond,   \
                    (unsigned long long)test_seed);                                               \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fprintf(stderr, "\n");                                                                \
        }                                                                                         \
    } while (0)

/* A call that must succeed; on failure prints the engine's message and returns. */
#define OK(call)                                                                                  \
    do {                                                                                          \
        asvk_status ok_st_ = (call);                                                              \
        if (ok_st_ != ASVK_OK) {                                                                  \
            test_failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #call,              \
                    asvk_status_name(ok_st_), asvk_error_message());                              \
            return;                                                                               \
        }                                                                                         \
    } while (0)

/* A call that must fail with `status` and a message containing `want`. */
#define EXPECT_ERR(call, status, want)                                                                           \
    do {                                                                                                         \
        asvk_status st_ = (call);                                                                                \
        CHECK(st_ == (status) && strstr(asvk_error_message(), want), "%s gave %s '%s', expected %s with '%s'",   \
              #call, asvk_status_name(st_), asvk_error_message(), asvk_status_name(status), want);               \
    } while (0)

/* Runs the cases (or those named on the command line); returns the exit code. */
int test_main(int argc, char **argv, const test_case *cases, size_t count);

/* A context with validation on, shared by the cases of one binary. */
asvk_context *test_context(void);
/* A fresh context with validation on (for tests that change the environment). */
asvk_status test_context_new(asvk_context **out);
/* Destroys a context from test_context_new, failing the test on validation messages. */
void test_context_free(asvk_context *ctx);

/* Deterministic random numbers. */
uint32_t test_rand_u32(void);
uint32_t test_rand_range(uint32_t lo, uint32_t hi); /* inclusive */
float test_rand_uniform(float lo, float hi);
void test_fill_uniform(float *v, size_t n, float lo, float hi);

/* Uploads host floats into a new buffer / downloads n floats. */
asvk_status test_upload(asvk_context *ctx, const float *v, size_t n, asvk_buffer *out);
asvk_status test_download(asvk_context *ctx, asvk_buffer b, float *v, size_t n);

/* Unit roundoff of fp32 (2^-24). */
#define FP32_U (1.0 / 16777216.0)

#endif
