/*
 * main.c: the nmdl command. Parses the command line and hands over to the
 * subcommand; all real work is in the library (include/nmdl.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "fileio.h"
#include "nmdl.h"
#include "team.h"

static const char usage[] =
    "Usage: nmdl [COMMAND] [OPTIONS] [FILE...]\n"
    "       unnmdl FILE...  (nmdl -d)     nmdlcat FILE...  (nmdl -dc)\n"
    "\n"
    "Lossless compression whose output is a two-part code: a model, then the\n"
    "data coded under it. The file size is the description length.\n"
    "Without a COMMAND, nmdl compresses as zstd does: each FILE to FILE.nmdl,\n"
    "standard input to standard output when no FILE is given; -d, -t and -l\n"
    "choose another mode. A file of several frames (nmdl -c a b > ab.nmdl)\n"
    "decompresses to each frame's data in turn. An option given to a command\n"
    "it does not apply to is an error.\n"
    "\n"
    "Commands:\n"
    "  compress FILE...    write FILE.nmdl for each FILE (the same as -z)\n"
    "  decompress FILE...  restore FILE from FILE.nmdl (the same as -d)\n"
    "  info FILE...        account for every byte of a container\n"
    "  train CORPUS        train the transformer alone, write a checkpoint\n"
    "  eval MODEL CORPUS   bits per byte of CORPUS under a checkpoint\n"
    "  llc MODEL CORPUS    estimate the local learning coefficient (SGLD)\n"
    "  compressibility MODEL CORPUS  critical quantization levels, SVD\n"
    "                      fraction, Gaussian noise and magnitude pruning\n"
    "                      within --epsilon, beside the llc\n"
    "  sweep CORPUS --sizes 64K,256K,1M --out DIR\n"
    "                      DL against size, beside zstd and xz, with plots\n"
    "                      (compress options apply; resumes where it stopped)\n"
    "  teacher MODEL -o OUT --bytes N\n"
    "                      N bytes sampled from MODEL's coding-path\n"
    "                      distribution (or from a fresh --preset model),\n"
    "                      with their exact code length: a known entropy\n"
    "  help                this text\n"
    "\n"
    "Options:\n"
    "  -z, --compress      compress (the default)\n"
    "  -d, --decompress    decompress\n"
    "  -t, --test          decompress and verify, write nothing\n"
    "  -l, --list          one line per file: frames, method, compressed and\n"
    "                      original bytes, ratio, model and data parts\n"
    "  -o, --output FILE   write to FILE (one input only); '-o -' is stdout\n"
    "  -c, --stdout        write to standard output\n"
    "  -f, --force         overwrite existing files; read or write terminals\n"
    "  -k, --keep          keep input files (the default)\n"
    "      --rm            remove each input once its output file is complete\n"
    "                      (not with -c or a device, FIFO or socket as output)\n"
    "      --method NAME   compress: neural (default), mix (the neural method's\n"
    "                      mixer without a model: 4-6 s/MB each way), zstd or stored\n"
    "  -1 .. -9            compress: effort of the neural method (default 6)\n"
    "      --effort N      the same as -N\n"
    "      --minutes M     compress: the largest effort predicted to take at\n"
    "                      most M minutes here (said, and recorded in the file)\n"
    "      --bits X        neural: fixed bits per weight (--weights round)\n"
    "      --seed S        neural and train: initialisation and data order\n"
    "      --per-tensor    neural: one quantization step per tensor, not per row\n"
    "      --pure          neural: code the data under the transformer alone,\n"
    "                      without the match model for long repeats and the\n"
    "                      context mixer\n"
    "      --segments S    neural: code the data part as S streams that decode\n"
    "                      in parallel (1-256; default by size: one below 2 MiB\n"
    "                      with the match model, else about 256 KiB each)\n"
    "      --tokens        neural: merge frequent byte pairs into the byte\n"
    "                      values the input never uses and code those symbols\n"
    "                      (the table is in the model part; the default from\n"
    "                      4 MB of input)\n"
    "      --no-tokens     neural: code the bytes themselves at any size\n"
    "      --budget MODE   neural, --weights round: search (shortest description,\n"
    "                      from the llc's b*) or bstar (b* itself)\n"
    "      --epsilon E     neural, compressibility: loss tolerance in nats per\n"
    "                      byte (default llc / n)\n"
    "      --row-steps R   neural, --weights round: rms (default) or posterior\n"
    "                      (SGLD spread)\n"
    "      --weights W     neural: how the weights are trained for their code:\n"
    "                      for the description length, l0-rl1 (default), rate,\n"
    "                      l0-drr, l0-pmmp, cluster (k-means codebooks); or\n"
    "                      round (for the loss, then rounded; the default with\n"
    "                      --bits, --budget or --row-steps posterior)\n"
    "      --preset NAME   neural and train: model size (default: by effort and size;\n"
    "                      neural without --pure: the bytes outside long matches)\n"
    "      --no-fallback   write the method asked for even when mix, zstd or\n"
    "                      stored would be smaller\n"
    "      --no-early-stop neural: train to the end even where a quarter of the\n"
    "                      training already shows mix, zstd or stored will be smaller\n"
    "  -T, --threads N     worker threads, 0 = one per core (default)\n"
    "      --memory SIZE   decompress: memory limit (default 256M; K, M, G)\n"
    "      --max-ratio R   decompress: most output bytes per byte of a neural or\n"
    "                      mix frame (default 4096; 0: no limit)\n"
    "      --json          info, eval, train, llc, compressibility, sweep: the\n"
    "                      measurements as JSON, one record a line (docs/JSON.md)\n"
    "\n"
    "Learning coefficient (llc; compress's estimate uses the same):\n"
    "      --sampler S     sgld (default) or psgld\n"
    "      --step X        step size (default: chosen by a sweep from\n"
    "                      0.021/nbeta down)\n"
    "      --nbeta X       n*beta (default n / ln n)\n"
    "      --gamma X       localization (default 1e4)\n"
    "      --start S       mixed (default: half the chains start at the\n"
    "                      weights, half at the localization's equilibrium\n"
    "                      around them; llc = the mean of the halves) or cold\n"
    "                      (all at the weights)\n"
    "      --chains N --burnin N --draws N   (default 4, 100, 100; without\n"
    "                      --burnin, at least 1/(step*gamma) after the sweep,\n"
    "                      2/(step*gamma) with --start cold, up to 2000)\n"
    "      --repairs N     reruns of an unhealthy estimate with a remedy for\n"
    "                      its fault, 0 .. 10 (default 3; none in a compression\n"
    "                      that chose its own chains)\n"
    "      --cool N        where the sweep finds the weights no minimum of the\n"
    "                      loss, estimate after N steps of training a copy at a\n"
    "                      rate falling from the end of the schedule to 2% of\n"
    "                      it (default 500; 0: never)\n"
    "      --batch B       windows per minibatch (default 4)\n"
    "      --csv F --svg F write the chains' loss traces\n"
    "\n"
    "Training (train):\n"

    "      --steps N       optimizer steps (default 1000)\n"
    "      --minutes M     train for M minutes instead\n"
    "      --batch B       windows per step (default 16)\n"
    "      --lr X          peak learning rate (default by model width: 0.005\n"
    "                      for tiny, mini and small, decaying to 2% of it for\n"
    "                      tiny and mini, to 10% for small; 0.002 above,\n"
    "                      decaying to 10%)\n"

    "      --untied        separate output projection\n"
    "      --save-every N  also write MODEL.stepN every N steps\n"
    "\n"
    "Sweep (sweep; the compress options apply):\n"
    "      --sizes LIST    prefixes to measure (K, M suffixes, comma-separated)\n"
    "      --out DIR       where the records, the CSV and the plots go\n"
    "      --prequential   also the prequential code of each prefix: blocks\n"
    "                      doubling from 4K, each coded by a float model\n"
    "                      trained on the bytes before it (kept in DIR)\n"
    "\n"
    "Teacher (teacher; --seed and --preset apply):\n"
    "      --bytes N       how many bytes to sample (K, M suffixes; at most 1024M)\n"
    "      --temperature T sample from p^(1/T), 0.01 .. 100 (default 1)\n"
    "      --streams S     independent streams, one after another (default 1)\n"
    "      --sizes LIST    also print the code length of these prefixes\n"
    "\n"
    "General:\n"
    "  -q, --quiet         print errors only\n"
    "  -v, --verbose       print more (method, time, speed)\n"
    "  -h, --help          this text\n"
    "  -V, --version       print the version\n"
    "\n"
    "FILE '-' is standard input. Special files given as outputs (/dev/null, a\n"
    "FIFO, a socket) are written into, never replaced. Exit status: 0 on\n"
    "success, 1 when any file failed or the command line is wrong.\n"
    "Built with -DNMDL_MPI=ON, `mpirun -np K nmdl ...` runs compress,\n"
    "decompress, test and sweep on K ranks: rank 0 reads and writes, and the\n"
    "files are the same for every K (docs/CLUSTER.md).\n";

/* libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, as it loads.
 * Worker threads that spin while they wait make nmdl many times slower
 * whenever anything else runs on the machine (measured: a test took 72 s
 * instead of 4.8 s beside another job); threads that sleep at once pay a
 * wake-up at every barrier (enwik8 1 MB: 7,000 a second). A short spin
 * first (1,000 rounds of libgomp's wait loop) is the middle: 200 steps of
 * the mini preset took 11.4-11.9 s against 15.0-16.3 s sleeping at once,
 * and 12.0-12.6 s against 10.5-11.4 s beside a busy loop, where 2,000
 * rounds took 13.5-14.3 s and 5,000 18-19 s. So for each the user did not
 * set, the command restarts itself once with that choice. */
