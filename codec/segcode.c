/*
 * segcode.c: see segcode.h.
 */
#include "segcode.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "freq.h"
#include "neural.h"

#define TICK_BYTES 64 /* coding steps between progress counts */

/* The coder's table for one distribution. */
static void table(const float *probs, uint32_t *freq, uint32_t *cum)
{
    nmdl_freq_from_probs(probs, 256, NMDL_NEURAL_FREQ_BITS, freq);
    nmdl_freq_cumulate(freq, 256, cum);
}

static int decode_byte(nmdl_rc_dec *d, const uint32_t *cum, int bits, uint8_t *b)
{
    int sym, rc = nmdl_rc_decode_symbol(d, cum, 256, bits, &sym);
    *b = (uint8_t)sym;
    return rc;
}

/* A binary decision (the match flag, a bit of the context mixer): yes or
 * 1 is [0, p) of 2^16. */
static void encode_flag(nmdl_rc_enc *e, uint32_t p, int hit)
{
    nmdl_rc_encode(e, hit ? 0 : p, hit ? p : (1u << NMDL_MM_BITS) - p, NMDL_MM_BITS);
}

static int decode_flag(nmdl_rc_dec *d, uint32_t p, int *hit)
{
    uint32_t t;
    int rc = nmdl_rc_decode_target(d, NMDL_MM_BITS, &t);
    if (rc)
        return rc;
    *hit = t < p;
    return nmdl_rc_decode_update(d, *hit ? 0 : p, *hit ? p : (1u << NMDL_MM_BITS) - p);
}

/* Codes byte i >= 1 of segment s bit by bit under the context mixer cm
 * (nmdl_cm_begin done), given the transformer's table cum (257). */
static int code_bits(nmdl_sc_group *g, int s, nmdl_cm *cm, const uint32_t *cum, size_t i,
                     int decode)
{
    int lo = 0, rc = NMDL_OK;
    for (int half = 128; half; half >>= 1) {
        const uint32_t zero = cum[lo + half] - cum[lo], one = cum[lo + 2 * half] - cum[lo + half];
        const uint32_t p = nmdl_cm_p(cm, zero, one);
        int bit = 0;
        if (decode)
            rc = decode_flag(&g->dec[s], p, &bit);
        else
            encode_flag(&g->enc[s], p, bit = (g->in[s][i] & half) != 0);
        if (rc)
            break;
        nmdl_cm_update(cm, bit);
        lo += bit ? half : 0;
    }
    if (decode)
        g->out[s][i] = (uint8_t)lo;
    return rc;
}

/* Codes byte i >= 1 of the group's segment s under the transformer's
 * probs (256; the predicted byte's is zeroed after a missed match), first
 * the match flag when mm (may be NULL) predicts a byte (in revision 3 its
 * P mixed by cm), then with the context mixer cm (may be NULL) bit by bit.
 * fixed (may be NULL): probs' table already made (freq 256, then cum 257),
 * the same for every byte where there is no model. */
static int code_byte(nmdl_sc_group *g, int s, nmdl_mm *mm, nmdl_cm *cm, float *probs,
                     const uint32_t *fixed, size_t i, int decode)
{
    uint32_t own[256], own_cum[257];
    const uint32_t *freq = fixed, *cum = fixed ? fixed + 256 : own_cum;
    if (!fixed) {
        nmdl_freq_from_probs(probs, 256, NMDL_NEURAL_FREQ_BITS, own);
        freq = own;
    }
    const int guess = mm ? nmdl_mm_predict(mm) : -1;
    const int mixed_flag = cm && cm->rev >= 3;
    int hit = 0, rc = NMDL_OK;
    if (g->pure_bits)
        g->pure_bits[s] += NMDL_NEURAL_FREQ_BITS - log2((double)freq[g->in[s][i]]);
    const uint8_t *seg = decode ? g->out[s] : g->in[s];
    if (mixed_flag) /* the flag's P is mixed: contexts before it */
        nmdl_cm_begin(cm, seg, i, -1);
    if (guess >= 0) {
        uint32_t p = nmdl_mm_p_hit(mm, freq[guess]);
        if (mixed_flag)
            p = nmdl_cm_flag_p(cm, guess, p, nmdl_mm_len_class(mm));
        if (decode)
            rc = decode_flag(&g->dec[s], p, &hit);
        else
            encode_flag(&g->enc[s], p, hit = g->in[s][i] == guess);
        if (!rc && mixed_flag)
            nmdl_cm_flag_update(cm, hit);
        if (!rc && hit && decode)
            g->out[s][i] = (uint8_t)guess;
        probs[guess] = 0.0f;
    }
    if (!rc && !hit) {
        if (guess >= 0 || !fixed) {
            table(probs, own, own_cum);
            cum = own_cum;
        }
        if (cm) {
            if (mixed_flag)
                nmdl_cm_missed(cm, guess);
            else
                nmdl_cm_begin(cm, seg, i, guess);
            rc = code_bits(g, s, cm, cum, i, decode);
        } else if (decode) {
            rc = decode_byte(&g->dec[s], cum, NMDL_NEURAL_FREQ_BITS, &g->out[s][i]);
        } else {
            uint8_t b = g->in[s][i];
            nmdl_rc_encode(&g->enc[s], cum[b], cum[b + 1] - cum[b], NMDL_NEURAL_FREQ_BITS);
        }
    }
    if (mm)
        nmdl_mm_update(mm, i, guess >= 0, hit);
    return rc;
}

