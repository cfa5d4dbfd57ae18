/*
 * steps.c: a neural frame trained for a given number of steps, so that two
 * inputs of different lengths (the bytes and their merged symbols, issue
 * 16's token question) get equal training FLOPs: a step costs the same on
 * any input of a model (16 windows of its context).
 *
 * usage: bench_steps IN OUT PRESET TRAIN TUNE [threads=N]
 * (PRESET as nmdl --preset takes it; with the default weight code the
 * TUNE fine-tuning steps join the training run, as the effort's do).
 * Writes the neural frame (no fallback, no early stop) to OUT and prints
 * its parts.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/benchio.h"
#include "nmdl.h"

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_steps IN OUT PRESET TRAIN TUNE [threads=N]\n");
        return 2;
    }
    uint8_t *src;
    size_t n;
    nmdl_model_config cfg = {0};
    if (bench_read_file(argv[1], &src, &n) || nmdl_model_preset(argv[3], &cfg)) {
        fprintf(stderr, "bench_steps: cannot read %s or no preset %s\n", argv[1], argv[3]);
        return 1;
    }
    nmdl_cctx *c = nmdl_cctx_create();
    void *dst = NULL;
    size_t len = 0;
    int rc = !c || nmdl_cctx_set_model(c, &cfg) ||
             nmdl_cctx_set_steps(c, atol(argv[4]), atol(argv[5])) ||
             nmdl_cctx_set_threads(c, (int)bench_opt(argc, argv, "threads", 2)) ||
             nmdl_cctx_set_fallback(c, 0) || nmdl_cctx_set_early_stop(c, 0) ||
             nmdl_compress_alloc(c, src, n, &dst, &len);
    FILE *f = rc ? NULL : fopen(argv[2], "wb");
    if (!f || fwrite(dst, 1, len, f) != len || fclose(f)) {
        fprintf(stderr, "bench_steps: compressing %s into %s failed\n", argv[1], argv[2]);
        return 1;
    }
    nmdl_compress_report r;
    nmdl_cctx_report(c, &r);
    printf("%s: %zu symbols -> %zu bytes: model %zu + data %zu, %ld + %ld steps, "
           "training %.0f s, coding %.0f s\n", argv[1], n, len, (size_t)r.model_bytes,
           (size_t)r.data_bytes, r.train_steps, r.tune_steps, r.train_s, r.code_s);
    nmdl_free(dst);
    nmdl_cctx_free(c);
    free(src);
    return 0;
}
