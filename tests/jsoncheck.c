/*
 * jsoncheck.c: see jsoncheck.h. The document's key tables are the rows
 * "| `key` | type | unit | commands | null when | meaning |" between its
 * "## Keys" heading and the next "## " heading; commands are letters
 * (i info, e eval, t train, l llc, c compressibility, s sweep), and "never"
 * in the fifth column means the key is never null.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "jsoncheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JC_MAX_KEYS 256

/* One documented key. */
typedef struct jc_key {
    char name[64];    /* "llc", "architecture.ctx", "step_sweep[].llc" */
    char type[16];    /* integer number string boolean object array */
    char commands[16]; /* letters */
    char nullable[16]; /* the commands (letters) where it may be null */
} jc_key;

static jc_key keys[JC_MAX_KEYS];
static int n_keys = -1;

/* Column c (0-based, after the first '|') of a table row, trimmed, into
 * out; 0 or -1 when the row has fewer columns. */
static int column(const char *row, int c, char *out, size_t cap)
{
    const char *p = row;
    for (int i = 0; i <= c; i++)
        if (!(p = strchr(p, '|')) || !*++p)
            return -1;
    const char *end = strchr(p, '|');
    if (!end)
        return -1;
    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    snprintf(out, cap, "%.*s", (int)(end - p), p);
    return 0;
}

/* Appends the letter c to the letters in out. */
static void add_letter(char *out, size_t cap, char c)
{
    size_t n = strlen(out);
    if (n + 1 < cap)
        out[n] = c, out[n + 1] = 0;
}

/* The commands where the "null when" cell lets a key be null: none for
 * "never"; those its "x: ..." parts (separated by "; ") name; all for a
 * part without such a prefix. */
static void null_letters(const char *cell, char *out, size_t cap)
{
    out[0] = 0;
    if (!strcmp(cell, "never"))
        return;
    for (const char *p = cell; p; p = strstr(p, "; ") ? strstr(p, "; ") + 2 : NULL) {
        if (p[0] && strchr("ietlcs", p[0]) && p[1] == ':')
            add_letter(out, cap, p[0]);
        else
            snprintf(out, cap, "ietlcs");
    }
}

/* Reads the key tables of docs/JSON.md once. */
static void load_keys(void)
{
    if (n_keys >= 0)
        return;
    FILE *f = fopen(NMDL_JSON_DOC, "r");
    if (!f)
        fail_msg("cannot read %s", NMDL_JSON_DOC);
    char line[1024], cell[256];
    int in_keys = 0;
    n_keys = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "## ", 3))
            in_keys = !strncmp(line, "## Keys", 7);
        if (!in_keys || strncmp(line, "| `", 3))
            continue;
        assert_true(n_keys < JC_MAX_KEYS);
        jc_key *k = &keys[n_keys++];
        assert_int_equal(column(line, 0, cell, sizeof cell), 0);
        assert_true(strlen(cell) > 2 && cell[strlen(cell) - 1] == '`');
        snprintf(k->name, sizeof k->name, "%.*s", (int)strlen(cell) - 2, cell + 1);
        assert_int_equal(column(line, 1, k->type, sizeof k->type), 0);
        assert_int_equal(column(line, 3, cell, sizeof cell), 0);
        k->commands[0] = 0;
        for (char *t = strtok(cell, " "); t; t = strtok(NULL, " "))
            add_letter(k->commands, sizeof k->commands, t[0]);
        assert_int_equal(column(line, 4, cell, sizeof cell), 0);
        null_letters(cell, k->nullable, sizeof k->nullable);
    }
    fclose(f);
    assert_true(n_keys > 50);
}

/* The letter of a command in the document's tables. */
static char letter(const char *command)
{
    static const char *const names[] = {"info", "eval", "train", "llc", "compressibility",
                                        "sweep"};
    static const char letters[] = "ietlcs";
    for (int i = 0; i < 6; i++)
        if (!strcmp(command, names[i]))
            return letters[i];
    fail_msg("no command %s in docs/JSON.md", command);
    return 0;
}

static const jc_key *find_key(const char *name, char cmd)
{
    for (int i = 0; i < n_keys; i++)
        if (!strcmp(keys[i].name, name) && strchr(keys[i].commands, cmd))
            return &keys[i];
    return NULL;
}

/* Whether node v has the documented type (or is null where allowed for
 * command cmd). */
static int type_ok(const cli_json *d, int v, const jc_key *k, char cmd)
{
    const cli_json_node *n = &d->node[v];
    const char *t = k->type;
    switch (n->type) {
    case CLI_JSON_NULL: return strchr(k->nullable, cmd) != NULL;
    case CLI_JSON_TRUE:
    case CLI_JSON_FALSE: return !strcmp(t, "boolean");
    case CLI_JSON_NUMBER:
        return !strcmp(t, "number") || (!strcmp(t, "integer") && n->num == floor(n->num));
    case CLI_JSON_STRING: return !strcmp(t, "string");
    case CLI_JSON_ARRAY: return !strcmp(t, "array");
    case CLI_JSON_OBJECT: return !strcmp(t, "object");
    }
    return 0;
}

