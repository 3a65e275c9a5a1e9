"""
PyTorch's tutorial "What is torch.nn really?" (Jeremy Howard, fast.ai), run on FashionMNIST: the
PyTorch original of examples/nn_really.cpp.

The tutorial's code, step by step, with three changes: the data are FashionMNIST's IDX files read
with gzip + numpy (no torchvision in Debian) and split as the tutorial's MNIST pickle is (the first
50000 training images for training, the last 10000 for validation, flattened to 784 floats in
[0, 1]); every step starts with torch.manual_seed(0), so each step can be run alone and both
programs draw the same initial weights and the same shuffles; and the CNN steps end with the
model's accuracy on the validation set and on the 10000 test images. The tutorial's last section
(moving to a GPU) is left out: both run on the CPU.

Run: /usr/bin/python3 examples/reference/nn_really.py [--step NAME[,NAME...]] [--epochs N] [--data DIR]
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch import optim
from torch.utils.data import DataLoader, TensorDataset

STEPS = ["data", "scratch", "module", "linear", "optim", "dataset", "dataloader", "validation", "fit", "cnn",
         "sequential", "wrapped"]

bs = 64  # batch size
lr = 0.5  # learning rate
epochs = 2  # how many epochs to train for (--epochs)


# ---- MNIST data setup, on FashionMNIST ----
def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(root, prefix):
    images = read_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"))
    x = images.reshape(-1, 28 * 28).astype(np.float32) / 255.0
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


def step_data():
    print(x_train, y_train)
    print(x_train.shape)
    print(y_train.min(), y_train.max())


# ---- Neural net from scratch (without torch.nn) ----
def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


def step_scratch():
    torch.manual_seed(0)
    weights = torch.randn(784, 10) / math.sqrt(784)
    weights.requires_grad_()
    bias = torch.zeros(10, requires_grad=True)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    xb = x_train[0:bs]  # a mini-batch from x
    preds = model(xb)  # predictions
    print(preds[0], preds.shape)

    loss_func = nll
    yb = y_train[0:bs]
    print(loss_func(preds, yb))
    print(accuracy(preds, yb))

    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
    print(loss_func(model(xb), yb), accuracy(model(xb), yb))

    # ---- Using torch.nn.functional: the same weights, F.cross_entropy, no log_softmax ----
    loss_func = F.cross_entropy

    def model(xb):
        return xb @ weights + bias

    print(loss_func(model(xb), yb), accuracy(model(xb), yb))


# ---- Refactor using nn.Module ----
loss_func = F.cross_entropy


def last_batch():
    """The tutorial's xb, yb: still the last mini-batch of the training loop above."""
    start = ((n - 1) // bs) * bs
    return x_train[start:], y_train[start:]


class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
        self.bias = nn.Parameter(torch.zeros(10))

    def forward(self, xb):
        return xb @ self.weights + self.bias


def fit_by_hand(model):  # the tutorial's first fit(): the loop above, with model.parameters()
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= p.grad * lr
                model.zero_grad()


def step_module():
    torch.manual_seed(0)
    xb, yb = last_batch()
    model = Mnist_Logistic()
    print(loss_func(model(xb), yb))
    fit_by_hand(model)
    print(loss_func(model(xb), yb))


# ---- Refactor using nn.Linear ----
class Mnist_Logistic_Linear(nn.Module):  # the tutorial redefines Mnist_Logistic
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, xb):
        return self.lin(xb)


def step_linear():
    torch.manual_seed(0)
    xb, yb = last_batch()
    model = Mnist_Logistic_Linear()
    print(loss_func(model(xb), yb))
    fit_by_hand(model)
    print(loss_func(model(xb), yb))


# ---- Refactor using torch.optim ----
def get_model():
    model = Mnist_Logistic_Linear()
    return model, optim.SGD(model.parameters(), lr=lr)


def step_optim():
    torch.manual_seed(0)
    xb, yb = last_batch()
    model, opt = get_model()
    print(loss_func(model(xb), yb))

    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

    print(loss_func(model(xb), yb))


# ---- Refactor using Dataset ----
def step_dataset():
    torch.manual_seed(0)
    train_ds = TensorDataset(x_train, y_train)
    model, opt = get_model()

    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            xb, yb = train_ds[i * bs: i * bs + bs]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

    print(loss_func(model(xb), yb))


# ---- Refactor using DataLoader ----
def step_dataloader():
    torch.manual_seed(0)
    train_ds = TensorDataset(x_train, y_train)
    train_dl = DataLoader(train_ds, batch_size=bs)
    model, opt = get_model()

    for epoch in range(epochs):
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

    print(loss_func(model(xb), yb))


# ---- Add validation ----
def step_validation():
    torch.manual_seed(0)
    train_ds = TensorDataset(x_train, y_train)
    train_dl = DataLoader(train_ds, batch_size=bs, shuffle=True)

    valid_ds = TensorDataset(x_valid, y_valid)
    valid_dl = DataLoader(valid_ds, batch_size=bs * 2)

    model, opt = get_model()

    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

        model.eval()
        with torch.no_grad():
            valid_loss = sum(loss_func(model(xb), yb) for xb, yb in valid_dl)

        print(epoch, valid_loss / len(valid_dl))


# ---- Create fit() and get_data() ----
def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)

        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)

        print(epoch, val_loss)


