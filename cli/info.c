/*
 * info.c: `nmdl info`, where every byte of a container goes. The text form
 * is for people; --json prints one object per file, one per line, with keys
 * that stay stable across versions (new keys may be added).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fileio.h"
#include "nmdl.h"

/* Bits of the whole file per original byte; negative when there is none. */
static double bits_per_byte(const nmdl_info *i)
{
    return i->original_bytes ? 8.0 * (double)i->file_bytes /
                                   (double)i->original_bytes
                             : -1.0;
}

static void print_json_neural(const nmdl_info *i);

static void print_json(const char *name, const nmdl_info *i)
{
    printf("{\"file\":");
    cli_json_string(name);
    printf(",\"format_version\":%u,\"method\":\"%s\"", i->version,
           nmdl_method_name(i->method));
    printf(",\"original_bytes\":%llu,\"file_bytes\":%llu,\"header_bytes\":%llu"
           ",\"model_bytes\":%llu,\"data_bytes\":%llu,\"checksum_bytes\":%llu",
           (unsigned long long)i->original_bytes,
           (unsigned long long)i->file_bytes,
           (unsigned long long)i->header_bytes,
           (unsigned long long)i->model_bytes,
           (unsigned long long)i->data_bytes,
           (unsigned long long)i->checksum_bytes);
    double bpb = bits_per_byte(i);
    if (bpb < 0)
        printf(",\"bits_per_byte\":null");
    else
        printf(",\"bits_per_byte\":%.6f,\"data_bits_per_byte\":%.6f", bpb,
               8.0 * (double)i->data_bytes / (double)i->original_bytes);
    if (i->has_alternative)
        printf(",\"alternative_method\":\"%s\",\"alternative_bytes\":%llu",
               nmdl_method_name(i->alternative_method),
               (unsigned long long)i->alternative_bytes);
    if (i->method == NMDL_METHOD_NEURAL)
        print_json_neural(i);
    printf("}\n");
}

static void print_json_neural(const nmdl_info *i)
{
    static const char *const modes[] = {"fixed", "bstar", "search"};
    {
        const nmdl_model_config *c = &i->model;
        printf(",\"n_tokens\":%llu,\"n_params\":%llu,\"bits_per_weight\":%.6f,\"segments\":%d"
               ",\"quantization\":\"%s\",\"model\":{\"n_layer\":%d,\"d_model\":%d"
               ",\"n_head\":%d,\"d_ff\":%d,\"ctx\":%d,\"tied\":%s}",
               (unsigned long long)i->original_bytes, (unsigned long long)i->n_params,
               8.0 * (double)i->model_bytes / (double)i->n_params, i->segments,
               i->per_row ? "per-row" : "per-tensor", c->n_layer, c->d_model,
               c->n_head, c->d_ff, c->ctx, c->tied ? "true" : "false");
    }
    if (!i->has_report)
        return;
    double loss_q = 8.0 * (double)i->data_bytes / (double)i->original_bytes;
    printf(",\"budget\":\"%s\"", modes[i->budget_mode]);
    cli_json_num("effort", i->effort ? i->effort : NAN);
    cli_json_num("budget_bits", i->budget_bits);
    cli_json_num("budget_ratio", i->budget_bits / i->b_star);
    cli_json_num("llc", i->llc);
    cli_json_num("llc_se", i->llc_se);
    cli_json_num("nbeta", i->nbeta);
    cli_json_num("llc_step", i->llc_step);
    cli_json_num("mala", i->mala);
    cli_json_num("epsilon", i->epsilon);
    cli_json_num("b_star", i->b_star);
    cli_json_num("predicted_model_bits", i->llc * log2(1.0 / i->epsilon));
    cli_json_num("loss_float", i->loss_float_bpb);
    cli_json_num("loss_quantized", loss_q);
}

static void print_part(const char *what, uint64_t bytes, uint64_t original)
{
    printf("  %-14s %14llu bytes", what, (unsigned long long)bytes);
    if (original)
        printf("  %8.4f bits/byte", 8.0 * (double)bytes / (double)original);
    putchar('\n');
}

static void print_text(const char *name, const nmdl_info *i)
{
    printf("%s\n", name);
    printf("  %-14s %s (format version %u)\n", "method",
           nmdl_method_name(i->method), i->version);
    printf("  %-14s %14llu bytes\n", "original",
           (unsigned long long)i->original_bytes);
    print_part("file", i->file_bytes, i->original_bytes);
    print_part("  header", i->header_bytes, i->original_bytes);
    print_part("  model part", i->model_bytes, i->original_bytes);
    print_part("  data part", i->data_bytes, i->original_bytes);
    print_part("  checksums", i->checksum_bytes, i->original_bytes);
    if (i->method == NMDL_METHOD_NEURAL) {
        const nmdl_model_config *c = &i->model;
        printf("  %-14s %d layers, d_model %d, %d heads, d_ff %d, ctx %d%s\n",
               "model", c->n_layer, c->d_model, c->n_head, c->d_ff, c->ctx,
               c->tied ? ", tied" : "");
        printf("  %-14s %llu parameters, %.3f bits/weight (%s steps)\n", "",
               (unsigned long long)i->n_params,
               8.0 * (double)i->model_bytes / (double)i->n_params,
               i->per_row ? "per-row" : "per-tensor");
        printf("  %-14s %d\n", "segments", i->segments);
    }
    if (i->has_report) {
        static const char *const modes[] = {"fixed", "bstar", "search"};
        if (i->effort) /* older frames did not record it */
            printf("  %-14s %d (-%d with the same options writes this file again)\n",
                   "effort", i->effort, i->effort);
        printf("  %-14s llc %.4g ± %.3g (nbeta %.4g, step %.3g, MALA %.2f)\n",
               "measured", i->llc, i->llc_se, i->nbeta, i->llc_step, i->mala);
        printf("  %-14s epsilon %.3g nats/byte, b* %.4f bits/weight, predicted "
               "model %.0f bytes\n", "", i->epsilon, i->b_star,
               i->llc * log2(1.0 / i->epsilon) / 8);
        printf("  %-14s budget %s: %.3f bits/weight (%.1f x b*), float loss %.4f "
               "bits/byte\n", "", modes[i->budget_mode], i->budget_bits,
               i->budget_bits / i->b_star, i->loss_float_bpb);
    }
    if (i->has_alternative)
        printf("  %-14s %s would have taken %llu bytes\n", "not used",
               nmdl_method_name(i->alternative_method),
               (unsigned long long)i->alternative_bytes);
}

static int info_one(const cli_opts *o, const char *path)
{
    const char *name = strcmp(path, "-") ? path : "stdin";
    uint8_t *buf;
    size_t n;
    int err = cli_read_all(path, &buf, &n);
    if (err) {
        cli_error(name, strerror(err));
        return 1;
    }
    nmdl_info info;
    int rc = nmdl_info_read(buf, n, &info);
    free(buf);
    if (rc) {
        cli_error(name, nmdl_strerror(rc));
        return 1;
    }
    if (o->json)
        print_json(name, &info);
    else
        print_text(name, &info);
    return 0;
}

int cli_info(const cli_opts *o)
{
    if (o->n_inputs == 0) {
        cli_error("info", "needs at least one FILE");
        return 1;
    }
    int status = 0;
    for (int i = 0; i < o->n_inputs; i++)
        status |= info_one(o, o->inputs[i]);
    if (fflush(stdout) != 0) {
        cli_error("stdout", "write error");
        status = 1;
    }
    return status;
}
