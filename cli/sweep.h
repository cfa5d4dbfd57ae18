/*
 * sweep.h: the records of `nmdl sweep` (cli/sweep.c): one per size of the
 * prefix, stored as DIR/size-N.json while the sweep runs, read back when it
 * resumes, and gathered into results.json, results.csv and the plots.
 */
#ifndef NMDL_CLI_SWEEP_H
#define NMDL_CLI_SWEEP_H

#include <stdio.h>

#include "json.h"

/* One size's record (docs/JSON.md, command "sweep"); NaN where not
 * measured or not applicable. */
typedef struct sweep_row {
    double input_bytes;                       /* bytes of the prefix */
    double effort;                            /* of the neural method */
    double file_bytes, header_bytes, model_bytes, data_bytes,
        checksum_bytes;                       /* nmdl's file and its parts */
    double neural_bytes, neural_model_bytes,
        neural_data_bytes;                    /* the neural attempt */
    double neural_pure_data_bytes;            /* its data part under the
                                                 transformer alone */
    double n_params, llc, llc_se;             /* λ̂ dimensionless */
    double llc_cool_steps;                    /* > 0: λ̂ of a cooled copy */
    double nbeta, llc_step, gamma, mala;      /* the estimate's settings */
    double chains, burnin, draws;             /* and steps per chain */
    double llc_start;                         /* NMDL_LLC_START_*: where the
                                                 chains started */
    double llc_healthy;                       /* 1: it passed the health
                                                 checks, 0: not */
    double epsilon;                           /* nats per byte */
    double b_star_bpw, budget_bpw;            /* bits per weight */
    double loss_float_bpb;                    /* bits per byte, float weights */
    double compress_s, decompress_s;          /* seconds */
    double zstd_bytes, xz_bytes;              /* the baselines */
    double preq_bytes;                        /* --prequential: the online
                                                 code length (float models) */
    double preq_train_share;                  /* its models' training work
                                                 ÷ the two-part code's */
    double preq_s;                            /* seconds it took here */
    int ok;
    char method[16];                          /* of the file written */
    char weights[16];                         /* the neural attempt's weight
                                                 code ("" when none) */
    char error[160], commit[64], date[32];
    char *corpus;                             /* the corpus as named, malloc'd */
} sweep_row;

/* The numeric members, each with its key (the member's name), the key
 * records of schema 0 (before docs/JSON.md) gave it (those had no effort,
 * commit or date; they are read where filled in by hand), and whether it is
 * a count (printed as an integer). */
#define FIELDS(X)                                                              \
    X(input_bytes, "n", 1) X(effort, "effort", 1) X(file_bytes, "file", 1)     \
    X(header_bytes, "header", 1) X(model_bytes, "model", 1)                    \
    X(data_bytes, "data", 1) X(checksum_bytes, "checksum", 1)                  \
    X(neural_bytes, "neural", 1) X(neural_model_bytes, "n_model", 1)           \
    X(neural_data_bytes, "n_data", 1)                                          \
    X(neural_pure_data_bytes, "n_pure_data", 1) X(n_params, "n_params", 1)     \
    X(llc, "llc", 0) X(llc_se, "llc_se", 0)                                    \
    X(llc_cool_steps, "llc_cool_steps", 1) X(nbeta, "nbeta", 0)                \
    X(llc_step, "llc_step", 0) X(gamma, "gamma", 0) X(chains, "chains", 1)     \
    X(burnin, "burnin", 1) X(draws, "draws", 1) X(llc_start, "llc_start", 1)   \
    X(mala, "mala", 0)                                                         \
    X(llc_healthy, "llc_healthy", 1) X(epsilon, "epsilon", 0)                  \
    X(b_star_bpw, "b_star", 0) X(budget_bpw, "budget_bits", 0)                 \
    X(loss_float_bpb, "loss_float", 0) X(compress_s, "compress_s", 0)          \
    X(decompress_s, "decompress_s", 0) X(zstd_bytes, "zstd", 1)                \
    X(xz_bytes, "xz", 1) X(preq_bytes, "preq_bytes", 1)                       \
    X(preq_train_share, "preq_train_share", 0) X(preq_s, "preq_s", 0)

/* A record with nothing measured: every number NaN, no strings. */
void sweep_row_init(sweep_row *r);
void sweep_row_free(sweep_row *r);

/* The record as one JSON object (its keys in docs/JSON.md). */
void sweep_row_json(cli_jw *w, const sweep_row *r);
/* The CSV header line and one line per record: the record's keys as
 * columns, in the same order; empty cells for null. */
void sweep_csv_header(FILE *f);
void sweep_csv_row(FILE *f, const sweep_row *r);

/* Reads the record at path: 0; 1 when there is none (no file, or not
 * JSON: it is measured again); -1 when it cannot be used and must not be
 * overwritten (a newer schema), with the message printed. Records of
 * schema 0 (before docs/JSON.md) are read by their old keys; *old is set
 * for them so that the caller can store them again in the new form. */
int sweep_row_read(const char *path, sweep_row *r, int *old);

/* The plots, from the k records. */
void sweep_plot_dl(FILE *f, const sweep_row *rows, int k);
void sweep_plot_model(FILE *f, const sweep_row *rows, int k);

#endif /* NMDL_CLI_SWEEP_H */
