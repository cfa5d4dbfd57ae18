/*
 * nmdl.h: the public API of nmdl, a lossless compressor whose output is a
 * two-part code in the minimum-description-length sense (model + data).
 *
 * Conventions
 *   - Every function that can fail returns an int: NMDL_OK (0) or a negative
 *     nmdl_error. nmdl_strerror() names it in words for users.
 *   - Contexts are opaque, created with *_create() and released with *_free();
 *     *_free(NULL) does nothing. A context is used by one thread at a time;
 *     it may use several threads internally (see *_set_threads).
 *   - The library keeps no global state, never prints and never exits.
 *   - Buffers are caller-owned: the caller passes a destination and its
 *     capacity, the library reports how many bytes it wrote.
 *   - The hot loops pick AVX2 or AVX-512 variants at run time when the CPU
 *     has them. The environment variable NMDL_ISA (portable, avx2 or
 *     avx512), read when a context or model is created, forces one for
 *     tests and measurements; a variant the CPU lacks, or another value,
 *     gives the best one it runs. Decoding computes the same bits on every
 *     variant; training, and so the bytes a compression writes, differs
 *     between variants (each such file decodes the same everywhere).
 *
 * Minimal use
 *   size_t cap = nmdl_compress_bound(n), len;
 *   nmdl_cctx *c = nmdl_cctx_create();
 *   int rc = nmdl_compress(c, dst, cap, &len, src, n);
 *   ...
 *   nmdl_info info;                     // how much room decoding needs
 *   rc = nmdl_info_read(dst, len, &info);
 *   rc = nmdl_decompress(d, out, info.original_bytes, &n, dst, len);
 */
#ifndef NMDL_H
#define NMDL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The shared library is built with hidden visibility: what this header
 * declares, and nothing else, is exported. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define NMDL_VERSION_MAJOR 0
#define NMDL_VERSION_MINOR 1
#define NMDL_VERSION_PATCH 0
#define NMDL_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define NMDL_NODISCARD __attribute__((warn_unused_result))
#else
#define NMDL_NODISCARD
#endif

/* Error codes. Values are part of the API and never change meaning. */
typedef enum nmdl_error {
    NMDL_OK = 0,
    NMDL_ERR_ARG = -1,         /* invalid argument */
    NMDL_ERR_NOMEM = -2,       /* out of memory */
    NMDL_ERR_NOT_NMDL = -3,    /* input does not start with the nmdl magic */
    NMDL_ERR_TRUNCATED = -4,   /* input ends before the frame does */
    NMDL_ERR_CHECKSUM = -5,    /* a checksum does not match */
    NMDL_ERR_VERSION = -6,     /* frame format version not supported */
    NMDL_ERR_METHOD = -7,      /* unknown or unsupported method */
    NMDL_ERR_CORRUPT = -8,     /* inconsistent or invalid content */
    NMDL_ERR_DST_SIZE = -9,    /* destination buffer too small */
    NMDL_ERR_TOO_LARGE = -10,  /* a size beyond what this build handles */
    NMDL_ERR_BACKEND = -11,    /* a dependency (zstd, libsodium) failed */
    NMDL_ERR_UNSUPPORTED = -12, /* feature not available in this version */
    NMDL_ERR_CANCELED = -13,    /* a progress callback returned non-zero */
    NMDL_ERR_LIMIT = -14,       /* exceeds a limit the caller may raise
                                   (nmdl_dctx_set_memory, _set_max_ratio) */
    NMDL_ERR_TEAM = -15         /* a collective of the team (nmdl_team) failed */
} nmdl_error;

/* One line in words, e.g. "checksum mismatch"; never NULL. */
const char *nmdl_strerror(int err);
/* The enum's name, e.g. "NMDL_ERR_CHECKSUM"; never NULL. */
const char *nmdl_error_name(int err);
/* The library's version string, e.g. "0.1.0". */
const char *nmdl_version(void);

/* How the data part of a frame is coded. Values are stored in files. */
typedef enum nmdl_method {
    NMDL_METHOD_STORED = 0, /* the bytes as they are */
    NMDL_METHOD_ZSTD = 1,   /* one zstd frame, level 19, long window */
    NMDL_METHOD_NEURAL = 2, /* two-part code under a trained transformer */
    NMDL_METHOD_MIX = 3     /* the data part's match model and context
                               mixer alone, without a model: nothing to
                               train, 4 to 6 s per MB each way */
} nmdl_method;
#define NMDL_METHODS 4

/* "stored", "zstd", "neural" or "mix"; "unknown" for other values. */
const char *nmdl_method_name(int method);
/* Inverse of nmdl_method_name; NMDL_ERR_METHOD for unknown names. */
NMDL_NODISCARD int nmdl_method_parse(const char *name, nmdl_method *out);

/* ------------------------------------------------------------ model shape
 *
 * The byte-level transformer of the neural method: decoder-only, pre-LN,
 * ALiBi attention, GELU MLP, 256-symbol vocabulary. */

typedef struct nmdl_model_config {
    int n_layer; /* transformer blocks, 1..32 */
    int d_model; /* width of the residual stream, 8..4096 */
    int n_head;  /* attention heads; d_model % n_head == 0 */
    int d_ff;    /* hidden width of each MLP, 1..16384 */
    int ctx;     /* context window in bytes, 2..8192 */
    int tied;    /* 1: the output projection is the embedding matrix */
    uint8_t absent[32]; /* the symbols the model never predicts: bit b % 8
                           of byte b / 8 for symbol b (all zero: none); their
                           probability is 0 and their rows of the embedding
                           (and of the output projection) are zero */
} nmdl_model_config;

/* Named configurations: "tiny" (about 50K parameters), "mini" (140K),
 * "small" (470K), "medium" (1.2M), "base" (2.7M). */
NMDL_NODISCARD int nmdl_model_preset(const char *name, nmdl_model_config *cfg);
/* Name of preset i (0-based), NULL past the last. */
const char *nmdl_model_preset_name(int i);
/* The preset sized for n_bytes of training data. */
const char *nmdl_model_preset_for_size(uint64_t n_bytes);
/* NMDL_ERR_ARG when a configuration makes no sense (zero heads, d_model not
 * divisible by n_head, sizes out of range). */
