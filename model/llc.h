/*
 * llc.h: the local learning coefficient, estimated with SGLD or RMSProp-
 * preconditioned SGLD (pSGLD) as devinterp does.
 *
 * Chains sample the localized tempered posterior around the trained
 * weights w*:  p(w) ∝ exp(-nβ L(w) - (γ/2) |w - w*|^2),  with L the mean
 * minibatch loss in nats per sample. SGLD steps
 *
 *   w <- w - (ε/2) (nβ ∇L(w) + γ (w - w*)) + N(0, ε)
 *
 * and pSGLD scales the drift and the noise variance by the preconditioner
 * P = 1 / (sqrt(V) + a), V <- α V + (1 - α) g⊙g with g the raw minibatch
 * gradient. Each chain runs `burnin` steps and then `draws` steps whose
 * losses (taken before the step, as devinterp does) enter the estimate
 *
 *   λ̂ = nβ (mean draw loss - L(w*)),
 *
 * with L(w*) the mean minibatch loss at w* over max(chains, 32) batches
 * (devinterp's convention; its newer API's default of 32 init batches). The
 * result is the mean over chains and its standard error.
 *
 * Paired (the default, `paired`): each draw's loss is taken against the
 * loss of w* on the same minibatch, λ̂ = nβ mean(L_b(w) - L_b(w*)). The
 * minibatch noise, which nβ multiplies, then cancels instead of entering
 * through L(w*), whose error is shared by every chain and so never shows
 * in the standard error; the drift test below reads the same differences.
 * It costs one more forward pass per draw. With `paired` 0 the estimate is
 * devinterp's.
 *
 * The MALA acceptance of the proposal each `mala_every` draw (evaluated on
 * the same minibatch at both ends) diagnoses the step size: devinterp's
 * guidance is about 0.9. A run is unhealthy when a loss is not finite,
 * when chains settle below L(w*), or when the traces keep moving.
 *
 * Mixed starts (`start` NMDL_LLC_MIXED, the default of the transformer's
 * estimate): the odd-numbered chains start at w* + N(0, 1/γ) per weight,
 * the localization's own equilibrium, the even ones at w*. Near a minimum
 * the equilibrium variance of a direction of curvature h is 1/(nβh + γ):
 * the chains from w* reach it from below and the others from above, in
 * every direction, so on a quadratic loss their mean losses bracket the
 * equilibrium's, and λ̂ is the mean of the two halves' means. Half the
 * relaxation time then reads 0-5% below a whole one from w* on nine of
 * ten 1 MB models (docs/BENCHMARKS.md, "Mixed starts"). The drift test
 * runs on the pairs' mean traces (chains 2i and 2i+1), and the halves must
 * agree: the two means more than NMDL_LLC_GAP of λ̂ apart are still
 * moving. The step sweep's short runs start cold.
 *
 * Every chain runs on one thread from its own seed; chains run side by
 * side, so the estimate does not depend on the thread count.
 */
#ifndef NMDL_LLC_H
#define NMDL_LLC_H

#include <stddef.h>
#include <stdint.h>

#include "progress.h"
#include "rng.h"
#include "team.h"

/* The model under study. */
typedef struct nmdl_llc_target {
    size_t d;            /* parameters */
    double n;            /* samples in the data set: for the transformer the
                          * n - 1 predicted bytes of n, so nβ = (n-1)/ln(n-1) */
    const float *w_star; /* (d) trained weights */
    /* Mean loss over one minibatch drawn from *r (nats per sample) at w,
     * and its gradient into g (d) unless g is NULL, for chain `chain` (a
     * workspace per chain lets chains run at once). Drawing from a copy of
     * r gives the same minibatch again. */
    int (*loss_grad)(void *ctx, int chain, const float *w, nmdl_rng *r,
                     double *loss, float *g);
    void *ctx;
    int max_chains;      /* chains loss_grad has workspaces for; 0: any */
} nmdl_llc_target;

enum { NMDL_LLC_SGLD = 0, NMDL_LLC_PSGLD = 1 };
enum { NMDL_LLC_COLD = 0, NMDL_LLC_MIXED = 1 }; /* where chains start */
#define NMDL_LLC_GAP 0.4 /* the mixed halves' largest gap, over λ̂ */

