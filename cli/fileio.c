/*
 * fileio.c: see fileio.h.
 */
#define _GNU_SOURCE /* O_TMPFILE, AT_EMPTY_PATH, renameat2 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The one named temporary file that may exist, for the signal handler.
 * This is the command's state, not the library's; the handler may only
 * touch async-signal-safe things, hence a fixed buffer and a sig_atomic_t.
 * tmp_active is 1 only while tmp_path names a file this process created:
 * the main thread, the only one that writes files, changes both with the
 * signals blocked (signals_hold), so the handler never sees a name half
 * made (NAME.XXXXXX before mkstemp filled it in, as it once could). A
 * signal that another thread takes in such a moment at worst leaves the
 * temporary file behind, or unlinks the random name just renamed away. */
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

static int write_all(int fd, const uint8_t *p, size_t n)
{
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

static void signals_hold(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

static void signals_release(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Special files are written in place: character and block devices, FIFOs
 * and sockets. */
static int in_place(mode_t m)
{
    return S_ISCHR(m) || S_ISBLK(m) || S_ISFIFO(m) || S_ISSOCK(m);
}

int cli_out_in_place(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && in_place(st.st_mode);
}

int cli_out_check(const char *path, int force)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return 0; /* absent; anything else, opening it will say */
    if (S_ISDIR(st.st_mode))
        return EISDIR;
    return force || (in_place(st.st_mode) && !S_ISBLK(st.st_mode)) ? 0 : EEXIST;
}

/* The folder of path into dir (PATH_MAX bytes): "." for a bare name. */
static int folder_of(const char *path, char *dir)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + (slash == path) : 0;
    if (n >= PATH_MAX)
        return ENAMETOOLONG;
    memcpy(dir, slash ? path : ".", slash ? n : 1);
    dir[slash ? n : 1] = 0;
    return 0;
}

/* tmp_path := path's folder, "/.nmdl" and six random letters: a short
 * name in the same folder, so that every output name that fits there
 * leaves room for it (NAME.XXXXXX did not, for names of 249-255 bytes). */
static int temp_name(const char *path)
{
    static const char letters[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static unsigned long long counter;
    char dir[PATH_MAX];
    int err = folder_of(path, dir);
    if (err)
        return err;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    unsigned long long x = (unsigned long long)t.tv_nsec ^
                           (unsigned long long)t.tv_sec << 30 ^
                           (unsigned long long)getpid() << 40 ^
                           ++counter * 0x9E3779B97F4A7C15ull;
    char r[7];
    for (int i = 0; i < 6; i++) {
        x ^= x >> 29, x *= 0xBF58476D1CE4E5B9ull, x ^= x >> 32;
        r[i] = letters[x % (sizeof letters - 1)];
    }
    r[6] = 0;
    snprintf(tmp_path, sizeof tmp_path, "%s/.nmdl%s", dir, r);
    return 0;
}

/* Links the open file fd, which has no name, to name. */
static int link_fd(int fd, const char *name)
{
    char proc[40];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0)
        return 0;
#ifdef AT_EMPTY_PATH
    if (errno == ENOENT && linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH) == 0)
        return 0; /* no /proc: this needs CAP_DAC_READ_SEARCH */
#endif
    return errno;
}

/* A named temporary file beside path: created and opened (fd < 0; the new
 * descriptor goes to *out) or the unnamed file fd linked to it. Sets
 * tmp_path and tmp_active. 0 or an errno value. */
static int named_temp(const char *path, int fd, int *out)
{
    for (int tries = 0; tries < 100; tries++) {
        int err = temp_name(path);
        if (err)
            return err;
        sigset_t old;
        signals_hold(&old);
        if (fd < 0) {
            *out = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            err = *out < 0 ? errno : 0;
        } else {
            err = link_fd(fd, tmp_path);
        }
        tmp_active = !err;
        signals_release(&old);
        if (err != EEXIST)
            return err;
    }
    return EEXIST;
}

/* Forgets the named temporary file, removing it first when it is still
 * there (it is not once renamed). */
static void temp_done(int remove)
{
    sigset_t old;
    signals_hold(&old);
    if (remove)
        unlink(tmp_path);
    tmp_active = 0;
    signals_release(&old);
}

/* Opens the socket path as a client of a listening stream socket. */
static int open_socket(const char *path, int *fd)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path)
        return ENAMETOOLONG;
    strcpy(a.sun_path, path);
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return errno;
    if (connect(*fd, (const struct sockaddr *)&a, sizeof a) == 0)
        return 0;
    int err = errno;
    close(*fd);
    return err;
}

/* The special file path, opened as it is: no O_CREAT, no O_TRUNC. A FIFO
 * waits for its reader; a block device needs force. ENOENT when path is not
 * (or no longer) special. */
