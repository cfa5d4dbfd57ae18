/*
 * clitest.c: see clitest.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clitest.h"

char dir[] = "/tmp/nmdl-cli-XXXXXX";

/* Runs a shell command in the scratch directory, stderr to "err.txt";
 * returns its exit status. */
int sh(const char *fmt, ...)
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

char *path(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

void put(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(path(name), "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* The file's bytes (malloc'd, NUL-terminated) and length; NULL if absent. */
uint8_t *get(const char *name, size_t *n)
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

int exists(const char *name)
{
    return access(path(name), F_OK) == 0;
}

void assert_file(const char *name, const uint8_t *data, size_t n)
{
    size_t m;
    uint8_t *p = get(name, &m);
    assert_non_null(p);
    assert_int_equal(m, n);
    if (n)
        assert_memory_equal(p, data, n);
    free(p);
}

void assert_stderr_has(const char *text)
{
    size_t n;
    char *e = (char *)get("err.txt", &n);
    assert_non_null(e);
    if (!strstr(e, text))
        fail_msg("stderr \"%s\" lacks \"%s\"", e, text);
    free(e);
}

/* Files in the scratch directory other than err.txt, counted (hidden ones
 * too: that is where temporary files would be). */
int count_files(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
             strcmp(e->d_name, "err.txt");
    closedir(d);
    return n;
}

int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/nmdl-cli-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}
