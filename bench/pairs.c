/*
 * pairs.c: byte pairs merged into the byte values an input never uses
 * (Gage's byte-pair encoding, 1994), for issue 16's question whether merged
 * symbols pay at equal FLOPs per input byte (docs/BENCHMARKS.md, "Tokens").
 * The vocabulary stays 256, so nmdl compresses the merged file unchanged.
 *
 * Repeatedly: the most frequent adjacent pair (at least `min` times; ties
 * go to the lower pair a * 256 + b) gets the lowest unused byte value and
 * its occurrences are replaced left to right without overlap; it stops
 * when no value is unused or no pair is frequent enough.
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

typedef struct merge {
    uint8_t v, a, b; /* v stands for the pair a b */
} merge;

/* The most frequent pair of s[0, n) as a * 256 + b, its count in *count;
 * c: 65,536 counters. */
static int top_pair(const uint8_t *s, size_t n, size_t *c, size_t *count)
{
    memset(c, 0, 65536 * sizeof *c);
    for (size_t i = 0; i + 1 < n; i++)
        c[s[i] << 8 | s[i + 1]]++;
    int best = 0;
    for (int k = 1; k < 65536; k++)
        best = c[k] > c[best] ? k : best;
    *count = c[best];
    return best;
}

/* Replaces a b by v in s[0, *n), left to right without overlap. */
static void replace(uint8_t *s, size_t *n, merge m)
{
    size_t j = 0;
    for (size_t i = 0; i < *n; i++) {
        if (i + 1 < *n && s[i] == m.a && s[i + 1] == m.b)
            s[j++] = m.v, i++;
        else
            s[j++] = s[i];
    }
    *n = j;
}

/* s[0, n) expanded through the merges, into out (malloc'd), length *len. */
static uint8_t *expand(const uint8_t *s, size_t n, const merge *m, int nm, size_t cap,
                       size_t *len)
{
    uint8_t *a = malloc(cap), *b = malloc(cap);
    if (!a || !b) {
        free(a), free(b);
        return NULL;
    }
    memcpy(a, s, n);
    for (int k = nm - 1; k >= 0; k--) {
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
            if (j + 1 + (a[i] == m[k].v) > cap) { /* longer than the input */
                free(a), free(b);
                return NULL;
            }
            if (a[i] == m[k].v)
                b[j++] = m[k].a, b[j++] = m[k].b;
            else
                b[j++] = a[i];
        }
        uint8_t *t = a;
        a = b, b = t, n = j;
    }
    free(b);
    *len = n;
    return a;
}

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
    uint8_t *src, *s;
    size_t n, *counts = malloc(65536 * sizeof *counts);
    if (argc < 3 || !counts || bench_read_file(argv[1], &src, &n) || !(s = malloc(n))) {
        fprintf(stderr, "usage: bench_pairs IN OUT [min=64] (IN readable, not empty)\n");
        return 2;
    }
    const size_t min = (size_t)bench_opt(argc, argv, "min", 64);
    int used[256] = {0}, nused = 0;
    for (size_t i = 0; i < n; i++)
        used[src[i]] = 1;
    for (int v = 0; v < 256; v++)
        nused += used[v];
    memcpy(s, src, n);
    merge m[256];
    int nm = 0;
    size_t len = n, count;
    for (int v = 0; v < 256; v++) {
        if (used[v])
            continue;
        const int pair = top_pair(s, len, counts, &count);
        if (count < min)
            break;
        m[nm] = (merge){(uint8_t)v, (uint8_t)(pair >> 8), (uint8_t)pair};
        replace(s, &len, m[nm++]);
    }
    uint8_t table[1 + 3 * 256];
    table[0] = (uint8_t)nm; /* nm < 256: at least one value is used */
    for (int k = 0; k < nm; k++)
        memcpy(table + 1 + 3 * k, (uint8_t[3]){m[k].v, m[k].a, m[k].b}, 3);
    size_t back_len;
    uint8_t *back = expand(s, len, m, nm, n, &back_len);
    char tpath[4096];
    snprintf(tpath, sizeof tpath, "%s.table", argv[2]);
    if (!back || back_len != n || memcmp(back, src, n)) {
        fprintf(stderr, "bench_pairs: expanding the merged symbols does not restore %s\n",
                argv[1]);
        return 1;
    }
    if (write_file(argv[2], s, len) || write_file(tpath, table, 1 + 3 * (size_t)nm)) {
        fprintf(stderr, "bench_pairs: cannot write %s or %s\n", argv[2], tpath);
        return 1;
    }
    printf("%s: %zu bytes, %d values used, %d merges, %zu symbols (%.3f a byte), "
           "table %d bytes; expanding restores it\n",
           argv[1], n, nused, nm, len, (double)len / (double)n, 1 + 3 * nm);
    free(back), free(s), free(src), free(counts);
    return 0;
}
