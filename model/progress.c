/*
 * progress.c: see progress.h.
 */
#include "progress.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HINT_WEIGHT_S 5.0 /* a rate measured beforehand counts as this long */
#define WAIT_NS 20000000L /* the owner's poll while workers finish: 20 ms */

static const char *const phase_names[NMDL_PHASES] = {
    "zstd", "mix", "train", "llc", "search", "fine-tune", "code", "decode"};

const char *nmdl_phase_name(int phase)
{
    return phase >= 0 && phase < NMDL_PHASES ? phase_names[phase] : "unknown";
}

double nmdl_prog_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void nmdl_prog_start(nmdl_prog *p, nmdl_progress_fn fn, void *user, int threads,
                     const double *plan, double rate_hint)
{
    memset(p, 0, sizeof *p);
    p->threads = threads > 0 ? threads : 1;
    p->fn = fn;
    p->user = user;
    p->owner = pthread_self();
    p->t0 = p->last = nmdl_prog_now();
    p->rate_hint = rate_hint > 0 ? rate_hint : 0;
    for (int i = 0; plan && i < NMDL_PHASES; i++)
        p->plan[i] = plan[i] > 0 ? plan[i] : 0;
    p->phase = -1;
    p->loss_bpb = NAN;
    atomic_init(&p->work, 0);
    atomic_init(&p->step, 0);
    atomic_init(&p->canceled, 0);
    p->canceled_in = -1;
}

double nmdl_prog_elapsed(const nmdl_prog *p)
{
    return nmdl_prog_now() - p->t0;
}

/* Work done in the whole job, and the whole job's work as now planned: the
 * current phase counts at least what it has done. */
static void amounts(nmdl_prog *p, double *done, double *total)
{
    double w = (double)atomic_load(&p->work), t = p->done;
    for (int i = p->phase < 0 ? 0 : p->phase; i < NMDL_PHASES; i++)
        t += i == p->phase ? fmax(p->plan[i], w) : p->plan[i];
    *done = p->done + (p->phase >= 0 ? w : 0);
    *total = t;
}

/* Calls the callback (owner thread); a non-zero return cancels. */
static void report(nmdl_prog *p, double t, int final)
{
    double done, total;
    amounts(p, &done, &total);
    double f = final ? 1.0 : total > 0 ? fmin(done / total, 1.0) : 0.0;
    p->shown = f = fmax(f, p->shown);
    double el = t - p->t0, speed = p->bytes_per_s;
    if ((p->phase == NMDL_PHASE_CODE || p->phase == NMDL_PHASE_DECODE) && t > p->phase_t0)
        speed = (double)atomic_load(&p->step) / (t - p->phase_t0); /* steps are bytes */
    double rate = p->rate_hint > 0
                      ? (p->rate_hint * HINT_WEIGHT_S + done) / (HINT_WEIGHT_S + el)
                      : el > 0 ? done / el : 0.0;
    nmdl_progress pr = {nmdl_phase_name(p->phase), atomic_load(&p->step), p->steps,
                        p->loss_bpb, speed, el,
                        final ? 0.0 : rate > 0 ? fmax(total - done, 0.0) / rate : NAN,
                        f, p->phase};
    p->last = t;
    if (p->fn(p->user, &pr) && !final && !atomic_load(&p->canceled)) {
        p->canceled_in = p->phase;
        atomic_store(&p->canceled, 1);
    }
}

int nmdl_prog_canceled(nmdl_prog *p)
{
    return p && atomic_load(&p->canceled) ? NMDL_ERR_CANCELED : NMDL_OK;
}

int nmdl_prog_phase(nmdl_prog *p, int phase, double work, long steps)
{
    if (!p)
        return NMDL_OK;
    if (p->phase >= 0)
        p->done += (double)atomic_load(&p->work);
    for (int i = p->phase + 1; i < phase; i++)
        p->plan[i] = 0; /* skipped */
    p->phase = phase;
    p->phase_t0 = nmdl_prog_now();
    p->plan[phase] = work > 0 ? work : 0;
    p->steps = steps;
    atomic_store(&p->work, 0);
    atomic_store(&p->step, 0);
    p->loss_bpb = NAN;
    p->bytes_per_s = 0;
    if (p->fn && !atomic_load(&p->canceled))
        report(p, nmdl_prog_now(), 0);
    return nmdl_prog_canceled(p);
}

void nmdl_prog_grow(nmdl_prog *p, double work, long steps)
{
    if (!p || p->phase < 0)
        return;
    p->plan[p->phase] = fmax(p->plan[p->phase] + work, 0.0);
    p->steps += steps;
}

void nmdl_prog_detail(nmdl_prog *p, double loss_bpb, double bytes_per_s)
{
    if (!p)
        return;
    p->loss_bpb = loss_bpb;
    p->bytes_per_s = bytes_per_s;
}

int nmdl_prog_add(nmdl_prog *p, double work, long steps)
{
    if (!p)
        return NMDL_OK;
    atomic_fetch_add(&p->work, (long long)work);
    atomic_fetch_add(&p->step, steps);
    if (p->fn && !atomic_load(&p->canceled) && pthread_equal(pthread_self(), p->owner)) {
        double t = nmdl_prog_now();
        if (t - p->last >= NMDL_PROG_EVERY_S)
            report(p, t, 0);
    }
    return nmdl_prog_canceled(p);
}

void nmdl_prog_finish(nmdl_prog *p)
{
    if (p && p->fn)
        report(p, nmdl_prog_now(), 1);
}

int nmdl_prog_parallel(nmdl_prog *p, int n, int threads,
                       int (*task)(void *ctx, int k), void *ctx)
{
    int *rcs = calloc(n > 0 ? (size_t)n : 1, sizeof *rcs), err = NMDL_OK;
    if (!rcs)
        return NMDL_ERR_NOMEM;
    atomic_int next, left;
    atomic_init(&next, 0);
    atomic_init(&left, n);
    const int poll = p && p->fn && pthread_equal(pthread_self(), p->owner);
    const int nt = threads < n ? threads : n;
#pragma omp parallel num_threads((nt > 1 ? nt : 1) + poll)
    {
        if (poll && omp_get_thread_num() == 0 && omp_get_num_threads() > 1) {
            const struct timespec wait = {0, WAIT_NS};
            while (atomic_load(&left) > 0) {
                nanosleep(&wait, NULL);
                nmdl_prog_add(p, 0, 0);
            }
        } else {
            for (int k; (k = atomic_fetch_add(&next, 1)) < n;) {
                rcs[k] = task(ctx, k);
                atomic_fetch_sub(&left, 1);
            }
        }
    }
    for (int k = 0; k < n && !err; k++)
        err = rcs[k];
    free(rcs);
    return err;
}
