/*
 * args.c: see args.h. Every option is one row of a table; long and short
 * spellings both end in apply().
 */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmdl.h"

/* options with no short form */
enum { OPT_RM = 256, OPT_JSON, OPT_METHOD, OPT_PRESET, OPT_STEPS, OPT_MINUTES,
       OPT_BATCH, OPT_LR, OPT_SEED, OPT_UNTIED, OPT_EFFORT, OPT_BITS,
       OPT_PER_TENSOR, OPT_NO_FALLBACK, OPT_SAMPLER, OPT_START, OPT_STEP, OPT_NBETA,
       OPT_GAMMA, OPT_CHAINS, OPT_BURNIN, OPT_DRAWS, OPT_CSV, OPT_SVG,
       OPT_EPSILON, OPT_BUDGET, OPT_ROW_STEPS, OPT_SAVE_EVERY, OPT_SIZES,
       OPT_OUT, OPT_WEIGHTS, OPT_MEMORY, OPT_MAX_RATIO, OPT_PURE, OPT_TOKENS,
       OPT_NO_TOKENS, OPT_NO_EARLY_STOP, OPT_BYTES, OPT_TEMPERATURE, OPT_STREAMS,
       OPT_REPAIRS, OPT_PREQUENTIAL, OPT_COOL, OPT_SEGMENTS };

/* The commands an option applies to, as bits of cli_command. */
#define TO(c) (1u << (c))
#define ANY (~0u)
#define CODEC (TO(CLI_COMPRESS) | TO(CLI_SWEEP)) /* the codec's settings */
#define SGLD (CODEC | TO(CLI_LLC) | TO(CLI_COMPRESSIBILITY)) /* the llc's */
#define WRITE (TO(CLI_COMPRESS) | TO(CLI_DECOMPRESS)) /* file to file */
#define THREADS (WRITE | TO(CLI_TEST) | TO(CLI_TRAIN) | TO(CLI_EVAL) | SGLD)
#define DECODE (TO(CLI_DECOMPRESS) | TO(CLI_TEST)) /* the decoder's limits */

