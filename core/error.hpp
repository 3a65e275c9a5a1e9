#pragma once
// Errors: every public function checks its input and throws ctorch::Error whose message names
// the op and the offending shapes/values, e.g. "add: shapes [2, 3] and [4] are not broadcastable".
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>

namespace ctorch {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// CTORCH_CHECK(cond, "op: message {}", args...): throw ctorch::Error when cond is false.
#define CTORCH_CHECK(cond, ...)                                  \
  do {                                                           \
    if (!(cond)) [[unlikely]]                                    \
      throw ::ctorch::Error(::fmt::format(__VA_ARGS__));         \
  } while (0)

}  // namespace ctorch
