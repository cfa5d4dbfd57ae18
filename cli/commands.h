/*
 * commands.h: the subcommands of the nmdl command. Each returns the exit
 * status: 0 when every file succeeded, 1 otherwise.
 */
#ifndef NMDL_CLI_COMMANDS_H
#define NMDL_CLI_COMMANDS_H

#include "args.h"
#include "nmdl.h"

int cli_compress(const cli_opts *o);
int cli_decompress(const cli_opts *o);
int cli_info(const cli_opts *o);
int cli_train(const cli_opts *o);
int cli_eval(const cli_opts *o);
int cli_llc(const cli_opts *o);
int cli_compressibility(const cli_opts *o);
int cli_sweep(const cli_opts *o);
int cli_teacher(const cli_opts *o);
int cli_list(const cli_opts *o);

/* Prints "nmdl: <name>: <what>" on standard error. */
void cli_error(const char *name, const char *what);
/* The checkpoint at path, loaded; prints its own errors (-1). */
int cli_load_checkpoint(const char *path, nmdl_model **m);
/* m stored at path as a checkpoint (cli_write_file); prints its own
 * errors (-1). */
int cli_save_model(const char *path, const nmdl_model *m, int force);
/* Loads the checkpoint MODEL and reads CORPUS; prints its own errors and
 * leaves nothing to free on failure (-1). */
int cli_load_model(const char *model, const char *corpus, nmdl_model **m,
                   uint8_t **data, size_t *n);
/* 1 after printing "stdin is a console, aborting" when `in` is standard
 * input, a terminal, and not forced; 0 otherwise. */
int cli_stdin_console(const char *in, int force);
/* The frame at the start of src[0..n), n > 0 bytes being the rest of a file
 * of one or more frames: its length and info (validated). An nmdl_error. */
int cli_next_frame(const uint8_t *src, size_t n, nmdl_info *info, size_t *len);
/* "nmdl: NAME: problem (why)" for the file's k-th frame (from 0), which
 * starts at byte `at`; the frame is named from the second on, and why (the
 * decoder's detail, or "") is left out when empty. */
void cli_frame_error(const char *name, int k, size_t at, int rc, const char *why);
/* "64K" (2^16), "1M" (2^20), "2000000"; 0 when it does not parse. */
uint64_t cli_size(const char *s);
/* A --sizes list into sizes (at most CLI_MAX_SIZES, each distinct and at
 * most limit bytes, those of `of`, e.g. "corpus"), checked before any work;
 * prints its own errors, as "nmdl: cmd: ..." where the list is missing or
 * empty (-1). */
#define CLI_MAX_SIZES 64
int cli_sizes(const char *cmd, const char *list, size_t limit, const char *of,
              uint64_t *sizes, int *k);
/* Threads to use: -T, or one per online core when it is 0. */
int cli_threads(const cli_opts *o);
/* The compression options into the context; non-zero when one is
 * refused (printed). */
struct cli_bar;
int cli_configure(nmdl_cctx *c, const cli_opts *o, struct cli_bar *bar);
/* The learning-coefficient settings the options give. */
void cli_llc_settings(const cli_opts *o, nmdl_llc_settings *s);
/* " ± SE" for a λ̂ (%.3g), or "" where no error is known (one chain, or one
 * of each start): into buf (at least 32 bytes), which it returns. */
const char *cli_pm(double se, char *buf);

#endif /* NMDL_CLI_COMMANDS_H */
