/*
 * test_cli.c: the nmdl command as users run it, through a shell, in a
 * scratch directory: roundtrips, overwriting, standard streams, suffixes,
 * --rm, info, and bad inputs that must fail cleanly and leave nothing
 * behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char dir[] = "/tmp/nmdl-cli-XXXXXX";

/* Runs a shell command in the scratch directory, stderr to "err.txt";
 * returns its exit status. */
static int sh(const char *fmt, ...)
{
    char cmd[4096], full[4400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "cd %s && { %s ; } 2>err.txt", dir, cmd);
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *path(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void put(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(path(name), "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* The file's bytes (malloc'd, NUL-terminated) and length; NULL if absent. */
static uint8_t *get(const char *name, size_t *n)
{
    FILE *f = fopen(path(name), "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len + 1);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    p[len] = 0;
    fclose(f);
    *n = (size_t)len;
    return p;
}

static int exists(const char *name)
{
    return access(path(name), F_OK) == 0;
}

static void assert_file(const char *name, const uint8_t *data, size_t n)
{
    size_t m;
    uint8_t *p = get(name, &m);
    assert_non_null(p);
    assert_int_equal(m, n);
    if (n)
        assert_memory_equal(p, data, n);
    free(p);
}

static void assert_stderr_has(const char *text)
{
    size_t n;
    char *e = (char *)get("err.txt", &n);
    assert_non_null(e);
    if (!strstr(e, text))
        fail_msg("stderr \"%s\" lacks \"%s\"", e, text);
    free(e);
}

/* Files in the scratch directory other than err.txt, counted. */
static int count_files(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.' && strcmp(e->d_name, "err.txt");
    closedir(d);
    return n;
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/nmdl-cli-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

#define NMDL NMDL_BIN
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
    assert_non_null(strstr(json, "\"method\":\"stored\""));
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
    static const char *keys[] = {"header_bytes", "model_bytes", "data_bytes",
                                 "checksum_bytes", "file_bytes", "original_bytes"};
    unsigned long long v[6];
    for (int k = 0; k < 6; k++) {
        char key[40];
        snprintf(key, sizeof key, "\"%s\":", keys[k]);
        char *at = strstr(j, key);
        assert_non_null(at);
        v[k] = strtoull(at + strlen(key), NULL, 10);
    }
    struct stat st;
    assert_int_equal(stat(path("i.nmdl"), &st), 0);
    assert_int_equal(v[0] + v[1] + v[2] + v[3], v[4]);
    assert_int_equal(v[4], (unsigned long long)st.st_size);
    assert_int_equal(v[5], 30000);
    assert_non_null(strstr(j, "\"method\":\"zstd\""));
    assert_non_null(strstr(j, "\"bits_per_byte\":"));
    assert_int_equal(sh(NMDL " info i.nmdl > i.txt && grep -q 'data part' i.txt"), 0);
    free(j);
    free(text);
}

/* The default method through the command line, at effort 1 on a small
 * input: a neural frame with --no-fallback, the fallback otherwise, and
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
    assert_non_null(strstr(j, "\"method\":\"neural\""));
    assert_non_null(strstr(j, "\"n_params\":"));
    assert_non_null(strstr(j, "\"bits_per_weight\":"));
    assert_non_null(strstr(j, "\"alternative_method\":\"zstd\""));
    free(j);
    assert_int_equal(sh(NMDL " decompress -q -T1 n1.nmdl -o n1.out && cmp n n1.out"), 0);
    assert_int_equal(sh(NMDL " compress --effort 1 --bits 3 -q n -o n2.nmdl && "
                        NMDL " info --json n2.nmdl > n2.json"), 0);
    j = (char *)get("n2.json", &len);
    assert_non_null(strstr(j, "\"alternative_method\":\"neural\""));
    free(j);
    assert_int_equal(sh(NMDL " compress --effort 0 n"), 1);
    assert_int_equal(sh(NMDL " compress --bits -1 n"), 1);
    assert_int_equal(sh(NMDL " compress --preset huge n"), 1);
    free(text);
}

/* train, eval, llc and compressibility on a small model. */
static void model_commands(void **state)
{
    (void)state;
    tu_rng r = {35};
    uint8_t *text = tu_text(&r, 12000);
    put("c", text, 12000);
    put("short", "tiny", 4);
    assert_int_equal(sh(NMDL " train c -o m.ckpt -q --preset tiny --steps 30"), 0);
    assert_int_equal(sh(NMDL " eval m.ckpt c > e.txt && grep -q 'bits/byte' e.txt"), 0);
    const char *llc = " --step 1e-5 --chains 2 --burnin 10 --draws 20";
    assert_int_equal(sh(NMDL " llc m.ckpt c%s --csv t.csv --svg t.svg > l.txt", llc), 0);
    assert_int_equal(sh("grep -q '^c: llc' l.txt && test $(wc -l < t.csv) -eq 61 && "
                        "grep -q '</svg>' t.svg"), 0);
    assert_int_equal(sh(NMDL " llc --json m.ckpt c%s > l.json && grep -q '\"llc\":' l.json", llc), 0);
    assert_int_equal(sh(NMDL " compressibility m.ckpt c%s --epsilon 0.05 > k.txt", llc), 0);
    assert_int_equal(sh("grep -q 'critical levels n_q' k.txt && grep -q 'SVD fraction' k.txt"), 0);
    assert_int_equal(sh(NMDL " llc m.ckpt short%s", llc), 1);
    assert_stderr_has("not longer than the model's context");
    assert_int_equal(sh(NMDL " llc c c%s", llc), 1);
    assert_stderr_has("nmdl: c: not an nmdl checkpoint");
    assert_int_equal(sh(NMDL " llc m.ckpt c --chains 0"), 1);
    assert_int_equal(sh(NMDL " compressibility m.ckpt c --epsilon 2"), 1);
    assert_int_equal(sh(NMDL " llc m.ckpt c --sampler hmc"), 1);
    assert_int_equal(sh(NMDL " train short -o s.ckpt --preset tiny"), 1);
    assert_stderr_has("is not longer than the context");
    assert_int_equal(sh(NMDL " train c -o m.ckpt --preset tiny --steps 2"), 1);
    assert_stderr_has("already exists");
    free(text);
}

/* nmdl sweep: results per size, resumed after a stop, plots; sizes that
 * make no sense are refused before any work. */
static void sweep_command(void **state)
{
    (void)state;
    tu_rng r = {36};
    uint8_t *text = tu_text(&r, 20000);
    put("s", text, 20000);
    assert_int_equal(sh(NMDL " sweep s --sizes 4K,8000 --out d --method zstd"), 0);
    assert_int_equal(sh("test $(wc -l < d/results.csv) -eq 3 && grep -q '^zstd,4096,1,' "
                        "d/results.csv && test -f d/size-8000.json && grep -q '</svg>' "
                        "d/dl_vs_n.svg && grep -q '</svg>' d/model_bits.svg"), 0);
    assert_int_equal(sh("grep -q '\"xz\":' d/results.json"), 0);
    assert_int_equal(sh(NMDL " sweep s --sizes 4K,8000,16K --out d --method zstd"), 0);
    assert_stderr_has("4096 bytes: done before, skipped");
    assert_stderr_has("no rate yet to estimate the rest"); /* skips set no rate */
    assert_int_equal(sh("test $(wc -l < d/results.csv) -eq 4"), 0);
    assert_int_equal(sh(NMDL " sweep s --sizes 4K,4096 --out e"), 1);
    assert_stderr_has("given twice");
    assert_int_equal(sh(NMDL " sweep s --sizes 1M --out e"), 1);
    assert_stderr_has("larger than the corpus");
    assert_int_equal(sh(NMDL " sweep s --sizes 4X --out e"), 1);
    assert_int_equal(sh(NMDL " sweep s --sizes 4K"), 1);
    assert_false(exists("e"));
    free(text);
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
        cmocka_unit_test_setup_teardown(model_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(sweep_command, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
