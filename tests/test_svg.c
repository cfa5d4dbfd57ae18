/*
 * test_svg.c: the plots of cli/svg.c are well-formed XML, list every label
 * (escaped), draw one path per series with drawable points, keep every text
 * inside the canvas and out of the plot area, never let two texts overlap
 * (boxes estimated from the emitted <text> elements the way the module
 * estimates them), and are the same bytes for the same input.
 *
 * TEST_SVG_OUT=DIR keeps the plots there (for tests/render_svg.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"
#include "sweep.h"

/* A text element's estimated box, canvas px. */
typedef struct box {
    double x0, y0, x1, y1;
    char text[96];
    int point; /* a point label (class="point-label"), drawn inside the frame */
} box;

/* What was written to the temporary file f, as one string, malloc'd;
 * closes f. */
static char *read_back(FILE *f)
{
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

/* The plot as one string, malloc'd; also saved as $TEST_SVG_OUT/name. */
static char *render(const cli_svg_plot *p, const char *name)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(cli_svg_write(f, p), 0);
    char *s = read_back(f);
    const size_t n = strlen(s);
    const char *dir = getenv("TEST_SVG_OUT");
    if (dir && *dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *o = fopen(path, "wb");
        assert_non_null(o);
        fwrite(s, 1, (size_t)n, o);
        fclose(o);
    }
    return s;
}

/* A series with the defaults beyond its points and dash pattern. */
static cli_svg_series line(const char *label, const double *x, const double *y, int n,
                           int dash)
{
    return (cli_svg_series){.label = label, .x = x, .y = y, .n = n, .dash = dash};
}

/* Occurrences of needle in s. */
static int count(const char *s, const char *needle)
{
    int c = 0;
    for (const char *t = strstr(s, needle); t; t = strstr(t + 1, needle))
        c++;
    return c;
}

/* Checks the XML: declaration first, every tag closed in order, attribute
 * values quoted, '&' only as one of the five entities, one root. */
static void check_xml(const char *s)
{
    assert_memory_equal(s, "<?xml", 5);
    size_t n = strlen(s);
    assert_true(n > 8 && strcmp(s + n - 7, "</svg>\n") == 0);
    const char *stack[64];
    int depth = 0, roots = 0;
    for (const char *p = strstr(s, "?>") + 2; *p; p++) {
        if (*p == '&') {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            int ok = 0;
            for (int i = 0; i < 5; i++)
                ok |= strncmp(p, ents[i], strlen(ents[i])) == 0;
            assert_true(ok);
        }
        if (*p == '>')
            fail_msg("stray '>' at %.40s", p);
        if (*p != '<')
            continue;
        const char *end = p + 1;
        int quoted = 0;
        for (; *end && (quoted || *end != '>'); end++) {
            assert_true(quoted || *end != '<');
            if (*end == '"')
                quoted = !quoted;
        }
        assert_int_equal(*end, '>');
        if (p[1] == '/') {
            assert_true(depth > 0);
            size_t len = strcspn(stack[depth - 1], " />");
            assert_memory_equal(p + 2, stack[depth - 1], len);
            assert_int_equal(p[2 + len], '>');
            depth--;
        } else if (end[-1] != '/') {
            assert_true(depth < 64);
            roots += depth == 0;
            stack[depth++] = p + 1;
        } else {
            roots += depth == 0;
        }
        p = end;
    }
    assert_int_equal(depth, 0);
    assert_int_equal(roots, 1);
}

/* A numeric attribute of the element starting at el (before its '>'). */
static double attr(const char *el, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *a = strstr(el, key);
    assert_non_null(a);
    assert_true(a < strchr(el, '>'));
    return strtod(a + strlen(key), NULL);
}

/* Boxes of all <text> elements: CLI_SVG_EM x font size per character
 * (an entity is one), 0.8 font size above the baseline and 0.2 below,
 * placed by text-anchor and turned by rotate(-90 x y). Returns the count. */
