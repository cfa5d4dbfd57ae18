/*
 * progress.c: see progress.h.
 */
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "commands.h"

#define PROBE_S 0.7  /* seconds of training that measure the machine */
#define BAR_MAX 25   /* columns of the bar itself, at most */
#define BAR_MIN 5    /* below this the bar is left out */

static int drawn;          /* columns of the bar on the terminal, 0: none */
static double estimate_s;  /* the last estimate's seconds */
static int estimate_effort; /* the effort --minutes chose there; 0: none */

double cli_estimated_seconds(void)
{
    return estimate_s;
}

int cli_estimated_effort(void)
{
    return estimate_effort;
}

const char *cli_thousands(char *buf, unsigned long long n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu", n), k = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = 0;
    return buf;
}

const char *cli_duration(char *buf, size_t size, double s)
{
    long t = isfinite(s) && s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(buf, size, "%ld h %ld min", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, size, "%ld min %ld s", t / 60, t % 60);
    else
        snprintf(buf, size, "%ld s", t);
    return buf;
}

/* mm:ss or h:mm:ss; "--:--" when not known. */
static void clock_text(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0 || s >= 1e8) {
        snprintf(buf, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
}

/* Columns of the terminal on standard error: TIOCGWINSZ, else $COLUMNS,
 * else 80. */
static int term_width(void)
{
    struct winsize w;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0)
        return w.ws_col;
    const char *c = getenv("COLUMNS");
    long v = c ? strtol(c, NULL, 10) : 0;
    return v > 0 && v < 10000 ? (int)v : 80;
}

/* The phase's details that fit in `room` columns: its loss, then its
 * speed, where the phase has them. */
static void details(char *buf, size_t n, int room, const nmdl_progress *p)
{
    char loss[32] = "", speed[32] = "";
    if (isfinite(p->loss_bpb))
        snprintf(loss, sizeof loss, "  %.3f bits/byte", p->loss_bpb);
    if (p->tokens_per_s > 0)
        snprintf(speed, sizeof speed, "  %.1fk B/s", p->tokens_per_s / 1e3);
    int a = (int)strlen(loss), b = (int)strlen(speed);
    const int show_speed = a + b <= room || (a > room && b <= room);
    snprintf(buf, n, "%s%s", a <= room ? loss : "", show_speed ? speed : "");
}

/* The bar's line, at most `width` columns, the bar itself BAR_MAX wide
 * when there is room, then the details that fit:
 * "train      37% [#########................] 02:15 ETA 03:50  2.312 bits/byte" */
static void bar_line(char *line, size_t size, int width, const nmdl_progress *p)
{
    char el[24], eta[24], head[48], tail[64], extra[64];
    clock_text(el, sizeof el, p->elapsed_s);
    clock_text(eta, sizeof eta, p->eta_s);
    int pct = (int)(100.0 * p->fraction);
    snprintf(head, sizeof head, "%-9s %3d%% ", p->phase, pct < 0 ? 0 : pct > 100 ? 100 : pct);
    snprintf(tail, sizeof tail, "%s ETA %s", el, eta);
    int room = width - (int)strlen(head) - (int)strlen(tail) - 3; /* "[", "] " */
    int bar = room > BAR_MAX ? BAR_MAX : room;
    if (bar < BAR_MIN) {
        snprintf(line, size, "%s%s", head, tail);
    } else {
        static const char hashes[] = "#########################";
        int fill = (int)(bar * fmin(fmax(p->fraction, 0.0), 1.0));
        details(extra, sizeof extra, room - bar, p);
        snprintf(line, size, "%s[%.*s%*s] %s%s", head, fill, hashes, bar - fill, "", tail,
                 extra);
    }
    if ((int)strlen(line) > width)
        line[width > 0 ? width : 0] = 0;
}

void cli_bar_clear(void)
{
    if (drawn)
        fprintf(stderr, "\r%*s\r", drawn, "");
    drawn = 0;
}

