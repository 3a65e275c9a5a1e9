#pragma once
// One threads knob: the number of threads OpenBLAS (the hot path) uses. ctorch's own loops are
// single-threaded, so this never oversubscribes the cores.
namespace ctorch {

void set_num_threads(int n);  // n >= 1
int get_num_threads();

}  // namespace ctorch
