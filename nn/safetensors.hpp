#pragma once
// Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
//
//   8 bytes      N, little-endian u64: the length of the header
//   N bytes      a UTF-8 JSON object {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}, ...,
//                "__metadata__": {"key": "value", ...}}, padded with spaces to a multiple of 8 bytes
//   the rest     the byte buffer; [b, e) is relative to its start, little-endian, row-major
//
//   ctorch::save_safetensors("model.safetensors", {{"weight", w}, {"bias", b}}, {{"format", "pt"}});
//   auto tensors = ctorch::load_safetensors("model.safetensors");
//
// dtypes: F32, F64, I64 and BOOL are read and written as themselves. Loading also accepts F16 and
// BF16 (converted exactly to float32) and I8, U8, I16, U16, I32, U32, U64 (converted exactly to
// int64; a U64 value above INT64_MAX is an error). Other dtypes (F8_*, C64, ...) are rejected by name.
//
// Every failure throws ctorch::Error whose message starts with "safetensors:" and names the file.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ctorch/core/tensor.hpp"

namespace ctorch {

// Named tensors in a chosen order (a list, not a map: the caller decides the order).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes `tensors` (and the optional string-to-string `metadata`) to `path`.
// - Names must be non-empty, valid UTF-8, unique, and not the reserved "__metadata__".
// - Tensors are written by value: non-contiguous ones in row-major order, ones that require grad
//   detached. As the reference implementation does, the data is laid out (and listed in the header)
//   by decreasing dtype alignment, then by name, so equal inputs give byte-identical files.
// - Atomic: the file is written to a temporary next to `path`, fsync'ed, renamed over `path`, and
//   the directory is fsync'ed. On failure the temporary is removed and an existing file at `path` is
//   left untouched.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads every tensor of `path`, in the order of their data in the file (for files written by
// save_safetensors: decreasing dtype alignment, then name). When `metadata` is given it receives
// the "__metadata__" map (cleared first; empty when the file has none). The whole header is
// validated before any tensor is allocated: the header length (at most 100 MB and within the
// file), strict JSON, dtypes, shapes (at most 8 dims, no overflow), and that the data_offsets tile
// the byte buffer exactly (in range, no overlap, no gap, sizes matching shape x dtype). The header
// may list the tensors in any order (as in the reference reader). Stricter than the reference:
// unknown keys in a tensor entry, empty tensor names and BOOL bytes other than 0/1 are errors.
NamedTensors load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

}  // namespace ctorch
