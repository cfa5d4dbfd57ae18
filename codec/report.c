/*
 * report.c: see report.h.
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../container/frame.h"
#include "neural.h"
#include "quant.h"

static void put_f32(uint8_t *p, double v)
{
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, 4);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(u >> (8 * i));
}

static double get_f32(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void nmdl_report_encode(const nmdl_budget_report *b, int effort, int weights,
                        uint8_t out[NMDL_REPORT_BYTES])
{
    const double most = 16777215; /* counts above are not exact in binary32 */
    const int none = b->llc_healthy < 0 || b->llc_chains < 1 || b->llc_chains > most ||
                     b->llc_burnin < 0 || b->llc_burnin > most || b->llc_draws < 1 ||
                     b->llc_draws > most || (b->llc_start != NMDL_LLC_START_COLD &&
                     b->llc_start != NMDL_LLC_START_MIXED); /* no estimate: its settings NaN */
    const double v[NMDL_REPORT_FIELDS] = {
        b->bits,    b->llc,    b->llc_se,           b->nbeta,
        b->llc_step, b->mala,  b->epsilon,          b->b_star,
        b->loss_float_bpb,     b->llc_healthy < 0 ? NAN : (double)b->llc_cool_steps,
        none ? NAN : b->llc_gamma, none ? NAN : b->llc_chains,
        none ? NAN : b->llc_burnin, none ? NAN : b->llc_draws,
        none ? NAN : b->llc_healthy, none ? NAN : b->llc_start};
    out[0] = NMDL_REPORT_VERSION;
    out[1] = (uint8_t)b->mode;
    out[2] = (uint8_t)effort;
    out[3] = (uint8_t)weights;
    for (int i = 0; i < NMDL_REPORT_FIELDS; i++)
        put_f32(out + NMDL_REPORT_HEAD + 4 * i, v[i]);
}

/* Whether a recorded value is an integer in [lo, 2^24) (not NaN). */
static int count_in(double v, double lo)
{
    return v >= lo && v < 16777216.0 && v == floor(v);
}

/* Fills info from a report (versions 1 to 6); unknown versions and
 * values out of range are skipped, not rejected. */
static void report_decode(const uint8_t *p, size_t len, nmdl_info *info)
{
    info->report_bytes = len;
    static const int values[NMDL_REPORT_VERSION + 1] = {0, 9, 9, 9, 10, 15, NMDL_REPORT_FIELDS};
    const int v = len ? p[0] : 0, head = v < NMDL_REPORT_HEAD ? v + 1 : NMDL_REPORT_HEAD;
    if (v < 1 || v > NMDL_REPORT_VERSION || len != (size_t)head + 4 * values[v] ||
        p[1] > (v < 3 ? NMDL_BUDGET_SEARCH : NMDL_BUDGET_LEARNED) ||
        (v >= 2 && (p[2] < 1 || p[2] > 9)) || (v >= 3 && p[3] > NMDL_WEIGHTS_CLUSTER))
        return;
    double x[NMDL_REPORT_FIELDS];
    for (int i = 0; i < NMDL_REPORT_FIELDS; i++)
        x[i] = i < values[v] ? get_f32(p + head + 4 * i) : NAN;
    const int none = isnan(x[10]) && isnan(x[11]) && isnan(x[12]) && isnan(x[13]) &&
                     isnan(x[14]) && isnan(x[15]); /* the estimate's settings: all NaN
                                                      or all valid (the start from v6) */
    if (!(isnan(x[NMDL_REPORT_COOL]) || count_in(x[NMDL_REPORT_COOL], 0)) ||
        !(none || (isfinite(x[10]) && x[10] > 0 && count_in(x[11], 1) && count_in(x[12], 0) &&
                   count_in(x[13], 1) && (x[14] == 0 || x[14] == 1) &&
                   (v < 6 || x[15] == 0 || x[15] == 1))))
        return;
    double *dst[NMDL_REPORT_FIELDS] = {
        &info->budget_bits, &info->llc,        &info->llc_se,     &info->nbeta,
        &info->llc_step,    &info->mala,       &info->epsilon,    &info->b_star,
        &info->loss_float_bpb, &info->llc_cool_steps, &info->llc_gamma,
        &info->llc_chains,  &info->llc_burnin, &info->llc_draws,  &info->llc_healthy,
        &info->llc_start};
    info->has_report = 1;
    info->budget_mode = p[1];
    info->effort = v >= 2 ? p[2] : 0;
    info->weights = v >= 3 ? p[3] : -1;
    for (int i = 0; i < NMDL_REPORT_FIELDS; i++)
        *dst[i] = x[i];
}

