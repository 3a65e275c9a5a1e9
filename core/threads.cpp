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

thread_local bool inside_task = false;  // set on pool workers and while the caller runs a job

// A job is n tasks. Whoever is free claims the next unclaimed one (the caller included), so a
// worker that the OS has not scheduled yet never holds the caller up: the caller then runs all the
// tasks itself. Workers wait for a new job number; between jobs they spin for a while before they
// sleep (a training step issues products back to back, and waking a sleeping thread costs more
// than a small product).
class Pool {
 public:
  explicit Pool(int n) : size_(n) {
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    stop_.store(true);
    job_.fetch_add(1, std::memory_order_release);
    job_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  int size() const { return size_; }

  void run(int n, const std::function<void(int)>& task) {
    std::lock_guard lock(submit_);  // one job at a time, whoever submits it
    uint64_t job = job_.load(std::memory_order_relaxed) + 1;
    task_ = &task;
    error_ = nullptr;
    done_.store(0, std::memory_order_relaxed);
    claims_.store((job & kTagMask) << 32 | static_cast<uint64_t>(n) << 16, std::memory_order_release);
    job_.store(job, std::memory_order_release);
    job_.notify_all();
    for (int i; (i = claim(job)) >= 0;) finish(i);
    int d;
    for (int spin = 0; (d = done_.load(std::memory_order_acquire)) != n; ++spin)
      if (spin > kSpins) done_.wait(d, std::memory_order_acquire);
      else relax();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static constexpr int kSpins = 4096;  // about 0.1 ms of pause instructions
  static constexpr uint64_t kTagMask = 0xffffffff;
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  // The next task of job `job`, or -1 when its tasks are all taken (or another job runs). claims_
  // holds job << 32 | n << 16 | next: a claim for an old job fails, and while one of a job's tasks
  // is unfinished the caller neither returns nor publishes another job, so task_ stays valid.
  int claim(uint64_t job) {
    uint64_t c = claims_.load(std::memory_order_acquire);
    while ((c >> 32) == (job & kTagMask) && (c & 0xffff) < ((c >> 16) & 0xffff))
      if (claims_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) return static_cast<int>(c & 0xffff);
    return -1;
  }
  void finish(int i) {
    try {
      (*task_)(i);
    } catch (...) {
      std::lock_guard lock(error_mu_);
      if (!error_) error_ = std::current_exception();
    }
    done_.fetch_add(1, std::memory_order_acq_rel);
    done_.notify_one();
  }
  void work() {
    inside_task = true;  // a parallel call from a task runs its tasks in turn
    uint64_t seen = 0;
    for (;;) {
      uint64_t job;
      for (int spin = 0; (job = job_.load(std::memory_order_acquire)) == seen; ++spin)
        if (spin > kSpins) job_.wait(seen, std::memory_order_acquire);
        else relax();
      seen = job;
      if (stop_.load()) return;
      for (int i; (i = claim(job)) >= 0;) finish(i);
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex submit_, error_mu_;
  std::atomic<uint64_t> job_{0}, claims_{0};
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int)>* task_ = nullptr;
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
// Never destroyed at exit: workers may be asleep in a futex then, harmlessly. Atomic, so that every
// product's get_num_threads() reads it without taking pool_mu.
std::atomic<Pool*> pool{nullptr};

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
  if (Pool* p = pool.load(std::memory_order_acquire)) return *p;
  std::lock_guard lock(pool_mu);
  if (!pool.load()) {
    choose_blas_kernels();
    openblas_set_num_threads(1);  // the parallelism is ours (see threads.hpp)
    pool.store(new Pool(default_threads()), std::memory_order_release);
  }
  return *pool.load();
}

}  // namespace

void set_num_threads(int n) {
  CTORCH_CHECK(n >= 1 && n <= 1024, "set_num_threads: expected a positive number of threads (at most 1024), got {}", n);
  std::lock_guard lock(pool_mu);
  Pool* old = pool.load();
  if (!old) choose_blas_kernels();
  openblas_set_num_threads(1);
  if (old && old->size() == n) return;
  pool.store(new Pool(n), std::memory_order_release);
  delete old;
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
    p.run(n, task);
  } catch (...) {
    inside_task = false;
    throw;
  }
  inside_task = false;
}

}  // namespace ctorch
