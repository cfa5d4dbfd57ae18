/*
 * error.h: a line of detail beside an error code (internal). Decoders
 * write what was wrong, naming the field, into a caller's buffer, which
 * nmdl_dctx_error_detail hands out; the codes and their names are public
 * (nmdl.h).
 */
#ifndef NMDL_ERROR_H
#define NMDL_ERROR_H

#define NMDL_WHY_MAX 200 /* bytes of a detail, with its terminating zero */

/* Writes the detail (printf format) to why, NMDL_WHY_MAX bytes or NULL
 * for nowhere, and returns err: `return nmdl_why(why, NMDL_ERR_CORRUPT,
 * "model part: head width %d exceeds %d", w, max);`. */
int nmdl_why(char *why, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif /* NMDL_ERROR_H */
