/*
 * args.c: see args.h. Every option is one row of a table; long and short
 * spellings both end in apply().
 */
#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmdl.h"

/* options with no short form */
enum { OPT_RM = 256, OPT_JSON, OPT_METHOD, OPT_PRESET, OPT_STEPS, OPT_MINUTES,
       OPT_BATCH, OPT_LR, OPT_SEED, OPT_UNTIED, OPT_EFFORT, OPT_BITS,
       OPT_PER_TENSOR, OPT_NO_FALLBACK, OPT_SAMPLER, OPT_STEP, OPT_NBETA,
       OPT_GAMMA, OPT_CHAINS, OPT_BURNIN, OPT_DRAWS, OPT_CSV, OPT_SVG,
       OPT_EPSILON, OPT_BUDGET, OPT_ROW_STEPS, OPT_SAVE_EVERY, OPT_SIZES,
       OPT_OUT, OPT_MEMORY, OPT_MAX_RATIO };

static const struct {
    const char *name; /* long spelling, without "--" */
    int key;          /* short letter, or an OPT_ value */
    int has_value;
} options[] = {
    {"stdout", 'c', 0},  {"force", 'f', 0},  {"keep", 'k', 0},
    {"rm", OPT_RM, 0},   {"quiet", 'q', 0},  {"verbose", 'v', 0},
    {"test", 't', 0},    {"json", OPT_JSON, 0}, {"help", 'h', 0},
    {"version", 'V', 0}, {"output", 'o', 1}, {"threads", 'T', 1},
    {"method", OPT_METHOD, 1},  {"preset", OPT_PRESET, 1},
    {"steps", OPT_STEPS, 1},    {"minutes", OPT_MINUTES, 1},
    {"batch", OPT_BATCH, 1},    {"lr", OPT_LR, 1},
    {"seed", OPT_SEED, 1},      {"untied", OPT_UNTIED, 0},
    {"effort", OPT_EFFORT, 1},  {"bits", OPT_BITS, 1},
    {"per-tensor", OPT_PER_TENSOR, 0}, {"no-fallback", OPT_NO_FALLBACK, 0},
    {"sampler", OPT_SAMPLER, 1}, {"step", OPT_STEP, 1},
    {"nbeta", OPT_NBETA, 1},     {"gamma", OPT_GAMMA, 1},
    {"chains", OPT_CHAINS, 1},   {"burnin", OPT_BURNIN, 1},
    {"draws", OPT_DRAWS, 1},     {"csv", OPT_CSV, 1},
    {"svg", OPT_SVG, 1},         {"epsilon", OPT_EPSILON, 1},
    {"budget", OPT_BUDGET, 1},   {"row-steps", OPT_ROW_STEPS, 1},
    {"save-every", OPT_SAVE_EVERY, 1}, {"sizes", OPT_SIZES, 1},
    {"out", OPT_OUT, 1},
    {"memory", OPT_MEMORY, 1},  {"max-ratio", OPT_MAX_RATIO, 1},
};
#define N_OPTIONS (int)(sizeof options / sizeof options[0])

static const struct {
    const char *name;
    cli_command command;
} commands[] = {
    {"compress", CLI_COMPRESS}, {"decompress", CLI_DECOMPRESS},
    {"info", CLI_INFO},         {"train", CLI_TRAIN},
    {"eval", CLI_EVAL},         {"llc", CLI_LLC},
    {"compressibility", CLI_COMPRESSIBILITY}, {"sweep", CLI_SWEEP},
    {"help", CLI_HELP},
};

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "nmdl: %s%s%s (see 'nmdl --help')\n", what,
            arg ? ": " : "", arg ? arg : "");
    return -1;
}

static int parse_threads(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 1024)
        return usage_error("-T needs a thread count from 0 to 1024", s);
    *out = (int)v;
    return 0;
}

/* A number in [lo, hi]; the whole string must parse. */
static int parse_number(const char *opt, const char *s, double lo, double hi,
                        double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        char what[96];
        snprintf(what, sizeof what, "%s needs a number from %g to %g", opt, lo, hi);
        return usage_error(what, s);
    }
    *out = v;
    return 0;
}

/* A size as zstd's --memory takes it: bytes, or with K, M or G (also
 * spelled KB, KiB, ...) for powers of 1024. */
