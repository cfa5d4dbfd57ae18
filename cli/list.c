/*
 * list.c: `nmdl -l FILE...`, one table row per file as `zstd -l` prints:
 * its frames, method, compressed and original bytes, their ratio, and the
 * split of the compressed bytes into model and data parts (the rest is
 * headers and checksums); a line of totals under two or more files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fileio.h"
#include "nmdl.h"

/* One row: a file's frames added up. */
typedef struct row {
    int frames;
    int method; /* the frames' method; -1 when they differ */
    uint64_t file, original, model, data;
} row;

static void add_row(row *t, const row *r)
{
    t->method = t->frames == 0 || t->method == r->method ? r->method : -1;
    t->frames += r->frames;
    t->file += r->file;
    t->original += r->original;
    t->model += r->model;
    t->data += r->data;
}

static void print_row(const row *r, const char *name)
{
    printf("%6d  %-7s %11llu %13llu %7.3f %12llu %12llu  %s\n", r->frames,
           r->method < 0 ? "mixed" : nmdl_method_name(r->method),
           (unsigned long long)r->file, (unsigned long long)r->original,
           r->file ? (double)r->original / (double)r->file : 0.0,
           (unsigned long long)r->model, (unsigned long long)r->data, name);
}

/* Every frame of the file `in` into *r; prints its errors. 0 or -1. */
static int list_file(const char *in, int force, row *r)
{
    const char *name = strcmp(in, "-") ? in : "stdin";
    uint8_t *src;
    size_t n, at = 0, len;
    if (cli_stdin_console(in, force))
        return -1;
    int err = cli_read_all(in, &src, &n), rc = 0;
    if (err) {
        cli_error(name, strerror(err));
        return -1;
    }
    do {
        nmdl_info info;
        if ((rc = cli_next_frame(src + at, n - at, &info, &len))) {
            cli_frame_error(name, r->frames, at, rc, "");
            break;
        }
        row one = {1, (int)info.method, info.file_bytes, info.original_bytes,
                   info.model_bytes, info.data_bytes};
        add_row(r, &one);
        at += len;
    } while (at < n);
    free(src);
    return rc ? -1 : 0;
}

int cli_list(const cli_opts *o)
{
    static const char *stdin_only[] = {"-"};
    const char **inputs = o->n_inputs ? o->inputs : stdin_only;
    int n = o->n_inputs ? o->n_inputs : 1, status = 0, listed = 0;
    row total = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        row r = {0, 0, 0, 0, 0, 0};
        if (list_file(inputs[i], o->force, &r)) {
            status = 1;
            continue;
        }
        if (!listed)
            printf("Frames  Method   Compressed      Original   Ratio   Model part"
                   "    Data part  Filename\n");
        print_row(&r, strcmp(inputs[i], "-") ? inputs[i] : "stdin");
        add_row(&total, &r);
        listed++;
    }
    if (listed > 1) {
        char files[32];
        snprintf(files, sizeof files, "%d files", listed);
        printf("-----------------------------------------------------------------"
               "----------------------\n");
        print_row(&total, files);
    }
    return status;
}