static int text_boxes(const char *s, box *b, int cap)
{
    int n = 0;
    for (const char *t = strstr(s, "<text "); t; t = strstr(t + 1, "<text ")) {
        assert_true(n < cap);
        double x = attr(t, "x"), y = attr(t, "y"), fs = attr(t, "font-size");
        const char *gt = strchr(t, '>'), *close = strstr(gt, "</text>");
        int chars = 0;
        for (const char *c = gt + 1; c < close; c++) {
            if (*c == '&')
                c = strchr(c, ';');
            chars += ((unsigned char)*c & 0xC0) != 0x80;
        }
        double w = CLI_SVG_EM * fs * chars;
        const char *anchor = strstr(t, "text-anchor=\"");
        double dx0 = strncmp(anchor + 13, "middle", 6) == 0 ? -w / 2
                     : strncmp(anchor + 13, "end", 3) == 0  ? -w : 0;
        const char *rot = strstr(t, "rotate(-90 ");
        if (rot && rot < gt) /* (x + dx, y + dy) goes to (x + dy, y - dx) */
            b[n] = (box){x - 0.8 * fs, y - dx0 - w, x + 0.2 * fs, y - dx0, "", 0};
        else
            b[n] = (box){x + dx0, y - 0.8 * fs, x + dx0 + w, y + 0.2 * fs, "", 0};
        const char *cls = strstr(t, " class=\"point-label\"");
        b[n].point = cls && cls < gt;
        snprintf(b[n].text, sizeof b[n].text, "%.*s", (int)(close - gt - 1), gt + 1);
        n++;
    }
    return n;
}

/* Whether the interiors of two boxes meet. */
static int meet(box a, box b)
{
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

/* The rectangle with the given id. */
static box rect(const char *s, const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "<rect id=\"%s\"", id);
    const char *r = strstr(s, key);
    assert_non_null(r);
    double x = attr(r, "x"), y = attr(r, "y");
    return (box){x, y, x + attr(r, "width"), y + attr(r, "height"), "", 0};
}

/* The layout checks common to every plot; returns the canvas width. */
static double check_layout(const char *s)
{
    check_xml(s);
    const char *root = strstr(s, "<svg ");
    assert_non_null(root);
    double w = attr(root, "width"), h = attr(root, "height");
    box area = rect(s, "plot-area");
    assert_true(area.x0 >= 0 && area.x1 <= w && area.y0 >= 0 && area.y1 <= h);
    if (strstr(s, "<rect id=\"legend\"")) {
        box leg = rect(s, "legend");
        assert_false(meet(leg, area));
        assert_true(leg.x1 <= w && leg.y1 <= h);
    }
    static box b[512];
    int n = text_boxes(s, b, 512);
    for (int i = 0; i < n; i++) {
        if (b[i].x0 < 0 || b[i].y0 < 0 || b[i].x1 > w || b[i].y1 > h)
            fail_msg("text \"%s\" leaves the %gx%g canvas", b[i].text, w, h);
        if (b[i].point && !(b[i].x0 >= area.x0 && b[i].x1 <= area.x1 && b[i].y0 >= area.y0 &&
                            b[i].y1 <= area.y1))
            fail_msg("point label \"%s\" leaves the plot area", b[i].text);
        if (!b[i].point && meet(b[i], area))
            fail_msg("text \"%s\" is inside the plot area", b[i].text);
        for (int j = 0; j < i; j++)
            if (meet(b[i], b[j]))
                fail_msg("texts \"%s\" and \"%s\" overlap", b[i].text, b[j].text);
    }
    return w;
}

/* Subpaths (moveto commands) in all path data of s. */
static int moves(const char *s)
{
    int c = 0;
    for (const char *t = strstr(s, "<path d=\""); t; t = strstr(t + 1, "<path d=\""))
        for (t += 9; *t != '"'; t++)
            c += *t == 'M';
    return c;
}

/* Whether s has a text element saying exactly t. */
static int has_text(const char *s, const char *t)
{
    char key[128];
    snprintf(key, sizeof key, ">%s</text>", t);
    return strstr(s, key) != NULL;
}