NMDL_NODISCARD int nmdl_model_config_check(const nmdl_model_config *cfg);

/* The phases of a call, in the order they run. */
typedef enum nmdl_phase {
    NMDL_PHASE_ZSTD = 0, /* "zstd": the zstd candidate of a compression */
    NMDL_PHASE_MIX,      /* "mix": the mix candidate */
    NMDL_PHASE_TRAIN,    /* "train": training the float model */
    NMDL_PHASE_LLC,      /* "llc": the LLC estimate, step sweep and chains */
    NMDL_PHASE_SEARCH,   /* "search": the budget search, with its briefly
                            fine-tuned finalists */
    NMDL_PHASE_TUNE,     /* "fine-tune": through the rounding */
    NMDL_PHASE_CODE,     /* "code": arithmetic-coding the input */
    NMDL_PHASE_DECODE,   /* "decode": a decompression */
    NMDL_PHASES
} nmdl_phase;
/* The phase's name as above; "unknown" for other values. */
const char *nmdl_phase_name(int phase);

/* Progress of a call (a compression, a decompression, a training run).
 *
 * The fraction is of the whole call's work, planned before it starts:
 * training FLOPs, and the other phases' known step counts weighted by what
 * a step costs relative to training (docs/ARCHITECTURE.md, "Progress").
 * elapsed_s and eta_s are of the whole call too. */
typedef struct nmdl_progress {
    const char *phase;   /* nmdl_phase_name(phase_id) */
    long step, total_steps; /* within the phase: optimizer steps (train,
                            fine-tune), sampler steps of all chains (llc),
                            budgets and the finalists' fine-tuning steps
                            (search), input bytes (code, decode), bytes
                            written (zstd, whose total_steps is 0: not
                            known); total_steps may grow (a longer sweep) */
    double loss_bpb;     /* train, fine-tune: recent training loss, bits per
                            byte; NaN in other phases */
    double tokens_per_s; /* train, fine-tune: bytes trained on per second;
                            code, decode: input bytes per second; else 0 */
    double elapsed_s;    /* since the call began */
    double eta_s;        /* predicted seconds to the end; NaN: not known yet */
    double fraction;     /* of the whole call's work, 0..1, never decreasing */
    int phase_id;        /* nmdl_phase */
} nmdl_progress;
/* Called on the thread that made the call: when each phase begins, at
 * least once a second (about every 0.2 s) while it runs, and once at the
 * end with fraction 1. What a non-zero return means depends on where the
 * callback was set: nmdl_cctx_set_progress and nmdl_dctx_set_progress
 * cancel the call (NMDL_ERR_CANCELED within a second, nothing written,
 * everything freed); nmdl_train_params.progress stops training early and
 * keeps the weights (nmdl_model_train returns NMDL_OK). */
typedef int (*nmdl_progress_fn)(void *user, const nmdl_progress *p);

/* A team of processes (MPI ranks, for example) that run one call
 * together: every member makes the same call with the same arguments and
 * input, and each computes a share of the work. Training cuts every step's
 * windows into a fixed number of groups, each member computes the
 * gradients of its share, and all fold them in group order, so weights,
 * files and reports are the same bytes for any size (and the same as
 * without a team). The library has no MPI of its own: it calls the two
 * collectives below, which the caller implements (the nmdl command's MPI
 * build does, over MPI_COMM_WORLD). Either returns 0 on success; any other
 * value ends the call with NMDL_ERR_TEAM. */
typedef struct nmdl_team {
    int rank, size; /* 0 <= rank < size */
    /* Every member holds buf[off[k], off[k] + len[k]) for its own k = rank;
     * on return every member holds all of buf (size entries each). */
    int (*gather)(void *user, void *buf, const size_t *off, const size_t *len);
    /* bytes of member 0's buf to every member's buf */
    int (*bcast)(void *user, void *buf, size_t bytes);
    void *user;
} nmdl_team;

/* Settings of the learning-coefficient estimator (defined below). */
typedef struct nmdl_llc_settings nmdl_llc_settings;

/* ---------------------------------------------------------------- compress */

typedef struct nmdl_cctx nmdl_cctx;

/* NULL when out of memory or when libsodium cannot initialise. */
nmdl_cctx *nmdl_cctx_create(void);
void nmdl_cctx_free(nmdl_cctx *c);
/* Method to try (default NMDL_METHOD_NEURAL). nmdl writes whichever of
 * it, zstd and the stored bytes (and, for the neural method, mix) gives
 * the smallest frame, so the result may name another method; a neural
 * attempt that lost is recorded in the frame's header
 * (nmdl_info.alternative_*). Inputs under 1 KiB are never coded neurally.
 * A neural or mix frame beyond NMDL_MAX_RATIO_DEFAULT bytes per frame
 * byte is not written by choice (its decoder's default would refuse it);
 * mix is tried as a fallback only where a streamed decode of it fits
 * NMDL_MEMORY_DEFAULT. */
NMDL_NODISCARD int nmdl_cctx_set_method(nmdl_cctx *c, nmdl_method m);
/* Worker threads, >= 1 (default 1). The output never depends on it. */
NMDL_NODISCARD int nmdl_cctx_set_threads(nmdl_cctx *c, int threads);
/* A team that compresses together (see nmdl_team; NULL, the default: this
 * process alone). The team is copied; its user pointer must outlive the
 * context. The output never depends on the team's size. */
NMDL_NODISCARD int nmdl_cctx_set_team(nmdl_cctx *c, const nmdl_team *team);
/* Neural method: effort 1..9 (default 6) sets the model size, training
 * and fine-tuning budgets; about 10 minutes for 1 MB at 6 on 2 cores. */
NMDL_NODISCARD int nmdl_cctx_set_effort(nmdl_cctx *c, int effort);
/* Neural method: target bits per weight of the quantized model (round's
 * budget: with the default weight code, bits > 0 selects ROUND); 0 (the
 * default): the budget search, or the learned code's own. */
NMDL_NODISCARD int nmdl_cctx_set_bits(nmdl_cctx *c, double bits);
/* Neural method: initialisation and data order (default 1). */
NMDL_NODISCARD int nmdl_cctx_set_seed(nmdl_cctx *c, uint64_t seed);
/* Neural method: one quantization step per matrix row (1, default) or per
 * tensor (0). */
