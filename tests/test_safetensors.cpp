// nn/safetensors: round trips, byte-exact agreement with the reference implementation's test
// vectors, parity with PyTorch in both directions (tests/parity/*safetensors*.py, run with
// /usr/bin/python3), a corrupt-file catalogue, every truncation, a fixed-seed fuzz loop, and atomic
// saves that leave the previous file intact.
#include <doctest/doctest.h>

#include <cstdio>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <ctorch/ctorch.hpp>
#include <ctorch/nn/safetensors.hpp>

#ifndef CTORCH_SOURCE_DIR
#define CTORCH_SOURCE_DIR "."  // standalone builds run from the repository root
#endif

using namespace ctorch;
namespace fs = std::filesystem;

namespace {

// A fresh directory under $TMPDIR, removed (even if made read-only) at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ctorch_safetensors_XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator(); ++it)
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot read " << path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

// A file from a header text (padded with spaces to 8 bytes unless pad is false) and a data buffer.
std::string make_file(std::string header, std::string_view data, bool pad = true) {
  if (pad) header.append((8 - header.size() % 8) % 8, ' ');
  return le64(header.size()) + header + std::string(data);
}

template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return s;
}

// 0, 1, ..., n-1 as a 1-D tensor of T.
template <class T>
Tensor seq(int64_t n) {
  std::vector<T> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<T>(i);
  return tensor(v, {n});
}

// The row-major bytes of t: compares values bit for bit (NaN payloads, -0.0).
std::string bytes_of(const Tensor& t) {
  const Tensor c = t.detach().contiguous();
  return {static_cast<const char*>(c.raw_data()), static_cast<size_t>(c.numel()) * c.element_size()};
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && same_shape(a.sizes(), b.sizes()) && bytes_of(a) == bytes_of(b);
}

std::vector<std::string> names_of(const NamedTensors& ts) {
  std::vector<std::string> out;
  for (const auto& [n, t] : ts) out.push_back(n);
  return out;
}

const Tensor& find(const NamedTensors& ts, const std::string& name) {
  for (const auto& [n, t] : ts)
    if (n == name) return t;
  FAIL("no tensor named " << name);
  throw std::logic_error("unreachable");
}

// load_safetensors(path) must throw ctorch::Error whose message names the file and holds `part`.
void check_load_error(const std::string& path, const std::string& part) {
  try {
    (void)load_safetensors(path);
    FAIL("expected ctorch::Error containing \"" << part << "\" but the load succeeded");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    CHECK(msg.find(part) != std::string::npos);
    CHECK(msg.find(path) != std::string::npos);
    CHECK(msg.rfind("safetensors:", 0) == 0);
  }
}

// Writes `bytes` to a file in `dir` and checks the load error.
void check_bytes_error(const TempDir& dir, std::string_view bytes, const std::string& part) {
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, bytes);
  CAPTURE(part);
  check_load_error(path, part);
}

// A header with one entry.
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
}

// "{" + inner + "}" (spelled out: GCC 12 warns falsely on `"{" + std::string&&` at -O3).
std::string braces(std::string_view inner) {
  std::string s;
  s.reserve(inner.size() + 2);
  s += '{';
  s += inner;
  s += '}';
  return s;
}

void check_no_temp_files(const TempDir& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir.path)) {
    INFO("leftover: " << e.path());
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  }
}

