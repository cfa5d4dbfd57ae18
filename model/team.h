/*
 * team.h: the library's side of a team of processes (nmdl_team in nmdl.h):
 * how K members share G equal units of work, and the two collectives with
 * a NULL team standing for this process alone.
 */
#ifndef NMDL_TEAM_H
#define NMDL_TEAM_H

#include <stddef.h>

#include "nmdl.h"

/* Members of the team; 1 for NULL. */
int nmdl_team_size(const nmdl_team *t);
/* Member `rank`'s units of G: [*lo, *hi) = [G r / K, G (r + 1) / K), so the
 * shares are contiguous, in rank order, and cover G; all of G for NULL. */
void nmdl_team_share(const nmdl_team *t, int G, int *lo, int *hi);
/* buf holds G units of `unit` bytes; on entry each member holds its share
 * (nmdl_team_share), on return every member holds all G. NMDL_OK with a
 * NULL team or one member; NMDL_ERR_TEAM when the collective failed. */
int nmdl_team_gather(const nmdl_team *t, void *buf, size_t unit, int G);
/* bytes of member 0's buf to every member; NMDL_OK for NULL. */
int nmdl_team_bcast(const nmdl_team *t, void *buf, size_t bytes);

#endif /* NMDL_TEAM_H */
