#include "safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>
#include <string_view>
#include <system_error>
#include <unordered_set>

namespace ctorch {
namespace {

// The byte buffer is little-endian; ctorch copies it verbatim into (and out of) tensor storage.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

// The reference implementation's limit: larger headers are refused before being parsed.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr std::string_view kMetadataKey = "__metadata__";

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// ---------------------------------------------------------------------------------------------
// dtypes

// `rank` is the position in the reference implementation's Dtype enum (increasing alignment);
// the writer lays tensors out by decreasing rank, then by name, as the reference does.
struct FileDtype {
  std::string_view name;
  size_t size;        // bytes per element
  ScalarType loads_as;
  int rank;
};

constexpr FileDtype kFileDtypes[] = {
    {"BOOL", 1, kBool, 0},    {"U8", 1, kInt64, 1},     {"I8", 1, kInt64, 2},     {"I16", 2, kInt64, 5},
    {"U16", 2, kInt64, 6},    {"F16", 2, kFloat32, 7},  {"BF16", 2, kFloat32, 8}, {"I32", 4, kInt64, 9},
    {"U32", 4, kInt64, 10},   {"F32", 4, kFloat32, 11}, {"F64", 8, kFloat64, 12}, {"I64", 8, kInt64, 13},
    {"U64", 8, kInt64, 14},
};

// Valid safetensors dtypes that ctorch cannot represent faithfully.
constexpr std::string_view kUnsupportedDtypes[] = {"F8_E5M2", "F8_E4M3", "F8_E8M0", "F4",  "F6_E2M3",
                                                   "F6_E3M2", "C64",     "PackedU4", "PackedI4"};

const FileDtype* find_file_dtype(std::string_view name) {
  for (const FileDtype& d : kFileDtypes)
    if (d.name == name) return &d;
  return nullptr;
}

const FileDtype& file_dtype_of(ScalarType t) {
  switch (t) {
    case ScalarType::Bool: return *find_file_dtype("BOOL");
    case ScalarType::Int64: return *find_file_dtype("I64");
    case ScalarType::Float32: return *find_file_dtype("F32");
    case ScalarType::Float64: return *find_file_dtype("F64");
  }
  throw Error("safetensors: unknown ctorch dtype");
}

bool is_native(const FileDtype& d) { return d.size == element_size(d.loads_as) && d.name != "U64"; }

// ---------------------------------------------------------------------------------------------
// UTF-8 and JSON strings

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 (overlong forms, surrogates,
// code points above U+10FFFF and truncated sequences are all ill-formed).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return i + k < s.size() && byte(k) >= lo && byte(k) <= hi;
  };
  const unsigned c = byte(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c >= 0xE1 && c <= 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// JSON's two-character escapes: the character and the letter after the backslash ("\/" is only
// ever read: serde_json, like most writers, leaves '/' as it is).
constexpr std::pair<char, char> kJsonEscapes[] = {
    {'"', '"'}, {'\\', '\\'}, {'\b', 'b'}, {'\f', 'f'}, {'\n', 'n'}, {'\r', 'r'}, {'\t', 't'}};

// A JSON string literal, escaped as serde_json does (so headers match the reference byte for byte).
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const auto* e = std::find_if(std::begin(kJsonEscapes), std::end(kJsonEscapes), [&](auto p) { return p.first == ch; });
    if (e != std::end(kJsonEscapes)) out += '\\', out += e->second;
    else if (c < 0x20) out += fmt::format("\\u{:04x}", c);
    else out += ch;
  }
  out += '"';
}

// A name as shown in an error message: quoted, control characters and invalid bytes escaped,
// cut after 80 bytes (a hostile header may hold a 100 MB name).
std::string display(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out = "'";
  size_t i = 0;
  while (i < s.size() && i < kMax) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = utf8_sequence_length(s, i);
    if (c < 0x20 || c == 0x7F || n == 0) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  if (i < s.size()) out += fmt::format("...' ({} bytes)", s.size());
  else out += "'";
  return out;
}

// ---------------------------------------------------------------------------------------------
// The header: a strict parser for the subset of JSON that safetensors uses

struct Entry {
  std::string name;
  const FileDtype* dtype = nullptr;
  Shape shape;
  uint64_t begin = 0, end = 0;  // data_offsets, relative to the byte buffer
};

struct Header {
  std::vector<Entry> entries;  // in header order
  std::map<std::string, std::string> metadata;
};

struct JsonInt {
  bool negative;
  uint64_t magnitude;
};

// Parses the header straight into entries (no generic JSON tree: the memory it uses stays
// proportional to the header, whatever the header says). Accepted: one top-level object whose
// members are tensor entries {"dtype": string, "shape": [int...], "data_offsets": [int, int]} and
// an optional "__metadata__": {string: string} (or null); strings with all JSON escapes; integers.
// Rejected: floats, true/false, null elsewhere, unknown keys, duplicate keys, ill-formed UTF-8,
// anything after the closing brace except space padding.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  Header parse() {
    Header h;
    if (s_.empty() || s_[0] != '{')
      syntax_error(0, "the header must be a JSON object, starting with '{'");
    ++pos_;
    std::unordered_set<std::string> names;
    bool seen_metadata = false;
    skip_ws();
    if (peek_is('}')) {
      ++pos_;
    } else {
      for (;;) {
        skip_ws();
        const size_t key_pos = pos_;
        std::string key = parse_string("a tensor name");
        skip_ws();
        expect(':', "after a key");
        skip_ws();
        if (key == kMetadataKey) {
          if (seen_metadata) syntax_error(key_pos, "duplicate key \"__metadata__\"");
          seen_metadata = true;
          parse_metadata(h.metadata);
        } else {
          if (key.empty()) header_error("a tensor has an empty name");
          if (names.contains(key)) header_error(fmt::format("duplicate tensor name {}", display(key)));
          names.insert(key);
          h.entries.push_back(parse_entry(std::move(key)));
        }
        skip_ws();
        if (peek_is(',')) { ++pos_; continue; }
        if (peek_is('}')) { ++pos_; break; }
        syntax_error(pos_, "expected ',' or '}' after a member of the header object");
      }
    }
    for (; pos_ < s_.size(); ++pos_)
      if (s_[pos_] != ' ')
        syntax_error(pos_, "unexpected data after the header object (only space padding may follow it)");
    return h;
  }

 private:
  [[noreturn]] void syntax_error(size_t pos, std::string_view what) const {
    throw Error(fmt::format("safetensors: '{}': invalid JSON header at byte {} of {}: {}{}", path_, pos, s_.size(), what,
                            pos >= s_.size() ? " (the header ends there: truncated?)" : ""));
  }
  [[noreturn]] void header_error(std::string_view what) const {
    throw Error(fmt::format("safetensors: '{}': invalid header: {}", path_, what));
  }

  bool peek_is(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  void expect(char c, std::string_view where) {
    if (!peek_is(c)) syntax_error(pos_, fmt::format("expected '{}' {}", c, where));
    ++pos_;
  }

  uint32_t parse_hex4() {
    if (s_.size() - pos_ < 4) syntax_error(pos_, "truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else syntax_error(pos_ - 1, "invalid hex digit in a \\u escape");
    }
    return v;
  }

  std::string parse_string(std::string_view what) {
    if (!peek_is('"')) syntax_error(pos_, fmt::format("expected a string ({})", what));
    const size_t start = pos_++;
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) syntax_error(start, "unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) syntax_error(pos_, fmt::format("unescaped control character 0x{:02x} in a string", c));
      if (c == '\\') {
        if (++pos_ >= s_.size()) syntax_error(start, "unterminated string");
        const char e = s_[pos_++];
        switch (e) {
          case '/': out += '/'; break;
          case 'u': {
            const size_t esc = pos_ - 2;
            uint32_t cp = parse_hex4();
            if (cp >= 0xDC00 && cp <= 0xDFFF) syntax_error(esc, "unpaired low surrogate in a \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (s_.substr(pos_, 2) != "\\u") syntax_error(esc, "unpaired high surrogate in a \\u escape");
              pos_ += 2;
              const uint32_t lo = parse_hex4();
              if (lo < 0xDC00 || lo > 0xDFFF) syntax_error(esc, "unpaired high surrogate in a \\u escape");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            append_utf8(out, cp);
            break;
          }
          default: {
            const auto* m = std::find_if(std::begin(kJsonEscapes), std::end(kJsonEscapes),
                                         [&](auto p) { return p.second == e; });
            if (m == std::end(kJsonEscapes)) syntax_error(pos_ - 2, "invalid escape sequence in a string");
            out += m->first;
          }
        }
        continue;
      }
      const size_t n = utf8_sequence_length(s_, pos_);
      if (n == 0) syntax_error(pos_, "ill-formed UTF-8 in a string");
      out.append(s_.substr(pos_, n));
      pos_ += n;
    }
  }

  // -?(0|[1-9][0-9]*), nothing else: no fraction, no exponent, no leading zeros, no overflow.
  JsonInt parse_int(std::string_view what) {
    const size_t start = pos_;
    JsonInt v{false, 0};
    if (peek_is('-')) v.negative = true, ++pos_;
    const auto digit_at = [&](size_t i) { return i < s_.size() && s_[i] >= '0' && s_[i] <= '9'; };
    if (!digit_at(pos_)) syntax_error(start, fmt::format("expected an integer ({})", what));
    if (s_[pos_] == '0' && digit_at(pos_ + 1)) syntax_error(start, "leading zeros are not allowed in a number");
    while (digit_at(pos_)) {
      const auto d = static_cast<uint64_t>(s_[pos_] - '0');
      if (v.magnitude > (std::numeric_limits<uint64_t>::max() - d) / 10)
        syntax_error(start, fmt::format("integer too large ({})", what));
      v.magnitude = v.magnitude * 10 + d;
      ++pos_;
    }
    if (peek_is('.') || peek_is('e') || peek_is('E'))
      syntax_error(start, fmt::format("expected an integer ({}), got a number with a fraction or exponent", what));
    return v;
  }

  void parse_metadata(std::map<std::string, std::string>& out) {
    if (s_.substr(pos_, 4) == "null") {  // serde reads `null` as "no metadata"
      pos_ += 4;
      return;
    }
    if (!peek_is('{')) header_error("\"__metadata__\" must be an object mapping strings to strings");
    ++pos_;
    skip_ws();
    if (peek_is('}')) {
      ++pos_;
      return;
    }
    for (;;) {
      skip_ws();
      std::string key = parse_string("a __metadata__ key");
      skip_ws();
      expect(':', "after a key");
      skip_ws();
      if (!peek_is('"'))
        header_error(fmt::format("\"__metadata__\" value for key {} must be a string", display(key)));
      std::string value = parse_string("a __metadata__ value");
      if (out.contains(key)) header_error(fmt::format("duplicate key {} in \"__metadata__\"", display(key)));
      out.emplace(std::move(key), std::move(value));
      skip_ws();
      if (peek_is(',')) { ++pos_; continue; }
      if (peek_is('}')) { ++pos_; return; }
      syntax_error(pos_, "expected ',' or '}' in \"__metadata__\"");
    }
  }

  // A JSON array of integers, [] included: '[' already checked by the caller, then each integer
  // (parse_int's errors name it `what`) goes to element(value) as it is read; a separator other than
  // ',' or ']' is a syntax error naming `key`.
  template <class Element>
  void parse_int_array(std::string_view key, std::string_view what, Element&& element) {
    ++pos_;  // '['
    skip_ws();
    if (peek_is(']')) {
      ++pos_;
      return;
    }
    for (;;) {
      skip_ws();
      element(parse_int(what));
      skip_ws();
      if (peek_is(',')) { ++pos_; continue; }
      if (peek_is(']')) { ++pos_; return; }
      syntax_error(pos_, fmt::format("expected ',' or ']' in {}", key));
    }
  }

  void parse_shape(Entry& e) {
    const std::string who = fmt::format("tensor {}", display(e.name));
    if (!peek_is('[')) header_error(fmt::format("{}: \"shape\" must be an array of integers", who));
    parse_int_array("\"shape\"", "a dimension of \"shape\"", [&](const JsonInt& d) {
      if (d.negative && d.magnitude != 0)
        header_error(fmt::format("{}: negative dimension -{} in \"shape\"", who, d.magnitude));
      if (d.magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        header_error(fmt::format("{}: dimension {} in \"shape\" is too large", who, d.magnitude));
      if (e.shape.size() == kMaxDims)
        header_error(fmt::format("{}: \"shape\" has more than {} dimensions (ctorch's limit)", who, kMaxDims));
      e.shape.push_back(static_cast<int64_t>(d.magnitude));
    });
  }

  void parse_offsets(Entry& e) {
    const std::string who = fmt::format("tensor {}", display(e.name));
    const auto bad = [&] { header_error(fmt::format("{}: \"data_offsets\" must be [begin, end]", who)); };
    if (!peek_is('[')) bad();
    uint64_t v[2] = {0, 0};
    size_t count = 0;
    parse_int_array("\"data_offsets\"", "a data offset", [&](const JsonInt& x) {
      if (count == 2) bad();
      if (x.negative && x.magnitude != 0)
        header_error(fmt::format("{}: negative offset -{} in \"data_offsets\"", who, x.magnitude));
      v[count++] = x.magnitude;
    });
    if (count != 2) bad();
    e.begin = v[0];
    e.end = v[1];
  }

  Entry parse_entry(std::string name) {
    Entry e;
    e.name = std::move(name);
    const std::string who = fmt::format("tensor {}", display(e.name));
    if (!peek_is('{')) header_error(fmt::format("{}: expected an object with \"dtype\", \"shape\" and \"data_offsets\"", who));
    ++pos_;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    const auto once = [&](bool& seen, std::string_view key) {
      if (seen) header_error(fmt::format("{}: duplicate key \"{}\"", who, key));
      seen = true;
    };
    skip_ws();
    if (peek_is('}')) {
      ++pos_;
    } else {
      for (;;) {
        skip_ws();
        const std::string key = parse_string("a key of a tensor entry");
        skip_ws();
        expect(':', "after a key");
        skip_ws();
        if (key == "dtype") {
          once(has_dtype, key);
          if (!peek_is('"')) header_error(fmt::format("{}: \"dtype\" must be a string", who));
          const std::string d = parse_string("a dtype");
          e.dtype = find_file_dtype(d);
          if (e.dtype == nullptr) {
            const bool known = std::find(std::begin(kUnsupportedDtypes), std::end(kUnsupportedDtypes), d) !=
                               std::end(kUnsupportedDtypes);
            header_error(fmt::format(
                "{}: {} {} (ctorch loads F32, F64, I64 and BOOL, and converts F16, BF16 to float32 and "
                "I8, U8, I16, U16, I32, U32, U64 to int64)",
                who, known ? "dtype not supported by ctorch:" : "unknown dtype", display(d)));
          }
        } else if (key == "shape") {
          once(has_shape, key);
          parse_shape(e);
        } else if (key == "data_offsets") {
          once(has_offsets, key);
          parse_offsets(e);
        } else {
          header_error(fmt::format("{}: unexpected key {} (a tensor entry has only \"dtype\", \"shape\" and "
                                   "\"data_offsets\")", who, display(key)));
        }
        skip_ws();
        if (peek_is(',')) { ++pos_; continue; }
        if (peek_is('}')) { ++pos_; break; }
        syntax_error(pos_, fmt::format("expected ',' or '}}' in the entry of {}", who));
      }
    }
    if (!has_dtype) header_error(fmt::format("{}: missing \"dtype\"", who));
    if (!has_shape) header_error(fmt::format("{}: missing \"shape\"", who));
    if (!has_offsets) header_error(fmt::format("{}: missing \"data_offsets\"", who));
    return e;
  }

  std::string_view s_;
  const std::string& path_;
  size_t pos_ = 0;
};

// Checks every entry against the byte buffer (`data_len` bytes) and returns the entries' indices
// in buffer order. The entries must tile the buffer exactly: no byte outside [0, data_len), no
// overlap, no gap, nothing left over, and each range exactly shape x dtype bytes long.
std::vector<size_t> check_layout(const Header& h, uint64_t data_len, const std::string& path) {
  const auto fail = [&](const std::string& what) {
    throw Error(fmt::format("safetensors: '{}': invalid header: {}", path, what));
  };
  for (const Entry& e : h.entries) {
    const std::string who = fmt::format("tensor {}", display(e.name));
    // Elements, and the span of the row-major strides (dims of 0 count as 1 there): both must fit
    // in int64 for ctorch to address the tensor.
    uint64_t span = 1;
    bool has_zero = false;
    for (int64_t d : e.shape) {
      has_zero = has_zero || d == 0;
      if (__builtin_mul_overflow(span, static_cast<uint64_t>(std::max<int64_t>(d, 1)), &span) ||
          span > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(fmt::format("{}: shape {} is too large (its size overflows 64 bits)", who, shape_str(e.shape)));
    }
    const uint64_t numel = has_zero ? 0 : span;
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(e.dtype->size), &nbytes))
      fail(fmt::format("{}: shape {} of {} is too large (its byte size overflows 64 bits)", who,
                       shape_str(e.shape), e.dtype->name));
    if (e.end < e.begin)
      fail(fmt::format("{}: data_offsets [{}, {}] end before they begin", who, e.begin, e.end));
    if (e.end > data_len)
      fail(fmt::format("{}: data_offsets [{}, {}] reach past the end of the data buffer, which holds {} bytes "
                       "(truncated file?)", who, e.begin, e.end, data_len));
    if (e.end - e.begin != nbytes)
      fail(fmt::format("{}: data_offsets [{}, {}] span {} bytes, but shape {} of {} needs {} bytes", who, e.begin,
                       e.end, e.end - e.begin, shape_str(e.shape), e.dtype->name, nbytes));
  }
  std::vector<size_t> order(h.entries.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Entry &x = h.entries[a], &y = h.entries[b];
    return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
  });
  uint64_t cursor = 0;
  const Entry* prev = nullptr;
  for (size_t i : order) {
    const Entry& e = h.entries[i];
    if (e.begin < cursor)
      fail(fmt::format("tensor {} with data_offsets [{}, {}] overlaps tensor {} with data_offsets [{}, {}]",
                       display(e.name), e.begin, e.end, display(prev->name), prev->begin, prev->end));
    if (e.begin > cursor)
      fail(fmt::format("bytes [{}, {}) of the data buffer belong to no tensor (a gap before tensor {})", cursor,
                       e.begin, display(e.name)));
    cursor = e.end;
    prev = &e;
  }
  if (cursor != data_len)
    fail(fmt::format("the tensors cover {} bytes but the data buffer holds {} ({} extra bytes at the end of the file)",
                     cursor, data_len, data_len - cursor));
  return order;
}

