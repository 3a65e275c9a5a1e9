#pragma once
// torch.optim: #include <ctorch/optim/optim.hpp> brings every optimizer and scheduler.
#include "adagrad.hpp"
#include "adam.hpp"
#include "adamw.hpp"
#include "lr_scheduler.hpp"
#include "optimizer.hpp"
#include "rmsprop.hpp"
#include "sgd.hpp"
