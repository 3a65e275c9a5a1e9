#!/usr/bin/env python3
"""PyTorch's Quickstart tutorial on FashionMNIST: the PyTorch twin of examples/quickstart.cpp.

Same recipe (Flatten -> Linear(784, 512) -> ReLU -> Linear(512, 512) -> ReLU -> Linear(512, 10),
CrossEntropyLoss, SGD lr 1e-3 or Adam, batch 64, shuffled), same seed, same prints. torchvision is
not needed: the IDX files are read with gzip + numpy, scaled like ToTensor().

    /usr/bin/python3 bench/quickstart.py [--epochs 5] [--optimizer sgd|adam] [--threads 1] [--seed 0]
"""
import argparse
import gzip
import os
import resource
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


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)  # ctorch's default (and torch 2.x's); 1.13's is False
        if batch % 100 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return 100 * correct, test_loss


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=os.environ.get("CTORCH_DATA") or "/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    torch.set_num_threads(a.threads)  # note: OPENBLAS_NUM_THREADS governs torch's BLAS calls
    torch.manual_seed(a.seed)
    training_data, test_data = fashion_mnist(a.data, True), fashion_mnist(a.data, False)
    train_dataloader = DataLoader(training_data, batch_size=a.batch_size, shuffle=True)
    test_dataloader = DataLoader(test_data, batch_size=a.batch_size)
    model = NeuralNetwork()
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    if a.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=a.lr)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)
    secs = []
    for t in range(a.epochs):
        print(f"Epoch {t+1}\n-------------------------------")
        start = time.perf_counter()
        train(train_dataloader, model, loss_fn, optimizer)
        secs.append(time.perf_counter() - start)
        test(test_dataloader, model, loss_fn)
    print("Done!")
    per_epoch = sum(secs) / len(secs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Summary: {a.epochs} epochs, {per_epoch:.2f} s per training epoch, "
          f"{len(training_data) / per_epoch:.0f} samples/s, peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
