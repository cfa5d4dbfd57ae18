/*
 * neural_dec.c: the neural decoder (neural.h): the data part's segment
 * table, the memory plan, the weights rebuilt from the model part, and the
 * segments decoded in batches, alone or shared by the members of a team.
 */
#include "neural.h"

#include <stdlib.h>

#include "../model/infer.h"
#include "../model/team.h"
#include "error.h"
#include "levels.h"
#include "match.h"
#include "quant.h"
#include "rc.h"
#include "segcode.h"

#define MAX_KV_BYTES (4ull << 30) /* decoders refuse caches beyond 4 GiB */

static int get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 9; i++) {
        if (*pos >= len)
            return NMDL_ERR_TRUNCATED;
        uint8_t b = p[(*pos)++];
        x |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0)
                return NMDL_ERR_CORRUPT;
            *v = x;
            return NMDL_OK;
        }
    }
    return NMDL_ERR_CORRUPT;
}

/* What the decoder keeps per segment: its stream, its place and its
 * coder. */
typedef struct seg_table {
    int S;
    const uint8_t **streams;
    size_t *slen, *start, *len;
    uint8_t **out;
    nmdl_rc_dec *dec;
    nmdl_mm_table *tables; /* (S) with the match model, else NULL */
    nmdl_mm_index index;
    nmdl_cm *lanes;        /* with the context mixer, else NULL */
    int match;             /* the data code (codec/segcode.h) */
} seg_table;

#define SEG_TABLE_BYTES (3 * sizeof(void *) + 3 * sizeof(size_t) + sizeof(nmdl_rc_dec))

static void seg_table_free(seg_table *t)
{
    free(t->streams), free(t->slen), free(t->start), free(t->len);
    free(t->out), free(t->dec), free(t->tables);
    nmdl_mm_index_free(&t->index);
    nmdl_sc_lanes_free(t->lanes, t->match, t->S);
}

/* The segment table: S and each stream's place, checked to fill the data
 * part exactly; each segment's place in the n bytes of output. */
