"""A calibration corpus for ``grader.similarity``: independent solutions and disguised copies.

``SOLUTIONS`` are ten complete, correct solutions of the lab written independently,
each in a style students use (textbook, beginner, ``nn.Sequential``, compact, heavily
commented, ``torch.autograd.grad``, old PyTorch idioms, loops over explicit lists), the
last two both as the PyTorch tutorials teach, the hardest pair to tell from a copy.
Each is the handout notebook with its TODO cells filled in, as students hand it in.

``disguise`` turns one into a copy a student would hand in to hide where it came from:
identifiers renamed, cells and methods reordered, comments and prints changed, the code
reformatted, dead code added. ``build`` writes a class of both, and says which pairs are
copies; ``tests/test_similarity.py`` holds the detector to it and
``benchmarks/similarity.py`` measures precision, recall and speed with it.
"""
import ast
import random
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
HANDOUT = ROOT / "reference" / "handout.ipynb"
# The handout cells students fill in, by their first line.
PARTS = {"linreg": "class MyLinearRegression", "mse": "def mselossfunc", "train": "def train",
         "nnlinear": "class NNLinearRegression", "mlp": "class MLP", "hyper": "hidden_size",
         "deep": "class DeepSigmoidNet", "grad": "def first_weight_gradient",
         "bound": "def gradient_bound"}
# Names the handout fixes: a disguise cannot rename them.
CONTRACT = {"MyLinearRegression", "mselossfunc", "train", "NNLinearRegression", "MLP",
            "hidden_size", "learning_rate", "DeepSigmoidNet", "first_weight_gradient",
            "gradient_bound", "forward", "parameters", "self", "x", "model", "features",
            "labels", "lossfunc", "optimizer", "num_epoch", "num_layers", "input_dim",
            "width", "pred", "y", "x_train", "y_train", "nn", "torch", "np", "F", "math",
            "plt", "super", "__init__", "__call__"}