// ---------------------------------------------------------------------------------------------
// Reading

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void read_exact(int fd, void* dst, uint64_t count, uint64_t offset, const std::string& path) {
  auto* p = static_cast<char*>(dst);
  while (count > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(count, uint64_t{1} << 30));
    const ssize_t r = ::pread(fd, p, chunk, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("safetensors: '{}': read error at byte {}: {}", path, offset, errno_text(errno)));
    }
    if (r == 0)
      throw Error(fmt::format("safetensors: '{}': unexpected end of file at byte {} (did the file change while "
                              "being read?)", path, offset));
    p += r;
    count -= static_cast<uint64_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

// IEEE half -> float, exactly (every half is a float).
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));  // inf, nan (payload kept)
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
  const float sub = std::ldexp(static_cast<float>(mant), -24);  // zero or subnormal
  return sign ? -sub : sub;
}

template <class T>
T load_le(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

Tensor read_tensor(int fd, const Entry& e, uint64_t file_offset, const std::string& path) {
  const FileDtype& d = *e.dtype;
  Tensor t = empty(e.shape, d.loads_as);
  const uint64_t nbytes = e.end - e.begin;
  if (nbytes == 0) return t;
  const auto n = static_cast<size_t>(t.numel());
  if (is_native(d)) {
    read_exact(fd, t.raw_data(), nbytes, file_offset, path);
    if (d.loads_as == kBool) {
      // A bool byte other than 0 or 1 is not a bool: reject it instead of storing an invalid value.
      const auto* b = static_cast<const unsigned char*>(t.raw_data());
      for (size_t i = 0; i < n; ++i)
        if (b[i] > 1)
          throw Error(fmt::format("safetensors: '{}': tensor {} of dtype BOOL holds byte {} at element {} "
                                  "(only 0 and 1 are booleans)", path, display(e.name), b[i], i));
    }
    return t;
  }
  std::vector<unsigned char> raw(static_cast<size_t>(nbytes));
  read_exact(fd, raw.data(), nbytes, file_offset, path);
  const unsigned char* src = raw.data();
  const std::string_view name = d.name;
  if (d.loads_as == kFloat32) {
    auto* out = static_cast<float*>(t.raw_data());
    if (name == "F16")
      for (size_t i = 0; i < n; ++i) out[i] = half_to_float(load_le<uint16_t>(src + 2 * i));
    else  // BF16: the top half of a float
      for (size_t i = 0; i < n; ++i)
        out[i] = std::bit_cast<float>(static_cast<uint32_t>(load_le<uint16_t>(src + 2 * i)) << 16);
    return t;
  }
  auto* out = static_cast<int64_t*>(t.raw_data());
  const auto widen = [&]<class S>() {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<int64_t>(load_le<S>(src + sizeof(S) * i));
  };
  if (name == "I8") widen.operator()<int8_t>();
  else if (name == "U8") widen.operator()<uint8_t>();
  else if (name == "I16") widen.operator()<int16_t>();
  else if (name == "U16") widen.operator()<uint16_t>();
  else if (name == "I32") widen.operator()<int32_t>();
  else if (name == "U32") widen.operator()<uint32_t>();
  else if (name == "U64") {
    for (size_t i = 0; i < n; ++i) {
      const auto v = load_le<uint64_t>(src + 8 * i);
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw Error(fmt::format("safetensors: '{}': tensor {} of dtype U64 holds {} at element {}, which does not "
                                "fit in int64", path, display(e.name), v, i));
      out[i] = static_cast<int64_t>(v);
    }
  } else {
    throw Error(fmt::format("safetensors: '{}': tensor {}: no conversion for dtype {}", path, display(e.name), name));
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Writing

// A temporary file next to the target, renamed over it by commit(); removed if never committed.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path) : path_(path) {
    static std::atomic<uint64_t> counter{0};
    for (int attempt = 0;; ++attempt) {
      tmp_ = fmt::format("{}.tmp.{}.{}", path, static_cast<long>(::getpid()), counter++);
      fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) break;
      if (errno != EEXIST || attempt >= 100) fail(fmt::format("cannot create temporary file '{}'", tmp_), errno);
    }
    created_ = true;
  }
  ~AtomicFile() { abandon(); }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, uint64_t count) {
    const auto* p = static_cast<const char*>(data);
    while (count > 0) {
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(count, uint64_t{1} << 30));
      const ssize_t r = ::write(fd_, p, chunk);
      if (r < 0) {
        if (errno == EINTR) continue;
        fail(fmt::format("cannot write temporary file '{}'", tmp_), errno);
      }
      if (r == 0) fail(fmt::format("cannot write temporary file '{}'", tmp_), EIO);
      p += r;
      count -= static_cast<uint64_t>(r);
    }
  }

  void commit() {
    if (::fsync(fd_) != 0) fail(fmt::format("cannot fsync temporary file '{}'", tmp_), errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(fmt::format("cannot close temporary file '{}'", tmp_), errno);
    if (::rename(tmp_.c_str(), path_.c_str()) != 0)
      fail(fmt::format("cannot rename temporary file '{}' to it", tmp_), errno);
    created_ = false;
    // Make the rename itself durable. Best effort when the directory cannot be opened (no read
    // permission) or the file system does not sync directories (EINVAL); a real I/O error throws.
    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    const std::string dir = parent.empty() ? std::string(".") : parent.string();
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      const int rc = ::fsync(dfd);
      const int err = errno;
      ::close(dfd);
      if (rc != 0 && err != EINVAL)
        throw Error(fmt::format("safetensors: saved '{}' but cannot fsync its directory '{}': {}", path_, dir,
                                errno_text(err)));
    }
  }

 private:
  void abandon() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (created_) ::unlink(tmp_.c_str());
    created_ = false;
  }
  [[noreturn]] void fail(const std::string& what, int err) {
    abandon();
    throw Error(fmt::format("safetensors: cannot save '{}': {}: {}", path_, what, errno_text(err)));
  }

  std::string path_, tmp_;
  int fd_ = -1;
  bool created_ = false;
};

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const auto fail = [&](const std::string& what) {
    throw Error(fmt::format("safetensors: cannot save '{}': {}", path, what));
  };
  if (path.empty()) fail("the path is empty");

  // Check everything before touching the file system.
  struct Item {
    const std::string* name;
    const Tensor* tensor;
    const FileDtype* dtype;
    uint64_t nbytes;
  };
  std::vector<Item> items;
  items.reserve(tensors.size());
  std::unordered_set<std::string_view> names;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    if (name.empty()) fail(fmt::format("tensor #{} has an empty name", i));
    if (!is_valid_utf8(name)) fail(fmt::format("tensor #{} has a name that is not valid UTF-8: {}", i, display(name)));
    if (name == kMetadataKey) fail(fmt::format("tensor #{} is named \"__metadata__\", a reserved key", i));
    if (!names.insert(name).second) fail(fmt::format("duplicate tensor name {} (tensor #{})", display(name), i));
    if (!t.defined()) fail(fmt::format("tensor #{} ({}) is undefined", i, display(name)));
    const FileDtype& d = file_dtype_of(t.dtype());
    items.push_back({&name, &t, &d, static_cast<uint64_t>(t.numel()) * d.size});
  }
  for (const auto& [k, v] : metadata) {
    if (!is_valid_utf8(k)) fail(fmt::format("metadata key {} is not valid UTF-8", display(k)));
    if (!is_valid_utf8(v)) fail(fmt::format("the value of metadata key {} is not valid UTF-8", display(k)));
  }

  // The reference layout: decreasing dtype alignment, then name.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.dtype->rank != b.dtype->rank ? a.dtype->rank > b.dtype->rank : *a.name < *b.name;
  });

  std::string header = "{";
  if (!metadata.empty()) {
    append_json_string(header, kMetadataKey);
    header += ":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) header += ',';
      first = false;
      append_json_string(header, k);
      header += ':';
      append_json_string(header, v);
    }
    header += '}';
  }
  uint64_t offset = 0;
  for (const Item& it : items) {
    if (header.size() > 1) header += ',';
    append_json_string(header, *it.name);
    header += fmt::format(":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", it.dtype->name,
                          fmt::join(it.tensor->sizes(), ","), offset, offset + it.nbytes);
    offset += it.nbytes;
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  if (header.size() > kMaxHeaderBytes)
    fail(fmt::format("the header would be {} bytes, over the {} byte limit of safetensors readers", header.size(),
                     kMaxHeaderBytes));

  AtomicFile file(path);
  unsigned char len[8];
  const uint64_t n = header.size();
  std::memcpy(len, &n, 8);
  file.write(len, 8);
  file.write(header.data(), header.size());
  for (const Item& it : items) {
    if (it.nbytes == 0) continue;
    // By value: no autograd history, row-major.
    const Tensor c = it.tensor->detach().contiguous();
    file.write(c.raw_data(), it.nbytes);
  }
  file.commit();
}

