/*
 * json.c: see json.h. Numbers are printed with %.10g and read with strtod,
 * both in the C locale, which the nmdl command never changes.
 */
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ---- */

/* Bytes of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t k;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 3, lo = c == 0xE0 ? 0xA0 : lo, hi = c == 0xED ? 0x9F : hi;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 4, lo = c == 0xF0 ? 0x90 : lo, hi = c == 0xF4 ? 0x8F : hi;
    else
        return 0;
    if (n < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return k;
}

int cli_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = utf8_seq(u + i, n - i)))
            return 0;
    return 1;
}

/* ---- writing ---- */

/* s as a JSON string: quotes, backslash and control characters escaped,
 * each byte of an invalid UTF-8 sequence written as U+FFFD. */
static void jw_string(FILE *f, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    fputc('"', f);
    for (size_t i = 0, k; i < n; i += k) {
        k = utf8_seq(u + i, n - i);
        if (!k) {
            fputs("\xEF\xBF\xBD", f);
            k = 1;
        } else if (u[i] == '"' || u[i] == '\\') {
            fprintf(f, "\\%c", u[i]);
        } else if (u[i] < 0x20) {
            fprintf(f, "\\u%04x", u[i]);
        } else {
            fwrite(u + i, 1, k, f);
        }
    }
    fputc('"', f);
}

/* The comma before a member and its "key": (nothing in an array). */
static void jw_key(cli_jw *w, const char *key)
{
    if (w->has[w->depth - 1])
        fputc(',', w->f);
    w->has[w->depth - 1] = 1;
    if (key) {
        jw_string(w->f, key);
        fputc(':', w->f);
    }
}

/* Opens a nested object or array (nesting past CLI_JW_DEPTH is a bug of
 * the caller; it is written flat rather than overflow). */
static void jw_open(cli_jw *w, const char *key, char bracket)
{
    jw_key(w, key);
    fputc(bracket, w->f);
    if (w->depth < CLI_JW_DEPTH)
        w->has[w->depth++] = 0;
}

void cli_jw_begin(cli_jw *w, FILE *f, const char *command)
{
    w->f = f;
    w->depth = 1;
    w->has[0] = 0;
    fputc('{', f);
    cli_jw_int(w, "schema", CLI_JSON_SCHEMA);
    cli_jw_str(w, "command", command);
}

void cli_jw_finish(cli_jw *w)
{
    fputc('}', w->f);
    w->depth = 0;
}

void cli_jw_end(cli_jw *w)
{
    cli_jw_finish(w);
    fputc('\n', w->f);
}

void cli_jw_object(cli_jw *w, const char *key)
{
    jw_open(w, key, '{');
}

int cli_jw_object_if(cli_jw *w, const char *key, int present)
{
    if (present)
        cli_jw_object(w, key);
    else
        cli_jw_null(w, key);
    return present;
}

void cli_jw_array(cli_jw *w, const char *key)
{
    jw_open(w, key, '[');
}

void cli_jw_close(cli_jw *w, char bracket)
{
    fputc(bracket, w->f);
    if (w->depth > 1)
        w->depth--;
}

void cli_jw_num(cli_jw *w, const char *key, double v)
{
    jw_key(w, key);
    if (isfinite(v))
        fprintf(w->f, "%.10g", v);
    else
        fputs("null", w->f);
}

void cli_jw_uint(cli_jw *w, const char *key, uint64_t v)
{
    jw_key(w, key);
    fprintf(w->f, "%llu", (unsigned long long)v);
}

void cli_jw_uint_if(cli_jw *w, const char *key, int present, uint64_t v)
{
    if (present)
        cli_jw_uint(w, key, v);
    else
        cli_jw_null(w, key);
}

void cli_jw_int(cli_jw *w, const char *key, long long v)
{
    jw_key(w, key);
    fprintf(w->f, "%lld", v);
}

void cli_jw_bool(cli_jw *w, const char *key, int v)
{
    jw_key(w, key);
    fputs(v < 0 ? "null" : v ? "true" : "false", w->f);
}

void cli_jw_str(cli_jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    if (s)
        jw_string(w->f, s);
    else
        fputs("null", w->f);
}

void cli_jw_null(cli_jw *w, const char *key)
{
    jw_key(w, key);
    fputs("null", w->f);
}

void cli_jw_name(cli_jw *w, const char *key, const char *name)
{
    char hex_key[64];
    snprintf(hex_key, sizeof hex_key, "%s_hex", key);
    cli_jw_str(w, key, name);
    jw_key(w, hex_key);
    if (!name || cli_utf8_valid(name, strlen(name))) {
        fputs("null", w->f);
        return;
    }
    fputc('"', w->f);
    cli_write_hex(w->f, name);
    fputc('"', w->f);
}

