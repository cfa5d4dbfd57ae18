/*
 * test_json.c: the JSON writer and reader of cli/json.c. The reader accepts
 * what RFC 8259 allows and nothing else (each case below is one of its
 * rules), decodes escapes and surrogate pairs, and reads back everything
 * the writer writes; the writer gives valid JSON for any bytes, nulls for
 * what is not a number, and hex beside names that are not UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/json.h"

static int parses(const char *s)
{
    cli_json d;
    if (cli_json_parse(&d, s, strlen(s), NULL))
        return 0;
    cli_json_free(&d);
    return 1;
}

/* Every rule of the grammar, each accepted and refused once at least. */
static void grammar(void **state)
{
    (void)state;
    static const char *const good[] = {
        "0", "-0", "1.5", "-12.25e+3", "1E-2", "1e400", "true", "false", "null",
        "\"\"", "\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\\uD83D\\uDE00\"",
        "\"\xC3\xA9\xF0\x9F\x98\x80\"", "[]", "{}", " [1, [2, {\"a\": [null]}]] ",
        "{\"a\":1,\"a\":2}", "\"\\u0000\"", "\t\r\n7\n"};
    static const char *const bad[] = {
        "", " ", "01", "1.", ".5", "+1", "1e", "1e+", "-", "0x10", "NaN", "Infinity",
        "tru", "nul", "[1,]", "[1 2]", "{\"a\"}", "{\"a\":}", "{a:1}", "{\"a\":1,}",
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\uD83D\"", "\"\\uDE00\"", "\"\\uD83Dx\"",
        "\"a\nb\"", "\"\x01\"", "\"\xFF\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"",
        "\"\xF4\x90\x80\x80\"", "\"\xE2\x82\"", "1 2", "[1]]", "{}{}", "'a'"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!parses(good[i]))
            fail_msg("refused: %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parses(bad[i]))
            fail_msg("accepted: %s", bad[i]);
    char deep[2 * CLI_JSON_MAX_DEPTH + 3];
    for (int depth = CLI_JSON_MAX_DEPTH; depth <= CLI_JSON_MAX_DEPTH + 1; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        deep[2 * depth] = 0;
        assert_int_equal(parses(deep), depth == CLI_JSON_MAX_DEPTH);
    }
}

/* Values, nesting, the first of duplicate keys, the error position. */
static void values(void **state)
{
    (void)state;
    const char *s = "{\"n\":-12.5e1,\"s\":\"x\\u00e9\\uD83D\\uDE00\\n\",\"a\":[1,true,null],"
                    "\"o\":{\"k\":false},\"n\":3}";
    cli_json d;
    assert_int_equal(cli_json_parse(&d, s, strlen(s), NULL), 0);
    assert_int_equal(d.node[0].type, CLI_JSON_OBJECT);
    assert_int_equal(d.node[0].count, 5);
    int n = cli_json_get(&d, 0, "n"), t = cli_json_get(&d, 0, "s");
    assert_true(d.node[n].type == CLI_JSON_NUMBER && d.node[n].num == -125);
    assert_string_equal(cli_json_text(&d, d.node[t].str), "x\xC3\xA9\xF0\x9F\x98\x80\n");
    assert_int_equal(d.node[t].len, 8);
    int a = cli_json_get(&d, 0, "a"), e = d.node[a].child;
    assert_int_equal(d.node[a].count, 3);
    assert_int_equal(d.node[e].type, CLI_JSON_NUMBER);
    assert_int_equal(d.node[d.node[e].next].type, CLI_JSON_TRUE);
    int k = cli_json_get(&d, cli_json_get(&d, 0, "o"), "k");
    assert_int_equal(d.node[k].type, CLI_JSON_FALSE);
    assert_int_equal(cli_json_get(&d, 0, "none"), -1);
    assert_int_equal(cli_json_get(&d, a, "n"), -1); /* not an object */
    cli_json_free(&d);
    size_t at = 0;
    assert_int_equal(cli_json_parse(&d, "[1, 2, x]", 9, &at), -1);
    assert_int_equal(at, 7);
    assert_null(d.node); /* nothing left to free */
    assert_int_equal(cli_json_parse(&d, "[1] ", 4, NULL), 0); /* n, not NUL, ends it */
    cli_json_free(&d);
    assert_int_equal(cli_json_parse(&d, "1\0", 2, NULL), -1);
}

/* What the writer writes, read back. */
static void writer(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cli_jw w;
    cli_jw_begin(&w, f, "test");
    cli_jw_num(&w, "x", 0.1);
    cli_jw_num(&w, "nan", NAN);
    cli_jw_num(&w, "inf", -INFINITY);
    cli_jw_uint(&w, "big", 18446744073709551615ull);
    cli_jw_uint_if(&w, "absent", 0, 5);
    cli_jw_int(&w, "neg", -3);
    cli_jw_bool(&w, "yes", 1);
    cli_jw_bool(&w, "unknown", -1);
    cli_jw_str(&w, "none", NULL);
    cli_jw_str(&w, "ctl", "q\"b\\\x01\x1f\x7f\xC3\xA9");
    cli_jw_name(&w, "good", "ok.txt");
    cli_jw_name(&w, "bad", "a\xFF\xC0\xAFz");
    cli_jw_name(&w, "nil", NULL);
    cli_jw_array(&w, "list");
    cli_jw_object(&w, NULL);
    cli_jw_num(&w, "v", 2);
    cli_jw_close(&w, '}');
    cli_jw_num(&w, NULL, 3);
    cli_jw_close(&w, ']');
    cli_jw_end(&w);
    fclose(f);
    assert_string_equal(
        buf, "{\"schema\":1,\"command\":\"test\",\"x\":0.1,\"nan\":null,\"inf\":null,"
             "\"big\":18446744073709551615,\"absent\":null,\"neg\":-3,\"yes\":true,"
             "\"unknown\":null,\"none\":null,\"ctl\":\"q\\\"b\\\\\\u0001\\u001f\x7f\xC3\xA9\","
             "\"good\":\"ok.txt\",\"good_hex\":null,"
             "\"bad\":\"a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz\",\"bad_hex\":\"61ffc0af7a\","
             "\"nil\":null,\"nil_hex\":null,\"list\":[{\"v\":2},3]}\n");
    cli_json d;
    assert_int_equal(cli_json_parse(&d, buf, len, NULL), 0);
    int c = cli_json_get(&d, 0, "ctl");
    assert_string_equal(cli_json_text(&d, d.node[c].str), "q\"b\\\x01\x1f\x7f\xC3\xA9");
    cli_json_free(&d);
    free(buf);
}

/* UTF-8 validity as the writer sees it. */
static void utf8(void **state)
{
    (void)state;
    assert_true(cli_utf8_valid("", 0));
    assert_true(cli_utf8_valid("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF", 14));
    static const char *const bad[] = {"\x80", "\xC1\xBF", "\xE0\x9F\xBF", "\xED\xA0\x80",
                                      "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
                                      "\xC3", "\xE2\x82"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(cli_utf8_valid(bad[i], strlen(bad[i])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grammar),
        cmocka_unit_test(values),
        cmocka_unit_test(writer),
        cmocka_unit_test(utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
