/*
 * neural.h: the neural method, a two-part code. Part one (the model part)
 * is a transformer trained on the input, quantized and entropy-coded
 * (codec/quant.h); part two (the data part) is the input arithmetic-coded
 * under that quantized model, cut into segments coded as independent
 * streams so that decoding can use every core.
 *
 * Data part: LEB128 segment count S, then S LEB128 stream lengths, then the
 * S range-coder streams. Segment s holds bytes [s*n/S ...] as split by
 * nmdl_neural_segment(); its first byte is coded uniformly (8 bits), every
 * later byte under the model's distribution given the bytes before it in
 * the segment, with frequencies totalling 2^24 (codec/freq.h).
 */
#ifndef NMDL_NEURAL_H
#define NMDL_NEURAL_H

#include <stddef.h>
#include <stdint.h>

#include "bpe.h"
#include "budget.h"
#include "nmdl.h"

#define NMDL_NEURAL_MAX_SEGMENTS 256
#define NMDL_NEURAL_FREQ_BITS 24
#define NMDL_NEURAL_TRAIN_BATCH 16 /* windows per training step */
/* The weight in training of a byte the match model predicts inside a long
 * match (f): 0, the transformer learns the bytes the DL prices (n - 1 -
 * f), docs/ARCHITECTURE.md "Training for the bytes the match model
 * leaves". */
#define NMDL_NEURAL_REPEATS_WEIGHT 0.0f

typedef struct nmdl_neural_params {
    int effort;           /* 1..9: model size, training and fine-tuning */
    nmdl_budget_params budget; /* mode, bits (fixed), epsilon, rows, llc */
    uint64_t seed;
    int threads;
    const nmdl_team *team;  /* NULL: this process alone (model/team.h) */
    const nmdl_model_config *cfg; /* NULL: chosen from effort and size */
    long train_steps;     /* < 0: from the effort */
    long qat_steps;       /* < 0: from the effort; 0: plain rounding */
    int weights;          /* NMDL_WEIGHTS_*: how the weights are trained
                             (AUTO: resolve with nmdl_neural_weights) */
    int match;            /* NMDL_SC_* (codec/segcode.h): what the data
                             part adds to the transformer; the newest by
                             default */
    int segments;         /* 0: nmdl_neural_segments(n, match); else this
                             many (1 .. NMDL_NEURAL_MAX_SEGMENTS), at most
                             one per symbol */
    double free_bytes;    /* with the match model, f (nmdl_stop_free_bytes,
                             counted by the caller): the preset is chosen
                             for n - f bytes, the early stop's bound
                             prices n - f, the budget search and the codes
                             trained for the DL (rate, cluster) n - 1 - f;
                             < 0: none (as without the match model) */
    const nmdl_bpe *tokens; /* NULL: the n symbols are the input's bytes;
                             else merged symbols of this table (codec/bpe.h),
                             recorded in the model part */
    double bytes_per_symbol; /* input bytes per symbol (1 for bytes): the
                             effort's FLOPs and the preset are per input
                             byte */
    const uint8_t *cheap; /* NULL, or n flags: the free bytes f (counted by
                             the caller where cheap_weight < 1), whose loss
                             weighs cheap_weight in training and in every
                             sample loss that prices the data */
    float cheap_weight;   /* 0..1, NMDL_NEURAL_REPEATS_WEIGHT by default */
    double beat_bytes;    /* > 0: stop training early, making no parts, where
                             a bound shows both parts would take at least
                             this many bytes (neural.c, stop_check) */
    nmdl_prog *prog;      /* the job the phases count in; may be NULL */
} nmdl_neural_params;

/* What nmdl_neural_encode will do: the model, the steps, and each phase's
 * work units and steps (model/progress.h), in the order they run: train,
 * llc, search, fine-tune (with the final step-size bisection), code. */
typedef struct nmdl_neural_plan {
    nmdl_model_config cfg;    /* the model, its window fitted to the input */
    int weights;              /* NMDL_WEIGHTS_*, resolved (never AUTO) */
    int sized_by_matches;     /* 1: a smaller preset than n alone gets, for
                                 the n - free_bytes bytes outside matches */
    long train_steps, qat_steps;
    long rate_steps;          /* the last of the training steps: rate-aware */
    int llc_chains, llc_skip; /* the LLC's chains; 1: no LLC (neural.c) */
    double work[NMDL_PHASES]; /* by nmdl_phase */
    long steps[NMDL_PHASES];
} nmdl_neural_plan;

typedef struct nmdl_neural_report {
    size_t n_params;
    int segments;
    long train_steps, qat_steps; /* steps run */
    double delta;             /* step size in units of a row's RMS */
    double model_estimate_bits; /* rate-aware: what the cost table expected
                                   the levels to cost, bits */
    double model_level_bits;  /* and what the coder spent on them, bits */
    nmdl_budget_report budget;
    double bits_per_weight;   /* model part bits / parameters */
    double loss_train_bpb;    /* training loss at the end, bits per byte */
    double data_bpb;          /* data part bits per input byte */
    double pure_data_bytes;   /* the data part under the transformer alone
                                 (ideal code length; = its size when pure) */
    int data_code;            /* the data part's code (NMDL_SC_*) */
    int other_code;           /* with merged symbols the data was coded in
                                 two codes, this one lost... */
    double other_data_bytes;  /* ...with this size; 0 and NaN: one code */
    double train_s, qat_s, code_s;
    long stop_step;           /* > 0: training stopped after this step, and
                                 no parts were made */
    long probe_step;          /* the last probe of the early stop (0: none): */
    double probe_bound_bytes; /* its bound on both parts, */
    double probe_loss_bpb;    /* from this sample loss, bits per byte */
} nmdl_neural_report;

