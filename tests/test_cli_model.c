/*
 * test_cli_model.c: the commands that study the model apart from the codec
 * (train, eval, llc, compressibility, teacher) and the sweep, as users run
 * them through a shell: their text, their JSON against docs/JSON.md, and
 * bad arguments refused before any work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clitest.h"
#include "jsoncheck.h"
#include "testutil.h"

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
    const char *llc = " --step 1e-5 --chains 2 --burnin 10 --draws 20 --repairs 0";
    assert_int_equal(sh(NMDL " llc m.ckpt c%s --csv t.csv --svg t.svg > l.txt", llc), 0);
    assert_int_equal(sh("grep -q '^c: llc' l.txt && test $(wc -l < t.csv) -eq 61 && "
                        "grep -q '</svg>' t.svg"), 0);
    /* every command's JSON parses, with the keys of docs/JSON.md (the
     * step-size sweep and compressibility on a shorter corpus: faster) */
    assert_int_equal(sh("head -c 3000 c > c3 && " NMDL " llc --json m.ckpt c%s > l.json && "
                        NMDL " llc --json m.ckpt c3 --chains 1 --burnin 2 --draws 2 --batch 1 "
                        "> s.json && " NMDL " eval --json m.ckpt c > e.json && "
                        NMDL " compressibility --json m.ckpt c3%s --epsilon 0.05 > k.json && "
                        NMDL " train c -o m2.ckpt -q --json --preset tiny --steps 3 > t.json",
                        llc, llc), 0);
    static const struct { const char *file, *command; double bytes; } json[] = {
        {"l.json", "llc", 12000}, {"s.json", "llc", 3000}, {"e.json", "eval", 12000},
        {"k.json", "compressibility", 3000}, {"t.json", "train", 12000}};
    for (int i = 0; i < 5; i++) {
        size_t n;
        char *j = (char *)get(json[i].file, &n);
        jc_check_lines(j, json[i].command, 1);
        assert_true(jc_number(j, 0, "input_bytes") == json[i].bytes);
        assert_false(jc_null(j, 0, i == 1 ? "step_sweep" : "n_params"));
        free(j);
    }
    assert_int_equal(sh(NMDL " compressibility m.ckpt c3%s --epsilon 0.05 > k.txt", llc), 0);
    char *kt = (char *)get("k.txt", &(size_t){0}), *ke = (char *)get("err.txt", &(size_t){0});
    /* an unhealthy estimate is said on stderr too, as llc says it */
    assert_true(!strstr(kt, "(unhealthy: ") == !strstr(ke, "nmdl: c3: warning: "));
    free(kt);
    free(ke);
    assert_int_equal(sh("grep -q 'critical levels n_q' k.txt && grep -q 'SVD fraction' k.txt"), 0);
    /* λ̂ with its settings, in text and in JSON */
    assert_int_equal(sh("grep -q 'SGLD, step 1e-05, nbeta .*, 2 chains x (10 burn-in + 20 "
                        "draws)' k.txt"), 0);
    char *k = (char *)get("k.json", &(size_t){0});
    assert_true(jc_number(k, 0, "chains") == 2 && jc_number(k, 0, "draws") == 20);
    free(k);
    /* mixed starts by default: λ̂ the mean of the two halves, each said */
    char *l = (char *)get("l.json", &(size_t){0});
    assert_true(jc_string_is(l, 0, "start", "mixed"));
    assert_float_equal(jc_number(l, 0, "llc"),
                       0.5 * (jc_number(l, 0, "llc_cold") + jc_number(l, 0, "llc_warm")),
                       1e-6 * fabs(jc_number(l, 0, "llc")) + 1e-9);
    free(l);
    assert_int_equal(sh(NMDL " llc --json m.ckpt c%s --start cold > l.json", llc), 0);
    l = (char *)get("l.json", &(size_t){0});
    assert_true(jc_string_is(l, 0, "start", "cold") && jc_null(l, 0, "llc_warm"));
    free(l);
    assert_int_equal(sh(NMDL " llc m.ckpt c --start hot"), 1);
    assert_stderr_has("--start is cold or mixed");
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
    assert_int_equal(sh("test $(wc -l < d/results.csv) -eq 3 && head -1 d/results.csv | "
                        "grep -q '^schema,command,corpus_file,' && test -f d/size-8000.json "
                        "&& grep -q '</svg>' d/dl_vs_n.svg && grep -q '</svg>' "
                        "d/model_bits.svg"), 0);
    size_t n;
    char *j = (char *)get("d/results.json", &n);
    jc_check_array(j, "sweep", 2);
    free(j);
    j = (char *)get("d/size-8000.json", &n);
    jc_check_lines(j, "sweep", 1);
    assert_true(jc_number(j, 0, "input_bytes") == 8000 && jc_number(j, 0, "xz_bytes") > 0);
    assert_true(jc_string_is(j, 0, "corpus_file", "s") && jc_null(j, 0, "effort"));
    free(j);
    assert_int_equal(sh(NMDL " sweep s --sizes 4K,8000,16K --out d --method zstd --json "
                        "> sweep.json"), 0);
    assert_stderr_has("4096 bytes: done before, skipped");
    assert_stderr_has("no rate yet to estimate the rest"); /* skips set no rate */
    assert_int_equal(sh("test $(wc -l < d/results.csv) -eq 4"), 0);
    j = (char *)get("sweep.json", &n);
    jc_check_lines(j, "sweep", 3);
    free(j);
    assert_int_equal(sh(NMDL " sweep s --sizes 4K,4096 --out e"), 1);
    assert_stderr_has("given twice");
    assert_int_equal(sh(NMDL " sweep s --sizes 1M --out e"), 1);
    assert_stderr_has("larger than the corpus");
    assert_int_equal(sh(NMDL " sweep s --sizes 4X --out e"), 1);
    assert_int_equal(sh(NMDL " sweep s --sizes 4K"), 1);
    assert_false(exists("e"));
    free(text);
}

