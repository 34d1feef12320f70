// clblast_cpp.cpp — the one C++ unit: wraps the CLBlast calls that have no C binding.
#include "device/clblast.h"

#include <clblast.h>

#include <cstring>
#include <map>
#include <string>
#include <unordered_map>

namespace {

typedef std::unordered_map<std::string, size_t> Params;

int copy_out(const Params &p, char (*names)[CLT_PARAM_NAME], size_t *values, int max, int *count) {
    int n = 0;
    // Sorted, so reports and stored entries list parameters in a stable order.
    for (const auto &kv : std::map<std::string, size_t>(p.begin(), p.end())) {
        if (n == max) return static_cast<int>(clblast::StatusCode::kInsufficientMemoryTemp);
        std::strncpy(names[n], kv.first.c_str(), CLT_PARAM_NAME - 1);
        names[n][CLT_PARAM_NAME - 1] = 0;
        values[n] = kv.second;
        n++;
    }
    *count = n;
    return 0;
}

clblast::Transpose tr(bool t) { return t ? clblast::Transpose::kYes : clblast::Transpose::kNo; }
clblast::Layout lay(bool row_major) { return row_major ? clblast::Layout::kRowMajor : clblast::Layout::kColMajor; }

} // namespace

extern "C" int clt_clblast_params(cl_device_id device, const char *kernel, char (*names)[CLT_PARAM_NAME],
                                  size_t *values, int max, int *count) {
    Params p;
    *count = 0;
    // CLBlast reports its failures as status codes, but a C++ exception must never cross into C.
    try {
        auto s = clblast::RetrieveParameters(device, kernel, clblast::Precision::kSingle, p);
        if (s != clblast::StatusCode::kSuccess) return static_cast<int>(s);
        return copy_out(p, names, values, max, count);
    } catch (...) {
        return static_cast<int>(clblast::StatusCode::kUnknownError);
    }
}

extern "C" int clt_clblast_sgemm(bool row_major, bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                                 cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta,
                                 cl_mem c, size_t c_off, size_t ldc, cl_command_queue *queue, cl_mem temp) {
    try {
        return static_cast<int>(clblast::Gemm<float>(lay(row_major), tr(trans_a), tr(trans_b), m, n, k, alpha, a,
                                                     a_off, lda, b, b_off, ldb, beta, c, c_off, ldc, queue,
                                                     nullptr, temp));
    } catch (...) {
        return static_cast<int>(clblast::StatusCode::kUnknownError);
    }
}

extern "C" int clt_clblast_sgemm_strided(bool row_major, bool trans_a, bool trans_b, size_t m, size_t n, size_t k,
                                         float alpha, cl_mem a, size_t a_off, size_t lda, size_t a_stride, cl_mem b,
                                         size_t b_off, size_t ldb, size_t b_stride, float beta, cl_mem c, size_t c_off,
                                         size_t ldc, size_t c_stride, size_t batch, cl_command_queue *queue) {
    try {
        return static_cast<int>(clblast::GemmStridedBatched<float>(lay(row_major), tr(trans_a), tr(trans_b), m, n, k,
                                                                   alpha, a, a_off, lda, a_stride, b, b_off, ldb,
                                                                   b_stride, beta, c, c_off, ldc, c_stride, batch,
                                                                   queue, nullptr));
    } catch (...) {
        return static_cast<int>(clblast::StatusCode::kUnknownError);
    }
}

extern "C" int clt_clblast_sgemm_temp_bytes(bool row_major, bool trans_a, bool trans_b, size_t m, size_t n,
                                            size_t k, size_t a_off, size_t lda, size_t b_off, size_t ldb,
                                            size_t c_off, size_t ldc, cl_command_queue *queue, size_t *bytes) {
    try {
        return static_cast<int>(clblast::GemmTempBufferSize<float>(lay(row_major), tr(trans_a), tr(trans_b), m, n,
                                                                   k, a_off, lda, b_off, ldb, c_off, ldc, queue,
                                                                   *bytes));
    } catch (...) {
        return static_cast<int>(clblast::StatusCode::kUnknownError);
    }
}
