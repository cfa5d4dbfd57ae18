/*
 * team.h: the nmdl command as a team of MPI ranks (the -DNMDL_MPI=ON build;
 * docs/CLUSTER.md). Every rank runs the command with the same arguments;
 * rank 0, the lead, reads each input, hands it to the others and writes the
 * output; all of them compress it together (nmdl_team in nmdl.h). Without
 * NMDL_MPI, or under one rank, the team is this process alone.
 */
#ifndef NMDL_CLI_TEAM_H
#define NMDL_CLI_TEAM_H

#include <stddef.h>
#include <stdint.h>

#include "nmdl.h"

/* Starts MPI where built with it and fills *t (size 1 without). 0, or -1
 * after printing why. */
int cli_team_start(int *argc, char ***argv, nmdl_team *t);
/* Ends MPI after the command; returns the exit status: the lead's `status`
 * on every rank. */
int cli_team_end(const nmdl_team *t, int status);
/* Stops every rank at once (MPI_Abort) with exit status 1: for a failure on
 * one rank that the others would wait for forever. */
void cli_team_abort(const nmdl_team *t);
/* The gathers this rank has made so far, and the bytes they brought in
 * from the other ranks (0 and 0 without MPI). */
void cli_team_traffic(unsigned long long *calls, unsigned long long *bytes);
/* Is this the lead (rank 0, or no team)? */
int cli_team_lead(const nmdl_team *t);
/* all holds one unit of `unit` bytes per rank, in rank order; on entry
 * each rank has filled its own (all + rank * unit), on return every rank
 * holds all of them. 0, or -1 when MPI failed. */
int cli_team_gather_each(const nmdl_team *t, void *all, size_t unit);
/* 0 when every rank runs the same build of nmdl with the same arguments;
 * otherwise the lead says which rank differs and all return -1. */
int cli_team_agree(const nmdl_team *t, int argc, char **argv);
/* The lead's *ok, *effort (0: unchanged) and input (*src, *n bytes) to every
 * rank (the others' *src is allocated here), then a checksum of the bytes
 * each received compared with the lead's. 0, or -1 after printing why (the
 * lead prints), *src freed and NULL on the others. */
int cli_team_input(const nmdl_team *t, const char *name, int *ok, int *effort,
                   uint8_t **src, size_t *n);

#endif /* NMDL_CLI_TEAM_H */