int run_python(const std::string& script, const std::string& arg) {
  REQUIRE_MESSAGE(fs::exists("/usr/bin/python3"), "/usr/bin/python3 (with PyTorch) is required for this test");
  const std::string cmd = "/usr/bin/python3 '" + std::string(CTORCH_SOURCE_DIR) + "/tests/parity/" + script + "' '" +
                          arg + "'";
  const int rc = std::system(cmd.c_str());
  if (rc == -1) return -1;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

// The tensors that tests/parity/check_safetensors_from_ctorch.py expects (keep the two in sync).
NamedTensors parity_tensors() {
  Tensor grad_param = tensor(std::vector<float>{0.5f, -1.5f, 2.25f}, {3});
  grad_param.requires_grad_();
  const double inf = std::numeric_limits<double>::infinity();
  return {
      {"weight", (seq<float>(120) * 0.25 - 7).reshape({2, 3, 4, 5})},
      {"weight_t", seq<float>(12).reshape({3, 4}).t()},
      {"stepped", seq<int64_t>(20).slice(0, 1, 20, 3)},
      {"scalar", scalar_tensor(1.0 / 3.0, kFloat64)},
      {"empty", zeros({0, 3})},
      {"mask", tensor({{true, false, true}, {false, false, true}})},
      {"big_ints", tensor(std::vector<int64_t>{std::numeric_limits<int64_t>::min(),
                                               std::numeric_limits<int64_t>::max(), 0, -1, (int64_t{1} << 53) + 1},
                          {5})},
      {"grad_param", grad_param},
      {"f64_special", tensor(std::vector<double>{std::nan(""), inf, -inf, -0.0, 5e-324, 1.7976931348623157e308}, {6})},
      {"expanded", tensor(std::vector<float>{1, 2, 3, 4}, {4}).expand({3, 4})},
  };
}

const std::map<std::string, std::string> kParityMetadata = {
    {"format", "pt"},
    {"note", "quote \" backslash \\ newline \n tab \t ctrl \x01 del \x7f"},
    {"unicode", "na\xc3\xafve \xe2\x98\x83 \xf0\x9f\x98\x80"},
    {"", "empty key"},
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Round trips

TEST_CASE("safetensors: round trip of every dtype and shape, with metadata") {
  TempDir dir;
  const std::string path = dir.file("round.safetensors");
  const NamedTensors in = parity_tensors();
  const Tensor& grad_param = find(in, "grad_param");
  CHECK(!find(in, "weight_t").is_contiguous());
  CHECK(!find(in, "stepped").is_contiguous());
  CHECK(!find(in, "expanded").is_contiguous());

  save_safetensors(path, in, kParityMetadata);
  check_no_temp_files(dir);
  CHECK(grad_param.requires_grad());  // saving detaches a copy, not the caller's tensor

  std::map<std::string, std::string> meta{{"stale", "entry"}};
  const NamedTensors out = load_safetensors(path, &meta);
  CHECK(meta == kParityMetadata);
  // Buffer order: I64, F64, F32, BOOL (decreasing alignment), then by name.
  CHECK(names_of(out) == std::vector<std::string>{"big_ints", "stepped", "f64_special", "scalar", "empty", "expanded",
                                                  "grad_param", "weight", "weight_t", "mask"});
  for (const auto& [name, t] : in) {
    CAPTURE(name);
    const Tensor& u = find(out, name);
    CHECK(same_tensor(t, u));
    CHECK(u.is_contiguous());
    CHECK(!u.requires_grad());
  }
  CHECK(find(out, "scalar").dim() == 0);
  CHECK(find(out, "scalar").item<double>() == 1.0 / 3.0);
  CHECK(find(out, "empty").numel() == 0);
  CHECK(find(out, "weight").dim() == 4);
  CHECK(find(out, "stepped").to_vector<int64_t>() == std::vector<int64_t>{1, 4, 7, 10, 13, 16, 19});
  CHECK(find(out, "weight_t").to_vector<float>() == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});

  // The header is a multiple of 8 bytes, so every tensor's data starts 8-byte aligned.
  const std::string bytes = read_bytes(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);

  // Without metadata: no "__metadata__" key, and the out-parameter comes back empty.
  save_safetensors(path, {{"x", ones({2})}});
  CHECK(read_bytes(path).find("__metadata__") == std::string::npos);
  CHECK(load_safetensors(path, &meta).size() == 1);
  CHECK(meta.empty());

  // No tensors at all.
  save_safetensors(path, {});
  CHECK(load_safetensors(path).empty());
}

TEST_CASE("safetensors: bytes match the reference implementation's test vectors") {
  TempDir dir;
  const std::string path = dir.file("ref.safetensors");
  const std::string data = raw<float>({0, 1, 2, 3, 4, 5});

  save_safetensors(path, {{"attn.0", tensor(std::vector<float>{0, 1, 2, 3, 4, 5}, {1, 2, 3})}});
  CHECK(read_bytes(path) == le64(64) + R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})" + data);

  save_safetensors(path, {{"attn0", tensor(std::vector<float>{0, 1, 2, 3, 4, 5}, {1, 1, 2, 3})}});
  CHECK(read_bytes(path) ==
        le64(72) + R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})" + "       " + data);

  save_safetensors(path, {});
  CHECK(read_bytes(path) == le64(8) + "{}      ");

  save_safetensors(path, {}, {{"framework", "pt"}});
  CHECK(read_bytes(path) == le64(40) + R"({"__metadata__":{"framework":"pt"}})" + "     ");

  // Layout order: decreasing dtype alignment (I64 > F64 > F32 > BOOL), then name; the caller's order
  // does not matter.
  save_safetensors(path, {{"b", tensor({true})}, {"a", ones({1})}, {"z", tensor(std::vector<int64_t>{5}, {1})},
                          {"y", ones({1}, kFloat64)}, {"c", zeros({1})}});
  const std::string text = read_bytes(path);
  const std::string expect =
      R"({"z":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"y":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},)"
      R"("a":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},"c":{"dtype":"F32","shape":[1],"data_offsets":[20,24]},)"
      R"("b":{"dtype":"BOOL","shape":[1],"data_offsets":[24,25]}})";
  CHECK(text.substr(8, expect.size()) == expect);
  CHECK(names_of(load_safetensors(path)) == std::vector<std::string>{"z", "y", "a", "c", "b"});
}