/* Description length against dataset size: log-x byte axis over four
 * decades, a gap (NaN), a single point, an empty series, a reference
 * line, labels that need escaping, a title that must wrap. */
static void dataset_plot(void **state)
{
    (void)state;
    double x[12], y1[12], y2[12], y3[12];
    for (int i = 0; i < 12; i++) {
        x[i] = 1024.0 * pow(2.0, i * 1.2);
        y1[i] = 8 * x[i] / (1 + 0.1 * i);
        y2[i] = 3 * x[i] + 5e4;
        y3[i] = i == 5 ? NAN : 2.5 * x[i];
    }
    double one_x = 3e5, one_y = 6e5, ref = 2e6;
    const char *ref_label = "L(w*) = 2.0 Mbit";
    cli_svg_series s[5] = {
        line("neural <mini> & zstd", x, y1, 12, 0),
        line("zstd -19 \"long\"", x, y2, 12, 1),
        line("with a gap", x, y3, 12, 0),
        line("single point", &one_x, &one_y, 1, 0),
        line("empty series", NULL, NULL, 0, 0)};
    cli_svg_plot p = {
        .title = "Description length against dataset size for every method that "
                 "nmdl tried on the enwik8 prefixes",
        .xlabel = "dataset size (bytes)", .ylabel = "description length (bits)",
        .log_x = 1, .x_bytes = 1, .series = s, .n_series = 5,
        .hlines = &ref, .hline_labels = &ref_label, .n_hlines = 1};
    char *svg = render(&p, "dataset.svg");
    check_layout(svg);
    assert_true(strstr(svg, "neural &lt;mini&gt; &amp; zstd") != NULL);
    assert_true(strstr(svg, "zstd -19 &quot;long&quot;") != NULL);
    for (int i = 2; i < 5; i++)
        assert_true(has_text(svg, s[i].label));
    assert_true(has_text(svg, ref_label));
    assert_true(has_text(svg, "dataset size (bytes)"));
    assert_true(has_text(svg, "1M"));
    assert_int_equal(count(svg, "<path"), 4); /* not the empty one */
    assert_int_equal(moves(svg), 5);          /* the gap starts a subpath */
    assert_true(count(svg, "<text x=\"") >= 20);
    assert_true(count(svg, "font-size=\"18\"") >= 2); /* the title wrapped */
    char *again = render(&p, "dataset.svg");
    assert_string_equal(svg, again);
    free(again);
    free(svg);
}

/* The sweep's model_bits.svg: each point carries its size and its weight
 * code where the record has one, and says so where λ̂ is of a cooled copy
 * of the weights. */
static void sweep_model_bits(void **state)
{
    (void)state;
    sweep_row rows[2] = {{.input_bytes = 262144, .llc = 4049, .llc_se = 37, .epsilon = 0.0107,
                          .neural_model_bytes = 19848, .ok = 1},
                         {.input_bytes = 2097152, .llc = 7390, .llc_se = 592, .epsilon = 0.0024,
                          .neural_model_bytes = 99801, .llc_cool_steps = 500, .ok = 1,
                          .weights = "l0-rl1"}};
    FILE *f = tmpfile();
    assert_non_null(f);
    sweep_plot_model(f, rows, 2);
    char *svg = read_back(f);
    check_xml(svg);
    assert_true(has_text(svg, "256K"));
    assert_true(has_text(svg, "2M l0-rl1 cooled"));
    assert_int_equal(count(svg, " cooled<"), 1);
    free(svg);
}

/* Loss traces of four SGLD chains, 2000 steps each, linear axes, with the
 * loss at the optimum as a reference line. */
