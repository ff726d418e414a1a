"""NaN and infinity wherever a number is expected."""
import torch

hidden_size = float("nan")
learning_rate = float("inf")


class MyLinearRegression:
    def __init__(self):
        self.w = torch.randn(1, requires_grad=True)
        self.b = torch.randn(1, requires_grad=True)

    def forward(self, x):
        return self.w * x + self.b + float("nan")

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.w, self.b]


def mselossfunc(pred, y):
    return ((pred - y) ** 2).mean() * float("nan")


def gradient_bound(num_layers, x):
    return float("inf")
