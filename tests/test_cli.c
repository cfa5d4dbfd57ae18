/*
 * test_cli.c: the nmdl command as users run it, through a shell, in a
 * scratch directory: roundtrips, overwriting, standard streams, suffixes,
 * --rm, info, and bad inputs that must fail cleanly and leave nothing
 * behind; zstd's habits (modes, program names, concatenated frames, -l),
 * special files as outputs, and outputs that survive crashes and races.
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jsoncheck.h"
#include "testutil.h"

#include "clitest.h"

/* Most tests are about the command line, not the method: zstd is fast. */
#define ZSTD " --method zstd"

static void roundtrip_one(const char *name, const uint8_t *data, size_t n)
{
    put(name, data, n);
    assert_int_equal(sh(NMDL " compress -q" ZSTD " %s", name), 0);
    assert_true(exists(name)); /* inputs are kept by default */
    assert_int_equal(sh("mv %s %s.orig && " NMDL " decompress -q %s.nmdl", name,
                        name, name), 0);
    assert_file(name, data, n);
    char frame[64];
    snprintf(frame, sizeof frame, "%s.nmdl", name);
    assert_true(exists(frame)); /* kept after decompressing too */
}

static void roundtrips(void **state)
{
    (void)state;
    tu_rng r = {30};
    uint8_t one = 0xFF, *bin = malloc(100000), *text = tu_text(&r, 200000);
    for (size_t i = 0; i < 100000; i++)
        bin[i] = (uint8_t)tu_next(&r);
    roundtrip_one("empty", NULL, 0);
    roundtrip_one("one", &one, 1);
    roundtrip_one("binary", bin, 100000);
    roundtrip_one("text.txt", text, 200000);
    assert_int_equal(sh(NMDL " compress -q --method stored text.txt -o s.nmdl"
                        " && " NMDL " info --json s.nmdl > s.json"), 0);
    size_t n;
    char *json = (char *)get("s.json", &n);
    jc_check_lines(json, "info", 1);
    assert_true(jc_string_is(json, 0, "method", "stored"));
    free(json);
    free(bin);
    free(text);
}

static void refuses_to_overwrite(void **state)
{
    (void)state;
    put("a", "hello hello hello hello", 23);
    assert_int_equal(sh(NMDL " compress" ZSTD " -q a"), 0);
    put("a.nmdl", "precious", 8);
    assert_int_equal(sh(NMDL " compress" ZSTD " -q a"), 1);
    assert_stderr_has("nmdl: a.nmdl: already exists; use -f to overwrite");
    assert_file("a.nmdl", (const uint8_t *)"precious", 8);
    assert_int_equal(sh(NMDL " compress" ZSTD " -q -f a"), 0);
    assert_int_equal(sh(NMDL " decompress -q a.nmdl"), 1); /* a exists */
    assert_int_equal(sh(NMDL " decompress -q -f a.nmdl"), 0);
    assert_file("a", (const uint8_t *)"hello hello hello hello", 23);
    assert_int_equal(count_files(), 2); /* a, a.nmdl: no temporary files */
}

static void standard_streams(void **state)
{
    (void)state;
    tu_rng r = {31};
    uint8_t *text = tu_text(&r, 50000);
    put("t", text, 50000);
    assert_int_equal(sh(NMDL " compress" ZSTD " < t > t1.nmdl"), 0);
    assert_int_equal(sh(NMDL " decompress < t1.nmdl > back1"), 0);
    assert_file("back1", text, 50000);
    assert_int_equal(sh(NMDL " decompress -c t1.nmdl > back2"), 0);
    assert_file("back2", text, 50000);
    assert_int_equal(sh("cat t | " NMDL " compress" ZSTD " - -o t2.nmdl"), 0);
    assert_int_equal(sh(NMDL " compress" ZSTD " -c t | " NMDL " decompress -o back3 -"), 0);
    assert_file("back3", text, 50000);
    assert_int_equal(sh(NMDL " compress" ZSTD " -c t | cmp - t1.nmdl"), 0);
    assert_int_equal(sh("cmp t1.nmdl t2.nmdl"), 0);
    free(text);
}

/* Foreign, truncated and corrupted files: exit status 1, one line naming the
 * file and the problem, no output, the input untouched, nothing left over. */
