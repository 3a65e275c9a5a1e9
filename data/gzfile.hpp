#pragma once
// Internal: reading a file through zlib's gz* functions, which read gzip-compressed and plain
// files alike. Errors (missing file, corrupt or truncated gzip stream) throw ctorch::Error naming
// the path.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ctorch::data::detail {

class GzFile {
 public:
  // `hint` is appended to the message when the file does not exist.
  explicit GzFile(const std::string& path, const std::string& hint = {});
  ~GzFile();
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to n bytes; fewer only at the end of the data. Throws on a read error.
  size_t read(void* dst, size_t n);
  std::string read_all();  // the rest of the (decompressed) data
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* file_ = nullptr;  // gzFile
  uint64_t offset_ = 0;   // bytes (decompressed) read so far
};

}  // namespace ctorch::data::detail
