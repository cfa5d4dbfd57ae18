/*
 * prequential.c: the prequential (online) code length of a prefix (Blier
 * and Ollivier, "The description length of deep learning models", 2018),
 * which `nmdl sweep --prequential` measures beside the two-part code.
 *
 * Blocks double from PREQ_FIRST bytes: data[0..PREQ_FIRST) is sent at 8
 * bits per byte; block [t, min(2t, n)) is coded by a float model trained
 * on data[0..t) as a compression of t bytes with the sweep's settings
 * trains it (its preset, its training plus fine-tuning steps, batch 16,
 * seed 1): the two-part code's training compute per byte, so the models of
 * all blocks of n cost about one compression's training of n (reported as
 * preq_train_share). The model of block t is kept as
 * DIR/prequential-T-S.ckpt (S its steps), which larger sizes and a resumed
 * sweep load instead of training again. The figure is the float models'
 * ideal code length, a measurement: no file of it is written, because
 * training is not bit-exact across machines and thread counts.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "prequential.h"

#define PREQ_FIRST 4096 /* bytes of the first block, sent as they are */

/* The model that codes the block starting at t: loaded from its
 * checkpoint in dir, or trained (and stored). *m stays NULL where no model
 * is planned at t bytes (the block is then sent at 8 bits per byte). The
 * planned training work of the model (work units) into *work. 0, or -1
 * after printing the problem. */
static int block_model(nmdl_cctx *c, int threads, const uint8_t *data, size_t t,
                       const char *dir, nmdl_model **m, double *work)
{
    nmdl_estimate e;
    int rc = nmdl_cctx_estimate(c, data, t, 0, &e);
    *m = NULL;
    *work = e.phase_work[NMDL_PHASE_TRAIN] + e.phase_work[NMDL_PHASE_TUNE];
    if (rc || !e.neural) {
        if (rc)
            cli_error("sweep", nmdl_strerror(rc));
        return rc ? -1 : 0;
    }
    long steps = e.train_steps + e.tune_steps;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/prequential-%zu-%ld.ckpt", dir, t, steps);
    if (!stat(path, &st)) {
        nmdl_model_config cfg = {0};
        if (cli_load_checkpoint(path, m))
            return -1;
        nmdl_model_get_config(*m, &cfg);
        if (!memcmp(&cfg, &e.model, sizeof cfg))
            return 0;
        nmdl_model_free(*m); /* another shape: trained again and replaced */
        *m = NULL;
    }
    nmdl_train_params tp;
    nmdl_train_report tr;
    nmdl_train_params_default(&tp); /* batch 16 and seed 1, as the codec's */
    tp.steps = steps;
    tp.threads = threads;
    fprintf(stderr, "sweep: prequential: training on %zu bytes (%ld steps)\n", t, steps);
    if ((rc = nmdl_model_create(&e.model, 1, m)) ||
        (rc = nmdl_model_train(*m, data, t, &tp, &tr))) {
        cli_error("sweep", nmdl_strerror(rc));
        nmdl_model_free(*m);
        *m = NULL;
        return -1;
    }
    return cli_save_model(path, *m, 1);
}

int cli_prequential(nmdl_cctx *c, int threads, const uint8_t *data, size_t n,
                    const char *dir, double *bytes, double *train_share)
{
    nmdl_estimate whole;
    double bits = 8.0 * (double)(n < PREQ_FIRST ? n : PREQ_FIRST), work = 0, w;
    int rc = nmdl_cctx_estimate(c, data, n, 0, &whole);
    if (rc) {
        cli_error("sweep", nmdl_strerror(rc));
        return -1;
    }
    for (size_t t = PREQ_FIRST; t < n; t *= 2) {
        size_t end = n - t > t ? 2 * t : n;
        nmdl_model *m;
        double b = 8.0 * (double)(end - t);
        if (block_model(c, threads, data, t, dir, &m, &w))
            return -1;
        rc = m ? nmdl_model_code_length(m, data, end, t, threads, &b) : 0;
        nmdl_model_free(m);
        if (rc) {
            cli_error("sweep", nmdl_strerror(rc));
            return -1;
        }
        bits += b, work += w;
    }
    double two_part = whole.phase_work[NMDL_PHASE_TRAIN] + whole.phase_work[NMDL_PHASE_TUNE];
    *bytes = bits / 8.0;
    *train_share = two_part > 0 ? work / two_part : NAN;
    return 0;
}
