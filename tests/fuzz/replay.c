/*
 * replay.c: runs a fuzz target over files and folders of seed inputs, so
 * that the seeds are tested by ctest with any compiler (libFuzzer itself is
 * clang-only). With `-mutations=N` first, a target that has a custom
 * mutator also gets N mutants of each seed, one after the other, so that
 * the mutator runs under ctest too; LLVMFuzzerMutate, libFuzzer's byte
 * mutations, is stood in for by a byte change.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed) __attribute__((weak));
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static int mutations; /* mutants per seed */
static unsigned mutation_seed = 1;

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size)
{
    mutation_seed = mutation_seed * 1103515245u + 12345u;
    if (size)
        data[(mutation_seed >> 8) % size] ^= (uint8_t)(1 + (mutation_seed >> 20) % 255);
    return size <= max_size ? size : max_size;
}

/* Runs data, then `mutations` mutants of it, each from the last. */
static void run(const uint8_t *data, size_t n)
{
    uint8_t *exact = malloc(n ? n : 1); /* exact size: overreads show */
    if (n)
        memcpy(exact, data, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    if (!LLVMFuzzerCustomMutator || !mutations)
        return;
    const size_t cap = 2 * n + 4096;
    uint8_t *m = malloc(cap);
    memcpy(m, data, n);
    for (int i = 0; i < mutations; i++) {
        n = LLVMFuzzerCustomMutator(m, n, cap, mutation_seed += 7919);
        exact = malloc(n ? n : 1);
        memcpy(exact, m, n);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    free(m);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap && !(buf = realloc(buf, cap = cap ? 2 * cap : 4096)))
            return 1;
        size_t r = fread(buf + n, 1, cap - n, f);
        if (!r)
            break;
        n += r;
    }
    fclose(f);
    run(buf, n);
    free(buf);
    return 0;
}

static int run_path(const char *path, int *count)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "replay: %s: not found\n", path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        ++*count;
        return run_file(path);
    }
    DIR *d = opendir(path);
    int bad = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        bad |= run_path(sub, count);
    }
    if (d)
        closedir(d);
    return bad;
}

int main(int argc, char **argv)
{
    int bad = 0, count = 0, first = 1;
    if (argc > 1 && !strncmp(argv[1], "-mutations=", 11))
        mutations = atoi(argv[first++] + 11);
    for (int i = first; i < argc; i++)
        bad |= run_path(argv[i], &count);
    printf("replay: %d inputs, %d mutants of each\n", count,
           LLVMFuzzerCustomMutator ? mutations : 0);
    return bad || count == 0;
}
