/*
 * progress.h: what the command says about time. Before a neural
 * compression, a one-line estimate of the whole run (and, with --minutes,
 * the effort that fits); during any long call, one bar with the overall
 * fraction and ETA across phases, drawn in place on standard error when it
 * is a terminal and fitted to its width; with -vv and no terminal, a line
 * at each phase and each tenth of the run instead.
 */
#ifndef NMDL_CLI_PROGRESS_H
#define NMDL_CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "nmdl.h"

typedef struct cli_bar {
    int tty, verbose; /* draw in place; print lines */
    int phase;        /* phase of the last line printed (lines only) */
    double next_line; /* fraction of the next line (lines only) */
} cli_bar;

/* Sets up b for the verbosity; returns the callback to install, or NULL
 * when nothing is to be shown. */
nmdl_progress_fn cli_bar_init(cli_bar *b, int verbosity);
/* Removes a bar from the terminal before other output (cli_error does). */
void cli_bar_clear(void);

/* Before compressing src[0..n) (the file `name`) with c: with --minutes,
 * sets the largest effort predicted to fit and says which; at verbosity
 * >= 1, prints the estimate of a neural run, from a short probe of the
 * training speed. Non-zero on an error (printed). */
int cli_estimate(nmdl_cctx *c, const cli_opts *o, const char *name,
                 const uint8_t *src, size_t n);
/* The seconds the last estimate predicted; 0 when there was none. */
double cli_estimated_seconds(void);
/* The effort the last estimate chose for --minutes; 0 when it chose none. */
int cli_estimated_effort(void);

/* n with thousands separators ("319,171") into buf (at least 32 bytes). */
const char *cli_thousands(char *buf, unsigned long long n);
/* A duration in words: "45 s", "2 min 10 s", "1 h 5 min". */
const char *cli_duration(char *buf, size_t size, double s);

#endif /* NMDL_CLI_PROGRESS_H */