void cli_write_hex(FILE *f, const char *s)
{
    for (const unsigned char *u = (const unsigned char *)s; *u; u++)
        fprintf(f, "%02x", *u);
}

void cli_jw_architecture(cli_jw *w, const nmdl_model_config *c)
{
    if (!cli_jw_object_if(w, "architecture", c != NULL))
        return;
    cli_jw_int(w, "n_layer", c->n_layer);
    cli_jw_int(w, "d_model", c->d_model);
    cli_jw_int(w, "n_head", c->n_head);
    cli_jw_int(w, "d_ff", c->d_ff);
    cli_jw_int(w, "ctx", c->ctx);
    cli_jw_bool(w, "tied", c->tied);
    cli_jw_close(w, '}');
}

void cli_jw_model(cli_jw *w, const char *command, const char *model,
                  const char *corpus, size_t n, const nmdl_model *m)
{
    nmdl_model_config c = {0};
    nmdl_model_get_config(m, &c);
    cli_jw_begin(w, stdout, command);
    cli_jw_name(w, "model_file", model);
    cli_jw_name(w, "corpus_file", corpus);
    cli_jw_uint(w, "input_bytes", n);
    cli_jw_uint(w, "n_params", nmdl_model_n_params(m));
    cli_jw_architecture(w, &c);
}

/* ---- reading ---- */

typedef struct parser {
    cli_json *d;
    const unsigned char *s;
    size_t n, pos;
    int depth;
} parser;

