"""
Batch, stochastic and mini-batch gradient descent side by side -- the PyTorch original of
examples/mlp_regression.cpp.

From the article "从零开始大模型开发与微调：梯度下降算法" (large models from scratch: gradient
descent), section 5.1: Net = Linear(10, 5) -> relu -> Linear(5, 1), MSELoss, SGD lr 0.01, and the
three variants of section 3.3 -- batch gradient descent (BGD, the whole data set per step),
stochastic gradient descent (SGD, one shuffled sample per step) and mini-batch gradient descent
(MBGD, 32 shuffled samples per step). The article leaves `trainloader` undefined; here it is a
DataLoader over 1000 random samples of a fixed random linear map plus noise. Every variant starts
from the same initial weights (torch.manual_seed(1) before each Net).

Run: /usr/bin/python3 examples/reference/mlp_regression.py
"""
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


# 定义模型: the model
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(10, 5)
        self.fc2 = nn.Linear(5, 1)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = self.fc2(x)
        return x


# The data: y = X w + 0.1 noise, 1000 samples of 10 features.
torch.manual_seed(0)
X = torch.randn(1000, 10)
true_w = torch.randn(10, 1)
Y = X @ true_w + 0.1 * torch.randn(1000, 1)
dataset = TensorDataset(X, Y)

num_epochs = 5


def train(name, batch_size, shuffle):
    torch.manual_seed(1)  # the same initial weights for every variant
    model = Net()
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    trainloader = DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)

    print(f'{name} (batch size {batch_size}, {len(trainloader)} steps per epoch)')
    steps = 0
    for epoch in range(num_epochs):
        # 迭代训练数据: one pass over the training data
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data           # 获取输入和标签: inputs and labels
            optimizer.zero_grad()           # 梯度清零: zero the gradients
            outputs = model(inputs)         # 前向传播: forward
            loss = criterion(outputs, labels)  # 计算损失: loss
            loss.backward()                 # 反向传播: backward
            optimizer.step()                # 更新参数: update
            steps += 1
        with torch.no_grad():
            full_loss = criterion(model(X), Y).item()  # the loss on the whole data set
        print(f'  epoch {epoch + 1}: loss {full_loss:.6f}')
    return full_loss, steps


bgd_loss, bgd_steps = train('Batch gradient descent', len(dataset), False)
sgd_loss, sgd_steps = train('Stochastic gradient descent', 1, True)
mbgd_loss, mbgd_steps = train('Mini-batch gradient descent', 32, True)
print(f'After {num_epochs} epochs:')
print(f'Batch GD: loss {bgd_loss:.6f} after {bgd_steps} updates')
print(f'Stochastic GD: loss {sgd_loss:.6f} after {sgd_steps} updates')
print(f'Mini-batch GD: loss {mbgd_loss:.6f} after {mbgd_steps} updates')
