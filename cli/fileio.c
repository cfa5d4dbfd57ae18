/*
 * fileio.c: see fileio.h.
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The one temporary file that may exist, for the signal handler. This is the
 * command's state, not the library's; the handler may only touch
 * async-signal-safe things, hence a fixed buffer and a sig_atomic_t. */
static char tmp_path[PATH_MAX + 16];
static volatile sig_atomic_t tmp_active;

int cli_read_all(const char *path, uint8_t **data, size_t *len)
{
    int is_stdin = !strcmp(path, "-");
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY);
    if (fd < 0)
        return errno;
    struct stat st;
    memset(&st, 0, sizeof st);
    int err = 0;
    if (fstat(fd, &st) < 0) {
        err = errno;
    } else if (S_ISDIR(st.st_mode)) {
        err = EISDIR;
    }
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536, n = 0;
    uint8_t *buf = err ? NULL : malloc(cap);
    if (!err && !buf)
        err = ENOMEM;
    while (!err) {
        if (n == cap) {
            uint8_t *p = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!p) {
                err = ENOMEM;
                break;
            }
            buf = p;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            err = errno;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    if (!is_stdin)
        close(fd);
    if (err) {
        free(buf);
        return err;
    }
    *data = buf;
    *len = n;
    return 0;
}

int cli_write_all(int fd, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int cli_write_stdout(const void *data, size_t n)
{
    return cli_write_all(STDOUT_FILENO, data, n);
}

/* Permissions and times of the output: those of `like`, or the umask's. */
static int copy_metadata(int fd, const struct stat *like)
{
    if (!like) {
        mode_t mask = umask(0);
        umask(mask);
        return fchmod(fd, 0666 & ~mask) < 0 ? errno : 0;
    }
    struct timespec times[2] = {like->st_atim, like->st_mtim};
    if (fchmod(fd, like->st_mode & 0777) < 0 || futimens(fd, times) < 0)
        return errno;
    return 0;
}

/* Moves the finished temporary file to path. Without force, link() refuses
 * atomically to replace an existing file; file systems without hard links
 * fall back to a check and a rename. */
static int publish(const char *path, int force)
{
    if (force)
        return rename(tmp_path, path) < 0 ? errno : 0;
    if (link(tmp_path, path) == 0)
        return unlink(tmp_path) < 0 ? errno : 0;
    if (errno == EEXIST)
        return EEXIST;
    if (access(path, F_OK) == 0)
        return EEXIST;
    return rename(tmp_path, path) < 0 ? errno : 0;
}

typedef struct buffer {
    const void *data;
    size_t n;
} buffer;

static int write_buffer(void *user, int fd)
{
    const buffer *b = user;
    return cli_write_all(fd, b->data, b->n);
}

int cli_write_file(const char *path, const void *data, size_t n,
                   const struct stat *like, int force, int durable)
{
    buffer b = {data, n};
    return cli_write_file_from(path, write_buffer, &b, like, force, durable);
}

int cli_write_file_from(const char *path, int (*produce)(void *user, int fd),
                        void *user, const struct stat *like, int force,
                        int durable)
{
    if (strlen(path) > PATH_MAX)
        return ENAMETOOLONG;
    snprintf(tmp_path, sizeof tmp_path, "%s.XXXXXX", path);
    tmp_active = 1;
    int fd = mkstemp(tmp_path);
    if (fd < 0) {
        tmp_active = 0;
        return errno;
    }
    int err = produce(user, fd);
    if (!err)
        err = copy_metadata(fd, like);
    if (!err && durable && fsync(fd) < 0)
        err = errno;
    if (close(fd) < 0 && !err)
        err = errno;
    if (!err)
        err = publish(path, force);
    if (err)
        unlink(tmp_path);
    tmp_active = 0;
    return err;
}

static void on_signal(int sig)
{
    if (tmp_active)
        unlink(tmp_path);
    raise(sig); /* the handler was reset to the default: die of it */
}

void cli_install_signal_cleanup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int cli_doc_open(cli_doc *d)
{
    d->buf = NULL;
    d->len = 0;
    d->f = open_memstream(&d->buf, &d->len);
    return d->f ? 0 : errno;
}

int cli_doc_save(cli_doc *d, const char *path, int force)
{
    int err = ferror(d->f) ? EIO : 0;
    if (fclose(d->f) && !err)
        err = ENOMEM;
    if (!err)
        err = cli_write_file(path, d->buf, d->len, NULL, force, 0);
    free(d->buf);
    d->buf = NULL;
    return err;
}