NMDL_NODISCARD int nmdl_cctx_set_per_row(nmdl_cctx *c, int per_row);
/* Neural method: a model shape instead of the effort's (NULL: automatic),
 * and training / fine-tuning steps instead of the effort's (-1). */
NMDL_NODISCARD int nmdl_cctx_set_model(nmdl_cctx *c,
                                       const nmdl_model_config *cfg);
NMDL_NODISCARD int nmdl_cctx_set_steps(nmdl_cctx *c, long train, long tune);
/* 1 (default): write the smallest of the candidates; 0: write the
 * requested method's frame even when larger (for measuring it). */
NMDL_NODISCARD int nmdl_cctx_set_fallback(nmdl_cctx *c, int allow);
/* 1 (default): with the fallback, the neural attempt stops at a quarter or
 * half of its training where a bound from below on its parts already
 * reaches the classic frame (the report's early_stop_step); 0: it always
 * runs to the end (for measuring it). */
NMDL_NODISCARD int nmdl_cctx_set_early_stop(nmdl_cctx *c, int allow);
/* Neural method: 1: code merged symbols instead of bytes: byte pairs that
 * occur at least 64 times take the byte values the input never uses, most
 * frequent first (Gage's byte-pair encoding; the table is part of the
 * model part, docs/FORMAT.md); the effort's FLOPs stay per input byte and
 * every figure of the report stays per input byte. 0: bytes. -1 (the
 * default): merged symbols from 4,000,000 input bytes, where they were
 * measured to pay (docs/BENCHMARKS.md, "Tokens"). */
NMDL_NODISCARD int nmdl_cctx_set_tokens(nmdl_cctx *c, int on);
/* Neural method: how round's bits per weight are chosen (the learned codes
 * learn theirs; with the default weight code FIXED and BSTAR select
 * ROUND). SEARCH (default) walks up from the learning coefficient's budget
 * b*(ε) = (λ̂/d) log2(1/ε) and keeps the shortest description; BSTAR stops
 * at b*; FIXED takes nmdl_cctx_set_bits (setting bits > 0 selects FIXED). */
enum { NMDL_BUDGET_FIXED = 0, NMDL_BUDGET_BSTAR = 1, NMDL_BUDGET_SEARCH = 2,
       NMDL_BUDGET_LEARNED = 3 /* the steps were learned in training (the
                                  rate-aware weight codes); in reports only */ };
NMDL_NODISCARD int nmdl_cctx_set_budget(nmdl_cctx *c, int mode);
/* Neural method: how the weights are trained for their code. AUTO (the
 * default) is L0_RL1, or ROUND where the budget is FIXED or BSTAR or the
 * row steps are the posterior's (those steer round's search); a learned
 * code with any of them is NMDL_ERR_ARG at compression. ROUND trains
 * for the loss, then searches the budget and fine-tunes through the
 * rounding. The others train the last part of the run for the whole
 * description length, n x data bits + model bits, with the step sizes
 * learned (docs/ARCHITECTURE.md, "Weights trained for the description
 * length"): RATE pulls each weight by what its level costs the coder;
 * L0_DRR, L0_RL1 and L0_PMMP pull by seed 002's smooth l0, relaxed l1
 * and probabilistic minimax pruning, at the bits a nonzero level costs. */
enum { NMDL_WEIGHTS_AUTO = -1, NMDL_WEIGHTS_ROUND = 0, NMDL_WEIGHTS_RATE = 1,
       NMDL_WEIGHTS_L0_DRR = 2, NMDL_WEIGHTS_L0_RL1 = 3, NMDL_WEIGHTS_L0_PMMP = 4,
       NMDL_WEIGHTS_CLUSTER = 5 /* seed 003's clustering: K centroids per
                                   matrix (K by DL), trained through the
                                   assignment; codec/cluster.h */ };
NMDL_NODISCARD int nmdl_cctx_set_weights(nmdl_cctx *c, int weights);
/* Neural method: with pure = 0 (default) the data part mixes a match
 * model for repeats beyond the transformer's window and a context mixer
 * of adaptive byte-context counters (docs/FORMAT.md, "Data part"); pure =
 * 1 codes under the transformer alone, the description length the theory
 * speaks of. */
NMDL_NODISCARD int nmdl_cctx_set_pure(nmdl_cctx *c, int pure);
/* Neural method: the data part's segments, coded as independent streams
 * that decoders share among threads (with the match model two at a time,
 * in waves): 0 (default) chooses by size, one below 2 MiB with the match
 * model (docs/ARCHITECTURE.md); else 1 to 256, at most one per symbol.
 * More segments decode faster on more cores and cost size. NMDL_ERR_ARG
 * outside [0, 256]. */
NMDL_NODISCARD int nmdl_cctx_set_segments(nmdl_cctx *c, int segments);
/* Neural method with the match model: how much the bytes it predicts
 * inside long matches (16 bytes or more) weigh in the transformer's
 * training, against 1 for the others: 0 (default) trains for the bytes the
 * data part leaves to the transformer; 1 trains on every byte alike, the
 * transformer of the theory's two-part code (what `nmdl sweep` measures).
 * NMDL_ERR_ARG outside [0, 1]. */
NMDL_NODISCARD int nmdl_cctx_set_repeats_weight(nmdl_cctx *c, double weight);
/* "round", "rate", "l0-drr", "l0-rl1", "l0-pmmp", "cluster"; "unknown"
 * otherwise. */
const char *nmdl_weights_name(int weights);
/* Inverse of nmdl_weights_name; NMDL_ERR_ARG for unknown names. */
NMDL_NODISCARD int nmdl_weights_parse(const char *name, int *weights);
/* Neural method: the loss tolerance ε in nats per byte, in (0, 1); 0 (the
 * default): λ̂ / n, the MDL-optimal tolerance. */
NMDL_NODISCARD int nmdl_cctx_set_epsilon(nmdl_cctx *c, double epsilon);
/* Neural method: shape the row steps by the SGLD chains' posterior spread
 * instead of the rows' RMS (an experiment of round's search, so with the
 * default weight code it selects ROUND; default 0). */
