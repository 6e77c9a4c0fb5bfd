// The pocketnn C API from C++: RAII owners for the handles, a model shared
// by several std::threads with one session each, outputs checked against
// onnxruntime, exceptions built from the status and last-error message.
//
// usage: test_cpp_api MODEL.pnn DIGITS.npy REFERENCE.txt
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace {

struct ModelDeleter {
    void operator()(PnnModel *model) const { pnn_model_destroy(model); }
};
struct SessionDeleter {
    void operator()(PnnSession *session) const { pnn_session_destroy(session); }
};
using ModelPtr = std::unique_ptr<PnnModel, ModelDeleter>;
using SessionPtr = std::unique_ptr<PnnSession, SessionDeleter>;

// Throws with the status name and message when `status` is not PNN_OK.
void ok(PnnStatus status) {
    if (status != PNN_OK) {
        throw std::runtime_error(std::string(pnn_status_name(status)) + ": " + pnn_last_error());
    }
}

ModelPtr load(const char *path) {
    PnnModel *raw = nullptr;
    ok(pnn_model_load_file(path, &raw));
    return ModelPtr(raw);
}

std::vector<float> classify(const PnnModel *model, const float *images, int64_t count) {
    PnnSession *raw = nullptr;
    ok(pnn_session_create(model, nullptr, &raw));
    SessionPtr session(raw);
    const int64_t shape[4] = {count, 1, 28, 28};
    PnnInput input{};
    input.name = "input";
    input.dtype = PNN_DTYPE_F32;
    input.shape = shape;
    input.rank = 4;
    input.data = images;
    input.byte_len = sizeof(float) * PIXELS * static_cast<size_t>(count);
    ok(pnn_session_run(session.get(), &input, 1));
    std::vector<float> logits(static_cast<size_t>(count) * CLASSES);
    size_t written = 0;
    ok(pnn_session_copy_output(session.get(), 0, PNN_DTYPE_F32, logits.data(),
                               logits.size() * sizeof(float), &written));
    CHECK(written == logits.size() * sizeof(float));
    return logits;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.pnn DIGITS.npy REFERENCE.txt\n", argv[0]);
        return 2;
    }
    static float digits[DIGITS * PIXELS];
    static float reference[DIGITS * CLASSES];
    if (!read_digits(argv[2], digits) || !read_reference(argv[3], reference)) {
        fprintf(stderr, "cannot read the test data\n");
        return 2;
    }
    try {
        ModelPtr model = load(argv[1]);
        std::vector<float> all = classify(model.get(), digits, DIGITS);
        check_logits(all.data(), reference);

        // One model, one session per thread, one digit per thread.
        std::vector<std::vector<float>> per_digit(DIGITS);
        std::vector<std::thread> threads;
        for (int d = 0; d < DIGITS; d++) {
            threads.emplace_back([&, d] {
                try {
                    per_digit[d] = classify(model.get(), digits + d * PIXELS, 1);
                } catch (const std::exception &e) {
                    fprintf(stderr, "thread %d: %s\n", d, e.what());
                }
            });
        }
        for (auto &thread : threads) thread.join();
        std::vector<float> joined;
        for (const auto &row : per_digit) joined.insert(joined.end(), row.begin(), row.end());
        CHECK(joined.size() == DIGITS * CLASSES);
        if (joined.size() == DIGITS * CLASSES) check_logits(joined.data(), reference);
    } catch (const std::exception &e) {
        fprintf(stderr, "unexpected error: %s\n", e.what());
        failures++;
    }

    // Errors become exceptions carrying the status name and message.
    try {
        load("/no/such/model.pnn");
        fprintf(stderr, "loading a missing file did not throw\n");
        failures++;
    } catch (const std::runtime_error &e) {
        std::string message = e.what();
        CHECK(message.find("PNN_ERROR_IO") == 0);
        CHECK(message.find("/no/such/model.pnn") != std::string::npos);
    }
    PnnModel *none = nullptr;
    CHECK_STATUS(pnn_model_load_buffer(nullptr, 10, &none), PNN_ERROR_NULL_POINTER);
    CHECK(none == nullptr);

    if (failures != 0) {
        fprintf(stderr, "test_cpp_api: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_cpp_api: all checks passed\n");
    return 0;
}
