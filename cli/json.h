/*
 * json.h: the JSON the nmdl command prints and reads back (docs/JSON.md has
 * every key). A writer that keeps the vocabulary's rules (numbers that are
 * not finite and absent strings are null, names that are not valid UTF-8
 * still give valid JSON), and a small strict reader (RFC 8259) that the
 * sweep uses for its own records and the tests for every command's output.
 */
#ifndef NMDL_CLI_JSON_H
#define NMDL_CLI_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nmdl.h"

/* The version of the vocabulary, the "schema" key of every record. */
#define CLI_JSON_SCHEMA 1

/* ---- writing ---- */

#define CLI_JW_DEPTH 8 /* deepest nesting of objects and arrays */

/* A writer: the stream, and per open object or array whether it has a
 * member yet (for the commas). */
typedef struct cli_jw {
    FILE *f;
    int depth;
    int has[CLI_JW_DEPTH];
} cli_jw;

/* Starts a record, {"schema":1,"command":"<command>", on f. */
void cli_jw_begin(cli_jw *w, FILE *f, const char *command);
/* Closes the record: }, and with cli_jw_end the line: }\n. */
void cli_jw_finish(cli_jw *w);
void cli_jw_end(cli_jw *w);

/* One member each; key NULL inside an array. */
void cli_jw_num(cli_jw *w, const char *key, double v);    /* null: not finite */
void cli_jw_uint(cli_jw *w, const char *key, uint64_t v);
void cli_jw_uint_if(cli_jw *w, const char *key, int present, uint64_t v); /* null: !present */
void cli_jw_int(cli_jw *w, const char *key, long long v);
void cli_jw_bool(cli_jw *w, const char *key, int v);      /* null: v < 0 */
void cli_jw_str(cli_jw *w, const char *key, const char *s); /* null: NULL */
void cli_jw_null(cli_jw *w, const char *key);
/* A file name: "key" as UTF-8 (each byte of an invalid sequence becomes
 * U+FFFD) and "key_hex", null when the name is valid UTF-8, else the
 * name's bytes as lowercase hex. Both null for NULL. */
void cli_jw_name(cli_jw *w, const char *key, const char *name);
/* Nested object or array: open, members, close. */
void cli_jw_object(cli_jw *w, const char *key);
/* Opens the object "key" when present (returns 1), else writes null. */
int cli_jw_object_if(cli_jw *w, const char *key, int present);
void cli_jw_array(cli_jw *w, const char *key);
void cli_jw_close(cli_jw *w, char bracket); /* '}' or ']' */
/* "architecture": the model's shape as an object, null for NULL. */
void cli_jw_architecture(cli_jw *w, const nmdl_model_config *c);
/* Begins the record of a command about a checkpoint and a corpus of n
 * bytes (eval, llc, compressibility, train): schema, command, model_file,
 * corpus_file, input_bytes, n_params, architecture. */
void cli_jw_model(cli_jw *w, const char *command, const char *model,
                  const char *corpus, size_t n, const nmdl_model *m);

/* The bytes of s as lowercase hex, without quotes. */
void cli_write_hex(FILE *f, const char *s);
/* Whether the n bytes of s are valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
int cli_utf8_valid(const char *s, size_t n);

/* ---- reading ---- */

typedef enum cli_json_type {
    CLI_JSON_NULL,
    CLI_JSON_FALSE,
    CLI_JSON_TRUE,
    CLI_JSON_NUMBER,
    CLI_JSON_STRING,
    CLI_JSON_ARRAY,
    CLI_JSON_OBJECT
} cli_json_type;

/* One value. Nodes live in one array; children are linked by index. */
typedef struct cli_json_node {
    cli_json_type type;
    double num;        /* NUMBER */
    size_t str, len;   /* STRING: offset of the decoded UTF-8 text in the
                          document's text buffer, and its length */
    size_t key;        /* member of an OBJECT: offset of its name */
    int child, next;   /* first element or member, next sibling; -1: none */
    int count;         /* ARRAY, OBJECT: elements or members */
} cli_json_node;

/* A parsed document; node 0 is the top value. */
typedef struct cli_json {
    cli_json_node *node;
    int n, cap;
    char *text; /* decoded strings and names, each NUL-terminated */
    size_t text_len, text_cap;
} cli_json;

#define CLI_JSON_MAX_DEPTH 64

/* Parses the n bytes at s (one value, surrounded by white space only).
 * 0, or -1 on a syntax error (or nesting deeper than CLI_JSON_MAX_DEPTH,
 * or no memory); *err_at is then the byte offset of the problem. On
 * failure nothing is left to free. */
int cli_json_parse(cli_json *doc, const char *s, size_t n, size_t *err_at);
void cli_json_free(cli_json *doc);

/* The member `key` of the object node i (the first of that name); -1 when
 * i is not an object or has none. */
int cli_json_get(const cli_json *doc, int i, const char *key);
/* Text of a string node, or of a member's name. */
const char *cli_json_text(const cli_json *doc, size_t offset);

#endif /* NMDL_CLI_JSON_H */