static int draw(void *user, const nmdl_progress *p)
{
    cli_bar *b = user;
    const int final = p->fraction >= 1.0 && p->eta_s == 0.0;
    if (b->tty) {
        char line[512];
        if (final) {
            cli_bar_clear();
            return 0;
        }
        bar_line(line, sizeof line, term_width() - 1, p); /* never the last column */
        int len = (int)strlen(line);
        fprintf(stderr, "\r%-*s", drawn > len ? drawn : len, line);
        drawn = len;
        return 0;
    }
    if (final || p->phase_id != b->phase || p->fraction >= b->next_line) {
        char el[24], eta[24], extra[64];
        clock_text(el, sizeof el, p->elapsed_s);
        clock_text(eta, sizeof eta, final ? 0.0 : p->eta_s);
        details(extra, sizeof extra, (int)sizeof extra, p);
        char steps[64] = "";
        if (p->total_steps > 0)
            snprintf(steps, sizeof steps, ", step %ld of %ld", p->step, p->total_steps);
        fprintf(stderr, "nmdl: %s, %.0f%% of the run, %s elapsed, ETA %s%s%s\n", p->phase,
                100.0 * p->fraction, el, eta, steps, extra);
        b->phase = p->phase_id;
        b->next_line = floor(p->fraction * 10.0 + 1.0) / 10.0;
    }
    return 0;
}

nmdl_progress_fn cli_bar_init(cli_bar *b, int verbosity)
{
    b->tty = verbosity >= 1 && isatty(STDERR_FILENO);
    b->verbose = verbosity >= 2;
    b->phase = -1;
    b->next_line = 0;
    return b->tty || b->verbose ? draw : NULL;
}

/* With --minutes: the largest effort whose estimate fits, set in c and
 * said; *e becomes its estimate. */
static int pick_effort(nmdl_cctx *c, const cli_opts *o, const char *name,
                       const uint8_t *src, size_t n, nmdl_estimate *e)
{
    nmdl_estimate next = {0};
    int effort = 9, rc;
    for (; effort >= 1; effort--, next = *e) {
        if ((rc = nmdl_cctx_set_effort(c, effort)) ||
            (rc = nmdl_cctx_estimate(c, src, n, PROBE_S, e))) {
            cli_error(name, nmdl_strerror(rc));
            return -1;
        }
        if (e->seconds <= 60.0 * o->minutes)
            break;
    }
    char took[48], more[48], msg[256];
    if (effort < 1) { /* nothing fits: the fastest */
        effort = 1;
        snprintf(msg, sizeof msg, "--minutes %g: even effort 1 takes about %s; "
                 "compressing at effort 1", o->minutes,
                 cli_duration(took, sizeof took, e->seconds));
    } else if (effort == 9) {
        snprintf(msg, sizeof msg, "--minutes %g: effort 9, the most, about %s",
                 o->minutes, cli_duration(took, sizeof took, e->seconds));
    } else {
        snprintf(msg, sizeof msg, "--minutes %g: effort %d, about %s (effort %d would "
                 "take about %s)", o->minutes, effort, cli_duration(took, sizeof took, e->seconds),
                 effort + 1, cli_duration(more, sizeof more, next.seconds));
    }
    if (o->verbosity >= 1)
        fprintf(stderr, "nmdl: %s: %s\n", name, msg);
    estimate_effort = effort;
    return nmdl_cctx_set_effort(c, effort) ? -1 : 0;
}

int cli_estimate(nmdl_cctx *c, const cli_opts *o, const char *name,
                 const uint8_t *src, size_t n)
{
    estimate_s = 0;
    estimate_effort = 0;
    if (o->minutes > 0 && o->effort) {
        cli_error(name, "give an effort (-1 .. -9) or --minutes, not both");
        return -1;
    }
    if (!(o->minutes > 0) && o->verbosity < 1)
        return 0;
    nmdl_estimate e;
    int rc = nmdl_cctx_estimate(c, src, n, PROBE_S, &e);
    if (rc) {
        cli_error(name, nmdl_strerror(rc));
        return -1;
    }
    if (!e.neural || !(e.rate > 0))
        return 0;
    if (o->minutes > 0 && pick_effort(c, o, name, src, n, &e))
        return -1;
    estimate_s = e.seconds;
    char took[48];
    const char *preset = "custom";
    nmdl_model_config p = {0};
    for (int i = 0; nmdl_model_preset_name(i); i++)
        if (!nmdl_model_preset(nmdl_model_preset_name(i), &p) && p.n_layer == e.model.n_layer &&
            p.d_model == e.model.d_model && p.d_ff == e.model.d_ff)
            preset = nmdl_model_preset_name(i);
    char sized[96] = "";
    if (e.sized_by_matches)
        snprintf(sized, sizeof sized, " (sized for the %.0f bytes outside long matches)",
                 (double)n - e.free_bytes);
    if (o->verbosity >= 1)
        fprintf(stderr, "nmdl: %s: effort %d, %s model%s, %ld training steps: about %s "
                "(training at %.1f GFLOP/s here)\n", name, e.effort, preset, sized,
                e.train_steps, cli_duration(took, sizeof took, e.seconds), e.rate / 1e9);
    return 0;
}
