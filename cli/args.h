/*
 * args.h: the nmdl command line, parsed into one struct.
 *
 *   nmdl [COMMAND] [OPTIONS] [FILE...]
 *
 * As zstd's: without a COMMAND word nmdl compresses, and the mode flags -z,
 * -d, -t and -l choose the mode; called as `unnmdl` it decompresses, as
 * `nmdlcat` it decompresses to standard output. Short flags may be grouped
 * (-kf), values may be attached or separate (-T2, -T 2, --threads=2,
 * --threads 2), "--" ends the options and "-" names standard input. Every
 * option names the commands it applies to; any other use is an error.
 */
#ifndef NMDL_CLI_ARGS_H
#define NMDL_CLI_ARGS_H

#include <stdint.h>

#include "nmdl.h"

typedef enum cli_command {
    CLI_NONE, /* bare `nmdl`: the usage */
    CLI_COMPRESS,
    CLI_DECOMPRESS,
    CLI_TEST,  /* -t: decompress, verify, write nothing */
    CLI_LIST,  /* -l: one table row per file */
    CLI_INFO,
    CLI_TRAIN,
    CLI_EVAL,
    CLI_LLC,
    CLI_COMPRESSIBILITY,
    CLI_SWEEP,
    CLI_TEACHER,
    CLI_HELP,
    CLI_VERSION
} cli_command;

typedef struct cli_opts {
    cli_command command;
    const char **inputs; /* FILE arguments; "-" is standard input */
    int n_inputs;
    const char *output;  /* -o, or NULL */
    int to_stdout;       /* -c */
    int force;           /* -f: overwrite outputs, write to a terminal */
    int remove_input;    /* --rm: delete inputs after success */
    int json;            /* --json: records as JSON (docs/JSON.md) */
    int verbosity;       /* 0 with -q, 1 by default, 2+ with -v */
    int threads;         /* -T; 0 means one per core */
    uint64_t memory;     /* --memory: decoder memory limit, bytes; 0 = default */
    long long max_ratio; /* --max-ratio: neural or mix output per frame byte; -1 = default */
    int method;          /* --method, an nmdl_method */
    /* train */
    const char *preset;  /* --preset, or NULL for the size-based choice */
    long steps;          /* --steps, 0 = not given */
    double minutes;      /* --minutes, 0 = not given */
    int batch;           /* --batch, 0 = default */
    double lr;           /* --lr, 0 = default */
    uint64_t seed;       /* --seed */
    int untied;          /* --untied: separate output projection */
    long save_every;     /* --save-every N: checkpoints during training */
    /* sweep */
    const char *sizes;   /* --sizes 64K,256K,... (sweep; teacher's prefixes) */
    const char *out_dir; /* --out DIR */
    /* teacher */
    const char *bytes;   /* --bytes: how many to sample, e.g. 1M */
    double temperature;  /* --temperature; 0 = 1 */
    int streams;         /* --streams; 0 = default */
    /* neural method */
    int effort;          /* -1 .. -9, --effort; 0 = default */
    double bits;         /* --bits: bits per weight; 0 = the effort's */
    int per_tensor;      /* --per-tensor: one quantization step per tensor */
    int pure;            /* --pure: the transformer alone codes the data */
    int segments;        /* --segments: 0 by size */
    int tokens;          /* --tokens 1, --no-tokens 0, else -1 (by size) */
    int prequential;     /* --prequential (sweep): the online code too */
    int no_fallback;     /* --no-fallback: write the method asked for */
    int no_early_stop;   /* --no-early-stop: train the neural model to the end */
    /* llc, and the budget of the neural method */
    int sampler;         /* --sampler sgld|psgld (0, 1) */
    int start;           /* --start cold|mixed (NMDL_LLC_START_*); -1 = default */
    double step;         /* --step: SGLD step size; 0 = calibrate */
    double nbeta;        /* --nbeta; 0 = n / ln n */
    double gamma;        /* --gamma: localization; 0 = default */
    int chains, burnin, draws; /* 0 (burnin -1) = defaults */
    int repairs, has_repairs;  /* --repairs: reruns of an unhealthy estimate */
    int cool;            /* --cool: steps of the cold descent; -1 = default */
    const char *csv, *svg;     /* --csv, --svg: where llc writes traces */
    double epsilon;      /* --epsilon: loss tolerance, nats per byte; 0 = λ/n */
    const char *budget;  /* --budget search|bstar */
    int posterior_rows;  /* --row-steps posterior (default rms) */
    int weights, has_weights; /* --weights: how the weights are trained */
    const nmdl_team *team; /* MPI ranks compressing together (cli/team.h);
                              NULL: this process alone */
} cli_opts;

/* Parses argv into *o (o->inputs is malloc'd, free it; argv[0] is the
 * program's name). On a usage error prints one line to stderr and returns
 * -1. */
int cli_parse(int argc, char **argv, cli_opts *o);

#endif /* NMDL_CLI_ARGS_H */