NMDL_NODISCARD int nmdl_cctx_set_posterior_rows(nmdl_cctx *c, int on);
/* Neural method: settings of the learning-coefficient estimate (see
 * nmdl_llc_settings; threads are the context's). */
NMDL_NODISCARD int nmdl_cctx_set_llc(nmdl_cctx *c, const nmdl_llc_settings *s);
/* Called in every phase of nmdl_compress (see nmdl_progress_fn); a
 * non-zero return cancels it with NMDL_ERR_CANCELED, and its report says
 * the phase (stopped_phase). NULL: no calls. */
void nmdl_cctx_set_progress(nmdl_cctx *c, nmdl_progress_fn fn, void *user);

/* Largest frame nmdl_compress can write for src_len input bytes (with the
 * fallback allowed, see nmdl_cctx_set_fallback); 0 when src_len is more
 * than nmdl_compress takes (2^62 bytes, or where the bound would wrap). */
size_t nmdl_compress_bound(size_t src_len);
/* Compresses into dst. The zstd candidate is made in dst itself, so on an
 * error the contents of dst are unspecified; a dst_cap of
 * nmdl_compress_bound(src_len) is always enough with the fallback. */
NMDL_NODISCARD int nmdl_compress(nmdl_cctx *c, void *dst, size_t dst_cap,
                                 size_t *dst_len, const void *src,
                                 size_t src_len);
/* The same into a buffer the library allocates (free with nmdl_free):
 * no bound needed, and the work is never lost to a small destination. */
NMDL_NODISCARD int nmdl_compress_alloc(nmdl_cctx *c, const void *src,
                                       size_t src_len, void **dst,
                                       size_t *dst_len);

/* What nmdl_compress would do with the context's settings on src_len
 * bytes, and how long it should take on this machine. */
typedef struct nmdl_estimate {
    int neural;                 /* 1: the neural method will be tried */
    int effort;                 /* the context's effort */
    nmdl_model_config model;    /* neural: the model it trains (the one
                                   given, or the effort's for its size) */
    double free_bytes;          /* the bytes that matches of 16 or more
                                   predict; 0 with --pure */
    int sized_by_matches;       /* 1: the model is the preset for the
                                   src_len - free_bytes bytes outside long
                                   matches, smaller than src_len's */
    uint64_t n_params;
    long train_steps, tune_steps;
    double work;                /* the whole call in work units (model
                                   FLOPs at the cost of training) */
    double phase_work[NMDL_PHASES]; /* by nmdl_phase; the LLC's planned
                                   with a sweep of one step size, the
                                   search's with 12 budgets (and 3 tuned
                                   finalists), the usual counts */
    double rate;                /* work units per second on this machine,
                                   from the probe; 0 without one */
    double seconds;             /* work / rate; NaN without a rate */
    double phase_seconds[NMDL_PHASES];
} nmdl_estimate;

/* Plans the call nmdl_compress(c, ..., src, src_len) would make and, with
 * probe_s > 0, trains its model on src for about probe_s seconds (after
 * two steps that size the run, at least one more) to measure this
 * machine's rate. The context keeps the rate of
 * its last probe for that model and thread count: estimates for other
 * efforts of the same model need no second probe (probe_s may then be 0),
 * and the next nmdl_compress starts its ETA from it. */
NMDL_NODISCARD int nmdl_cctx_estimate(nmdl_cctx *c, const void *src,
                                      size_t src_len, double probe_s,
                                      nmdl_estimate *e);

#define NMDL_CANDIDATES_MAX 24 /* budgets a report lists */
/* What the last nmdl_compress measured; the neural fields are 0 when the
 * neural method was not tried. After a cancel it holds what was done until
 * then (the steps run, the seconds) and the phase it stopped in. */
typedef struct nmdl_compress_report {
    int stopped_phase;         /* -1: ran to the end; else the nmdl_phase in
                                  which it was canceled */
    nmdl_method method;        /* the method written */
    uint64_t neural_bytes;     /* size of the neural frame (0: not tried) */
    uint64_t zstd_bytes;       /* size of the zstd frame (0: not tried, or
                                  not shorter than the input) */
    uint64_t stored_bytes;     /* size of the stored frame */
    uint64_t mix_bytes;        /* size of the mix frame (0: not tried, or,
                                  with the fallback, beyond the default
                                  ratio limit) */
    uint64_t n_params;         /* neural: parameters of the model */
    uint64_t model_bytes;      /* neural: model part */
    uint64_t data_bytes;       /* neural: data part */
    double bits_per_weight;    /* neural: model part bits per parameter */
    double delta;              /* neural: step size, in row RMS units */
    double loss_train_bpb;     /* neural: final training loss, bits/byte */
    double data_bpb;           /* neural: data part bits per input byte */
    double pure_data_bytes;    /* neural: the data part under the transformer
                                  alone, the instrument's (ideal code length;
                                  data_bytes itself with pure); a transformer
                                  trained for the match model's leftovers
                                  (repeats weight below 1) codes the repeats
                                  worse than one trained alike */
    int data_code;             /* neural: the data part's code (as info's
                                  match) */
    int other_code;            /* with merged symbols the data is coded in
                                  two codes: the longer one's, not written
                                  (0: coded once)... */
    double other_data_bytes;   /* ...and its data part; 0 and NaN: the data
                                  was coded once */
    int effort;                /* neural: the effort (recorded in the frame) */
    int weights;               /* neural: NMDL_WEIGHTS_* (recorded too) */
    double model_estimate_bits; /* neural, trained for the DL: the bits its
                                   cost table expected the weights' levels
                                   to cost */
    double model_level_bits;   /* and the bits the coder spent on them (the
                                  model part less its header, steps and row
                                  exponents) */
    long train_steps, tune_steps; /* neural: steps run */
    long early_stop_step;      /* neural: > 0: training stopped after this
                                  step and no neural frame was made */
    long probe_step;           /* neural: the early stop's last probe (0:
                                  none), after this training step: */
    double probe_bound_bytes;  /* both parts take at least this, */
    double probe_loss_bpb;     /* by the sample loss then, bits/byte */
    int segments;
    int merges;                /* neural: byte pairs merged (tokens); then
                                  the LLC's samples, ε included, are the
                                  symbols, not bytes */
    double zstd_s;             /* seconds of the zstd candidate */
    double mix_s;              /* and of the mix candidate */
    double train_s, tune_s, code_s; /* neural: seconds of each phase */
    /* neural: the budget (see nmdl_cctx_set_budget); NaN when not known */
    int budget_mode;
    double budget_bits;        /* the budget chosen, bits per weight */
    double llc, llc_se, nbeta, llc_step, mala; /* the estimate, as llc */
    double llc_gamma;          /* its localization γ */
    int llc_chains, llc_burnin, llc_draws; /* its chains, and steps of each
                                              (these five: llc_healthy >= 0) */
    int llc_start;             /* NMDL_LLC_START_COLD or _MIXED */
    int llc_healthy;           /* -1: not estimated */
    char llc_warning[200];
    char llc_repairs[200];     /* as nmdl_llc_report's repairs */
    long llc_cool_steps;       /* > 0: the estimate is of a copy of the
                                  weights cooled this many steps, since the
                                  trained ones are no minimum
                                  (nmdl_llc_settings.cool) */
    char llc_cool[256];        /* that descent in words ("" when none) */
    double epsilon;            /* loss tolerance, nats per byte */
    double b_star;             /* (λ̂/d) log2(1/ε), bits per weight */
    double predicted_model_bits; /* λ̂ log2(1/ε) */
    double loss_float_bpb;     /* float model on the search's sample */
    double priced_bytes;       /* bytes the search, or a code trained for the
                                  DL, priced at the sample loss: n - 1, less
                                  the long matches' hits with the match
                                  model (0: neither ran) */
    double free_bytes;         /* neural: f, the bytes that matches of 16 or
                                  more predict (0 with --pure) */
    double llc_s, search_s;    /* seconds */
    char budget_note[256];     /* what happened instead of the plan */
    int n_candidates;          /* budgets the search tried, in order: */
    double cand_bits[NMDL_CANDIDATES_MAX], cand_model_bits[NMDL_CANDIDATES_MAX],
        cand_loss_bpb[NMDL_CANDIDATES_MAX], /* budget, model bits, sample loss, */
        cand_dl_bits[NMDL_CANDIDATES_MAX];  /* estimated DL in bits */
    int cand_tuned[NMDL_CANDIDATES_MAX];    /* 1: measured after brief fine-tuning */
} nmdl_compress_report;

