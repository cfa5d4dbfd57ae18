/*
 * match.c: the data part with and without the match model (issue 16), on
 * the model of an existing neural file: the same rebuilt weights code the
 * original in each mode (the transformer alone, with the match model, and
 * the context mixer, and both in revision 2), and the sizes and times are
 * printed side by side.
 *
 * usage: bench_match FILE.nmdl ORIGINAL [threads=T] [segments=S] [from=M]
 * (S: the segment count, by default the codec's for the size; a decoder
 * takes any S from the file; M: the first mode, 0 to 4).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/benchio.h"
#include "codec/neural.h"
#include "codec/quant.h"
#include "codec/segcode.h"
#include "container/frame.h"
#include "model/progress.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_match FILE.nmdl ORIGINAL [threads=T] [segments=S] [from=M]\n");
        return 2;
    }
    uint8_t *file, *src;
    size_t flen, n;
    nmdl_frame f;
    nmdl_qmodel qm;
    if (bench_read_file(argv[1], &file, &flen) || bench_read_file(argv[2], &src, &n) ||
        nmdl_frame_parse(file, flen, &f, NULL) || f.original_len != n ||
        nmdl_q_decode(f.model, f.model_len, &qm)) {
        fprintf(stderr, "bench_match: %s is not a neural file of %s\n", argv[1], argv[2]);
        return 1;
    }
    const int threads = (int)bench_opt(argc, argv, "threads", 2);
    float *params = malloc(qm.lay.n_params * sizeof(float));
    nmdl_q_dequantize(&qm, params);
    const int S = (int)bench_opt(argc, argv, "segments", nmdl_neural_segments(n, NMDL_SC_MIX3));
    printf("%s: %zu bytes, model part %zu bytes, %d segments, %d threads\n", argv[2], n,
           f.model_len, S, threads);
    static const char *name[5] = {"transformer alone", "with the match model",
                                  "and context mixing", "both, revision 2", "both, revision 3"};
    size_t size[5] = {0, 0, 0, 0, 0};
    double pure[5];
    for (int match = (int)bench_opt(argc, argv, "from", 0); match <= NMDL_SC_MIX3; match++) {
        uint8_t *data;
        double t0 = nmdl_prog_now();
        int rc = nmdl_neural_encode_data(&qm.cfg, params, src, n, S, match, threads, NULL,
                                         &data, &size[match], &pure[match]);
        if (rc) {
            fprintf(stderr, "bench_match: coding failed (%d)\n", rc);
            return 1;
        }
        printf("  %-22s data %9zu bytes  %.4f bits/byte  %6.1f s\n",
               name[match], size[match],
               8.0 * (double)size[match] / (double)n, nmdl_prog_now() - t0);
        free(data);
    }
    if (size[0])
        printf("  ratios %.4f (match / alone), %.4f (mixing / alone); the transformer alone "
               "estimated from the ideal code length: %.0f bytes (pure run), %.0f (match "
               "run)\n", (double)size[1] / (double)size[0], (double)size[2] / (double)size[0],
               pure[0], pure[1]);
    if (size[1])
        printf("  mixing / match %.4f\n", (double)size[2] / (double)size[1]);
    if (size[2])
        printf("  revision 2 / 1 %.4f\n", (double)size[3] / (double)size[2]);
    if (size[3])
        printf("  revision 3 / 2 %.4f\n", (double)size[4] / (double)size[3]);
    nmdl_q_free(&qm);
    free(params), free(file), free(src);
    return 0;
}