/* The members of object node o against the keys named prefix + name:
 * each documented, once, of its type; every documented one present. */
static void check_object(const cli_json *d, int o, const char *prefix, char cmd)
{
    char name[128];
    size_t plen = strlen(prefix);
    for (int c = d->node[o].child; c >= 0; c = d->node[c].next) {
        const char *key = cli_json_text(d, d->node[c].key);
        for (int e = d->node[o].child; e != c; e = d->node[e].next)
            if (!strcmp(cli_json_text(d, d->node[e].key), key))
                fail_msg("key %s%s twice", prefix, key);
        snprintf(name, sizeof name, "%s%s", prefix, key);
        const jc_key *k = find_key(name, cmd);
        if (!k)
            fail_msg("key %s is not in docs/JSON.md for this command (%c)", name, cmd);
        if (!type_ok(d, c, k, cmd))
            fail_msg("key %s: not of type %s%s", name, k->type,
                     strchr(k->nullable, cmd) ? " or null" : " (never null here)");
        char sub[140];
        if (d->node[c].type == CLI_JSON_OBJECT) {
            snprintf(sub, sizeof sub, "%s.", name);
            check_object(d, c, sub, cmd);
        } else if (d->node[c].type == CLI_JSON_ARRAY) {
            snprintf(sub, sizeof sub, "%s[].", name);
            for (int e = d->node[c].child; e >= 0; e = d->node[e].next) {
                assert_int_equal(d->node[e].type, CLI_JSON_OBJECT);
                check_object(d, e, sub, cmd);
            }
        }
    }
    for (int i = 0; i < n_keys; i++) { /* the documented keys at this level */
        const char *rest = keys[i].name + plen;
        if (!strchr(keys[i].commands, cmd) || strncmp(keys[i].name, prefix, plen) ||
            strchr(rest, '.'))
            continue;
        if (cli_json_get(d, o, rest) < 0)
            fail_msg("key %s of docs/JSON.md is missing", keys[i].name);
    }
}

/* One record: an object with schema 1 and the command, checked. */
static void check_record(const cli_json *d, int o, const char *command)
{
    load_keys();
    assert_int_equal(d->node[o].type, CLI_JSON_OBJECT);
    int s = cli_json_get(d, o, "schema"), c = cli_json_get(d, o, "command");
    assert_true(s >= 0 && d->node[s].type == CLI_JSON_NUMBER &&
                d->node[s].num == CLI_JSON_SCHEMA);
    assert_true(c >= 0 && d->node[c].type == CLI_JSON_STRING);
    assert_string_equal(cli_json_text(d, d->node[c].str), command);
    check_object(d, o, "", letter(command));
}

/* Parses n bytes at s into d; fails the test with the position when it is
 * not JSON. */
static void parse(cli_json *d, const char *s, size_t n)
{
    size_t at = 0;
    if (cli_json_parse(d, s, n, &at))
        fail_msg("not JSON at byte %zu of: %.*s", at, (int)n, s);
}

int jc_check_lines(const char *text, const char *command, int lines)
{
    int count = 0;
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        assert_non_null(end); /* every record ends its line */
        cli_json d;
        parse(&d, p, (size_t)(end - p));
        check_record(&d, 0, command);
        cli_json_free(&d);
        count++;
        p = end + 1;
    }
    if (lines >= 0)
        assert_int_equal(count, lines);
    return count;
}

void jc_check_array(const char *text, const char *command, int n)
{
    cli_json d;
    parse(&d, text, strlen(text));
    assert_int_equal(d.node[0].type, CLI_JSON_ARRAY);
    assert_int_equal(d.node[0].count, n);
    for (int e = d.node[0].child; e >= 0; e = d.node[e].next)
        check_record(&d, e, command);
    cli_json_free(&d);
}

int jc_member(const char *text, int line, const char *key, cli_json *doc)
{
    const char *p = text;
    for (int i = 0; i < line; i++) {
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    const char *end = strchr(p, '\n');
    parse(doc, p, end ? (size_t)(end - p) : strlen(p));
    return cli_json_get(doc, 0, key);
}

double jc_number(const char *text, int line, const char *key)
{
    cli_json d;
    int i = jc_member(text, line, key, &d);
    if (i < 0 || d.node[i].type != CLI_JSON_NUMBER)
        fail_msg("%s is not a number", key);
    double v = d.node[i].num;
    cli_json_free(&d);
    return v;
}

int jc_null(const char *text, int line, const char *key)
{
    cli_json d;
    int i = jc_member(text, line, key, &d);
    if (i < 0)
        fail_msg("no key %s", key);
    int null = d.node[i].type == CLI_JSON_NULL;
    cli_json_free(&d);
    return null;
}

int jc_string_is(const char *text, int line, const char *key, const char *s)
{
    cli_json d;
    int i = jc_member(text, line, key, &d);
    if (i < 0)
        fail_msg("no key %s", key);
    int is = d.node[i].type == CLI_JSON_STRING && !strcmp(cli_json_text(&d, d.node[i].str), s);
    cli_json_free(&d);
    return is;
}
