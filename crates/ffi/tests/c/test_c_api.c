/*
 * The pocketnn C API from C: loads the seed MLP from a path, a buffer and a
 * file descriptor range, runs the ten digits, checks the logits against
 * onnxruntime, and checks the error paths.
 *
 * usage: test_c_api MODEL.pnn DIGITS.npy REFERENCE.txt WORK_DIR
 */
#include <fcntl.h>
#include <unistd.h>

#include "test_support.h"

static const int64_t DIGITS_SHAPE[4] = {DIGITS, 1, 28, 28};

static struct PnnInput digits_input(const char *name, const float *digits) {
    struct PnnInput input;
    memset(&input, 0, sizeof input);
    input.name = name;
    input.index = 0;
    input.dtype = PNN_DTYPE_F32;
    input.shape = DIGITS_SHAPE;
    input.rank = 4;
    input.data = digits;
    input.byte_len = sizeof(float) * DIGITS * PIXELS;
    return input;
}

/* Runs the digits on `model` and checks the outputs both ways. */
static void run_and_check(const struct PnnModel *model, const float *digits, const float *reference) {
    struct PnnSessionOptions options = pnn_session_options_default();
    options.threads = 2;
    struct PnnSession *session = NULL;
    CHECK_STATUS(pnn_session_create(model, &options, &session), PNN_OK);
    if (session == NULL) return;
    struct PnnInput input = digits_input("input", digits);
    CHECK_STATUS(pnn_session_run(session, &input, 1), PNN_OK);

    struct PnnTensor out;
    CHECK_STATUS(pnn_session_output(session, 0, &out), PNN_OK);
    CHECK(strcmp(out.name, "logits") == 0);
    CHECK(out.dtype == PNN_DTYPE_F32);
    CHECK(out.rank == 2 && out.shape[0] == DIGITS && out.shape[1] == CLASSES);
    CHECK(out.byte_len == sizeof(float) * DIGITS * CLASSES);
    if (out.byte_len == sizeof(float) * DIGITS * CLASSES) check_logits((const float *)out.data, reference);

    float copy[DIGITS * CLASSES];
    size_t needed = 0;
    CHECK_STATUS(pnn_session_copy_output(session, 0, PNN_DTYPE_F32, NULL, 0, &needed),
                 PNN_ERROR_BUFFER_TOO_SMALL);
    CHECK(needed == sizeof copy);
    CHECK_STATUS(pnn_session_copy_output(session, 0, PNN_DTYPE_F32, copy, sizeof copy, &needed), PNN_OK);
    CHECK(memcmp(copy, out.data, sizeof copy) == 0);

    /* By index, a second run: same numbers in the same session memory. */
    input.name = NULL;
    CHECK_STATUS(pnn_session_run(session, &input, 1), PNN_OK);
    struct PnnTensor again;
    CHECK_STATUS(pnn_session_output_by_name(session, "logits", &again), PNN_OK);
    CHECK(memcmp(copy, again.data, sizeof copy) == 0);
    pnn_session_destroy(session);
}

static void check_descriptions(const struct PnnModel *model) {
    size_t count = 0;
    CHECK_STATUS(pnn_model_input_count(model, &count), PNN_OK);
    CHECK(count == 1);
    CHECK_STATUS(pnn_model_output_count(model, &count), PNN_OK);
    CHECK(count == 1);
    struct PnnTensorInfo info;
    CHECK_STATUS(pnn_model_input_info(model, 0, &info), PNN_OK);
    CHECK(strcmp(info.name, "input") == 0 && info.dtype == PNN_DTYPE_F32 && info.rank == 4);
    if (info.rank == 4) CHECK(info.shape[0] == -1 && info.shape[1] == 1 && info.shape[3] == 28);
    CHECK_STATUS(pnn_model_output_info(model, 0, &info), PNN_OK);
    CHECK(strcmp(info.name, "logits") == 0 && info.rank == 2);
    size_t index = 7;
    CHECK_STATUS(pnn_model_input_index(model, "input", &index), PNN_OK);
    CHECK(index == 0);
    CHECK_STATUS(pnn_model_output_index(model, "nope", &index), PNN_ERROR_UNKNOWN_NAME);
    CHECK_STATUS(pnn_model_output_info(model, 1, &info), PNN_ERROR_OUT_OF_RANGE);
}

