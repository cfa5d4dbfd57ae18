/*
 * jsoncheck.h: checks the JSON the nmdl command prints against the
 * vocabulary of docs/JSON.md, with our own reader (cli/json.c): every
 * record parses, begins with "schema":1 and the command's name, has
 * exactly the keys the document's tables list for the command (nested ones
 * under their object or array), each once, each of its documented type, and
 * null only where the document allows it. Failures fail the current cmocka
 * test (cmocka must be included before this header).
 */
#ifndef NMDL_TEST_JSONCHECK_H
#define NMDL_TEST_JSONCHECK_H

#include <stddef.h>

#include "cli/json.h"

/* text: JSON Lines, `lines` records of `command` (any number when -1);
 * returns the number of records. */
int jc_check_lines(const char *text, const char *command, int lines);
/* text: one JSON array of `n` records of `command`. */
void jc_check_array(const char *text, const char *command, int n);

/* Record `line` (0-based) of JSON Lines text, parsed into *doc (free it with
 * cli_json_free); the index of member key of its top object, -1 when
 * absent. */
int jc_member(const char *text, int line, const char *key, cli_json *doc);
/* The number at key of record `line`: fails when it is not a number. */
double jc_number(const char *text, int line, const char *key);
/* Whether key of record `line` is null (fails when absent). */
int jc_null(const char *text, int line, const char *key);
/* Whether key of record `line` is the string s (fails when absent). */
int jc_string_is(const char *text, int line, const char *key, const char *s);

#endif /* NMDL_TEST_JSONCHECK_H */