static const struct {
    const char *name;  /* long spelling, without "--" */
    int key;           /* short letter, or an OPT_ value */
    int has_value;
    unsigned commands; /* TO(command) bits where it applies */
} options[] = {
    {"compress", 'z', 0, ANY}, {"decompress", 'd', 0, ANY},
    {"uncompress", 'd', 0, ANY}, {"test", 't', 0, ANY}, {"list", 'l', 0, ANY},
    {"stdout", 'c', 0, WRITE},
    {"output", 'o', 1, WRITE | TO(CLI_TRAIN) | TO(CLI_TEACHER)},
    {"force", 'f', 0, WRITE | TO(CLI_TEST) | TO(CLI_LIST) | TO(CLI_TRAIN) | TO(CLI_LLC) |
     TO(CLI_TEACHER)},
    {"keep", 'k', 0, WRITE},  {"rm", OPT_RM, 0, WRITE},
    {"quiet", 'q', 0, ANY},   {"verbose", 'v', 0, ANY},
    {"help", 'h', 0, ANY},    {"version", 'V', 0, ANY},
    {"json", OPT_JSON, 0, TO(CLI_INFO) | TO(CLI_EVAL) | TO(CLI_TRAIN) | TO(CLI_LLC) |
     TO(CLI_COMPRESSIBILITY) | TO(CLI_SWEEP)},
    {"threads", 'T', 1, THREADS},
    {"method", OPT_METHOD, 1, CODEC},
    {"effort", OPT_EFFORT, 1, CODEC},  {"bits", OPT_BITS, 1, CODEC},
    {"per-tensor", OPT_PER_TENSOR, 0, CODEC}, {"pure", OPT_PURE, 0, CODEC},
    {"segments", OPT_SEGMENTS, 1, TO(CLI_COMPRESS)},
    {"tokens", OPT_TOKENS, 0, CODEC}, {"no-tokens", OPT_NO_TOKENS, 0, CODEC},
    {"no-fallback", OPT_NO_FALLBACK, 0, CODEC},
    {"no-early-stop", OPT_NO_EARLY_STOP, 0, CODEC},
    {"budget", OPT_BUDGET, 1, CODEC},  {"row-steps", OPT_ROW_STEPS, 1, CODEC},
    {"weights", OPT_WEIGHTS, 1, CODEC},
    {"epsilon", OPT_EPSILON, 1, CODEC | TO(CLI_COMPRESSIBILITY)},
    {"preset", OPT_PRESET, 1, CODEC | TO(CLI_TRAIN) | TO(CLI_TEACHER)},
    {"seed", OPT_SEED, 1, SGLD | TO(CLI_TRAIN) | TO(CLI_TEACHER)},
    {"batch", OPT_BATCH, 1, SGLD | TO(CLI_TRAIN)},
    /* compress: --minutes picks the effort that fits (the progress work) */
    {"minutes", OPT_MINUTES, 1, TO(CLI_TRAIN) | TO(CLI_COMPRESS)},
    {"steps", OPT_STEPS, 1, TO(CLI_TRAIN)},  {"lr", OPT_LR, 1, TO(CLI_TRAIN)},
    {"untied", OPT_UNTIED, 0, TO(CLI_TRAIN)},
    {"save-every", OPT_SAVE_EVERY, 1, TO(CLI_TRAIN)},
    {"sampler", OPT_SAMPLER, 1, SGLD}, {"start", OPT_START, 1, SGLD},
    {"step", OPT_STEP, 1, SGLD},
    {"nbeta", OPT_NBETA, 1, SGLD},     {"gamma", OPT_GAMMA, 1, SGLD},
    {"chains", OPT_CHAINS, 1, SGLD},   {"burnin", OPT_BURNIN, 1, SGLD},
    {"draws", OPT_DRAWS, 1, SGLD},     {"repairs", OPT_REPAIRS, 1, SGLD},
    {"cool", OPT_COOL, 1, SGLD},
    {"csv", OPT_CSV, 1, TO(CLI_LLC)},  {"svg", OPT_SVG, 1, TO(CLI_LLC)},
    {"sizes", OPT_SIZES, 1, TO(CLI_SWEEP) | TO(CLI_TEACHER)},
    {"out", OPT_OUT, 1, TO(CLI_SWEEP)},
    {"prequential", OPT_PREQUENTIAL, 0, TO(CLI_SWEEP)},
    {"bytes", OPT_BYTES, 1, TO(CLI_TEACHER)},
    {"temperature", OPT_TEMPERATURE, 1, TO(CLI_TEACHER)},
    {"streams", OPT_STREAMS, 1, TO(CLI_TEACHER)},
    {"memory", OPT_MEMORY, 1, DECODE}, {"max-ratio", OPT_MAX_RATIO, 1, DECODE},
};
#define N_OPTIONS (int)(sizeof options / sizeof options[0])

/* The command words, by cli_command; NULL for the modes without one. */
static const char *const command_names[] = {
    [CLI_COMPRESS] = "compress", [CLI_DECOMPRESS] = "decompress",
    [CLI_TEST] = "test", [CLI_LIST] = "list", [CLI_INFO] = "info",
    [CLI_TRAIN] = "train", [CLI_EVAL] = "eval", [CLI_LLC] = "llc",
    [CLI_COMPRESSIBILITY] = "compressibility", [CLI_SWEEP] = "sweep",
    [CLI_TEACHER] = "teacher", [CLI_HELP] = "help",
};
#define N_COMMANDS (int)(sizeof command_names / sizeof command_names[0])

/* What the parse has seen beside the struct: the options given (1 long,
 * 2 short, for messages) and -h / -V, which win over everything. */
typedef struct parse_state {
    unsigned char seen[N_OPTIONS];
    int help, version;
} parse_state;

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "nmdl: %s%s%s (see 'nmdl --help')\n", what,
            arg ? ": " : "", arg ? arg : "");
    return -1;
}

