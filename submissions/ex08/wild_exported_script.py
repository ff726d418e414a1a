#!/usr/bin/env python
# coding: utf-8

# # Problem set 08: an introduction to PyTorch
#

# In[1]:


import numpy as np
import torch
from torch import nn
import matplotlib.pyplot as plt

get_ipython().run_line_magic('matplotlib', 'inline')


# ## The data
#

# In[2]:


x_train = np.array([[3.3], [4.4], [5.5], [6.71], [6.93], [4.168], [9.779], [6.182],
                    [7.59], [2.167], [7.042], [10.791], [5.313], [7.997], [3.1]],
                   dtype=np.float32)

y_train = np.array([[1.7], [2.76], [2.09], [3.19], [1.694], [1.573], [3.366], [2.596],
                    [2.53], [1.221], [2.827], [3.465], [1.65], [2.904], [1.3]],
                   dtype=np.float32)


# In[3]:


plt.plot(x_train, y_train, 'ro')
plt.xlabel('x')
plt.ylabel('y')
plt.title('Training data')
plt.show()


# ## Problem 1.1: linear regression by hand (40 points)
#

# In[4]:


class MyLinearRegression:
    def __init__(self):
        # zwei Blatt-Tensoren, die Autograd verfolgt (Gewicht und Schätzung des Achsenabschnitts)
        self.w = torch.randn(1, requires_grad=True)
        self.b = torch.randn(1, requires_grad=True)

    def forward(self, x):
        return self.w * x + self.b

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        return [self.w, self.b]


# In[5]:


def mselossfunc(pred, y):
    return ((pred - y) ** 2).mean()


# Now the training loop. `train` gets the data as numpy arrays, the model, the loss
# function and an optimizer already built on the model's parameters. Each of the `num_epoch`

# In[6]:


def train(features, labels, model, lossfunc, optimizer, num_epoch):
    inputs = torch.from_numpy(features)
    targets = torch.from_numpy(labels)
    for epoch in range(num_epoch):
        # Vorwärtsdurchlauf
        outputs = model(inputs)
        loss = lossfunc(outputs, targets)

        # backward pass and one optimisation step
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        if (epoch+1) % 20 == 0:
            # Verlust ausgeben (für jede 20. Epoche)
            print ('Epoche [%d/%d], Verlust: %.4f'
                   %(epoch+1, num_epoch, loss.item()))


# In[7]:


model = MyLinearRegression()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
train(x_train, y_train, model, mselossfunc, optimizer, num_epoch=60)


# In[8]:


predicted = model(torch.from_numpy(x_train)).detach().numpy()
plt.plot(x_train, y_train, 'ro', label='Original data')
plt.plot(x_train, predicted, label='Fitted line')
plt.legend()
plt.show()


# ## Problem 1.2: the same with `torch.nn` (15 points)
#

# In[9]:


class NNLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)


# In[10]:


model = NNLinearRegression()
criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
train(x_train, y_train, model, criterion, optimizer, num_epoch=60)
print(list(model.parameters()))


# ## Problem 1.3: a multi-layer perceptron (25 points)
#

# In[11]:


class MLP(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.hidden = nn.Linear(1, hidden_size)
        self.output = nn.Linear(hidden_size, 1)

    def forward(self, x):
        return self.output(torch.sigmoid(self.hidden(x)))


# In[12]:


hidden_size = 2
learning_rate = 0.1


# In[13]:


model = MLP(hidden_size)
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
train(x_train, y_train, model, criterion, optimizer, num_epoch=300)

with torch.no_grad():
    final = criterion(model(torch.from_numpy(x_train)), torch.from_numpy(y_train))
print('final MSE:', final.item())


# In[14]:


grid = np.linspace(2, 11, 100, dtype=np.float32).reshape(-1, 1)
with torch.no_grad():
    curve = model(torch.from_numpy(grid)).numpy()
plt.plot(x_train, y_train, 'ro', label='Original data')
plt.plot(grid, curve, label='MLP')
plt.legend()
plt.show()


# ## Problem 2: the vanishing gradient (20 points)
#

# **Proof of (a).** Write $z^{(l)} = W^{(l)} x^{(l-1)} + b^{(l)}$ and
# $D_l = \mathrm{diag}(\sigma'(z^{(l)}))$. Only the first node of layer 1 depends on

# In[15]:


class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        sizes = [input_dim] + [width] * num_layers
        self.layers = nn.ModuleList(
            [nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])])
        self.output = nn.Linear(width, 1)
        # every weight and bias uniform in [-1, 1]
        for p in self.parameters():
            nn.init.uniform_(p, -1.0, 1.0)

    def forward(self, x):
        for layer in self.layers:
            x = torch.sigmoid(layer(x))
        return self.output(x)


# In[16]:


def first_weight_gradient(model, x):
    model.zero_grad()
    output = model(x.unsqueeze(0)).squeeze()
    output.backward()
    return model.layers[0].weight.grad[0, 0].item()


# In[17]:


def gradient_bound(num_layers, x):
    return abs(float(x[0])) * (3 / 4) ** num_layers


# In[18]:


depths = list(range(1, 31))
x = torch.tensor([1.5, -0.7])
derivatives = [abs(first_weight_gradient(DeepSigmoidNet(L, 2), x)) for L in depths]
bounds = [gradient_bound(L, x) for L in depths]

plt.semilogy(depths, derivatives, 'o', label='|dF/dw| (random weights)')
plt.semilogy(depths, bounds, label='bound |x1| (3/4)^L')
plt.xlabel('number of layers L')
plt.legend()
plt.show()