TEST_CASE("safetensors: other dtypes load converted, exactly") {
  TempDir dir;
  const float inf = std::numeric_limits<float>::infinity();
  SUBCASE("F16 -> float32") {
    const std::string data = raw<uint16_t>({0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x8000, 0x7C00, 0xFC00, 0x7E00});
    write_bytes(dir.file("f16.safetensors"), make_file(braces(entry("h", "F16", "[10]", "[0,20]")), data));
    const NamedTensors ts = load_safetensors(dir.file("f16.safetensors"));
    REQUIRE(ts.size() == 1);
    CHECK(ts[0].second.dtype() == kFloat32);
    const std::vector<float> v = ts[0].second.to_vector<float>();
    CHECK(v[0] == 1.0f);
    CHECK(v[1] == -2.5f);
    CHECK(v[2] == 65504.0f);
    CHECK(v[3] == std::ldexp(1.0f, -24));
    CHECK(v[4] == 1023 * std::ldexp(1.0f, -24));
    CHECK(v[5] == std::ldexp(1.0f, -14));
    CHECK((v[6] == 0.0f && std::signbit(v[6])));
    CHECK(v[7] == inf);
    CHECK(v[8] == -inf);
    CHECK(std::isnan(v[9]));
  }
  SUBCASE("BF16 -> float32") {
    const std::string data = raw<uint16_t>({0x3F80, 0xC020, 0x0001, 0x7F80, 0x7FC0});
    write_bytes(dir.file("bf16.safetensors"), make_file(braces(entry("b", "BF16", "[5]", "[0,10]")), data));
    const std::vector<float> v = load_safetensors(dir.file("bf16.safetensors"))[0].second.to_vector<float>();
    CHECK(v[0] == 1.0f);
    CHECK(v[1] == -2.5f);
    CHECK(v[2] == std::ldexp(1.0f, -133));
    CHECK(v[3] == inf);
    CHECK(std::isnan(v[4]));
  }
  SUBCASE("integers -> int64") {
    std::string data;
    data += raw<int8_t>({-128, 127, -1});          // I8 [0, 3)
    data += raw<uint8_t>({0, 255});                // U8 [3, 5)
    data += raw<int16_t>({-32768, 32767});         // I16 [5, 9)
    data += raw<uint16_t>({65535});                // U16 [9, 11)
    data += raw<int32_t>({std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()});  // [11, 19)
    data += raw<uint32_t>({4294967295u});          // U32 [19, 23)
    data += raw<uint64_t>({9223372036854775807u});  // U64 [23, 31)
    const std::string header = braces(entry("i8", "I8", "[3]", "[0,3]") + "," + entry("u8", "U8", "[2]", "[3,5]") + "," +
                               entry("i16", "I16", "[2]", "[5,9]") + "," + entry("u16", "U16", "[1]", "[9,11]") + "," +
                               entry("i32", "I32", "[2]", "[11,19]") + "," + entry("u32", "U32", "[1]", "[19,23]") +
                               "," + entry("u64", "U64", "[1]", "[23,31]"));
    write_bytes(dir.file("ints.safetensors"), make_file(header, data));
    const NamedTensors ts = load_safetensors(dir.file("ints.safetensors"));
    for (const auto& [n, t] : ts) CHECK(t.dtype() == kInt64);
    CHECK(find(ts, "i8").to_vector<int64_t>() == std::vector<int64_t>{-128, 127, -1});
    CHECK(find(ts, "u8").to_vector<int64_t>() == std::vector<int64_t>{0, 255});
    CHECK(find(ts, "i16").to_vector<int64_t>() == std::vector<int64_t>{-32768, 32767});
    CHECK(find(ts, "u16").to_vector<int64_t>() == std::vector<int64_t>{65535});
    CHECK(find(ts, "i32").to_vector<int64_t>() == std::vector<int64_t>{-2147483648LL, 2147483647LL});
    CHECK(find(ts, "u32").to_vector<int64_t>() == std::vector<int64_t>{4294967295LL});
    CHECK(find(ts, "u64").to_vector<int64_t>() == std::vector<int64_t>{std::numeric_limits<int64_t>::max()});

    // A U64 above INT64_MAX has no int64 value.
    check_bytes_error(dir, make_file(braces(entry("u", "U64", "[2]", "[0,16]")), raw<uint64_t>({1, 1ull << 63})),
                      "tensor 'u' of dtype U64 holds 9223372036854775808 at element 1, which does not fit in int64");
  }
  SUBCASE("a BOOL byte other than 0 or 1") {
    check_bytes_error(dir, make_file(braces(entry("m", "BOOL", "[3]", "[0,3]")), std::string("\x01\x00\x02", 3)),
                      "tensor 'm' of dtype BOOL holds byte 2 at element 2");
  }
}

// ---------------------------------------------------------------------------------------------
// Parity with PyTorch

