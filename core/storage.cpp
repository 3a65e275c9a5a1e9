#include "storage.hpp"

#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace ctorch::allocator {
namespace {

// Size classes: four per power of two (so at most 25% of a block is slack), 64-byte aligned.
constexpr size_t kAlign = 64;
constexpr int kClasses = 4 * 48;
constexpr size_t kMaxCachedBytes = size_t{2} << 30;
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCacheBlocks = false;  // under AddressSanitizer, a use after free must be caught
#else
constexpr bool kCacheBlocks = true;
#endif

int size_class(size_t n) {
  n = std::max(n, kAlign);
  int e = std::bit_width(n - 1) - 1;             // 2^e < n <= 2^(e+1)
  size_t quarter = (size_t{1} << e) / 4;
  int q = quarter ? static_cast<int>((n - (size_t{1} << e) + quarter - 1) / quarter) : 4;  // 1..4
  return e * 4 + (q - 1);
}
size_t class_bytes(int c) {
  int e = c / 4, q = c % 4 + 1;
  size_t b = (size_t{1} << e) + q * ((size_t{1} << e) / 4);
  return (b + kAlign - 1) / kAlign * kAlign;
}

struct Cache {
  std::mutex mu;
  std::vector<void*> free[kClasses];
  size_t cached = 0, allocated = 0;
  ~Cache() { release_all(); }
  void release_all() {
    for (int c = 0; c < kClasses; ++c) {
      for (void* p : free[c]) std::free(p);
      cached -= free[c].size() * class_bytes(c);
      free[c].clear();
    }
  }
};
Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: tensors in static objects may outlive it
  return *c;
}

}  // namespace

void* allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  int c = size_class(nbytes);
  size_t bytes = class_bytes(c);
  Cache& k = cache();
  {
    std::lock_guard lock(k.mu);
    k.allocated += bytes;
    if (kCacheBlocks && !k.free[c].empty()) {
      void* p = k.free[c].back();
      k.free[c].pop_back();
      k.cached -= bytes;
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlign, bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

void deallocate(void* p, size_t nbytes) {
  if (!p) return;
  int c = size_class(nbytes);
  size_t bytes = class_bytes(c);
  Cache& k = cache();
  std::lock_guard lock(k.mu);
  k.allocated -= bytes;
  if (!kCacheBlocks || k.cached + bytes > kMaxCachedBytes) {
    std::free(p);
    return;
  }
  k.free[c].push_back(p);
  k.cached += bytes;
}

// ---- small objects: per-thread free lists in 16-byte size classes up to 1 KiB ----
namespace {
constexpr size_t kGrain = 16, kLists = 1024 / kGrain;
constexpr uint32_t kMaxPerList = 4096;
struct FreeBlock {
  FreeBlock* next;
};
struct ObjectPool {
  FreeBlock* head[kLists] = {};
  uint32_t count[kLists] = {};
  ~ObjectPool();
};
// Objects may die after this thread's pool (a tensor in a static): then memory goes straight back
// to the system. The flag is trivially destructible, so it can be read at any time.
thread_local bool pool_gone __attribute__((tls_model("initial-exec"))) = false;
thread_local ObjectPool pool __attribute__((tls_model("initial-exec")));
ObjectPool::~ObjectPool() {
  pool_gone = true;
  for (size_t c = 0; c < kLists; ++c)
    while (FreeBlock* b = head[c]) {
      head[c] = b->next;
      ::operator delete(b);
    }
}
// Under AddressSanitizer every object goes to the system, so that a use after free is caught.
#if defined(__SANITIZE_ADDRESS__)
size_t list_of(size_t) { return kLists; }
#else
size_t list_of(size_t nbytes) { return (nbytes + kGrain - 1) / kGrain - 1; }
#endif
}  // namespace

void* object_allocate(size_t nbytes) {
  size_t c = list_of(nbytes);
  if (c >= kLists || pool_gone) return ::operator new(nbytes);
  ObjectPool& p = pool;
  if (FreeBlock* b = p.head[c]) {
    p.head[c] = b->next;
    --p.count[c];
    return b;
  }
  return ::operator new((c + 1) * kGrain);
}

void object_deallocate(void* q, size_t nbytes) {
  size_t c = list_of(nbytes);
  if (c < kLists && !pool_gone && pool.count[c] < kMaxPerList) {
    ObjectPool& p = pool;
    auto* b = static_cast<FreeBlock*>(q);
    b->next = p.head[c];
    p.head[c] = b;
    ++p.count[c];
    return;
  }
  ::operator delete(q);
}

void empty_cache() {
  std::lock_guard lock(cache().mu);
  cache().release_all();
}
size_t cached_bytes() { return cache().cached; }
size_t allocated_bytes() { return cache().allocated; }

}  // namespace ctorch::allocator