/* The model shape and segment count of a neural frame, from the parts'
 * headers. */
static int neural_info(const nmdl_frame *f, nmdl_info *info)
{
    nmdl_q_header h;
    int rc = nmdl_q_read_header(f->model, f->model_len, &h, NULL);
    if (rc)
        return rc;
    info->model = h.cfg;
    info->per_row = h.per_row;
    info->match = h.match;
    info->merges = h.tokens.count;
    info->symbols = h.symbols ? h.symbols : f->original_len;
    info->symbols_occurring = nmdl_tf_symbols(&info->model);
    nmdl_tf_layout lay;
    nmdl_tf_layout_make(&info->model, &lay);
    info->n_params = lay.n_params;
    uint64_t s = 0;
    for (size_t i = 0; i < f->data_len && i < 9; i++) {
        s |= (uint64_t)(f->data[i] & 0x7F) << (7 * i);
        if (!(f->data[i] & 0x80)) {
            info->segments = s <= NMDL_NEURAL_MAX_SEGMENTS ? (int)s : 0;
            return info->segments ? NMDL_OK : NMDL_ERR_CORRUPT;
        }
    }
    return NMDL_ERR_CORRUPT;
}

int nmdl_info_read(const void *src, size_t src_len, nmdl_info *info)
{
    if (!info || (!src && src_len))
        return NMDL_ERR_ARG;
    nmdl_frame f;
    int rc = nmdl_frame_parse(src, src_len, &f, NULL);
    if (rc)
        return rc;
    memset(info, 0, sizeof *info);
    info->weights = -1;
    info->llc = info->llc_se = info->nbeta = info->llc_step = info->mala = NAN;
    info->epsilon = info->b_star = info->loss_float_bpb = info->budget_bits = NAN;
    info->llc_cool_steps = info->llc_gamma = info->llc_chains = NAN;
    info->llc_burnin = info->llc_draws = info->llc_healthy = info->llc_start = NAN;
    if (f.report)
        report_decode(f.report, f.report_len, info);
    info->version = f.version;
    info->method = (nmdl_method)f.method;
    info->original_bytes = f.original_len;
    info->file_bytes = f.file_len;
    info->header_bytes = f.header_len;
    info->model_bytes = f.model_len;
    info->data_bytes = f.data_len;
    info->checksum_bytes = 2 * NMDL_FRAME_SUM_BYTES;
    info->has_alternative = f.has_alt;
    info->alternative_method = (nmdl_method)f.alt_method;
    info->alternative_bytes = f.alt_size;
    if (f.method == NMDL_METHOD_MIX) /* the payload's revision byte r, code r + 1 */
        info->match = f.data[0] + 1, info->segments = 1;
    return f.method == NMDL_METHOD_NEURAL ? neural_info(&f, info) : NMDL_OK;
}

_Static_assert(NMDL_TENSORS_MAX >= NMDL_TF_MAX_TENSORS, "nmdl.h's bound on tensors");

int nmdl_info_tensors(const void *src, size_t src_len, nmdl_tensor_info *out, int cap,
                      int *n, double *rexp_bits)
{
    if ((!src && src_len) || (!out && cap) || cap < 0 || !n || !rexp_bits)
        return NMDL_ERR_ARG;
    nmdl_frame f;
    nmdl_qmodel qm;
    int rc = nmdl_frame_parse(src, src_len, &f, NULL);
    if (!rc && f.method != NMDL_METHOD_NEURAL)
        rc = NMDL_ERR_METHOD;
    if (rc || (rc = nmdl_q_decode(f.model, f.model_len, &qm)))
        return rc;
    double bits[NMDL_TF_MAX_TENSORS];
    if ((rc = nmdl_q_tensor_bits(&qm, bits, rexp_bits))) {
        nmdl_q_free(&qm);
        return rc;
    }
    *n = qm.lay.n_tensors;
    for (int k = 0; k < qm.lay.n_tensors && k < cap; k++) {
        const nmdl_tf_tensor *t = &qm.lay.tensor[k];
        nmdl_tensor_info *o = &out[k];
        memset(o, 0, sizeof *o);
        snprintf(o->name, sizeof o->name, "%s", t->name);
        o->n_params = (uint64_t)t->rows * t->cols;
        o->bits = bits[k];
        o->centroids = qm.cb ? qm.cb[k].k : 0;
        for (size_t i = t->off; i < t->off + o->n_params; i++)
            o->zeros += qm.q[i] == 0;
    }
    nmdl_q_free(&qm);
    return NMDL_OK;
}