static void bad_inputs(void **state)
{
    (void)state;
    tu_rng r = {32};
    uint8_t *text = tu_text(&r, 20000);
    put("good", text, 20000);
    assert_int_equal(sh(NMDL " compress" ZSTD " -q good"), 0);
    size_t n;
    uint8_t *frame = get("good.nmdl", &n);
    put("foreign.nmdl", "hello, world\n", 13);
    put("short.nmdl", frame, n / 2);
    frame[n / 2] ^= 0x10;
    put("flipped.nmdl", frame, n);
    struct { const char *file, *message; } cases[] = {
        {"foreign.nmdl", "nmdl: foreign.nmdl: not an nmdl file\n"},
        {"short.nmdl", "nmdl: short.nmdl: truncated (header: model length 0 + data "
                       "length 4262 + 32 checksum bytes > 2140 bytes left)\n"},
        {"flipped.nmdl", "nmdl: flipped.nmdl: checksum mismatch (frame checksum)\n"},
    };
    int files = count_files();
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(sh(NMDL " decompress %s", cases[i].file), 1);
        size_t m;
        char *e = (char *)get("err.txt", &m);
        assert_string_equal(e, cases[i].message);
        free(e);
        assert_int_equal(sh(NMDL " decompress --rm -o out %s", cases[i].file), 1);
        assert_int_equal(sh(NMDL " decompress -t %s", cases[i].file), 1);
        assert_int_equal(sh(NMDL " info %s", cases[i].file), 1);
        assert_int_equal(count_files(), files); /* no output, no temp file */
    }
    assert_file("flipped.nmdl", frame, n); /* inputs untouched */
    assert_int_equal(sh(NMDL " decompress missing.nmdl"), 1);
    assert_stderr_has("nmdl: missing.nmdl: No such file or directory");
    free(frame);
    free(text);
}

static void suffixes_and_usage(void **state)
{
    (void)state;
    put("plain", "abc", 3);
    put("p.nmdl", "abc", 3);
    assert_int_equal(sh(NMDL " decompress plain"), 1);
    assert_stderr_has("unknown suffix");
    assert_int_equal(sh(NMDL " compress" ZSTD " p.nmdl"), 1);
    assert_stderr_has("already has the .nmdl suffix");
    assert_int_equal(sh(NMDL " compress" ZSTD " -o x plain p.nmdl"), 1);
    assert_stderr_has("single input");
    assert_int_equal(sh(NMDL " compress" ZSTD " --bogus plain"), 1);
    assert_stderr_has("unknown option");
    assert_int_equal(sh(NMDL " compress --method lzma plain"), 1);
    assert_int_equal(sh(NMDL " compress" ZSTD " -T -3 plain"), 1);
    assert_int_equal(sh(NMDL " frobnicate"), 1);
    assert_int_equal(sh(NMDL), 1);
    assert_int_equal(sh(NMDL " --help > help.txt"), 0);
    assert_int_equal(sh("grep -q '^Usage: nmdl' help.txt"), 0);
    assert_int_equal(sh(NMDL " --version > v.txt && grep -q '^nmdl 0\\.' v.txt"), 0);
    assert_int_equal(sh(NMDL " compress" ZSTD " -kqfT2 plain && test -f plain.nmdl"), 0);
    assert_int_equal(sh(NMDL " compress" ZSTD " --threads=1 --method=stored -f -q plain"), 0);
}

