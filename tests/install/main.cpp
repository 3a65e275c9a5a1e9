// Built against the installed headers and library only: d(sum(x^2 W))/dx through the public API.
#include <ctorch/ctorch.hpp>
#include <cstdio>

int main() {
  using namespace ctorch;
  Tensor x = tensor({1.0f, 2.0f, 3.0f}).requires_grad_();
  nn::Linear fc(3, 1);
  {
    NoGradGuard g;
    fc->weight.fill_(2);
    fc->bias.fill_(0.5);
  }
  Tensor y = fc(x.pow(2)).sum();  // 2 * (1 + 4 + 9) + 0.5 = 28.5
  y.backward();                   // dy/dx = 2 * 2x = [4, 8, 12]
  std::vector<float> g = x.grad().to_vector<float>();
  bool ok = y.item() == 28.5 && g == std::vector<float>{4, 8, 12};
  std::printf("%s\n%s\n%s\n", y.str().c_str(), x.grad().str().c_str(), ok ? "consumer: ok" : "consumer: WRONG");
  return ok ? 0 : 1;
}
