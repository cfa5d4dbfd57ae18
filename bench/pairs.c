/*
 * pairs.c: byte pairs merged into the byte values an input never uses
 * (codec/bpe.h, Gage's byte-pair encoding, 1994), for issue 16's question
 * whether merged symbols pay at equal FLOPs per input byte
 * (docs/BENCHMARKS.md, "Tokens"). The vocabulary stays 256, so nmdl
 * compresses the merged file unchanged.
 *
 * usage: bench_pairs IN OUT [min=64]
 * Writes the merged symbols to OUT and the merge table to OUT.table (1 + 3
 * bytes a merge: the count, then each merge's value and its pair, in
 * order), checks that expanding OUT restores IN, and prints the counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benchio.h"
#include "codec/bpe.h"

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(p, 1, n, f) != n;
    if (f && fclose(f))
        bad = 1;
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    uint8_t *src, *s = NULL, *back = NULL;
    size_t n, m;
    if (argc < 3 || bench_read_file(argv[1], &src, &n) || !(s = malloc(n)) ||
        !(back = malloc(n))) {
        fprintf(stderr, "usage: bench_pairs IN OUT [min=64] (IN readable, not empty)\n");
        return 2;
    }
    int used[256] = {0}, nused = 0;
    for (size_t i = 0; i < n; i++)
        used[src[i]] = 1;
    for (int v = 0; v < 256; v++)
        nused += used[v];
    nmdl_bpe t;
    if (nmdl_bpe_learn(src, n, (size_t)bench_opt(argc, argv, "min", 64), &t, s, &m) ||
        nmdl_bpe_expand(&t, s, m, back, n, NULL) || memcmp(back, src, n)) {
        fprintf(stderr, "bench_pairs: expanding the merged symbols does not restore %s\n",
                argv[1]);
        return 1;
    }
    uint8_t table[1 + 3 * NMDL_BPE_MAX];
    table[0] = (uint8_t)t.count;
    for (int k = 0; k < t.count; k++)
        memcpy(table + 1 + 3 * k, (uint8_t[3]){t.v[k], t.a[k], t.b[k]}, 3);
    char tpath[4096];
    snprintf(tpath, sizeof tpath, "%s.table", argv[2]);
    if (write_file(argv[2], s, m) || write_file(tpath, table, 1 + 3 * (size_t)t.count)) {
        fprintf(stderr, "bench_pairs: cannot write %s or %s\n", argv[2], tpath);
        return 1;
    }
    printf("%s: %zu bytes, %d values used, %d merges, %zu symbols (%.3f a byte), "
           "table %d bytes; expanding restores it\n",
           argv[1], n, nused, t.count, m, (double)m / (double)n, 1 + 3 * t.count);
    free(back), free(s), free(src);
    return 0;
}
