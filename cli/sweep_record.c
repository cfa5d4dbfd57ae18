/*
 * sweep_record.c: the sweep's records as JSON and CSV, and read back with
 * the JSON reader of json.c (see sweep.h).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fileio.h"
#include "sweep.h"

void sweep_row_init(sweep_row *r)
{
    memset(r, 0, sizeof *r);
#define X(m, legacy, count) r->m = NAN;
    FIELDS(X)
#undef X
}

void sweep_row_free(sweep_row *r)
{
    free(r->corpus);
    r->corpus = NULL;
}

/* ---- writing: one list of keys for JSON and CSV ---- */

/* Where the keys go: a JSON record, or a CSV header or line. */
typedef struct sink {
    cli_jw *w;   /* JSON, or NULL for CSV */
    FILE *csv;
    int header;  /* CSV: the names, not the values */
    int cells;   /* CSV: cells written on this line */
} sink;

/* The CSV cell separator and, for the header, the key; 1 when the value
 * is still to be written. */
static int cell(sink *s, const char *key)
{
    if (s->cells++)
        fputc(',', s->csv);
    if (s->header)
        fputs(key, s->csv);
    return !s->header;
}

/* A CSV string cell: quoted, quotes doubled. */
static void csv_string(FILE *f, const char *v)
{
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"')
            fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static void put_num(sink *s, const char *key, double v, int count)
{
    if (s->w && count && v >= 0 && v < 1e19)
        cli_jw_uint(s->w, key, (uint64_t)v);
    else if (s->w)
        cli_jw_num(s->w, key, v);
    else if (cell(s, key) && isfinite(v))
        fprintf(s->csv, count ? "%.0f" : "%.10g", v);
}

/* A string; null (an empty cell) for NULL or "" when `empty_null`. */
static void put_str(sink *s, const char *key, const char *v, int empty_null)
{
    if (empty_null && v && !*v)
        v = NULL;
    if (s->w)
        cli_jw_str(s->w, key, v);
    else if (cell(s, key) && v)
        csv_string(s->csv, v);
}

static void put_bool(sink *s, const char *key, int v)
{
    if (s->w)
        cli_jw_bool(s->w, key, v);
    else if (cell(s, key))
        fputs(v ? "true" : "false", s->csv);
}

/* A file name and its hex (cli_jw_name). */
static void put_name(sink *s, const char *key, const char *name)
{
    if (s->w) {
        cli_jw_name(s->w, key, name);
        return;
    }
    char hex_key[64];
    snprintf(hex_key, sizeof hex_key, "%s_hex", key);
    put_str(s, key, name, 0);
    if (cell(s, hex_key) && name && !cli_utf8_valid(name, strlen(name)))
        cli_write_hex(s->csv, name);
}

/* Every key of a record, in order (the JSON writer has written schema
 * and command before). */
static void emit(sink *s, const sweep_row *r)
{
    if (!s->w) {
        put_num(s, "schema", CLI_JSON_SCHEMA, 1);
        put_str(s, "command", "sweep", 0);
    }
    put_name(s, "corpus_file", r->corpus);
    put_str(s, "commit", r->commit, 1);
    put_str(s, "date", r->date, 1);
    put_bool(s, "ok", r->ok);
    put_str(s, "error", r->error, 1);
    put_str(s, "method", r->method, 1);
    put_str(s, "weights", r->weights, 1);
#define X(m, legacy, count) put_num(s, #m, r->m, count);
    FIELDS(X)
#undef X
    put_num(s, "file_bpb", 8 * r->file_bytes / r->input_bytes, 0);
    put_num(s, "predicted_model_bits", r->llc * log2(1 / r->epsilon), 0);
}

void sweep_row_json(cli_jw *w, const sweep_row *r)
{
    sink s = {w, NULL, 0, 0};
    emit(&s, r);
}

void sweep_csv_header(FILE *f)
{
    sink s = {NULL, f, 1, 0};
    emit(&s, &(sweep_row){0});
    fputc('\n', f);
}

void sweep_csv_row(FILE *f, const sweep_row *r)
{
    sink s = {NULL, f, 0, 0};
    emit(&s, r);
    fputc('\n', f);
}

/* ---- reading ---- */

/* The number of member key of object node o; NaN where it is not one. */
static double get_num(const cli_json *d, int o, const char *key)
{
    int i = cli_json_get(d, o, key);
    return i >= 0 && d->node[i].type == CLI_JSON_NUMBER ? d->node[i].num : NAN;
}

/* The text of string member key, or NULL. */
static const char *get_str(const cli_json *d, int o, const char *key)
{
    int i = cli_json_get(d, o, key);
    return i >= 0 && d->node[i].type == CLI_JSON_STRING ? cli_json_text(d, d->node[i].str)
                                                        : NULL;
}

/* The corpus name: from corpus_file_hex where given (the exact bytes),
 * else corpus_file; malloc'd, NULL when there is none. */
static char *get_name(const cli_json *d, int o)
{
    const char *hex = get_str(d, o, "corpus_file_hex"), *name = get_str(d, o, "corpus_file");
    size_t n = hex ? strlen(hex) : 0;
    char *s;
    if (hex && n % 2 == 0 && strspn(hex, "0123456789abcdef") == n && (s = malloc(n / 2 + 1))) {
        for (size_t i = 0; i < n / 2; i++) {
            unsigned v;
            sscanf(hex + 2 * i, "%2x", &v);
            s[i] = (char)v;
        }
        s[n / 2] = 0;
        if (strlen(s) == n / 2)
            return s;
        free(s);
    }
    return name ? strdup(name) : NULL;
}

/* The record of parsed document d (schema 1 keys, or schema 0's). */
static void fill(const cli_json *d, int old, sweep_row *r)
{
#define X(m, legacy, count) r->m = get_num(d, 0, old ? legacy : #m);
    FIELDS(X)
#undef X
    int ok = cli_json_get(d, 0, "ok");
    r->ok = ok >= 0 && (old ? d->node[ok].type == CLI_JSON_NUMBER && d->node[ok].num == 1
                            : d->node[ok].type == CLI_JSON_TRUE);
    static const struct { const char *key; size_t off, cap; } text[] = {
        {"method", offsetof(sweep_row, method), sizeof ((sweep_row *)0)->method},
        {"weights", offsetof(sweep_row, weights), sizeof ((sweep_row *)0)->weights},
        {"error", offsetof(sweep_row, error), sizeof ((sweep_row *)0)->error},
        {"commit", offsetof(sweep_row, commit), sizeof ((sweep_row *)0)->commit},
        {"date", offsetof(sweep_row, date), sizeof ((sweep_row *)0)->date}};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        const char *v = get_str(d, 0, text[i].key);
        snprintf((char *)r + text[i].off, text[i].cap, "%s", v ? v : "");
    }
    r->corpus = get_name(d, 0);
}

int sweep_row_read(const char *path, sweep_row *r, int *old)
{
    uint8_t *buf;
    size_t len, at = 0;
    cli_json d;
    sweep_row_init(r);
    *old = 0;
    if (cli_read_all(path, &buf, &len))
        return 1;
    int rc = cli_json_parse(&d, (const char *)buf, len, &at);
    free(buf);
    if (rc || d.node[0].type != CLI_JSON_OBJECT) {
        fprintf(stderr, "nmdl: %s: not a sweep record (%s at byte %zu); measured again\n",
                path, rc ? "bad JSON" : "no object", at);
        if (!rc)
            cli_json_free(&d);
        return 1;
    }
    int schema = cli_json_get(&d, 0, "schema");
    *old = schema < 0;
    if (!*old && (d.node[schema].type != CLI_JSON_NUMBER ||
                  d.node[schema].num != CLI_JSON_SCHEMA)) {
        fprintf(stderr, "nmdl: %s: a record of another schema than this nmdl's (%d); "
                "move it away to measure that size again\n", path, CLI_JSON_SCHEMA);
        cli_json_free(&d);
        return -1;
    }
    fill(&d, *old, r);
    cli_json_free(&d);
    return 0;
}
