/*
 * svg_axis.h: the axes of the plots cli/svg.c draws: the range the drawn
 * points span, padded, and the ticks whose labels fit the room an axis
 * has, with the estimated widths of texts (svg.h describes the rules).
 */
#ifndef NMDL_CLI_SVG_AXIS_H
#define NMDL_CLI_SVG_AXIS_H

#include <stddef.h>

#include "svg.h"

#define CLI_AXIS_FS_TICK 12     /* font size of tick labels, px */
#define CLI_AXIS_MAX_TICKS 64
#define CLI_AXIS_LIMIT 1e300    /* larger magnitudes are not drawn */

/* One axis: its range and its ticks with their labels. */
typedef struct cli_axis {
    int log, bytes;
    double lo, hi; /* the range drawn, in data units */
    int n;         /* ticks */
    double v[CLI_AXIS_MAX_TICKS];
    char text[CLI_AXIS_MAX_TICKS][32];
} cli_axis;

/* Lowest and highest drawn value on one axis. */
typedef struct cli_axis_range {
    double lo, hi;
    int any;
} cli_axis_range;

/* Characters (UTF-8 code points) in the first n bytes of s. */
int cli_axis_chars(const char *s, size_t n);
/* Estimated width of s at font size fs, px; 0 for NULL. */
double cli_axis_text_w(const char *s, int fs);
/* Whether v can be drawn on an axis (logarithmic when log). */
int cli_axis_drawable(double v, int log);
/* Whether point i of series s of p is drawn. */
int cli_axis_point_ok(const cli_svg_plot *p, const cli_svg_series *s, int i);
/* The drawn points' ranges, error bars included; reference lines count
 * for y. */
void cli_axis_data_ranges(const cli_svg_plot *p, cli_axis_range *rx, cli_axis_range *ry);
/* r with room around it (svg.h, "Axes are fitted to the data"). */
void cli_axis_range_pad(cli_axis_range *r, int log);
/* The ticks of a (its log and bytes set) over px of the frame, for the
 * padded range r: a->lo, a->hi, the ticks and their labels. */
void cli_axis_ticks(cli_axis *a, const cli_axis_range *r, double px, int horizontal);
/* Where v lies on a, 0 at lo and 1 at hi. */
double cli_axis_frac(const cli_axis *a, double v);
/* Widest tick label of a, px. */
double cli_axis_ticks_w(const cli_axis *a);

#endif
