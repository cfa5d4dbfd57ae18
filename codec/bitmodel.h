/*
 * bitmodel.h: adaptive binary models on the range coder, and signed
 * integers coded through them. Used for the model part (quantized weight
 * levels), where it lets a weight cost well under one bit when most levels
 * are zero.
 *
 * A model holds P(bit = 0) in 16 bits and moves 1/32 of the way towards
 * each bit it codes; it never reaches 0 or 2^16, so no bit costs more
 * than 16 bits and the likely bit costs at least 0.0007 bits. Integer
 * arithmetic only: encoder and decoder agree everywhere.
 *
 * Integers: a zero flag; then a sign; then |v| - 1 in unary over up to
 * NMDL_BM_UNARY adaptive bits, and past that an Elias-gamma code of the
 * rest with adaptive bits for its length and plain bits for its value.
 */
#ifndef NMDL_BITMODEL_H
#define NMDL_BITMODEL_H

#include <stdint.h>

#include "rc.h"

#define NMDL_BM_BITS 16  /* probability precision */
#define NMDL_BM_UNARY 14 /* magnitudes coded in unary before the escape */
#define NMDL_BM_MAX_INT ((1 << 30) - 1) /* largest |v| */

typedef struct nmdl_bm {
    uint16_t p0; /* P(bit = 0) * 2^16 */
} nmdl_bm;

typedef struct nmdl_bm_int { /* the models of one integer context */
    nmdl_bm zero[2];          /* is it 0? given: was the previous one 0 */
    nmdl_bm sign;
    nmdl_bm unary[NMDL_BM_UNARY];
    nmdl_bm gamma[32];        /* length of the escape's gamma code */
} nmdl_bm_int;

void nmdl_bm_init(nmdl_bm *m);
void nmdl_bm_int_init(nmdl_bm_int *m);

void nmdl_bm_encode(nmdl_rc_enc *e, nmdl_bm *m, int bit);
int nmdl_bm_decode(nmdl_rc_dec *d, nmdl_bm *m, int *bit);

/* v in [-NMDL_BM_MAX_INT, NMDL_BM_MAX_INT]; prev_zero selects the zero
 * flag's model (pass 0 when there is no previous value). */
void nmdl_bm_put_int(nmdl_rc_enc *e, nmdl_bm_int *m, int prev_zero, int32_t v);
int nmdl_bm_get_int(nmdl_rc_dec *d, nmdl_bm_int *m, int prev_zero, int32_t *v);
/* What nmdl_bm_put_int would spend on v, in bits (ideal code length under
 * the models), updating the models as it would; for reports. */
double nmdl_bm_int_cost(nmdl_bm_int *m, int prev_zero, int32_t v);

#endif /* NMDL_BITMODEL_H */