TEST_CASE("safetensors: a file written by PyTorch loads with identical values") {
  TempDir dir;
  const int rc = run_python("gen_safetensors_ref.py", dir.path.string());
  REQUIRE_MESSAGE(rc == 0, "tests/parity/gen_safetensors_ref.py failed (exit " << rc
                                                                              << "): is PyTorch importable from /usr/bin/python3?");
  std::map<std::string, std::string> meta;
  const NamedTensors got = load_safetensors(dir.file("torch_ref.safetensors"), &meta);
  const NamedTensors want = load_safetensors(dir.file("torch_ref_expected.safetensors"));

  // The writer lays the data out in its list order but sorts the header keys: ctorch follows the data.
  const std::vector<std::string> order{"f32_randn_4d", "f64_rand",       "i64_extremes",   "bool_mask",
                                       "f32_scalar",   "f32_empty",      "f32_transposed", "f32_special",
                                       "f16_randn",    "f16_special",    "bf16_randn",     "bf16_special",
                                       "i32",          "i16",            "i8",             "u8",
                                       "layer.0.weight", "unicod\xc3\xa9 \xe5\x90\x8d\xe5\x89\x8d", "quote\"back\\slash"};
  CHECK(names_of(got) == order);
  CHECK(names_of(want) == order);
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    CAPTURE(got[i].first);
    CHECK(same_tensor(got[i].second, want[i].second));  // torch's own conversion, bit for bit
  }
  CHECK(meta == std::map<std::string, std::string>{
                    {"format", "pt"},
                    {"producer", "gen_safetensors_ref.py"},
                    {"unicode", "na\xc3\xafve \xe2\x98\x83 \xf0\x9f\x98\x80"},
                    {"escapes", "tab\there \"quoted\" back\\slash\nnewline \x01"},
                });

  // A few values spelled out, independent of the second file.
  CHECK(find(got, "f32_randn_4d").sizes().size() == 4);
  CHECK(find(got, "f32_scalar").dim() == 0);
  CHECK(find(got, "f32_scalar").item<float>() == 3.25f);
  CHECK(find(got, "f32_empty").numel() == 0);
  CHECK(find(got, "f32_transposed").to_vector<float>() == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK(find(got, "i64_extremes").to_vector<int64_t>() ==
        std::vector<int64_t>{std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 0, -1,
                             (int64_t{1} << 53) + 1});
  const std::vector<float> h = find(got, "f16_special").to_vector<float>();
  CHECK(h[0] == 1.0f);
  CHECK(h[2] == 65504.0f);
  CHECK(h[3] == std::ldexp(1.0f, -24));
  CHECK(std::isnan(h[9]));
  CHECK(find(got, "bf16_special").to_vector<float>()[2] == std::ldexp(1.0f, -133));
  CHECK(find(got, "i8").to_vector<int64_t>() == std::vector<int64_t>{-128, 127, 0, -1});
  CHECK(find(got, "u8").to_vector<int64_t>() == std::vector<int64_t>{0, 255, 128, 1});
  CHECK(find(got, "i32").dtype() == kInt64);
  CHECK(find(got, "bool_mask").dtype() == kBool);
}

TEST_CASE("safetensors: a file written by ctorch reads back in PyTorch") {
  TempDir dir;
  const std::string path = dir.file("from_ctorch.safetensors");
  save_safetensors(path, parity_tensors(), kParityMetadata);
  const int rc = run_python("check_safetensors_from_ctorch.py", path);
  CHECK_MESSAGE(rc == 0, "tests/parity/check_safetensors_from_ctorch.py rejected the file (exit "
                             << rc << "; 3 means PyTorch is not importable from /usr/bin/python3)");
}

// ---------------------------------------------------------------------------------------------
// Corrupt files

TEST_CASE("safetensors: missing, unreadable and too-short files") {
  TempDir dir;
  const std::string missing = dir.file("missing.safetensors");
  try {
    (void)load_safetensors(missing);
    FAIL("loading a missing file succeeded");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "safetensors: cannot open '" + missing + "': No such file or directory");
  }
  check_load_error(dir.path.string(), "is not a regular file");
  check_bytes_error(dir, "", "file is 0 bytes, too short");
  check_bytes_error(dir, std::string(7, '\0'), "file is 7 bytes, too short");
}

TEST_CASE("safetensors: every truncation of a valid file fails cleanly") {
  TempDir dir;
  const std::string good = dir.file("good.safetensors");
  const NamedTensors in{{"w", seq<float>(6).reshape({2, 3})},
                        {"i", tensor(std::vector<int64_t>{7, -8}, {2})},
                        {"m", tensor({true, false, true})},
                        {"s", scalar_tensor(0.5, kFloat64)}};
  save_safetensors(good, in, {{"k", "v"}});
  const std::string bytes = read_bytes(good);
  const std::string cut = dir.file("cut.safetensors");
  for (size_t len = 0; len <= bytes.size(); ++len) {
    CAPTURE(len);
    write_bytes(cut, std::string_view(bytes).substr(0, len));
    if (len < bytes.size()) {
      CHECK_THROWS_AS((void)load_safetensors(cut), Error);
    } else {
      const NamedTensors out = load_safetensors(cut);
      REQUIRE(out.size() == in.size());
      for (const auto& [name, t] : in) CHECK(same_tensor(find(out, name), t));
    }
  }
}