SOLUTIONS = {
    "textbook": {
        "linreg": '''\
class MyLinearRegression:
    def __init__(self):
        self.w = torch.randn(1, requires_grad=True)
        self.b = torch.randn(1, requires_grad=True)

    def forward(self, x):
        return x * self.w + self.b

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.w, self.b]''',
        "mse": '''\
def mselossfunc(pred, y):
    return torch.mean((pred - y) ** 2)''',
        "train": '''\
def train(features, labels, model, lossfunc, optimizer, num_epoch):
    x = torch.tensor(features)
    y = torch.tensor(labels)
    for epoch in range(num_epoch):
        optimizer.zero_grad()
        pred = model(x)
        loss = lossfunc(pred, y)
        loss.backward()
        optimizer.step()
        if epoch % 10 == 0:
            print("epoch", epoch, "loss", loss.item())''',
        "nnlinear": '''\
class NNLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)''',
        "mlp": '''\
class MLP(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.fc1 = nn.Linear(1, hidden_size)
        self.fc2 = nn.Linear(hidden_size, 1)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        return self.fc2(x)''',
        "hyper": '''\
hidden_size = 10
learning_rate = 0.01''',
        "deep": '''\
class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        self.layers = nn.ModuleList()
        in_features = input_dim
        for i in range(num_layers):
            self.layers.append(nn.Linear(in_features, width))
            in_features = width
        self.out = nn.Linear(width, 1)
        for p in self.parameters():
            nn.init.uniform_(p, -1, 1)

    def forward(self, x):
        for layer in self.layers:
            x = torch.sigmoid(layer(x))
        return self.out(x)''',
        "grad": '''\
def first_weight_gradient(model, x):
    model.zero_grad()
    out = model(x)
    out.sum().backward()
    return model.layers[0].weight.grad[0, 0].item()''',
        "bound": '''\
def gradient_bound(num_layers, x):
    return abs(x[0].item()) * (3 / 4) ** num_layers''',
    },
    "beginner": {
        "linreg": '''\
class MyLinearRegression:
    def __init__(self):
        # start from zero
        self.weight = torch.zeros(1, requires_grad=True)
        self.bias = torch.zeros(1, requires_grad=True)

    def forward(self, x):
        y = self.weight * x
        y = y + self.bias
        return y

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        params = []
        params.append(self.weight)
        params.append(self.bias)
        return params''',
        "mse": '''\
def mselossfunc(pred, y):
    diff = pred - y
    total = (diff * diff).sum()
    n = len(y)
    return total / n''',
        "train": '''\
def train(features, labels, model, lossfunc, optimizer, num_epoch):
    inputs = torch.from_numpy(features)
    targets = torch.from_numpy(labels)
    epoch = 0
    while epoch < num_epoch:
        outputs = model(inputs)
        loss = lossfunc(outputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        epoch = epoch + 1
    print('done, final loss', loss.item())''',
        "nnlinear": '''\
class NNLinearRegression(nn.Module):
    def __init__(self):
        super(NNLinearRegression, self).__init__()
        self.fc = nn.Linear(in_features=1, out_features=1)

    def forward(self, x):
        out = self.fc(x)
        return out''',
        "mlp": '''\
class MLP(nn.Module):
    def __init__(self, hidden_size):
        super(MLP, self).__init__()
        self.layer1 = nn.Linear(1, hidden_size)
        self.act = nn.Sigmoid()
        self.layer2 = nn.Linear(hidden_size, 1)

    def forward(self, x):
        h = self.layer1(x)
        h = self.act(h)
        out = self.layer2(h)
        return out''',
        "hyper": '''\
hidden_size = 5
learning_rate = 0.05''',
        "deep": '''\
class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super(DeepSigmoidNet, self).__init__()
        layer_list = []
        layer_list.append(nn.Linear(input_dim, width))
        for i in range(num_layers - 1):
            layer_list.append(nn.Linear(width, width))
        self.hidden = nn.ModuleList(layer_list)
        self.last = nn.Linear(width, 1)
        with torch.no_grad():
            for layer in self.hidden:
                layer.weight.uniform_(-1, 1)
                layer.bias.uniform_(-1, 1)
            self.last.weight.uniform_(-1, 1)
            self.last.bias.uniform_(-1, 1)

    def forward(self, x):
        for i in range(len(self.hidden)):
            x = self.hidden[i](x)
            x = torch.sigmoid(x)
        x = self.last(x)
        return x''',
        "grad": '''\
def first_weight_gradient(model, x):
    for p in model.parameters():
        p.grad = None
    result = model(x)
    result.backward()
    g = model.hidden[0].weight.grad
    return float(g[0][0])''',
        "bound": '''\
def gradient_bound(num_layers, x):
    x1 = x[0].item()
    if x1 < 0:
        x1 = -x1
    return x1 * 0.75 ** num_layers''',
    },
    "sequential": {
        "linreg": '''\
class MyLinearRegression:
    def __init__(self):
        self.params = [torch.randn(1, requires_grad=True) for _ in range(2)]

    def forward(self, x):
        w, b = self.params
        return w * x + b

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return self.params''',
        "mse": '''\
def mselossfunc(pred, y):
    return (pred - y).pow(2).mean()''',
        "train": '''\
def train(features, labels, model, lossfunc, optimizer, num_epoch):
    X, Y = torch.from_numpy(features), torch.from_numpy(labels)
    history = []
    for _ in range(num_epoch):
        optimizer.zero_grad()
        loss = lossfunc(model(X), Y)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history''',
        "nnlinear": '''\
class NNLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(1, 1))

    def forward(self, x):
        return self.model(x)''',
        "mlp": '''\
class MLP(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(1, hidden_size),
            nn.Tanh(),
            nn.Linear(hidden_size, 1),
        )

    def forward(self, x):
        return self.net(x)''',
        "hyper": '''\
hidden_size = 16
learning_rate = 1e-2''',
        "deep": '''\
class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        dims = [input_dim] + [width] * num_layers
        self.linears = nn.ModuleList([nn.Linear(dims[i], dims[i + 1]) for i in range(num_layers)])
        self.head = nn.Linear(width, 1)
        for param in self.parameters():
            param.data.uniform_(-1.0, 1.0)

    def forward(self, x):
        for lin in self.linears:
            x = lin(x).sigmoid()
        return self.head(x)''',
        "grad": '''\
def first_weight_gradient(model, x):
    model.zero_grad()
    model(x.reshape(1, -1)).squeeze().backward()
    return model.linears[0].weight.grad[0][0].item()''',
        "bound": '''\
def gradient_bound(num_layers, x):
    return float(x[0].abs()) * 0.75 ** num_layers''',
    },
    "compact": {
        "linreg": '''\
class MyLinearRegression:
    def __init__(self):
        self.a, self.c = torch.rand(1, requires_grad=True), torch.rand(1, requires_grad=True)
    def forward(self, x): return self.a * x + self.c
    def __call__(self, x):
        return self.forward(x)
    def parameters(self): return [self.a, self.c]''',
        "mse": '''\
import torch.nn.functional as F
def mselossfunc(pred, y):
    return F.mse_loss(pred, y)''',
        "train": '''\
def train(features, labels, model, lossfunc, optimizer, num_epoch):
    xs, ys = map(torch.from_numpy, (features, labels))
    for _ in range(num_epoch):
        l = lossfunc(model(xs), ys); optimizer.zero_grad(); l.backward(); optimizer.step()''',
        "nnlinear": '''\
class NNLinearRegression(nn.Module):
    def __init__(self):
        super().__init__(); self.lin = nn.Linear(1, 1)
    def forward(self, x): return self.lin(x)''',
        "mlp": '''\
class MLP(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.l1, self.l2 = nn.Linear(1, hidden_size), nn.Linear(hidden_size, 1)
    def forward(self, x): return self.l2(F.relu(self.l1(x)))''',
        "hyper": '''\
hidden_size, learning_rate = 32, 0.005''',
        "deep": '''\
class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        self.ls = nn.ModuleList(nn.Linear(input_dim if k == 0 else width, width) for k in range(num_layers))
        self.o = nn.Linear(width, 1)
        for t in self.parameters(): nn.init.uniform_(t, a=-1.0, b=1.0)
    def forward(self, x):
        for l in self.ls: x = torch.sigmoid(l(x))
        return self.o(x)''',
        "grad": '''\
def first_weight_gradient(model, x):
    w = model.ls[0].weight
    (g,) = torch.autograd.grad(model(x).sum(), w)
    return g[0, 0].item()''',
        "bound": '''\
def gradient_bound(num_layers, x): return abs(float(x[0])) * (0.75 ** num_layers)''',
    },
    "documented": {
        "linreg": '''\
class MyLinearRegression:
    """A linear model y = w x + b with parameters tracked by autograd."""

    def __init__(self):
        # one weight and one bias, drawn from a standard normal
        self.slope = torch.randn(1, requires_grad=True)
        self.intercept = torch.randn(1, requires_grad=True)

    def forward(self, x):
        """Predictions for a batch x of shape (N, 1)."""
        return self.slope * x + self.intercept

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        """The tensors the optimizer updates."""
        return [self.slope, self.intercept]''',
        "mse": '''\
def mselossfunc(pred, y):
    """Mean squared error."""
    squared_errors = torch.square(pred - y)
    return torch.mean(squared_errors)''',
        "train": '''\
def train(features, labels, model, lossfunc, optimizer, num_epoch):
    """Full-batch gradient descent for num_epoch epochs; returns the last loss."""
    # numpy arrays -> float tensors
    inputs = torch.as_tensor(features, dtype=torch.float32)
    targets = torch.as_tensor(labels, dtype=torch.float32)
    last_loss = None
    for epoch in range(1, num_epoch + 1):
        predictions = model(inputs)            # forward pass
        loss = lossfunc(predictions, targets)  # how far off are we?
        optimizer.zero_grad()                  # clear old gradients
        loss.backward()                        # compute new gradients
        optimizer.step()                       # update parameters
        last_loss = loss.item()
        if epoch % 20 == 0:
            print(f"Epoch {epoch:4d}/{num_epoch}: loss = {last_loss:.5f}")
    return last_loss''',
        "nnlinear": '''\
class NNLinearRegression(nn.Module):
    """The same model, built from nn.Linear."""

    def __init__(self):
        super().__init__()
        self.regressor = nn.Linear(1, 1)  # one input, one output

    def forward(self, x):
        return self.regressor(x)''',
        "mlp": '''\
class MLP(nn.Module):
    """One hidden layer with a sigmoid non-linearity."""

    def __init__(self, hidden_size):
        super().__init__()
        self.hidden_layer = nn.Linear(1, hidden_size)
        self.output_layer = nn.Linear(hidden_size, 1)
        self.activation = nn.Sigmoid()

    def forward(self, x):
        hidden = self.activation(self.hidden_layer(x))
        return self.output_layer(hidden)''',
        "hyper": '''\
hidden_size = 8      # enough to bend the line
learning_rate = 0.03  # Adam is forgiving''',
        "deep": '''\
class DeepSigmoidNet(nn.Module):
    """num_layers sigmoid layers of the given width, then a linear output node."""

    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        self.hidden_layers = nn.ModuleList()
        for index in range(num_layers):
            fan_in = input_dim if index == 0 else width
            self.hidden_layers.append(nn.Linear(fan_in, width))
        self.output_layer = nn.Linear(width, 1)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias uniform in [-1, 1]."""
        for name, tensor in self.named_parameters():
            nn.init.uniform_(tensor, -1.0, 1.0)

    def forward(self, x):
        activation = x
        for layer in self.hidden_layers:
            activation = torch.sigmoid(layer(activation))
        return self.output_layer(activation)''',
        "grad": '''\
def first_weight_gradient(model, x):
    """d model(x) / d w^(1)_(1,1) by backpropagation."""
    model.zero_grad()
    output = model(x.unsqueeze(0))
    output.squeeze().backward()
    first_layer = model.hidden_layers[0]
    return float(first_layer.weight.grad[0, 0])''',
        "bound": '''\
def gradient_bound(num_layers, x):
    """|x_1| (3/4)^L: each layer contributes at most |w| * max sigmoid' * width."""
    max_factor = 3 * 0.25  # width times the largest slope of the sigmoid
    return abs(float(x[0])) * max_factor ** num_layers''',
    },
    "autograd": {
        "linreg": '''\
class MyLinearRegression:
    def __init__(self):
        self.theta = torch.randn(2, requires_grad=True)

    def forward(self, x):
        return self.theta[0] * x + self.theta[1]

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.theta]''',
        "mse": '''\
def mselossfunc(pred, y):
    err = pred.reshape(-1) - y.reshape(-1)
    return err.dot(err) / err.numel()''',
        "train": '''\
def train(features, labels, model, lossfunc, optimizer, num_epoch):
    data = torch.from_numpy(features).float()
    truth = torch.from_numpy(labels).float()
    for step in range(num_epoch):
        cost = lossfunc(model(data), truth)
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
        if step == num_epoch - 1:
            print(f"final cost {cost.item():.3f}")''',
        "nnlinear": '''\
class NNLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.line = torch.nn.Linear(1, 1, bias=True)

    def forward(self, x):
        return self.line(x)''',
        "mlp": '''\
class MLP(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.inp = torch.nn.Linear(1, hidden_size)
        self.outp = torch.nn.Linear(hidden_size, 1)

    def forward(self, x):
        z = self.inp(x)
        a = torch.nn.functional.leaky_relu(z)
        return self.outp(a)''',
        "hyper": '''\
hidden_size = 20
learning_rate = 0.02''',
        "deep": '''\
class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        mods = [nn.Linear(input_dim, width)]
        mods += [nn.Linear(width, width) for _ in range(num_layers - 1)]
        self.blocks = nn.ModuleList(mods)
        self.final = nn.Linear(width, 1)
        with torch.no_grad():
            for prm in self.parameters():
                prm.copy_(torch.empty_like(prm).uniform_(-1, 1))

    def forward(self, x):
        h = x
        for blk in self.blocks:
            h = 1 / (1 + torch.exp(-blk(h)))
        return self.final(h)''',
        "grad": '''\
def first_weight_gradient(model, x):
    target = model.blocks[0].weight
    value = model(x[None, :])[0, 0]
    grads = torch.autograd.grad(value, [target])
    return grads[0][0, 0].item()''',
        "bound": '''\
def gradient_bound(num_layers, x):
    return torch.abs(x[0]).item() * math.pow(0.75, num_layers)''',
    },
    "oldstyle": {
        "linreg": '''\
from torch.autograd import Variable

class MyLinearRegression:
    def __init__(self):
        self.W = Variable(torch.randn(1), requires_grad=True)
        self.B = Variable(torch.randn(1), requires_grad=True)

    def forward(self, x):
        return torch.add(torch.mul(x, self.W), self.B)

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.W, self.B]''',
        "mse": '''\
def mselossfunc(pred, y):
    loss = torch.sum(torch.pow(pred - y, 2))
    return loss / pred.size(0)''',
        "train": '''\
def train(features, labels, model, lossfunc, optimizer, num_epoch):
    inp = Variable(torch.FloatTensor(features))
    tgt = Variable(torch.FloatTensor(labels))
    for ep in range(num_epoch):
        out = model(inp)
        err = lossfunc(out, tgt)
        optimizer.zero_grad()
        err.backward()
        optimizer.step()
        if (ep + 1) % 5 == 0:
            print('Epoch [%d/%d], Loss: %.4f' % (ep + 1, num_epoch, err.data.item()))''',
        "nnlinear": '''\
class NNLinearRegression(nn.Module):
    def __init__(self):
        nn.Module.__init__(self)
        self.lr = nn.Linear(1, 1)

    def forward(self, x):
        y_pred = self.lr(x)
        return y_pred''',
        "mlp": '''\
class MLP(nn.Module):
    def __init__(self, hidden_size):
        nn.Module.__init__(self)
        self.hid = nn.Linear(1, hidden_size)
        self.relu = nn.ReLU()
        self.predict = nn.Linear(hidden_size, 1)

    def forward(self, x):
        return self.predict(self.relu(self.hid(x)))''',
        "hyper": '''\
hidden_size = 50
learning_rate = 0.1''',
        "deep": '''\
class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        nn.Module.__init__(self)
        self.num_layers = num_layers
        for l in range(num_layers):
            lin = nn.Linear(input_dim if l == 0 else width, width)
            lin.weight.data.uniform_(-1, 1)
            lin.bias.data.uniform_(-1, 1)
            self.add_module('lin%d' % l, lin)
        self.fc_out = nn.Linear(width, 1)
        self.fc_out.weight.data.uniform_(-1, 1)
        self.fc_out.bias.data.uniform_(-1, 1)

    def forward(self, x):
        for l in range(self.num_layers):
            x = torch.sigmoid(getattr(self, 'lin%d' % l)(x))
        return self.fc_out(x)''',
        "grad": '''\
def first_weight_gradient(model, x):
    inp = Variable(x.view(1, -1))
    model.zero_grad()
    model(inp).backward()
    return float(model.lin0.weight.grad.data[0][0])''',
        "bound": '''\
def gradient_bound(num_layers, x):
    return np.abs(x[0].item()) * np.power(3.0 / 4.0, num_layers)''',
    },
    "explicit": {
        "linreg": '''\
class MyLinearRegression:
    def __init__(self):
        self.m = torch.tensor([0.5], requires_grad=True)
        self.q = torch.tensor([0.0], requires_grad=True)

    def forward(self, x):
        result = torch.zeros_like(x)
        result = result + self.m * x
        result = result + self.q
        return result

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.m, self.q]''',
        "mse": '''\
def mselossfunc(pred, y):
    n = pred.shape[0]
    s = 0
    for i in range(n):
        s = s + (pred[i] - y[i]) ** 2
    return s.sum() / n''',
        "train": '''\
def train(features, labels, model, lossfunc, optimizer, num_epoch):
    features_t = torch.tensor(features, dtype=torch.float32)
    labels_t = torch.tensor(labels, dtype=torch.float32)
    losses = []
    for e in range(num_epoch):
        prediction = model.forward(features_t) if hasattr(model, 'forward') else model(features_t)
        current = lossfunc(prediction, labels_t)
        current.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(current))
    plt.plot(losses)
    plt.show()''',
        "nnlinear": '''\
class NNLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.one_layer = nn.Linear(1, 1)

    def forward(self, x):
        y = self.one_layer(x)
        return y''',
        "mlp": '''\
class MLP(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.first = nn.Linear(1, hidden_size)
        self.second = nn.Linear(hidden_size, 1)

    def forward(self, x):
        first_out = self.first(x)
        activated = torch.sigmoid(first_out)
        second_out = self.second(activated)
        return second_out''',
        "hyper": '''\
hidden_size = 3
learning_rate = 0.08''',
        "deep": '''\
class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        all_layers = []
        previous_width = input_dim
        layer_number = 0
        while layer_number < num_layers:
            new_layer = nn.Linear(previous_width, width)
            torch.nn.init.uniform_(new_layer.weight, -1, 1)
            torch.nn.init.uniform_(new_layer.bias, -1, 1)
            all_layers.append(new_layer)
            previous_width = width
            layer_number += 1
        self.sig_layers = nn.ModuleList(all_layers)
        self.final_layer = nn.Linear(width, 1)
        torch.nn.init.uniform_(self.final_layer.weight, -1, 1)
        torch.nn.init.uniform_(self.final_layer.bias, -1, 1)

    def forward(self, x):
        current = x
        for layer in self.sig_layers:
            current = layer(current)
            current = torch.sigmoid(current)
        current = self.final_layer(current)
        return current''',
        "grad": '''\
def first_weight_gradient(model, x):
    x_batch = x.unsqueeze(0)
    for param in model.parameters():
        if param.grad is not None:
            param.grad.zero_()
    y_out = model(x_batch)
    y_out[0][0].backward()
    gradient = model.sig_layers[0].weight.grad[0][0]
    return gradient.item()''',
        "bound": '''\
def gradient_bound(num_layers, x):
    factor = 1.0
    for _ in range(num_layers):
        factor = factor * 0.75
    return abs(x[0].item()) * factor''',
    },
    "tutorial": {
        "linreg": '''\
class MyLinearRegression:
    def __init__(self):
        self.w = torch.randn(1, requires_grad=True)
        self.b = torch.randn(1, requires_grad=True)

    def forward(self, x):
        return self.w * x + self.b

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.w, self.b]''',
        "mse": '''\
def mselossfunc(pred, y):
    return ((pred - y) ** 2).mean()''',
        "train": '''\
def train(features, labels, model, lossfunc, optimizer, num_epoch):
    inputs = torch.from_numpy(features)
    targets = torch.from_numpy(labels)
    for epoch in range(num_epoch):
        outputs = model(inputs)
        loss = lossfunc(outputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (epoch + 1) % 10 == 0:
            print('Epoch [{}/{}], Loss: {:.4f}'.format(epoch + 1, num_epoch, loss.item()))''',
        "nnlinear": '''\
class NNLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)''',
        "mlp": '''\
class MLP(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.fc1 = nn.Linear(1, hidden_size)
        self.fc2 = nn.Linear(hidden_size, 1)

    def forward(self, x):
        x = torch.sigmoid(self.fc1(x))
        x = self.fc2(x)
        return x''',
        "hyper": '''\
hidden_size = 10
learning_rate = 0.1''',
        "deep": '''\
class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        self.layers = nn.ModuleList()
        self.layers.append(nn.Linear(input_dim, width))
        for _ in range(num_layers - 1):
            self.layers.append(nn.Linear(width, width))
        self.output = nn.Linear(width, 1)
        for p in self.parameters():
            nn.init.uniform_(p, -1, 1)

    def forward(self, x):
        for layer in self.layers:
            x = torch.sigmoid(layer(x))
        return self.output(x)''',
        "grad": '''\
def first_weight_gradient(model, x):
    model.zero_grad()
    y = model(x)
    y.backward()
    return model.layers[0].weight.grad[0, 0].item()''',
        "bound": '''\
def gradient_bound(num_layers, x):
    return abs(x[0].item()) * (3 / 4) ** num_layers''',
    },
    "tutorial_b": {
        "linreg": '''\
class MyLinearRegression:
    def __init__(self):
        self.weight = torch.randn(1, requires_grad=True)
        self.bias = torch.zeros(1, requires_grad=True)

    def forward(self, x):
        return x * self.weight + self.bias

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.weight, self.bias]''',
        "mse": '''\
def mselossfunc(pred, y):
    return torch.mean((y - pred) ** 2)''',
        "train": '''\
def train(features, labels, model, lossfunc, optimizer, num_epoch):
    X = torch.from_numpy(features)
    Y = torch.from_numpy(labels)
    for i in range(num_epoch):
        y_pred = model(X)
        loss = lossfunc(y_pred, Y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        print(i, loss.item())''',
        "nnlinear": '''\
class NNLinearRegression(nn.Module):
    def __init__(self):
        super(NNLinearRegression, self).__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        out = self.linear(x)
        return out''',
        "mlp": '''\
class MLP(nn.Module):
    def __init__(self, hidden_size):
        super(MLP, self).__init__()
        self.hidden = nn.Linear(1, hidden_size)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, x):
        h = torch.relu(self.hidden(x))
        return self.out(h)''',
        "hyper": '''\
hidden_size = 20
learning_rate = 0.05''',
        "deep": '''\
class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super(DeepSigmoidNet, self).__init__()
        layers = [nn.Linear(input_dim, width)]
        for i in range(1, num_layers):
            layers.append(nn.Linear(width, width))
        self.layers = nn.ModuleList(layers)
        self.fc = nn.Linear(width, 1)
        for param in self.parameters():
            nn.init.uniform_(param, -1.0, 1.0)

    def forward(self, x):
        for l in self.layers:
            x = torch.sigmoid(l(x))
        x = self.fc(x)
        return x''',
        "grad": '''\
def first_weight_gradient(model, x):
    out = model(x)
    model.zero_grad()
    out.backward()
    return model.layers[0].weight.grad[0][0].item()''',
        "bound": '''\
def gradient_bound(num_layers, x):
    return abs(float(x[0])) * 0.75 ** num_layers''',
    },
}

