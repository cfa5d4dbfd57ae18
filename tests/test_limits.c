/*
 * test_limits.c: the decoder against files made to hurt it (issue 14).
 * The reliability probe's crafted frames (tests/data, from
 * tests/fuzz/make_seeds.c) are refused with a named reason before anything
 * large is allocated, the nmdl command peaking under 64 MB; memory and
 * output-to-input limits refuse with the figure; threads share one copy of
 * the weights, so that decoding at -T1, -T2 and -T8 differs in memory only
 * by the per-segment state (measured, printed, compared with the estimate);
 * streaming decoding gives the bytes of whole decoding; and
 * nmdl_compress_bound does not wrap.
 *
 * NMDL_TEST_BIN in the environment runs the command tests against another
 * nmdl binary (an older build, to see them fail).
 */
#define _DEFAULT_SOURCE /* wait4: a child's own peak memory */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec/neural.h"
#include "container/frame.h"
#include "model/infer.h"
#include "codec/quant.h"
#include "nmdl.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0 /* memory figures are only meaningful without ASan */
#endif

#define PEAK_MAX_KB (64 * 1024) /* the probe's files must stay under 64 MB */

extern char **environ;

typedef tu_blob blob;

static blob load(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", NMDL_TESTS_DIR, rel);
    return tu_read(path);
}

static char self[4096]; /* this program, for run_nmdl's go-between */

/* Runs the nmdl command with args, stdout to /dev/null; its exit status,
 * peak resident memory (KB) and first line on stderr. The peak a parent
 * learns (wait4) starts from the RSS of the process the child was forked
 * from, so a small go-between, this program started afresh with --peak,
 * forks it and reports (see peak_main). */
