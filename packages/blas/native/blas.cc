// A thin N-API bridge to the system's CBLAS sgemm (OpenBLAS), loaded with dlopen at run time so
// the addon builds without BLAS headers or libraries and simply reports "unavailable" when none
// is installed. It multiplies matrices that live inside an ArrayBuffer (the wasm backend's heap),
// in place, with no copies.
#include <node_api.h>
#include <dlfcn.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
typedef void (*sgemm_fn)(int order, int transA, int transB, int M, int N, int K, float alpha,
                         const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char* (*get_config_fn)(void);

sgemm_fn sgemm = nullptr;
set_threads_fn set_threads = nullptr;
get_threads_fn get_threads = nullptr;
get_config_fn get_config = nullptr;
std::string library;
std::string load_error;
int max_threads = 1;
int current_threads = -1;

// Products below this many multiply-adds run on one thread: waking the pool costs more than it
// saves, and on a busy machine idle pool threads spinning for work slow everything else down.
constexpr int64_t kThreadedWork = int64_t(1) << 23;

void use_threads(int n) {
  if (!set_threads || n == current_threads) return;
  set_threads(n);
  current_threads = n;
}

void load() {
  // OpenBLAS's pool threads spin ~0.1 s waiting for more work by default, which on a shared
  // 2-core machine steals the main thread's core; let them sleep sooner (unless the user chose).
  setenv("OPENBLAS_THREAD_TIMEOUT", "20", 0);
  // Only optimised BLAS builds are worth it: the reference libblas is slower than XNNPACK.
  const char* names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libblis.so.4", "libmkl_rt.so"};
  for (const char* name : names) {
    void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    auto f = reinterpret_cast<sgemm_fn>(dlsym(h, "cblas_sgemm"));
    if (!f) { dlclose(h); continue; }
    sgemm = f;
    library = name;
    set_threads = reinterpret_cast<set_threads_fn>(dlsym(h, "openblas_set_num_threads"));
    get_threads = reinterpret_cast<get_threads_fn>(dlsym(h, "openblas_get_num_threads"));
    get_config = reinterpret_cast<get_config_fn>(dlsym(h, "openblas_get_config"));
    max_threads = get_threads ? get_threads() : 1;
    return;
  }
  load_error = "no optimised BLAS library (libopenblas.so.0) found; on Debian install libopenblas0-pthread";
}

napi_value throw_error(napi_env env, const char* msg) {
  napi_throw_error(env, nullptr, msg);
  return nullptr;
}

// Numbers and booleans alike (transpose flags come as booleans).
double num(napi_env env, napi_value v) {
  double d = 0;
  napi_value n;
  if (napi_coerce_to_number(env, v, &n) == napi_ok) napi_get_value_double(env, n, &d);
  return d;
}

// gemm(aBuf, aByteOff, bBuf, bByteOff, cBuf, cByteOff, batch, strideA, strideB, strideC,
//      M, N, K, transA, transB): for each i < batch, C_i[M,N] = op(A_i) · op(B_i), row-major,
// where A_i starts at aByteOff + 4·i·strideA (strides in elements; 0 broadcasts). The three
// buffers may be the same one (the wasm heap) or separate ones.
napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 15) return throw_error(env, "gemm takes 15 arguments");
  if (!sgemm) return throw_error(env, "BLAS is not available");
  char* base[3];
  size_t length[3];
  int64_t off[3];
  for (int k = 0; k < 3; k++) {
    void* data = nullptr;
    if (napi_get_arraybuffer_info(env, argv[2 * k], &data, &length[k]) != napi_ok) return throw_error(env, "gemm: operands must be ArrayBuffers");
    base[k] = static_cast<char*>(data);
    off[k] = (int64_t)num(env, argv[2 * k + 1]);
  }
  double v[9];
  for (int i = 0; i < 9; i++) v[i] = num(env, argv[i + 6]);
  const int64_t batch = (int64_t)v[0], sA = (int64_t)v[1], sB = (int64_t)v[2], sC = (int64_t)v[3];
  const int64_t M = (int64_t)v[4], N = (int64_t)v[5], K = (int64_t)v[6];
  const bool tA = v[7] != 0, tB = v[8] != 0;
  if (M <= 0 || N <= 0 || batch <= 0) return nullptr;
  // Bounds: every matrix touched must lie inside its buffer.
  auto inside = [&](int k, int64_t stride, int64_t count) {
    const int64_t last = off[k] + 4 * (stride * (batch - 1) + count);
    return off[k] >= 0 && off[k] % 4 == 0 && last <= (int64_t)length[k];
  };
  if (!inside(0, sA, M * K) || !inside(1, sB, K * N) || !inside(2, sC, M * N)) return throw_error(env, "gemm: operands outside their buffers");
  use_threads(M * N * K * batch >= kThreadedWork ? max_threads : 1);
  for (int64_t i = 0; i < batch; i++) {
    const float* A = reinterpret_cast<const float*>(base[0] + off[0]) + i * sA;
    const float* B = reinterpret_cast<const float*>(base[1] + off[1]) + i * sB;
    float* C = reinterpret_cast<float*>(base[2] + off[2]) + i * sC;
    if (K == 0) { std::memset(C, 0, sizeof(float) * M * N); continue; }
    sgemm(RowMajor, tA ? Trans : NoTrans, tB ? Trans : NoTrans, (int)M, (int)N, (int)K, 1.0f,
          A, tA ? (int)M : (int)K, B, tB ? (int)K : (int)N, 0.0f, C, (int)N);
  }
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_get_boolean(env, sgemm != nullptr, &v);
  napi_set_named_property(env, obj, "available", v);
  napi_create_string_utf8(env, library.c_str(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "library", v);
  napi_create_string_utf8(env, load_error.c_str(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "error", v);
  napi_create_int32(env, max_threads, &v);
  napi_set_named_property(env, obj, "threads", v);
  napi_create_string_utf8(env, get_config ? get_config() : "", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "config", v);
  return obj;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (set_threads && argc == 1) {
    max_threads = (int)num(env, argv[0]);
    use_threads(max_threads);
  }
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  load();
  napi_value fn;
  napi_create_function(env, "gemm", NAPI_AUTO_LENGTH, Gemm, nullptr, &fn);
  napi_set_named_property(env, exports, "gemm", fn);
  napi_create_function(env, "info", NAPI_AUTO_LENGTH, Info, nullptr, &fn);
  napi_set_named_property(env, exports, "info", fn);
  napi_create_function(env, "setThreads", NAPI_AUTO_LENGTH, SetThreads, nullptr, &fn);
  napi_set_named_property(env, exports, "setThreads", fn);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