static void loss_traces(void **state)
{
    (void)state;
    enum { N = 2000, C = 4 };
    static double x[N], y[C][N];
    cli_svg_series s[C];
    char names[C][32];
    for (int c = 0; c < C; c++) {
        for (int i = 0; i < N; i++) {
            x[i] = i;
            y[c][i] = 3.21 + 0.4 * exp(-i / 300.0) + 0.02 * sin(i * (0.37 + c)) + 0.01 * c;
        }
        snprintf(names[c], sizeof names[c], "chain %d", c + 1);
        s[c] = line(names[c], x, y[c], N, c == 3);
    }
    double ref = 3.21;
    const char *ref_label = "L(w*)";
    cli_svg_plot p = {.title = "SGLD loss per chain", .xlabel = "step",
                      .ylabel = "loss (nats/byte)", .series = s, .n_series = C,
                      .hlines = &ref, .hline_labels = &ref_label, .n_hlines = 1};
    char *svg = render(&p, "loss.svg");
    check_layout(svg);
    assert_int_equal(count(svg, "<path"), C);
    assert_int_equal(count(svg, "<circle"), 0); /* long series: no markers */
    assert_true(has_text(svg, "1000") && (has_text(svg, "3.3") || has_text(svg, "3.30")));
    free(svg);
}

/* Degenerate data: nothing at all, all-equal values, log axes with zeros
 * and negatives, only non-finite points, huge magnitudes. */
static void degenerate_data(void **state)
{
    (void)state;
    cli_svg_plot empty = {0};
    char *svg = render(&empty, "empty.svg");
    check_layout(svg);
    assert_int_equal(count(svg, "<path"), 0);
    free(svg);

    double x[5] = {1, 2, 3, 4, 5}, flat[5] = {7, 7, 7, 7, 7};
    double bad[5] = {-1, 0, NAN, INFINITY, 1e301};
    double mixed[5] = {0, -3, 10, 100, 1000};
    cli_svg_series s[4] = {line("flat", x, flat, 5, 0),
                           line("nothing drawable", x, bad, 5, 0),
                           line("mixed", x, mixed, 5, 1),
                           line(NULL, x, flat, 0, 0)};
    cli_svg_plot p = {.ylabel = "y", .series = s, .n_series = 4};
    svg = render(&p, "flat.svg");
    check_layout(svg);
    assert_int_equal(count(svg, "<path"), 3);
    assert_true(has_text(svg, "nothing drawable"));
    free(svg);

    p.log_x = p.log_y = 1;
    svg = render(&p, "loglog.svg");
    check_layout(svg);
    assert_int_equal(count(svg, "<path"), 2);  /* flat, and mixed's last 3 */
    assert_true(has_text(svg, "10") && has_text(svg, "1000"));
    free(svg);

    double one = 42, big[2] = {-1e300, 1e300};
    cli_svg_series only = line("one", &one, &one, 1, 0), wide = line("wide", big, big, 2, 0);
    cli_svg_plot q = {.series = &only, .n_series = 1, .log_y = 1};
    svg = render(&q, "single.svg");
    check_layout(svg);
    assert_int_equal(count(svg, "<circle"), 2); /* the point and its legend */
    free(svg);
    q.series = &wide;
    q.log_y = 0;
    svg = render(&q, "wide.svg");
    check_layout(svg);
    free(svg);
}

/* A small canvas, long labels and a tiny range: ticks thin out, the
 * canvas grows, nothing overlaps. */
