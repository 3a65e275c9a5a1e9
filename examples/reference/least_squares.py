# -*- coding: utf-8 -*-
"""
Least squares two ways -- the PyTorch original of examples/least_squares.cpp.

The NumPy code of the article "从零开始大模型开发与微调：最小二乘法的梯度下降算法及其Python实现"
(least squares and gradient descent from scratch), written with torch tensors and with the
article's slips corrected: the gradient of MSE(theta) = 1/N ||X theta - y||^2 is
2/N X^T (X theta - y) (not -2 (X theta - y)), the loss uses pow(2), and lr 0.1 for 1000 steps
(lr 0.01 stops ~0.05 short of the minimum on this data). np.random.seed(0) becomes
torch.manual_seed(0), so ctorch (same seed, same calls) draws the very same x and noise.

Run: /usr/bin/python3 examples/reference/least_squares.py
"""
import torch

torch.manual_seed(0)

# 生成线性回归数据: linear-regression data
x = 2 * torch.rand(100, 1)
y = 4 + 3 * x + torch.randn(100, 1)
N = y.shape[0]

# 设计矩阵: design matrix X = [1, x]
X = torch.cat((torch.ones(100, 1), x), dim=1)

# 最小二乘法: the closed-form least-squares solution (LAPACK) ...
theta_mle = torch.linalg.lstsq(X, y).solution
# ... and through the normal equations X^T X theta = X^T y (the article's inv(X.T @ X) @ X.T @ y)
theta_normal = torch.linalg.lstsq(X.T @ X, X.T @ y).solution


# 梯度下降: gradient descent on the mean squared error
def compute_loss(theta):
    return (y - X @ theta).pow(2).sum() / N


def compute_gradient(theta):
    return 2 / N * X.T @ (X @ theta - y)


alpha = 0.1
iterations = 1000

theta_gd = torch.zeros(2, 1)
for _ in range(iterations):
    theta_gd -= alpha * compute_gradient(theta_gd)

# The same descent with autograd: backward computes the gradient, which must equal the hand-written one.
theta = torch.zeros(2, 1, requires_grad=True)
max_grad_diff = 0.0
for _ in range(iterations):
    loss = compute_loss(theta)
    loss.backward()
    with torch.no_grad():
        max_grad_diff = max(max_grad_diff, (theta.grad - compute_gradient(theta)).abs().max().item())
        theta -= alpha * theta.grad
        theta.grad = None

print("Closed form (LAPACK least squares):")
print(f"theta_mle: {theta_mle.flatten().tolist()}  MSE: {compute_loss(theta_mle).item()}")
print(f"theta_normal: {theta_normal.flatten().tolist()}  MSE: {compute_loss(theta_normal).item()}")
print(f"Gradient descent (lr {alpha}, {iterations} iterations, gradient 2/N X^T (X theta - y)):")
print(f"theta_gd: {theta_gd.flatten().tolist()}  MSE: {compute_loss(theta_gd).item()}")
print(f"theta_autograd: {theta.detach().flatten().tolist()}  MSE: {compute_loss(theta.detach()).item()}")
print(f"max |hand-written gradient - autograd gradient|: {max_grad_diff}")
