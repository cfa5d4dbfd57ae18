/*
 * progress.c: see progress.h.
 */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

static void clock_text(char *buf, size_t n, double s)
{
    long t = s > 0 && s < 1e8 ? (long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
}

static int draw(void *user, const nmdl_progress *p)
{
    cli_bar *b = user;
    char el[48], eta[48];
    clock_text(el, sizeof el, p->elapsed_s);
    clock_text(eta, sizeof eta, p->eta_s);
    int done = p->total_steps ? (int)(20 * p->step / p->total_steps) : 20;
    if (b->tty) {
        fprintf(stderr, "\r%-9s [%.*s%*s] %ld/%ld  %.3f bits/byte  %.1fk B/s  %s  ETA %s ",
                p->phase, done, "####################", 20 - done, "", p->step,
                p->total_steps, p->loss_bpb, p->tokens_per_s / 1e3, el, eta);
        if (p->step >= p->total_steps)
            fputc('\n', stderr);
    } else if (p->step >= b->next_line || p->step >= p->total_steps) {
        fprintf(stderr, "%s step %ld/%ld  %.3f bits/byte  %.1fk B/s  %s\n",
                p->phase, p->step, p->total_steps, p->loss_bpb,
                p->tokens_per_s / 1e3, el);
        b->next_line = p->step >= p->total_steps
                           ? 0 : p->step + (p->total_steps + 9) / 10;
    }
    return 0;
}

nmdl_progress_fn cli_bar_init(cli_bar *b, int verbosity)
{
    b->tty = verbosity >= 1 && isatty(STDERR_FILENO);
    b->verbose = verbosity >= 2;
    b->next_line = 0;
    return b->tty || b->verbose ? draw : NULL;
}