typedef struct nmdl_llc_params {
    int sampler;        /* NMDL_LLC_SGLD or NMDL_LLC_PSGLD */
    double step;        /* ε */
    double nbeta;       /* nβ; <= 0: nmdl_llc_default_nbeta(n) */
    double gamma;       /* localization γ */
    int chains, burnin, draws;
    int start;          /* NMDL_LLC_COLD (every chain at w*) or _MIXED */
    double rms_alpha;   /* pSGLD: α of the second-moment average */
    double rms_eps;     /* pSGLD: a in 1 / (sqrt(V) + a) */
    int mala_every;     /* diagnose every this many draws; 0: never */
    uint64_t seed;
    int threads;        /* chains run on up to this many threads */
    const nmdl_team *team; /* NULL, or members that share the chains */
    int want_spread;    /* 1: also the posterior variance of each weight */
    int paired;         /* 1 (default): compare with w* on the same batch */
    nmdl_prog *prog;    /* counts the steps; NULL: none */
    double step_work;   /* work units of one loss and gradient on one
                           thread (model/progress.h) */
    int repairs;        /* nmdl_llc_estimate_repaired: at most this many */
} nmdl_llc_params;

typedef struct nmdl_llc_result {
    double llc, llc_se;  /* mean over chains and its standard error (mixed:
                            the mean of the halves' means) */
    double llc_cold, llc_warm; /* mixed: the means of the chains started at
                            w* and of those started warm; NaN otherwise */
    double nbeta, step, gamma;
    double init_loss;    /* L(w*), nats per sample (paired: the mean over
                            the draws' batches) */
    double mala;         /* mean acceptance over chains and checks; NaN: none */
    int chains, steps;   /* steps per chain = burnin + draws */
    int burnin;
    double *chain_llc;   /* (chains) */
    double *trace;       /* (chains, steps) minibatch loss before each step */
    double *base;        /* paired: (chains, draws) loss of w* on the batch
                            of each draw; NULL otherwise */
    float *spread;       /* (d) with want_spread: variance of each weight
                            over the draws, averaged over chains */
    int healthy;         /* 0 when a warning was raised */
    int fault;           /* the warning's kind: an nmdl_llc_fault */
    char warning[200];   /* why not, in words */
} nmdl_llc_result;

/* What makes a run unhealthy, first found first. */
typedef enum nmdl_llc_fault {
    NMDL_LLC_HEALTHY = 0,
    NMDL_LLC_DIVERGED, /* a loss is not finite */
    NMDL_LLC_BELOW,    /* the chains settle at or below L(w*) */
    NMDL_LLC_MOVING,   /* the draws still drift */
    NMDL_LLC_MALA      /* MALA acceptance below 0.5 */
} nmdl_llc_fault;

/* The default inverse temperature for n samples (nats of loss summed
 * over them): nβ = n / ln n (Watanabe's WBIC), 1 for n <= e. */
double nmdl_llc_default_nbeta(double n);

/* devinterp-like defaults: SGLD, ε 1e-6, nβ n/ln n, γ 1e4 (ours), 4 chains,
 * 100 burn-in, 100 draws; pSGLD α 0.99, a 0.1; MALA every 10 draws; cold
 * starts (the transformer's settings default to mixed ones). */
void nmdl_llc_params_default(nmdl_llc_params *p);
int nmdl_llc_estimate(const nmdl_llc_target *t, const nmdl_llc_params *p,
                      nmdl_llc_result *r);
/* nmdl_llc_estimate, then while the result is unhealthy at most
 * p->repairs repairs, each the first remedy of this list not yet
 * taken that fits its fault, the settings changed in *p and the estimate
 * run again:
 *   drifting draws, fewer than 4 chains   the chains doubled, where the
 *   (and t->max_chains allows)            target has workspaces for them
 *                                         (with 2, the drift test guesses
 *                                         its error from one degree of
 *                                         freedom)
 *   drifting draws                        burn-in x 4 (0 becomes 100)
 *   drifting, or settling at or below     gamma x 10 (the chains held
 *   L(w*)                                 closer to w*)
 *   drifting after both                   burn-in x 4 again (a smaller
 *                                         step would only slow the chains)
 *   divergence, low MALA acceptance, or   the step size / sqrt(10)
 *   settling below L(w*) after gamma x 10
 *   at an acceptance below
 *   NMDL_LLC_SWEEP_MALA
 *   settling below L(w*) after gamma x 10 none: the repairs stop
 *   at an acceptance of at least that
 * Chains that settle below L(w*) at a healthy acceptance descend from a w*
 * that is no minimum; a smaller step only scales λ̂ with it (the small
 * model on 8 MB of gcide at the end of a schedule decaying to 10% of its
 * peak: -1,255 at 4.2e-8, -0.65 at 1.3e-12, -0.29 after three repairs), so
 * no step is tried for them. Each repair's work joins p->prog's plan
 * before it runs. `did` (did_len
 * > 0) receives what was changed and why, in words ("" when nothing
 * was). */
