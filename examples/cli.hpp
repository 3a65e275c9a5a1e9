#pragma once
// Command-line helpers shared by the examples that take options (quickstart, fashion_cnn,
// nn_really): a bad value is refused with a message and the usage text, never ignored.
#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace cli {

struct Program {
  const char* name;   // printed before every message
  const char* usage;  // printed after it
};

[[noreturn]] inline void die(const Program& p, const std::string& msg) {
  std::fprintf(stderr, "%s: %s\n%s", p.name, msg.c_str(), p.usage);
  std::exit(2);
}

// The value of `flag` as a number in [lo, hi] (an integer when T is one), or die.
template <class T>
T parse_number(const Program& p, const std::string& flag, const std::string& s, T lo, T hi) {
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    if (used != s.size() || !(v >= static_cast<double>(lo) && v <= static_cast<double>(hi))) throw std::invalid_argument(s);
    if constexpr (std::is_integral_v<T>) {
      if (v != static_cast<double>(static_cast<T>(v))) throw std::invalid_argument(s);
    }
    return static_cast<T>(v);
  } catch (const std::exception&) {
    die(p, fmt::format("bad value '{}' for {} (expected {} in [{}, {}])", s, flag,
                       std::is_integral_v<T> ? "an integer" : "a number", lo, hi));
  }
}

}  // namespace cli
