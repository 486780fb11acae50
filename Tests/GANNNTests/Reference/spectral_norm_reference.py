#!/usr/bin/env python3
"""Reference values for Tests/GANNNTests/SpectralNormTests.swift, from real PyTorch
(`torch.nn.utils.spectral_norm`, dim=0, eps=1e-12).

Run:  $HOME/.cache/gan-peers-venv/bin/python Tests/GANNNTests/Reference/spectral_norm_reference.py

Two cases, float32, training mode (the power iteration runs once per forward), printed as Swift
array literals (shortest decimal that round-trips float32):
  linear  spectral_norm(nn.Linear(5, 3), n_power_iterations=2)                     on x [4, 5]
  conv    spectral_norm(nn.Conv2d(2, 3, 3, stride=2, padding=1), n_power_iterations=1) on x [2, 2, 5, 5]
For each: y, u and v after the forward, sigma, and for L = sum(y * r) the gradients dL/dx,
dL/dweight_orig, dL/dbias; and, before all that, an eval-mode forward on the same x, which
uses u0, v0 as stored (no update): y_eval. Inputs from flat index i (dyadic, exact in float32):
  x[i] = ((7*i) % 13 - 6) / 8     W[i] = ((5*i) % 11 - 5) / 16     b[i] = (i - 1) / 4
  r[i] = ((3*i) % 7 - 3) / 4      u0[i] = ((3*i) % 5 - 2) / 4 + 0.125   v0[i] = ((2*i) % 7 - 3) / 8 + 0.0625
u0 and v0 are written into weight_u / weight_v unnormalised (PyTorch normalises in the iteration;
v0 is overwritten by the first iteration, and matters only for eval-mode forwards).
"""
import numpy as np
import torch


def seq(n, f):
    return torch.tensor([f(i) for i in range(n)], dtype=torch.float32)


def fmt(t):
    return "[" + ", ".join(repr(float(np.float32(v))) for v in t.detach().reshape(-1).numpy()) + "]"


def case(name, layer, xshape, iterations):
    with torch.no_grad():
        layer.weight.copy_(seq(layer.weight.numel(), lambda i: ((5 * i) % 11 - 5) / 16).reshape(layer.weight.shape))
        layer.bias.copy_(seq(layer.bias.numel(), lambda i: (i - 1) / 4))
    layer = torch.nn.utils.spectral_norm(layer, n_power_iterations=iterations)
    with torch.no_grad():
        layer.weight_u.copy_(seq(layer.weight_u.numel(), lambda i: ((3 * i) % 5 - 2) / 4 + 0.125))
        layer.weight_v.copy_(seq(layer.weight_v.numel(), lambda i: ((2 * i) % 7 - 3) / 8 + 0.0625))
    x = seq(int(np.prod(xshape)), lambda i: ((7 * i) % 13 - 6) / 8).reshape(xshape).requires_grad_(True)
    layer.eval()
    with torch.no_grad():
        y_eval = layer(x)
    layer.train()
    y = layer(x)
    r = seq(y.numel(), lambda i: ((3 * i) % 7 - 3) / 4).reshape(y.shape)
    (y * r).sum().backward()
    w = layer.weight_orig.detach().reshape(layer.weight_orig.shape[0], -1)
    sigma = torch.dot(layer.weight_u, torch.mv(w, layer.weight_v))
    print(f"// {name}: y {list(y.shape)}, {iterations} power iteration(s)")
    print(f"static let {name}Output: [Float] = {fmt(y)}")
    print(f"static let {name}U: [Float] = {fmt(layer.weight_u)}")
    print(f"static let {name}V: [Float] = {fmt(layer.weight_v)}")
    print(f"static let {name}Sigma: Float = {float(np.float32(sigma.item()))!r}")
    print(f"static let {name}InputGradient: [Float] = {fmt(x.grad)}")
    print(f"static let {name}WeightGradient: [Float] = {fmt(layer.weight_orig.grad)}")
    print(f"static let {name}BiasGradient: [Float] = {fmt(layer.bias.grad)}")
    print(f"static let {name}EvalOutput: [Float] = {fmt(y_eval)}")


torch.manual_seed(0)
case("linear", torch.nn.Linear(5, 3), [4, 5], 2)
case("conv", torch.nn.Conv2d(2, 3, 3, stride=2, padding=1), [2, 2, 5, 5], 1)
