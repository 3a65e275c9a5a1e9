#pragma once
// Recycled memory for the small objects every op creates (tensor handles, storages, graph nodes):
// a free list per size class and per thread, so a training step's bookkeeping does not go through
// malloc. Use as std::allocate_shared<T>(PoolAllocator<T>{}, ...).
#include <cstddef>
#include <new>

namespace ctorch::allocator {

void* object_allocate(size_t nbytes);
void object_deallocate(void* p, size_t nbytes);

template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U> PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebinding
  T* allocate(size_t n) { return static_cast<T*>(object_allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { object_deallocate(p, n * sizeof(T)); }
  template <class U> bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
};

}  // namespace ctorch::allocator
