/*
 * Helpers shared by the C and C++ tests of the pocketnn C API: a check macro
 * that counts failures, file reading, the digits from models/digits.npy and
 * onnxruntime's reference logits (tests/data/seed_mlp_digits_logits.txt).
 */
#ifndef POCKETNN_TEST_SUPPORT_H
#define POCKETNN_TEST_SUPPORT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pocketnn.h"

static int failures = 0;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, \
                    #cond, pnn_last_error());                                              \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

/* Checks that `call` returns `expected`, printing both names otherwise. */
#define CHECK_STATUS(call, expected)                                                       \
    do {                                                                                   \
        enum PnnStatus got_ = (call);                                                      \
        if (got_ != (expected)) {                                                          \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n",         \
                    __FILE__, __LINE__, #call, pnn_status_name((int32_t)got_),              \
                    pnn_status_name((int32_t)(expected)), pnn_last_error());                \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

/* Reads a whole file; returns NULL (and prints why) on failure. */
static unsigned char *read_file(const char *path, size_t *out_len) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *bytes = (unsigned char *)malloc(size > 0 ? (size_t)size : 1);
    if (bytes == NULL || fread(bytes, 1, (size_t)size, file) != (size_t)size) {
        fprintf(stderr, "cannot read %s\n", path);
        free(bytes);
        fclose(file);
        return NULL;
    }
    fclose(file);
    *out_len = (size_t)size;
    return bytes;
}

#define DIGITS 10
#define PIXELS (28 * 28)
#define CLASSES 10

/* Reads the ten f32 [1,28,28] digits of a NumPy 1.0 file into `out`. */
static int read_digits(const char *path, float out[DIGITS * PIXELS]) {
    size_t len = 0;
    unsigned char *bytes = read_file(path, &len);
    if (bytes == NULL) return 0;
    size_t header = 10 + (size_t)bytes[8] + 256 * (size_t)bytes[9];
    int ok = len == header + sizeof(float) * DIGITS * PIXELS;
    if (ok) memcpy(out, bytes + header, sizeof(float) * DIGITS * PIXELS);
    free(bytes);
    return ok;
}

/* Reads onnxruntime's 10x10 logits (lines starting with '#' are comments). */
static int read_reference(const char *path, float out[DIGITS * CLASSES]) {
    FILE *file = fopen(path, "r");
    if (file == NULL) return 0;
    char line[1024];
    int n = 0;
    while (n < DIGITS * CLASSES && fgets(line, sizeof line, file) != NULL) {
        if (line[0] == '#') continue;
        char *cursor = line;
        for (int i = 0; i < CLASSES; i++) {
            char *end = NULL;
            out[n++] = strtof(cursor, &end);
            if (end == cursor) {
                fclose(file);
                return 0;
            }
            cursor = end;
        }
    }
    fclose(file);
    return n == DIGITS * CLASSES;
}

/* Checks logits against onnxruntime (|diff| <= 1e-3) and argmax == digit. */
static void check_logits(const float *logits, const float *reference) {
    for (int d = 0; d < DIGITS; d++) {
        int best = 0;
        for (int c = 0; c < CLASSES; c++) {
            float got = logits[d * CLASSES + c];
            float want = reference[d * CLASSES + c];
            if (!(fabsf(got - want) <= 1e-3f)) {
                fprintf(stderr, "logit [%d][%d]: pocketnn %g, onnxruntime %g\n", d, c, got, want);
                failures++;
            }
            if (got > logits[d * CLASSES + best]) best = c;
        }
        if (best != d) {
            fprintf(stderr, "digit %d predicted as %d\n", d, best);
            failures++;
        }
    }
}

#endif
