/*
 * fileio.h: whole-file input and crash-safe output for the nmdl command.
 *
 * A new output file is written where nobody sees it and appears under its
 * name only when complete: an unnamed temporary file in the output's folder
 * (O_TMPFILE), linked to the name at the end, which the system removes
 * however the process dies (SIGKILL and power loss included); where the
 * system has none, a hidden temporary file with a short name in the same
 * folder, renamed at the end and removed on SIGINT, SIGTERM and SIGHUP.
 * Without force an existing file is never replaced, atomically (link or
 * renameat2's RENAME_NOREPLACE; on a file system with neither, refused).
 * Special files (character devices such as /dev/null, FIFOs, sockets) are
 * written in place and never replaced, without force.
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

/* An output being written. */
typedef enum cli_out_kind {
    CLI_OUT_STDOUT,   /* standard output */
    CLI_OUT_IN_PLACE, /* an existing special file, written into */
    CLI_OUT_NEW       /* a new file, published by cli_out_close */
} cli_out_kind;

typedef struct cli_out {
    cli_out_kind kind;
    int fd;
    int force;        /* may replace an existing file, write a block device */
    int named;        /* CLI_OUT_NEW: the temporary file has a name */
    const char *path; /* the output's name (not copied); NULL: stdout */
} cli_out;

/* Whether path is a special file that an output is written into, in
 * place: a character or block device, a FIFO, a socket. */
int cli_out_in_place(const char *path);

/* 0 when path may become an output: it does not exist, or is a special
 * file written in place (a block device only with force), or force is
 * given; EEXIST or EISDIR otherwise. The check before any work is done;
 * cli_out_close checks again, atomically. */
int cli_out_check(const char *path, int force);

/* Opens the output path (NULL: standard output); force lets it replace an
 * existing file and write into a block device. 0 or an errno value. */
int cli_out_open(cli_out *w, const char *path, int force);

/* Writes n bytes. 0 or an errno value. */
int cli_out_write(cli_out *w, const void *data, size_t n);

/* Finishes w. A new file gets the permissions and times of `like` (NULL:
 * the umask's permissions) and then its name; without force an existing
 * file is never replaced (EEXIST). With `durable`, the file and then its
 * folder's entry reach the disk before this returns (so that an input may
 * be removed). On an error the new file is gone, as after cli_out_abort.
 * Returns 0 or an errno value (see cli_out_strerror). */
int cli_out_close(cli_out *w, const struct stat *like, int durable);

/* Gives up w: a new file disappears; what went to standard output or a
 * special file stays written. */
void cli_out_abort(cli_out *w);

/* strerror for what the functions here return, in words for the
 * refusals: EEXIST ("already exists; use -f to overwrite") and ENOTSUP
 * from cli_out_close (no safe way to create the file here). */
const char *cli_out_strerror(int err);

/* Writes path as a new file in one go: open, write, close as above. */
int cli_write_file(const char *path, const void *data, size_t n,
                   const struct stat *like, int force, int durable);

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

/* Removes a half-written named temporary file when SIGINT, SIGTERM or
 * SIGHUP arrives, then dies of the same signal. */
void cli_install_signal_cleanup(void);

#endif /* NMDL_CLI_FILEIO_H */
