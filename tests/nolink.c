/*
 * nolink.c: a library test_cli preloads (LD_PRELOAD) into nmdl to make the
 * file system look like one without hard links and without O_TMPFILE (vfat,
 * some network file systems), so that the fallbacks of cli/fileio.c run.
 * NMDL_NOLINK chooses:
 *   nolink     link() and linkat() fail with EPERM, O_TMPFILE with
 *              EOPNOTSUPP; renames work
 *   norename2  the same, and renameat2() fails with EINVAL (no flags known)
 *   race       the same as nolink, and every rename first creates its
 *              target ("winner\n"), as another process winning the race
 *              to the name would
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is(const char *mode)
{
    const char *m = getenv("NMDL_NOLINK");
    return m && !strcmp(m, mode);
}

static int fail(int err)
{
    errno = err;
    return -1;
}

int link(const char *from, const char *to)
{
    (void)from, (void)to;
    return fail(EPERM);
}

int linkat(int fd_from, const char *from, int fd_to, const char *to, int flags)
{
    (void)fd_from, (void)from, (void)fd_to, (void)to, (void)flags;
    return fail(EPERM);
}

typedef int open_fn(const char *, int, ...);

static int open_as(const char *real, const char *path, int flags, va_list ap)
{
    mode_t mode = flags & (O_CREAT | O_TMPFILE) ? va_arg(ap, mode_t) : 0;
    if ((flags & O_TMPFILE) == O_TMPFILE)
        return fail(EOPNOTSUPP);
    return ((open_fn *)dlsym(RTLD_NEXT, real))(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = open_as("open", path, flags, ap);
    va_end(ap);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = open_as("open64", path, flags, ap);
    va_end(ap);
    return fd;
}

/* In "race" mode: the rename's target appears just before it. */
static void lose_race(const char *to)
{
    if (!is("race"))
        return;
    int fd = ((open_fn *)dlsym(RTLD_NEXT, "open"))(to, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        if (write(fd, "winner\n", 7) != 7)
            abort();
        close(fd);
    }
}

int rename(const char *from, const char *to)
{
    lose_race(to);
    return ((int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename"))(from, to);
}

int renameat2(int fd_from, const char *from, int fd_to, const char *to,
              unsigned flags)
{
    if (is("norename2"))
        return fail(EINVAL);
    lose_race(to);
    return ((int (*)(int, const char *, int, const char *, unsigned))dlsym(
        RTLD_NEXT, "renameat2"))(fd_from, from, fd_to, to, flags);
}