TEST_CASE("safetensors: lying header lengths") {
  TempDir dir;
  const std::string header = braces(entry("a", "F32", "[2]", "[0,8]"));
  const std::string data = raw<float>({1, 2});
  const std::string good = make_file(header, data);
  const uint64_t n = good.size() - 8 - data.size();
  const auto with_len = [&](uint64_t len) { return le64(len) + good.substr(8); };

  check_bytes_error(dir, with_len(n + 1), "invalid JSON header");   // swallows a data byte
  check_bytes_error(dir, with_len(n + 8), "invalid JSON header");
  check_bytes_error(dir, with_len(n + 4), "invalid JSON header");
  check_bytes_error(dir, with_len(n + data.size() + 1),
                    "header length " + std::to_string(n + data.size() + 1) + " exceeds the " +
                        std::to_string(n + data.size()) + " bytes that follow it");
  check_bytes_error(dir, with_len(n - 1), "1 extra bytes at the end of the file");  // a pad space too few
  check_bytes_error(dir, with_len(n - 8), "invalid JSON header");                   // the JSON is cut
  check_bytes_error(dir, with_len(0), "must be a JSON object");
  check_bytes_error(dir, with_len(100'000'001), "header length 100000001 exceeds the limit of 100000000 bytes");
  check_bytes_error(dir, with_len(std::numeric_limits<uint64_t>::max()), "exceeds the limit");
  check_bytes_error(dir, with_len(1ull << 63), "exceeds the limit");
}

TEST_CASE("safetensors: header JSON garbage") {
  TempDir dir;
  const std::string ok = entry("a", "F32", "[1]", "[0,4]");
  const std::string data = raw<float>({1});
  struct Case {
    std::string header;
    std::string message;
  };
  const std::vector<Case> cases{
      {"", "must be a JSON object"},
      {"[]", "must be a JSON object"},
      {" {" + ok + "}", "must be a JSON object"},
      {"{", "expected a string"},
      {"{" + ok, "expected ',' or '}'"},
      {"{" + ok + "}x", "unexpected data after the header object"},
      {"{" + ok + "}\n", "unexpected data after the header object"},
      {"{" + ok + "}" + std::string("\0\0", 2), "unexpected data after the header object"},
      {"{" + ok + "}{}", "unexpected data after the header object"},
      {"{" + ok + ",}", "expected a string"},
      {"{,}", "expected a string"},
      {"{'a':1}", "expected a string"},
      {"{\"a\" 1}", "expected ':' after a key"},
      {"{\"a\":1}", "tensor 'a': expected an object"},
      {"{\"a\":null}", "tensor 'a': expected an object"},
      {"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]", "expected an object"},
      {"{\"a\":{\"dtype\":F32,\"shape\":[1],\"data_offsets\":[0,4]}}", "\"dtype\" must be a string"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", "fraction or exponent"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", "fraction or exponent"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", "leading zeros"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[+1],\"data_offsets\":[0,4]}}", "expected an integer"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[true],\"data_offsets\":[0,4]}}", "expected an integer"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", "expected an integer"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[[1]],\"data_offsets\":[0,4]}}", "expected an integer"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,],\"data_offsets\":[0,4]}}", "expected an integer"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1 1],\"data_offsets\":[0,4]}}", "expected ',' or ']'"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", "\"shape\" must be an array"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,4]}}", "integer too large"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", "\"data_offsets\" must be [begin, end]"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", "\"data_offsets\" must be [begin, end]"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\"0,4\"}}", "\"data_offsets\" must be [begin, end]"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", "unexpected key 'extra'"},
      {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor 'a': missing \"dtype\""},
      {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "tensor 'a': missing \"shape\""},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", "tensor 'a': missing \"data_offsets\""},
      {"{\"a\x01\":{}}", "unescaped control character 0x01"},
      {"{\"a\\q\":{}}", "invalid escape sequence"},
      {"{\"\\ud800\":{}}", "unpaired high surrogate"},
      {"{\"\\ud800\\u0041\":{}}", "unpaired high surrogate"},
      {"{\"\\udc00\":{}}", "unpaired low surrogate"},
      {"{\"\\u12g4\":{}}", "invalid hex digit"},
      {"{\"\\u12", "invalid hex digit in a \\u escape"},  // the padding spaces are not hex digits
      {"{\"a\xff\":{}}", "ill-formed UTF-8"},
      {"{\"\xc0\xaf\":{}}", "ill-formed UTF-8"},          // overlong '/'
      {"{\"\xed\xa0\x80\":{}}", "ill-formed UTF-8"},      // an encoded surrogate
      {"{\"\xf4\x90\x80\x80\":{}}", "ill-formed UTF-8"},  // above U+10FFFF
      {"{\"abc", "unterminated string"},
      {"{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "empty name"},
      {"{\"__metadata__\":[]," + ok + "}", "\"__metadata__\" must be an object"},
      {"{\"__metadata__\":{\"k\":1}," + ok + "}", "\"__metadata__\" value for key 'k' must be a string"},
      {"{\"__metadata__\":{\"k\":\"v\",}," + ok + "}", "expected a string"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.header);
    check_bytes_error(dir, make_file(c.header, data), c.message);
  }
  check_bytes_error(dir, make_file("{\"\\u12", "", /*pad=*/false), "truncated \\u escape");
  check_bytes_error(dir, make_file("{\"a\\", "", /*pad=*/false), "unterminated string");

  // Valid JSON that the strict parser accepts: whitespace between tokens, escapes, null metadata.
  const std::vector<std::string> accepted{
      "{ \t\r\n\"a\" \n: {\"dtype\" : \"F32\" ,\"shape\":[ 1 ],\"data_offsets\":[ 0 , 4 ] } }",
      "{\"\\u0061\":{\"dtype\":\"\\u0046\\u00332\",\"shape\":[1],\"data_offsets\":[0,4]}}",
      "{\"__metadata__\":null," + ok + "}",
      "{\"__metadata__\":{}," + ok + "}",
      "{" + ok + ",\"__metadata__\":{\"k\":\"\\ud83d\\ude00\\n\\/\"}}",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[-0],\"data_offsets\":[0,0]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
  };
  for (const std::string& h : accepted) {
    CAPTURE(h);
    const std::string path = dir.file("ok.safetensors");
    write_bytes(path, make_file(h, data));
    std::map<std::string, std::string> meta;
    NamedTensors ts;
    CHECK_NOTHROW(ts = load_safetensors(path, &meta));
    CHECK(!ts.empty());
    if (meta.count("k")) CHECK(meta["k"] == "\xf0\x9f\x98\x80\n/");
  }
}

