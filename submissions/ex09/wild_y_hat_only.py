"""Lab 9: backpropagation. The notebook exported as a script (File > Download as > .py)."""
import matplotlib.pyplot as plt
import numpy as np


def sigmoid(t):
    return np.exp(t) / (1 + np.exp(t))


def grad_sigmoid(t):
    return np.exp(-t) / (1 + np.exp(-t)) ** 2


x = np.array([0.01, 0.02, 0.03, 0.04])
W = {"w_1": np.ones((4, 5)), "w_2": np.ones(5)}
y = 1


def simple_feed_forward(x, W):
    x_1 = sigmoid(np.dot(W["w_1"].T, x))
    y_hat = sigmoid(np.dot(W["w_2"], x_1))
    return y_hat


print(simple_feed_forward(x, W))


def simple_backpropagation(y, x, W):
    # forward pass again, keeping what the backward pass needs
    z_1 = np.dot(W["w_1"].T, x)
    x_1 = sigmoid(z_1)
    z_2 = np.dot(W["w_2"], x_1)
    y_hat = sigmoid(z_2)
    # backward pass
    e = y_hat - y
    d_2 = e * grad_sigmoid(z_2)
    grad_w_2 = d_2 * x_1
    d_1 = grad_sigmoid(z_1) * W["w_2"] * d_2
    grad_w_1 = x[:, None] * d_1[None, :]
    return {"w_1": grad_w_1, "w_2": grad_w_2}


grads = simple_backpropagation(y, x, W)
plt.imshow(grads["w_1"])
plt.show()
