# Problem set 08
# Student: (name removed)

import math

import numpy as np
import torch
from torch import nn

x_train = np.array([3.3, 4.4, 5.5, 6.71, 6.93, 4.168, 9.779, 6.182, 7.59, 2.167, 7.042,
                    10.791, 5.313, 7.997, 3.1], dtype=np.float32).reshape(-1, 1)
y_train = np.array([1.7, 2.76, 2.09, 3.19, 1.694, 1.573, 3.366, 2.596, 2.53, 1.221, 2.827,
                    3.465, 1.65, 2.904, 1.3], dtype=np.float32).reshape(-1, 1)


# --- 1.1 ---
class MyLinearRegression:
    """y = w x + b"""

    def __init__(self):
        self.weight = torch.randn(1, requires_grad=True)
        self.bias = torch.randn(1, requires_grad=True)

    def forward(self, x):
        return torch.add(torch.mul(x, self.weight), self.bias)

    __call__ = forward

    def parameters(self):
        return self.weight, self.bias


def mselossfunc(pred, y):
    return torch.nn.functional.mse_loss(pred, y)


def train(features, labels, model, lossfunc, optimizer, num_epoch):
    X = torch.from_numpy(features).float()
    Y = torch.from_numpy(labels).float()
    for epoch in range(1, num_epoch + 1):
        optimizer.zero_grad()
        pred = model(X)
        loss = lossfunc(pred, Y)
        loss.backward()
        optimizer.step()
        if epoch == 1 or epoch == num_epoch:
            print("epoch %3d  loss %.5f" % (epoch, loss.item()))


# --- 1.2 ---
class NNLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(in_features=1, out_features=1)

    def forward(self, x):
        out = self.fc(x)
        return out


# --- 1.3 ---
class MLP(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.fc1 = nn.Linear(1, hidden_size)
        self.fc2 = nn.Linear(hidden_size, 1)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


hidden_size: int = 4
learning_rate: float = 0.05


# --- 2 ---
class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        self.num_layers = num_layers
        self.hidden = nn.ModuleList([nn.Linear(input_dim, width)] +
                                    [nn.Linear(width, width) for _ in range(num_layers - 1)])
        self.c = nn.Linear(width, 1, bias=False)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-1.0, 1.0)

    def forward(self, x):
        h = x
        for lin in self.hidden:
            h = torch.sigmoid(lin(h))
        return self.c(h)


def first_weight_gradient(model, x):
    x = x.reshape(1, -1)
    for p in model.parameters():
        p.grad = None
    model(x).sum().backward()
    return float(model.hidden[0].weight.grad[0][0])


def gradient_bound(num_layers, x):
    # |x_1| (3/4)^L, proof in the PDF
    return math.fabs(float(x[0])) * math.pow(0.75, num_layers)
