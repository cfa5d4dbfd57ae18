/*
 * team.h: the library's side of a team of processes (nmdl_team in nmdl.h):
 * how K members share G equal units of work, and the two collectives with
 * a NULL team standing for this process alone.
 */
#ifndef NMDL_TEAM_H
#define NMDL_TEAM_H

#include <stddef.h>

#include "nmdl.h"

/* Is t NULL, or a team with 0 <= rank < size and both collectives? */
int nmdl_team_valid(const nmdl_team *t);
/* Members of the team; 1 for NULL. */
int nmdl_team_size(const nmdl_team *t);
/* Member k's units of G among K: [*lo, *hi) = [G k / K, G (k + 1) / K). */
void nmdl_team_share_of(int K, int k, int G, int *lo, int *hi);
/* Member `rank`'s units of G: [*lo, *hi) = [G r / K, G (r + 1) / K), so the
 * shares are contiguous, in rank order, and cover G; all of G for NULL. */
void nmdl_team_share(const nmdl_team *t, int G, int *lo, int *hi);
/* buf holds G units of `unit` bytes; on entry each member holds its share
 * (nmdl_team_share), on return every member holds all G. NMDL_OK with a
 * NULL team or one member; NMDL_ERR_TEAM when the collective failed. */
int nmdl_team_gather(const nmdl_team *t, void *buf, size_t unit, int G);
/* buf[off[k], off[k] + len[k]) of every member k (one entry each) to
 * every member. NMDL_OK with a NULL team or one member; NMDL_ERR_TEAM when
 * the collective failed. */
int nmdl_team_gather_ranges(const nmdl_team *t, void *buf, const size_t *off,
                            const size_t *len);
/* The first of the members' rc that is not NMDL_OK, in rank order, to
 * every member (rc itself with a NULL team); NMDL_ERR_TEAM when the
 * collective failed. all (size entries) and range (2 size) are the
 * caller's scratch, so that nothing can fail before the collective. For
 * work shared between collectives: a member that failed does not leave
 * the others waiting for it. */
int nmdl_team_first_error(const nmdl_team *t, int rc, int *all, size_t *range);
/* bytes of member 0's buf to every member; NMDL_OK for NULL. */
int nmdl_team_bcast(const nmdl_team *t, void *buf, size_t bytes);

#endif /* NMDL_TEAM_H */
