/* safetensors checkpoints: round trip, every kind of corrupt file giving a
 * clear error that names the file (never a read out of bounds: the sanitizer
 * build runs these), and a cross-check with an independent Python reader and
 * writer (numpy) in both directions. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/io/atomic_file.h"
#include "runtime/io/safetensors.h"
#include "tests/harness.h"

static char tmpdir[256];

static const char *tmp_path(const char *name, char *buf, size_t n) {
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "%s/asvk_test_st_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(tmpdir)) tmpdir[0] = 0;
    }
    snprintf(buf, n, "%s/%s", tmpdir, name);
    return buf;
}

static float a_data[2 * 3 * 3 * 4], b_data[5], c_data[1];

static size_t sample(asvk_st_tensor *t) {
    test_fill_uniform(a_data, sizeof a_data / 4, -1, 1);
    test_fill_uniform(b_data, 5, -1, 1);
    c_data[0] = 42.5f;
    t[0] = (asvk_st_tensor){"layers.0.conv.weight", 4, {2, 3, 3, 4}, a_data};
    t[1] = (asvk_st_tensor){"layers.0.bn.bias", 1, {5}, b_data};
    t[2] = (asvk_st_tensor){"step", 0, {0}, c_data};
    t[3] = (asvk_st_tensor){"empty", 2, {0, 7}, NULL};
    return 4;
}

static void round_trip(void) {
    asvk_st_tensor t[4];
    size_t n = sample(t);
    asvk_st_meta meta[] = {{"format", "asvk"}, {"arch", "{\"name\": \"x\\\"y\"}"}, {"note", "ünïcode"}};
    char path[512];
    tmp_path("rt.safetensors", path, sizeof path);
    OK(asvk_safetensors_write(path, t, n, meta, 3));
    asvk_safetensors *st;
    OK(asvk_safetensors_read(path, &st));
    CHECK(asvk_safetensors_count(st) == n, "%zu tensors", asvk_safetensors_count(st));
    for (size_t i = 0; i < n; i++) {
        const asvk_st_tensor *r = asvk_safetensors_find(st, t[i].name);
        CHECK(r && r == asvk_safetensors_tensor(st, i), "tensor %s missing or out of file order", t[i].name);
        if (!r) continue;
        CHECK(r->rank == t[i].rank, "%s rank %u", t[i].name, r->rank);
        uint64_t count = 1;
        for (uint32_t d = 0; d < r->rank; d++) {
            CHECK(r->shape[d] == t[i].shape[d], "%s shape", t[i].name);
            count *= r->shape[d];
        }
        CHECK(((uintptr_t)r->data & 3) == 0, "%s data not float-aligned", t[i].name);
        CHECK(count == 0 || memcmp(r->data, t[i].data, count * 4) == 0, "%s data differs", t[i].name);
    }
    CHECK(asvk_safetensors_meta_count(st) == 3, "meta count");
    CHECK(asvk_safetensors_meta_get(st, "arch") && strcmp(asvk_safetensors_meta_get(st, "arch"), meta[1].value) == 0,
          "metadata with quotes");
    CHECK(asvk_safetensors_meta_get(st, "note") && strcmp(asvk_safetensors_meta_get(st, "note"), "ünïcode") == 0,
          "metadata utf-8");
    CHECK(!asvk_safetensors_meta_get(st, "missing") && !asvk_safetensors_find(st, "missing"), "absent names");
    asvk_safetensors_free(st);
    /* no metadata, no tensors */
    OK(asvk_safetensors_write(path, NULL, 0, NULL, 0));
    OK(asvk_safetensors_read(path, &st));
    CHECK(asvk_safetensors_count(st) == 0 && asvk_safetensors_meta_count(st) == 0, "empty file");
    asvk_safetensors_free(st);
    /* bad writes are refused before touching the disk */
    asvk_st_tensor dup[2] = {t[1], t[1]};
    CHECK(asvk_safetensors_write(path, dup, 2, NULL, 0) == ASVK_ERR_INTERNAL, "duplicate names written");
}