static void check_errors(const struct PnnModel *model, const float *digits, const char *work_dir) {
    struct PnnModel *none = NULL;
    CHECK_STATUS(pnn_model_load_file("/no/such/model.pnn", &none), PNN_ERROR_IO);
    CHECK(strstr(pnn_last_error(), "/no/such/model.pnn") != NULL);
    CHECK_STATUS(pnn_model_load_file(NULL, &none), PNN_ERROR_NULL_POINTER);
    CHECK_STATUS(pnn_model_load_file("x.pnn", NULL), PNN_ERROR_NULL_POINTER);
    const char garbage[] = "this is not a model, just some text that is long enough to look at";
    CHECK_STATUS(pnn_model_load_buffer(garbage, sizeof garbage, &none), PNN_ERROR_INVALID_MODEL);
    CHECK_STATUS(pnn_model_load_buffer(NULL, 100, &none), PNN_ERROR_NULL_POINTER);
    char bad_path[4096];
    snprintf(bad_path, sizeof bad_path, "%s/garbage.pnn", work_dir);
    FILE *bad = fopen(bad_path, "wb");
    CHECK(bad != NULL);
    if (bad != NULL) {
        fwrite(garbage, 1, sizeof garbage, bad);
        fclose(bad);
        CHECK_STATUS(pnn_model_load_file(bad_path, &none), PNN_ERROR_INVALID_MODEL);
    }
    CHECK_STATUS(pnn_model_load_fd(-1, 0, 100, &none), PNN_ERROR_INVALID_ARGUMENT);
    CHECK(none == NULL);

    struct PnnSession *session = NULL;
    CHECK_STATUS(pnn_session_create(NULL, NULL, &session), PNN_ERROR_NULL_POINTER);
    CHECK_STATUS(pnn_session_create(model, NULL, &session), PNN_OK);
    struct PnnTensor out;
    CHECK_STATUS(pnn_session_output(session, 0, &out), PNN_ERROR_NO_RESULTS);
    struct PnnInput input = digits_input("input", digits);
    input.byte_len -= 1;
    CHECK_STATUS(pnn_session_run(session, &input, 1), PNN_ERROR_SIZE_MISMATCH);
    input = digits_input("input", digits);
    input.dtype = PNN_DTYPE_I32;
    CHECK_STATUS(pnn_session_run(session, &input, 1), PNN_ERROR_WRONG_DTYPE);
    input = digits_input("input", digits);
    input.data = NULL;
    CHECK_STATUS(pnn_session_run(session, &input, 1), PNN_ERROR_NULL_POINTER);
    input = digits_input("image", digits);
    CHECK_STATUS(pnn_session_run(session, &input, 1), PNN_ERROR_UNKNOWN_NAME);
    CHECK_STATUS(pnn_session_run(session, NULL, 0), PNN_ERROR_MISSING_INPUT);
    CHECK_STATUS(pnn_session_run(NULL, &input, 1), PNN_ERROR_NULL_POINTER);
    input = digits_input("input", digits);
    CHECK_STATUS(pnn_session_run(session, &input, 1), PNN_OK);
    float small[DIGITS * CLASSES - 1];
    size_t needed = 0;
    CHECK_STATUS(pnn_session_copy_output(session, 0, PNN_DTYPE_F32, small, sizeof small, &needed),
                 PNN_ERROR_BUFFER_TOO_SMALL);
    CHECK(needed == sizeof(float) * DIGITS * CLASSES);
    float enough[DIGITS * CLASSES];
    CHECK_STATUS(pnn_session_copy_output(session, 0, PNN_DTYPE_I64, enough, sizeof enough, NULL),
                 PNN_ERROR_WRONG_DTYPE);
    CHECK_STATUS(pnn_session_copy_output(session, 0, PNN_DTYPE_F32, NULL, sizeof enough, NULL),
                 PNN_ERROR_NULL_POINTER);
    CHECK_STATUS(pnn_session_output(session, 3, &out), PNN_ERROR_OUT_OF_RANGE);
    CHECK_STATUS(pnn_session_output(session, 0, NULL), PNN_ERROR_NULL_POINTER);
    CHECK(strcmp(pnn_status_name(PNN_ERROR_WRONG_DTYPE), "PNN_ERROR_WRONG_DTYPE") == 0);
    CHECK(strcmp(pnn_status_name(12345), "PNN_UNKNOWN_STATUS") == 0);
    pnn_session_destroy(session);
    pnn_session_destroy(NULL);
    pnn_model_destroy(NULL);
}