void nmdl_neural_params_default(nmdl_neural_params *p);
/* The weight code p asks for: p->weights, or for AUTO l0-rl1, or round
 * where the budget is fixed or b* or the row steps are the posterior's
 * (what round's search takes); the plan's. */
int nmdl_neural_weights(const nmdl_neural_params *p);
/* f: the bytes long matches predict, 0 without the match model or
 * before it counted them. */
double nmdl_neural_free_bytes(const nmdl_neural_params *p);

/* Segment count for n bytes coded with the data part's mode `match`
 * (codec/segcode.h; depends on these only, never on threads). */
int nmdl_neural_segments(size_t n, int match);
/* The segments p asks for (p->segments, else by the rule above) over n
 * symbols coded in mode match. */
int nmdl_neural_segments_of(const nmdl_neural_params *p, size_t n, int match);
/* Start and length of segment s of S over n bytes. */
void nmdl_neural_segment(size_t n, int S, int s, size_t *start, size_t *len);

/* The plan of nmdl_neural_encode(p, src, n, ...); NMDL_ERR_ARG for
 * settings it would refuse. */
int nmdl_neural_plan_make(const nmdl_neural_params *p, size_t n,
                          nmdl_neural_plan *plan);
/* Both parts for src[0..n), n >= 2; malloc'd buffers. The report is
 * filled also on an error (what was done until then: steps, seconds).
 * After an early stop (p->beat_bytes) it returns NMDL_OK with *model and
 * *data NULL and report->stop_step set. */
int nmdl_neural_encode(const nmdl_neural_params *p, const uint8_t *src,
                       size_t n, uint8_t **model, size_t *model_len,
                       uint8_t **data, size_t *data_len,
                       nmdl_neural_report *report);
/* The data part alone: src[0..n) in S segments (1 <= S <= min(256, n))
 * under the parameters params of cfg (as a decoder rebuilds them), with
 * the match model and the context mixer as `match` says (NMDL_SC_*; not
 * PURE only where n <= NMDL_MM_MAX_INPUT). *pure_bytes (if
 * not NULL): the part's size under the transformer alone: without the
 * match model its size; with it, from the ideal code length of each
 * stream under the transformer (within a few bytes per segment). prog
 * (may be NULL): the pass adds its work to the phase the caller entered
 * (NMDL_PHASE_CODE, planned with this pass in it). */
int nmdl_neural_encode_data(const nmdl_model_config *cfg, const float *params,
                            const uint8_t *src, size_t n, int S, int match, int threads,
                            nmdl_prog *prog, uint8_t **data, size_t *data_len,
                            double *pure_bytes);

/* Takes each decoded batch of consecutive segments, in order: the bytes
 * [start, start + len) of the output after those handed over before.
 * NMDL_OK to go on; anything else stops decoding and is returned. */
typedef int (*nmdl_neural_sink)(void *user, const uint8_t *p, size_t len);

typedef struct nmdl_neural_dec {
    int threads;           /* >= 1 */
    uint64_t memory;       /* bytes decoding may take besides its input and
                              dst (nmdl_neural_decode_bytes) */
    nmdl_neural_sink sink; /* NULL: dst holds the whole output */
    void *user;
    char *why;             /* NMDL_WHY_MAX bytes for the detail of an error
                              (codec/error.h), or NULL */
    nmdl_prog *prog;       /* counts one work unit per byte decoded in its
                              current phase; may be NULL */
    const nmdl_team *team; /* NULL: alone; else every member makes the same
                              call and decodes a share of the segments */
    int failed;            /* with a team: this member's failure before the
                              call (a canceled phase), which it still shares
                              with the others so that none waits; else 0 */
} nmdl_neural_dec;

/* Rebuilds n bytes from the two parts, into dst or through p->sink. The
 * model part's shape, the segment table and the memory needed are checked
 * before anything is allocated; up to 4 segments per thread are decoded
 * at a time, fewer when memory is short, over one shared copy
 * of the weights. With a team, the members share each wave's segments
 * (with the match model; else all of them) and exchange the bytes after
 * it, so every member holds the whole output (also when streaming) and
 * returns the same code. */
int nmdl_neural_decode(const nmdl_neural_dec *p, const uint8_t *model,
                       size_t model_len, const uint8_t *data, size_t data_len,
                       uint8_t *dst, size_t n);
/* Peak bytes nmdl_neural_decode takes for a model of shape cfg and S
 * segments over n bytes, `live` segments at a time in G groups (with
 * `streaming`, the batch's output counts too, or with the match model or
 * in a team of several members the whole output, which it reads back or
 * exchanges). */
uint64_t nmdl_neural_decode_bytes(const nmdl_model_config *cfg, int S, size_t n,
                                  int live, int G, int streaming, int match, int team);

#endif /* NMDL_NEURAL_H */
