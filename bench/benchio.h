/*
 * benchio.h: what the benchmark programs share: reading a whole file and
 * options written key=value.
 */
#ifndef NMDL_BENCHIO_H
#define NMDL_BENCHIO_H

#include <stddef.h>
#include <stdint.h>

/* The file's bytes in *data (malloc'd; NULL when empty) and their count.
 * 0, or -1 when it cannot be read or is empty. */
int bench_read_file(const char *path, uint8_t **data, size_t *n);
/* The number after `key=` in the last of argv[1..argc) that starts so,
 * else v. */
double bench_opt(int argc, char **argv, const char *key, double v);

#endif /* NMDL_BENCHIO_H */