TEST_CASE("safetensors: data_offsets, shapes and dtypes that do not add up") {
  TempDir dir;
  const auto file = [](std::vector<std::string> entries, std::string_view data) {
    std::string h = "{";
    for (size_t i = 0; i < entries.size(); ++i) h += (i ? "," : "") + entries[i];
    return make_file(h + "}", data);
  };
  const std::string d8(8, '\0'), d12(12, '\0');
  // Offsets
  check_bytes_error(dir, file({entry("a", "F32", "[2]", "[0,8]"), entry("b", "F32", "[2]", "[4,12]")}, d12),
                    "tensor 'b' with data_offsets [4, 12] overlaps tensor 'a' with data_offsets [0, 8]");
  check_bytes_error(dir, file({entry("a", "F32", "[2]", "[0,8]"), entry("b", "F32", "[2]", "[0,8]")}, d8),
                    "overlaps");
  check_bytes_error(dir, file({entry("a", "F32", "[1]", "[0,4]"), entry("b", "F32", "[1]", "[8,12]")}, d12),
                    "bytes [4, 8) of the data buffer belong to no tensor (a gap before tensor 'b')");
  check_bytes_error(dir, file({entry("a", "F32", "[1]", "[4,8]")}, d8), "bytes [0, 4) of the data buffer belong to no tensor");
  check_bytes_error(dir, file({entry("a", "F32", "[1]", "[0,4]")}, d8), "the tensors cover 4 bytes but the data buffer holds 8");
  check_bytes_error(dir, file({}, d8), "the tensors cover 0 bytes but the data buffer holds 8");
  check_bytes_error(dir, file({entry("a", "F32", "[2]", "[0,8]")}, "1234"),
                    "tensor 'a': data_offsets [0, 8] reach past the end of the data buffer, which holds 4 bytes");
  check_bytes_error(dir, file({entry("a", "F32", "[2]", "[0,18446744073709551615]")}, d8), "reach past the end");
  check_bytes_error(dir, file({entry("a", "F32", "[2]", "[18446744073709551615,8]")}, d8), "end before they begin");
  check_bytes_error(dir, file({entry("a", "F32", "[3]", "[0,8]")}, d8),
                    "tensor 'a': data_offsets [0, 8] span 8 bytes, but shape [3] of F32 needs 12 bytes");
  check_bytes_error(dir, file({entry("a", "F64", "[2]", "[0,12]")}, d12), "shape [2] of F64 needs 16 bytes");
  check_bytes_error(dir, file({entry("a", "F32", "[1]", "[-0,-4]")}, d8), "negative offset -4");
  // Shapes
  check_bytes_error(dir, file({entry("a", "F32", "[-1]", "[0,4]")}, d8), "tensor 'a': negative dimension -1");
  check_bytes_error(dir, file({entry("a", "F32", "[9223372036854775808]", "[0,4]")}, d8),
                    "dimension 9223372036854775808 in \"shape\" is too large");
  check_bytes_error(dir, file({entry("a", "F32", "[4294967296,4294967296]", "[0,8]")}, d8),
                    "shape [4294967296, 4294967296] is too large");
  check_bytes_error(dir, file({entry("a", "F32", "[3037000500,3037000500]", "[0,8]")}, d8), "is too large");
  check_bytes_error(dir, file({entry("a", "F32", "[0,4294967296,4294967296]", "[0,0]")}, d8), "is too large");
  check_bytes_error(dir, file({entry("a", "F64", "[2305843009213693952]", "[0,8]")}, d8), "byte size overflows");
  check_bytes_error(dir, file({entry("a", "F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]")}, d8), "more than 8 dimensions");
  // Dtypes
  check_bytes_error(dir, file({entry("a", "F33", "[2]", "[0,8]")}, d8), "tensor 'a': unknown dtype 'F33'");
  check_bytes_error(dir, file({entry("a", "f32", "[2]", "[0,8]")}, d8), "unknown dtype 'f32'");
  check_bytes_error(dir, file({entry("a", "", "[2]", "[0,8]")}, d8), "unknown dtype ''");
  check_bytes_error(dir, file({entry("a", "F8_E4M3", "[8]", "[0,8]")}, d8), "dtype not supported by ctorch: 'F8_E4M3'");
  // Duplicate keys
  check_bytes_error(dir, file({entry("a", "F32", "[1]", "[0,4]"), entry("a", "F32", "[1]", "[4,8]")}, d8),
                    "duplicate tensor name 'a'");
  check_bytes_error(dir, make_file("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", d8),
                    "tensor 'a': duplicate key \"dtype\"");
  check_bytes_error(dir, make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],\"data_offsets\":[0,8]}}", d8),
                    "duplicate key \"shape\"");
  check_bytes_error(dir, make_file("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}," + entry("a", "F32", "[2]", "[0,8]") + "}", d8),
                    "duplicate key 'k' in \"__metadata__\"");
  check_bytes_error(dir, make_file("{\"__metadata__\":{},\"__metadata__\":{}," + entry("a", "F32", "[2]", "[0,8]") + "}", d8),
                    "duplicate key \"__metadata__\"");
  // A hostile name is shown cut short in the message.
  const std::string long_name(1000, 'x');
  try {
    write_bytes(dir.file("bad.safetensors"), file({entry(long_name, "F99", "[1]", "[0,4]")}, d8));
    (void)load_safetensors(dir.file("bad.safetensors"));
    FAIL("loaded a bad dtype");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).size() < 500);
    CHECK(std::string(e.what()).find("...' (1000 bytes)") != std::string::npos);
  }
}

