"""PS08 - PyTorch intro. (exported from my notebook)"""
import numpy as np
import torch
import torch.nn as nn

x_train = np.array([[3.3], [4.4], [5.5], [6.71], [6.93], [4.168], [9.779], [6.182],
                    [7.59], [2.167], [7.042], [10.791], [5.313], [7.997], [3.1]],
                   dtype=np.float32)
y_train = np.array([[1.7], [2.76], [2.09], [3.19], [1.694], [1.573], [3.366], [2.596],
                    [2.53], [1.221], [2.827], [3.465], [1.65], [2.904], [1.3]],
                   dtype=np.float32)


class MyLinearRegression:
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
    diff = pred - y
    return (diff * diff).mean()


def train(features, labels, model, lossfunc, optimizer, num_epoch):
    criterion = nn.MSELoss()   # the loss we use everywhere
    inputs = torch.from_numpy(features)
    targets = torch.from_numpy(labels)
    for epoch in range(num_epoch):
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch % 10 == 9:
            print("epoch {}: loss {:.4f}".format(epoch + 1, loss.item()))


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
        self.act = nn.Sigmoid()
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x):
        return self.out(self.act(self.hidden(x)))


hidden_size = 3
learning_rate = 0.1


class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        self.layers = nn.ModuleList()
        d = input_dim
        for _ in range(num_layers):
            self.layers.append(nn.Linear(d, width))
            d = width
        self.output = nn.Linear(width, 1)
        for p in self.parameters():
            nn.init.uniform_(p, -1, 1)

    def forward(self, x):
        for layer in self.layers:
            x = torch.sigmoid(layer(x))
        return self.output(x)


def first_weight_gradient(model, x):
    y = model(x.unsqueeze(0))
    g = torch.autograd.grad(y.squeeze(), model.layers[0].weight)[0]
    return g[0, 0].item()


def gradient_bound(num_layers, x):
    return abs(x[0].item()) * 0.75 ** num_layers


if __name__ == "__main__":
    model = MyLinearRegression()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    train(x_train, y_train, model, mselossfunc, optimizer, 60)
    print(model.w, model.b)