static int parse_size(const char *opt, const char *s, uint64_t *out)
{
    static const char *const units[] = {"", "K", "M", "G"};
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int k = 4;
    if (!errno && end != s && s[0] != '-')
        for (k = 0; k < 4; k++) {
            size_t u = strlen(units[k]);
            if (!strncmp(end, units[k], u) &&
                (!end[u] || (u && (!strcmp(end + u, "B") || !strcmp(end + u, "iB")))))
                break;
        }
    if (k == 4 || v == 0 || v > (UINT64_MAX >> (10 * k))) {
        char what[96];
        snprintf(what, sizeof what, "%s needs a size in bytes (suffixes K, M, G)", opt);
        return usage_error(what, s);
    }
    *out = (uint64_t)v << (10 * k);
    return 0;
}

static int apply(cli_opts *o, int key, const char *val)
{
    double v;
    nmdl_method m;
    switch (key) {
    case 'c': o->to_stdout = 1; break;
    case 'f': o->force = 1; break;
    case 'k': o->remove_input = 0; break;
    case OPT_RM: o->remove_input = 1; break;
    case 'q': o->verbosity = 0; break;
    case 'v': o->verbosity++; break;
    case 't': o->test = 1; break;
    case OPT_JSON: o->json = 1; break;
    case 'h': o->command = CLI_HELP; break;
    case 'V': o->command = CLI_VERSION; break;
    case 'o': o->output = val; break;
    case 'T': return parse_threads(val, &o->threads);
    case OPT_PRESET: o->preset = val; break;
    case OPT_PER_TENSOR: o->per_tensor = 1; break;
    case OPT_NO_FALLBACK: o->no_fallback = 1; break;
    case OPT_CSV: o->csv = val; break;
    case OPT_SIZES: o->sizes = val; break;
    case OPT_OUT: o->out_dir = val; break;
    case OPT_SVG: o->svg = val; break;
    case OPT_SAMPLER:
        if (strcmp(val, "sgld") && strcmp(val, "psgld"))
            return usage_error("--sampler is sgld or psgld", val);
        o->sampler = !strcmp(val, "psgld");
        break;
    case OPT_SAVE_EVERY:
        if (parse_number("--save-every", val, 1, 1e9, &v))
            return -1;
        o->save_every = (long)v;
        break;
    case OPT_ROW_STEPS:
        if (strcmp(val, "rms") && strcmp(val, "posterior"))
            return usage_error("--row-steps is rms or posterior", val);
        o->posterior_rows = !strcmp(val, "posterior");
        break;
    case OPT_BUDGET:
        if (strcmp(val, "search") && strcmp(val, "bstar"))
            return usage_error("--budget is search or bstar (or give --bits)", val);
        o->budget = val;
        break;
    case OPT_STEP:
        if (parse_number("--step", val, 1e-15, 1, &v))
            return -1;
        o->step = v;
        break;
    case OPT_NBETA:
        if (parse_number("--nbeta", val, 1e-6, 1e15, &v))
            return -1;
        o->nbeta = v;
        break;
    case OPT_GAMMA:
        if (parse_number("--gamma", val, 1e-9, 1e12, &v))
            return -1;
        o->gamma = v;
        break;
    case OPT_EPSILON:
        if (parse_number("--epsilon", val, 1e-12, 0.999999, &v))
            return -1;
        o->epsilon = v;
        break;
    case OPT_CHAINS:
    case OPT_BURNIN:
    case OPT_DRAWS:
        if (parse_number(key == OPT_CHAINS ? "--chains" : key == OPT_BURNIN ? "--burnin" : "--draws",
                         val, key == OPT_BURNIN ? 0 : 1, 1e6, &v))
            return -1;
        *(key == OPT_CHAINS ? &o->chains : key == OPT_BURNIN ? &o->burnin : &o->draws) = (int)v;
        break;
    case OPT_EFFORT:
        if (parse_number("--effort", val, 1, 9, &v))
            return -1;
        o->effort = (int)v;
        break;
    case OPT_BITS:
        if (parse_number("--bits", val, 0.01, 32, &v))
            return -1;
        o->bits = v;
        break;
    case OPT_UNTIED: o->untied = 1; break;
    case OPT_STEPS:
        if (parse_number("--steps", val, 1, 1e9, &v))
            return -1;
        o->steps = (long)v;
        break;
    case OPT_MINUTES:
        if (parse_number("--minutes", val, 1e-3, 1e6, &v))
            return -1;
        o->minutes = v;
        break;
    case OPT_BATCH:
        if (parse_number("--batch", val, 1, 4096, &v))
            return -1;
        o->batch = (int)v;
        break;
    case OPT_LR:
        if (parse_number("--lr", val, 1e-9, 10, &v))
            return -1;
        o->lr = v;
        break;
    case OPT_SEED:
        if (parse_number("--seed", val, 0, 9007199254740992.0, &v))
            return -1;
        o->seed = (uint64_t)v;
        break;
    case OPT_MEMORY:
        return parse_size("--memory", val, &o->memory);
    case OPT_MAX_RATIO:
        if (parse_number("--max-ratio", val, 0, 1e15, &v))
            return -1;
        o->max_ratio = (long long)v;
        break;
    case OPT_METHOD:
        if (nmdl_method_parse(val, &m))
            return usage_error("unknown method (neural, zstd or stored)", val);
        o->method = m;
        break;
    }
    return 0;
}

