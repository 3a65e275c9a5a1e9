#include "fashion_mnist.hpp"

#include <cstdlib>
#include <filesystem>

#include "../core/error.hpp"
#include "idx.hpp"

namespace ctorch::data {

namespace {

TensorDataset load(const std::string& root, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_path = FashionMNIST::find_file(root, prefix + "-images-idx3-ubyte");
  const std::string labels_path = FashionMNIST::find_file(root, prefix + "-labels-idx1-ubyte");
  Tensor images = read_idx_images(images_path);
  Tensor labels = read_idx_labels(labels_path);
  CTORCH_CHECK(images.size(0) == labels.size(0), "FashionMNIST: {} has {} images but {} has {} labels", images_path,
               images.size(0), labels_path, labels.size(0));
  if (labels.numel() > 0) {
    const int64_t* l = labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < labels.numel(); ++i)
      CTORCH_CHECK(l[i] >= 0 && l[i] < 10, "FashionMNIST: {}: label {} of entry {} is not a class index 0..9",
                   labels_path, l[i], i);
  }
  return TensorDataset(std::move(images), std::move(labels));
}

}  // namespace

const std::array<std::string, 10> FashionMNIST::classes = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

FashionMNIST::FashionMNIST(const std::string& root, bool train) : TensorDataset(load(root, train)) {}

std::string FashionMNIST::default_root() {
  const char* env = std::getenv("CTORCH_DATA");
  return env && *env ? std::string(env) : std::string("/usr/share/datasets/fashion-mnist");
}

std::string FashionMNIST::find_file(const std::string& root, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path base(root);
  for (const fs::path& dir : {base, base / "FashionMNIST" / "raw"})
    for (const std::string& file : {name + ".gz", name}) {
      std::error_code ec;
      if (fs::is_regular_file(dir / file, ec)) return (dir / file).string();
    }
  return (base / (name + ".gz")).string();
}

}  // namespace ctorch::data
