#pragma once
// Grad mode: whether ops record the graph. Thread-local, like PyTorch's.
namespace ctorch {

struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

// RAII: no graph is recorded while a NoGradGuard lives (torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// RAII: recording is back on inside a no-grad region (torch.enable_grad()).
class EnableGradGuard {
 public:
  EnableGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~EnableGradGuard() { GradMode::set_enabled(prev_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};

// no_grad([&] { ... }): run a function without recording, return what it returns.
template <class F> decltype(auto) no_grad(F&& f) {
  NoGradGuard g;
  return f();
}
template <class F> decltype(auto) enable_grad(F&& f) {
  EnableGradGuard g;
  return f();
}

}  // namespace ctorch
