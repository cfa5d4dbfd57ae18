/*
 * match.c: the data part in each data code (issue 16), on the model of an
 * existing neural file: the same rebuilt weights code the original (its
 * merged symbols where the file has them) in each code from M to N (0: the
 * transformer alone, 1: with the match model, 2 to 9: and the context
 * mixer, data code revisions 1 to 8; codec/segcode.h), and the sizes and
 * times are printed side by side.
 *
 * usage: bench_match FILE.nmdl ORIGINAL [threads=T] [segments=S] [from=M] [to=N]
 * (S: the segment count, by default the codec's for the size and code; a
 * decoder takes any S from the file; by default M 0, N NMDL_SC_MIX8, or
 * NMDL_SC_PURE beyond NMDL_MM_MAX_INPUT symbols). The model's symbol set
 * (data code 6 on) masks the transformer's output in every code, so the
 * codes before 6 are what they would write with that mask, and a file of
 * an older code has no set for the later ones.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/benchio.h"
#include "codec/bpe.h"
#include "codec/neural.h"
#include "codec/quant.h"
#include "codec/segcode.h"
#include "container/frame.h"
#include "model/progress.h"

/* Data code k's name. */
static const char *code_name(int k, char *buf, size_t cap)
{
    if (k == NMDL_SC_PURE)
        return "transformer alone";
    if (k == NMDL_SC_MATCH)
        return "with the match model";
    snprintf(buf, cap, "and mixer, revision %d", k - 1);
    return buf;
}

/* Codes the m symbols src in each code from..to and prints them. */
static int codes(const nmdl_qmodel *qm, const float *params, const uint8_t *src, size_t m,
                 int from, int to, int S0, int threads)
{
    size_t first = 0;
    for (int k = from; k <= to; k++) {
        const int S = S0 > 0 ? S0 : nmdl_neural_segments(m, k);
        uint8_t *data;
        size_t size;
        double pure, t0 = nmdl_prog_now();
        int rc = nmdl_neural_encode_data(&qm->cfg, params, src, m, S, k, threads, NULL, &data,
                                         &size, &pure);
        if (rc) {
            fprintf(stderr, "bench_match: coding in code %d failed (%d)\n", k, rc);
            return 1;
        }
        first = k == from ? size : first;
        char buf[40];
        printf("  %-24s %3d segments  data %9zu bytes  %.4f bits/symbol  %.4f of code %d"
               "  transformer alone ~%.0f  %6.1f s\n",
               code_name(k, buf, sizeof buf), S, size, 8.0 * (double)size / (double)m,
               (double)size / (double)first, from, pure, nmdl_prog_now() - t0);
        free(data);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_match FILE.nmdl ORIGINAL [threads=T] [segments=S] "
                        "[from=M] [to=N]\n");
        return 2;
    }
    uint8_t *file = NULL, *src = NULL, *sym = NULL;
    size_t flen, n, m;
    nmdl_frame f;
    nmdl_qmodel qm;
    if (bench_read_file(argv[1], &file, &flen) || bench_read_file(argv[2], &src, &n) ||
        nmdl_frame_parse(file, flen, &f, NULL) || f.original_len != n ||
        nmdl_q_decode(f.model, f.model_len, &qm)) {
        fprintf(stderr, "bench_match: %s is not a neural file of %s\n", argv[1], argv[2]);
        free(file), free(src);
        return 1;
    }
    m = n;
    if (qm.symbols && (sym = malloc(n))) /* the merged symbols the file codes */
        nmdl_bpe_apply(&qm.tokens, src, n, sym, &m);
    const int threads = (int)bench_opt(argc, argv, "threads", 2);
    const int from = (int)bench_opt(argc, argv, "from", 0);
    const int to = (int)bench_opt(argc, argv, "to", m > NMDL_MM_MAX_INPUT ? NMDL_SC_PURE
                                                                         : NMDL_SC_MIX8);
    float *params = malloc(qm.lay.n_params * sizeof(float));
    int rc = 1;
    if (!params || (qm.symbols && !sym))
        fprintf(stderr, "bench_match: out of memory\n");
    else if (qm.symbols && m != qm.symbols)
        fprintf(stderr, "bench_match: %zu symbols, the file says %zu\n", m, qm.symbols);
    else if (from < 0 || to > NMDL_SC_MIX8 || from > to)
        fprintf(stderr, "bench_match: from=%d to=%d: codes run from 0 to %d\n", from, to,
                NMDL_SC_MIX8);
    else
        rc = 0;
    if (rc)
        goto done;
    nmdl_q_dequantize(&qm, params);
    printf("%s: %zu bytes, %zu symbols, model part %zu bytes (code %d), %d threads\n", argv[2],
           n, m, f.model_len, qm.match, threads);
    rc = codes(&qm, params, sym ? sym : src, m, from, to,
               (int)bench_opt(argc, argv, "segments", 0), threads);
done:
    nmdl_q_free(&qm);
    free(params), free(file), free(src), free(sym);
    return rc;
}
