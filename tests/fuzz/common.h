/* Shared by the libFuzzer harnesses (tests/fuzz/README.md). Most parsers take
 * a path, so a harness writes its input into a folder of its own process
 * (created on first use under $TMPDIR, removed at exit) and calls the parser
 * the asvk commands call on it. Nothing here needs a Vulkan device. */
#ifndef ASVK_TESTS_FUZZ_COMMON_H
#define ASVK_TESTS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* The process's scratch folder (an absolute path; aborts when it cannot be made). */
const char *fuzz_dir(void);

/* fuzz_dir()/rel into buf (n bytes); returns buf. */
char *fuzz_path(char *buf, size_t n, const char *rel);

/* Writes data to fuzz_dir()/rel (its folders made first) and returns the full
 * path in buf; aborts on a write error, which is the harness's, not the input's. */
char *fuzz_write(char *buf, size_t n, const char *rel, const void *data, size_t size);

/* Empties fuzz_dir() (keeps the folder), so one input never sees another's files. */
void fuzz_clean(void);

/* Stops the run with a message when an invariant the harness checks fails
 * (a crash to libFuzzer, which saves the input). */
void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Splits an input into `count` pieces: each piece but the last is preceded
 * by its length as 2 little-endian bytes (clamped to what is left), the last
 * takes the rest; pieces past the end of the input are empty. */
void fuzz_split(const uint8_t *data, size_t size, const uint8_t **piece, size_t *len, size_t count);

#endif
