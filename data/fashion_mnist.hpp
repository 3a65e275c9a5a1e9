#pragma once
// Fashion-MNIST (Xiao et al. 2017): 28x28 grey images of 10 kinds of clothing, 60000 for training
// and 10000 for testing, like torchvision.datasets.FashionMNIST with transform=ToTensor():
//   data    float32 [N, 1, 28, 28] in [0, 1]
//   targets int64 [N], class indices into FashionMNIST::classes
// The files are the four IDX files of the original distribution, gzip-compressed or not, e.g. from
// the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
#include <array>
#include <string>

#include "dataset.hpp"

namespace ctorch::data {

class FashionMNIST : public TensorDataset {
 public:
  // Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] from root (or from root/FashionMNIST/raw,
  // torchvision's layout). Throws ctorch::Error if a file is missing (saying how to get it) or bad.
  explicit FashionMNIST(const std::string& root = default_root(), bool train = true);

  static const std::array<std::string, 10> classes;
  // $CTORCH_DATA if set and non-empty, else /usr/share/datasets/fashion-mnist.
  static std::string default_root();
  // The path read for one file: root/name.gz, root/name, then the same under FashionMNIST/raw;
  // root/name.gz when none exists.
  static std::string find_file(const std::string& root, const std::string& name);
};

}  // namespace ctorch::data