static int parse_segments(const uint8_t *data, size_t len, size_t n, seg_table *t,
                          char *why)
{
    size_t pos = 0;
    uint64_t v;
    int rc = get_varint(data, len, &pos, &v);
    if (rc)
        return nmdl_why(why, rc, "data part: segment count cut short or too long");
    if (v < 1 || v > NMDL_NEURAL_MAX_SEGMENTS || v > n)
        return nmdl_why(why, NMDL_ERR_CORRUPT, "data part: %llu segments, outside "
                        "1..min(%d, original length %zu)", (unsigned long long)v,
                        NMDL_NEURAL_MAX_SEGMENTS, n);
    const size_t S = (size_t)v;
    t->S = (int)S;
    t->streams = calloc(S, sizeof *t->streams);
    t->slen = calloc(S, sizeof *t->slen);
    t->start = calloc(S, sizeof *t->start);
    t->len = calloc(S, sizeof *t->len);
    t->out = calloc(S, sizeof *t->out);
    t->dec = calloc(S, sizeof *t->dec);
    if (!t->streams || !t->slen || !t->start || !t->len || !t->out || !t->dec)
        return NMDL_ERR_NOMEM;
    size_t total = 0;
    for (size_t s = 0; s < S; s++) {
        if ((rc = get_varint(data, len, &pos, &v)))
            return nmdl_why(why, rc, "data part: length of segment %zu cut short "
                            "or too long", s);
        total += v <= len ? (size_t)v : len + 1;
        if (total > len)
            return nmdl_why(why, NMDL_ERR_CORRUPT, "data part: segment lengths "
                            "exceed the part's %zu bytes", len);
        t->slen[s] = (size_t)v;
        nmdl_neural_segment(n, t->S, (int)s, &t->start[s], &t->len[s]);
    }
    if (total != len - pos)
        return nmdl_why(why, total > len - pos ? NMDL_ERR_TRUNCATED : NMDL_ERR_CORRUPT,
                        "data part: segment lengths add up to %zu bytes, not the "
                        "%zu after the table", total, len - pos);
    for (size_t s = 0; s < S; s++) {
        t->streams[s] = data + pos;
        pos += t->slen[s];
    }
    return NMDL_OK;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Peak bytes of decoding S segments of n bytes, `live` of them at a time
 * in G groups, besides the input and (unless streaming) the output: the
 * larger of building the weights (the model part's levels and, in revision
 * 6, their coder's state beside the float parameters, then the parameters
 * beside the weights) and coding (the
 * weights, each group's state and, when streaming, the batch's output),
 * plus the segment table throughout. */
uint64_t nmdl_neural_decode_bytes(const nmdl_model_config *cfg, int S, size_t n,
                                  int live, int G, int streaming, int match, int team)
{
    nmdl_tf_layout lay;
    nmdl_tf_layout_make(cfg, &lay);
    uint64_t levels = 4 * (uint64_t)lay.n_params + 12 * (uint64_t)lay.n_tensors;
    for (int k = 0; k < lay.n_tensors; k++)
        levels += (uint64_t)lay.tensor[k].rows + sizeof(size_t);
    if (match >= NMDL_SC_MIX6) /* revision 6's levels coder */
        levels += nmdl_lv_bytes(nmdl_tf_widest(&lay));
    const uint64_t params = 4 * (uint64_t)lay.n_params;
    const uint64_t weights = nmdl_inf_weights_bytes(cfg);
    const uint64_t build = max64(levels + params, params + weights);
    const int per_group = (live + G - 1) / G;
    const size_t seg = n / (size_t)S + 1;
    const uint64_t matching =
        (match ? nmdl_mm_index_bytes(n, nmdl_sc_rev(match)) + (uint64_t)S * sizeof(nmdl_mm_table)
               : 0) +
        (match >= NMDL_SC_MIX ? nmdl_sc_lanes_bytes(n, match, S) : 0);
    const uint64_t window = !streaming ? 0 : match || team ? (uint64_t)n : (uint64_t)live * seg;
    const uint64_t code = weights + (uint64_t)G * nmdl_sc_group_bytes(cfg, per_group, seg, match) +
                          matching + window;
    return max64(build, code) + (uint64_t)S * SEG_TABLE_BYTES;
}

/* The most segments in flight, and their groups, that decoding can afford
 * within p->memory: up to NMDL_SC_GROUP_SEGMENTS per thread (and with the match
 * model, one wave); fewer when memory is short, refused when one segment
 * does not fit. */
static int plan(const nmdl_neural_dec *p, const nmdl_model_config *c, int S,
                size_t n, int match, int *live, int *G)
{
    const uint64_t cache = (uint64_t)S * c->n_layer * 2 * c->ctx * c->d_model * sizeof(float);
    if (cache > MAX_KV_BYTES)
        return nmdl_why(p->why, NMDL_ERR_CORRUPT, "data part: the caches of %d "
                        "segments take %llu MiB, more than 4 GiB", S,
                        (unsigned long long)(cache >> 20));
    const int streaming = p->sink != NULL, team = nmdl_team_size(p->team) > 1;
    int most = nmdl_sc_in_flight(p->threads, S);
    const int wave = nmdl_sc_wave_segments(match, S);
    most = most > wave ? wave : most;
    for (int L = most; L >= 1; L--) {
        *live = L;
        *G = p->threads < L ? p->threads : L;
        if (nmdl_neural_decode_bytes(c, S, n, L, *G, streaming, match, team) <= p->memory)
            return NMDL_OK;
    }
    uint64_t need = nmdl_neural_decode_bytes(c, S, n, 1, 1, streaming, match, team);
    return nmdl_why(p->why, NMDL_ERR_LIMIT, "memory: decoding needs %.1f MiB, "
                    "above the limit of %.1f MiB", (double)need / 1048576.0,
                    (double)p->memory / 1048576.0);
}

/* The shared weights from the model part: levels, float parameters, then
 * the weights, each freed as soon as the next is made. */
static int build_weights(const uint8_t *model, size_t len, nmdl_inf_weights **w,
                         char *why)
{
    nmdl_qmodel qm;
    int rc = nmdl_q_decode(model, len, &qm);
    if (rc)
        return nmdl_why(why, rc, "model part: %s in the steps or levels",
                        nmdl_strerror(rc));
    float *params = malloc(qm.lay.n_params * sizeof(float));
    if (params)
        nmdl_q_dequantize(&qm, params);
    const nmdl_model_config cfg = qm.cfg;
    nmdl_q_free(&qm);
    rc = params ? nmdl_inf_weights_create(&cfg, params, w) : NMDL_ERR_NOMEM;
    free(params);
    return rc;
}

/* Decodes segments [s0, s1) into their places in text. */
static int decode_segments(const nmdl_neural_dec *p, const nmdl_inf_weights *w,
                           seg_table *t, int s0, int s1, int G, uint8_t *text, size_t off)
{
    int rc = NMDL_OK;
    for (int s = s0; !rc && s < s1; s++) {
        t->out[s] = text + (t->start[s] - off);
        rc = nmdl_rc_dec_init(&t->dec[s], t->streams[s], t->slen[s]);
    }
    const nmdl_sc_group all = {t->S, 0, NULL, t->out, t->len, NULL, t->dec, p->prog, 1.0,
                       t->tables ? &t->index : NULL, text, t->start, t->tables, NULL,
                       t->lanes};
    if (!rc && (rc = nmdl_sc_code_batch(w, &all, s0, s1, G, 1)) && rc != NMDL_ERR_NOMEM &&
        rc != NMDL_ERR_CANCELED)
        return nmdl_why(p->why, rc, "data part: %s in segments %d..%d",
                        nmdl_strerror(rc), s0, s1 - 1);
    return rc;
}

/* Bytes of segments [s0, s1) (none when s1 <= s0). */
static size_t span(const seg_table *t, int s0, int s1)
{
    return s1 > s0 ? t->start[s1 - 1] + t->len[s1 - 1] - t->start[s0] : 0;
}

/* Alone: the segments in batches of `live`, each handed to the sink (when
 * streaming) as soon as it is decoded. text is the whole output with the
 * match model or without streaming, else a batch's window. */
static int decode_alone(const nmdl_neural_dec *p, const nmdl_inf_weights *w, seg_table *t,
                        int live, int G, uint8_t *text)
{
    int rc = NMDL_OK;
    for (int s0 = 0, s1; !rc && s0 < t->S; s0 = s1) {
        s1 = nmdl_sc_next_batch(t->tables ? &t->index : NULL, text, t->start, s0, live, t->S);
        const size_t off = p->sink && !t->tables ? t->start[s0] : 0;
        rc = decode_segments(p, w, t, s0, s1, G, text, off);
        if (!rc && p->sink)
            rc = p->sink(p->user, text + (t->start[s0] - off), span(t, s0, s1));
    }
    return rc;
}

/* Member k's segments [*a, *b) of the round [r0, r1) of W positions: the
 * same positions of every round (nmdl_team_share_of), so that with the
 * match model a segment's table comes from one the same member decoded a
 * wave before. */
static void round_share(int K, int k, int W, int r0, int r1, int *a, int *b)
{
    nmdl_team_share_of(K, k, W, a, b);
    *a = r0 + *a < r1 ? r0 + *a : r1;
    *b = r0 + *b < r1 ? r0 + *b : r1;
}

/* A member's scratch for the team's collectives, allocated before the
 * first: each member's code (K) and a gather's byte ranges, offsets then
 * lengths (2K). */
typedef struct team_scratch {
    int *rc;
    size_t *range;
} team_scratch;

/* The round's bytes of every member to all, the others' counted in the
 * progress. */
static int round_gather(const nmdl_neural_dec *p, const seg_table *t, int W, int r0, int r1,
                        uint8_t *text, size_t *range)
{
    const int K = p->team->size;
    size_t others = 0;
    for (int k = 0, a, b; k < K; k++) {
        round_share(K, k, W, r0, r1, &a, &b);
        range[k] = a < b ? t->start[a] : 0;
        range[K + k] = span(t, a, b);
        others += k != p->team->rank ? range[K + k] : 0;
    }
    int rc = nmdl_team_gather_ranges(p->team, text, range, range + K);
    return rc ? rc : nmdl_prog_add(p->prog, (double)others, (long)others);
}

/* The members' first failure (own: this member's) to all, with the detail
 * saying where it happened when it was not this member's. */
static int agree(const nmdl_neural_dec *p, int own, team_scratch *x)
{
    int rc = nmdl_team_first_error(p->team, own, x->rc, x->range);
    if (rc != own && rc != NMDL_ERR_TEAM && rc != NMDL_ERR_CANCELED)
        nmdl_why(p->why, rc, "data part: %s on another member of the team",
                 nmdl_strerror(rc));
    return rc;
}

/* With a team: the segments in rounds (a wave with the match model, else
 * all of them); each member decodes its share of a round, the members
 * agree that none failed (rc: this member's failure before decoding), and
 * exchange the round's bytes, so every member holds the whole output in
 * text and hands each round to its sink. A failure of the last exchange
 * or sink is agreed on after the loop, so every member returns the same
 * code. */
static int decode_team(const nmdl_neural_dec *p, const nmdl_inf_weights *w, seg_table *t,
                       int live, int G, uint8_t *text, int rc)
{
    const int K = p->team->size, W = t->tables ? nmdl_mm_wave(t->index.rev) : t->S;
    team_scratch x = {malloc((size_t)K * sizeof *x.rc), malloc(2 * (size_t)K * sizeof *x.range)};
    if (!x.rc || !x.range) { /* cannot take part: the caller ends the team */
        free(x.rc), free(x.range);
        return NMDL_ERR_NOMEM;
    }
    int agreed = 0;
    for (int r0 = 0; r0 < t->S && !agreed; r0 += W) {
        const int r1 = r0 + W < t->S ? r0 + W : t->S;
        int a, b;
        round_share(K, p->team->rank, W, r0, r1, &a, &b);
        if (!rc && t->tables)
            nmdl_mm_index_extend(&t->index, text, t->start[r0]);
        for (int s0 = a; !rc && s0 < b; s0 += live)
            rc = decode_segments(p, w, t, s0, s0 + live < b ? s0 + live : b, G, text, 0);
        if ((rc = agree(p, rc, &x)) != NMDL_OK) {
            agreed = 1;
            break;
        }
        rc = round_gather(p, t, W, r0, r1, text, x.range);
        if (!rc && p->sink)
            rc = p->sink(p->user, text + t->start[r0], span(t, r0, r1));
    }
    if (!agreed)
        rc = agree(p, rc, &x);
    free(x.rc), free(x.range);
    return rc;
}

/* The n symbols the data part codes (bytes, or merged symbols), under the
 * model part whose header is h. */
static int decode_text(const nmdl_neural_dec *p, const nmdl_q_header *h, const uint8_t *model,
                       size_t model_len, const uint8_t *data, size_t data_len, uint8_t *dst,
                       size_t n)
{
    const int team = nmdl_team_size(p->team) > 1;
    int live = 1, G = 1, rc = NMDL_OK;
    if (h->match && n > NMDL_MM_MAX_INPUT)
        return nmdl_why(p->why, NMDL_ERR_CORRUPT, "model part: the match model "
                        "with %zu bytes of output, more than 2^32 - 1", n);
    seg_table t = {0};
    if (team && p->failed) /* no rounds: only the agreement, which ends them all */
        return decode_team(p, NULL, &t, 1, 1, NULL, p->failed);
    nmdl_inf_weights *w = NULL;
    uint8_t *buf = NULL;
    if (!(rc = parse_segments(data, data_len, n, &t, p->why)) &&
        !(rc = plan(p, &h->cfg, t.S, n, h->match, &live, &G)))
        rc = build_weights(model, model_len, &w, p->why);
    if (!rc && h->match && (!(t.tables = calloc((size_t)t.S, sizeof *t.tables)) ||
                           nmdl_mm_index_init(&t.index, n, nmdl_sc_rev(h->match))))
        rc = NMDL_ERR_NOMEM;
    if (!rc && h->match >= NMDL_SC_MIX) {
        t.match = h->match;
        rc = nmdl_sc_lanes_create(n, h->match, t.S, &t.lanes);
    }
    if (!rc && p->sink &&
        !(buf = malloc(h->match || team ? n : (size_t)live * (n / (size_t)t.S + 1))))
        rc = NMDL_ERR_NOMEM;
    uint8_t *text = buf ? buf : dst;
    if (team) /* every member, also one that failed, takes part */
        rc = decode_team(p, w, &t, live, G, text, rc);
    else if (!rc)
        rc = decode_alone(p, w, &t, live, G, text);
    free(buf);
    nmdl_inf_weights_free(w);
    seg_table_free(&t);
    return rc;
}

#define SINK_BYTES (1u << 20) /* expanded symbols handed to a sink at a time */

/* Expands sym[0, m) through the sink in pieces of at most SINK_BYTES (a
 * symbol stands for at most NMDL_BPE_MAX_LEN <= SINK_BYTES); the lengths
 * are checked against n first. */
static int expand_to_sink(const nmdl_neural_dec *p, const nmdl_bpe *t, const uint8_t *sym,
                          size_t m, size_t n)
{
    uint32_t len[256];
    int rc = nmdl_bpe_lengths(t, len, p->why);
    if (rc || (rc = nmdl_bpe_fits(len, sym, m, n, p->why)))
        return rc;
    uint8_t *buf = malloc(SINK_BYTES);
    if (!buf)
        rc = NMDL_ERR_NOMEM;
    for (size_t i = 0; !rc && i < m;) {
        size_t j = i, bytes = 0;
        for (; j < m && bytes + len[sym[j]] <= SINK_BYTES; j++)
            bytes += len[sym[j]];
        if (!(rc = nmdl_bpe_expand(t, sym + i, j - i, buf, bytes, p->why)))
            rc = p->sink(p->user, buf, bytes);
        i = j;
    }
    free(buf);
    return rc;
}

int nmdl_neural_decode(const nmdl_neural_dec *p, const uint8_t *model,
                       size_t model_len, const uint8_t *data, size_t data_len,
                       uint8_t *dst, size_t n)
{
    if (n < 1 || p->threads < 1 || (!dst && !p->sink) || !nmdl_team_valid(p->team))
        return NMDL_ERR_ARG;
    nmdl_q_header h;
    int rc = nmdl_q_read_header(model, model_len, &h, p->why);
    if (rc || !h.symbols)
        return rc ? rc : decode_text(p, &h, model, model_len, data, data_len, dst, n);
    const size_t m = h.symbols;
    if (m > n)
        return nmdl_why(p->why, NMDL_ERR_CORRUPT, "model part: %zu tokens for %zu bytes", m, n);
    if (p->memory < (uint64_t)m + (p->sink ? SINK_BYTES : 0))
        return nmdl_why(p->why, NMDL_ERR_LIMIT, "memory: decoding needs more than %.1f MiB "
                        "for its tokens, above the limit of %.1f MiB",
                        (double)m / 1048576.0, (double)p->memory / 1048576.0);
    nmdl_neural_dec q = *p; /* the symbols decoded whole, into their buffer */
    q.sink = NULL;
    q.memory -= (uint64_t)m + (p->sink ? SINK_BYTES : 0);
    uint8_t *sym = malloc(m);
    if (!sym && nmdl_team_size(p->team) > 1 && !q.failed)
        q.failed = NMDL_ERR_NOMEM; /* the others still wait for this member */
    rc = sym || q.failed ? decode_text(&q, &h, model, model_len, data, data_len, sym, m)
                         : NMDL_ERR_NOMEM;
    if (!rc)
        rc = p->sink ? expand_to_sink(p, &h.tokens, sym, m, n)
                     : nmdl_bpe_expand(&h.tokens, sym, m, dst, n, p->why);
    free(sym);
    return rc ? rc : q.failed ? q.failed : NMDL_OK;
}