static void rm_and_test_mode(void **state)
{
    (void)state;
    put("r", "remove me after compressing", 27);
    chmod(path("r"), 0640);
    assert_int_equal(sh(NMDL " compress" ZSTD " -q --rm r"), 0);
    assert_false(exists("r"));
    struct stat st;
    assert_int_equal(stat(path("r.nmdl"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640); /* permissions carried over */
    assert_int_equal(sh(NMDL " decompress -t r.nmdl"), 0);
    assert_false(exists("r"));
    assert_int_equal(sh(NMDL " decompress -q --rm r.nmdl"), 0);
    assert_false(exists("r.nmdl"));
    assert_file("r", (const uint8_t *)"remove me after compressing", 27);
}

/* info --json: the byte parts add up to the file size. */
static void info_accounts_for_every_byte(void **state)
{
    (void)state;
    tu_rng r = {33};
    uint8_t *text = tu_text(&r, 30000);
    put("i", text, 30000);
    assert_int_equal(sh(NMDL " compress" ZSTD " -q i && " NMDL " info --json i.nmdl > i.json"), 0);
    size_t n;
    char *j = (char *)get("i.json", &n);
    jc_check_lines(j, "info", 1);
    static const char *keys[] = {"header_bytes", "model_bytes", "data_bytes",
                                 "checksum_bytes", "file_bytes", "input_bytes"};
    double v[6];
    for (int k = 0; k < 6; k++)
        v[k] = jc_number(j, 0, keys[k]);
    struct stat st;
    assert_int_equal(stat(path("i.nmdl"), &st), 0);
    assert_true(v[0] + v[1] + v[2] + v[3] == v[4]);
    assert_true(v[4] == (double)st.st_size);
    assert_true(v[5] == 30000);
    assert_true(jc_string_is(j, 0, "method", "zstd"));
    assert_true(jc_number(j, 0, "file_bpb") == 8 * v[4] / 30000);
    assert_true(jc_null(j, 0, "n_params") && jc_null(j, 0, "llc"));
    assert_int_equal(sh(NMDL " info i.nmdl > i.txt && grep -q 'data part' i.txt"), 0);
    free(j);
    free(text);
    /* the data code of the committed frames, each revision by its name */
    static const char *const seed[][2] = {
        {"s8-mix7", "transformer, match model and context mixing, revision 7$"},
        {"s8-mix8", "transformer, match model and context mixing, revision 8$"},
        {"mix8", "match model and context mixing, revision 8, without a model"},
        {"s8-match", "transformer and match model$"}};
    for (int k = 0; k < 4; k++)
        assert_int_equal(sh(NMDL " info " NMDL_TESTS_DIR "/fuzz/seeds/decompress/%s.nmdl"
                            " | grep -q 'data code  *%s'", seed[k][0], seed[k][1]), 0);
}

/* The default method through the command line, at effort 1 on a small
 * input: a neural frame with --no-fallback (one segment, or the segments
 * --segments asks for), the fallback otherwise (after the whole attempt
 * with --no-early-stop, after a quarter of its training by default), and
 * info reporting both. */
static void neural_from_the_command_line(void **state)
{
    (void)state;
    tu_rng r = {34};
    uint8_t *text = tu_text(&r, 6000);
    put("n", text, 6000);
    assert_int_equal(sh(NMDL " compress -1 -q -T2 --bits 3 --no-fallback n -o n1.nmdl && "
                        NMDL " info --json n1.nmdl > n1.json"), 0);
    size_t len;
    char *j = (char *)get("n1.json", &len);
    jc_check_lines(j, "info", 1);
    assert_true(jc_string_is(j, 0, "method", "neural"));
    assert_true(jc_number(j, 0, "n_params") > 0 && jc_number(j, 0, "model_bpw") > 0);
    assert_true(jc_string_is(j, 0, "budget", "fixed") && jc_null(j, 0, "llc")); /* --bits */
    assert_true(jc_string_is(j, 0, "alternative_method", "zstd"));
    assert_true(jc_number(j, 0, "segments") == 1);
    free(j);
    assert_int_equal(sh(NMDL " decompress -q -T1 n1.nmdl -o n1.out && cmp n n1.out"), 0);
    assert_int_equal(sh(NMDL " compress -1 -q -T2 --bits 3 --no-fallback --segments 3 n -o "
                        "n1s.nmdl && " NMDL " info n1s.nmdl | grep -q 'segments *3$' && "
                        NMDL " decompress -q -T2 n1s.nmdl -o n1s.out && cmp n n1s.out"), 0);
    assert_int_equal(sh(NMDL " compress --effort 1 --bits 3 -q --no-early-stop n -o n2.nmdl"
                        " && " NMDL " info --json n2.nmdl > n2.json"), 0);
    j = (char *)get("n2.json", &len);
    jc_check_lines(j, "info", 1);
    assert_true(jc_string_is(j, 0, "alternative_method", "neural"));
    free(j);
    /* the early stop (default): a quarter of the training shows the mix
     * frame wins */
    assert_int_equal(sh(NMDL " compress --effort 1 --bits 3 -v n -o n3.nmdl 2> n3.txt && "
                        "grep -q 'mix (neural stopped early: at least' n3.txt && "
                        "grep -q 'neural: stopped after' n3.txt && "
                        "grep -q 'frames: neural 0, mix [1-9][0-9]*, zstd' n3.txt && "
                        NMDL " info --json n3.nmdl > n3.json"), 0);
    j = (char *)get("n3.json", &len);
    assert_true(jc_string_is(j, 0, "method", "mix") && jc_null(j, 0, "alternative_method"));
    assert_true(jc_number(j, 0, "data_code_revision") == 8 && jc_number(j, 0, "segments") == 1);
    free(j);
    /* the default weight code (l0-rl1) without an LLC, which would
     * outweigh effort 1's training; --bits and --budget are round's */
    assert_int_equal(sh(NMDL " compress -1 -q --no-fallback n -o n4.nmdl && " NMDL
                        " info n4.nmdl > n4.txt && grep -q 'no b\\*: no LLC was estimated' "
                        "n4.txt && grep -q 'weights *l0-rl1' n4.txt && grep -q "
                        "'budget learned' n4.txt"), 0);
    assert_int_equal(sh(NMDL " compress -1 -q --weights rate --bits 3 n -o n5.nmdl 2> n5.txt"), 1);
    assert_int_equal(sh("grep -qx 'nmdl: --bits: applies to --weights round only (the other "
                        "weight codes learn their budget)' n5.txt && test ! -e n5.nmdl"), 0);
    assert_int_equal(sh(NMDL " compress -1 -q --budget bstar --no-fallback n -o n6.nmdl && " NMDL
                        " info n6.nmdl | grep -q 'weights *round'"), 0);
    assert_int_equal(sh(NMDL " compress --effort 0 n"), 1);
    assert_int_equal(sh(NMDL " compress --bits -1 n"), 1);
    assert_int_equal(sh(NMDL " compress --preset huge n"), 1);
    free(text);
}

/* zstd's habits: `nmdl FILE` compresses, -z -d -t choose the mode, the
 * program's name (unnmdl, nmdlcat) too, "-o -" is standard output, and
 * the exit status is 1 when any file failed. */
static void zstd_habits(void **state)
{
    (void)state;
    tu_rng r = {37};
    uint8_t *text = tu_text(&r, 30000);
    put("h", text, 30000);
    assert_int_equal(sh(NMDL ZSTD " -q h"), 0);
    assert_true(exists("h.nmdl"));
    assert_int_equal(sh("mv h h.orig && " NMDL " -d -q h.nmdl && cmp h h.orig"), 0);
    assert_int_equal(sh(NMDL " --decompress -c h.nmdl | cmp - h"), 0);
    assert_int_equal(sh(NMDL " -dc < h.nmdl | cmp - h"), 0);
    assert_int_equal(sh(NMDL " -z" ZSTD " -q h -o h2.nmdl && cmp h.nmdl h2.nmdl"), 0);
    assert_int_equal(sh(NMDL " -t h.nmdl"), 0);
    assert_stderr_has("h.nmdl : 30000 bytes, OK");
    assert_int_equal(sh(NMDL " --test -q h.nmdl h2.nmdl && " NMDL " decompress -t h.nmdl"), 0);
    assert_int_equal(sh(NMDL ZSTD " -q -o - h | " NMDL " -d -o - | cmp - h"), 0);
    assert_int_equal(sh(NMDL " -q -o - -d < h.nmdl | cmp - h"), 0);
    assert_false(exists("-"));
    assert_int_equal(sh("ln -s " NMDL " unnmdl && ln -s " NMDL " nmdlcat"), 0);
    assert_int_equal(sh("rm h && ./unnmdl -q h.nmdl && cmp h h.orig"), 0);
    assert_int_equal(sh("./nmdlcat h.nmdl h2.nmdl > hh && cat h h | cmp - hh"), 0);
    assert_int_equal(sh("./nmdlcat < h.nmdl | cmp - h && ./unnmdl -q < h.nmdl | cmp - h"), 0);
    assert_int_equal(sh("./unnmdl -t h.nmdl && ./unnmdl -l h.nmdl | grep -q ' h.nmdl$'"), 0);
    assert_int_equal(sh("./unnmdl -z" ZSTD " -q -c h | cmp - h.nmdl"), 0);
    assert_int_equal(sh("./nmdlcat -q h"), 1); /* decompresses, to stdout */
    assert_stderr_has("nmdl: h: not an nmdl file");
    assert_int_equal(sh(NMDL " -t h.nmdl missing.nmdl"), 1);
    assert_stderr_has("nmdl: missing.nmdl: No such file or directory");
    assert_int_equal(sh(NMDL " -q missing"), 1);
    assert_int_equal(sh(NMDL " compress --help > help.txt && grep -q '^  -l, --list' help.txt"
                        " && grep -q '^  -d, --decompress' help.txt && grep -q unnmdl help.txt"), 0);
    free(text);
}

/* nmdl -c a b writes two frames; -d gives a then b, -t and -l read them
 * all; damage after the first frame names the frame and leaves nothing. */
static void concatenated_frames(void **state)
{
    (void)state;
    tu_rng r = {38};
    uint8_t *a = tu_text(&r, 20000), *b = tu_text(&r, 5000);
    put("a", a, 20000);
    put("b", b, 5000);
    put("e", NULL, 0);
    assert_int_equal(sh(NMDL " -c" ZSTD " a b > ab.nmdl && " NMDL " -dc ab.nmdl > ab"), 0);
    assert_int_equal(sh("cat a b | cmp - ab"), 0);
    assert_int_equal(sh(NMDL " -q" ZSTD " a"), 0);
    size_t a_len;
    free(get("a.nmdl", &a_len));
    assert_int_equal(sh("{ " NMDL " -c --method stored a e && " NMDL " -c" ZSTD " b; } > m.nmdl"
                        " && " NMDL " -d -q m.nmdl && cat a b | cmp - m"), 0);
    assert_int_equal(sh(NMDL " -t m.nmdl ab.nmdl"), 0);
    assert_stderr_has("m.nmdl : 25000 bytes, OK");
    assert_int_equal(sh(NMDL " -vv -t m.nmdl"), 0);
    assert_stderr_has("3 frames");
    /* info: one record (or block) per frame, each saying where it lies */
    assert_int_equal(sh(NMDL " info --json m.nmdl > m.json && " NMDL " info m.nmdl > m.txt"), 0);
    size_t jn;
    char *json = (char *)get("m.json", &jn), *txt = (char *)get("m.txt", &jn);
    assert_int_equal(jc_check_lines(json, "info", 3), 3);
    assert_true(jc_number(json, 2, "frame") == 3 && jc_string_is(json, 2, "method", "zstd"));
    assert_true(jc_number(json, 1, "frame_offset") > 20000 && jc_number(json, 0, "frame_offset") == 0);
    assert_non_null(strstr(txt, "m.nmdl, frame 3 at byte "));
    free(json), free(txt);
    assert_int_equal(sh("cp ab.nmdl bad.nmdl && printf x >> bad.nmdl && "
                        "head -c -1 ab.nmdl > cut.nmdl"), 0);
    int files = count_files();
    char msg[128];
    size_t len, ab_len;
    free(get("ab.nmdl", &ab_len));
    assert_int_equal(sh(NMDL " -d bad.nmdl"), 1);
    snprintf(msg, sizeof msg, "nmdl: bad.nmdl: frame 3 at byte %zu: not an nmdl file\n",
             ab_len);
    char *e = (char *)get("err.txt", &len);
    assert_string_equal(e, msg);
    free(e);
    /* a damaged frame before others is named by its own fault */
    assert_int_equal(sh("cp ab.nmdl f.nmdl && printf A | dd of=f.nmdl bs=1 seek=20 "
                        "conv=notrunc 2>/dev/null && cat f.nmdl a.nmdl > mid.nmdl"), 0);
    assert_int_equal(sh(NMDL " -t mid.nmdl"), 1);
    assert_stderr_has("nmdl: mid.nmdl: checksum mismatch (frame checksum)\n");
    files += 2;
    /* the one line, with the decoder's detail */
    snprintf(msg, sizeof msg, "nmdl: cut.nmdl: frame 2 at byte %zu: truncated (header: ",
             a_len);
    assert_int_equal(sh(NMDL " -d cut.nmdl"), 1);
    e = (char *)get("err.txt", &len);
    assert_true(!strncmp(e, msg, strlen(msg)) && strchr(e, '\n') == e + len - 1);
    free(e);
    assert_int_equal(sh(NMDL " -t cut.nmdl"), 1);
    assert_int_equal(sh(NMDL " -l cut.nmdl"), 1);
    assert_int_equal(sh(NMDL " -dc cut.nmdl | cmp - a"), 0); /* as zstd: what decoded */
    assert_int_equal(count_files(), files); /* no bad, no cut: nothing left */
    free(a);
    free(b);
}

/* One row of nmdl -l, parsed. */
typedef struct list_row {
    int frames;
    char method[16], name[64];
    unsigned long long file, original, model, data;
    double ratio;
} list_row;

static int list_rows(const char *file, list_row *rows, int max)
{
    size_t n;
    char *text = (char *)get(file, &n), *save = NULL;
    assert_non_null(text);
    assert_non_null(strstr(text, "Frames  Method   Compressed      Original   Ratio"));
    int k = 0;
    for (char *line = strtok_r(text, "\n", &save); line && k < max;
         line = strtok_r(NULL, "\n", &save)) {
        list_row *r = &rows[k];
        if (sscanf(line, "%d %15s %llu %llu %lf %llu %llu %63[^\n]", &r->frames,
                   r->method, &r->file, &r->original, &r->ratio, &r->model,
                   &r->data, r->name) == 8)
            k++;
    }
    free(text);
    return k;
}

/* nmdl -l: one row per file (frames, method, sizes, ratio, model and
 * data parts), totals under two or more, errors for bad files. */
static void list_mode(void **state)
{
    (void)state;
    tu_rng r = {39};
    uint8_t *text = tu_text(&r, 30000);
    put("x", text, 30000);
    assert_int_equal(sh(NMDL ZSTD " -q x && " NMDL " -q --method stored -c x > s.nmdl"
                        " && cat x.nmdl s.nmdl > xs.nmdl"), 0);
    size_t xz, sz;
    free(get("x.nmdl", &xz));
    free(get("s.nmdl", &sz));
    list_row rows[4];
    assert_int_equal(sh(NMDL " -l x.nmdl s.nmdl > l.txt"), 0);
    assert_int_equal(list_rows("l.txt", rows, 4), 3);
    assert_int_equal(rows[0].frames, 1);
    assert_string_equal(rows[0].method, "zstd");
    assert_int_equal(rows[0].file, xz);
    assert_int_equal(rows[0].original, 30000);
    assert_int_equal(rows[0].model, 0);
    assert_true(rows[0].data > 0 && rows[0].data < xz);
    assert_true(rows[0].ratio > 1.5 && fabs(rows[0].ratio - 30000.0 / (double)xz) < 1e-3);
    assert_string_equal(rows[0].name, "x.nmdl");
    assert_string_equal(rows[1].method, "stored");
    assert_int_equal(rows[1].data, 30000);
    assert_int_equal(rows[2].frames, 2);
    assert_string_equal(rows[2].method, "mixed");
    assert_int_equal(rows[2].file, xz + sz);
    assert_string_equal(rows[2].name, "2 files");
    assert_int_equal(sh(NMDL " -l < xs.nmdl > l.txt"), 0);
    assert_int_equal(list_rows("l.txt", rows, 4), 1);
    assert_int_equal(rows[0].frames, 2);
    assert_int_equal(rows[0].original, 60000);
    assert_string_equal(rows[0].name, "stdin");
    put("junk.nmdl", "not a frame", 11);
    assert_int_equal(sh(NMDL " --list junk.nmdl x.nmdl > l.txt"), 1);
    assert_stderr_has("nmdl: junk.nmdl: not an nmdl file");
    assert_int_equal(list_rows("l.txt", rows, 4), 1);
    free(text);
}

/* Efforts outside 1..9 and options that do not apply to the command are
 * refused with one line, before anything is written. */
static void options_that_do_not_apply(void **state)
{
    (void)state;
    put("p", "abc", 3);
    static const struct { const char *args, *message; } cases[] = {
        {"-19 p", "nmdl: -19: effort out of range: nmdl's efforts are -1 .. -9"},
        {"-0 p", "nmdl: -0: effort out of range"},
        {"-10 p", "nmdl: -10: effort out of range"},
        {"compress -k99 p", "nmdl: -99: effort out of range"},
        {"compress --json p", "nmdl: --json: does not apply to compress (only to info, train, eval, llc, compressibility, sweep)"},
        {"--steps 5 p", "nmdl: --steps: does not apply to compress (only to train)"},
        {"-d --method zstd p.nmdl", "nmdl: --method: does not apply to decompress"},
        {"-d -6 p.nmdl", "nmdl: -6: does not apply to decompress (only to compress, sweep)"},
        {"-t -o x p.nmdl", "nmdl: -o: does not apply to test"},
        {"-l --rm p.nmdl", "nmdl: --rm: does not apply to list"},
        {"--segments 2.5 p", "nmdl: --segments needs a whole number: 2.5"},
        {"--segments 257 p", "nmdl: --segments needs a number from 0 to 256: 257"},
        {"-d --segments 2 p.nmdl", "nmdl: --segments: does not apply to decompress (only to compress)"},
        {"-d --max-ratio 0.5 p.nmdl", "nmdl: --max-ratio needs a whole number of bytes per byte (0: no limit): 0.5"},
        {"--memory 64M p", "nmdl: --memory: does not apply to compress (only to decompress, test)"},
        {"info -T2 p.nmdl", "nmdl: -T: does not apply to info"},
        {"eval --untied m c", "nmdl: --untied: does not apply to eval (only to train)"},
        {"train c --csv t.csv", "nmdl: --csv: does not apply to train (only to llc)"},
        {"-d -z p", "nmdl: -z: conflicts with decompress"},
        {"compress -l p", "nmdl: -l: conflicts with compress"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(sh(NMDL " %s", cases[i].args), 1);
        assert_stderr_has(cases[i].message);
        size_t n;
        char *e = (char *)get("err.txt", &n);
        assert_non_null(memchr(e, '\n', n));
        assert_int_equal(strchr(e, '\n') - e + 1, (long)n); /* one line */
        free(e);
        assert_int_equal(count_files(), 1);
    }
    assert_int_equal(sh(NMDL " -q --minutes 1 --method stored p"), 0); /* compress's */
    assert_int_equal(sh(NMDL " -9 -q -f --minutes 1 p"), 1);
    assert_stderr_has("give an effort (-1 .. -9) or --minutes, not both");
    assert_int_equal(sh(NMDL " decompress -qt p.nmdl && " NMDL " -dtq p.nmdl"), 0);
}

/* A terminal as standard input: refused as zstd does, unless -f. */
static void console_stdin_refused(void **state)
{
    (void)state;
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m) || !ptsname(m)) {
        print_message("no pseudo-terminal here: skipped\n");
        skip();
    }
    char pts[128];
    snprintf(pts, sizeof pts, "%s", ptsname(m));
    static const char *const modes[] = {"-d", "decompress", "-t", "-l", "-q" ZSTD " -c"};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(sh(NMDL " %s < %s", modes[i], pts), 1);
        assert_stderr_has("nmdl: stdin: is a console, aborting (use -f to read it)");
    }
    assert_int_equal(sh("ln -s " NMDL " unnmdl && ./unnmdl < %s", pts), 1);
    assert_stderr_has("is a console, aborting");
    close(m);
}