static void wait_passively(char **argv)
{
    int chose = 0;
    if (!getenv("OMP_WAIT_POLICY"))
        chose |= !setenv("OMP_WAIT_POLICY", "passive", 1);
    if (!getenv("GOMP_SPINCOUNT"))
        chose |= !setenv("GOMP_SPINCOUNT", "1000", 1);
    if (chose)
        execv("/proc/self/exe", argv); /* returns only on failure: go on */
}

/* Under several MPI ranks (cli/team.h): 0 when the command can run as a
 * team, the ranks agree, and this rank takes part (the others but the lead
 * stay quiet); -1 otherwise (the lead says why). */
static int join_team(cli_opts *o, const nmdl_team *t, int argc, char **argv)
{
    if (t->size <= 1)
        return 0;
    if (cli_team_agree(t, argc, argv))
        return -1;
    if (o->command != CLI_COMPRESS && o->command != CLI_DECOMPRESS && o->command != CLI_TEST &&
        o->command != CLI_SWEEP) {
        if (cli_team_lead(t))
            cli_error("nmdl", "only compress, decompress, test and sweep run on several MPI "
                      "ranks");
        return -1;
    }
    o->team = t;
    if (!cli_team_lead(t))
        o->verbosity = 0;
    return 0;
}

int main(int argc, char **argv)
{
    cli_opts o;
    nmdl_team team;
    int status = 1;
    wait_passively(argv);
    if (cli_team_start(&argc, &argv, &team))
        return 1;
    cli_install_signal_cleanup();
    if (cli_parse(argc, argv, &o) == 0 && join_team(&o, &team, argc, argv) == 0) {
        switch (o.command) {
        case CLI_NONE:
            fputs(usage, stderr);
            break;
        case CLI_HELP:
            fputs(usage, stdout);
            status = 0;
            break;
        case CLI_VERSION:
            printf("nmdl %s\n", nmdl_version());
            status = 0;
            break;
        case CLI_COMPRESS:
            status = cli_compress(&o);
            break;
        case CLI_DECOMPRESS:
        case CLI_TEST:
            status = cli_decompress(&o);
            break;
        case CLI_LIST:
            status = cli_list(&o);
            break;
        case CLI_INFO:
            status = cli_info(&o);
            break;
        case CLI_TRAIN:
            status = cli_train(&o);
            break;
        case CLI_EVAL:
            status = cli_eval(&o);
            break;
        case CLI_LLC:
            status = cli_llc(&o);
            break;
        case CLI_COMPRESSIBILITY:
            status = cli_compressibility(&o);
            break;
        case CLI_SWEEP:
            status = cli_sweep(&o);
            break;
        case CLI_TEACHER:
            status = cli_teacher(&o);
            break;
        }
    }
    free(o.inputs);
    return cli_team_end(&team, status);
}