static void crowded_text(void **state)
{
    (void)state;
    double x[3] = {1e6, 2e7, 3.3e7}, y[3] = {1.000001, 1.000002, 1.0000035};
    double lx[3] = {3, 30, 90}, ly[3] = {2e-3, 5e-4, 1e-3};
    const char *long_label = "a series whose legend entry is far longer than the "
                             "plot itself is wide";
    cli_svg_series s[2] = {line(long_label, x, y, 3, 0), line("b", x, y, 3, 1)};
    cli_svg_plot p = {.title = "Supercalifragilisticexpialidocious_unbreakable_title_"
                               "that_is_longer_than_the_canvas",
                      .xlabel = "an x label that is rather long (units)",
                      .ylabel = "a y label longer than the plot is high (units)",
                      .width = 300, .height = 200, .series = s, .n_series = 2};
    char *svg = render(&p, "crowded.svg");
    double w = check_layout(svg);
    assert_true(w > 600);
    free(svg);
    cli_svg_series t = line("c", lx, ly, 3, 0);
    cli_svg_plot q = {.log_x = 1, .log_y = 1, .width = 250, .height = 120,
                      .series = &t, .n_series = 1, .xlabel = "x"};
    svg = render(&q, "small_log.svg");
    check_layout(svg);
    free(svg);
    q.y_bytes = q.x_bytes = 1;
    lx[0] = 16384, lx[1] = 65536, lx[2] = 262144;
    q.width = 800;
    svg = render(&q, "bytes.svg");
    check_layout(svg);
    assert_true(has_text(svg, "64K") && has_text(svg, "256K"));
    free(svg);
    q.log_x = 0;
    lx[0] = 0, lx[2] = 3 << 20;
    svg = render(&q, "bytes_linear.svg");
    check_layout(svg);
    assert_true(has_text(svg, "1M") || has_text(svg, "1.0M"));
    assert_true(has_text(svg, "3M") || has_text(svg, "3.0M"));
    free(svg);
}

/* The i-th <path> element of s (0-based), or NULL. */
static const char *nth_path(const char *s, int i)
{
    const char *t = strstr(s, "<path d=\"");
    while (t && i-- > 0)
        t = strstr(t + 1, "<path d=\"");
    return t;
}

/* The y of the k-th point (0-based) of the path at t. */
static double path_y(const char *t, int k)
{
    const char *p = t + 9;
    for (int i = 0; i <= k; i++) {
        p += strspn(p, " M");
        strtod(p, (char **)&p); /* x */
        double y = strtod(p, (char **)&p);
        if (i == k)
            return y;
    }
    return NAN;
}

/* Lines that coincide: each series its own dash and marker, the one on top
 * drawn last with filled markers, the others hollow, and coinciding points
 * spread `dodge` px apart with the first series highest; error bars,
 * point labels, a caption, a series without markers. */
static void readable_series(void **state)
{
    (void)state;
    double x[3] = {1e6, 2e6, 8e6}, y[3] = {2.0, 1.8, 1.45}, other[3] = {2.1, 2.05, 1.9};
    double err[3] = {0.01, 0.2, 0.02}, ref[2] = {1e6, 8e6}, refy[2] = {1.2, 1.2};
    const char *labels[3] = {"1M", NULL, "8M"};
    cli_svg_series s[5] = {
        {.label = "nmdl file", .x = x, .y = y, .n = 3, .on_top = 1},
        {.label = "neural attempt", .x = x, .y = y, .n = 3, .dash = 1},
        {.label = "the same again", .x = x, .y = y, .n = 3, .dash = 2},
        {.label = "with bars and labels", .x = x, .y = other, .n = 3, .dash = 3,
         .yerr = err, .point_labels = labels},
        {.label = "reference", .x = ref, .y = refy, .n = 2, .dash = 4,
         .marker = CLI_SVG_NONE}};
    cli_svg_plot p = {.title = "Coinciding lines", .xlabel = "n (bytes)", .ylabel = "bits/byte",
                      .log_x = 1, .x_bytes = 1, .series = s, .n_series = 5,
                      .caption = "corpus test; effort 6; nmdl abc1234; measured 2026-12-01",
                      .dodge = 3};
    char *svg = render(&p, "readable.svg");
    check_layout(svg);
    assert_int_equal(count(svg, "<path"), 5);
    /* drawn in order, the one on top last; each its own dash */
    assert_non_null(strstr(nth_path(svg, 4), "stroke=\"#332288\""));
    static const char *const dashes[] = {"8 4", "2 3", "10 3 2 3", "5 5"};
    for (int i = 0; i < 4; i++) {
        const char *t = nth_path(svg, i), *end = strchr(t, '>');
        const char *d = strstr(t, "stroke-dasharray=\"");
        assert_true(d && d < end);
        assert_memory_equal(d + 18, dashes[i], strlen(dashes[i]));
    }
    const char *top = nth_path(svg, 4), *dash = strstr(top, "dasharray");
    assert_true(!dash || dash > strchr(top, '>')); /* solid */
    /* the three identical series 3 px apart, the first one highest */
    for (int k = 0; k < 3; k++) {
        double top = path_y(nth_path(svg, 4), k), mid = path_y(nth_path(svg, 0), k),
               low = path_y(nth_path(svg, 1), k);
        assert_true(fabs(mid - top - 3) < 0.02 && fabs(low - mid - 3) < 0.02);
    }
    /* markers: the top series filled, the others hollow, four shapes in
     * the plot and the legend, none for the reference */
    assert_non_null(strstr(svg, "<g fill=\"#332288\">"));
    assert_non_null(strstr(svg, "<g fill=\"none\" stroke=\"#CC6677\""));
    assert_int_equal(count(svg, "<circle"), 3 + 1);
    assert_int_equal(count(svg, "<rect x="), 3 + 1 + 1); /* squares, the background */
    assert_int_equal(count(svg, "<polygon"), 2 * (3 + 1));
    /* error bars: three lines each (bar and caps) */
    const char *bars = strstr(svg, "<g stroke=\"#88CCEE\" stroke-width=\"1.25\">");
    assert_non_null(bars);
    assert_int_equal(count(bars, "<line") - count(strstr(bars, "</g>"), "<line"), 9);
    assert_int_equal(count(svg, "class=\"point-label\""), 2);
    assert_true(has_text(svg, "1M") && has_text(svg, "8M"));
    assert_non_null(strstr(svg, "fill=\"#555555\">corpus test; effort 6;"));
    free(svg);
}