void nmdl_cctx_report(const nmdl_cctx *c, nmdl_compress_report *r);

/* -------------------------------------------------------------- decompress */

typedef struct nmdl_dctx nmdl_dctx;

nmdl_dctx *nmdl_dctx_create(void);
void nmdl_dctx_free(nmdl_dctx *d);
/* Worker threads, >= 1 (default 1). The neural decoder codes up to 4
 * segments per thread at a time, all threads over one shared copy of the
 * weights. */
NMDL_NODISCARD int nmdl_dctx_set_threads(nmdl_dctx *d, int threads);
/* A team that decodes together (see nmdl_team; NULL, the default: this
 * process alone). Every member makes the same call on the same frame; the
 * members decode shares of a neural frame's segments and exchange them, so
 * each returns the whole output and the same code (a member whose writer
 * or progress callback fails stops them all). Each member holds the whole
 * output while decoding, also with nmdl_decompress_stream, and the memory
 * limit counts it. A member that cannot allocate a few bytes per member
 * before the first exchange cannot take part (NMDL_ERR_NOMEM) and the
 * others wait: the caller ends the team. The team is copied; its user
 * pointer must outlive the context. */
NMDL_NODISCARD int nmdl_dctx_set_team(nmdl_dctx *d, const nmdl_team *team);
/* Called while nmdl_decompress decodes (phase "decode", the fraction of
 * the bytes decoded; see nmdl_progress_fn); a non-zero return cancels it
 * with NMDL_ERR_CANCELED. NULL: no calls. */
void nmdl_dctx_set_progress(nmdl_dctx *d, nmdl_progress_fn fn, void *user);

#define NMDL_MEMORY_DEFAULT (256ull << 20) /* bytes, see nmdl_dctx_set_memory */
#define NMDL_MEMORY_MIN (1ull << 20)
/* The memory decoding may take besides the input and the caller's output
 * buffer, in bytes (>= NMDL_MEMORY_MIN; default NMDL_MEMORY_DEFAULT), as
 * zstd's --memory: a neural frame's need is computed from its header before
 * anything is allocated (weights, then up to 4 segments' caches per thread,
 * fewer when memory is short), and zstd's window may not exceed it. A frame
 * that needs more is refused with NMDL_ERR_LIMIT, the figure in
 * nmdl_dctx_error_detail. */
NMDL_NODISCARD int nmdl_dctx_set_memory(nmdl_dctx *d, uint64_t bytes);

#define NMDL_MAX_RATIO_DEFAULT 4096 /* see nmdl_dctx_set_max_ratio */
/* The most decompressed bytes a neural or mix frame may yield per byte of
 * frame (default NMDL_MAX_RATIO_DEFAULT, far above what real neural files
 * reach, see docs/FORMAT.md; 0: no limit). A model can code a megabyte in
 * a few bytes and decodes at kilobytes per second (the mixer at a few
 * hundred), so a small frame could keep a decoder busy for hours; beyond
 * the ratio the frame is refused with NMDL_ERR_LIMIT before decoding.
 * Stored and zstd frames decode fast and are not limited. */
NMDL_NODISCARD int nmdl_dctx_set_max_ratio(nmdl_dctx *d, uint64_t ratio);

/* One line about the last error of nmdl_decompress or
 * nmdl_decompress_stream on d, naming the field or limit, e.g. "model
 * part: head width 300 exceeds 256" or "memory: decoding needs 1200.5 MiB,
 * above the limit of 256.0 MiB"; "" when there is nothing to add. Valid
 * until the next call on d; never NULL. */
const char *nmdl_dctx_error_detail(const nmdl_dctx *d);

/* Decodes one whole frame. dst_cap must be at least info.original_bytes.
 * The frame checksum is verified before decoding and the content checksum
 * after; on any error the contents of dst are unspecified. */
NMDL_NODISCARD int nmdl_decompress(nmdl_dctx *d, void *dst, size_t dst_cap,
                                   size_t *dst_len, const void *src,
                                   size_t src_len);

