"""
PyTorch: Control Flow + Weight Sharing -- the PyTorch original of examples/dynamic_net.cpp.

From "Learning PyTorch with Examples" (pytorch/tutorials, beginner_source/examples_nn/dynamic_net.py),
with two changes so that ctorch can follow it number for number:
  - torch.manual_seed(0), so that both start from the very same random a, b, c, d, e;
  - the random depth is drawn from torch's generator, torch.randint(4, 7, ()).item(), instead of
    Python's random.randint(4, 6): ctorch reproduces torch's generator bit for bit, but not
    Python's Mersenne Twister. Both give 4, 5 or 6 with equal probability (random.randint includes
    its upper bound, torch.randint excludes it), so the model is unchanged: a third, fourth or
    fifth order polynomial on each forward pass.

To showcase the power of PyTorch dynamic graphs, we will implement a very strange
model: a third-fifth order polynomial that on each forward pass
chooses a random number between 4 and 5 and uses that many orders, reusing
the same weights multiple times to compute the fourth and fifth order.

Run: /usr/bin/python3 examples/reference/dynamic_net.py
"""
import torch
import math

torch.manual_seed(0)


class DynamicNet(torch.nn.Module):
    def __init__(self):
        """
        In the constructor we instantiate five parameters and assign them as members.
        """
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        """
        For the forward pass of the model, we randomly choose either 4, 5
        and reuse the e parameter to compute the contribution of these orders.

        Since each forward pass builds a dynamic computation graph, we can use normal
        Python control-flow operators like loops or conditional statements when
        defining the forward pass of the model.

        Here we also see that it is perfectly safe to reuse the same parameter many
        times when defining a computational graph.
        """
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        # The tutorial: random.randint(4, 6) (Python's generator, 4..6 inclusive).
        for exp in range(4, torch.randint(4, 7, ()).item()):
            y = y + self.e * x ** exp
        return y

    def string(self):
        """
        Just like any class in Python, you can also define custom method on PyTorch modules
        """
        return f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?'


# Create Tensors to hold input and outputs.
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# Construct our model by instantiating the class defined above
model = DynamicNet()

# Construct our loss function and an Optimizer. Training this strange model with
# vanilla stochastic gradient descent is tough, so we use momentum
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
for t in range(30000):
    # Forward pass: Compute predicted y by passing x to the model
    y_pred = model(x)

    # Compute and print loss
    loss = criterion(y_pred, y)
    if t % 2000 == 1999:
        print(t, loss.item())

    # Zero gradients, perform a backward pass, and update the weights.
    # set_to_none=True is torch 2.x's default, and ctorch's: a step that does not use `e` leaves
    # e.grad None, so SGD skips `e` (momentum and all) instead of moving it by its momentum alone.
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()

print(f'Result: {model.string()}')