#define NMDL_LLC_REPAIRS 3
int nmdl_llc_estimate_repaired(const nmdl_llc_target *t, nmdl_llc_params *p,
                               nmdl_llc_result *r, char *did, size_t did_len);
/* The work units nmdl_llc_estimate counts in p->prog: every chain step's
 * loss and gradient, the paired loss of each draw (a third of one) and the
 * MALA checks, at step_work each, times threads / (chains side by side),
 * since a job's unit is the whole machine's. */
double nmdl_llc_work(const nmdl_llc_params *p);
void nmdl_llc_result_free(nmdl_llc_result *r);
/* The MALA interval of a sweep run with q's draws: q's own when it checks
 * at least four times, else a quarter of the draws. */
int nmdl_llc_sweep_mala_every(const nmdl_llc_params *q);

/* The burn-in, in steps, after which p's chains have forgotten w* in the
 * flattest directions: there only the localization pulls, at a rate εγ/2
 * a step, so a draw's variance is 86% of the way to its equilibrium after
 * 2/(εγ) steps (one relaxation time). Shorter chains make λ̂ grow with ε·t
 * rather than measure the model (docs/ARCHITECTURE.md, "The learning coefficient"). */
double nmdl_llc_relax_steps(const nmdl_llc_params *p);

/* The step-size sweep: short runs at ε = top, top/√10, top/10, ... (at
 * most NMDL_LLC_SWEEP of them) until one has a MALA acceptance of at least
 * NMDL_LLC_SWEEP_MALA and is healthy or only still moving; that largest ε
 * is the choice. SGLD's discretization bias is large even at a fair
 * acceptance (λ̂ +45% at 0.86 against an acceptance of 1.00, tiny on 256 KB),
 * hence the high bar.
 * Drift in a run this short is burn-in's to cure (the repairs of
 * nmdl_llc_estimate_repaired), and a smaller step drifts longer: going on
 * down the sweep used to end at a step too small to leave w* (λ̂ near 0).
 * The sweep also stops at the first accepted step whose chains settle
 * below L(w*) by more than two standard errors (`below`): w* is then no
 * minimum, and smaller steps only scale λ̂ down with ε (the repairs
 * above). */
#define NMDL_LLC_SWEEP 10
#define NMDL_LLC_SWEEP_MALA 0.95
typedef struct nmdl_llc_sweep {
    int n;                        /* steps tried */
    double step[NMDL_LLC_SWEEP], llc[NMDL_LLC_SWEEP], mala[NMDL_LLC_SWEEP];
    int healthy[NMDL_LLC_SWEEP];
    int chosen;                   /* index, or -1 when none was healthy */
    int below;                    /* 1: stopped at an accepted step whose
                                     chains settled below L(w*) */
} nmdl_llc_sweep;

/* Runs the sweep with p's settings but `chains` chains of `burnin` +
 * `draws` steps each; sets *step to the choice. NMDL_ERR_CORRUPT-free:
 * returns NMDL_OK even when nothing is healthy (then chosen is -1).
 * Progress plans count NMDL_LLC_SWEEP_PLAN runs (the usual length); the
 * sweep corrects its phase's plan in p->prog by the runs it made. */
#define NMDL_LLC_SWEEP_PLAN 1
int nmdl_llc_calibrate(const nmdl_llc_target *t, const nmdl_llc_params *p,
                       double top, int chains, int burnin, int draws,
                       nmdl_llc_sweep *sweep, double *step);

#endif /* NMDL_LLC_H */