TEST_CASE("safetensors: random byte mutations either load or throw ctorch::Error") {
  TempDir dir;
  const std::string good = dir.file("good.safetensors");
  save_safetensors(good,
                   {{"w", seq<float>(6).reshape({2, 3})},
                    {"i", tensor(std::vector<int64_t>{7, -8}, {2})},
                    {"m", tensor({true, false, true})},
                    {"s", scalar_tensor(0.5, kFloat64)},
                    {"e", zeros({0, 2})}},
                   {{"k", "v"}});
  const std::string bytes = read_bytes(good);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const std::string_view interesting = "{}[]\":,-0123456789 \\ueE.\x01\xff";
  std::mt19937 rng(20240611);
  const std::string path = dir.file("fuzz.safetensors");
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string m = bytes;
    const int kind = static_cast<int>(rng() % 5);
    const int count = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < count; ++k) {
      switch (kind) {
        case 0: m[rng() % m.size()] = static_cast<char>(rng() & 0xFF); break;                // anywhere
        case 1: m[8 + rng() % n] = static_cast<char>(rng() & 0xFF); break;                   // the header
        case 2: m[8 + rng() % n] = interesting[rng() % interesting.size()]; break;           // JSON syntax
        case 3: m[rng() % 8] = static_cast<char>(rng() & 0xFF); break;                       // the length
        default: m[8 + n + rng() % (m.size() - 8 - n)] = static_cast<char>(rng() & 0xFF);   // the data
      }
    }
    if (rng() % 8 == 0) m.resize(rng() % (m.size() + 16), '\0');  // truncate or extend as well
    write_bytes(path, m);
    CAPTURE(iter);
    try {
      const NamedTensors ts = load_safetensors(path);
      ++loaded;
      for (const auto& [name, t] : ts) {
        CHECK(!name.empty());
        if (t.dtype() == kBool) {
          const auto* b = static_cast<const unsigned char*>(t.raw_data());
          for (int64_t i = 0; i < t.numel(); ++i) CHECK(b[i] <= 1);
        }
      }
    } catch (const Error&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL("iteration " << iter << " threw a non-ctorch exception: " << e.what());
    }
  }
  MESSAGE("fuzz: " << loaded << " loaded, " << rejected << " rejected");
  CHECK(loaded + rejected == 2000);
  CHECK(loaded > 0);
  CHECK(rejected > 0);
}

// ---------------------------------------------------------------------------------------------
// Saving: validation and atomicity

