/*
 * levels.h: revision 6's code of the model part's levels (docs/FORMAT.md,
 * "Levels, revision 6"). A level is cut into the decisions of bitmodel.h's
 * integers: a zero flag, a sign, |v| - 1 in unary over NMDL_BM_UNARY bits,
 * and past them an escape coded as bitmodel.h codes an integer. Each of the
 * 2 + NMDL_BM_UNARY decisions gets P(1) from a logistic mix of five
 * adaptive counters, chosen by the level's neighbourhood in its tensor:
 *
 *   L   |the level to the left| (0..3; 4 at a row's start),
 *   L2  |the one before it| (0..2; 3 where there is none),
 *   U   |the level above|, in the tensor's previous coded row (0..2; 3 in
 *       its first),
 *   C   the column's running mean |level| (6 classes; 0 in the tensor's
 *       first coded row),
 *   R   the row's mean |level| so far (5 classes; 0 in its first 4 columns),
 *
 * the counters' contexts being L x C, L x R, L x L2 x U, C x R and the
 * column itself (up to NMDL_LV_COLUMNS), each per kind of tensor
 * (codec/quant.c) and decision. Two sets of mixer weights, chosen by the
 * kind, the decision and L x C or U x R, follow the gradient of the code
 * length; their log-odds are averaged. Integer arithmetic only: encoder
 * and decoder agree on every machine. Nothing is stored beyond the coded
 * decisions.
 */
#ifndef NMDL_LEVELS_H
#define NMDL_LEVELS_H

#include <stddef.h>
#include <stdint.h>

#include "bitmodel.h"
#include "imath.h"
#include "rc.h"

#define NMDL_LV_KINDS 7 /* kinds of tensor (nmdl_q_kind) */
#define NMDL_LV_DECISIONS (2 + NMDL_BM_UNARY) /* zero flag, sign, unary */
#define NMDL_LV_COLUMNS 1024 /* columns told apart (the rest share the last) */
#define NMDL_LV_COUNTERS (187 + NMDL_LV_COLUMNS) /* contexts of the five
                                counters, per kind and decision: 35 + 30 +
                                80 + 42 + the columns */
#define NMDL_LV_SETS 35      /* weight sets per kind and decision: L x C */
#define NMDL_LV_SETS2 24     /* and the second sets: U x R */
#define NMDL_LV_INPUTS 6     /* five counters and a bias */

typedef struct nmdl_lv {
    int32_t *ctr;  /* (KINDS, COUNTERS, DECISIONS) P(1) * 2^22 */
    uint8_t *seen; /* the same: updates so far, up to the rate's limit */
    int32_t *w;    /* (KINDS, DECISIONS, SETS, INPUTS) weights, 2^16 = 1 */
    int32_t *w2;   /* (KINDS, DECISIONS, SETS2, INPUTS) the second sets */
    int32_t *col;  /* (max_cols) the columns' running mean |level|, 1/256 */
    nmdl_bm_int esc[NMDL_LV_KINDS]; /* the escapes' integers */
    nmdl_im_logistic lt;  /* log-odds and back */
    int kind, cols;       /* the tensor being coded (cols <= max_cols) */
    const int32_t *above; /* its previous coded row, or NULL */
} nmdl_lv;

/* A coder for tensors of up to max_cols columns (>= 1). */
int nmdl_lv_init(nmdl_lv *s, int max_cols);
void nmdl_lv_free(nmdl_lv *s);
/* Bytes a coder for tensors of up to max_cols columns allocates. */
size_t nmdl_lv_bytes(int max_cols);
/* Before the first row of a tensor of kind `kind` with `cols` columns
 * (at most init's max_cols). */
void nmdl_lv_tensor(nmdl_lv *s, int kind, int cols);
/* One row of levels q[0, cols), |q| <= NMDL_BM_MAX_INT, into e, or (e
 * NULL) their cost in bits (ideal code length) added to *bits. q stays
 * where it is until the tensor's next row is coded (it is that row's
 * "above"). */
void nmdl_lv_put_row(nmdl_lv *s, nmdl_rc_enc *e, const int32_t *q, double *bits);
/* The row nmdl_lv_put_row wrote, into q[0, cols). */
int nmdl_lv_get_row(nmdl_lv *s, nmdl_rc_dec *d, int32_t *q);

#endif /* NMDL_LEVELS_H */