/* nmdl sweep --prequential: the online code beside the two-part one, its
 * block models kept in DIR and used again by a resumed sweep, a record made
 * without it completed; refused without the neural method. */
static void sweep_prequential(void **state)
{
    (void)state;
    tu_rng r = {37};
    uint8_t *text = tu_text(&r, 16384);
    put("s", text, 16384);
    const char *quick = " -1 --chains 1 --burnin 0 --draws 20 --step 1e-5 --repairs 0";
    assert_int_equal(sh(NMDL " sweep s --sizes 8K --out d%s", quick), 0);
    assert_int_equal(sh(NMDL " sweep s --sizes 8K,16K --out d --prequential%s", quick), 0);
    assert_stderr_has("prequential: training on 4096 bytes");
    assert_stderr_has("prequential: training on 8192 bytes");
    assert_int_equal(sh("test -f d/prequential-4096-4.ckpt && test -f d/prequential-8192-8.ckpt"
                        " && grep -q prequential d/dl_vs_n.svg"), 0);
    size_t n;
    char *j = (char *)get("d/results.json", &n);
    jc_check_array(j, "sweep", 2);
    free(j);
    for (int i = 0; i < 2; i++) {
        j = (char *)get(i ? "d/size-16384.json" : "d/size-8192.json", &n);
        double preq = jc_number(j, 0, "preq_bytes"), share = jc_number(j, 0, "preq_train_share");
        /* the first 4K at 8 bits per byte, the rest under a model: less */
        assert_true(preq > 4096 && preq < (i ? 16384 : 8192));
        assert_true(share > 0.3 && share < 2);
        assert_true(jc_string_is(j, 0, "weights", "l0-rl1")); /* the default */
        free(j);
    }
    /* and in the CSV: both rows' preq_bytes, below their input_bytes */
    assert_int_equal(sh("awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == \"preq_bytes\") c = i; "
                        "if ($i == \"input_bytes\") b = i } } $2 ~ /sweep/ && c && b && $c > 4096 && "
                        "$c < $b { ok++ } END { exit ok != 2 }' d/results.csv"), 0);
    /* everything done: nothing trained again */
    assert_int_equal(sh(NMDL " sweep s --sizes 8K,16K --out d --prequential%s", quick), 0);
    j = (char *)get("err.txt", &n);
    assert_null(strstr(j, "training on"));
    free(j);
    assert_int_equal(sh(NMDL " sweep s --sizes 8K --out e --prequential --method zstd"), 1);
    assert_stderr_has("--prequential needs the neural method");
    free(text);
}