static int open_in_place(cli_out *w, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || !in_place(st.st_mode))
        return ENOENT;
    if (S_ISBLK(st.st_mode) && !w->force)
        return EEXIST;
    if (S_ISSOCK(st.st_mode))
        return open_socket(path, &w->fd);
    w->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (w->fd < 0)
        return errno;
    if (fstat(w->fd, &st) == 0 && in_place(st.st_mode))
        return 0;
    close(w->fd); /* replaced by a regular file since: nothing written */
    return EEXIST;
}

int cli_out_open(cli_out *w, const char *path, int force)
{
    memset(w, 0, sizeof *w);
    w->path = path;
    w->force = force;
    if (!path) {
        w->kind = CLI_OUT_STDOUT;
        w->fd = STDOUT_FILENO;
        return 0;
    }
    if (strlen(path) >= PATH_MAX)
        return ENAMETOOLONG;
    int err = open_in_place(w, path);
    if (err != ENOENT) {
        w->kind = CLI_OUT_IN_PLACE;
        return err;
    }
    w->kind = CLI_OUT_NEW;
#ifdef O_TMPFILE
    char dir[PATH_MAX];
    if ((err = folder_of(path, dir)))
        return err;
    w->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (w->fd >= 0)
        return 0;
#endif
    w->named = 1; /* no O_TMPFILE here: a named temporary file */
    return named_temp(path, -1, &w->fd);
}

int cli_out_write(cli_out *w, const void *data, size_t n)
{
    return write_all(w->fd, data, n);
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

/* Renames tmp_path to path unless path exists, atomically. ENOTSUP where
 * the file system offers no way to do that (the caller refuses). */
static int rename_noreplace(const char *path)
{
#ifdef RENAME_NOREPLACE
    if (renameat2(AT_FDCWD, tmp_path, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return errno;
#endif
    return ENOTSUP;
}

/* The named temporary file becomes path: replacing it with force; without,
 * by link(), which never replaces, or on file systems without hard links
 * by renameat2(RENAME_NOREPLACE). The temporary name is gone after. */
static int publish_named(const char *path, int force)
{
    sigset_t old;
    int err = 0, renamed = 0;
    signals_hold(&old); /* a rename makes tmp_path no longer ours */
    if (force)
        renamed = !(err = rename(tmp_path, path) < 0 ? errno : 0);
    else if (link(tmp_path, path) < 0)
        renamed = !(err = errno == EEXIST ? EEXIST : rename_noreplace(path));
    temp_done(!renamed);
    signals_release(&old);
    return err;
}

/* The unnamed file w->fd becomes w->path: linked to it, which never
 * replaces; with force an existing file is replaced through a named
 * temporary link and a rename. */
static int publish_unnamed(cli_out *w)
{
    int err = link_fd(w->fd, w->path);
    if (err != EEXIST || !w->force)
        return err;
    int unused;
    if ((err = named_temp(w->path, w->fd, &unused)))
        return err;
    return publish_named(w->path, 1);
}

/* fsync of path's folder, so that its new entry survives a crash. */
static int sync_folder(const char *path)
{
    char dir[PATH_MAX];
    int err = folder_of(path, dir);
    if (err)
        return err;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    err = fsync(fd) < 0 && errno != EINVAL ? errno : 0; /* EINVAL: cannot */
    close(fd);
    return err;
}

int cli_out_close(cli_out *w, const struct stat *like, int durable)
{
    if (w->kind == CLI_OUT_STDOUT)
        return 0;
    if (w->kind == CLI_OUT_IN_PLACE)
        return close(w->fd) < 0 ? errno : 0;
    int err = copy_metadata(w->fd, like);
    if (!err && durable && fsync(w->fd) < 0)
        err = errno;
    if (w->named) { /* closed first: some file systems report errors there */
        if (close(w->fd) < 0 && !err)
            err = errno;
        if (err)
            temp_done(1);
        else
            err = publish_named(w->path, w->force);
    } else {
        if (!err)
            err = publish_unnamed(w);
        if (close(w->fd) < 0 && !err) {
            err = errno;
            unlink(w->path); /* ours, just linked, and not sound */
        }
    }
    if (!err && durable)
        err = sync_folder(w->path);
    return err;
}

void cli_out_abort(cli_out *w)
{
    if (w->kind == CLI_OUT_STDOUT)
        return;
    close(w->fd);
    if (w->named)
        temp_done(1);
}

const char *cli_out_strerror(int err)
{
    if (err == EEXIST)
        return "already exists; use -f to overwrite";
    if (err == ENOTSUP)
        return "this file system can neither link nor rename without replacing "
               "an existing file, so nmdl cannot create it safely; use -f";
    return strerror(err);
}

int cli_write_file(const char *path, const void *data, size_t n,
                   const struct stat *like, int force, int durable)
{
    cli_out w;
    int err = cli_out_open(&w, path, force);
    if (err)
        return err;
    if ((err = cli_out_write(&w, data, n))) {
        cli_out_abort(&w);
        return err;
    }
    return cli_out_close(&w, like, durable);
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