/* Axes fitted to the data: no padding to the next power of two or to
 * zero, but a tick where one falls inside; the range widens to ticks only
 * where fewer than two would fall inside. */
static void fitted_axes(void **state)
{
    (void)state;
    double x[3] = {1e6, 2e6, 8e6}, y[3] = {4.56, 2.35, 0.29};
    cli_svg_series s = {.label = "dl", .x = x, .y = y, .n = 3};
    cli_svg_plot p = {.log_x = 1, .x_bytes = 1, .series = &s, .n_series = 1};
    char *svg = render(&p, "fitted.svg");
    check_layout(svg);
    assert_false(has_text(svg, "512K"));
    assert_true(has_text(svg, "1M") && has_text(svg, "8M"));
    assert_false(has_text(svg, "0") || has_text(svg, "5.0") || has_text(svg, "5"));
    assert_true(has_text(svg, "0.5") && has_text(svg, "4.5"));
    free(svg);
    double nx[2] = {1.05e6, 1.1e6}; /* no power of two inside: widened */
    s.x = nx, s.n = 2;
    svg = render(&p, "widened.svg");
    check_layout(svg);
    assert_true(has_text(svg, "1M") && has_text(svg, "2M"));
    free(svg);
}

/* Errors: bad arguments are EINVAL, a failing stream is -1. */
static void errors(void **state)
{
    (void)state;
    cli_svg_plot p = {0};
    errno = 0;
    assert_int_equal(cli_svg_write(stdout, NULL), -1);
    assert_int_equal(errno, EINVAL);
    cli_svg_series s = line("x", NULL, NULL, 3, 0);
    p.series = &s;
    p.n_series = 1;
    assert_int_equal(cli_svg_write(stdout, &p), -1);
    p.n_series = 0;
    FILE *ro = fopen("/dev/null", "r");
    assert_non_null(ro);
    assert_int_equal(cli_svg_write(ro, &p), -1);
    fclose(ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dataset_plot),
        cmocka_unit_test(sweep_model_bits),
        cmocka_unit_test(loss_traces),
        cmocka_unit_test(degenerate_data),
        cmocka_unit_test(crowded_text),
        cmocka_unit_test(readable_series),
        cmocka_unit_test(fitted_axes),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
