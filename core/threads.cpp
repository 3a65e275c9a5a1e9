#include "threads.hpp"

#include <cblas.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "error.hpp"

namespace ctorch {
namespace {

// Workers wait for a new generation number; a job is published by bumping it. Between jobs a
// worker spins for a while before it sleeps (a training step issues products back to back, and
// waking a sleeping thread costs more than a small product).
class Pool {
 public:
  explicit Pool(int n) : size_(n) {
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { work(i); });
  }
  ~Pool() {
    stop_.store(true);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  int size() const { return size_; }

  void run(int n, const std::function<void(int)>& task) {
    std::lock_guard lock(submit_);  // one job at a time, whoever submits it
    task_ = &task;
    tasks_ = n;
    error_ = nullptr;
    remaining_.store(size_ - 1, std::memory_order_relaxed);  // every worker checks in, busy or not
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    run_one(0);
    int r;
    for (int spin = 0; (r = remaining_.load(std::memory_order_acquire)) != 0; ++spin)
      if (spin > kSpins) remaining_.wait(r, std::memory_order_acquire);
      else relax();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static constexpr int kSpins = 4096;  // about 0.1 ms of pause instructions
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  void run_one(int i) {
    try {
      (*task_)(i);
    } catch (...) {
      std::lock_guard lock(error_mu_);
      if (!error_) error_ = std::current_exception();
    }
  }
  void work(int i) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g;
      for (int spin = 0; (g = generation_.load(std::memory_order_acquire)) == seen; ++spin)
        if (spin > kSpins) generation_.wait(seen, std::memory_order_acquire);
        else relax();
      seen = g;
      if (stop_.load()) return;
      if (i < tasks_) run_one(i);
      if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining_.notify_one();
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex submit_, error_mu_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> remaining_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int)>* task_ = nullptr;
  int tasks_ = 0;
  std::exception_ptr error_;
};

int default_threads() {
  if (const char* env = std::getenv("CTORCH_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::mutex pool_mu;
Pool* pool = nullptr;  // never destroyed at exit: workers may be asleep in a futex then, harmlessly
thread_local bool inside_task = false;

// OpenBLAS 0.3.21 (Debian 12's) does not know CPUs newer than itself (Sapphire Rapids and later)
// and falls back to its SSE3 "Prescott" kernels, 3-4x slower than the AVX-512 ones such a CPU
// runs. When it chose that fallback on its own (OPENBLAS_CORETYPE unset), ctorch makes it choose
// again, naming the kernel family the CPU supports. Its dynamic-arch entry points are weak
// references: an OpenBLAS built for one target lacks them, and is then left as it is.
extern "C" void gotoblas_dynamic_init(void) __attribute__((weak));
extern "C" void gotoblas_dynamic_quit(void) __attribute__((weak));

void choose_blas_kernels() {
  if (!gotoblas_dynamic_init || !gotoblas_dynamic_quit || std::getenv("OPENBLAS_CORETYPE")) return;
  const char* core = openblas_get_corename();
  if (!core || std::string_view(core) != "Prescott") return;
  const char* better = nullptr;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    better = "SkylakeX";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    better = "Haswell";
#endif
  if (!better) return;
  setenv("OPENBLAS_CORETYPE", better, 0);  // read by OpenBLAS's init only; removed again below
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
  unsetenv("OPENBLAS_CORETYPE");
}

Pool& current_pool() {
  std::lock_guard lock(pool_mu);
  if (!pool) {
    choose_blas_kernels();
    openblas_set_num_threads(1);  // the parallelism is ours (see threads.hpp)
    pool = new Pool(default_threads());
  }
  return *pool;
}

}  // namespace

void set_num_threads(int n) {
  CTORCH_CHECK(n >= 1, "set_num_threads: expected a positive number of threads, got {}", n);
  std::lock_guard lock(pool_mu);
  if (!pool) choose_blas_kernels();
  openblas_set_num_threads(1);
  if (pool && pool->size() == n) return;
  delete pool;
  pool = new Pool(n);
}

int get_num_threads() { return current_pool().size(); }

std::string blas_kernels() {
  current_pool();  // the kernels are chosen with the pool
  const char* core = openblas_get_corename();
  return core ? core : "unknown";
}

void parallel_tasks(int n, const std::function<void(int)>& task) {
  Pool& p = current_pool();
  CTORCH_CHECK(n >= 1 && n <= p.size(), "parallel_tasks: {} tasks for {} threads", n, p.size());
  if (n == 1 || inside_task) {
    for (int i = 0; i < n; ++i) task(i);
    return;
  }
  inside_task = true;
  try {
    p.run(n, [&task](int i) {
      inside_task = true;
      task(i);
    });
  } catch (...) {
    inside_task = false;
    throw;
  }
  inside_task = false;
}

}  // namespace ctorch
