#pragma once
// IDX files, the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), plain or
// gzip-compressed (read through zlib either way). Only unsigned-byte data (type 0x08) is read.
// Layout: magic 0x00 0x00 <type> <ndim>, then ndim big-endian uint32 sizes, then exactly
// prod(sizes) bytes, row-major. Anything else (missing file, bad magic, other type, a payload
// shorter or longer than the sizes promise, corrupt gzip) throws ctorch::Error naming the path.
#include <cstdint>
#include <string>
#include <vector>

#include "../core/tensor.hpp"

namespace ctorch::data {

struct IdxFile {
  std::vector<int64_t> sizes;
  std::vector<uint8_t> data;  // prod(sizes) bytes
};

// Reads any unsigned-byte IDX file; expected_ndim >= 0 also checks the number of dimensions.
IdxFile read_idx(const std::string& path, int expected_ndim = -1);

// Images (ndim 3: N, rows, cols) as float32 [N, 1, rows, cols] in [0, 1]: byte / 255, like
// torchvision's ToTensor.
Tensor read_idx_images(const std::string& path);

// Labels (ndim 1: N) as int64 [N].
Tensor read_idx_labels(const std::string& path);

// Appended to the message for a missing file.
inline constexpr const char* kDataHint =
    "to get the Fashion-MNIST files, install the Debian package dataset-fashion-mnist, or pass --data DIR / set "
    "CTORCH_DATA to a directory holding them";

}  // namespace ctorch::data