int nmdl_sc_rev(int match)
{
    return match >= NMDL_SC_MIX5 ? 4 : match >= NMDL_SC_MIX2 ? match - 1 : 1;
}

int nmdl_sc_cm_rev(int match)
{
    return match >= NMDL_SC_MIX8 ? 6 : match >= NMDL_SC_MIX7 ? 5 : nmdl_sc_rev(match);
}

size_t nmdl_sc_group_bytes(const nmdl_model_config *cfg, int ns, size_t seg_len, int match)
{
    return nmdl_inf_state_bytes(cfg, ns) +
           (size_t)ns * (256 * sizeof(float) + 1 + sizeof(nmdl_mm) +
                         (match ? nmdl_mm_own_bytes(seg_len, nmdl_sc_rev(match)) : 0));
}

/* The match models of a group's segments, each table starting from the
 * one a wave before (fresh in the first wave). */
static int match_init(const nmdl_sc_group *g, nmdl_mm *mm)
{
    const int W = nmdl_mm_wave(g->index->rev);
    int rc = NMDL_OK;
    for (int s = 0; s < g->ns && !rc; s++) {
        const int k = g->first + s;
        nmdl_mm_table *t = &g->tables[k];
        if (k >= W)
            *t = g->tables[k - W];
        else
            nmdl_mm_table_init(t, g->index->rev);
        rc = nmdl_mm_init(&mm[s], g->index, g->text, g->start[s], g->len[s], t);
    }
    return rc;
}

static void match_free(nmdl_mm *mm, int ns)
{
    for (int s = 0; mm && s < ns; s++)
        nmdl_mm_free(&mm[s]);
    free(mm);
}

/* The transformer's next distributions of the group's segments after
 * tok (probs: ns x 256), or with no model (f NULL) the uniform one. */
static void predict(nmdl_inf *f, const uint8_t *tok, int ns, float *probs)
{
    if (f)
        nmdl_inf_step(f, tok, probs);
    else
        for (size_t k = 0; k < (size_t)ns * 256; k++)
            probs[k] = 1.0f / 256;
}

/* Runs the model (w; NULL: none, the uniform distribution in its place)
 * over a group, encoding or decoding every byte after the first of each
 * segment; the first is coded with 8 plain bits. */
static int code_group(const nmdl_inf_weights *w, nmdl_sc_group *g, int decode)
{
    uint32_t uniform[257]; /* the table of 8 plain bits */
    for (int i = 0; i <= 256; i++)
        uniform[i] = (uint32_t)i;
    uint32_t fixed[256 + 257]; /* with no model: the coder's table of probs */
    nmdl_inf *f = NULL;
    int rc = w ? nmdl_inf_create_shared(w, g->ns, &f) : NMDL_OK;
    float *probs = malloc((size_t)g->ns * 256 * sizeof(float));
    uint8_t *tok = calloc((size_t)g->ns, 1);
    nmdl_mm *mm = g->index ? calloc((size_t)g->ns, sizeof *mm) : NULL;
    if (!rc && (!probs || !tok || (g->index && !mm)))
        rc = NMDL_ERR_NOMEM;
    if (!rc && mm)
        rc = match_init(g, mm);
    if (!rc && !w) {
        predict(NULL, tok, 1, probs);
        table(probs, fixed, fixed + 256);
    }
    size_t steps = 0;
    for (int s = 0; s < g->ns && !rc; s++) {
        steps = g->len[s] > steps ? g->len[s] : steps;
        if (g->len[s] && decode)
            rc = decode_byte(&g->dec[s], uniform, 8, &g->out[s][0]);
        else if (g->len[s])
            nmdl_rc_encode(&g->enc[s], g->in[s][0], 1, 8);
        if (g->pure_bits && g->len[s])
            g->pure_bits[s] += 8;
        if (mm && g->len[s])
            nmdl_mm_update(&mm[s], 0, 0, 0);
    }
    for (size_t t = 0; t + 1 < steps && !rc; t++) {
        if (t % TICK_BYTES == TICK_BYTES - 1)
            rc = nmdl_prog_add(g->prog, TICK_BYTES * g->ns * g->byte_work, TICK_BYTES * g->ns);
        for (int s = 0; s < g->ns; s++)
            tok[s] = t < g->len[s] ? (decode ? g->out[s][t] : g->in[s][t]) : 0;
        predict(f, tok, g->ns, probs);
        for (int s = 0; s < g->ns && !rc; s++)
            if (t + 1 < g->len[s])
                rc = code_byte(g, s, mm ? &mm[s] : NULL,
                               g->lanes ? &g->lanes[(g->first + s) % nmdl_mm_wave(g->index->rev)]
                                        : NULL,
                               probs + (size_t)s * 256, w ? NULL : fixed, t + 1, decode);
    }
    for (int s = 0; decode && s < g->ns && !rc; s++)
        rc = nmdl_rc_dec_finish(&g->dec[s]);
    match_free(mm, g->ns);
    nmdl_inf_free(f);
    free(probs);
    free(tok);
    return rc;
}

