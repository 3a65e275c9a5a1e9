#pragma once
// The timing loop and the command line shared by bench_ctorch and bench_libtorch (bench_torch.py
// is the same in Python). Header-only, C++17, no dependency on either library.
//
// A case is a setup function that builds its tensors, model and optimizer and returns a step: the
// work one sample times (one training step, one op call...). measure() runs the step for a warm-up
// time, then times each step on its own until both min_time and min_iters are reached, and
// reports the median, minimum and mean per-step times of that block.
//
// Command line (identical for the three implementations):
//   --list                       the case names
//   --info                       one JSON line: library, BLAS, threads
//   --case NAME [--case NAME..]  one block per case, one JSON line per case ("all" = every case)
//   --serve                      read commands from stdin, one JSON line per command:
//                                  run NAME MIN_TIME_S WARMUP_S MIN_ITERS | info | quit
//   --min-time S --warmup S --min-iters N   block parameters for --case (defaults 0.5, 0.2, 10)
//   --threads N                  threads (each binary says which knob it turns)
//   --clock wall|cpu             what a step's time is: wall-clock time (steady_clock, the default)
//                                or the process's CPU time (CLOCK_PROCESS_CPUTIME_ID, all threads):
//                                on a loaded machine, CPU time leaves out the time the process
//                                waited for a core (used by the scaling sweep at 1 thread)
// Besides the registered cases, a binary may pass a resolver that builds a case from its name
// (e.g. the scaling sweep's "scale_b64_w256": an MLP step for batch 64, width 256); such
// parametrised cases run with --case and --serve like the others but are not --list'ed.
// bench/run.py keeps one --serve process per implementation and thread setting alive and
// interleaves blocks across them, so interpreter start-up and library loading are never timed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

struct Prepared {
  std::function<void()> step;
  // A number derived from the case's initial data and weights (an initial loss, a sum of outputs):
  // the three implementations seed torch's generator the same way, so it should agree across them,
  // which shows they do the same work. NaN when not meaningful.
  double check = std::nan("");
};
using Setup = std::function<Prepared()>;
using Registry = std::vector<std::pair<std::string, Setup>>;
// Builds a case from a name that is not in the registry; returns an empty Setup when the name is
// not one of its patterns (and may throw on a malformed one).
using Resolver = std::function<Setup(const std::string&)>;

struct Result {
  double median_us = 0, min_us = 0, mean_us = 0;
  long iters = 0;
  double check = std::nan("");
};

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// --clock cpu: steps are timed in process CPU time instead of wall time.
inline bool& cpu_clock() {
  static bool on = false;
  return on;
}

// Microseconds on the step clock (wall or process CPU time).
inline double step_clock_us() {
  if (cpu_clock()) {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
  }
  return std::chrono::duration<double, std::micro>(Clock::now().time_since_epoch()).count();
}

inline Result measure(const Setup& setup, double min_time, double warmup, long min_iters) {
  Prepared p = setup();
  Result r;
  r.check = p.check;
  auto t0 = Clock::now();
  for (long w = 0; w < 2 || seconds_since(t0) < warmup; ++w) p.step();
  std::vector<double> us;
  us.reserve(4096);
  auto start = Clock::now();
  while (static_cast<long>(us.size()) < min_iters || (seconds_since(start) < min_time && us.size() < 2000000)) {
    double a = step_clock_us();
    p.step();
    double b = step_clock_us();
    us.push_back(b - a);
  }
  r.iters = static_cast<long>(us.size());
  r.mean_us = std::accumulate(us.begin(), us.end(), 0.0) / static_cast<double>(us.size());
  std::sort(us.begin(), us.end());
  size_t n = us.size();
  r.median_us = n % 2 ? us[n / 2] : 0.5 * (us[n / 2 - 1] + us[n / 2]);
  r.min_us = us.front();
  return r;
}

inline std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) out += ' ';
    else out += c;
  }
  return out + "\"";
}

inline std::string result_json(const std::string& impl, const std::string& name, const Result& r) {
  return "{\"impl\": " + json_string(impl) + ", \"case\": " + json_string(name) +
         ", \"median_us\": " + json_number(r.median_us) + ", \"min_us\": " + json_number(r.min_us) +
         ", \"mean_us\": " + json_number(r.mean_us) + ", \"iters\": " + std::to_string(r.iters) +
         ", \"check\": " + json_number(r.check) + "}";
}