/* Special files as outputs are written into, never replaced, and need no
 * -f: a FIFO, a socket, and (as root) character devices made with mknod
 * here, never the system's own. */
static void special_files_written_in_place(void **state)
{
    (void)state;
    tu_rng r = {40};
    uint8_t *text = tu_text(&r, 4000);
    put("s", text, 4000);
    struct stat st;
    /* a reader in the background, stopped should nmdl fail */
#define READER(out) "{ timeout 60 cat ff > " out " & } && "
#define OR_RELEASE " || { kill $!; false; }"
    assert_int_equal(sh("mkfifo ff && " READER("got") NMDL " compress" ZSTD " -q -o ff s"
                        OR_RELEASE " && wait && " NMDL " decompress -c got | cmp - s"), 0);
    assert_int_equal(sh(NMDL " compress" ZSTD " -q s && " READER("got2") NMDL " decompress"
                        " -q -o ff s.nmdl" OR_RELEASE " && wait && cmp got2 s"), 0);
    /* train writes its checkpoint into a FIFO too, without -f */
    assert_int_equal(sh(READER("ck") NMDL " train -q --preset tiny --steps 1 -o ff s"
                        OR_RELEASE " && wait && " NMDL " eval -q ck s > /dev/null"), 0);
#undef READER
#undef OR_RELEASE
    assert_int_equal(stat(path("ff"), &st), 0);
    assert_true(S_ISFIFO(st.st_mode));

    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    const char *sock = path("sock");
    assert_true(strlen(sock) < sizeof a.sun_path);
    memcpy(a.sun_path, sock, strlen(sock) + 1);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(sh(NMDL " compress" ZSTD " -q -o sock s"), 0); /* fits its buffer */
    int c = accept(l, NULL, NULL);
    uint8_t buf[8192];
    size_t got = 0;
    for (ssize_t k; (k = read(c, buf + got, sizeof buf - got)) > 0;)
        got += (size_t)k;
    close(c);
    close(l);
    put("fromsock", buf, got);
    assert_int_equal(sh("cmp fromsock s.nmdl"), 0);
    assert_int_equal(stat(path("sock"), &st), 0);
    assert_true(S_ISSOCK(st.st_mode));

    assert_int_equal(sh(NMDL " compress" ZSTD " -q -f -o . s"), 1);
    assert_stderr_has("nmdl: .: Is a directory");
    if (sh("mknod null c 1 3 && mknod zero c 1 5 && echo x > null") != 0) {
        print_message("cannot make or write device nodes here (not root, or nodev): "
                      "skipped that part\n");
        free(text);
        return;
    }
    int files = count_files();
    assert_int_equal(sh(NMDL " compress" ZSTD " -q -o null s"), 0); /* no -f needed */
    assert_int_equal(sh(NMDL " compress" ZSTD " -q -f -o null s"), 0);
    assert_int_equal(sh(NMDL " decompress -q -o null s.nmdl && " NMDL " decompress -q -f"
                        " -o zero s.nmdl"), 0);
    assert_int_equal(sh(NMDL " compress" ZSTD " -q --rm -o null s"), 0);
    assert_true(exists("s")); /* the data went nowhere: the input stays */
    assert_int_equal(stat(path("null"), &st), 0);
    assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    assert_int_equal(stat(path("zero"), &st), 0);
    assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5));
    assert_int_equal(count_files(), files);
    free(text);
}