static void skip_ws(parser *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                             p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

/* A new node of type t, unlinked; its index, or -1 without memory. */
static int new_node(parser *p, cli_json_type t)
{
    cli_json *d = p->d;
    if (d->n == d->cap) {
        int cap = d->cap ? 2 * d->cap : 16;
        cli_json_node *m = realloc(d->node, (size_t)cap * sizeof *m);
        if (!m)
            return -1;
        d->node = m, d->cap = cap;
    }
    d->node[d->n] = (cli_json_node){t, 0, 0, 0, 0, -1, -1, 0};
    return d->n++;
}

/* Appends n bytes to the text buffer; 0 or -1 without memory. */
static int put_text(parser *p, const void *b, size_t n)
{
    cli_json *d = p->d;
    if (d->text_len + n > d->text_cap) {
        size_t cap = d->text_cap ? d->text_cap : 64;
        while (cap < d->text_len + n)
            cap *= 2;
        char *t = realloc(d->text, cap);
        if (!t)
            return -1;
        d->text = t, d->text_cap = cap;
    }
    memcpy(d->text + d->text_len, b, n);
    d->text_len += n;
    return 0;
}

/* Whether the text at the position starts with word (then skipped). */
static int literal(parser *p, const char *word)
{
    size_t k = strlen(word);
    if (p->n - p->pos < k || memcmp(p->s + p->pos, word, k))
        return 0;
    p->pos += k;
    return 1;
}

/* Four hex digits after \u; -1 when they are not. */
static long hex4(parser *p)
{
    long v = 0;
    if (p->n - p->pos < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int c = p->s[p->pos++];
        int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* The code point of a \u escape (a surrogate pair taken whole) as UTF-8
 * into out; its length, or 0 for a lone surrogate or bad digits. */
static int unicode_escape(parser *p, unsigned char *out)
{
    long c = hex4(p);
    if (c >= 0xD800 && c <= 0xDBFF) {
        if (!literal(p, "\\u"))
            return 0;
        long lo = hex4(p);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return 0;
        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
    } else if (c < 0 || (c >= 0xDC00 && c <= 0xDFFF)) {
        return 0;
    }
    if (c < 0x80)
        return out[0] = (unsigned char)c, 1;
    if (c < 0x800) {
        out[0] = (unsigned char)(0xC0 | c >> 6);
        out[1] = (unsigned char)(0x80 | (c & 63));
        return 2;
    }
    int k = c < 0x10000 ? 3 : 4;
    out[0] = (unsigned char)(k == 3 ? 0xE0 | c >> 12 : 0xF0 | c >> 18);
    for (int i = 1; i < k; i++)
        out[i] = (unsigned char)(0x80 | ((c >> (6 * (k - 1 - i))) & 63));
    return k;
}

/* A string at the position (its opening quote): decoded into the text
 * buffer with a NUL after it. 0 or -1. */
static int parse_string(parser *p, size_t *off, size_t *len)
{
    static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
    if (!literal(p, "\""))
        return -1;
    *off = p->d->text_len;
    while (p->pos < p->n && p->s[p->pos] != '"') {
        unsigned char u[4];
        size_t k = 1;
        const char *e;
        if (p->s[p->pos] == '\\') {
            p->pos++;
            if (p->pos < p->n && p->s[p->pos] == 'u') {
                p->pos++;
                if (!(k = (size_t)unicode_escape(p, u)))
                    return -1;
            } else if (p->pos < p->n && p->s[p->pos] && (e = strchr(esc_in, p->s[p->pos]))) {
                u[0] = (unsigned char)esc_out[e - esc_in];
                p->pos++;
            } else {
                return -1;
            }
        } else if (p->s[p->pos] < 0x20 || !(k = utf8_seq(p->s + p->pos, p->n - p->pos))) {
            return -1;
        } else {
            memcpy(u, p->s + p->pos, k);
            p->pos += k;
        }
        if (put_text(p, u, k))
            return -1;
    }
    if (!literal(p, "\"") || put_text(p, "", 1))
        return -1;
    *len = p->d->text_len - *off - 1;
    return 0;
}

/* Digits at the position, at least one; their count. */
static size_t digits(parser *p)
{
    size_t k = 0;
    while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        p->pos++, k++;
    return k;
}

/* A number as RFC 8259 spells it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * (at most 127 characters). 0 or -1. */
static int parse_number(parser *p, double *v)
{
    size_t start = p->pos;
    literal(p, "-");
    if (p->pos < p->n && p->s[p->pos] == '0')
        p->pos++;
    else if (!digits(p))
        return -1;
    if (literal(p, ".") && !digits(p))
        return -1;
    if (p->pos < p->n && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (!literal(p, "+"))
            literal(p, "-");
        if (!digits(p))
            return -1;
    }
    char buf[128];
    size_t k = p->pos - start;
    if (k >= sizeof buf)
        return -1;
    memcpy(buf, p->s + start, k);
    buf[k] = 0;
    *v = strtod(buf, NULL);
    return 0;
}

static int parse_value(parser *p);

/* Elements or members up to the closing bracket, linked under node i. */
static int parse_items(parser *p, int i, int object)
{
    int last = -1;
    skip_ws(p);
    if (literal(p, object ? "}" : "]"))
        return 0;
    for (;;) {
        size_t key = 0, key_len;
        skip_ws(p);
        if (object) {
            if (parse_string(p, &key, &key_len))
                return -1;
            skip_ws(p);
            if (!literal(p, ":"))
                return -1;
        }
        int c = parse_value(p);
        if (c < 0)
            return -1;
        p->d->node[c].key = key;
        if (last < 0)
            p->d->node[i].child = c;
        else
            p->d->node[last].next = c;
        last = c;
        p->d->node[i].count++;
        skip_ws(p);
        if (literal(p, ","))
            continue;
        return literal(p, object ? "}" : "]") ? 0 : -1;
    }
}

/* One value at the position (white space before it skipped); its node,
 * or -1. */
static int parse_value(parser *p)
{
    skip_ws(p);
    if (p->pos >= p->n)
        return -1;
    int c = p->s[p->pos], i;
    if (c == '{' || c == '[') {
        if (++p->depth > CLI_JSON_MAX_DEPTH || (i = new_node(p, c == '{' ? CLI_JSON_OBJECT
                                                                         : CLI_JSON_ARRAY)) < 0)
            return -1;
        p->pos++;
        if (parse_items(p, i, c == '{'))
            return -1;
        p->depth--;
        return i;
    }
    if (c == '"') {
        size_t off, len;
        if ((i = new_node(p, CLI_JSON_STRING)) < 0 || parse_string(p, &off, &len))
            return -1;
        p->d->node[i].str = off, p->d->node[i].len = len;
        return i;
    }
    if (literal(p, "null"))
        return new_node(p, CLI_JSON_NULL);
    if (literal(p, "true"))
        return new_node(p, CLI_JSON_TRUE);
    if (literal(p, "false"))
        return new_node(p, CLI_JSON_FALSE);
    double v;
    if (parse_number(p, &v) || (i = new_node(p, CLI_JSON_NUMBER)) < 0)
        return -1;
    p->d->node[i].num = v;
    return i;
}

int cli_json_parse(cli_json *doc, const char *s, size_t n, size_t *err_at)
{
    memset(doc, 0, sizeof *doc);
    parser p = {doc, (const unsigned char *)s, n, 0, 0};
    int top = parse_value(&p);
    skip_ws(&p);
    if (top == 0 && p.pos == n)
        return 0;
    if (err_at)
        *err_at = p.pos;
    cli_json_free(doc);
    return -1;
}

void cli_json_free(cli_json *doc)
{
    free(doc->node);
    free(doc->text);
    memset(doc, 0, sizeof *doc);
}

int cli_json_get(const cli_json *doc, int i, const char *key)
{
    if (i < 0 || i >= doc->n || doc->node[i].type != CLI_JSON_OBJECT)
        return -1;
    for (int c = doc->node[i].child; c >= 0; c = doc->node[c].next)
        if (!strcmp(doc->text + doc->node[c].key, key))
            return c;
    return -1;
}

const char *cli_json_text(const cli_json *doc, size_t offset)
{
    return doc->text + offset;
}
