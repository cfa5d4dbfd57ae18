/*
 * progress.h: the progress of one library call (a "job": a compression, a
 * decompression, a training run) across its phases, reported through the
 * public callback (nmdl_progress_fn), and its cancellation.
 *
 * Work is counted in work units: model FLOPs at the cost they have in a
 * training step. Other phases convert what they do (sampler steps, budget
 * bisections, coded bytes, zstd bytes) into units with measured cost
 * factors (see the *_work functions of train.h, llc.h, budget.h and
 * neural.h). The caller plans every phase before the job starts; when a
 * phase begins it states its work again, now knowing more (the LLC's
 * sweep length decides the search's start), and the total moves by the
 * difference; when a phase ends, the work it actually did replaces its
 * plan. The fraction is work done / total, never shown decreasing; the ETA
 * is the work left over the rate so far (blended, while there is little of
 * it, with a rate measured beforehand when there is one).
 *
 * Threads: any thread may add work and read the cancel flag. The callback
 * is called only on the thread that started the job: at each phase's
 * start, at most every NMDL_PROG_EVERY_S seconds while work is added, and
 * once at the end; in nmdl_prog_parallel the owner only reports while
 * worker threads do the tasks. A non-zero return cancels: from then on every call that
 * adds work returns NMDL_ERR_CANCELED, and the job unwinds.
 */
#ifndef NMDL_PROGRESS_H
#define NMDL_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>

#include "nmdl.h"

#define NMDL_PROG_EVERY_S 0.2 /* seconds between reports */

typedef struct nmdl_prog {
    nmdl_progress_fn fn;
    void *user;
    pthread_t owner;             /* the thread that calls fn */
    int threads;                 /* the job's threads: work done on one
                                    thread counts threads times its units */
    double t0, last;             /* monotonic seconds: start, last report */
    double rate_hint;            /* work units per second measured before; 0 */
    double plan[NMDL_PHASES];    /* planned work of each phase */
    double total;                /* planned work of the whole job */
    double done;                 /* work of the phases that ended */
    int phase;                   /* current phase, -1 before the first */
    double phase_t0;             /* when it began */
    long steps;                  /* its planned steps (for display) */
    atomic_llong work;           /* work units done in the current phase */
    atomic_long step;            /* steps done in the current phase */
    double loss_bpb, bytes_per_s; /* the current phase's details (NaN, 0) */
    double shown;                /* largest fraction reported */
    atomic_int canceled;         /* 1 once fn returned non-zero */
    int canceled_in;             /* the phase it was, -1 when not canceled */
} nmdl_prog;

/* Starts a job on `threads` threads whose phases will do plan[phase] work
 * units (NULL: none planned yet), with a rate measured beforehand (work
 * units per second; 0: none); fn may be NULL (then only work is counted). */
void nmdl_prog_start(nmdl_prog *p, nmdl_progress_fn fn, void *user, int threads,
                     const double *plan, double rate_hint);
/* Ends the current phase and begins `phase`, which will do `work` units in
 * `steps` steps; reports. NMDL_ERR_CANCELED when canceled (also before). */
int nmdl_prog_phase(nmdl_prog *p, int phase, double work, long steps);
/* Adds work to the current phase's plan (negative: removes), e.g. when a
 * sweep runs longer than planned. Owner thread only. */
void nmdl_prog_grow(nmdl_prog *p, double work, long steps);
/* Counts work and steps done (any thread); reports when due and called
 * on the owner thread. NMDL_OK, or NMDL_ERR_CANCELED once canceled. */
int nmdl_prog_add(nmdl_prog *p, double work, long steps);
/* The current phase's details for the next report (owner thread). */
void nmdl_prog_detail(nmdl_prog *p, double loss_bpb, double bytes_per_s);
/* NMDL_ERR_CANCELED once canceled, else NMDL_OK; p may be NULL. */
int nmdl_prog_canceled(nmdl_prog *p);
/* Ends the job: the last report, with fraction 1 (its return is ignored:
 * the work is done). Calls that fail, canceled ones too, end without it. */
void nmdl_prog_finish(nmdl_prog *p);
/* Seconds since the job started. */
double nmdl_prog_elapsed(const nmdl_prog *p);

/* Runs task(ctx, k) for k in [0, n) on up to `threads` threads, each
 * taking the next k when free; when there is a callback and the caller is
 * the owner, it only reports (every 20 ms it looks whether a report is
 * due) while the threads work, so reports come on time however long one
 * task's step is. Returns the first non-zero task result in k order. */
int nmdl_prog_parallel(nmdl_prog *p, int n, int threads,
                       int (*task)(void *ctx, int k), void *ctx);

/* Monotonic seconds. */
double nmdl_prog_now(void);

#endif /* NMDL_PROGRESS_H */
