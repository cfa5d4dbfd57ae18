/*
 * error.c: names of errors and methods for the public API, and the
 * details beside them (error.h).
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nmdl.h"

static const struct {
    int code;
    const char *name, *text;
} errors[] = {
    {NMDL_OK, "NMDL_OK", "success"},
    {NMDL_ERR_ARG, "NMDL_ERR_ARG", "invalid argument"},
    {NMDL_ERR_NOMEM, "NMDL_ERR_NOMEM", "out of memory"},
    {NMDL_ERR_NOT_NMDL, "NMDL_ERR_NOT_NMDL", "not an nmdl file"},
    {NMDL_ERR_TRUNCATED, "NMDL_ERR_TRUNCATED", "truncated"},
    {NMDL_ERR_CHECKSUM, "NMDL_ERR_CHECKSUM", "checksum mismatch"},
    {NMDL_ERR_VERSION, "NMDL_ERR_VERSION", "unsupported format version"},
    {NMDL_ERR_METHOD, "NMDL_ERR_METHOD", "unknown compression method"},
    {NMDL_ERR_CORRUPT, "NMDL_ERR_CORRUPT", "corrupt data"},
    {NMDL_ERR_DST_SIZE, "NMDL_ERR_DST_SIZE", "destination buffer too small"},
    {NMDL_ERR_TOO_LARGE, "NMDL_ERR_TOO_LARGE", "too large for this build"},
    {NMDL_ERR_BACKEND, "NMDL_ERR_BACKEND", "a library nmdl depends on failed"},
    {NMDL_ERR_UNSUPPORTED, "NMDL_ERR_UNSUPPORTED",
     "method not supported by this version of nmdl"},
    {NMDL_ERR_CANCELED, "NMDL_ERR_CANCELED", "canceled"},
    {NMDL_ERR_LIMIT, "NMDL_ERR_LIMIT", "exceeds a limit"},
    {NMDL_ERR_TEAM, "NMDL_ERR_TEAM", "a member of the process team failed"},
};

static int find(int err)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == err)
            return (int)i;
    return -1;
}

const char *nmdl_strerror(int err)
{
    int i = find(err);
    return i < 0 ? "unknown error" : errors[i].text;
}

const char *nmdl_error_name(int err)
{
    int i = find(err);
    return i < 0 ? "NMDL_ERR_UNKNOWN" : errors[i].name;
}

int nmdl_why(char *why, int err, const char *fmt, ...)
{
    if (why) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, NMDL_WHY_MAX, fmt, ap);
        va_end(ap);
    }
    return err;
}

const char *nmdl_version(void)
{
    return NMDL_VERSION_STRING;
}

static const char *const methods[NMDL_METHODS] = {"stored", "zstd", "neural", "mix"};

const char *nmdl_method_name(int method)
{
    return method >= 0 && method < NMDL_METHODS ? methods[method] : "unknown";
}

int nmdl_method_parse(const char *name, nmdl_method *out)
{
    for (int i = 0; name && i < NMDL_METHODS; i++)
        if (strcmp(name, methods[i]) == 0) {
            *out = (nmdl_method)i;
            return NMDL_OK;
        }
    return NMDL_ERR_METHOD;
}