/* Output names as long as a file name may be (255 bytes) work: the
 * temporary file has a short name of its own. */
static void long_names(void **state)
{
    (void)state;
    char n250[251], n255[256];
    memset(n250, 'n', 250), n250[250] = 0;
    memset(n255, 'o', 255), n255[255] = 0;
    put(n250, "long names work", 15);
    assert_int_equal(sh(NMDL " compress" ZSTD " -q %s && mv %s x", n250, n250), 0);
    assert_int_equal(sh(NMDL " decompress -q %s.nmdl && cmp x %s", n250, n250), 0);
    assert_int_equal(sh(NMDL " compress" ZSTD " -q -o %s x && " NMDL " compress" ZSTD
                        " -q -f -o %s x", n255, n255), 0);
    assert_int_equal(sh("ASAN_OPTIONS=verify_asan_link_order=0 NMDL_NOLINK=nolink "
                        "LD_PRELOAD=" NOLINK_SO " " NMDL " decompress -qf -o %s %s.nmdl"
                        " && cmp x %s", n255, n250, n255), 0);
    assert_int_equal(count_files(), 4);
}

/* --rm: the output's folder entry reaches the disk (fsync of the folder)
 * before the input is unlinked; seen with strace, where there is one. */
static void rm_syncs_the_folder_first(void **state)
{
    (void)state;
    if (sh("strace -o /dev/null true") != 0) {
        print_message("no strace here: skipped\n");
        skip();
    }
    put("r", "remove me once safe", 19);
    /* (LeakSanitizer cannot work under ptrace) */
    assert_int_equal(sh("ASAN_OPTIONS=detect_leaks=0 strace -f -o tr.txt -e "
                        "trace=openat,fsync,unlink " NMDL " compress" ZSTD " -q --rm r"), 0);
    assert_false(exists("r"));
    /* the folder opened (fd d), then fsync(d), then the input unlinked */
    assert_int_equal(sh("awk '/O_DIRECTORY/ { split($0, p, \"= \"); d = p[2] + 0; next }"
                        " d && index($0, \"fsync(\" d \")\") { synced = NR }"
                        " /unlink\\(\"r\"\\)/ { gone = NR }"
                        " END { exit !(synced && gone > synced) }' tr.txt"), 0);
}