int nmdl_sc_wave_segments(int match, int S)
{
    const int W = match ? nmdl_mm_wave(nmdl_sc_rev(match)) : S;
    return S < W ? S : W;
}

int nmdl_sc_lanes_create(size_t n, int match, int S, nmdl_cm **lanes)
{
    const int count = nmdl_sc_wave_segments(match, S);
    nmdl_cm *l = calloc((size_t)count, sizeof *l);
    int rc = l ? NMDL_OK : NMDL_ERR_NOMEM;
    for (int k = 0; k < count && !rc; k++)
        rc = nmdl_cm_init(&l[k], n, nmdl_sc_cm_rev(match));
    if (rc)
        nmdl_sc_lanes_free(l, match, S);
    *lanes = rc ? NULL : l;
    return rc;
}

void nmdl_sc_lanes_free(nmdl_cm *lanes, int match, int S)
{
    const int count = nmdl_sc_wave_segments(match, S);
    for (int k = 0; lanes && k < count; k++)
        nmdl_cm_free(&lanes[k]);
    free(lanes);
}

size_t nmdl_sc_lanes_bytes(size_t n, int match, int S)
{
    return (size_t)nmdl_sc_wave_segments(match, S) * nmdl_cm_bytes(n, nmdl_sc_cm_rev(match));
}

int nmdl_sc_in_flight(int threads, int S)
{
    return threads <= (S - 1) / NMDL_SC_GROUP_SEGMENTS ? threads * NMDL_SC_GROUP_SEGMENTS : S;
}

/* Segments [s0, s0 + n) of `all` in G groups of consecutive segments, as
 * tasks of nmdl_prog_parallel; every thread reads the same weights. */
typedef struct batch {
    const nmdl_inf_weights *w;
    const nmdl_sc_group *all;
    int s0, n, G, decode;
} batch;

static int batch_task(void *ctx, int k)
{
    const batch *b = ctx;
    const nmdl_sc_group *all = b->all;
    int s = b->s0 + (int)((long)k * b->n / b->G);
    int e = b->s0 + (int)((long)(k + 1) * b->n / b->G);
    nmdl_sc_group g = {e - s, s, all->in ? all->in + s : NULL, all->out ? all->out + s : NULL,
               all->len + s, all->enc ? all->enc + s : NULL, all->dec ? all->dec + s : NULL,
               all->prog, all->byte_work, all->index, all->text,
               all->start ? all->start + s : NULL, all->tables,
               all->pure_bits ? all->pure_bits + s : NULL, all->lanes};
    return code_group(b->w, &g, b->decode);
}

int nmdl_sc_code_batch(const nmdl_inf_weights *w, const nmdl_sc_group *all, int s0,
                      int s1, int G, int decode)
{
    if (all->lanes && !all->index) /* lanes are safe only within a wave */
        return NMDL_ERR_ARG;
    batch b = {w, all, s0, s1 - s0, G < s1 - s0 ? G : s1 - s0, decode};
    return nmdl_prog_parallel(all->prog, b.G, b.G, batch_task, &b);
}

int nmdl_sc_next_batch(nmdl_mm_index *index, const uint8_t *text, const size_t *start,
                      int s0, int live, int S)
{
    int s1 = s0 + live < S ? s0 + live : S;
    if (index) {
        const int W = nmdl_mm_wave(index->rev), wave_end = (s0 / W + 1) * W;
        s1 = s1 < wave_end ? s1 : wave_end;
        if (s0 % W == 0)
            nmdl_mm_index_extend(index, text, start[s0]);
    }
    return s1;
}