/* Takes the next len bytes of decompressed data. Returns 0 to go on;
 * anything else stops decoding, and nmdl_decompress_stream returns it (so
 * return a negative value and keep the reason yourself). */
typedef int (*nmdl_write_fn)(void *user, const void *data, size_t len);

/* Decodes one whole frame, handing the data to write in order as it is
 * decoded, without holding all of it: stored data in one piece, zstd in
 * pieces of ZSTD_DStreamOutSize(), neural frames batch by batch of
 * consecutive segments (the bits are those of nmdl_decompress; with the
 * match model, which reads the data decoded before, the whole output is
 * held, as nmdl_dctx_set_memory's estimate counts). The
 * content checksum can only be compared at the end: the data is verified
 * only when this returns NMDL_OK, so write it somewhere the caller does
 * not trust (a temporary file) until then. */
NMDL_NODISCARD int nmdl_decompress_stream(nmdl_dctx *d, const void *src,
                                          size_t src_len, nmdl_write_fn write,
                                          void *user);

/* -------------------------------------------------------------------- info */

/* Where every byte of a frame goes: header_bytes + model_bytes + data_bytes
 * + checksum_bytes == file_bytes. */
typedef struct nmdl_info {
    unsigned version;        /* frame format version */
    nmdl_method method;      /* method of the data part */
    uint64_t original_bytes; /* size of the decompressed data */
    uint64_t file_bytes;     /* size of the whole frame */
    uint64_t header_bytes;   /* magic, version, method, flags, lengths */
    uint64_t model_bytes;    /* model part (0 for stored and zstd) */
    uint64_t data_bytes;     /* data part */
    uint64_t checksum_bytes; /* content and frame checksums */
    int has_alternative;     /* the encoder recorded the method it beat */
    nmdl_method alternative_method;
    uint64_t alternative_bytes; /* the size that method's frame had */
    /* neural frames only, from the parts' headers (0 otherwise; mix frames
       set match and segments too) */
    nmdl_model_config model;
    uint64_t n_params;
    int per_row;             /* steps per row (1) or per tensor (0) */
    int match;               /* the data part mixes the match model (1),
                                and the context mixer (2), both in their
                                revision r (r + 1, r = 2 to 8), or is the
                                transformer's alone (0, --pure) */
    int segments;            /* independent streams of the data part */
    int merges;              /* merged byte pairs (nmdl_cctx_set_tokens) */
    uint64_t symbols;        /* symbols the data part codes: the original
                                bytes, fewer with merges */
    int symbols_occurring;   /* symbols in the model's symbol set (256
                                without one; sets from revision 5 on) */
    /* the encoder's measurements, when it recorded them (in the header) */
    int has_report;
    int effort;              /* the encoder's effort; 0: not recorded */
    int weights;             /* NMDL_WEIGHTS_*; -1: not recorded (a
                                file never records AUTO) */
    int budget_mode;         /* NMDL_BUDGET_* */
    double budget_bits;      /* the budget the encoder chose */
    double llc, llc_se, nbeta, llc_step, mala; /* NaN: not estimated */
    double epsilon, b_star;  /* tolerance (nats/byte), theory's budget */
    double loss_float_bpb;   /* float model on the encoder's sample */
    double llc_cool_steps;   /* > 0: llc is of a copy of the weights cooled
                                this many steps (nmdl_llc_settings.cool);
                                NaN: not recorded (before report version 4) */
    double llc_gamma, llc_chains, llc_burnin,
        llc_draws;           /* the rest of the estimate's settings: γ,
                                chains, burn-in and draws per chain */
    double llc_healthy;      /* 1: the chains passed the health checks, 0:
                                they did not (b* is then NaN); these five NaN
                                when not estimated or not recorded (before
                                report version 5) */
    double llc_start;        /* NMDL_LLC_START_COLD or _MIXED; NaN when not
                                estimated or not recorded (before version 6,
                                whose estimates started cold) */
    uint64_t report_bytes;   /* bytes of the record, within header_bytes */
} nmdl_info;

/* Parses and validates one frame of exactly src_len bytes (structure and
 * frame checksum; the content checksum needs decoding, see
 * nmdl_decompress). */
NMDL_NODISCARD int nmdl_info_read(const void *src, size_t src_len,
                                  nmdl_info *info);

/* One tensor of a neural frame's model (nmdl_info_tensors). */
#define NMDL_TENSORS_MAX 260 /* tensors a model can have */
typedef struct nmdl_tensor_info {
    char name[16];     /* "wte", "h0.wqkv", "lnf_g", ... */
    uint64_t n_params;
    uint64_t zeros;    /* parameters whose level is 0 */
    double bits;       /* what its levels cost in the model part: the ideal
                          code length under the coder's adaptive models,
                          plus its codebook's bytes */
    int centroids;     /* its codebook's size (--weights cluster); 0: uniform levels */
} nmdl_tensor_info;

/* Per tensor of a neural frame's model part, in parameter order: up to cap
 * entries into out, their number into *n (at most NMDL_TENSORS_MAX), and
 * into *rexp_bits what the rows' step exponents cost. Decodes the model
 * part (as decoding does, with its limits). NMDL_ERR_METHOD when the frame
 * is not neural. */
NMDL_NODISCARD int nmdl_info_tensors(const void *src, size_t src_len,
                                     nmdl_tensor_info *out, int cap, int *n,
                                     double *rexp_bits);

/* A file is one or more frames in sequence. This finds where the frame that
 * starts at src ends: *frame_len, its length in bytes, from its header alone
 * (nothing is verified beyond the header: pass those bytes to nmdl_info_read
 * or nmdl_decompress). NMDL_ERR_TRUNCATED when src_len is shorter than the
 * frame, NMDL_ERR_NOT_NMDL when src does not start with one, or the
 * header's own error (version, method, a malformed length). */
NMDL_NODISCARD int nmdl_frame_length(const void *src, size_t src_len,
                                     size_t *frame_len);

/* ------------------------------------------------------------------ models
 *
 * The transformer on its own, for people who study the model apart from the
 * codec (`nmdl train`, `nmdl eval`). Training uses OpenBLAS and threads; its
 * weights are reproducible for a fixed seed and thread count. */

typedef struct nmdl_model nmdl_model;

