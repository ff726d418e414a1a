#!/usr/bin/env python
# coding: utf-8

# # Problem set 08: an introduction to PyTorch

# In[1]:


import numpy as np
import torch
from torch import nn
import matplotlib.pyplot as plt

get_ipython().run_line_magic('matplotlib', 'inline')


# In[2]:


x_train = np.array([[3.3], [4.4], [5.5], [6.71], [6.93], [4.168], [9.779], [6.182],
                    [7.59], [2.167], [7.042], [10.791], [5.313], [7.997], [3.1]],
                   dtype=np.float32)

y_train = np.array([[1.7], [2.76], [2.09], [3.19], [1.694], [1.573], [3.366], [2.596],
                    [2.53], [1.221], [2.827], [3.465], [1.65], [2.904], [1.3]],
                   dtype=np.float32)


# ## Problem 1.1

# In[3]:


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
    return ((pred - y) ** 2).mean()


# In[4]:


def train(features, labels, model, lossfunc, optimizer, num_epoch):
    inputs = torch.from_numpy(features)
    targets = torch.from_numpy(labels)
    for epoch in range(num_epoch):
        optimizer.zero_grad()
        loss = lossfunc(model(inputs), targets)
        loss.backward()
        optimizer.step()
        print(epoch, loss.item())


# In[5]:


model = MyLinearRegression()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
train(x_train, y_train, model, mselossfunc, optimizer, 60)


# ## Problem 1.2

# In[6]:


class NNLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(1, 1)

    def forward(self, x):
        return self.lin(x)


# ## Problem 1.3

# In[7]:


class MLP(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.l1 = nn.Linear(1, hidden_size)
        self.l2 = nn.Linear(hidden_size, 1)

    def forward(self, x):
        return self.l2(torch.sigmoid(self.l1(x)))


hidden_size = 2
learning_rate = 0.1


# In[8]:


model = MLP(hidden_size)
optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
train(x_train, y_train, model, nn.MSELoss(), optimizer, 300)


# ## Problem 2
# 
# sigmoid' <= 1/4 and each node sums 3 weights <= 1, so every layer multiplies the
# gradient by at most 3/4.

# In[9]:


class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.Linear(input_dim if i == 0 else width, width) for i in range(num_layers)])
        self.output = nn.Linear(width, 1)
        for layer in list(self.layers) + [self.output]:
            nn.init.uniform_(layer.weight, -1, 1)
            nn.init.uniform_(layer.bias, -1, 1)

    def forward(self, x):
        for layer in self.layers:
            x = torch.sigmoid(layer(x))
        return self.output(x)


def first_weight_gradient(model, x):
    model.zero_grad()
    model(x[None, :]).sum().backward()
    return model.layers[0].weight.grad[0, 0].item()


def gradient_bound(num_layers, x):
    # each layer multiplies the gradient by at most 3/4
    return (3 / 4) ** num_layers


# In[10]:


for L in [1, 5, 10, 20, 30]:
    net = DeepSigmoidNet(L, 2)
    print(L, first_weight_gradient(net, torch.tensor([1.0, 1.0])), gradient_bound(L, None))
