/*
 * roundtrip.c: a program of someone else's, built against an installed nmdl
 * by tests/install_test.sh (pkg-config, shared and static; CMake's
 * find_package). It compresses 64 KiB of text with the zstd method, decodes
 * the frame and compares the bytes. Exit status 0 when they are equal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nmdl.h>

int main(void)
{
    enum { N = 64 * 1024 };
    static unsigned char src[N], out[N];
    for (size_t i = 0; i < N; i++) /* text that zstd shrinks */
        src[i] = (unsigned char)"the two-part code of a model and data\n"[i % 38];

    size_t cap = nmdl_compress_bound(N), len = 0, n = 0;
    unsigned char *frame = malloc(cap);
    nmdl_cctx *c = nmdl_cctx_create();
    nmdl_dctx *d = nmdl_dctx_create();
    nmdl_compress_report r;
    nmdl_info info;
    int rc = frame && c && d ? NMDL_OK : NMDL_ERR_NOMEM;
    if (rc == NMDL_OK)
        rc = nmdl_cctx_set_method(c, NMDL_METHOD_ZSTD);
    if (rc == NMDL_OK)
        rc = nmdl_compress(c, frame, cap, &len, src, N);
    if (rc == NMDL_OK)
        rc = nmdl_info_read(frame, len, &info);
    if (rc == NMDL_OK)
        rc = nmdl_decompress(d, out, sizeof out, &n, frame, len);
    if (rc == NMDL_OK)
        nmdl_cctx_report(c, &r);
    nmdl_cctx_free(c);
    nmdl_dctx_free(d);
    free(frame);
    if (rc != NMDL_OK) {
        fprintf(stderr, "roundtrip: %s\n", nmdl_strerror(rc));
        return 1;
    }
    if (strcmp(nmdl_version(), NMDL_VERSION_STRING) != 0 ||
        r.method != NMDL_METHOD_ZSTD || info.method != NMDL_METHOD_ZSTD ||
        info.original_bytes != N || n != N || memcmp(src, out, N) != 0) {
        fprintf(stderr, "roundtrip: the bytes or the frame differ\n");
        return 1;
    }
    printf("roundtrip: nmdl %s, %d bytes -> %zu (%s) -> %zu, equal\n",
           nmdl_version(), N, len, nmdl_method_name(info.method), n);
    return 0;
}
