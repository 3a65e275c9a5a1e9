#pragma once
// One threads knob. ctorch runs its big matrix products on its own small pool of threads (the
// calling thread plus n - 1 workers), each part a single-threaded OpenBLAS call; OpenBLAS's own
// threading is switched off, so the two never oversubscribe the cores. The default is the
// CTORCH_NUM_THREADS environment variable, else the number of cores.
//
// OpenBLAS's kernels: OpenBLAS 0.3.21 falls back to its slow SSE3 "Prescott" kernels on CPUs newer
// than itself; ctorch then has it load the AVX-512 (or AVX2) kernels the CPU runs. Setting
// OPENBLAS_CORETYPE before the program starts always wins.
#include <cstdint>
#include <functional>
#include <string>

namespace ctorch {

// 1 <= n <= 1024. Call it while no other thread is running ctorch work: it replaces the pool.
void set_num_threads(int n);
int get_num_threads();
std::string blas_kernels();  // the name of the kernel family OpenBLAS runs, e.g. "SkylakeX"

// Runs task(i) for i in [0, n) at once on the calling thread and the pool's workers, each task
// taken by whichever thread is free first; n <= get_num_threads(). Returns when all are done;
// rethrows the first exception. Called from inside a task, it runs the tasks one after the other.
void parallel_tasks(int n, const std::function<void(int)>& task);

}  // namespace ctorch