static int find_long(const char *name, size_t n)
{
    for (int k = 0; k < N_OPTIONS; k++)
        if (strlen(options[k].name) == n && !strncmp(options[k].name, name, n))
            return k;
    return -1;
}

static int find_short(char c)
{
    for (int k = 0; k < N_OPTIONS; k++)
        if (options[k].key == (unsigned char)c)
            return k;
    return -1;
}

/* argv[*i] is "--name" or "--name=value". */
static int long_option(int argc, char **argv, int *i, cli_opts *o)
{
    const char *arg = argv[*i] + 2, *eq = strchr(arg, '=');
    int k = find_long(arg, eq ? (size_t)(eq - arg) : strlen(arg));
    if (k < 0)
        return usage_error("unknown option", argv[*i]);
    if (!options[k].has_value) {
        if (eq)
            return usage_error("option takes no value", argv[*i]);
        return apply(o, options[k].key, NULL);
    }
    const char *val = eq ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
    if (!val)
        return usage_error("option needs a value", argv[*i]);
    return apply(o, options[k].key, val);
}

/* argv[*i] is a group of short flags such as "-kf" or "-T2". */
static int short_options(int argc, char **argv, int *i, cli_opts *o)
{
    for (const char *p = argv[*i] + 1; *p; p++) {
        if (*p >= '1' && *p <= '9') { /* -1 .. -9: effort */
            o->effort = *p - '0';
            continue;
        }
        int k = find_short(*p);
        if (k < 0) {
            char flag[3] = {'-', *p, 0};
            return usage_error("unknown option", flag);
        }
        if (!options[k].has_value) {
            if (apply(o, options[k].key, NULL))
                return -1;
            continue;
        }
        const char *val = p[1] ? p + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
        if (!val) {
            char flag[3] = {'-', *p, 0};
            return usage_error("option needs a value", flag);
        }
        return apply(o, options[k].key, val);
    }
    return 0;
}

static int parse_command(const char *s, cli_opts *o)
{
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (!strcmp(s, commands[k].name)) {
            o->command = commands[k].command;
            return 0;
        }
    if (s[0] == '-') /* "nmdl --help", "nmdl -V" */
        return 1;
    return usage_error("unknown command", s);
}

int cli_parse(int argc, char **argv, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->command = CLI_NONE;
    o->verbosity = 1;
    o->method = NMDL_METHOD_NEURAL;
    o->seed = 1;
    o->burnin = -1;
    o->max_ratio = -1;
    o->inputs = calloc((size_t)argc + 1, sizeof *o->inputs);
    if (!o->inputs)
        return usage_error("out of memory", NULL);
    if (argc < 2)
        return 0;
    int first = 1, rc = parse_command(argv[1], o);
    if (rc < 0)
        return -1;
    if (rc == 0)
        first = 2;
    int options_done = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || !strcmp(a, "-"))
            o->inputs[o->n_inputs++] = a;
        else if (!strcmp(a, "--"))
            options_done = 1;
        else if ((a[1] == '-' ? long_option(argc, argv, &i, o)
                              : short_options(argc, argv, &i, o)) < 0)
            return -1;
    }
    if (o->command == CLI_NONE)
        return usage_error("missing command before", argv[1]);
    return 0;
}
