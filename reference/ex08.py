"""Reference solution of problem set 08 (PyTorch introduction).

The judge imports this module; student code never does. Every name follows
``shared/CONTRACT.md`` section 1.
"""
import numpy as np
import torch
from torch import nn

x_train = np.array([[3.3], [4.4], [5.5], [6.71], [6.93], [4.168], [9.779], [6.182],
                    [7.59], [2.167], [7.042], [10.791], [5.313], [7.997], [3.1]],
                   dtype=np.float32)
y_train = np.array([[1.7], [2.76], [2.09], [3.19], [1.694], [1.573], [3.366], [2.596],
                    [2.53], [1.221], [2.827], [3.465], [1.65], [2.904], [1.3]],
                   dtype=np.float32)


# Problem 1 -----------------------------------------------------------------

class MyLinearRegression:
    """``w * x + b`` with two hand-made leaf tensors."""

    def __init__(self):
        self.w = torch.randn(1, requires_grad=True)
        self.b = torch.randn(1, requires_grad=True)

    def forward(self, x):
        return self.w * x + self.b

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.w, self.b]


def mselossfunc(pred, y):
    return ((pred - y) ** 2).mean()


def train(features, labels, model, lossfunc, optimizer, num_epoch):
    inputs = torch.from_numpy(features)
    targets = torch.from_numpy(labels)
    for _ in range(num_epoch):
        loss = lossfunc(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


class NNLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)


class MLP(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.hidden = nn.Linear(1, hidden_size)
        self.output = nn.Linear(hidden_size, 1)

    def forward(self, x):
        return self.output(torch.sigmoid(self.hidden(x)))


hidden_size = 2
learning_rate = 0.1


# Problem 2 -----------------------------------------------------------------

class DeepSigmoidNet(nn.Module):
    """``num_layers`` sigmoid layers of ``width`` nodes, then one linear output node."""

    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        sizes = [input_dim] + [width] * num_layers
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.output = nn.Linear(width, 1)
        for p in self.parameters():
            nn.init.uniform_(p, -1.0, 1.0)

    def forward(self, x):
        for layer in self.layers:
            x = torch.sigmoid(layer(x))
        return self.output(x)


def first_weight_gradient(model, x):
    weight = model.layers[0].weight
    (grad,) = torch.autograd.grad(model(x.unsqueeze(0)).sum(), weight)
    return grad[0, 0].item()


def gradient_bound(num_layers, x):
    return abs(float(x[0])) * 0.75 ** num_layers