/* Writes 8-byte length + header + data bytes as given. */
static void write_raw(const char *path, uint64_t hlen, const char *header, const void *data, size_t dlen) {
    uint8_t len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (uint8_t)(hlen >> (8 * k));
    asvk_file_part parts[3] = {{len8, 8}, {header, header ? strlen(header) : 0}, {data, dlen}};
    if (asvk_file_write_atomic_parts(path, parts, 3)) fprintf(stderr, "write_raw: %s\n", asvk_error_message());
}

static void expect_bad(const char *path, const char *want) {
    asvk_safetensors *st = NULL;
    asvk_status s = asvk_safetensors_read(path, &st);
    CHECK(s == ASVK_ERR_USAGE && strstr(asvk_error_message(), want) && strstr(asvk_error_message(), path),
          "gave %s '%s', expected a usage error naming the file with '%s'", asvk_status_name(s), asvk_error_message(),
          want);
    CHECK(st == NULL, "no handle on failure");
    if (st) asvk_safetensors_free(st);
}

/* want NULL: the file must read. */
static void raw_case(const char *header, size_t dlen, const char *want) {
    char path[512];
    tmp_path("bad.safetensors", path, sizeof path);
    static float zeros[64];
    write_raw(path, strlen(header), header, zeros, dlen);
    if (want) {
        expect_bad(path, want);
        return;
    }
    asvk_safetensors *st;
    OK(asvk_safetensors_read(path, &st));
    asvk_safetensors_free(st);
}

static void corruptions(void) {
    char path[512];
    tmp_path("good.safetensors", path, sizeof path);
    asvk_st_tensor t[4];
    size_t n = sample(t);
    OK(asvk_safetensors_write(path, t, n, NULL, 0));
    char *file;
    size_t size;
    OK(asvk_file_read_all(path, 0, &file, &size));
    char bad[512];
    tmp_path("bad.safetensors", bad, sizeof bad);
    /* truncated anywhere: inside the data, inside the header, inside the length */
    size_t cuts[] = {size - 1, size - 4, size - 20 - 1, 8 + 10, 5, 0};
    const char *wants[] = {"truncated", "truncated", "truncated", "truncated", "fewer than the 8-byte", "fewer than"};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        OK(asvk_file_write_atomic(bad, file, cuts[i]));
        expect_bad(bad, wants[i]);
    }
    /* trailing bytes after the last tensor */
    char *longer = malloc(size + 4);
    memcpy(longer, file, size);
    memset(longer + size, 0, 4);
    OK(asvk_file_write_atomic(bad, longer, size + 4));
    expect_bad(bad, "4 bytes follow the last tensor");
    free(longer);
    free(file);
    /* header lengths: absurd, zero, beyond the file */
    write_raw(bad, 1ull << 40, "{}", NULL, 0);
    expect_bad(bad, "header length 1099511627776 is not plausible");
    write_raw(bad, 0, "", NULL, 0);
    expect_bad(bad, "header length 0 is not plausible");
    write_raw(bad, 100, "{}", NULL, 0);
    expect_bad(bad, "truncated: its header needs 100 bytes but only 2 follow");
    /* header contents */
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]", 4, "not valid JSON");
    raw_case("[1, 2, 3]", 0, "does not start with '{'");
    raw_case("{\"a\": 5}", 0, "entry 'a' is not an object");
    raw_case("{\"a\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4,
             "tensor 'a' has dtype F16; asvk reads F32 tensors only");
    raw_case("{\"a\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 8, "dtype I64");
    raw_case("{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "tensor 'a' has no dtype");
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4], \"x\": 1}}", 4, "unknown key 'x'");
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 4]}}", 4, "not a size");
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}", 4, "rank 9");
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8,
             "tensor 'a' has shape of 3 F32 elements (12 bytes) but data_offsets span 8 bytes");
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", 8, "ends (byte 0) before it begins");
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0]}}", 8, "needs data_offsets [begin, end]");
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8,
             "tensor 'a' lies outside it: its data ends at byte 16 but the data section has 8 bytes");
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [1e300, 1e300]}}", 8, "needs data_offsets");
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
             "\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12, "overlaps");
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
             "\"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", 12, "leaving a gap after byte 4");
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
             "\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, "the name 'a' appears twice");
    raw_case("{\"__metadata__\": {\"k\": 1}}", 0, "__metadata__ value of 'k' is not a string");
    raw_case("{\"__metadata__\": [1]}", 0, "__metadata__ must be an object");
    /* huge shapes must not overflow into a small byte count */
    raw_case("{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4], \"data_offsets\": [0, 0]}}", 0,
             "too large");
    /* a missing file is bad input too */
    asvk_safetensors *st;
    asvk_status s = asvk_safetensors_read("/nonexistent/x.safetensors", &st);
    CHECK(s == ASVK_ERR_USAGE && strstr(asvk_error_message(), "/nonexistent/x.safetensors"), "missing file: %s",
          asvk_error_message());
}

