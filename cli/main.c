/*
 * main.c: the nmdl command. Parses the command line and hands over to the
 * subcommand; all real work is in the library (include/nmdl.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "commands.h"
#include "fileio.h"
#include "nmdl.h"

static const char usage[] =
    "Usage: nmdl COMMAND [OPTIONS] [FILE...]\n"
    "\n"
    "Lossless compression whose output is a two-part code: a model, then the\n"
    "data coded under it. The file size is the description length.\n"
    "\n"
    "Commands:\n"
    "  compress FILE...    write FILE.nmdl for each FILE (stdin to stdout if none)\n"
    "  decompress FILE...  restore FILE from FILE.nmdl\n"
    "  info FILE...        account for every byte of a container\n"
    "  train CORPUS        train the transformer alone, write a checkpoint\n"
    "  eval MODEL CORPUS   bits per byte of CORPUS under a checkpoint\n"
    "  help                this text\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE   write to FILE (one input only)\n"
    "  -c, --stdout        write to standard output\n"
    "  -f, --force         overwrite existing outputs; allow terminals\n"
    "  -k, --keep          keep input files (the default)\n"
    "      --rm            remove each input after it succeeded\n"
    "  -t, --test          decompress: verify only, write nothing\n"
    "      --method NAME   compress: neural (default), zstd or stored\n"
    "  -1 .. -9            compress: effort of the neural method (default 6)\n"
    "      --effort N      the same as -N\n"
    "      --bits X        neural: bits per weight of the model (default: effort's)\n"
    "      --seed S        neural and train: initialisation and data order\n"
    "      --per-tensor    neural: one quantization step per tensor, not per row\n"
    "      --preset NAME   neural and train: model size (default: by effort and size)\n"
    "      --no-fallback   write the method asked for even when zstd or stored\n"
    "                      would be smaller\n"
    "  -T, --threads N     worker threads, 0 = one per core (default)\n"
    "      --json          info, eval: one JSON object per file\n"
    "\n"
    "Training (train):\n"

    "      --steps N       optimizer steps (default 1000)\n"
    "      --minutes M     train for M minutes instead\n"
    "      --batch B       windows per step (default 16)\n"
    "      --lr X          peak learning rate (default 0.002)\n"

    "      --untied        separate output projection\n"
    "  -q, --quiet         print errors only\n"
    "  -v, --verbose       print more (method, time, speed)\n"
    "  -h, --help          this text\n"
    "  -V, --version       print the version\n"
    "\n"
    "FILE '-' is standard input. Exit status: 0 on success, 1 on any error.\n";

int main(int argc, char **argv)
{
    cli_opts o;
    int status = 1;
    cli_install_signal_cleanup();
    if (cli_parse(argc, argv, &o) == 0) {
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
            status = cli_decompress(&o);
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
        }
    }
    free(o.inputs);
    return status;
}
