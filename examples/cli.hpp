#pragma once
// Command-line handling shared by the examples that take options (quickstart, fashion_cnn,
// nn_really): options come as "--flag value" pairs, and a bad value is refused with a message
// and the usage text, never ignored.
#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace cli {

struct Program {
  const char* name;   // printed before every message
  const char* usage;  // printed after it, and by --help

  [[noreturn]] void die(const std::string& msg) const {
    std::fprintf(stderr, "%s: %s\n%s", name, msg.c_str(), usage);
    std::exit(2);
  }

  // The value of `flag` as a number in [lo, hi] (an integer when T is one), or die.
  template <class T>
  T number(const std::string& flag, const std::string& s, T lo, T hi) const {
    try {
      size_t used = 0;
      double v = std::stod(s, &used);
      if (used != s.size() || !(v >= static_cast<double>(lo) && v <= static_cast<double>(hi)))
        throw std::invalid_argument(s);
      if constexpr (std::is_integral_v<T>) {
        if (v != static_cast<double>(static_cast<T>(v))) throw std::invalid_argument(s);
      }
      return static_cast<T>(v);
    } catch (const std::exception&) {
      die(fmt::format("bad value '{}' for {} (expected {} in [{}, {}])", s, flag,
                      std::is_integral_v<T> ? "an integer" : "a number", lo, hi));
    }
  }

  // Calls on_option(flag, value) for each "--flag value" pair; --help or -h prints the usage and
  // exits. on_option dies on a flag it does not know.
  template <class F>
  void for_each_option(int argc, char** argv, F&& on_option) const {
    for (int i = 1; i < argc; ++i) {
      std::string flag = argv[i];
      if (flag == "--help" || flag == "-h") {
        std::fputs(usage, stdout);
        std::exit(0);
      }
      if (i + 1 >= argc) die("missing value after " + flag);
      on_option(flag, std::string(argv[++i]));
    }
  }
};

}  // namespace cli