def get_data(train_ds, valid_ds, bs):
    return (
        DataLoader(train_ds, batch_size=bs, shuffle=True),
        DataLoader(valid_ds, batch_size=bs * 2),
    )


def datasets():
    return TensorDataset(x_train, y_train), TensorDataset(x_valid, y_valid)


def step_fit():
    torch.manual_seed(0)
    train_ds, valid_ds = datasets()
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    model, opt = get_model()
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)


# ---- Switch to CNN ----
class Mnist_CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

    def forward(self, xb):
        xb = xb.view(-1, 1, 28, 28)
        xb = F.relu(self.conv1(xb))
        xb = F.relu(self.conv2(xb))
        xb = F.relu(self.conv3(xb))
        xb = F.avg_pool2d(xb, 4)
        return xb.view(-1, xb.size(1))


cnn_lr = 0.1  # the tutorial's `lr = 0.1` for the CNNs
test_accuracies = {}


def report_accuracy(name, model, valid_dl, test_dl):
    """Not in the tutorial: the CNN's accuracy on the validation set and on the test set."""
    model.eval()
    with torch.no_grad():
        acc = []
        for dl in (valid_dl, test_dl):
            correct, total = 0, 0
            for xb, yb in dl:
                correct += (model(xb).argmax(1) == yb).sum().item()
                total += len(yb)
            acc.append(100 * correct / total)
    test_accuracies[name] = acc[1]
    print(f"Accuracy: validation {acc[0]:.2f}%, test {acc[1]:.2f}%")


def test_loader():
    return DataLoader(TensorDataset(x_test, y_test), batch_size=bs * 2)


def step_cnn():
    torch.manual_seed(0)
    train_ds, valid_ds = datasets()
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    model = Mnist_CNN()
    opt = optim.SGD(model.parameters(), lr=cnn_lr, momentum=0.9)

    fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    report_accuracy("cnn", model, valid_dl, test_loader())


# ---- Using nn.Sequential ----
class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def preprocess(x):
    return x.view(-1, 1, 28, 28)


def step_sequential():
    torch.manual_seed(0)
    train_ds, valid_ds = datasets()
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    model = nn.Sequential(
        Lambda(preprocess),
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(4),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )

    opt = optim.SGD(model.parameters(), lr=cnn_lr, momentum=0.9)

    fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    report_accuracy("sequential", model, valid_dl, test_loader())


# ---- Wrapping DataLoader ----
def preprocess_xy(x, y):  # the tutorial redefines preprocess
    return x.view(-1, 1, 28, 28), y


class WrappedDataLoader:
    def __init__(self, dl, func):
        self.dl = dl
        self.func = func

    def __len__(self):
        return len(self.dl)

    def __iter__(self):
        for b in self.dl:
            yield (self.func(*b))


def step_wrapped():
    torch.manual_seed(0)
    train_ds, valid_ds = datasets()
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    train_dl = WrappedDataLoader(train_dl, preprocess_xy)
    valid_dl = WrappedDataLoader(valid_dl, preprocess_xy)

    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )

    opt = optim.SGD(model.parameters(), lr=cnn_lr, momentum=0.9)

    fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    report_accuracy("wrapped", model, valid_dl, WrappedDataLoader(test_loader(), preprocess_xy))


def main():
    global epochs, x_train, y_train, x_valid, y_valid, x_test, y_test, n
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.environ.get("CTORCH_DATA") or "/usr/share/datasets/fashion-mnist",
                   help="FashionMNIST IDX files")
    p.add_argument("--epochs", type=int, default=2, help="epochs of every training step (default 2)")
    p.add_argument("--step", default="all", help="comma-separated steps to run: " + ", ".join(STEPS) + " (default all)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's own)")
    args = p.parse_args()
    if not 1 <= args.epochs <= 100:
        p.error(f"bad value '{args.epochs}' for --epochs (expected 1..100)")
    steps = STEPS if args.step == "all" else args.step.split(",")
    for s in steps:
        if s not in STEPS:
            p.error(f"unknown step '{s}' (expected one of {', '.join(STEPS)} or all)")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    epochs = args.epochs

    x_all, y_all = load(args.data, "train")
    x_train, y_train = x_all[:50000], y_all[:50000]
    x_valid, y_valid = x_all[50000:], y_all[50000:]
    x_test, y_test = load(args.data, "t10k")
    n, c = x_train.shape

    titles = {
        "data": "MNIST data setup (FashionMNIST)",
        "scratch": "Neural net from scratch (no torch.nn), then torch.nn.functional",
        "module": "Refactor using nn.Module",
        "linear": "Refactor using nn.Linear",
        "optim": "Refactor using torch.optim",
        "dataset": "Refactor using Dataset",
        "dataloader": "Refactor using DataLoader",
        "validation": "Add validation",
        "fit": "Create fit() and get_data()",
        "cnn": "Switch to CNN",
        "sequential": "Using nn.Sequential",
        "wrapped": "Wrapping DataLoader",
    }
    for s in STEPS:
        if s not in steps:
            continue
        print(f"== {s}: {titles[s]} ==")
        start = time.perf_counter()
        globals()["step_" + s]()
        print(f"[{s}: {time.perf_counter() - start:.1f} s]", file=sys.stderr)
    for name, acc in test_accuracies.items():
        print(f"Test accuracy of the CNN ({name}): {acc:.2f}%")


if __name__ == "__main__":
    main()
