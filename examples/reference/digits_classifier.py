"""
A small classifier on scikit-learn's handwritten digits -- the PyTorch original of
examples/digits_classifier.cpp.

The data set is the 1797 8x8 images (pixel values 0..16) that Debian's python3-sklearn ships as
sklearn/datasets/data/digits.csv.gz: 64 pixel columns and the label, no header. It is read with
gzip + numpy (no scikit-learn code), the pixels scaled to [0, 1], split 80/20 by a seeded
randperm, and an MLP 64 -> 64 -> ReLU -> 10 is trained with CrossEntropyLoss and Adam (lr 1e-3,
batch 32, shuffled) for 30 epochs, in the style of PyTorch's Quickstart tutorial.

Run: /usr/bin/python3 examples/reference/digits_classifier.py [path/to/digits.csv.gz]
"""
import gzip
import sys

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

DIGITS = sys.argv[1] if len(sys.argv) > 1 else "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"

torch.manual_seed(0)

# The data: [1797, 65] float64, pixels then label.
with gzip.open(DIGITS, "rt") as f:
    table = torch.from_numpy(np.loadtxt(f, delimiter=","))
X = (table[:, :64] / 16).float()  # pixels 0..16 -> [0, 1]
y = table[:, 64].long()

# A seeded 80/20 train/test split.
perm = torch.randperm(len(X))
n_train = int(0.8 * len(X))
train_idx, test_idx = perm[:n_train], perm[n_train:]
training_data = TensorDataset(X[train_idx], y[train_idx])
X_test, y_test = X[test_idx], y[test_idx]
print(f"{len(X)} images: {len(train_idx)} for training, {len(test_idx)} for testing")

model = nn.Sequential(
    nn.Linear(64, 64),
    nn.ReLU(),
    nn.Linear(64, 10),
)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
train_dataloader = DataLoader(training_data, batch_size=32, shuffle=True)


def test():
    model.eval()
    with torch.no_grad():
        correct = (model(X_test).argmax(1) == y_test).sum().item()
    model.train()
    return correct


epochs = 30
for epoch in range(epochs):
    total_loss = 0.0
    for xb, yb in train_dataloader:
        pred = model(xb)
        loss = loss_fn(pred, yb)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(xb)
    if (epoch + 1) % 5 == 0:
        print(f"Epoch {epoch + 1}/{epochs}: train loss {total_loss / n_train:.4f}, "
              f"test accuracy {100 * test() / len(y_test):.1f}%")

correct = test()
print(f"Test accuracy: {100 * correct / len(y_test):.2f}% ({correct}/{len(y_test)})")
