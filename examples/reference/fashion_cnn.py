"""
A small CNN on FashionMNIST, past 90% test accuracy in a few epochs: the PyTorch twin of
examples/fashion_cnn.cpp.

  Conv2d(1, 32, 3, padding=1) -> ReLU -> MaxPool2d(2)      [N, 32, 14, 14]
  Conv2d(32, 64, 3, padding=1) -> ReLU -> MaxPool2d(2)     [N, 64, 7, 7]
  Flatten -> Linear(3136, 128) -> ReLU -> Linear(128, 10)

trained on the 60000 training images with CrossEntropyLoss and SGD with momentum 0.9 (or Adam),
batch 64, shuffled, and evaluated on the 10000 test images after every epoch. Same seed, same
initial weights and the same batches as the C++ program. The IDX files are read with gzip + numpy
(no torchvision in Debian), scaled like ToTensor().

Run: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 examples/reference/fashion_cnn.py --threads 1 [--epochs 5]
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist(root, train):
    prefix = "train" if train else "t10k"
    images = read_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # ToTensor()
    return TensorDataset(x, torch.from_numpy(labels.astype(np.int64)))


def train(loader, model, loss_fn, optimizer):
    """One pass over the training data; returns the mean training loss."""
    model.train()
    loss_sum, seen = 0.0, 0
    for X, y in loader:
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)  # ctorch's default (and torch 2.x's)
        loss_sum += loss.item() * len(X)
        seen += len(X)
    return loss_sum / seen


def test(loader, model, loss_fn):
    """Mean loss per batch (as the Quickstart's test loop) and accuracy in percent."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for X, y in loader:
            pred = model(X)
            loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).sum().item()
    return loss / len(loader), 100 * correct / len(loader.dataset)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--lr", type=float, default=None, help="default 0.05 for sgd, 1e-3 for adam")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's own)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=os.environ.get("CTORCH_DATA") or "/usr/share/datasets/fashion-mnist")
    args = p.parse_args()
    if args.epochs < 1 or args.batch_size < 1 or (args.lr is not None and not args.lr > 0):
        p.error("--epochs, --batch-size and --lr must be positive")
    lr = args.lr if args.lr is not None else (0.05 if args.optimizer == "sgd" else 1e-3)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    torch.manual_seed(args.seed)
    training_data = fashion_mnist(args.data, True)
    test_data = fashion_mnist(args.data, False)
    train_loader = DataLoader(training_data, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_data, batch_size=1000)

    model = nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    print(model)

    loss_fn = nn.CrossEntropyLoss()
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    print(f"{'SGD momentum 0.9' if args.optimizer == 'sgd' else 'Adam'}, lr {lr}, batch {args.batch_size}, "
          f"{args.epochs} epochs, {torch.get_num_threads()} threads")

    total, accuracy = 0.0, 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        train_loss = train(train_loader, model, loss_fn, optimizer)
        secs = time.perf_counter() - start
        total += secs
        test_loss, accuracy = test(test_loader, model, loss_fn)
        print(f"Epoch {epoch}/{args.epochs}: train loss {train_loss:.6f}, test loss {test_loss:.6f}, "
              f"test accuracy {accuracy:.2f}% ({secs:.1f} s)", flush=True)
    print(f"Test accuracy: {accuracy:.2f}% after {args.epochs} epochs; {total / args.epochs:.1f} s per training epoch")


if __name__ == "__main__":
    main()
