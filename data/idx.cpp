#include "idx.hpp"

#include <algorithm>

#include "../core/error.hpp"
#include "../core/factories.hpp"
#include "gzfile.hpp"

namespace ctorch::data {

namespace {

std::string type_name(uint8_t t) {
  switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

}  // namespace

IdxFile read_idx(const std::string& path, int expected_ndim) {
  detail::GzFile f(path, kDataHint);
  uint8_t magic[4];
  const size_t got = f.read(magic, 4);
  CTORCH_CHECK(got == 4, "{}: truncated IDX file: {} of the 4 header bytes", path, got);
  CTORCH_CHECK(magic[0] == 0 && magic[1] == 0,
               "{}: not an IDX file: bad magic number 0x{:02X}{:02X}{:02X}{:02X} (expected 0x0000 followed by type and "
               "ndim)", path, magic[0], magic[1], magic[2], magic[3]);
  CTORCH_CHECK(magic[2] == 0x08, "{}: IDX data type 0x{:02X} ({}) is not supported; expected 0x08 (unsigned byte)",
               path, magic[2], type_name(magic[2]));
  const int ndim = magic[3];
  CTORCH_CHECK(expected_ndim < 0 || ndim == expected_ndim, "{}: IDX file has {} dimension(s), expected {}", path, ndim,
               expected_ndim);
  CTORCH_CHECK(ndim >= 1, "{}: IDX file has 0 dimensions", path);

  IdxFile out;
  uint64_t total = 1;
  constexpr uint64_t kMaxBytes = uint64_t{1} << 48;  // keeps the product from overflowing
  for (int d = 0; d < ndim; ++d) {
    uint8_t b[4];
    const size_t n = f.read(b, 4);
    CTORCH_CHECK(n == 4, "{}: truncated IDX header: the size of dimension {} of {} is missing", path, d, ndim);
    const uint64_t size = uint64_t{b[0]} << 24 | uint64_t{b[1]} << 16 | uint64_t{b[2]} << 8 | b[3];
    out.sizes.push_back(static_cast<int64_t>(size));
    CTORCH_CHECK(size == 0 || total <= kMaxBytes / size, "{}: IDX sizes [{}...] promise an implausible amount of data",
                 path, fmt::join(out.sizes, ", "));
    total *= size;
  }
  // Read in chunks rather than allocating `total` up front: a header that lies about the sizes
  // then costs no more memory than the file really holds.
  constexpr size_t kChunk = size_t{1} << 24;
  size_t have = 0;
  while (have < total) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(total - have, kChunk));
    out.data.resize(have + want);
    const size_t n = f.read(out.data.data() + have, want);
    have += n;
    CTORCH_CHECK(n == want, "{}: truncated IDX file: sizes [{}] promise {} bytes of data, the file has only {}", path,
                 fmt::join(out.sizes, ", "), total, have);
  }
  uint8_t extra;
  CTORCH_CHECK(f.read(&extra, 1) == 0, "{}: IDX file has more data than its sizes [{}] promise ({} bytes)", path,
               fmt::join(out.sizes, ", "), total);
  return out;
}

Tensor read_idx_images(const std::string& path) {
  const IdxFile f = read_idx(path, 3);
  Tensor t = empty({f.sizes[0], 1, f.sizes[1], f.sizes[2]}, kFloat32);
  float* p = t.data_ptr<float>();
  // torchvision: ByteTensor.to(float32).div(255), a float32 division per pixel
  std::transform(f.data.begin(), f.data.end(), p, [](uint8_t v) { return static_cast<float>(v) / 255.0f; });
  return t;
}

Tensor read_idx_labels(const std::string& path) {
  const IdxFile f = read_idx(path, 1);
  Tensor t = empty({f.sizes[0]}, kInt64);
  std::copy(f.data.begin(), f.data.end(), t.data_ptr<int64_t>());
  return t;
}

}  // namespace ctorch::data
