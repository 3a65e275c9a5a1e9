// ctorch's thread pool and the matrix products it splits: the parts cover the work exactly once,
// errors come back to the caller, and a product cut into column or row blocks equals the one
// computed in a single call.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <ctorch/ctorch.hpp>
#include <ctorch/optim/optim.hpp>

using namespace ctorch;

namespace {

// Restores the thread count a test changed.
struct ThreadsGuard {
  int saved = get_num_threads();
  ~ThreadsGuard() { set_num_threads(saved); }
};

double max_abs_diff(const Tensor& a, const Tensor& b) {
  std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  REQUIRE(x.size() == y.size());
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(double(x[i]) - double(y[i])));
  return m;
}

}  // namespace

TEST_CASE("threads: set_num_threads sets the pool size and rejects zero") {
  ThreadsGuard g;
  set_num_threads(3);
  CHECK(get_num_threads() == 3);
  set_num_threads(1);
  CHECK(get_num_threads() == 1);
  CHECK_THROWS_WITH(set_num_threads(0), doctest::Contains("expected a positive number of threads (at most 1024), got 0"));
  CHECK_THROWS_WITH(set_num_threads(5000), doctest::Contains("got 5000"));
  CHECK(get_num_threads() == 1);  // a refused value changes nothing
}

TEST_CASE("threads: parallel_tasks runs every task once and rethrows a task's error") {
  ThreadsGuard g;
  set_num_threads(3);
  std::vector<std::atomic<int>> hits(3);
  for (int round = 0; round < 200; ++round) parallel_tasks(3, [&](int i) { hits[i]++; });
  for (auto& h : hits) CHECK(h.load() == 200);
  parallel_tasks(2, [&](int i) { hits[i]++; });  // fewer tasks than threads
  CHECK(hits[0].load() == 201);
  CHECK(hits[2].load() == 200);
  CHECK_THROWS_WITH(parallel_tasks(3, [](int i) {
                      if (i == 2) throw std::runtime_error("task 2 failed");
                    }),
                    "task 2 failed");
  CHECK_THROWS_WITH(parallel_tasks(4, [](int) {}), doctest::Contains("4 tasks for 3 threads"));
  int nested = 0;  // a parallel call inside a task runs its tasks in turn
  parallel_tasks(2, [&](int i) {
    if (i == 0) parallel_tasks(2, [&](int) { ++nested; });
  });
  CHECK(nested == 2);
}

TEST_CASE("threads: a product split across threads equals the single-threaded one") {
  ThreadsGuard g;
  manual_seed(0);
  // wide (split by columns), tall (split by rows), transposed operands, and a bias (beta = 1)
  Tensor a = randn({64, 784}), w = randn({512, 784}), b = randn({512});
  Tensor tall = randn({600, 300}), m = randn({300, 40});
  set_num_threads(1);
  Tensor y1 = linear(a, w, b), z1 = matmul(tall, m), t1 = matmul(w.t(), w);
  set_num_threads(2);
  Tensor y2 = linear(a, w, b), z2 = matmul(tall, m), t2 = matmul(w.t(), w);
  CHECK(max_abs_diff(y1, y2) < 1e-4);
  CHECK(max_abs_diff(z1, z2) < 1e-4);
  CHECK(max_abs_diff(t1, t2) < 1e-3);
  // and the gradients of a linear layer (dW and dx are products too)
  Tensor x = randn({64, 784}).requires_grad_(), wp = w.detach().requires_grad_();
  set_num_threads(1);
  linear(x, wp, b).sum().backward();
  Tensor gx1 = x.grad().clone(), gw1 = wp.grad().clone();
  x.set_grad({}), wp.set_grad({});
  set_num_threads(2);
  linear(x, wp, b).sum().backward();
  CHECK(max_abs_diff(gx1, x.grad()) < 1e-3);
  CHECK(max_abs_diff(gw1, wp.grad()) < 1e-3);
}

TEST_CASE("threads: a batch of small products shared out whole equals the single-threaded one, bit for bit") {
  ThreadsGuard g;
  manual_seed(1);
  // 128 heads of 64x64 @ 64x32 (262k multiply-adds each, 33M in all): one range of heads per
  // thread; each product is the same single call either way. A transposed operand and a broadcast one.
  Tensor p = randn({128, 64, 64}), v = randn({128, 64, 32}), w = randn({1, 64, 32});
  set_num_threads(1);
  Tensor a1 = matmul(p, v), b1 = matmul(p.transpose(1, 2), v), c1 = matmul(p, w);
  set_num_threads(2);
  Tensor a2 = matmul(p, v), b2 = matmul(p.transpose(1, 2), v), c2 = matmul(p, w);
  CHECK(max_abs_diff(a1, a2) == 0);
  CHECK(max_abs_diff(b1, b2) == 0);
  CHECK(max_abs_diff(c1, c2) == 0);
}

TEST_CASE("threads: optimizer updates cut into blocks equal the single-threaded ones, bit for bit") {
  ThreadsGuard g;
  // 200,000 elements: over optim's threshold, so two threads each update one block of the param
  // and of its state (momentum, exp_avg, exp_avg_sq, ...); elementwise, so the result is identical.
  auto run = [](int threads, auto make_optimizer) {
    set_num_threads(threads);
    manual_seed(0);
    Tensor w = randn({400, 500}).requires_grad_();
    Tensor target = randn({400, 500});
    auto opt = make_optimizer(TensorList{w});
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      ((w - target) * (w - target)).sum().backward();
      opt.step();
    }
    return w.detach().to_vector<float>();
  };
  auto sgd = [](TensorList ps) { return optim::SGD(ps, {.lr = 0.01, .momentum = 0.9, .weight_decay = 1e-3}); };
  auto adam = [](TensorList ps) { return optim::Adam(ps, {.lr = 0.01, .amsgrad = true}); };
  auto rms = [](TensorList ps) { return optim::RMSprop(ps, {.lr = 0.01, .momentum = 0.5, .centered = true}); };
  auto adagrad = [](TensorList ps) { return optim::Adagrad(ps, {.lr = 0.1, .lr_decay = 0.01}); };
  CHECK(run(1, sgd) == run(2, sgd));
  CHECK(run(1, adam) == run(2, adam));
  CHECK(run(1, rms) == run(2, rms));
  CHECK(run(1, adagrad) == run(2, adagrad));
  CHECK(run(1, sgd) != run(1, adam));  // the runs do differ by optimizer
}