/* A model with freshly initialised weights (normal, std 0.02). */
NMDL_NODISCARD int nmdl_model_create(const nmdl_model_config *cfg,
                                     uint64_t seed, nmdl_model **out);
void nmdl_model_free(nmdl_model *m);
void nmdl_model_get_config(const nmdl_model *m, nmdl_model_config *cfg);
size_t nmdl_model_n_params(const nmdl_model *m);

typedef struct nmdl_train_params {
    long steps;          /* optimizer steps; 0: as many as `minutes` allow */
    double minutes;      /* wall-clock budget when steps == 0 */
    int batch;           /* windows of ctx bytes per step */
    double lr;           /* peak learning rate; 0 (the default): by the
                            model's width, 0.005 up to d_model 96 (the tiny,
                            mini and small presets), 0.002 above */
    double warmup;       /* fraction of the steps with linear warmup */
    double lr_final;     /* final learning rate, as a fraction of lr;
                            negative (the default): by the model's width,
                            0.02 up to d_model 64, 0.1 above */
    double weight_decay; /* AdamW decoupled decay, matrices only */
    double beta1, beta2, eps;
    double clip;         /* clip the global gradient norm to this; 0: off */
    uint64_t seed;       /* order of the training windows */
    int threads;         /* >= 1 */
    /* may be NULL; phase "train", fraction and ETA of this run. Here a
     * non-zero return stops training early and keeps the weights
     * (nmdl_model_train returns NMDL_OK and the steps run), unlike the
     * compression's callback, which cancels */
    nmdl_progress_fn progress;
    void *progress_user;
    /* called with the model after every checkpoint_every steps (0: never);
     * a non-zero return stops training */
    int (*checkpoint)(void *user, const nmdl_model *m, long step);
    void *checkpoint_user;
    long checkpoint_every;
    /* may be NULL: one process; see nmdl_team. progress and checkpoint are
     * called on every member */
    const nmdl_team *team;
    /* may be NULL: a flag per byte of the data (n); the loss of predicting a
     * flagged byte weighs cheap_weight (0..1) times another's in the
     * gradient, the weights scaled to mean 1 over the data (nmdl_compress
     * flags the bytes its match model gets in long matches). The reported
     * losses weigh every byte alike. */
    const uint8_t *cheap;
    float cheap_weight;
} nmdl_train_params;

void nmdl_train_params_default(nmdl_train_params *p);

typedef struct nmdl_train_report {
    long steps;
    double tokens;         /* bytes trained on, counting repeats */
    double seconds;
    double loss_bpb;       /* mean training loss of the last 5% of the steps
                              run, bits per byte */
} nmdl_train_report;

/* Trains on data[0..n) with AdamW, warmup and cosine decay. The data must
 * be longer than the context window. */
NMDL_NODISCARD int nmdl_model_train(nmdl_model *m, const void *data, size_t n,
                                    const nmdl_train_params *p,
                                    nmdl_train_report *report);
/* Bits per byte of data under the float model: every byte after the first
 * is predicted from at least ctx/2 bytes before it where there are that
 * many (windows of ctx advanced by ctx/2). */
NMDL_NODISCARD int nmdl_model_eval(nmdl_model *m, const void *data, size_t n,
                                   int threads, double *bits_per_byte);
/* Bits of data[from..n) under the float model, 1 <= from < n, each byte
 * predicted as nmdl_model_eval predicts it from the bytes before it (at
 * least ctx/2 of them where there are that many, data[0..from) included):
 * the cost of one block of the prequential code. */
NMDL_NODISCARD int nmdl_model_code_length(nmdl_model *m, const void *data, size_t n,
                                          size_t from, int threads, double *bits);

/* ------------------------------------------------- learning coefficient
 *
 * The local learning coefficient λ of a trained model, estimated with SGLD
 * or pSGLD on the localized tempered posterior around its weights (see
 * model/llc.h for the update rules and conventions, which follow devinterp).
 * The loss is in nats per byte. */

enum { NMDL_SAMPLER_SGLD = 0, NMDL_SAMPLER_PSGLD = 1 };
/* Where the chains start: all at the trained weights w* (cold), or half
 * there and half at w* + N(0, 1/γ), the localization's equilibrium, so
 * that the two halves approach the estimate from both sides (mixed, the
 * default: half the burn-in; model/llc.h). */
enum { NMDL_LLC_START_COLD = 0, NMDL_LLC_START_MIXED = 1 };
#define NMDL_LLC_SWEEP_MAX 10
#define NMDL_LLC_CHAINS 4 /* chains of nmdl_model_llc by default */

struct nmdl_llc_settings {
    int sampler;      /* NMDL_SAMPLER_SGLD (default) or _PSGLD */
    double step;      /* ε; 0 (default): chosen by a sweep from 0.021/nβ
                         down (docs/ARCHITECTURE.md) */
    double nbeta;     /* nβ; 0 (default): n / ln n, n the predicted bytes (input bytes - 1) */
    double gamma;     /* localization (default 1e4) */
    int chains;       /* 0 (default): NMDL_LLC_CHAINS; a compression runs
                         fewer, or none where they would cost more than a
                         tenth of training (docs/ARCHITECTURE.md) */
    int start;        /* NMDL_LLC_START_MIXED (default) or _COLD */
    int burnin;       /* -1 (default): 100, and after a swept step at least
                         the relaxation time 2/(εγ), half of it with mixed
                         starts, up to 2000; else exactly this many */
    int draws;        /* default 100 */
    int batch;        /* windows of ctx bytes per minibatch (default 4) */
    uint64_t seed;
    int threads;      /* chains run on up to this many threads */
    const nmdl_team *team; /* NULL: this process alone; else its members
                         share the chains (the result does not change) */
    int repairs;      /* at most this many reruns of an unhealthy estimate
                         with a remedy for its fault (more chains, burn-in,
                         localization, a smaller step; model/llc.h); default
                         3; a compression that chose its own chains runs
                         none (it needs no b*: the search decides), but
                         still cools (below) */
    int cool;         /* -1 (default): NMDL_LLC_COOL steps; 0: never. When
                         the sweep finds w* no minimum (its chains settle
                         below L(w*) at an accepted step), a copy of the
                         weights trains this many steps at a rate falling
                         from the end of the model's default schedule to 2%
                         of it, and the estimate is made there (the model
                         itself is left as it is); a compression's default
                         is 1/40 of its training steps */
};
#define NMDL_LLC_COOL 500