inline const Setup* find_case(const Registry& cases, const std::string& name) {
  for (auto& [n, s] : cases)
    if (n == name) return &s;
  return nullptr;
}

inline std::string run_json(const std::string& impl, const Registry& cases, const std::string& name, double min_time,
                            double warmup, long min_iters, const Resolver& resolve = {}) {
  const Setup* s = find_case(cases, name);
  Setup resolved;
  if (!s && resolve) {
    try {
      resolved = resolve(name);
    } catch (const std::exception& e) {
      return "{\"impl\": " + json_string(impl) + ", \"case\": " + json_string(name) + ", \"error\": " +
             json_string(e.what()) + "}";
    }
    if (resolved) s = &resolved;
  }
  if (!s) return "{\"impl\": " + json_string(impl) + ", \"case\": " + json_string(name) + ", \"error\": \"unknown case\"}";
  try {
    return result_json(impl, name, measure(*s, min_time, warmup, min_iters));
  } catch (const std::exception& e) {
    return "{\"impl\": " + json_string(impl) + ", \"case\": " + json_string(name) + ", \"error\": " +
           json_string(e.what()) + "}";
  }
}

// The shared main: set_threads(n) applies --threads, info() returns the --info JSON line.
inline int main(int argc, char** argv, const std::string& impl, const Registry& cases,
                const std::function<void(int)>& set_threads, const std::function<std::string()>& info,
                const Resolver& resolve = {}) {
  std::vector<std::string> names;
  double min_time = 0.5, warmup = 0.2;
  long min_iters = 10;
  bool serve = false, list = false, show_info = false;
  auto usage = [&](const std::string& msg) {
    std::fprintf(stderr,
                 "bench_%s: %s\nusage: bench_%s [--threads N] [--clock wall|cpu] (--list | --info | --serve | --case NAME... "
                 "[--min-time S] [--warmup S] [--min-iters N])\n",
                 impl.c_str(), msg.c_str(), impl.c_str());
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value after " + f);
      return argv[++i];
    };
    try {
      if (f == "--serve") serve = true;
      else if (f == "--list") list = true;
      else if (f == "--info") show_info = true;
      else if (f == "--case") names.push_back(value());
      else if (f == "--min-time") min_time = std::stod(value());
      else if (f == "--warmup") warmup = std::stod(value());
      else if (f == "--min-iters") min_iters = std::stol(value());
      else if (f == "--threads") set_threads(std::stoi(value()));
      else if (f == "--clock") {
        std::string c = value();
        if (c != "wall" && c != "cpu") usage("--clock takes wall or cpu");
        cpu_clock() = c == "cpu";
      }
      else if (f == "--help" || f == "-h") usage("help");
      else usage("unknown option " + f);
    } catch (const std::invalid_argument&) {
      usage("bad value for " + f);
    }
  }
  if (list) {
    for (auto& [n, s] : cases) std::printf("%s\n", n.c_str());
    return 0;
  }
  if (show_info) std::printf("%s\n", info().c_str());
  if (serve) {
    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream in(line);
      std::string cmd;
      in >> cmd;
      if (cmd == "quit") break;
      if (cmd == "info") {
        std::printf("%s\n", info().c_str());
      } else if (cmd == "run") {
        std::string name;
        double t = 0.5, w = 0.2;
        long n = 10;
        in >> name >> t >> w >> n;
        std::printf("%s\n", run_json(impl, cases, name, t, w, n, resolve).c_str());
      } else {
        std::printf("{\"error\": %s}\n", json_string("unknown command: " + line).c_str());
      }
      std::fflush(stdout);
    }
    return 0;
  }
  if (names.size() == 1 && names[0] == "all") {
    names.clear();
    for (auto& [n, s] : cases) names.push_back(n);
  }
  if (names.empty() && !show_info) usage("nothing to do");
  for (auto& n : names) {
    std::printf("%s\n", run_json(impl, cases, n, min_time, warmup, min_iters, resolve).c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace bench
