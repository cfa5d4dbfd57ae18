/*
 * prequential.h: the prequential code length of a prefix (cli/prequential.c),
 * measured by `nmdl sweep --prequential`.
 */
#ifndef NMDL_CLI_PREQUENTIAL_H
#define NMDL_CLI_PREQUENTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "nmdl.h"

/* The prequential code length of data[0..n) in bytes (*bytes, the float
 * models' ideal) and its models' planned training work as a fraction of
 * the two-part code's training and fine-tuning at n (*train_share), with
 * the compression settings of c; the block models are kept in dir. 0, or
 * -1 after printing the problem. */
int cli_prequential(nmdl_cctx *c, int threads, const uint8_t *data, size_t n,
                    const char *dir, double *bytes, double *train_share);

#endif /* NMDL_CLI_PREQUENTIAL_H */