_WORDS = ("alpha", "beta", "gamma", "delta", "kappa", "omega", "sigma", "theta", "zeta",
          "rho", "tau", "phi", "chi", "psi", "eta", "iota", "lam", "mu", "nu", "xi")


def notebook(parts, order=None, extra=()):
    """The handout with its TODO cells replaced by ``parts`` (part name: source).

    ``order`` lists the parts in the order they are to appear (the handout's otherwise:
    each in its own place); ``extra`` are more code cells at the end.
    """
    handout = nbformat.read(str(HANDOUT), as_version=4)
    cells = []
    for cell in handout.cells:
        part = _part_of(cell)
        if part is None:
            cells.append(cell)
        elif order is None:
            cells.append(nbformat.v4.new_code_cell(parts[part]))
    if order is not None:
        cells += [nbformat.v4.new_code_cell(parts[part]) for part in order]
    cells += [nbformat.v4.new_code_cell(source) for source in extra]
    handout.cells = cells
    return handout


def _part_of(cell):
    if cell.cell_type != "code":
        return None
    first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
    return next((part for part, start in PARTS.items() if first.startswith(start)), None)


def disguise(parts, seed=0, how=("rename", "reorder", "comments", "prints", "reformat",
                                  "deadcode")):
    """A copy of ``parts`` disguised in the ways named in ``how``; returns (parts, order)."""
    rng = random.Random(seed)
    parts = dict(parts)
    if "rename" in how:
        parts = _rename(parts, rng)
    if "comments" in how or "prints" in how or "reformat" in how:
        parts = {name: _rewrite(source, how, rng) for name, source in parts.items()}
    if "deadcode" in how:
        parts = {name: _dead_code(source, rng) for name, source in parts.items()}
    order = None
    if "reorder" in how:
        order = list(parts)
        rng.shuffle(order)
        parts = {name: _reorder_methods(source) for name, source in parts.items()}
    return parts, order