NamedTensors load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw Error(fmt::format("safetensors: cannot open '{}': {}", path, errno_text(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw Error(fmt::format("safetensors: cannot stat '{}': {}", path, errno_text(errno)));
  if (!S_ISREG(st.st_mode)) throw Error(fmt::format("safetensors: '{}' is not a regular file", path));
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8)
    throw Error(fmt::format("safetensors: '{}': file is {} bytes, too short to hold the 8-byte header length "
                            "(truncated file?)", path, file_size));

  unsigned char len[8];
  read_exact(fd.get(), len, 8, 0, path);
  uint64_t n = 0;
  std::memcpy(&n, len, 8);
  if (n > kMaxHeaderBytes)
    throw Error(fmt::format("safetensors: '{}': header length {} exceeds the limit of {} bytes (corrupt file?)", path,
                            n, kMaxHeaderBytes));
  if (n > file_size - 8)
    throw Error(fmt::format("safetensors: '{}': header length {} exceeds the {} bytes that follow it in the file "
                            "(truncated or corrupt file?)", path, n, file_size - 8));

  std::string text(static_cast<size_t>(n), '\0');
  read_exact(fd.get(), text.data(), n, 8, path);
  Header h = HeaderParser(text, path).parse();
  const uint64_t data_start = 8 + n;
  const std::vector<size_t> order = check_layout(h, file_size - data_start, path);

  NamedTensors out;
  out.reserve(order.size());
  for (size_t i : order) {
    Entry& e = h.entries[i];
    Tensor t = read_tensor(fd.get(), e, data_start + e.begin, path);
    out.emplace_back(std::move(e.name), std::move(t));
  }
  if (metadata != nullptr) *metadata = std::move(h.metadata);
  return out;
}

}  // namespace ctorch