static int run_nmdl(const char *const *args, long *peak_kb, char *err, size_t cap)
{
    const char *bin = getenv("NMDL_TEST_BIN") ? getenv("NMDL_TEST_BIN") : NMDL_BIN;
    char *argv[20] = {self, "--peak", (char *)bin};
    for (int i = 0; args[i] && i < 16; i++)
        argv[i + 3] = (char *)args[i];
    char errpath[] = "/tmp/nmdl-limits-XXXXXX", outpath[] = "/tmp/nmdl-limits-XXXXXX";
    int efd = mkstemp(errpath), ofd = mkstemp(outpath);
    assert_true(efd >= 0 && ofd >= 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, ofd, 1);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    pid_t pid;
    int status, st = -1;
    assert_int_equal(posix_spawn(&pid, self, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    char report[64] = {0};
    assert_true(pread(ofd, report, sizeof report - 1, 0) > 0);
    assert_int_equal(sscanf(report, "%d %ld", &st, peak_kb), 2);
    ssize_t r = pread(efd, err, cap - 1, 0);
    err[r > 0 ? r : 0] = 0;
    err[strcspn(err, "\n")] = 0;
    close(efd), close(ofd);
    unlink(errpath), unlink(outpath);
    return st;
}

/* The go-between: runs argv with stdout to /dev/null and prints its exit
 * status and peak KB. */
static int peak_main(char **argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
        return 1;
    printf("%d %ld\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
           ru.ru_maxrss);
    return 0;
}

static const struct crafted {
    const char *file;
    int rc;            /* the library's answer */
    const char *detail; /* its detail */
} crafted[] = {
    {"crafted-head257.nmdl", NMDL_ERR_CORRUPT, "model part: head width 257 exceeds 256"},
    {"crafted-params2e26.nmdl", NMDL_ERR_CORRUPT,
     "model part: 63199232 parameters exceed 2^25"},
    {"crafted-length2e40.nmdl", NMDL_ERR_CORRUPT,
     "neural frame: original length 1099511627776 exceeds 2^19 x data length 42"},
    {"crafted-bomb.nmdl", NMDL_ERR_LIMIT,
     "ratio: 10000000 bytes from a frame of 178, 56180 to 1, above the limit of 4096 to 1"},
    {"crafted-revision9.nmdl", NMDL_ERR_CORRUPT,
     "model part: data part revision 9 unknown (this decoder knows 1 to 8)"},
};

/* The command refuses each crafted frame with one line naming the field,
 * exit status 1, never above 64 MB (defects 1, 2, 4 and 5 of issue 14:
 * an abort, 1.22 GB, "out of memory" and 35 s of decoding before). */
static void crafted_files_refused_by_the_command(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof crafted / sizeof crafted[0]; i++) {
        char file[1024], err[2048], want[2048];
        snprintf(file, sizeof file, "%s/data/%s", NMDL_TESTS_DIR, crafted[i].file);
        const char *args[] = {"decompress", "-T2", "-c", file, NULL};
        long peak;
        int st = run_nmdl(args, &peak, err, sizeof err);
        print_message("%s: exit %d, peak %ld KB: %s\n", crafted[i].file, st, peak, err);
        snprintf(want, sizeof want, "nmdl: %s: %s (%s)", file, nmdl_strerror(crafted[i].rc),
                 crafted[i].detail);
        if (st != 1 || strcmp(err, want) || (!SANITIZED && peak >= PEAK_MAX_KB)) {
            print_message("  expected: exit 1, under %d KB: %s\n", PEAK_MAX_KB, want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* The library's codes and details for the same frames, from both entry
 * points; nmdl info refuses the structural ones too. */
static int discard(void *user, const void *data, size_t n)
{
    (void)user, (void)data, (void)n;
    return 0;
}

static void crafted_files_refused_by_the_library(void **state)
{
    (void)state;
    nmdl_dctx *d = nmdl_dctx_create();
    assert_nmdl_ok(nmdl_dctx_set_threads(d, 2));
    for (size_t i = 0; i < sizeof crafted / sizeof crafted[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "data/%s", crafted[i].file);
        blob b = load(rel);
        uint8_t out[1000]; /* what the structural ones claim, but 2^40 */
        size_t n;
        nmdl_info info;
        assert_int_equal(nmdl_decompress_stream(d, b.p, b.n, discard, NULL), crafted[i].rc);
        assert_string_equal(nmdl_dctx_error_detail(d), crafted[i].detail);
        if (crafted[i].rc == NMDL_ERR_CORRUPT) {
            assert_int_equal(nmdl_decompress(d, out, sizeof out, &n, b.p, b.n), crafted[i].rc);
            assert_string_equal(nmdl_dctx_error_detail(d), crafted[i].detail);
            assert_int_equal(nmdl_info_read(b.p, b.n, &info), NMDL_ERR_CORRUPT);
        }
        free(b.p);
    }
    nmdl_dctx_free(d);
}

/* The bomb: refused at its ratio and one below, not by the checks of the
 * format (it is a valid frame). */
static void ratio_limit(void **state)
{
    (void)state;
    blob b = load("data/crafted-bomb.nmdl");
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    nmdl_dctx *d = nmdl_dctx_create();
    assert_nmdl_ok(nmdl_dctx_set_max_ratio(d, info.original_bytes / b.n));
    assert_int_equal(nmdl_decompress_stream(d, b.p, b.n, discard, NULL), NMDL_ERR_LIMIT);
    assert_non_null(strstr(nmdl_dctx_error_detail(d), "above the limit of 56179 to 1"));
    nmdl_dctx_free(d);
    free(b.p);
}

/* A frame of a random model of shape cfg over n bytes of text in S
 * segments (the transformer alone). */
static blob random_frame(const nmdl_model_config *cfg, size_t n, int S)
{
    tu_rng r = {61};
    uint8_t *text = tu_text(&r, n);
    blob b = tu_random_frame(cfg, text, n, S, 0);
    free(text);
    return b;
}

/* A model whose weights outweigh one segment's state many times, coded in
 * 32 short segments, so that -T8 keeps 32 segments in flight. */
static const nmdl_model_config wide = {2, 128, 4, 512, 32, 1, {0}};
enum { WIDE_BYTES = 4096, WIDE_SEGMENTS = 32 };

/* A memory limit refuses with the figure, before allocating; raised, the
 * same frame decodes. */
static void memory_limit(void **state)
{
    (void)state;
    blob b = random_frame(&wide, WIDE_BYTES, WIDE_SEGMENTS);
    nmdl_dctx *d = nmdl_dctx_create();
    uint8_t *out = malloc(WIDE_BYTES);
    size_t n;
    const uint64_t need = nmdl_neural_decode_bytes(&wide, WIDE_SEGMENTS, WIDE_BYTES, 1, 1, 0, 0, 0);
    char want[128];
    snprintf(want, sizeof want, "memory: decoding needs %.1f MiB, above the limit of 1.0 MiB",
             (double)need / 1048576.0);
    assert_int_equal(nmdl_dctx_set_memory(d, 0), NMDL_ERR_ARG);
    assert_nmdl_ok(nmdl_dctx_set_memory(d, 1 << 20));
    assert_int_equal(nmdl_decompress(d, out, WIDE_BYTES, &n, b.p, b.n), NMDL_ERR_LIMIT);
    assert_string_equal(nmdl_dctx_error_detail(d), want);
    assert_nmdl_ok(nmdl_dctx_set_memory(d, need)); /* exactly enough: one segment */
    assert_nmdl_ok(nmdl_decompress(d, out, WIDE_BYTES, &n, b.p, b.n));
    assert_string_equal(nmdl_dctx_error_detail(d), "");
    nmdl_dctx_free(d);
    free(out), free(b.p);
}

/* Decoding one file with the command at 1, 2 and 8 threads: peaks differ
 * by what the estimate says the extra segments in flight take (4 per
 * thread, streamed: their state and their bytes), not by a copy of the
 * weights per thread (defect 3: 1.26, 1.65 and 4.03 GB). */
static void threads_share_the_weights(void **state)
{
    (void)state;
    blob b = random_frame(&wide, WIDE_BYTES, WIDE_SEGMENTS);
    char file[] = "/tmp/nmdl-limits-wide-XXXXXX";
    int fd = mkstemp(file);
    assert_true(fd >= 0 && write(fd, b.p, b.n) == (ssize_t)b.n);
    close(fd);
    const double weights = (double)nmdl_inf_weights_bytes(&wide) / 1024;
    const double segment = (double)nmdl_inf_state_bytes(&wide, 1) / 1024;
    static const char *const T[] = {"-T1", "-T2", "-T8"};
    long peak[3];
    double est[3];
    print_message("weights %.0f KB (shared), state %.1f KB per segment in flight\n",
                  weights, segment);
    for (int i = 0; i < 3; i++) {
        const int t = atoi(T[i] + 2), live = t * 4 < WIDE_SEGMENTS ? t * 4 : WIDE_SEGMENTS;
        const char *args[] = {"decompress", "-t", T[i], file, NULL};
        char err[512];
        assert_int_equal(run_nmdl(args, &peak[i], err, sizeof err), 0);
        est[i] = (double)nmdl_neural_decode_bytes(&wide, WIDE_SEGMENTS, WIDE_BYTES, live,
                                                  t, 1, 0, 0) / 1024;
        print_message("nmdl decompress %s: %2d segments in flight, peak %ld KB (+%ld), "
                      "estimate %.0f KB (+%.0f)\n", T[i], live, peak[i],
                      peak[i] - peak[0], est[i], est[i] - est[0]);
    }
    /* Above: threads' stacks and arenas, 256 KB each. Below: segments in
     * flight need not all peak at once (on 2 cores, -T8's 32 rarely do),
     * so the estimate may exceed the peak, but by at most half. */
    if (!SANITIZED)
        for (int i = 1; i < 3; i++) {
            const double grew = est[i] - est[0];
            const double extra = (double)(peak[i] - peak[0]) - grew;
            assert_true(extra < 256.0 * atoi(T[i] + 2) && extra > -256.0 - grew / 2);
            assert_true(peak[i] - peak[0] < weights); /* no second copy */
        }
    unlink(file);
    free(b.p);
}

/* Streaming gives the bytes of whole decoding, batch by batch in order,
 * for every seed layout and thread count, and for zstd and stored. */
typedef struct sink {
    uint8_t *p;
    size_t len, cap;
    int calls, stop_after;
} sink;

static int collect(void *user, const void *data, size_t n)
{
    sink *s = user;
    if (s->stop_after && s->calls == s->stop_after)
        return -77;
    assert_true(n <= s->cap - s->len);
    memcpy(s->p + s->len, data, n);
    s->len += n;
    s->calls++;
    return 0;
}

static void stream_equals_whole(const blob *b, int threads, int expect_calls)
{
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b->p, b->n, &info));
    size_t n = (size_t)info.original_bytes, len;
    uint8_t *whole = malloc(n + 1);
    sink s = {malloc(n + 1), 0, n, 0, 0};
    nmdl_dctx *d = nmdl_dctx_create();
    assert_nmdl_ok(nmdl_dctx_set_threads(d, threads));
    assert_nmdl_ok(nmdl_decompress(d, whole, n, &len, b->p, b->n));
    assert_nmdl_ok(nmdl_decompress_stream(d, b->p, b->n, collect, &s));
    assert_int_equal(s.len, n);
    assert_memory_equal(s.p, whole, n);
    if (expect_calls)
        assert_int_equal(s.calls, expect_calls);
    nmdl_dctx_free(d);
    free(whole), free(s.p);
}

static void streaming(void **state)
{
    (void)state;
    static const char *seeds[] = {"s1-row-tied-l1", "s3-tensor-untied-l1",
                                  "s8-row-tied-l2", "s8-tensor-untied-l2"};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "fuzz/seeds/neural/%s.nmdl", seeds[i]);
        blob b = load(rel);
        for (int t = 1; t <= 3; t++)
            stream_equals_whole(&b, t, 0);
        free(b.p);
    }
    blob b = random_frame(&wide, WIDE_BYTES, WIDE_SEGMENTS);
    stream_equals_whole(&b, 1, WIDE_SEGMENTS / 4); /* batches of 4 segments */
    stream_equals_whole(&b, 3, 3);                 /* 12, 12, then 8 */
    free(b.p);
    tu_rng r = {62};
    const size_t n = 3 << 20;
    uint8_t *text = tu_text(&r, n);
    for (int m = NMDL_METHOD_STORED; m <= NMDL_METHOD_ZSTD; m++) {
        nmdl_cctx *c = nmdl_cctx_create();
        void *p;
        assert_nmdl_ok(nmdl_cctx_set_method(c, (nmdl_method)m));
        assert_nmdl_ok(nmdl_compress_alloc(c, text, n, &p, &b.n));
        b.p = p;
        stream_equals_whole(&b, 1, 0);
        free(b.p);
        nmdl_cctx_free(c);
    }
    free(text);
}

/* A writer's refusal stops decoding and comes back as it was; a wrong
 * content checksum is found at the end; zstd's window obeys the memory
 * limit. */
static void stream_errors(void **state)
{
    (void)state;
    blob b = random_frame(&wide, WIDE_BYTES, WIDE_SEGMENTS);
    sink s = {malloc(WIDE_BYTES), 0, WIDE_BYTES, 0, 2};
    nmdl_dctx *d = nmdl_dctx_create();
    assert_int_equal(nmdl_decompress_stream(d, b.p, b.n, collect, &s), -77);
    assert_int_equal(s.calls, 2);
    nmdl_info info;
    assert_nmdl_ok(nmdl_info_read(b.p, b.n, &info));
    const size_t sum_at = b.n - 2 * NMDL_FRAME_SUM_BYTES;
    b.p[sum_at] ^= 1; /* the content checksum, the frame's made valid again */
    nmdl_frame_sum(b.p, b.n - NMDL_FRAME_SUM_BYTES, b.p + b.n - NMDL_FRAME_SUM_BYTES);
    s.len = s.calls = s.stop_after = 0;
    assert_int_equal(nmdl_decompress_stream(d, b.p, b.n, collect, &s), NMDL_ERR_CHECKSUM);
    assert_string_equal(nmdl_dctx_error_detail(d), "content checksum");
    free(b.p), free(s.p);

    tu_rng r = {63};
    const size_t n = 4 << 20;
    uint8_t *text = tu_text(&r, n);
    nmdl_cctx *c = nmdl_cctx_create();
    void *p;
    assert_nmdl_ok(nmdl_cctx_set_method(c, NMDL_METHOD_ZSTD));
    assert_nmdl_ok(nmdl_compress_alloc(c, text, n, &p, &b.n));
    b.p = p;
    assert_nmdl_ok(nmdl_dctx_set_memory(d, 1 << 20));
    assert_int_equal(nmdl_decompress_stream(d, b.p, b.n, discard, NULL), NMDL_ERR_LIMIT);
    assert_string_equal(nmdl_dctx_error_detail(d),
                        "memory: the zstd frame's window exceeds the limit of 1.0 MiB");
    assert_nmdl_ok(nmdl_dctx_set_memory(d, 8 << 20));
    assert_nmdl_ok(nmdl_decompress_stream(d, b.p, b.n, discard, NULL));
    nmdl_cctx_free(c);
    nmdl_dctx_free(d);
    free(b.p), free(text);
}

/* Defect 1: a pass that cannot be made leaves no pointer to free. */
static void failed_pass_is_null(void **state)
{
    (void)state;
    const nmdl_model_config c = {1, 257, 1, 1, 2, 1, {0}};
    float params[1] = {0};
    nmdl_inf *f = (nmdl_inf *)params; /* not a pass: must be overwritten */
    assert_int_equal(nmdl_inf_create(&c, params, 1, &f), NMDL_ERR_ARG);
    assert_null(f);
    assert_int_equal(nmdl_inf_state_bytes(&c, 1), 0);
}

/* Defect 7: the bound saturates to "no frame" instead of wrapping. */
static void compress_bound_does_not_wrap(void **state)
{
    (void)state;
    assert_int_equal(nmdl_compress_bound(0), NMDL_FRAME_OVERHEAD_MAX);
    assert_int_equal(nmdl_compress_bound(1000), 1000 + NMDL_FRAME_OVERHEAD_MAX);
    assert_int_equal(nmdl_compress_bound(SIZE_MAX), 0);
    assert_int_equal(nmdl_compress_bound(SIZE_MAX - NMDL_FRAME_OVERHEAD_MAX + 1), 0);
    assert_int_equal(nmdl_compress_bound((size_t)1 << 62), 0);
    size_t big = ((size_t)1 << 62) - 1;
    assert_int_equal(nmdl_compress_bound(big), big + NMDL_FRAME_OVERHEAD_MAX);
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "--peak"))
        return peak_main(argv + 2);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compress_bound_does_not_wrap),
        cmocka_unit_test(failed_pass_is_null),
        cmocka_unit_test(crafted_files_refused_by_the_command),
        cmocka_unit_test(crafted_files_refused_by_the_library),
        cmocka_unit_test(ratio_limit),
        cmocka_unit_test(memory_limit),
        cmocka_unit_test(threads_share_the_weights),
        cmocka_unit_test(streaming),
        cmocka_unit_test(stream_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
