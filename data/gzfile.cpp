#include "gzfile.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "../core/error.hpp"

namespace ctorch::data::detail {

namespace {

gzFile gz(void* f) { return static_cast<gzFile>(f); }

// zlib's message for the last error, without the "path: " prefix zlib puts on it.
std::string gz_message(void* f, const std::string& path) {
  int err = 0;
  std::string msg = gzerror(gz(f), &err);
  if (err == Z_ERRNO) return std::strerror(errno);
  if (msg.starts_with(path + ": ")) msg.erase(0, path.size() + 2);
  return msg;
}

}  // namespace

GzFile::GzFile(const std::string& path, const std::string& hint) : path_(path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  CTORCH_CHECK(std::filesystem::exists(status), "{}: no such file{}{}", path, hint.empty() ? "" : "; ", hint);
  CTORCH_CHECK(!std::filesystem::is_directory(status), "{}: is a directory, not a file", path);
  errno = 0;
  file_ = gzopen(path.c_str(), "rb");
  CTORCH_CHECK(file_ != nullptr, "{}: cannot open: {}", path, errno ? std::strerror(errno) : "out of memory");
  gzbuffer(gz(file_), 1 << 17);
}

GzFile::~GzFile() {
  if (file_) gzclose_r(gz(file_));
}

size_t GzFile::read(void* dst, size_t n) {
  auto* out = static_cast<unsigned char*>(dst);
  size_t total = 0;
  while (total < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
    const int got = gzread(gz(file_), out + total, chunk);
    if (got < 0)
      throw Error(fmt::format("{}: corrupt or truncated data after {} bytes: {}", path_, offset_ + total,
                              gz_message(file_, path_)));
    if (got == 0) break;
    total += static_cast<size_t>(got);
  }
  offset_ += total;
  if (total < n) {  // end of data: a gzip stream that stops early reports Z_BUF_ERROR here
    int err = 0;
    gzerror(gz(file_), &err);
    CTORCH_CHECK(err == Z_OK, "{}: corrupt or truncated gzip data after {} bytes: {}", path_, offset_,
                 gz_message(file_, path_));
  }
  return total;
}

std::string GzFile::read_all() {
  std::string s;
  size_t used = 0;
  for (;;) {
    s.resize(used + (1 << 16));
    const size_t got = read(s.data() + used, s.size() - used);
    used += got;
    if (used < s.size()) break;
  }
  s.resize(used);
  return s;
}

}  // namespace ctorch::data::detail