TEST_CASE("safetensors: invalid tensor lists are rejected and leave the old file intact") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  save_safetensors(path, {{"old", ones({3})}});
  const std::string before = read_bytes(path);
  struct Case {
    NamedTensors tensors;
    std::map<std::string, std::string> metadata;
    std::string message;
  };
  const std::vector<Case> cases{
      {{{"a", ones({2})}, {"b", Tensor()}}, {}, "tensor #1 ('b') is undefined"},   // a later element is bad
      {{{"a", ones({2})}, {"b", ones({1})}, {"a", zeros({1})}}, {}, "duplicate tensor name 'a' (tensor #2)"},
      {{{"a", ones({2})}, {"", ones({1})}}, {}, "tensor #1 has an empty name"},
      {{{"__metadata__", ones({1})}}, {}, "reserved"},
      {{{"bad\xff", ones({1})}}, {}, "not valid UTF-8"},
      {{{"a", ones({1})}}, {{"k", "\xc0\xaf"}}, "the value of metadata key 'k' is not valid UTF-8"},
      {{{"a", ones({1})}}, {{"\xff", "v"}}, "metadata key '\\xff' is not valid UTF-8"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    try {
      save_safetensors(path, c.tensors, c.metadata);
      FAIL("save succeeded");
    } catch (const Error& e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find(c.message) != std::string::npos);
      CHECK(msg.find("cannot save '" + path + "'") != std::string::npos);
    }
    CHECK(read_bytes(path) == before);
  }
  check_no_temp_files(dir);
  CHECK_THROWS_AS(save_safetensors("", {{"a", ones({1})}}), Error);
}

TEST_CASE("safetensors: failed saves throw, name the path and errno, and keep the old file") {
  TempDir dir;
  const NamedTensors tensors{{"x", seq<float>(10)}};
  const auto expect_save_error = [&](const std::string& path, const std::string& errno_text) {
    try {
      save_safetensors(path, tensors);
      FAIL("save to " << path << " succeeded");
    } catch (const Error& e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find("cannot save '" + path + "'") != std::string::npos);
      CHECK(msg.find(errno_text) != std::string::npos);
    }
  };

  SUBCASE("parent directory missing") {
    expect_save_error(dir.file("missing/model.safetensors"), "No such file or directory");
    CHECK(!fs::exists(dir.path / "missing"));
  }
  SUBCASE("parent is a regular file") {
    write_bytes(dir.file("plain"), "x");
    expect_save_error(dir.file("plain/model.safetensors"), "Not a directory");
  }
  SUBCASE("target is a directory") {
    fs::create_directory(dir.path / "taken");
    fs::create_directory(dir.path / "taken" / "inside");
    expect_save_error(dir.file("taken"), "Is a directory");
    CHECK(fs::is_directory(dir.path / "taken" / "inside"));
  }
  SUBCASE("directory not writable") {
    const fs::path sub = dir.path / "readonly";
    fs::create_directory(sub);
    const std::string path = (sub / "model.safetensors").string();
    save_safetensors(path, {{"old", ones({2})}});
    const std::string before = read_bytes(path);
    fs::permissions(sub, fs::perms::owner_read | fs::perms::owner_exec);
    if (::geteuid() != 0) {
      expect_save_error(path, "Permission denied");
    } else {
      // Permissions do not stop root: use a directory the kernel refuses files in (/proc, /sys
      // when mounted). A bare chroot may have neither mounted; then there is nothing to try.
      std::string refused;
      for (const char* d : {"/proc", "/sys"}) {
        const std::string probe = std::string(d) + "/ctorch_probe";
        if (FILE* f = std::fopen(probe.c_str(), "wb")) {
          std::fclose(f);
          std::remove(probe.c_str());
        } else {
          refused = d;
          break;
        }
      }
      if (refused.empty()) {
        MESSAGE("running as root with no read-only filesystem at hand: the unwritable-directory case is skipped");
      } else {
        const std::string target = refused + "/ctorch_safetensors_test.safetensors";
        CHECK_THROWS_AS(save_safetensors(target, tensors), Error);
        CHECK(!fs::exists(target));
      }
    }
    fs::permissions(sub, fs::perms::owner_all);
    CHECK(read_bytes(path) == before);
  }
  SUBCASE("a write fails midway (RLIMIT_FSIZE)") {
    const std::string path = dir.file("model.safetensors");
    save_safetensors(path, {{"old", ones({2})}});
    const std::string before = read_bytes(path);
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);  // make the oversized write fail with EFBIG
    rlimit small = saved;
    small.rlim_cur = 4096;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    bool threw = false;
    std::string msg;
    try {
      save_safetensors(path, {{"big", zeros({100000})}, {"more", ones({10})}});
    } catch (const Error& e) {
      threw = true;
      msg = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);
    INFO(msg);
    CHECK(threw);
    CHECK(msg.find("cannot write temporary file") != std::string::npos);
    CHECK(msg.find("File too large") != std::string::npos);
    CHECK(read_bytes(path) == before);
  }
  SUBCASE("a successful save replaces the old file") {
    const std::string path = dir.file("model.safetensors");
    save_safetensors(path, {{"old", ones({2})}});
    save_safetensors(path, tensors);
    const NamedTensors out = load_safetensors(path);
    REQUIRE(out.size() == 1);
    CHECK(out[0].first == "x");
    CHECK(same_tensor(out[0].second, tensors[0].second));
  }
  check_no_temp_files(dir);
}
