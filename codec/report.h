/*
 * report.h: what a frame records about itself. The encoder's report in
 * the header (docs/FORMAT.md, "Report"): version 6, budget mode, effort,
 * weight method, then binary32 LE: budget bits, llc, llc_se, nbeta, llc
 * step, MALA, epsilon, b*, float loss (bits/byte), the LLC's cooling
 * steps, and the rest of its settings and health: gamma, chains, burn-in
 * and draws per chain, healthy (1 or 0), the chains' start (0 cold, 1
 * mixed). Versions 1 to 5 (still read) stop earlier: 5 before the start,
 * 4 after the cooling, 3 before it, and 1 and 2 have only the
 * mode and the effort before the values: a version-v report (v <= 3) has
 * v + 1 bytes before its nine values. Written here; read back, with the parts'
 * headers, by nmdl_info_read and nmdl_info_tensors (nmdl.h).
 */
#ifndef NMDL_REPORT_H
#define NMDL_REPORT_H

#include <stdint.h>

#include "budget.h"

#define NMDL_REPORT_VERSION 6
#define NMDL_REPORT_HEAD 4   /* version, mode, effort, weight method */
#define NMDL_REPORT_FIELDS 16
#define NMDL_REPORT_COOL 9   /* the cooling's place among the values */
#define NMDL_REPORT_BYTES (NMDL_REPORT_HEAD + 4 * NMDL_REPORT_FIELDS)

/* The report of a compression: its budget, effort (1..9) and weight
 * method (nmdl_weights). */
void nmdl_report_encode(const nmdl_budget_report *b, int effort, int weights,
                        uint8_t out[NMDL_REPORT_BYTES]);

#endif /* NMDL_REPORT_H */