def _rename(parts, rng):
    """Every name the student chose (locals, parameters, attributes) renamed alike."""
    chosen = set()
    for source in parts.values():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                chosen.add(node.id)
            elif isinstance(node, ast.arg):
                chosen.add(node.arg)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                chosen.add(node.attr)
            elif isinstance(node, ast.FunctionDef) and node.name not in CONTRACT:
                chosen.add(node.name)
    chosen -= CONTRACT
    mapping = {name: f"{rng.choice(_WORDS)}_{index}" for index, name in
               enumerate(sorted(chosen))}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(mapping))) + r")\b")
    if not mapping:
        return parts
    return {part: pattern.sub(lambda m: mapping[m.group(1)], source)
            for part, source in parts.items()}


def _rewrite(source, how, rng):
    """Comments and prints dropped or changed, the code laid out anew (``ast.unparse``)."""
    tree = ast.parse(source)
    if "prints" in how:
        for node in ast.walk(tree):
            for field in ("body", "orelse"):
                block = getattr(node, field, None)
                if isinstance(block, list) and block:
                    kept = [s for s in block if not _is_print(s)] or [ast.Pass()]
                    setattr(node, field, kept)
    text = ast.unparse(tree) if "reformat" in how else source
    if "reformat" not in how and "comments" in how:
        text = re.sub(r"\s*#[^\n'\"]*$", "", text, flags=re.MULTILINE)
    lines = text.splitlines()
    if "comments" in how:
        lines = [line + ("  # " + rng.choice(_WORDS) if rng.random() < 0.3 else "")
                 for line in lines]
    if "prints" in how:
        lines.append(f"print('{rng.choice(_WORDS)} ready')")
    return "\n".join(lines)