/* Runs nmdl with args in the scratch folder, `env` ("NAME=value"s, NULL
 * ended) added, and sends it sig as soon as it holds a file of the folder
 * open other than `input`. Returns whether it was caught in time. */
static int signal_while_writing(const char *const *env, char *const *args,
                                const char *input, int sig)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (; *env; env++)
            putenv((char *)*env);
        if (chdir(dir) == 0)
            execv(NMDL, args);
        _exit(127);
    }
    char fds[64], link[PATH_MAX], entry[PATH_MAX + 64], prefix[600];
    snprintf(fds, sizeof fds, "/proc/%d/fd", (int)pid);
    snprintf(prefix, sizeof prefix, "%s/", dir);
    int caught = 0, status;
    time_t end = time(NULL) + 60;
    while (!caught && time(NULL) < end && waitpid(pid, &status, WNOHANG) == 0) {
        DIR *d = opendir(fds);
        for (struct dirent *e; d && !caught && (e = readdir(d));) {
            snprintf(entry, sizeof entry, "%s/%s", fds, e->d_name);
            ssize_t n = readlink(entry, link, sizeof link - 1);
            link[n > 0 ? n : 0] = 0;
            caught = !strncmp(link, prefix, strlen(prefix)) &&
                     strcmp(link + strlen(prefix), input);
        }
        if (d)
            closedir(d);
    }
    if (caught) {
        kill(pid, sig);
        waitpid(pid, &status, 0);
    }
    return caught;
}