/* Tensor names and metadata go back into headers and JSON (a bank, a
 * teacher, a resumed run's checkpoint), which must be UTF-8. */
static void names_not_utf8(void) {
    /* an escaped name is UTF-8 once decoded */
    raw_case("{\"w\\u00e9\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, NULL);
    raw_case("{\"w\xe9\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
             "a tensor name is not valid UTF-8 (byte 1 is 0xe9)");
    raw_case("{\"__metadata__\": {\"k\xff\": \"v\"}}", 0, "a __metadata__ key is not valid UTF-8");
    raw_case("{\"__metadata__\": {\"arch\": \"\xc0\xaf\"}}", 0,
             "the __metadata__ value of 'arch' is not valid UTF-8 (byte 0 is 0xc0)");
}

/* Files the fuzzer found (tests/fuzz/README.md). */
static void fuzzed_inputs(void) {
    /* A tensor named "" (or whose name a NUL byte cuts short) read, but the
     * writer refuses such a name, so the checkpoint could not be saved back
     * (tests/fuzz/corpus/safetensors/nul-name). */
    raw_case("{\"\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "a tensor has an empty name");
    char path[512];
    tmp_path("bad.safetensors", path, sizeof path);
    static const char nul_name[] = "{\"a\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]}, "
                                   "\"\0b\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [4, 8]}}";
    uint8_t len8[8] = {sizeof nul_name - 1};
    static const float two[2];
    asvk_file_part parts[3] = {{len8, 8}, {nul_name, sizeof nul_name - 1}, {two, sizeof two}};
    OK(asvk_file_write_atomic_parts(path, parts, 3));
    expect_bad(path, "a tensor has an empty name");
    /* A repeated __metadata__ key read as two entries: asvk saw the first
     * value, the safetensors library (PyTorch, numpy) the last, and a write
     * back kept both (tests/fuzz/corpus/safetensors/duplicate-meta-key). */
    raw_case("{\"__metadata__\": {\"arch\": \"a\", \"arch\": \"b\"}}", 0, "__metadata__ key 'arch' appears twice");
}

/* Non-finite values are found wherever they are and named with the tensor,
 * the count and the first element; finite ones (extremes included) pass. */
static void nonfinite_values(void) {
    float ok[4] = {0.0f, -0.0f, 3.4028235e38f, -1.4e-45f};
    asvk_st_tensor t = {"layers.0.conv.weight", 2, {2, 2}, ok};
    OK(asvk_safetensors_check_finite("ck.safetensors", &t));
    float empty_data[1] = {NAN};
    asvk_st_tensor empty = {"e", 2, {0, 3}, empty_data}; /* no elements: nothing to check */
    OK(asvk_safetensors_check_finite("ck.safetensors", &empty));
    static const struct { float v[4]; const char *want; } cases[] = {
        {{NAN, 1, 2, 3}, "holds non-finite values (1 in all, the first nan at element 0)"},
        {{1, 2, 3, INFINITY}, "(1 in all, the first inf at element 3)"},
        {{1, -INFINITY, NAN, 0}, "(2 in all, the first -inf at element 1)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t.data = cases[i].v;
        EXPECT_ERR(asvk_safetensors_check_finite("ck.safetensors", &t), ASVK_ERR_USAGE, cases[i].want);
        CHECK(strncmp(asvk_error_message(), "ck.safetensors: tensor layers.0.conv.weight holds", 49) == 0 &&
                  strstr(asvk_error_message(), "--allow-nonfinite"),
              "case %zu: '%s'", i, asvk_error_message());
    }
    /* through a file: a scalar tensor holding NaN */
    char path[512];
    tmp_path("nan.safetensors", path, sizeof path);
    float nan1[1] = {NAN};
    asvk_st_tensor s = {"step", 0, {0}, nan1};
    OK(asvk_safetensors_write(path, &s, 1, NULL, 0));
    asvk_safetensors *st;
    OK(asvk_safetensors_read(path, &st));
    EXPECT_ERR(asvk_safetensors_check_finite(path, asvk_safetensors_find(st, "step")), ASVK_ERR_USAGE,
               "tensor step holds non-finite values (1 in all, the first nan at element 0)");
    asvk_safetensors_free(st);
}

/* A header whose length is not a multiple of 4 shifts the data off float
 * alignment; the format allows it, and the reader must still hand out
 * aligned data. Tensors listed out of offset order come back in file order. */
static void unaligned_and_unordered(void) {
    char path[512];
    tmp_path("odd.safetensors", path, sizeof path);
    const char *h = "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} ";
    CHECK((8 + strlen(h)) % 4 != 0, "the header must be misaligning (%zu)", strlen(h));
    float v[3] = {1.5f, -2.25f, 3.0f};
    write_raw(path, strlen(h), h, v, sizeof v);
    asvk_safetensors *st;
    OK(asvk_safetensors_read(path, &st));
    const asvk_st_tensor *a = asvk_safetensors_tensor(st, 0), *b = asvk_safetensors_tensor(st, 1);
    CHECK(a && b && strcmp(a->name, "a") == 0 && strcmp(b->name, "b") == 0, "file order");
    if (a && b) {
        CHECK(((uintptr_t)a->data & 3) == 0 && ((uintptr_t)b->data & 3) == 0, "alignment");
        CHECK(a->data[0] == 1.5f && a->data[1] == -2.25f && b->data[0] == 3.0f, "values %g %g %g", a->data[0], a->data[1],
              b->data[0]);
    }
    asvk_safetensors_free(st);
}

static bool have_numpy(void) {
    return system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

/* An independent reader and writer of the format, in Python with numpy. */
static const char *py_reader =
    "import json, struct, sys, numpy as np\n"
    "b = open(sys.argv[1], 'rb').read()\n"
    "n = struct.unpack('<Q', b[:8])[0]\n"
    "h = json.loads(b[8:8 + n])\n"
    "assert (8 + n) % 8 == 0, 'data not 8-aligned'\n"
    "meta = h.pop('__metadata__')\n"
    "assert meta == {'format': 'asvk', 'arch': '{\"name\": \"x\\\\\"y\"}', 'note': '\\u00fcn\\u00efcode'}, meta\n"
    "d = b[8 + n:]\n"
    "for k, v in h.items():\n"
    "    assert v['dtype'] == 'F32'\n"
    "    a = np.frombuffer(d[v['data_offsets'][0]:v['data_offsets'][1]], dtype='<f4').reshape(v['shape'])\n"
    "    print(k, list(a.shape), repr(float(a.astype(np.float64).sum())))\n";

static const char *py_writer =
    "import json, struct, sys, numpy as np\n"
    "t = {'w': np.arange(24, dtype='<f4').reshape(2, 3, 4) / 8, 'b': np.array([-1.5, 2.5], dtype='<f4')}\n"
    "h, off, data = {'__metadata__': {'who': 'numpy'}}, 0, b''\n"
    "for k in ['b', 'w']:\n"
    "    raw = t[k].tobytes(); h[k] = {'dtype': 'F32', 'shape': list(t[k].shape), 'data_offsets': [off, off + len(raw)]}\n"
    "    off += len(raw); data += raw\n"
    "hj = json.dumps(h).encode()\n"
    "hj += b' ' * (-len(hj) % 8)\n"
    "open(sys.argv[1], 'wb').write(struct.pack('<Q', len(hj)) + hj + data)\n";

static void python_cross_check(void) {
    if (!have_numpy()) {
        fprintf(stderr, "note: skipped: /usr/bin/python3 with numpy is not available\n");
        return;
    }
    char path[512], script[512], cmd[2048];
    /* asvk writes, Python reads */
    tmp_path("py.safetensors", path, sizeof path);
    asvk_st_tensor t[4];
    size_t n = sample(t);
    asvk_st_meta meta[] = {{"format", "asvk"}, {"arch", "{\"name\": \"x\\\"y\"}"}, {"note", "ünïcode"}};
    OK(asvk_safetensors_write(path, t, n, meta, 3));
    tmp_path("reader.py", script, sizeof script);
    OK(asvk_file_write_atomic(script, py_reader, strlen(py_reader)));
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", script, path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL, "cannot run %s", cmd);
    if (!p) return;
    char line[256];
    size_t seen = 0;
    while (fgets(line, sizeof line, p)) {
        char name[64];
        double sum;
        if (sscanf(line, "%63s", name) != 1) continue;
        const char *s = strrchr(line, ' ');
        sum = s ? strtod(s + 1, NULL) : 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(name, t[i].name) == 0) {
                uint64_t count = 1;
                for (uint32_t d = 0; d < t[i].rank; d++) count *= t[i].shape[d];
                double ref = 0;
                for (uint64_t k = 0; k < count; k++) ref += t[i].data[k];
                CHECK(fabs(sum - ref) <= 1e-9 * (1 + fabs(ref)), "%s: Python sums %.17g, asvk %.17g", name, sum, ref);
                seen++;
            }
    }
    int rc = pclose(p);
    CHECK(rc == 0 && seen == n, "the Python reader failed (exit %d) or saw %zu of %zu tensors", rc, seen, n);
    /* Python writes, asvk reads */
    tmp_path("writer.py", script, sizeof script);
    OK(asvk_file_write_atomic(script, py_writer, strlen(py_writer)));
    tmp_path("from_py.safetensors", path, sizeof path);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", script, path);
    CHECK(system(cmd) == 0, "the Python writer failed");
    asvk_safetensors *st;
    OK(asvk_safetensors_read(path, &st));
    const asvk_st_tensor *w = asvk_safetensors_find(st, "w"), *b = asvk_safetensors_find(st, "b");
    CHECK(w && b && w->rank == 3 && w->shape[0] == 2 && w->shape[2] == 4 && b->shape[0] == 2, "shapes");
    if (w && b) {
        for (int k = 0; k < 24; k++) CHECK(w->data[k] == k / 8.0f, "w[%d] = %g", k, w->data[k]);
        CHECK(b->data[0] == -1.5f && b->data[1] == 2.5f, "b");
    }
    CHECK(asvk_safetensors_meta_get(st, "who") && strcmp(asvk_safetensors_meta_get(st, "who"), "numpy") == 0, "meta");
    asvk_safetensors_free(st);
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
        {"round_trip", round_trip},
        {"corruptions", corruptions},
        {"names_not_utf8", names_not_utf8},
        {"fuzzed_inputs", fuzzed_inputs},
        {"nonfinite_values", nonfinite_values},
        {"unaligned_and_unordered", unaligned_and_unordered},
        {"python_cross_check", python_cross_check},
    };
    int rc = test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
    cleanup();
    return rc;
}
