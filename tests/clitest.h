/*
 * clitest.h: what the command-line tests (test_cli.c, test_cli_model.c)
 * share: a scratch directory per test, made by setup and removed by
 * teardown, the nmdl command run through a shell in it, and its files.
 * Failures fail the current cmocka test (cmocka comes before this header).
 */
#ifndef NMDL_TEST_CLITEST_H
#define NMDL_TEST_CLITEST_H

#include <stddef.h>
#include <stdint.h>

#define NMDL NMDL_BIN

/* The scratch directory of the running test. */
extern char dir[];
/* Runs a shell command (printf format) in the scratch directory, stderr to
 * "err.txt"; returns its exit status. */
int sh(const char *fmt, ...);
/* name inside the scratch directory (a static buffer). */
char *path(const char *name);
void put(const char *name, const void *data, size_t n);
/* The file's bytes (malloc'd, NUL-terminated) and length; NULL if absent. */
uint8_t *get(const char *name, size_t *n);
int exists(const char *name);
void assert_file(const char *name, const uint8_t *data, size_t n);
/* The last command's standard error contains text. */
void assert_stderr_has(const char *text);
/* Files in the scratch directory other than err.txt, counted (hidden ones
 * too: that is where temporary files would be). */
int count_files(void);
int setup(void **state);
int teardown(void **state);

#endif /* NMDL_TEST_CLITEST_H */