typedef struct nmdl_llc_report {
    double llc, llc_se;     /* mean over chains (mixed starts: of the two
                               halves' means), standard error */
    int start;              /* NMDL_LLC_START_COLD or _MIXED */
    double llc_cold, llc_warm; /* mixed: the halves' means (from w* and from
                               the warm start); NaN otherwise */
    double nbeta, step, gamma;
    double init_loss_bpb;   /* L(w*) by the minibatch convention, bits/byte */
    double mala;            /* mean MALA acceptance (about 0.9 is healthy) */
    int chains, steps, burnin, batch;
    int healthy;            /* 0: see warning */
    char warning[200];
    char repairs[200];      /* what was changed to repair an unhealthy run
                             * (nmdl_llc_estimate_repaired in model/llc.h:
                             * more chains, burn-in, gamma, a smaller step),
                             * "" when nothing; the fields above are the
                             * last run's */
    /* the step-size sweep, when step was 0 */
    int sweep_n, sweep_chosen; /* chosen: index, -1 when none was healthy */
    int sweep_below;        /* 1: the sweep stopped at an accepted step whose
                               chains settled below L(w*): w* is no minimum */
    double sweep_step[NMDL_LLC_SWEEP_MAX], sweep_llc[NMDL_LLC_SWEEP_MAX],
        sweep_mala[NMDL_LLC_SWEEP_MAX];
    int sweep_healthy[NMDL_LLC_SWEEP_MAX];
    /* the cold descent (nmdl_llc_settings.cool); the sweep above is the
       one run after it, the fields above describe the cooled weights */
    long cool_steps;        /* 0: w* was not cooled */
    double cool_lr, cool_lr_final; /* the rate it fell from and to */
    double cool_llc, cool_llc_step; /* what the first sweep read where it
                               stopped below L(w*) */
    double cool_from_bpb, cool_to_bpb; /* the loss on a fixed sample (up to
                               64 evenly spread windows, the budget search's)
                               before and after, bits/byte */
    double cool_shift;      /* RMS of the change over the RMS of w* */
    double *trace;          /* (chains, steps) minibatch loss, bits/byte */
} nmdl_llc_report;

void nmdl_llc_settings_default(nmdl_llc_settings *s);
/* Estimates λ of m around its current weights on data[0..n), or around a
 * cooled copy of them where they are no minimum (cool_steps). With no
 * healthy step in the sweep it still estimates at the smallest one tried
 * and says so in warning. */
NMDL_NODISCARD int nmdl_model_llc(nmdl_model *m, const void *data, size_t n,
                                  const nmdl_llc_settings *s,
                                  nmdl_llc_report *r);
void nmdl_llc_report_free(nmdl_llc_report *r);

/* Compressibility as in seed 001: the smallest number of quantization
 * levels n_q (every matrix on n_q evenly spaced levels of [-m, m], the
 * trimming m = κ max|w| with κ chosen to minimize the loss) and the smallest
 * fraction of singular values (every matrix truncated alike) at which the
 * loss on a fixed sample of windows rises by at most epsilon (nats/byte);
 * the largest Gaussian noise (relative to each matrix's RMS) and the
 * largest magnitude-pruned fraction (of every matrix) within the same
 * tolerance. LayerNorm vectors stay in float throughout. */
typedef struct nmdl_compressibility {
    double epsilon;               /* nats per byte */
    double loss_bpb;              /* the float model on the sample */
    int windows;                  /* windows of ctx bytes in the sample */
    int critical_levels;          /* n_q; 0: none up to 65536 */
    double critical_bits;         /* log2(n_q) */
    double trim;                  /* κ at n_q */
    double loss_levels_bpb;       /* the loss there */
    double critical_svd_fraction; /* in (0, 1], in steps of 1/64 */
    double loss_svd_bpb;
    double critical_noise;          /* largest σ, × each matrix's RMS, of
                                     * Gaussian noise on 2^(k/8 - 12);
                                     * 0: none */
    double loss_noise_bpb;          /* mean over 3 fixed draws there */
    double critical_prune_fraction; /* largest fraction of every matrix's
                                     * smallest-magnitude weights set to 0,
                                     * in [0, 1] in steps of 1/256 */
    double loss_prune_bpb;
} nmdl_compressibility;

NMDL_NODISCARD int nmdl_model_compressibility(nmdl_model *m, const void *data,
                                              size_t n, double epsilon,
                                              int threads,
                                              nmdl_compressibility *out);

/* ----------------------------------------------------------- the teacher
 *
 * A source whose entropy is known (seed 002's teacher, for text): n bytes
 * sampled from the model's coding-path distribution at a temperature (1:
 * the model itself; lower sharpens it), in `streams` independent streams
 * written one after another (with n = q·streams + r, the first r hold q + 1
 * bytes, the others q; at most n streams), each from a uniform byte. bits
 * (n floats, or NULL) receives each byte's code length under the teacher,
 * -log2 of its probability in the coder's 2^24 table, so a prefix's sum is
 * its exact ideal code length;
 * *total_bits is the sum over all n. For one model, temperature, stream
 * count and seed the bytes are the same on every machine. NMDL_ERR_ARG
 * outside the limits below. */
#define NMDL_TEACHER_MIN_T 0.01
#define NMDL_TEACHER_MAX_T 100.0
#define NMDL_TEACHER_MAX_STREAMS 4096
NMDL_NODISCARD int nmdl_teacher_sample(const nmdl_model *m, double temperature,
                                       int streams, uint64_t seed, size_t n,
                                       void *out, float *bits,
                                       double *total_bits);

/* A checkpoint (docs/FORMAT.md) in a buffer the caller frees with
 * nmdl_free(). NMDL_ERR_CORRUPT where a weight is NaN or infinite (a
 * diverged run): save writes none and load rejects them. */
NMDL_NODISCARD int nmdl_model_save(const nmdl_model *m, void **buf,
                                   size_t *len);
NMDL_NODISCARD int nmdl_model_load(const void *buf, size_t len,
                                   nmdl_model **out);
void nmdl_free(void *p);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* NMDL_H */
