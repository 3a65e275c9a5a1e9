"""
Linear regression with MSELoss and SGD -- the PyTorch original of examples/linear_regression.cpp.

From the article "从零开始大模型开发与微调：对目标的逼近—模型的损失函数与优化函数" (large models from
scratch: loss functions and optimizers), section 5, with torch.manual_seed(0) added so that ctorch
(same seed, same calls) draws the very same x, noise and initial weights.

Run: /usr/bin/python3 examples/reference/linear_regression.py
"""
import torch
import torch.nn as nn
import torch.optim as optim

torch.manual_seed(0)

# 准备数据: the data
x = torch.randn(100, 1)  # 输入特征: input feature
y = 2 * x + 1 + torch.randn(100, 1) * 0.1  # 真实标签: targets, y = 2x + 1 + noise


# 定义模型: the model
class LinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 1)

    def forward(self, x):
        return self.fc(x)


model = LinearRegression()

# 定义损失函数和优化器: loss and optimizer
criterion = nn.MSELoss()  # MSE Loss
optimizer = optim.SGD(model.parameters(), lr=0.01)  # SGD优化器

# 训练模型: training
num_epochs = 100
for epoch in range(num_epochs):
    # 前向传播: forward
    outputs = model(x)
    loss = criterion(outputs, y)

    # 反向传播和优化: backward and step
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    if (epoch + 1) % 10 == 0:
        print(f'Epoch [{epoch+1}/{num_epochs}], Loss: {loss.item():.4f}')

# 测试模型: prediction
with torch.no_grad():
    test_x = torch.tensor([[2.0]])
    pred_y = model(test_x)
    print(f'Input: {test_x.item()}, Predicted output: {pred_y.item():.2f}')