/* "nmdl: -19: what" */
static int option_error(const char *opt, const char *what)
{
    fprintf(stderr, "nmdl: %s: %s\n", opt, what);
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

/* A whole number in [lo, hi]. */
static int parse_count(const char *opt, const char *s, double lo, double hi, int *out)
{
    double v;
    if (parse_number(opt, s, lo, hi, &v))
        return -1;
    if (v != floor(v)) {
        char what[96];
        snprintf(what, sizeof what, "%s needs a whole number", opt);
        return usage_error(what, s);
    }
    *out = (int)v;
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

/* -z, -d, -t, -l: the mode, unless another was chosen; -t goes with
 * decompress. */
static int set_mode(cli_opts *o, cli_command c, char flag)
{
    cli_command now = o->command;
    if ((now == CLI_DECOMPRESS && c == CLI_TEST) || (now == CLI_TEST && c == CLI_DECOMPRESS))
        c = CLI_TEST;
    else if (now != CLI_NONE && now != c) {
        char what[64], opt[3] = {'-', flag, 0};
        snprintf(what, sizeof what, "conflicts with %s", command_names[now]);
        return option_error(opt, what);
    }
    o->command = c;
    return 0;
}

static int apply(cli_opts *o, parse_state *ps, int key, const char *val)
{
    double v;
    nmdl_method m;
    switch (key) {
    case 'z': return set_mode(o, CLI_COMPRESS, 'z');
    case 'd': return set_mode(o, CLI_DECOMPRESS, 'd');
    case 't': return set_mode(o, CLI_TEST, 't');
    case 'l': return set_mode(o, CLI_LIST, 'l');
    case 'c': o->to_stdout = 1; break;
    case 'f': o->force = 1; break;
    case 'k': o->remove_input = 0; break;
    case OPT_RM: o->remove_input = 1; break;
    case 'q': o->verbosity = 0; break;
    case 'v': o->verbosity++; break;
    case OPT_JSON: o->json = 1; break;
    case 'h': ps->help = 1; break;
    case 'V': ps->version = 1; break;
    case 'o': o->output = val; break;
    case 'T': return parse_threads(val, &o->threads);
    case OPT_PRESET: o->preset = val; break;
    case OPT_PER_TENSOR: o->per_tensor = 1; break;
    case OPT_PURE: o->pure = 1; break;
    case OPT_TOKENS: o->tokens = 1; break;
    case OPT_NO_TOKENS: o->tokens = 0; break;
    case OPT_PREQUENTIAL: o->prequential = 1; break;
    case OPT_NO_FALLBACK: o->no_fallback = 1; break;
    case OPT_NO_EARLY_STOP: o->no_early_stop = 1; break;
    case OPT_CSV: o->csv = val; break;
    case OPT_SIZES: o->sizes = val; break;
    case OPT_OUT: o->out_dir = val; break;
    case OPT_BYTES: o->bytes = val; break;
    case OPT_TEMPERATURE:
        if (parse_number("--temperature", val, NMDL_TEACHER_MIN_T, NMDL_TEACHER_MAX_T, &v))
            return -1;
        o->temperature = v;
        break;
    case OPT_REPAIRS:
        if (parse_count("--repairs", val, 0, 10, &o->repairs))
            return -1;
        o->has_repairs = 1;
        break;
    case OPT_COOL:
        return parse_count("--cool", val, 0, 100000, &o->cool);
    case OPT_STREAMS:
        return parse_count("--streams", val, 1, NMDL_TEACHER_MAX_STREAMS, &o->streams);
    case OPT_SVG: o->svg = val; break;
    case OPT_SAMPLER:
        if (strcmp(val, "sgld") && strcmp(val, "psgld"))
            return usage_error("--sampler is sgld or psgld", val);
        o->sampler = !strcmp(val, "psgld");
        break;
    case OPT_START:
        if (strcmp(val, "cold") && strcmp(val, "mixed"))
            return usage_error("--start is cold or mixed", val);
        o->start = !strcmp(val, "mixed") ? NMDL_LLC_START_MIXED : NMDL_LLC_START_COLD;
        break;
    case OPT_SAVE_EVERY:
        if (parse_number("--save-every", val, 1, 1e9, &v))
            return -1;
        o->save_every = (long)v;
        break;
    case OPT_WEIGHTS:
        if (nmdl_weights_parse(val, &o->weights))
            return usage_error("--weights is round, rate, l0-drr, l0-rl1, l0-pmmp or cluster", val);
        o->has_weights = 1;
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
        return parse_count(key == OPT_CHAINS   ? "--chains"
                           : key == OPT_BURNIN ? "--burnin"
                                               : "--draws",
                           val, key == OPT_BURNIN ? 0 : 1, 1e6,
                           key == OPT_CHAINS   ? &o->chains
                           : key == OPT_BURNIN ? &o->burnin
                                               : &o->draws);
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
    case OPT_SEGMENTS: return parse_count("--segments", val, 0, 256, &o->segments);
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
        if (v != (double)(long long)v) /* 0.5 would become 0: no limit */
            return usage_error("--max-ratio needs a whole number of bytes per byte "
                               "(0: no limit)", val);
        o->max_ratio = (long long)v;
        break;
    case OPT_METHOD:
        if (nmdl_method_parse(val, &m))
            return usage_error("unknown method (neural, mix, zstd or stored)", val);
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

static int find_key(int key)
{
    int k = 0;
    while (options[k].key != key)
        k++;
    return k;
}

/* Option k as given, with the value val (NULL for none). */
static int take(cli_opts *o, parse_state *ps, int k, int how, const char *val)
{
    ps->seen[k] = (unsigned char)how;
    return apply(o, ps, options[k].key, val);
}

/* argv[*i] is "--name" or "--name=value". */
static int long_option(int argc, char **argv, int *i, cli_opts *o, parse_state *ps)
{
    const char *arg = argv[*i] + 2, *eq = strchr(arg, '=');
    int k = find_long(arg, eq ? (size_t)(eq - arg) : strlen(arg));
    if (k < 0)
        return usage_error("unknown option", argv[*i]);
    if (!options[k].has_value) {
        if (eq)
            return usage_error("option takes no value", argv[*i]);
        return take(o, ps, k, 1, NULL);
    }
    const char *val = eq ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
    if (!val)
        return usage_error("option needs a value", argv[*i]);
    return take(o, ps, k, 1, val);
}

/* -N in a group of short flags: the effort, 1 .. 9. zstd's -19 is refused,
 * not read as -1 -9. *p is the digit; moves past the digits. */
static int effort_flag(const char **p, cli_opts *o, parse_state *ps)
{
    size_t n = strspn(*p, "0123456789");
    if (n != 1 || **p == '0') {
        char opt[16];
        snprintf(opt, sizeof opt, "-%.*s", (int)(n < 12 ? n : 12), *p);
        return option_error(opt, "effort out of range: nmdl's efforts are -1 .. -9 "
                                 "(9 is the slowest and strongest)");
    }
    o->effort = **p - '0';
    ps->seen[find_key(OPT_EFFORT)] = 2;
    ++*p;
    return 0;
}

/* argv[*i] is a group of short flags such as "-kf", "-T2" or "-d6". */
static int short_options(int argc, char **argv, int *i, cli_opts *o, parse_state *ps)
{
    for (const char *p = argv[*i] + 1; *p;) {
        if (*p >= '0' && *p <= '9') {
            if (effort_flag(&p, o, ps))
                return -1;
            continue;
        }
        char flag[3] = {'-', *p, 0};
        int k = find_short(*p++);
        if (k < 0)
            return usage_error("unknown option", flag);
        if (!options[k].has_value) {
            if (take(o, ps, k, 2, NULL))
                return -1;
            continue;
        }
        const char *val = *p ? p : (*i + 1 < argc ? argv[++*i] : NULL);
        if (!val)
            return usage_error("option needs a value", flag);
        return take(o, ps, k, 2, val);
    }
    return 0;
}

static cli_command command_word(const char *s)
{
    for (int c = 0; c < N_COMMANDS; c++)
        if (command_names[c] && c != CLI_TEST && c != CLI_LIST && !strcmp(s, command_names[c]))
            return (cli_command)c;
    return CLI_NONE;
}

/* Every option given must apply to the command: "nmdl: --json: does not
 * apply to compress (only to info, eval, llc, compressibility)". */
static int check_applies(const cli_opts *o, const parse_state *ps)
{
    for (int k = 0; k < N_OPTIONS; k++) {
        if (!ps->seen[k] || (options[k].commands & TO(o->command)))
            continue;
        char opt[40], what[256];
        if (options[k].key == OPT_EFFORT && ps->seen[k] == 2)
            snprintf(opt, sizeof opt, "-%d", o->effort);
        else if (ps->seen[k] == 2)
            snprintf(opt, sizeof opt, "-%c", options[k].key);
        else
            snprintf(opt, sizeof opt, "--%s", options[k].name);
        int n = snprintf(what, sizeof what, "does not apply to %s (only to",
                         command_names[o->command]);
        for (int c = 0; c < N_COMMANDS; c++)
            if (command_names[c] && (options[k].commands & TO(c)))
                n += snprintf(what + n, sizeof what - (size_t)n, " %s,", command_names[c]);
        if (n > 0 && (size_t)n < sizeof what)
            what[n - 1] = ')';
        return option_error(opt, what);
    }
    return 0;
}

/* --bits, --budget and --row-steps posterior steer round's budget search:
 * alone they choose round; with a weight code that learns its budget they
 * are an error. */
static int check_budget(cli_opts *o)
{
    if (!o->bits && !o->budget && !o->posterior_rows)
        return 0;
    if (!o->has_weights) {
        o->weights = NMDL_WEIGHTS_ROUND;
        o->has_weights = 1;
    }
    if (o->weights == NMDL_WEIGHTS_ROUND)
        return 0;
    return option_error(o->bits ? "--bits" : o->budget ? "--budget" : "--row-steps",
                        "applies to --weights round only (the other weight codes learn "
                        "their budget)");
}

/* The program's name: `unnmdl` decompresses, `nmdlcat` decompresses to
 * standard output (1, 2); anything else is nmdl (0). */
static int called_as(const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL, *name = slash ? slash + 1 : argv0;
    if (!name)
        return 0;
    return !strcmp(name, "unnmdl") ? 1 : !strcmp(name, "nmdlcat") ? 2 : 0;
}

int cli_parse(int argc, char **argv, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->command = CLI_NONE;
    o->verbosity = 1;
    o->method = NMDL_METHOD_NEURAL;
    o->seed = 1;
    o->burnin = -1;
    o->start = -1;
    o->cool = -1;
    o->max_ratio = -1;
    o->tokens = -1;
    o->inputs = calloc((size_t)argc + 1, sizeof *o->inputs);
    if (!o->inputs)
        return usage_error("out of memory", NULL);
    int as = called_as(argv[0]), first = 1;
    if (argc < 2 && !as)
        return 0; /* bare nmdl: the usage */
    if (!as && argc > 1 && (o->command = command_word(argv[1])) != CLI_NONE)
        first = 2;
    parse_state ps;
    memset(&ps, 0, sizeof ps);
    int options_done = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || !strcmp(a, "-"))
            o->inputs[o->n_inputs++] = a;
        else if (!strcmp(a, "--"))
            options_done = 1;
        else if ((a[1] == '-' ? long_option(argc, argv, &i, o, &ps)
                              : short_options(argc, argv, &i, o, &ps)) < 0)
            return -1;
    }
    if (ps.help || ps.version || o->command == CLI_HELP) {
        o->command = ps.help || !ps.version ? CLI_HELP : CLI_VERSION;
        return 0;
    }
    if (o->command == CLI_NONE)
        o->command = as ? CLI_DECOMPRESS : CLI_COMPRESS;
    if (check_applies(o, &ps) || check_budget(o))
        return -1;
    if (as == 2 && o->command == CLI_DECOMPRESS)
        o->to_stdout = 1;
    return 0;
}