/* JSON for any file name: one that is not UTF-8 and holds a quote, a
 * backslash and a control character is still valid JSON, with its bytes in
 * file_hex; the sweep keeps such a corpus name through a resume. Records of
 * schema 0 are read and stored again; one of a newer schema stops the
 * sweep before anything is measured or overwritten. */
static void json_names_and_old_records(void **state)
{
    (void)state;
    static const char name[] = "a\xff\"b\\c\x01";
    tu_rng r = {37};
    uint8_t *text = tu_text(&r, 3000);
    put(name, text, 3000);
    assert_int_equal(sh(NMDL " compress -q --method stored a* && " NMDL
                        " info --json a*.nmdl > i.json"), 0);
    size_t n;
    char *j = (char *)get("i.json", &n);
    jc_check_lines(j, "info", 1);
    assert_true(jc_string_is(j, 0, "file", "a\xEF\xBF\xBD\"b\\c\x01.nmdl"));
    assert_true(jc_string_is(j, 0, "file_hex", "61ff22625c63012e6e6d646c"));
    free(j);
    assert_int_equal(sh(NMDL " sweep a*c? --sizes 1K,2K --out d --method stored -q && "
                        NMDL " sweep a*c? --sizes 1K,2K --out d --method stored"), 0);
    assert_stderr_has("1024 bytes: done before, skipped");
    j = (char *)get("d/results.json", &n);
    jc_check_array(j, "sweep", 2);
    assert_non_null(strstr(j, "\"corpus_file_hex\":\"61ff22625c6301\""));
    free(j);
    /* a record from before schema 1 (the keys of docs/JSON.md's last table) */
    static const char old[] =
        "{\"method\":\"stored\",\"error\":\"\",\"n\":1024,\"ok\":1,\"file\":1100,"
        "\"header\":18,\"model\":0,\"data\":1024,\"checksum\":32,\"neural\":null,"
        "\"n_model\":null,\"n_data\":null,\"n_params\":null,\"llc\":null,\"llc_se\":null,"
        "\"epsilon\":null,\"b_star\":null,\"budget_bits\":null,\"loss_float\":null,"
        "\"compress_s\":0.5,\"decompress_s\":0.25,\"zstd\":null,\"xz\":700}\n";
    put("d/size-1024.json", old, sizeof old - 1);
    assert_int_equal(sh(NMDL " sweep a*c? --sizes 1K,2K --out d --method stored"), 0);
    assert_stderr_has("1024 bytes: done before, skipped");
    j = (char *)get("d/size-1024.json", &n);
    jc_check_lines(j, "sweep", 1);
    assert_true(jc_number(j, 0, "file_bytes") == 1100 && jc_number(j, 0, "xz_bytes") == 700);
    assert_true(jc_null(j, 0, "commit") && jc_null(j, 0, "zstd_bytes") &&
                jc_null(j, 0, "weights"));
    free(j);
    put("d/size-2048.json", "{\"schema\":2}\n", 13);
    assert_int_equal(sh(NMDL " sweep a*c? --sizes 1K,2K --out d --method stored"), 1);
    assert_stderr_has("another schema");
    assert_file("d/size-2048.json", (const uint8_t *)"{\"schema\":2}\n", 13);
    free(text);
}

/* The checkpoint `from` with every weight w, signed again, as `to`. */
static void doctored(const char *from, const char *to, float w)
{
    size_t n;
    uint8_t *buf = get(from, &n);
    tu_ckpt_fill(buf, n, w);
    put(to, buf, n);
    free(buf);
}

/* nmdl teacher: N bytes from a checkpoint or a fresh model, the same bytes
 * for the same seed, the entropy of the sample and of each prefix, lower
 * at a lower temperature; absurd sizes, temperatures, stream counts and
 * models refused before any work, nothing written. */