/* Killed while writing (SIGKILL, so no handler runs): with O_TMPFILE the
 * half-written output has no name and vanishes with the process. */
static void killed_while_writing_leaves_nothing(void **state)
{
    (void)state;
    int fd = open(dir, O_TMPFILE | O_WRONLY, 0600);
    if (fd < 0) {
        print_message("no O_TMPFILE in %s: skipped\n", dir);
        skip();
    }
    close(fd);
    assert_int_equal(sh("head -c 64000000 /dev/zero | " NMDL " compress -q" ZSTD " > z.nmdl"), 0);
    int files = count_files();
    static const char *const env[] = {NULL};
    char *const args[] = {"nmdl", "decompress", "-q", "-o", "out", "z.nmdl", NULL};
    assert_true(signal_while_writing(env, args, "z.nmdl", SIGKILL));
    assert_int_equal(count_files(), files);
}

/* Where there are no hard links and no O_TMPFILE (the preloaded nolink.c
 * says so): the named temporary file is renamed without replacing (a file
 * that appears at the last moment stays), refused where even that is
 * impossible unless -f, and removed on SIGTERM. */
static void no_hard_links(void **state)
{
    (void)state;
    put("a", "no links here, no links here", 28);
#define NOLINK(mode) "ASAN_OPTIONS=verify_asan_link_order=0 NMDL_NOLINK=" mode \
                     " LD_PRELOAD=" NOLINK_SO " " NMDL " compress" ZSTD " -q "
    assert_int_equal(sh(NOLINK("nolink") "a && " NMDL " decompress -c a.nmdl | cmp - a"), 0);
    assert_int_equal(sh(NOLINK("nolink") "a"), 1);
    assert_stderr_has("nmdl: a.nmdl: already exists; use -f to overwrite");
    assert_int_equal(sh(NOLINK("nolink") "-f a"), 0);
    assert_int_equal(sh(NOLINK("race") "a -o won"), 1);
    assert_stderr_has("nmdl: won: already exists; use -f to overwrite");
    assert_file("won", (const uint8_t *)"winner\n", 7);
    assert_int_equal(sh(NOLINK("race") "-f a -o won && cmp won a.nmdl"), 0);
    assert_int_equal(sh(NOLINK("norename2") "a -o b.nmdl"), 1);
    assert_stderr_has("nmdl: b.nmdl: this file system can neither link nor rename without "
                      "replacing an existing file, so nmdl cannot create it safely; use -f");
    assert_false(exists("b.nmdl"));
    assert_int_equal(sh(NOLINK("norename2") "-f a -o b.nmdl && cmp b.nmdl a.nmdl"), 0);
#undef NOLINK
    assert_int_equal(count_files(), 4); /* a, a.nmdl, won, b.nmdl: no temporary */
    assert_int_equal(sh("head -c 64000000 /dev/zero | " NMDL " compress -q" ZSTD " > z.nmdl"), 0);
    static const char *const env[] = {"NMDL_NOLINK=nolink", "LD_PRELOAD=" NOLINK_SO,
                                      "ASAN_OPTIONS=verify_asan_link_order=0", NULL};
    char *const args[] = {"nmdl", "decompress", "-q", "-o", "out", "z.nmdl", NULL};
    assert_true(signal_while_writing(env, args, "z.nmdl", SIGTERM));
    assert_int_equal(count_files(), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(roundtrips, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_to_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(standard_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(suffixes_and_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(rm_and_test_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(info_accounts_for_every_byte, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(neural_from_the_command_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(zstd_habits, setup, teardown),
        cmocka_unit_test_setup_teardown(concatenated_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(list_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(options_that_do_not_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(console_stdin_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(special_files_written_in_place, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(long_names, setup, teardown),
        cmocka_unit_test_setup_teardown(rm_syncs_the_folder_first, setup, teardown),
        cmocka_unit_test_setup_teardown(killed_while_writing_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(no_hard_links, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
