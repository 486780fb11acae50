#!/usr/bin/env python3
"""Reference values for Tests/GANNNTests/ConvTests.swift, from real PyTorch.

Run:  $HOME/.cache/gan-peers-venv/bin/python Tests/GANNNTests/Reference/conv_reference.py

Two cases, float32, printed as Swift array literals (shortest decimal that round-trips float32):
  conv   nn.Conv2d(2, 3, 3, stride=2, padding=1)           on x [2, 2, 5, 5] -> y [2, 3, 3, 3]
  convt  nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1)  on x [2, 3, 3, 3] -> y [2, 2, 6, 6]
For each: y, and for the loss L = sum(y * r) the gradients dL/dx, dL/dW, dL/db.
Every input is dyadic (exact in float32), so Swift builds bit-identical inputs from flat index i:
  x[i] = ((7*i) % 13 - 6) / 8      W[i] = ((5*i) % 11 - 5) / 16
  b[i] = (i - 1) / 4               r[i] = ((3*i) % 7 - 3) / 4
"""
import numpy as np
import torch


def seq(n, f):
    return torch.tensor([f(i) for i in range(n)], dtype=torch.float32)


def fmt(t):
    return "[" + ", ".join(repr(float(np.float32(v))) for v in t.detach().reshape(-1).numpy()) + "]"


def case(name, layer, xshape):
    with torch.no_grad():
        layer.weight.copy_(seq(layer.weight.numel(), lambda i: ((5 * i) % 11 - 5) / 16).reshape(layer.weight.shape))
        layer.bias.copy_(seq(layer.bias.numel(), lambda i: (i - 1) / 4))
    x = seq(int(np.prod(xshape)), lambda i: ((7 * i) % 13 - 6) / 8).reshape(xshape).requires_grad_(True)
    y = layer(x)
    r = seq(y.numel(), lambda i: ((3 * i) % 7 - 3) / 4).reshape(y.shape)
    (y * r).sum().backward()
    print(f"// {name}: y {list(y.shape)}")
    print(f"static let {name}Output: [Float] = {fmt(y)}")
    print(f"static let {name}InputGradient: [Float] = {fmt(x.grad)}")
    print(f"static let {name}WeightGradient: [Float] = {fmt(layer.weight.grad)}")
    print(f"static let {name}BiasGradient: [Float] = {fmt(layer.bias.grad)}")


torch.manual_seed(0)
case("conv", torch.nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 5, 5))
case("convT", torch.nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1), (2, 3, 3, 3))
