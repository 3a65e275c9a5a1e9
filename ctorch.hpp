#pragma once
// ctorch: a small C++ deep-learning library that reads like PyTorch.
// This umbrella header is all a training script needs: #include <ctorch/ctorch.hpp>
#include "ctorch/core/dtype.hpp"
#include "ctorch/core/factories.hpp"
#include "ctorch/core/format.hpp"
#include "ctorch/core/generator.hpp"
#include "ctorch/core/storage.hpp"
#include "ctorch/core/tensor.hpp"
#include "ctorch/core/threads.hpp"

#include "ctorch/autograd/engine.hpp"
#include "ctorch/autograd/function.hpp"
#include "ctorch/autograd/grad_mode.hpp"
#include "ctorch/autograd/gradcheck.hpp"
#include "ctorch/autograd/node.hpp"

#include "ctorch/ops/activation.hpp"
#include "ctorch/ops/elementwise.hpp"
#include "ctorch/ops/indexing.hpp"
#include "ctorch/ops/linalg.hpp"
#include "ctorch/ops/reduction.hpp"
#include "ctorch/ops/shape.hpp"

#include "ctorch/nn/clip_grad.hpp"
#include "ctorch/nn/container.hpp"
#include "ctorch/nn/functional.hpp"
#include "ctorch/nn/init.hpp"
#include "ctorch/nn/layers.hpp"
#include "ctorch/nn/loss.hpp"
#include "ctorch/nn/module.hpp"
#include "ctorch/nn/safetensors.hpp"

#include "ctorch/data/csv.hpp"
#include "ctorch/data/dataloader.hpp"
#include "ctorch/data/dataset.hpp"
#include "ctorch/data/fashion_mnist.hpp"
#include "ctorch/data/idx.hpp"

#include "ctorch/optim/optim.hpp"
#include "ctorch/ops/conv.hpp"
#include "ctorch/nn/conv.hpp"
