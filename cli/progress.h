/*
 * progress.h: the progress bar of the slow steps (training, fine-tuning),
 * drawn in place on standard error when it is a terminal; with -v and no
 * terminal, one line per tenth of each phase instead.
 */
#ifndef NMDL_CLI_PROGRESS_H
#define NMDL_CLI_PROGRESS_H

#include "nmdl.h"

typedef struct cli_bar {
    int tty, verbose; /* draw in place; print lines */
    long next_line;   /* step of the next line */
} cli_bar;

/* Sets up b for the verbosity; returns the callback to install, or NULL
 * when nothing is to be shown. */
nmdl_progress_fn cli_bar_init(cli_bar *b, int verbosity);

#endif /* NMDL_CLI_PROGRESS_H */
