#include "threads.hpp"

#include <cblas.h>

#include "error.hpp"

namespace ctorch {

void set_num_threads(int n) {
  CTORCH_CHECK(n >= 1, "set_num_threads: expected a positive number of threads, got {}", n);
  openblas_set_num_threads(n);
}

int get_num_threads() { return openblas_get_num_threads(); }

}  // namespace ctorch
