#pragma once
// Storage: one refcounted buffer shared by a tensor and all its views. The version counter lives
// here too, so that an in-place write through any view is seen by autograd's saved-tensor check.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ctorch {

namespace allocator {
// A size-bucketed caching allocator: freed blocks go to a free list and the next tensor of a
// similar size pops one, so the hot path of a training step does not call malloc.
void* allocate(size_t nbytes);
void deallocate(void* p, size_t nbytes);
void empty_cache();          // return every cached block to the system
size_t cached_bytes();       // bytes held in free lists
size_t allocated_bytes();    // bytes currently handed out to tensors
}  // namespace allocator

struct Storage {
  explicit Storage(size_t nbytes) : data(allocator::allocate(nbytes)), nbytes(nbytes) {}
  ~Storage() { allocator::deallocate(data, nbytes); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data;
  size_t nbytes;
  uint32_t version = 0;  // bumped by every in-place write
};

}  // namespace ctorch