def _is_print(statement):
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name) and statement.value.func.id == "print")


def _dead_code(source, rng):
    """An unused variable after each function's first line (a constant, or computed), and
    an unused helper."""
    lines = []
    for line in source.splitlines():
        lines.append(line)
        found = re.match(r"^(\s*)def .*:\s*$", line)
        if found:
            value = rng.choice([str(rng.randrange(100)), "[i * i for i in range(3)]",
                                "len(str(id(None)))", "{'debug': False}"])
            lines.append(f"{found.group(1)}    unused_{rng.randrange(1000)} = {value}")
    helper = rng.choice(_WORDS)
    lines += ["", f"def {helper}_helper(values):", "    total = 0",
              "    for value in values:", "        total += value", "    return total"]
    return "\n".join(lines)


def _reorder_methods(source):
    """A class's methods in reverse order."""
    tree = ast.parse(source)
    changed = False
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and len(node.body) > 1:
            node.body.reverse()
            changed = True
    return ast.unparse(tree) if changed else source


def build(folder, seed=0, how=None):
    """Write the corpus into ``folder``: every solution, and a disguised copy of each.

    Returns the set of copied pairs, as sorted (student, student) tuples.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    copies = set()
    for index, (name, parts) in enumerate(SOLUTIONS.items()):
        nbformat.write(notebook(parts), str(folder / f"{name}.ipynb"))
        kwargs = {} if how is None else {"how": how}
        disguised, order = disguise(parts, seed=seed + index, **kwargs)
        nbformat.write(notebook(disguised, order), str(folder / f"copy_of_{name}.ipynb"))
        copies.add(tuple(sorted((name, f"copy_of_{name}"))))
    return copies


def synthetic_class(folder, count, seed=0):
    """``count`` submissions for a speed benchmark; every tenth is a disguised copy of an
    earlier one.

    The others take each part from a random solution, renamed, commented anew and with
    a statement of their own after about every second line, so that, like students who
    work alone, they share short runs of code but few long ones.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    made = []
    for index in range(count):
        if index % 10 == 9:
            parts, order = disguise(rng.choice(made), seed=index)
        else:
            parts = {part: _own_lines(SOLUTIONS[rng.choice(list(SOLUTIONS))][part], rng)
                     for part in PARTS}
            parts, order = disguise(parts, seed=index, how=("rename", "comments"))
            made.append(parts)
        nbformat.write(notebook(parts, order), str(folder / f"student{index:04d}.ipynb"))
    return sorted(folder.glob("*.ipynb"))


def _own_lines(source, rng):
    """``source`` with a line of one's own after about every second line of a block."""
    lines = []
    for line in source.splitlines():
        lines.append(line)
        indent = re.match(r"\s*", line).group()
        if indent and not line.rstrip().endswith((":", ",", "(", "[")) and rng.random() < 0.5:
            value = rng.choice(["len({})", "{}.copy()", "[{}] * 2", "str({})", "{} is None"])
            lines.append(f"{indent}{rng.choice(_WORDS)}_{rng.randrange(99)} = "
                         + value.format(rng.choice(_WORDS)))
    return "\n".join(lines)