static void teacher_command(void **state)
{
    (void)state;
    tu_rng r = {38};
    uint8_t *text = tu_text(&r, 12000);
    put("c", text, 12000);
    assert_int_equal(sh(NMDL " train c -o m.ckpt -q --preset tiny --steps 30"), 0);
    assert_int_equal(sh(NMDL " teacher m.ckpt -o a --bytes 3000 --sizes 1000,2K > a.txt && "
                        NMDL " teacher m.ckpt -o b --bytes 3000 -q && cmp a b && "
                        "test $(wc -c < a) -eq 3000 && test ! -s err.txt"), 0);
    assert_int_equal(sh("grep -q '^a: 3000 bytes sampled from m.ckpt at temperature 1 "
                        "(1 stream, seed 1): entropy' a.txt && "
                        "grep -q '^  first 1000 bytes: ' a.txt && "
                        "grep -q '^  first 2048 bytes: ' a.txt"), 0);
    assert_int_equal(sh(NMDL " teacher m.ckpt -o s2 --bytes 3000 --seed 2 && ! cmp -s a s2"), 0);
    assert_int_equal(sh(NMDL " teacher m.ckpt -o - --bytes 3000 --temperature 0.3 > d "
                        "2> d.txt && test $(wc -c < d) -eq 3000 && "
                        "grep -q '^-: 3000 bytes' d.txt"), 0);
    size_t n;
    char *a = (char *)get("a.txt", &n), *d = (char *)get("d.txt", &n);
    double ha = atof(strstr(a, "bits, ") + 6), hd = atof(strstr(d, "bits, ") + 6);
    assert_true(hd < ha && ha < 8.5); /* bits per byte */
    free(a);
    free(d);
    assert_int_equal(sh(NMDL " teacher --preset tiny --streams 4 -o e --bytes 4097 -q && "
                        "test $(wc -c < e) -eq 4097"), 0);
    static const char *const bad[][2] = {
        {"m.ckpt -o x --bytes 0", "--bytes needs a size"},
        {"m.ckpt -o x --bytes 2G", "--bytes needs a size"},
        {"m.ckpt -o x --bytes 1K --temperature 0", "--temperature needs a number"},
        {"m.ckpt -o x --bytes 1K --temperature 1e9", "--temperature needs a number"},
        {"m.ckpt -o x --bytes 1K --streams 0", "--streams needs a number"},
        {"m.ckpt -o x --bytes 1K --streams 2.5", "--streams needs a whole number"},
        {"m.ckpt -o x --bytes 1K --sizes 2K", "larger than the sample"},
        {"m.ckpt --preset tiny -o x --bytes 1K", "needs a MODEL or"},
        {"-o x --bytes 1K", "needs a MODEL or"},
        {"m.ckpt --bytes 1K", "needs -o OUT and --bytes"},
        {"c -o x --bytes 1K", "c: not an nmdl checkpoint"},
        {"m.ckpt -o a --bytes 1K", "a: already exists"},
        {"m.ckpt -o x --bytes 1K --preset huge", "needs a MODEL or"},
        {"--preset huge -o x --bytes 1K", "unknown preset"},
        {"m.ckpt -o x --bytes 1K -T 2", "does not apply to teacher"},
        {"nan.ckpt -o x --bytes 1K", "nan.ckpt: corrupt data"},
    };
    doctored("m.ckpt", "nan.ckpt", NAN);
    doctored("m.ckpt", "big.ckpt", 1e30f); /* finite, but the float loss overflows */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sh(NMDL " teacher %s", bad[i][0]), 1);
        assert_stderr_has(bad[i][1]);
    }
    assert_false(exists("x"));
    assert_int_equal(sh(NMDL " eval big.ckpt c"), 1);
    assert_stderr_has("big.ckpt: the model's loss is not finite");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(model_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(sweep_command, setup, teardown),
        cmocka_unit_test_setup_teardown(sweep_prequential, setup, teardown),
        cmocka_unit_test_setup_teardown(json_names_and_old_records, setup, teardown),
        cmocka_unit_test_setup_teardown(teacher_command, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
