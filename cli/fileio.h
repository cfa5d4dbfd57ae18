/*
 * fileio.h: whole-file input and crash-safe output for the nmdl command.
 *
 * Outputs are written to a temporary file beside their final name and
 * renamed into place only when complete; an interrupted or failed run leaves
 * neither a partial output nor the temporary file behind.
 */
#ifndef NMDL_CLI_FILEIO_H
#define NMDL_CLI_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

/* Reads all of path ("-" is standard input) into a malloc'd buffer.
 * Returns 0 or an errno value (EISDIR for a directory). */
int cli_read_all(const char *path, uint8_t **data, size_t *len);

/* Writes n bytes to fd, through interruptions. 0 or an errno value. */
int cli_write_all(int fd, const void *data, size_t n);

/* Writes n bytes to standard output and flushes. 0 or an errno value. */
int cli_write_stdout(const void *data, size_t n);

/* Writes path atomically. `like` (may be NULL) gives the permissions and
 * times to copy; without `force` an existing path is never replaced
 * (EEXIST); with `durable` the data reaches the disk before the rename.
 * Returns 0 or an errno value. */
int cli_write_file(const char *path, const void *data, size_t n,
                   const struct stat *like, int force, int durable);
/* The same with the data written by produce(user, fd) to the temporary
 * file as it is made, so that it need not be in memory; a non-zero return
 * of produce abandons the file and is returned as it is. */
int cli_write_file_from(const char *path, int (*produce)(void *user, int fd),
                        void *user, const struct stat *like, int force,
                        int durable);

/* A document written with stdio into memory, then stored at once:
 * cli_doc_open, fprintf to d.f, cli_doc_save. 0 or an errno value; save
 * frees the buffer whatever happens. */
typedef struct cli_doc {
    FILE *f;
    char *buf;
    size_t len;
} cli_doc;
int cli_doc_open(cli_doc *d);
int cli_doc_save(cli_doc *d, const char *path, int force);

/* Removes a half-written temporary file when SIGINT, SIGTERM or SIGHUP
 * arrives, then dies of the same signal. */
void cli_install_signal_cleanup(void);

#endif /* NMDL_CLI_FILEIO_H */