/* Writes the model inside a larger file at `offset` and loads it by fd. */
static void check_fd(const unsigned char *bytes, size_t len, const char *work_dir, size_t offset,
                     bool expect_mapped, const float *digits, const float *reference) {
    char path[4096];
    snprintf(path, sizeof path, "%s/packed-%zu.bin", work_dir, offset);
    FILE *out = fopen(path, "wb");
    CHECK(out != NULL);
    if (out == NULL) return;
    for (size_t i = 0; i < offset; i++) fputc(0xA5, out);
    fwrite(bytes, 1, len, out);
    for (int i = 0; i < 77; i++) fputc(0x5A, out);
    fclose(out);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    struct PnnModel *model = NULL;
    CHECK_STATUS(pnn_model_load_fd(fd, offset, len, &model), PNN_OK);
    CHECK_STATUS(pnn_model_load_fd(fd, offset, len + 1000, &model), PNN_ERROR_IO);
    close(fd); /* the model does not need the descriptor any more */
    if (model == NULL) return;
    bool mapped = !expect_mapped;
    CHECK_STATUS(pnn_model_is_memory_mapped(model, &mapped), PNN_OK);
    CHECK(mapped == expect_mapped);
    run_and_check(model, digits, reference);
    pnn_model_destroy(model);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL.pnn DIGITS.npy REFERENCE.txt WORK_DIR\n", argv[0]);
        return 2;
    }
    static float digits[DIGITS * PIXELS];
    static float reference[DIGITS * CLASSES];
    if (!read_digits(argv[2], digits) || !read_reference(argv[3], reference)) {
        fprintf(stderr, "cannot read the test data\n");
        return 2;
    }
    printf("pocketnn %s\n", pnn_version());

    struct PnnModel *model = NULL;
    CHECK_STATUS(pnn_model_load_file(argv[1], &model), PNN_OK);
    if (model == NULL) return 1;
    bool mapped = false;
    CHECK_STATUS(pnn_model_is_memory_mapped(model, &mapped), PNN_OK);
    CHECK(mapped);
    check_descriptions(model);
    run_and_check(model, digits, reference);
    check_errors(model, digits, argv[4]);

    size_t len = 0;
    unsigned char *bytes = read_file(argv[1], &len);
    CHECK(bytes != NULL);
    if (bytes != NULL) {
        struct PnnModel *from_buffer = NULL;
        CHECK_STATUS(pnn_model_load_buffer(bytes, len, &from_buffer), PNN_OK);
        memset(bytes, 0, len); /* the model made its own copy */
        if (from_buffer != NULL) run_and_check(from_buffer, digits, reference);
        pnn_model_destroy(from_buffer);
        free(bytes);
    }
    bytes = read_file(argv[1], &len);
    if (bytes != NULL) {
        check_fd(bytes, len, argv[4], 4096, true, digits, reference);
        check_fd(bytes, len, argv[4], 13, false, digits, reference);
        free(bytes);
    }

    /* A session outlives its model handle. */
    struct PnnSession *session = NULL;
    CHECK_STATUS(pnn_session_create(model, NULL, &session), PNN_OK);
    pnn_model_destroy(model);
    struct PnnInput input = digits_input("input", digits);
    CHECK_STATUS(pnn_session_run(session, &input, 1), PNN_OK);
    float logits[DIGITS * CLASSES];
    CHECK_STATUS(pnn_session_copy_output(session, 0, PNN_DTYPE_F32, logits, sizeof logits, NULL), PNN_OK);
    check_logits(logits, reference);
    pnn_session_destroy(session);

    if (failures != 0) {
        fprintf(stderr, "test_c_api: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_c_api: all checks passed\n");
    return 0;
}
