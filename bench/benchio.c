/*
 * benchio.c: see benchio.h.
 */
#include "benchio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bench_read_file(const char *path, uint8_t **data, size_t *n)
{
    FILE *f = fopen(path, "rb");
    *data = NULL;
    if (!f)
        return -1;
    long len = fseek(f, 0, SEEK_END) ? -1 : ftell(f);
    *data = len > 0 ? malloc((size_t)len) : NULL;
    int ok = *data && !fseek(f, 0, SEEK_SET) && fread(*data, 1, (size_t)len, f) == (size_t)len;
    fclose(f);
    *n = len > 0 ? (size_t)len : 0;
    return ok ? 0 : -1;
}

double bench_opt(int argc, char **argv, const char *key, double v)
{
    const size_t k = strlen(key);
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], key, k) && argv[i][k] == '=')
            v = atof(argv[i] + k + 1);
    return v;
}
